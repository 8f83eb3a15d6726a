//! Tenants as records (issue 29): a tenant's quota, the default of its
//! documents' public-lookup switch, and its retention minimum, kept
//! durable beside the log (RocksDB or PostgreSQL, the auxiliary records)
//! and in memory for every request.
//!
//! A record holds the tenant's id and its settings, and nothing that
//! names a person: no contact, no address. It is stored sealed under a
//! service key (like the access log's records) under a keyed id of the
//! tenant, so neither the store's keys nor its values spell a tenant.
//! Every creation and change is first written to the log as a
//! `registry_changed` entry of that tenant (so the tenant can read what
//! the platform set for it), then stored. A tenant without a record is
//! served as before: the `serve` flags' quota, lookup on, the
//! `--retention-min-days` floor.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use ledger::Ledger;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verifier::Hash;

use super::admission::Quota;
use crate::error::ApiError;

/// Aux key prefix of tenant records (then the keyed id of the tenant).
const RECORD_PREFIX: &[u8] = b"tenant-record\0";
/// What the records are sealed for, and the scope of their service key.
const PURPOSE: &[u8] = b"tenant-record";

/// A tenant's quota as a record holds it: whole numbers (the service's
/// JSON refuses floats); 0 turns a limit off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaRecord {
    /// Average events per second.
    pub events_per_sec: u64,
    /// Request bytes per UTC day.
    pub bytes_per_day: u64,
    /// Other writes per minute.
    pub writes_per_min: u64,
}

impl QuotaRecord {
    /// As admission control counts it.
    pub fn quota(&self) -> Quota {
        Quota {
            events_per_sec: self.events_per_sec as f64,
            bytes_per_day: self.bytes_per_day,
            writes_per_min: self.writes_per_min as f64,
        }
    }
}

/// One tenant's record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRecord {
    /// The tenant's id (as tokens name it).
    pub tenant: String,
    /// Its quota; `None`: the `serve` flags' (`--tenant-quota`, else the default).
    pub quota: Option<QuotaRecord>,
    /// Whether the public lookup finds its documents unless a document's
    /// own switch says otherwise.
    pub lookup_default: bool,
    /// Shortest retention policy it may set, days (at least the
    /// service's floor); `None`: the floor.
    pub retention_min_days: Option<u32>,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it was last changed (RFC 3339).
    pub updated_at: String,
    /// The id of the token that made the last change (`operator`: the CLI).
    pub updated_by: String,
    /// Index of the `registry_changed` entry of the last change.
    pub entry: u64,
}

/// The records, in memory, written through to the store.
pub struct Tenants {
    records: RwLock<HashMap<String, TenantRecord>>,
    /// One change at a time: read-modify-write of a record.
    changes: Mutex<()>,
}

fn record_key(ledger: &Ledger, tenant: &str) -> Result<Vec<u8>, ApiError> {
    Ok([RECORD_PREFIX, &ledger.keyed_id("tenant-record", &[tenant.as_bytes()])?].concat())
}

impl Tenants {
    /// Reads every record from the store.
    pub fn load(ledger: &Ledger) -> Result<Tenants, ApiError> {
        let mut records = HashMap::new();
        for (_, sealed) in ledger.aux_scan(RECORD_PREFIX)? {
            let plain = ledger
                .open_document_blob(PURPOSE, &sealed)?
                .ok_or_else(|| ApiError::internal("tenant record", "sealed record unreadable"))?;
            let rec: TenantRecord = serde_json::from_slice(&plain)
                .map_err(|e| ApiError::internal("tenant record", e))?;
            records.insert(rec.tenant.clone(), rec);
        }
        Ok(Tenants { records: RwLock::new(records), changes: Mutex::new(()) })
    }

    /// The record of `tenant`, if it has one.
    pub fn get(&self, tenant: &str) -> Option<TenantRecord> {
        self.records.read().unwrap_or_else(|p| p.into_inner()).get(tenant).cloned()
    }

    /// Every record, by tenant id.
    pub fn list(&self) -> Vec<TenantRecord> {
        let map = self.records.read().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<_> = map.values().cloned().collect();
        out.sort_by(|a, b| a.tenant.cmp(&b.tenant));
        out
    }

    /// Whether the public lookup finds `tenant`'s documents by default.
    pub fn lookup_default(&self, tenant: &str) -> bool {
        self.get(tenant).is_none_or(|r| r.lookup_default)
    }

    /// The tenant's retention minimum, if its record sets one.
    pub fn retention_min_days(&self, tenant: &str) -> Option<u32> {
        self.get(tenant).and_then(|r| r.retention_min_days)
    }

    /// Creates (`create`) or changes the record of `tenant`: `edit` makes
    /// the new record from the current one (`None` when creating); the
    /// change is logged, then stored, then served. 409 when creating an
    /// existing record, 404 when changing a missing one.
    pub fn write(
        &self,
        ledger: &Ledger,
        tenant: &str,
        create: bool,
        by: &str,
        edit: impl FnOnce(Option<&TenantRecord>) -> Result<TenantRecord, ApiError>,
    ) -> Result<TenantRecord, ApiError> {
        let _one = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.get(tenant);
        match (&current, create) {
            (Some(_), true) => {
                return Err(ApiError::from(ledger::LedgerError::AlreadyExists(format!(
                    "tenant {tenant} has a record (PATCH /v1/tenants/{tenant} changes it)"
                ))))
            }
            (None, false) => return Err(ApiError::not_found(format!("tenant {tenant:?}"))),
            _ => {}
        }
        let mut rec = edit(current.as_ref())?;
        let claim = json!({
            "action": if create { "tenant_created" } else { "tenant_changed" },
            "tenant": tenant,
            "quota": rec.quota,
            "lookup_default": rec.lookup_default,
            "retention_min_days": rec.retention_min_days,
        });
        // A keyed hash: nobody outside can compute it from the tenant's name.
        let hash = Hash(ledger.keyed_id("tenant-record-entry", &[tenant.as_bytes()])?);
        rec.entry = ledger.log_registry_change(tenant, "tenant:settings", &hash, claim, by)?;
        let plain = serde_json::to_vec(&rec).map_err(|e| ApiError::internal("tenant record", e))?;
        let sealed = ledger.seal_service_blob(&[PURPOSE], PURPOSE, &plain)?;
        ledger.aux_put(&record_key(ledger, tenant)?, &sealed)?;
        let mut map = self.records.write().unwrap_or_else(|p| p.into_inner());
        map.insert(tenant.to_string(), rec.clone());
        Ok(rec)
    }
}
