//! Small helpers every part uses: poison-tolerant locks, JSON records,
//! base64 and the wall clock. Owns no state and calls no other module but
//! the error type.

use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use base64::Engine as _;

use crate::error::{LedgerError, Result};

/// Locks `m`, also after a panic of another holder (the data it guards
/// is written whole or not at all).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The value behind a shared `Arc`, also after a panic of a writer.
pub(crate) fn read_arc<T: ?Sized>(l: &RwLock<Arc<T>>) -> Arc<T> {
    match l.read() {
        Ok(v) => v.clone(),
        Err(p) => p.into_inner().clone(),
    }
}

/// Replaces the value behind a shared `Arc`, also after a panic.
pub(crate) fn replace_arc<T: ?Sized>(l: &RwLock<Arc<T>>, v: Arc<T>) {
    match l.write() {
        Ok(mut g) => *g = v,
        Err(p) => *p.into_inner() = v,
    }
}

/// A JSON record read back from the store.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(v: &[u8]) -> Result<T> {
    serde_json::from_slice(v).map_err(|e| LedgerError::Corrupt(format!("record: {e}")))
}

/// Standard base64 with padding (keys in registry records and claims).
pub(crate) fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// The current time, RFC 3339 UTC (for registry records).
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
