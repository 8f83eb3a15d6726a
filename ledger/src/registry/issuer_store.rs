//! How issuer records are kept in the `issuers` family (issue 25 item 4):
//! under keyed hashes, sealed, so that neither the store nor a backup of
//! it spells an issuer's name (a tenant's issuers are named
//! `signer:<actor id>`) or its tenant.
//!
//! - Key (HMAC-SHA-256, or HMAC-SM3 on an `sm2-sm3` log, under the index
//!   key): `0x01 ‖ HMAC(index key, "issuer-name", name)` for a platform-wide
//!   issuer, followed by `HMAC(index key, "issuer-tenant", tenant)` for a
//!   tenant's: every scope of one name is still one prefix scan away.
//! - Value: the [`IssuerRecord`] JSON sealed under the service key of
//!   `issuer-registry` (wrapped under the master key, in `dockeys`, like
//!   the access log's key), so listing issuers reads the names back.
//!
//! Stores written before hold `name` or `name 0x00 tenant` keys and clear
//! JSON values (the legacy form; names are `[A-Za-z0-9._:-]`, so a legacy
//! key never starts with `0x01`). Reads take both forms; the first
//! writable open migrates legacy records ([`IssuerStore::migrate`]), a
//! chunk per synced batch that writes the keyed form and deletes the
//! legacy one together, then has the family compacted so the old values
//! leave the files.
//! The `registry_changed` entries in the log are evidence and stay.
//!
//! Calls the store, the records' sealing and the vault's keyed hash.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::{IssuerRecord, SEP};
use crate::error::{LedgerError, Result};
use crate::records::Records;
use crate::store::{RecordFamily, Store};
use crate::util::parse_json;
use crate::vault::Vault;

/// First byte of every keyed issuer key.
const KEYED: u8 = 0x01;
/// What the sealed records are bound to.
const PURPOSE: &[u8] = b"issuer-record";
/// The scope of the service key the records are sealed under.
const SCOPE: &[u8] = b"issuer-registry";
/// Legacy records migrated per synced batch.
const MIGRATION_CHUNK: usize = 256;

/// The `issuers` family, in its keyed and sealed form.
pub(super) struct IssuerStore {
    store: Arc<Store>,
    /// Sealing and opening; its vault is absent only in a read-only open
    /// that found no master key.
    records: Records,
    /// Whether the family may still hold legacy records (seen by the last
    /// whole read, and not migrated since): only then does a miss look
    /// for the legacy key too.
    legacy: AtomicBool,
}

impl IssuerStore {
    pub(super) fn new(store: Arc<Store>, vault: Option<Arc<Vault>>) -> IssuerStore {
        IssuerStore {
            records: Records::new(store.clone(), vault),
            store,
            legacy: AtomicBool::new(true),
        }
    }

    fn vault(&self) -> Result<&Arc<Vault>> {
        self.records.vault()
    }

    /// The key prefix shared by every scope of `name`.
    fn name_prefix(&self, name: &str) -> Result<Vec<u8>> {
        let h = self.vault()?.keyed_hash("issuer-name", &[name.as_bytes()]);
        Ok([&[KEYED][..], &h].concat())
    }

    /// The key of `name` in one scope.
    fn key(&self, tenant: Option<&str>, name: &str) -> Result<Vec<u8>> {
        let mut k = self.name_prefix(name)?;
        if let Some(t) = tenant {
            k.extend_from_slice(&self.vault()?.keyed_hash("issuer-tenant", &[t.as_bytes()]));
        }
        Ok(k)
    }

    fn seal(&self, rec: &IssuerRecord) -> Result<Vec<u8>> {
        let plain = serde_json::to_vec(rec).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
        self.records.seal_service_blob(&[SCOPE], PURPOSE, &plain)
    }

    /// Opens one stored value of either form.
    fn decode(&self, key: &[u8], value: &[u8]) -> Result<IssuerRecord> {
        if key.first() != Some(&KEYED) {
            return parse_json(value);
        }
        let plain = self
            .records
            .open_document_blob(PURPOSE, value)?
            .ok_or_else(|| LedgerError::Corrupt("issuer record: its key is gone".into()))?;
        parse_json(&plain)
    }

    /// The record of `name` in exactly one scope: the keyed form, else a
    /// legacy one not migrated yet (a read-only view of an older store).
    pub(super) fn get(&self, tenant: Option<&str>, name: &str) -> Result<Option<IssuerRecord>> {
        let key = self.key(tenant, name)?;
        if let Some(v) = self.store.get_record(RecordFamily::Issuers, &key)? {
            return self.decode(&key, &v).map(Some);
        }
        if !self.legacy.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let legacy = legacy_key(tenant, name);
        match self.store.get_record(RecordFamily::Issuers, &legacy)? {
            Some(v) => parse_json(&v).map(Some),
            None => Ok(None),
        }
    }

    /// Stores a record in the keyed form (synced).
    pub(super) fn put(&self, rec: &IssuerRecord) -> Result<()> {
        let key = self.key(rec.tenant.as_deref(), &rec.name)?;
        let sealed = self.seal(rec)?;
        self.store.put_record(RecordFamily::Issuers, &key, &sealed)
    }

    /// Whether some tenant holds an issuer named `name`.
    pub(super) fn held_by_a_tenant(&self, name: &str) -> Result<bool> {
        let prefix = self.name_prefix(name)?;
        let keyed = self.store.scan_records(RecordFamily::Issuers, &prefix)?;
        if keyed.iter().any(|(k, _)| k.len() > prefix.len()) {
            return Ok(true);
        }
        if !self.legacy.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let mut legacy = name.as_bytes().to_vec();
        legacy.push(SEP);
        Ok(!self.store.scan_records(RecordFamily::Issuers, &legacy)?.is_empty())
    }

    /// Every record, revoked ones too, by name. `readable_only`: leave out sealed
    /// records when no vault is open (a read-only view without the
    /// master key) rather than fail.
    pub(super) fn all(&self, readable_only: bool) -> Result<Vec<IssuerRecord>> {
        let skip_sealed = readable_only && self.records.vault_if_open().is_none();
        let mut out = Vec::new();
        let mut legacy = false;
        for (k, v) in self.store.scan_records(RecordFamily::Issuers, b"")? {
            legacy |= k.first() != Some(&KEYED);
            if skip_sealed && k.first() == Some(&KEYED) {
                continue;
            }
            out.push(self.decode(&k, &v)?);
        }
        self.legacy.store(legacy, Ordering::Relaxed);
        // By name, then scope (platform-wide first): the order the clear
        // keys gave, which listings kept; hashed keys have none.
        out.sort_by(|a, b| (&a.name, &a.tenant).cmp(&(&b.name, &b.tenant)));
        Ok(out)
    }

    /// Moves every legacy record to the keyed form. Each chunk is one
    /// synced batch that writes the keyed records, deletes the legacy
    /// ones and marks the family for compaction (so the old values leave
    /// the files: [`Store::compact_marked`], which the open then runs), so
    /// a crash leaves every record in exactly one form and the next open
    /// goes on where this one stopped. A keyed record already there is
    /// newer than its legacy one and is kept. Returns how many it moved.
    pub(super) fn migrate(&self) -> Result<usize> {
        let legacy: Vec<(Vec<u8>, Vec<u8>)> = self
            .store
            .scan_records(RecordFamily::Issuers, b"")?
            .into_iter()
            .filter(|(k, _)| k.first() != Some(&KEYED))
            .collect();
        for chunk in legacy.chunks(MIGRATION_CHUNK) {
            let mut puts = Vec::with_capacity(chunk.len());
            let mut deletes = Vec::with_capacity(chunk.len());
            for (k, v) in chunk {
                let rec: IssuerRecord = parse_json(v)?;
                if legacy_key(rec.tenant.as_deref(), &rec.name) != *k {
                    return Err(LedgerError::Corrupt(format!(
                        "issuer record under a key not its own ({})",
                        String::from_utf8_lossy(k)
                    )));
                }
                let key = self.key(rec.tenant.as_deref(), &rec.name)?;
                if self.store.get_record(RecordFamily::Issuers, &key)?.is_none() {
                    puts.push((key, self.seal(&rec)?));
                }
                deletes.push(k.clone());
            }
            self.store.replace_records(RecordFamily::Issuers, &puts, &deletes)?;
            crate::fault::point("issuer-migration-chunk");
        }
        self.legacy.store(false, Ordering::Relaxed);
        Ok(legacy.len())
    }
}

/// The key of an issuer in the legacy form: its name for a platform-wide
/// one, `name 0x00 tenant` for a tenant's.
fn legacy_key(tenant: Option<&str>, name: &str) -> Vec<u8> {
    let mut k = name.as_bytes().to_vec();
    if let Some(t) = tenant {
        k.push(SEP);
        k.extend_from_slice(t.as_bytes());
    }
    k
}
