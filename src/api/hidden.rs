//! The public lookup's hidden lists: the entries of a document hash that
//! `GET /v1/lookup` leaves out before it opens anything.
//!
//! When a tenant turns the lookup of its document off, the indices of the
//! document's entries are written under keyed ids of each document hash
//! they carry and of the (tenant, document) pair:
//! `lookup-hidden\0 K(hash) K(tenant, document) -> indices`. Every lookup
//! reads the hash index and scans this prefix for the hash, and drops the
//! listed indices: a hidden document then costs the lookup the same work
//! as a hash nobody logged (one index read, one prefix scan, nothing
//! opened), and answers the same 404.
//!
//! The switch record (`lookup-off\0 …`, [`super::erase`]) stays what
//! decides: it is written before the lists and deleted after them, so a
//! crash between the two leaves a hidden document with no list, which the
//! lookup still hides by opening its entries (the slower way). Entries the
//! document gains after the switch are not listed until the switch is set
//! again; they too are hidden the slower way.

use std::collections::{BTreeMap, BTreeSet};

use ledger::Ledger;
use verifier::Hash;

use super::bundle::open_entry;
use super::AppState;
use crate::error::ApiError;

const HIDDEN_PREFIX: &[u8] = b"lookup-hidden\0";
/// Domain of the keyed id of a document hash in the hidden lists.
const HASH_DOMAIN: &str = "lookup-hidden-hash";

fn hash_prefix(ledger: &Ledger, hash: &Hash) -> Result<Vec<u8>, ApiError> {
    let id = ledger.keyed_id(HASH_DOMAIN, &[&hash.0])?;
    Ok([HIDDEN_PREFIX, &id].concat())
}

fn list_key(
    ledger: &Ledger,
    hash: &Hash,
    tenant: &str,
    document_id: &str,
) -> Result<Vec<u8>, ApiError> {
    let doc = ledger.document_key_id(tenant, document_id)?;
    Ok([hash_prefix(ledger, hash)?, doc.to_vec()].concat())
}

/// The indices of `hash`'s entries that hidden documents listed.
pub(crate) fn hidden_indices(ledger: &Ledger, hash: &Hash) -> Result<BTreeSet<u64>, ApiError> {
    let mut out = BTreeSet::new();
    for (_, value) in ledger.aux_scan(&hash_prefix(ledger, hash)?)? {
        out.extend(
            value.chunks_exact(8).map(|c| u64::from_be_bytes(c.try_into().unwrap_or_default())),
        );
    }
    Ok(out)
}

/// The document's entries by the document hash they carry (erased entries,
/// whose hash nobody can read any more, are left out: the hash index no
/// longer finds them either).
fn entries_by_hash(
    state: &AppState,
    tenant: &str,
    document_id: &str,
) -> Result<BTreeMap<Hash, Vec<u64>>, ApiError> {
    let mut by_hash: BTreeMap<Hash, Vec<u64>> = BTreeMap::new();
    for index in state.ledger.document_entries(tenant, document_id)? {
        if let Some(event) = open_entry(state, index)?.event {
            by_hash.entry(event.document_hash).or_default().push(index);
        }
    }
    Ok(by_hash)
}

/// Writes the hidden lists of the tenant's document (after its switch).
pub(crate) fn hide(state: &AppState, tenant: &str, document_id: &str) -> Result<(), ApiError> {
    let ledger = &state.ledger;
    for (hash, indices) in entries_by_hash(state, tenant, document_id)? {
        let value: Vec<u8> = indices.iter().flat_map(|i| i.to_be_bytes()).collect();
        ledger.aux_put(&list_key(ledger, &hash, tenant, document_id)?, &value)?;
    }
    Ok(())
}

/// Deletes the hidden lists of the tenant's document (before its switch).
pub(crate) fn unhide(state: &AppState, tenant: &str, document_id: &str) -> Result<(), ApiError> {
    let ledger = &state.ledger;
    for hash in entries_by_hash(state, tenant, document_id)?.into_keys() {
        ledger.aux_delete_synced(&list_key(ledger, &hash, tenant, document_id)?)?;
    }
    Ok(())
}
