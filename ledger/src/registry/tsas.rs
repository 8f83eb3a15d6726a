//! The trusted time-stamp authorities of the registry: their records in
//! the `tsas` family (by name; an operator's name for a TSA names no
//! person) and their roots parsed in memory.

use std::sync::Arc;

use verifier::tsa::TrustedTsa;
use verifier::Hash;

use super::{LogChange, Registry, TsaRecord, PLATFORM_TENANT};
use crate::error::{LedgerError, Result};
use crate::ids::check_id;
use crate::store::{RecordFamily, Store};
use crate::util::{now_rfc3339, parse_json, read_arc, replace_arc};

impl Registry {
    /// Trusts a time-stamp authority's root certificate (PEM); `log`
    /// writes the change to the log first. A name is never reused for
    /// another certificate, nor after its retirement; adding the same
    /// certificate again is a no-op.
    pub(crate) fn add_tsa(
        &self,
        name: &str,
        root_pem: &str,
        log: LogChange<'_>,
    ) -> Result<TsaRecord> {
        check_id("TSA name", name)?;
        TrustedTsa::from_pem(name, root_pem)
            .map_err(|e| LedgerError::InvalidRequest(format!("root certificate: {e}")))?;
        if let Some(existing) = self.get_json::<TsaRecord>(RecordFamily::Tsas, name.as_bytes())? {
            if existing.root_pem.trim() == root_pem.trim() && existing.retired_at.is_none() {
                return Ok(existing);
            }
            return Err(LedgerError::AlreadyExists(format!("TSA {name}")));
        }
        let root_hash = Hash::digest(root_pem.trim().as_bytes());
        let claim = serde_json::json!({
            "action": "tsa_added", "name": name, "root_sha256": root_hash.to_hex(),
        });
        let index = log(PLATFORM_TENANT, &tsa_document(name), &root_hash, claim)?;
        let rec = TsaRecord {
            name: name.to_string(),
            root_pem: root_pem.to_string(),
            added_at: now_rfc3339(),
            retired_at: None,
            added_entry: Some(index),
            retired_entry: None,
        };
        self.put_json(RecordFamily::Tsas, name.as_bytes(), &rec)?;
        replace_arc(&self.tsas, Arc::new(load_tsas(&self.store)?));
        Ok(rec)
    }

    /// Retires a trusted TSA: its tokens are refused on new events from
    /// now on (entries written before stay valid evidence, and its root
    /// stays on record). `log` writes the retirement to the log first.
    pub(crate) fn retire_tsa(&self, name: &str, log: LogChange<'_>) -> Result<TsaRecord> {
        let mut rec = self
            .get_json::<TsaRecord>(RecordFamily::Tsas, name.as_bytes())?
            .ok_or_else(|| LedgerError::NotFound(format!("TSA {name}")))?;
        if rec.retired_at.is_some() {
            return Ok(rec);
        }
        let root_hash = Hash::digest(rec.root_pem.trim().as_bytes());
        let claim = serde_json::json!({
            "action": "tsa_retired", "name": name, "root_sha256": root_hash.to_hex(),
        });
        let index = log(PLATFORM_TENANT, &tsa_document(name), &root_hash, claim)?;
        rec.retired_at = Some(now_rfc3339());
        rec.retired_entry = Some(index);
        self.put_json(RecordFamily::Tsas, name.as_bytes(), &rec)?;
        replace_arc(&self.tsas, Arc::new(load_tsas(&self.store)?));
        Ok(rec)
    }

    /// Every trusted TSA record, retired ones included.
    pub(crate) fn tsa_records(&self) -> Result<Vec<TsaRecord>> {
        self.scan_json(RecordFamily::Tsas, b"")
    }

    /// The trusted TSA roots, parsed.
    pub(crate) fn trusted_tsas(&self) -> Arc<Vec<TrustedTsa>> {
        read_arc(&self.tsas)
    }
}

/// The roots of the TSAs not retired, parsed.
pub(super) fn load_tsas(store: &Store) -> Result<Vec<TrustedTsa>> {
    let mut out = Vec::new();
    for (_, v) in store.scan_records(RecordFamily::Tsas, b"")? {
        let rec: TsaRecord = parse_json(&v)?;
        if rec.retired_at.is_some() {
            continue;
        }
        out.push(
            TrustedTsa::from_pem(rec.name.clone(), &rec.root_pem)
                .map_err(|e| LedgerError::Corrupt(format!("TSA {}: {e}", rec.name)))?,
        );
    }
    Ok(out)
}

/// The document id of a TSA's `registry_changed` entries.
fn tsa_document(name: &str) -> String {
    crate::ids::service_document("tsa", name)
}
