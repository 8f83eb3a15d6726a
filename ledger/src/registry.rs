//! Records kept beside the log: trusted issuers and bearer tokens.
//!
//! Issuers live in two scopes. A platform-wide issuer (a national identity
//! provider, the intent service) is trusted for every tenant's events; a
//! tenant's issuer (its signers' keys, named `signer:<actor id>`) only for
//! that tenant's. A name resolves in the tenant's scope first, then the
//! platform's; the scopes never hold the same name for one tenant, so a
//! name means one key per tenant, forever (names are never reused).
//!
//! Owns the `issuers`, `tokens` and `tsas` families and their in-memory
//! indexes ([`Registry`]); issuer records are stored keyed and sealed
//! (`issuer_store`), so the store spells no issuer name, and TSAs are in
//! `tsas`. Each change of an issuer is logged before it is stored: the
//! caller (the ledger) hands in how to log it, so this module never calls
//! the sequencer. Calls the store, the records' sealing and the id rules.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use verifier::anykey::AnyVerifier;
use verifier::entry::Event;
use verifier::issuer::IssuerKeys;
use verifier::tsa::TrustedTsa;
use verifier::Hash;

use crate::attester::LOG_ISSUER;
use crate::error::{LedgerError, Result};
use crate::ids::{check_id, issuer_document};
use crate::store::{RecordFamily, Store};
use crate::util::{b64, now_rfc3339, parse_json, read_arc, replace_arc};
use crate::vault::Vault;

mod issuer_store;
mod tokens;
mod tsas;

use issuer_store::IssuerStore;

/// Longest name of a newly registered issuer, so that `issuer:<name>` is a
/// document id.
pub const MAX_NEW_ISSUER_NAME: usize = 120;

/// Separator of composite registry keys.
const SEP: u8 = 0x00;

/// The tenant under which platform-wide changes (platform issuers, platform
/// tokens) are written to the log, and the tenant of platform tokens.
/// Reserved: no tenant-bound token may name it.
pub const PLATFORM_TENANT: &str = "platform";

/// The name prefix every tenant-scoped issuer carries: tenants register
/// their signers' keys, and nothing that could pass for a platform service.
pub const TENANT_ISSUER_PREFIX: &str = "signer:";

/// The name prefix of a tenant's e-signature platform integration key
/// (Documenso, DocuSeal: `integration:<platform>:<generation>`), which
/// attests what the platform reported. Only the service registers such
/// names, when a tenant's admin configures an integration; `POST
/// /v1/issuers` still takes `signer:` names alone.
pub const INTEGRATION_ISSUER_PREFIX: &str = "integration:";

/// A trusted attestation issuer (identity provider, intent service, signer).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerRecord {
    /// Issuer name as attestations carry it.
    pub name: String,
    /// The tenant whose events it may attest; `None` for a platform-wide issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Standard base64 of the 32-byte Ed25519 public key.
    pub public_key: String,
    /// When it was added (RFC 3339).
    pub added_at: String,
    /// When it was revoked, if it was: later attestations by it are refused;
    /// entries written before stay valid evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// Index of the `registry_changed` entry that recorded the addition
    /// (absent for issuers added before the registry was logged, and for
    /// the log's own key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_entry: Option<u64>,
    /// Index of the `registry_changed` entry that recorded the revocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_entry: Option<u64>,
}

/// What a bearer token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Submits events (the platform's back-ends).
    Submitter,
    /// Reads bundles and reports of its tenant's documents.
    Legal,
    /// Pulls evidence bundles to notarize.
    Notary,
    /// Manages its own tenant's issuers (its signers' keys) and tokens.
    Admin,
    /// The platform administrator, bound to no tenant: platform-wide
    /// issuers, witnesses, TSAs, anchoring, and every tenant's tokens.
    Platform,
}

impl Role {
    /// Parses `submitter|legal|notary|admin|platform`.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "submitter" => Some(Role::Submitter),
            "legal" => Some(Role::Legal),
            "notary" => Some(Role::Notary),
            "admin" => Some(Role::Admin),
            "platform" => Some(Role::Platform),
            _ => None,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Submitter => "submitter",
            Role::Legal => "legal",
            Role::Notary => "notary",
            Role::Admin => "admin",
            Role::Platform => "platform",
        }
    }
}

/// A bearer token, stored under the SHA-256 of the token; never in clear.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Short public id (first 8 hex digits of the token hash) for listing and revoking.
    pub id: String,
    /// The tenant the token is bound to ([`PLATFORM_TENANT`] for the
    /// platform role).
    pub tenant: String,
    /// The role it grants.
    pub role: Role,
    /// When it was issued (RFC 3339).
    pub created_at: String,
    /// When it stops working, Unix seconds; `None`: never (tokens issued
    /// before expiry existed, and offline CLI tokens without `--expires-in`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_unix: Option<i64>,
    /// When it was revoked, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// The stored hash (hex) of the token that minted this one over the
    /// API: this one works only while that one does, and never outlives
    /// it. `None`: issued by the operator's CLI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

impl TokenRecord {
    /// Whether the token works at `now` (Unix seconds): not revoked, not expired.
    pub fn is_live(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_unix.is_none_or(|e| now < e)
    }
}

/// A trusted RFC 3161 time-stamp authority: tokens on events must chain to
/// its root certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TsaRecord {
    /// The operator's name for it (reported with every token it vouches for).
    pub name: String,
    /// Its root certificate, PEM.
    pub root_pem: String,
    /// When it was added (RFC 3339).
    pub added_at: String,
    /// When it was retired, if it was: tokens by it are refused on new
    /// events and it timestamps no more checkpoints; its root stays in
    /// the service's trust policy, so evidence it stamped before still
    /// verifies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<String>,
    /// Index of the `registry_changed` entry that recorded the addition
    /// (absent for TSAs trusted before TSA changes were logged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_entry: Option<u64>,
    /// Index of the `registry_changed` entry that recorded the retirement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_entry: Option<u64>,
}

/// Writes a registry change to the log as a `registry_changed` entry of
/// the tenant given (the platform's for platform-wide changes), for the
/// document id and hash given, with the claim given; returns its index.
pub(crate) type LogChange<'a> = &'a dyn Fn(&str, &str, &Hash, serde_json::Value) -> Result<u64>;

/// The trusted issuers, TSAs and tokens, with the issuer keys and TSA
/// roots parsed in memory. Writes are serialised by the caller (the
/// ledger's write lock): check-then-put is put-if-absent.
pub(crate) struct Registry {
    store: Arc<Store>,
    /// The issuer records, keyed and sealed.
    issuer_store: IssuerStore,
    issuers: RwLock<Arc<IssuerIndex>>,
    tsas: RwLock<Arc<Vec<TrustedTsa>>>,
    /// The log's own key, the one key [`LOG_ISSUER`] may name.
    /// The log's Ed25519 key; none for an `sm2-sm3` log (its key is SM2).
    log_key: Option<VerifyingKey>,
}

impl Registry {
    /// Loads the registry of `store`; `vault` keys and seals the issuer
    /// records (absent only in a read-only open without the master key,
    /// which then sees the legacy clear records alone).
    pub(crate) fn load(
        store: Arc<Store>,
        vault: Option<Arc<Vault>>,
        log_key: Option<VerifyingKey>,
    ) -> Result<Registry> {
        let issuer_store = IssuerStore::new(store.clone(), vault);
        let issuers = RwLock::new(Arc::new(load_issuer_keys(&issuer_store)?));
        let tsas = RwLock::new(Arc::new(tsas::load_tsas(&store)?));
        Ok(Registry { store, issuer_store, issuers, tsas, log_key })
    }

    /// Moves issuer records of the legacy clear form to the keyed, sealed
    /// one (writable opens); returns how many it moved.
    pub(crate) fn migrate_issuers(&self) -> Result<usize> {
        self.issuer_store.migrate()
    }

    /// The keys of the issuers `events` cite, each resolved for `tenant`:
    /// the tenant's own issuer of that name, else the platform-wide one.
    /// Unrevoked only; a name neither scope holds is left out (and the
    /// attestation check then refuses it as unknown).
    pub(crate) fn issuer_keys_for(&self, tenant: &str, events: &[Event]) -> IssuerKeys {
        let index = read_arc(&self.issuers);
        let mut keys = IssuerKeys::new();
        for a in events.iter().flat_map(|e| e.attestations.iter()) {
            if keys.contains_key(&a.issuer) {
                continue;
            }
            if let Some(k) = index.resolve(tenant, &a.issuer) {
                keys.insert(a.issuer.clone(), k.clone());
            }
        }
        keys
    }

    /// Registers a trusted issuer, platform-wide (`tenant` None) or for one
    /// tenant; `log` writes the change to the log before the key is
    /// trusted. Put-if-absent: a name is never reused for another key, in
    /// its scope, and never held by both scopes for one tenant. Adding the
    /// same key again is a no-op.
    pub(crate) fn add_issuer(
        &self,
        tenant: Option<&str>,
        name: &str,
        public_key: &[u8],
        log: LogChange<'_>,
    ) -> Result<IssuerRecord> {
        check_id("issuer name", name)?;
        let key = evidence_key(public_key)?;
        if name == LOG_ISSUER {
            return self.add_log_issuer(tenant, &key);
        }
        if let Some(existing) = self.issuer_in(tenant, name)? {
            if existing.public_key == b64(key.as_bytes()) && existing.revoked_at.is_none() {
                return Ok(existing);
            }
            return Err(LedgerError::AlreadyExists(format!("issuer {name}")));
        }
        self.check_new_issuer(tenant, name)?;
        let claim = serde_json::json!({
            "action": "issuer_added",
            "name": name,
            "public_key": b64(key.as_bytes()),
            "scope": if tenant.is_some() { "tenant" } else { "platform" },
        });
        let hash = Hash::digest(key.as_bytes());
        let index = log(tenant.unwrap_or(PLATFORM_TENANT), &issuer_document(name), &hash, claim)?;
        let rec = IssuerRecord {
            name: name.to_string(),
            tenant: tenant.map(str::to_string),
            public_key: b64(key.as_bytes()),
            added_at: now_rfc3339(),
            revoked_at: None,
            added_entry: Some(index),
            revoked_entry: None,
        };
        self.put_issuer(&rec)?;
        Ok(rec)
    }

    /// The log's own key as the platform issuer [`LOG_ISSUER`]; it is the
    /// log's published vkey, so its registration is not itself logged.
    fn add_log_issuer(&self, tenant: Option<&str>, key: &VerifyingKey) -> Result<IssuerRecord> {
        if tenant.is_some() || Some(key) != self.log_key.as_ref() {
            return Err(LedgerError::AlreadyExists(format!(
                "issuer {LOG_ISSUER} is reserved for the log's own key"
            )));
        }
        if let Some(existing) = self.issuer_in(None, LOG_ISSUER)? {
            return Ok(existing);
        }
        let rec = IssuerRecord {
            name: LOG_ISSUER.to_string(),
            tenant: None,
            public_key: b64(key.as_bytes()),
            added_at: now_rfc3339(),
            revoked_at: None,
            added_entry: None,
            revoked_entry: None,
        };
        self.put_issuer(&rec)?;
        Ok(rec)
    }

    /// The scope rules for a name not yet held in its scope.
    fn check_new_issuer(&self, tenant: Option<&str>, name: &str) -> Result<()> {
        if name.len() > MAX_NEW_ISSUER_NAME {
            return Err(LedgerError::InvalidRequest(format!(
                "issuer name: at most {MAX_NEW_ISSUER_NAME} characters"
            )));
        }
        match tenant {
            Some(t) => {
                check_id("tenant", t)?;
                if t == PLATFORM_TENANT {
                    return Err(LedgerError::InvalidRequest(format!(
                        "tenant {PLATFORM_TENANT} is reserved; omit the tenant for a platform-wide issuer"
                    )));
                }
                if !name.starts_with(TENANT_ISSUER_PREFIX)
                    && !name.starts_with(INTEGRATION_ISSUER_PREFIX)
                {
                    return Err(LedgerError::InvalidRequest(format!(
                        "a tenant's issuer is one of its signers' keys, named {TENANT_ISSUER_PREFIX}<actor id>, or its signing platform's, named {INTEGRATION_ISSUER_PREFIX}<platform>:<n>"
                    )));
                }
                if self.issuer_in(None, name)?.is_some() {
                    return Err(LedgerError::AlreadyExists(format!(
                        "issuer {name} is platform-wide"
                    )));
                }
            }
            None => {
                if self.issuer_store.held_by_a_tenant(name)? {
                    return Err(LedgerError::AlreadyExists(format!(
                        "issuer {name} is held by a tenant"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Revokes an issuer of one scope: later attestations by it are refused;
    /// entries written before stay valid evidence. `log` writes the
    /// revocation to the log first.
    pub(crate) fn revoke_issuer(
        &self,
        tenant: Option<&str>,
        name: &str,
        log: LogChange<'_>,
    ) -> Result<IssuerRecord> {
        if name == LOG_ISSUER {
            return Err(LedgerError::InvalidRequest(format!(
                "issuer {LOG_ISSUER} is the log's own key and cannot be revoked"
            )));
        }
        let mut rec =
            self.issuer_in(tenant, name)?.ok_or_else(|| LedgerError::NotFound(name.into()))?;
        if rec.revoked_at.is_some() {
            return Ok(rec);
        }
        let claim = serde_json::json!({
            "action": "issuer_revoked",
            "name": name,
            "public_key": rec.public_key,
            "scope": if tenant.is_some() { "tenant" } else { "platform" },
        });
        let key = base64::engine::general_purpose::STANDARD
            .decode(&rec.public_key)
            .map_err(|e| LedgerError::Corrupt(format!("issuer {name}: {e}")))?;
        let scope_tenant = tenant.unwrap_or(PLATFORM_TENANT);
        let index = log(scope_tenant, &issuer_document(name), &Hash::digest(&key), claim)?;
        rec.revoked_at = Some(now_rfc3339());
        rec.revoked_entry = Some(index);
        self.put_issuer(&rec)?;
        Ok(rec)
    }

    /// Stores an issuer record and applies it to the keys in memory (a
    /// copy of the index with this one record changed: no store read, so
    /// a registration costs no scan of every issuer under the write lock).
    fn put_issuer(&self, rec: &IssuerRecord) -> Result<()> {
        self.issuer_store.put(rec)?;
        let mut index = IssuerIndex::clone(&read_arc(&self.issuers));
        index.apply(rec.clone())?;
        replace_arc(&self.issuers, Arc::new(index));
        Ok(())
    }

    /// The issuer record of `name` in exactly one scope, revoked or not.
    pub(crate) fn issuer_in(
        &self,
        tenant: Option<&str>,
        name: &str,
    ) -> Result<Option<IssuerRecord>> {
        self.issuer_store.get(tenant, name)
    }

    /// The record `name` means in `tenant`'s events: the tenant's own, else
    /// the platform-wide one; revoked ones too (bundles need old keys).
    pub(crate) fn resolve_issuer(&self, tenant: &str, name: &str) -> Result<Option<IssuerRecord>> {
        match self.issuer_in(Some(tenant), name)? {
            Some(r) => Ok(Some(r)),
            None => self.issuer_in(None, name),
        }
    }

    /// Every issuer record of every scope, revoked ones included.
    pub(crate) fn issuers(&self) -> Result<Vec<IssuerRecord>> {
        self.issuer_store.all(false)
    }

    pub(super) fn put_json<T: Serialize>(&self, f: RecordFamily, key: &[u8], v: &T) -> Result<()> {
        let bytes = serde_json::to_vec(v).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
        self.store.put_record(f, key, &bytes)
    }

    pub(super) fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        f: RecordFamily,
        key: &[u8],
    ) -> Result<Option<T>> {
        self.store.get_record(f, key)?.map(|v| parse_json(&v)).transpose()
    }

    pub(super) fn scan_json<T: serde::de::DeserializeOwned>(
        &self,
        f: RecordFamily,
        prefix: &[u8],
    ) -> Result<Vec<T>> {
        let raw = self.store.scan_records(f, prefix)?;
        raw.iter().map(|(_, v)| parse_json(v)).collect()
    }
}

/// The unrevoked issuer keys of both scopes, in memory.
#[derive(Clone, Default)]
struct IssuerIndex {
    platform: IssuerKeys,
    tenants: HashMap<String, IssuerKeys>,
}

impl IssuerIndex {
    /// The tenant's own key of `name`, else the platform-wide one.
    fn resolve(&self, tenant: &str, name: &str) -> Option<&AnyVerifier> {
        self.tenants.get(tenant).and_then(|m| m.get(name)).or_else(|| self.platform.get(name))
    }

    /// Takes in one stored record: its key while unrevoked, else none.
    fn apply(&mut self, rec: IssuerRecord) -> Result<()> {
        let scope = match rec.tenant {
            None => &mut self.platform,
            Some(ref t) => self.tenants.entry(t.clone()).or_default(),
        };
        if rec.revoked_at.is_some() {
            scope.remove(&rec.name);
            return Ok(());
        }
        let key = AnyVerifier::ed25519_issuer(&rec.name, stored_key(&rec)?);
        scope.insert(rec.name, key);
        Ok(())
    }
}

/// The Ed25519 key of a stored issuer record.
fn stored_key(rec: &IssuerRecord) -> Result<VerifyingKey> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&rec.public_key)
        .map_err(|e| LedgerError::Corrupt(format!("issuer {}: {e}", rec.name)))?;
    <[u8; 32]>::try_from(raw.as_slice())
        .ok()
        .and_then(|b| VerifyingKey::from_bytes(&b).ok())
        .ok_or_else(|| LedgerError::Corrupt(format!("issuer {}: bad key", rec.name)))
}

/// An Ed25519 key usable for evidence.
fn evidence_key(public_key: &[u8]) -> Result<VerifyingKey> {
    let key = <[u8; 32]>::try_from(public_key)
        .ok()
        .and_then(|b| VerifyingKey::from_bytes(&b).ok())
        .ok_or_else(|| LedgerError::InvalidRequest("public key: not an Ed25519 key".into()))?;
    // Batch verification on ingest is cofactored, the offline verifiers'
    // strict check is not: they agree only for keys without a small-order
    // component, so no other key may become an issuer.
    if key.is_weak() || !key.to_edwards().is_torsion_free() {
        return Err(LedgerError::InvalidRequest(
            "public key: has a small-order component; not usable for evidence".into(),
        ));
    }
    Ok(key)
}

fn load_issuer_keys(issuers: &IssuerStore) -> Result<IssuerIndex> {
    let mut keys = IssuerIndex::default();
    for rec in issuers.all(true)? {
        if rec.revoked_at.is_none() {
            keys.apply(rec)?;
        }
    }
    Ok(keys)
}
