//! The redaction of a subject's sealed records after a subject erasure
//! (issue 25 item 8): the records of the documents that survive keep the
//! tenant, contract, document hash, kind and chain, but not the erased
//! actor's id, masked name and commitment, nor the attestations (issuers,
//! claims, signatures) of the subject's entries. A v3 record commits to
//! each field under its own salted digest, so the redacted record holds
//! those digests in place of the values (`verifier::v3::redact`) and
//! still opens its leaf; the verifiers show the fields as erased.
//!
//! A step of the erasure's clean-up ([`crate::Cleanup`]): run after the
//! erasure's commit, resumed from its clean-up record after a crash,
//! idempotent (a record redacted already is left as it is). Each
//! document's records are rewritten in one synced batch that also lists
//! their keys for the purge, which then compacts away the old values.
//!
//! Owns nothing stored of its own; calls the store, the vault and the
//! sealed records' helpers.

use verifier::{v2, v3};

use crate::error::{LedgerError, Result};
use crate::records::private_aad_for;
use crate::store::{Store, TAG_CHAIN, TAG_RECORD};
use crate::vault::{open_private, seal_private, sealed_key_id, Vault};

/// What [`redact_subject`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Redacted {
    /// Records rewritten without the actor and attestations.
    pub records: usize,
    /// v2 records of the subject: one commitment over the whole record,
    /// so no field can leave it; they stay sealed as they are.
    pub v2_records_kept: usize,
}

/// Redacts the actor and attestations of `actor_id`'s entries from the
/// sealed records of `documents` (of `tenant`). `purge_id` names the
/// purge-key list of each document's batch (one per document, beside
/// the erasure's own).
pub(crate) fn redact_subject(
    store: &Store,
    vault: &Vault,
    tenant: &str,
    documents: &[String],
    actor_id: &str,
    purge_id: impl Fn(&[u8; 32]) -> [u8; 32],
) -> Result<Redacted> {
    let mut done = Redacted::default();
    for document in documents {
        let doc_id = vault.document_id(tenant, document);
        let mut rewritten = Vec::new();
        for e in store.doc_index(&doc_id)? {
            match redact_one(store, vault, e.index, actor_id)? {
                Outcome::Rewritten(sealed) => rewritten.push((e.index, sealed)),
                Outcome::KeptV2 => done.v2_records_kept += 1,
                Outcome::Untouched => {}
            }
        }
        if !rewritten.is_empty() {
            store.rewrite_records(&purge_id(&doc_id), &rewritten)?;
            done.records += rewritten.len();
        }
    }
    Ok(done)
}

enum Outcome {
    Rewritten(Vec<u8>),
    KeptV2,
    Untouched,
}

/// One entry: its record re-sealed without the subject's actor and
/// attestations, if it is one of the subject's and not redacted yet.
fn redact_one(store: &Store, vault: &Vault, index: u64, actor_id: &str) -> Result<Outcome> {
    let (Some(leaf), Some(sealed)) = (store.leaf(index)?, store.private(index, TAG_RECORD)?) else {
        return Ok(Outcome::Untouched); // erased, or never a v2 leaf
    };
    let Ok(v2::Leaf::V2(leaf)) = v2::parse_any_leaf(&leaf) else { return Ok(Outcome::Untouched) };
    let key_id = sealed_key_id(&sealed)?;
    let Some(key) = vault.key_for_reading(&key_id, store)? else {
        return Ok(Outcome::Untouched); // its document was erased
    };
    let aad = private_aad_for(TAG_RECORD, &leaf);
    let plain = open_private(&key, &aad, &sealed)
        .map_err(|e| LedgerError::Corrupt(format!("entry {index}: {e}")))?;
    let record = verifier::jcs::parse(&plain, &verifier::entry::LEAF_LIMITS)
        .map_err(|e| LedgerError::Corrupt(format!("entry {index}: record: {e}")))?;
    if record["event"]["actor"]["id"].as_str() != Some(actor_id) {
        return Ok(Outcome::Untouched);
    }
    let Some(hash) = leaf.alg.sd_hash() else { return Ok(Outcome::KeptV2) };
    let redacted = v3::redact_in(hash, &record, &v3::REDACTABLE)
        .map_err(|e| LedgerError::Corrupt(format!("entry {index}: {e}")))?;
    // It must still open the leaf, or nothing is written.
    let chain = store
        .private(index, TAG_CHAIN)?
        .ok_or_else(|| LedgerError::Corrupt(format!("entry {index}: a v3 record without chain")))?;
    let chain = verifier::jcs::parse(&chain, &verifier::entry::LEAF_LIMITS)
        .map_err(|e| LedgerError::Corrupt(format!("entry {index}: chain: {e}")))?;
    let mut full = redacted.clone();
    if let Some(m) = full.as_object_mut() {
        m.insert(v3::CHAIN.into(), chain);
    }
    if v3::record_commitment_in(hash, &full).ok() != Some(leaf.commitment) {
        return Err(LedgerError::Corrupt(format!(
            "entry {index}: the redacted record would not open its leaf"
        )));
    }
    let plain = verifier::jcs::to_canonical(&redacted);
    Ok(Outcome::Rewritten(seal_private(vault.aead(), &key, &key_id, &aad, &plain)?))
}
