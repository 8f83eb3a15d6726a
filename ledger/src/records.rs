//! The private side of entries (evidence v2): each new entry's record and
//! identity opening, sealed under its document's key off the sequencer;
//! their openings, checked against the leaf; and other values sealed
//! under a document's key (stored reports, the retention index's ids), so
//! that the document's erasure shreds them too.
//!
//! Owns the `records` family's values and the document keys' use, through
//! the [`Vault`]. Calls the vault, the store and the shared types; never
//! the sequencer or the log.

use std::sync::Arc;

use rand_core::RngCore as _;
use verifier::entry::{Event, EventKind};
use verifier::{v2, v3};

use crate::error::{LedgerError, Result};
use crate::store::{Store, TAG_CHAIN, TAG_IDENTITY, TAG_RECORD};
use crate::types::{Erasure, PreparedPrivate};
use crate::util::parse_json;
use crate::vault::{
    open_private, private_aad, seal_private, sealed_key_id, KeyId, KeyStore, Vault, WriteKey,
};

impl KeyStore for Store {
    fn wrapped_key(&self, id: &KeyId) -> Result<Option<Vec<u8>>> {
        Store::wrapped_key(self, id)
    }
    fn wrapped_keys_of(&self, ids: &[KeyId]) -> Result<Vec<Option<Vec<u8>>>> {
        Store::wrapped_keys_of(self, ids)
    }
    fn put_wrapped_key(&self, id: &KeyId, wrapped: &[u8]) -> Result<()> {
        Store::put_wrapped_key(self, id, wrapped)
    }
    fn vault_suite(&self) -> Result<Option<Vec<u8>>> {
        Store::vault_suite(self)
    }
    fn put_vault_suite(&self, name: &[u8]) -> Result<()> {
        Store::put_vault_suite(self, name)
    }
    fn put_wrapped_keys(&self, items: &[(KeyId, Vec<u8>)]) -> Result<()> {
        let mut b = self.batch();
        for (id, w) in items {
            b.put_wrapped_key(id, w);
        }
        self.write(b, false)
    }
}

/// Sealing and opening private values.
pub(crate) struct Records {
    store: Arc<Store>,
    /// `None` when a read-only open found no index key yet.
    vault: Option<Arc<Vault>>,
}

impl Records {
    pub(crate) fn new(store: Arc<Store>, vault: Option<Arc<Vault>>) -> Records {
        Records { store, vault }
    }

    /// The vault, unless this is a read-only open without one.
    pub(crate) fn vault(&self) -> Result<&Arc<Vault>> {
        self.vault
            .as_ref()
            .ok_or_else(|| LedgerError::Unavailable("the key vault is not open (read-only)".into()))
    }

    /// The vault if there is one (read-only opens may have none).
    pub(crate) fn vault_if_open(&self) -> Option<&Arc<Vault>> {
        self.vault.as_ref()
    }

    /// Reads the keys of the documents `events` are about in one store
    /// read ([`Vault::prefetch_for_writing`]): a request's events are
    /// then sealed without a round trip each.
    pub(crate) fn prefetch_keys<'e>(
        &self,
        tenant: &str,
        events: impl Iterator<Item = &'e Event>,
    ) -> Result<()> {
        let vault = self.vault()?;
        let ids: Vec<KeyId> = events.map(|e| vault.document_id(tenant, &e.document_id)).collect();
        vault.prefetch_for_writing(&ids, self.store.as_ref())
    }

    /// Builds and seals an event's v2 record (and identity opening) under
    /// its document key, or under `erasure`'s own key for an erasure entry.
    pub(crate) fn seal(
        &self,
        tenant: &str,
        event: &Event,
        erasure: Option<(KeyId, Erasure)>,
    ) -> Result<PreparedPrivate> {
        let vault = self.vault()?;
        let store = self.store.as_ref();
        let doc_id = vault.document_id(tenant, &event.document_id);
        let (seal_id, erasure) = match erasure {
            Some((id, e)) => (id, Some(e)),
            // After an erasure the service still writes about the document
            // (reports that say what was erased), under the erasure's key.
            None if event.kind.is_service_kind() && vault.is_erased(&doc_id) => {
                (vault.erasure_key_id(tenant, &event.document_id), None)
            }
            None => (doc_id, None),
        };
        let SealedRecord { sealing, record, identity, new_key } =
            seal_record(vault, store, tenant, event, &seal_id)?;
        // A completed contract enters the retention index, its ids sealed
        // under the document key (an erasure shreds them too).
        let completion = if event.kind == EventKind::Completed && erasure.is_none() {
            let ids = serde_json::json!({"tenant": tenant, "document_id": event.document_id});
            let key = vault.key_for_writing(&seal_id, store)?.key;
            Some(seal_private(
                vault.aead(),
                &key,
                &seal_id,
                &blob_aad(b"completion"),
                ids.to_string().as_bytes(),
            )?)
        } else {
            None
        };
        // A new document key: most likely the contract's first entry, so
        // the open-contract index's ids are sealed here, in parallel; the
        // sequencer decides by the chain whether to write them.
        let open_ids = if new_key.is_some() && opens_contract(event.kind) && erasure.is_none() {
            Some(seal_open_ids(vault, store, tenant, &event.document_id, &seal_id)?)
        } else {
            None
        };
        Ok(PreparedPrivate {
            doc_id,
            seal_id,
            hash_id: hash_indexed(event).then(|| vault.document_hash_id(&event.document_hash.0)),
            subject_id: vault.subject_id(tenant, &event.actor.id),
            sealing,
            record,
            identity,
            new_key,
            completion,
            open_ids,
            erasure,
        })
    }

    /// The private opening of the v2 or v1 leaf `leaf` at `index`: its
    /// record and identity opening, checked against the leaf's commitment.
    pub(crate) fn opening(&self, index: u64, leaf: &[u8]) -> Result<Opening> {
        let parsed = v2::parse_any_leaf(leaf)
            .map_err(|e| LedgerError::Corrupt(format!("leaf {index}: {e}")))?;
        let v2::Leaf::V2(leaf) = parsed else { return Ok(Opening::V1) };
        let vault = self.vault()?;
        let store = self.store.as_ref();
        let record = match read_record(store, vault, index, &leaf)? {
            RecordRead::Opened(r) => r,
            RecordRead::Absent | RecordRead::KeyDestroyed => return Ok(Opening::Erased),
            RecordRead::Bad(why) => {
                return Err(LedgerError::Corrupt(format!("entry {index}: {why}")))
            }
        };
        let identity =
            open_sealed(store, vault, index, TAG_IDENTITY, &private_aad_for(TAG_IDENTITY, &leaf))?
                .and_then(|r| r.ok());
        Ok(Opening::Record { record, identity })
    }

    /// The erasure of one tenant's document, if it was erased: JSON
    /// {scope, at, by, reason, entry}.
    pub(crate) fn document_erasure(
        &self,
        tenant: &str,
        document_id: &str,
    ) -> Result<Option<serde_json::Value>> {
        let id = self.vault()?.document_id(tenant, document_id);
        let Some(b) = self.store.erasure(&id)? else { return Ok(None) };
        let mut rec: serde_json::Value = parse_json(&b)?;
        // The reason is sealed under the erasure key (records of before
        // that hold it in clear).
        if let Some(sealed) = rec["reason_sealed"].as_str() {
            let sealed = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, sealed)
                .map_err(|e| LedgerError::Corrupt(format!("erasure record: {e}")))?;
            let reason = self.open_document_blob(REASON_PURPOSE, &sealed)?;
            let reason = reason.map(|r| String::from_utf8_lossy(&r).into_owned());
            if let Some(obj) = rec.as_object_mut() {
                obj.remove("reason_sealed");
                obj.insert("reason".into(), reason.unwrap_or_default().into());
            }
        }
        Ok(Some(rec))
    }

    /// A document's key as stored, wrapped under the master key.
    pub(crate) fn wrapped_document_key(
        &self,
        tenant: &str,
        document_id: &str,
    ) -> Result<Option<Vec<u8>>> {
        let id = self.vault()?.document_id(tenant, document_id);
        self.store.wrapped_key(&id)
    }

    /// Seals a private value about one tenant's document under the
    /// document's key, or under its erasure key once the document was
    /// erased. `purpose` binds it to where it is kept.
    pub(crate) fn seal_document_blob(
        &self,
        tenant: &str,
        document_id: &str,
        purpose: &[u8],
        plain: &[u8],
    ) -> Result<Vec<u8>> {
        let vault = self.vault()?;
        let doc_id = vault.document_id(tenant, document_id);
        let seal_id = if vault.is_erased(&doc_id) {
            vault.erasure_key_id(tenant, document_id)
        } else {
            doc_id
        };
        self.seal_blob_under(&seal_id, purpose, plain)
    }

    /// Seals a value the service keeps about no one document (an
    /// access-log record: paths, client addresses) under the key of
    /// `scope` (e.g. `access-log` and the tenant), a key like a
    /// document's (wrapped under the master key, in `dockeys`), so that
    /// the store and its backups hold it only as ciphertext.
    pub(crate) fn seal_service_blob(
        &self,
        scope: &[&[u8]],
        purpose: &[u8],
        plain: &[u8],
    ) -> Result<Vec<u8>> {
        let seal_id = self.vault()?.keyed_hash("service-key", scope);
        self.seal_blob_under(&seal_id, purpose, plain)
    }

    fn seal_blob_under(&self, seal_id: &KeyId, purpose: &[u8], plain: &[u8]) -> Result<Vec<u8>> {
        let vault = self.vault()?;
        let key = vault.key_for_writing(seal_id, self.store.as_ref())?;
        if let Some(w) = &key.new_wrapped {
            // Synced before the sealed value is stored; under the current
            // master key (a rotation may have begun since it was wrapped).
            let _ticket = vault.write_ticket();
            let w = vault.current_wrap(seal_id, w)?;
            self.store.put_wrapped_key_synced(seal_id, &w)?;
            vault.mark_durable(&[*seal_id]);
        }
        seal_private(vault.aead(), &key.key, seal_id, &blob_aad(purpose), plain)
    }

    /// Opens what [`Records::seal_document_blob`] sealed; `None` once its
    /// key was destroyed by an erasure.
    pub(crate) fn open_document_blob(
        &self,
        purpose: &[u8],
        sealed: &[u8],
    ) -> Result<Option<Vec<u8>>> {
        let vault = self.vault()?;
        let key_id = sealed_key_id(sealed)?;
        let Some(key) = vault.key_for_reading(&key_id, self.store.as_ref())? else {
            return Ok(None);
        };
        open_private(&key, &blob_aad(purpose), sealed).map(Some)
    }
}

/// The AAD of a sealed value of the entry whose leaf is `leaf`: a v2
/// record is bound to the leaf's commitment; a v3 record is sealed before
/// the sequencer places it in its contract's chain (so before its
/// commitment exists), and is bound to the leaf by the commitment check
/// on every opening instead.
pub(crate) fn private_aad_for(tag: u8, leaf: &v2::LeafV2) -> Vec<u8> {
    match leaf.alg {
        v2::CommitmentAlg::SaltedV2 => private_aad(tag, &leaf.commitment),
        v2::CommitmentAlg::SdV3 | v2::CommitmentAlg::SdV3Sm3 => private_aad_v3(tag),
    }
}

fn private_aad_v3(tag: u8) -> Vec<u8> {
    [b"evidence-ledger/private/v3\0".as_slice(), &[tag]].concat()
}

/// What reading an entry's record found.
pub(crate) enum RecordRead {
    /// Opened, and it opens the leaf.
    Opened(serde_json::Value),
    /// No record stored (erased, or never a v2 leaf).
    Absent,
    /// A record whose key was destroyed.
    KeyDestroyed,
    /// It does not decrypt, parse or open the leaf.
    Bad(String),
}

/// Opens the sealed value `tag` of entry `index`: `None` when absent,
/// `Some(Err)` when its key was destroyed, `Some(Ok(value))` when opened.
fn open_sealed(
    store: &Store,
    vault: &Vault,
    index: u64,
    tag: u8,
    aad: &[u8],
) -> Result<Option<std::result::Result<serde_json::Value, ()>>> {
    let Some(sealed) = store.private(index, tag)? else { return Ok(None) };
    let key_id = sealed_key_id(&sealed)?;
    let Some(key) = vault.key_for_reading(&key_id, store)? else { return Ok(Some(Err(()))) };
    let plain = open_private(&key, aad, &sealed)
        .map_err(|e| LedgerError::Corrupt(format!("entry {index}: {e}")))?;
    let value = verifier::jcs::parse(&plain, &verifier::entry::LEAF_LIMITS)
        .map_err(|e| LedgerError::Corrupt(format!("entry {index}: sealed value: {e}")))?;
    Ok(Some(Ok(value)))
}

/// Reads entry `index`'s record and checks that it opens `leaf`; a v3
/// record gets its chain (stored beside it) back before the check.
pub(crate) fn read_record(
    store: &Store,
    vault: &Vault,
    index: u64,
    leaf: &v2::LeafV2,
) -> Result<RecordRead> {
    let mut record =
        match open_sealed(store, vault, index, TAG_RECORD, &private_aad_for(TAG_RECORD, leaf)) {
            Ok(None) => return Ok(RecordRead::Absent),
            Ok(Some(Err(()))) => return Ok(RecordRead::KeyDestroyed),
            Ok(Some(Ok(r))) => r,
            Err(LedgerError::Corrupt(why)) => return Ok(RecordRead::Bad(why)),
            Err(e) => return Err(e),
        };
    let opens = match leaf.alg.sd_hash() {
        None => v2::record_commitment(&record) == leaf.commitment,
        Some(h) => {
            let Some(chain) = store.private(index, TAG_CHAIN)? else {
                return Ok(RecordRead::Bad("a v3 record without its chain".into()));
            };
            let chain = verifier::jcs::parse(&chain, &verifier::entry::LEAF_LIMITS)
                .map_err(|e| LedgerError::Corrupt(format!("entry {index}: chain: {e}")))?;
            if let Some(m) = record.as_object_mut() {
                m.insert(v3::CHAIN.into(), chain);
            }
            v3::record_commitment_in(h, &record).is_ok_and(|c| c == leaf.commitment)
        }
    };
    if !opens {
        return Ok(RecordRead::Bad("the record does not open the leaf".into()));
    }
    Ok(RecordRead::Opened(record))
}

/// Builds an entry's v3 record (salt, identity sub-commitment, per-field
/// digests) and seals it without its chain, and its identity opening,
/// under the key `seal_id` (created if it has none); returns the digests
/// the sequencer completes with the chain, and the two sealed values.
pub(crate) fn seal_record(
    vault: &Vault,
    store: &Store,
    tenant: &str,
    event: &Event,
    seal_id: &KeyId,
) -> Result<SealedRecord> {
    let WriteKey { key, new_wrapped } = vault.key_for_writing(seal_id, store)?;
    // Salts from the thread's CSPRNG (ChaCha12, reseeded from the OS).
    let mut rng = rand::thread_rng();
    let mut salt = [0u8; v2::SALT_BYTES];
    rng.fill_bytes(&mut salt);
    let (identity_plain, identity_commitment) = match &event.identity {
        None => (None, None),
        Some(id) => {
            let mut isalt = [0u8; v2::SALT_BYTES];
            rng.fill_bytes(&mut isalt);
            let opening = v2::identity_value(id, &isalt);
            let c = v2::identity_commitment(&opening);
            (Some(verifier::jcs::to_canonical(&opening)), Some(c))
        }
    };
    let event_value;
    let event_ref = if event.identity.is_some() {
        event_value = event.raw_without_identity();
        &event_value
    } else {
        &event.raw
    };
    // The log's suite, not the vault's: an `sm2-sm3` log whose vault
    // predates SM4 still commits its new records with SM3.
    let hash = v3::SdHash::for_suite(vault.log_suite());
    let sealing = v3::Sealing::new_in(hash, event_ref, tenant, &salt, identity_commitment.as_ref());
    let record = v3::record_without_chain_canonical(
        &verifier::jcs::to_canonical(event_ref),
        tenant,
        &salt,
        identity_commitment.as_ref(),
    );
    let record = seal_private(vault.aead(), &key, seal_id, &private_aad_v3(TAG_RECORD), &record)?;
    let identity = identity_plain
        .map(|p| seal_private(vault.aead(), &key, seal_id, &private_aad_v3(TAG_IDENTITY), &p))
        .transpose()?;
    Ok(SealedRecord { sealing, record, identity, new_key: new_wrapped })
}

/// What [`seal_record`] makes.
pub(crate) struct SealedRecord {
    /// The record's digests, but the chain's.
    pub sealing: v3::Sealing,
    pub record: Vec<u8>,
    pub identity: Option<Vec<u8>>,
    /// The sealing key's wrapped form, when no synced write holds it yet.
    pub new_key: Option<Vec<u8>>,
}

/// Whether the entry is found by its document hash (`GET /v1/lookup`):
/// not the service's own entries (reports, erasures, registry changes),
/// whose "document hash" is one a stranger can compute (of a signer's
/// public key, of "evidence-ledger retention <tenant>", ...) and would
/// tell a guesser that a tenant, a signer or a report exists.
fn hash_indexed(event: &Event) -> bool {
    !event.kind.is_service_kind()
}

/// What an entry's stored record says about its event: enough to find
/// its idempotency and index records.
pub(crate) struct StoredEvent {
    pub tenant: String,
    pub event_id: String,
    pub document_id: String,
}

/// The ids of the v2 entry at `index`, from its sealed record; `None`
/// when the record or its key is gone (erased) or the leaf is v1.
pub(crate) fn stored_event(
    vault: &Vault,
    store: &Store,
    index: u64,
) -> Result<Option<StoredEvent>> {
    let (Some(leaf), Some(sealed)) = (store.leaf(index)?, store.private(index, TAG_RECORD)?) else {
        return Ok(None);
    };
    let Ok(v2::Leaf::V2(leaf)) = v2::parse_any_leaf(&leaf) else { return Ok(None) };
    let Some(key) = vault.key_for_reading(&sealed_key_id(&sealed)?, store)? else {
        return Ok(None);
    };
    // v2 and v3 records are sealed under different AADs (private_aad_for).
    let plain = open_private(&key, &private_aad_for(TAG_RECORD, &leaf), &sealed)
        .map_err(|e| LedgerError::Corrupt(format!("entry {index}: {e}")))?;
    let record: serde_json::Value = parse_json(&plain)?;
    let s = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    Ok(
        match (
            s(&record["tenant"]),
            s(&record["event"]["event_id"]),
            s(&record["event"]["document_id"]),
        ) {
            (Some(tenant), Some(event_id), Some(document_id)) => {
                Some(StoredEvent { tenant, event_id, document_id })
            }
            _ => None,
        },
    )
}

/// The purpose an erasure record's reason is sealed for.
pub(crate) const REASON_PURPOSE: &[u8] = b"erasure-reason";

/// Seals an erasure's reason under the erasure key `seal_id`, as the
/// erasure record in `erased` keeps it (base64): free text an admin
/// typed may name a person, so it is never stored in clear.
pub(crate) fn seal_reason(
    vault: &Vault,
    store: &Store,
    seal_id: &KeyId,
    reason: &str,
) -> Result<String> {
    let key = vault.key_for_writing(seal_id, store)?;
    let sealed = seal_private(
        vault.aead(),
        &key.key,
        seal_id,
        &blob_aad(REASON_PURPOSE),
        reason.as_bytes(),
    )?;
    Ok(crate::util::b64(&sealed))
}

/// The purpose an erasure's clean-up record is sealed for.
pub(crate) const CLEANUP_PURPOSE: &[u8] = b"erasure-cleanup";

/// Seals an erasure's clean-up record under the erasure's own key
/// `seal_id` (the key its entry's record is sealed under, written in the
/// same batch when new).
pub(crate) fn seal_cleanup(
    vault: &Vault,
    store: &Store,
    seal_id: &KeyId,
    plain: &[u8],
) -> Result<Vec<u8>> {
    let key = vault.key_for_writing(seal_id, store)?;
    seal_private(vault.aead(), &key.key, seal_id, &blob_aad(CLEANUP_PURPOSE), plain)
}

/// The purpose a contract's ids in the open-contract index are sealed for.
pub(crate) const OPEN_PURPOSE: &[u8] = b"open-contract";

/// Seals `tenant`'s `document_id` under the document key `seal_id`, for
/// the open-contract index (an erasure of the document shreds it too).
/// Whether an entry of `kind` that starts a contract leaves it open (in
/// the open-contract index until its completion): a tenant's events but
/// `completed`; the service's own entries are no contract.
pub(crate) fn opens_contract(kind: EventKind) -> bool {
    !kind.is_service_kind() && kind != EventKind::Completed
}

pub(crate) fn seal_open_ids(
    vault: &Vault,
    store: &Store,
    tenant: &str,
    document_id: &str,
    seal_id: &KeyId,
) -> Result<Vec<u8>> {
    let ids = serde_json::json!({"tenant": tenant, "document_id": document_id});
    let key = vault.key_for_writing(seal_id, store)?;
    seal_private(
        vault.aead(),
        &key.key,
        seal_id,
        &blob_aad(OPEN_PURPOSE),
        ids.to_string().as_bytes(),
    )
}

/// The private opening of an entry.
#[derive(Clone, Debug, PartialEq)]
pub enum Opening {
    /// A v1 leaf: the event is in the leaf, in clear.
    V1,
    /// A v2 record (and the identity opening, when it exists).
    Record {
        /// The record object; it opens the leaf's commitment.
        record: serde_json::Value,
        /// The identity opening, unless there was none or it was erased.
        identity: Option<serde_json::Value>,
    },
    /// The record was erased (its document key and ciphertexts destroyed).
    Erased,
}

fn blob_aad(purpose: &[u8]) -> Vec<u8> {
    [b"evidence-ledger/blob/v1\0".as_slice(), purpose].concat()
}
