//! The Merkle tree as stored hashes: readers over the store, and an overlay
//! that sees the hashes of a group commit before they are durable.

use std::cell::RefCell;
use std::collections::HashMap;

use tlog_tiles::tlog::{self, HashReader};
use verifier::Hash;

use crate::error::{LedgerError, Result};
use crate::store::Store;

/// Reads committed stored hashes from the store.
pub(crate) struct StoreReader<'a>(pub &'a Store);

impl HashReader for StoreReader<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog::Hash>, tlog::Error> {
        // tlog_tiles' error type has no variant for I/O; the cause is logged.
        self.0
            .read_hashes(indexes)
            .map(|v| v.into_iter().map(tlog::Hash).collect())
            .map_err(|e| {
                tracing::error!("reading stored hashes: {e}");
                tlog::Error::IndexesNotInTree
            })
    }
}

/// Stored hashes of a group in flight, in front of the store, plus a cache
/// of what was read from the store (proofs of one group share most nodes).
pub(crate) struct Overlay<'a> {
    store: &'a Store,
    pending: HashMap<u64, tlog::Hash>,
    cache: RefCell<HashMap<u64, tlog::Hash>>,
}

impl<'a> Overlay<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Overlay {
            store,
            pending: HashMap::new(),
            cache: RefCell::new(HashMap::new()),
        }
    }

    /// Computes and stages the stored hashes of leaf `index`, returning
    /// them with their stored-hash indices for the write batch.
    pub(crate) fn append_leaf(&mut self, index: u64, leaf: &Hash) -> Result<Vec<(u64, Hash)>> {
        let hashes = tlog::stored_hashes_for_record_hash(index, tlog::Hash(leaf.0), &*self)
            .map_err(tree_err)?;
        let first = tlog::stored_hash_index(0, index);
        let out: Vec<(u64, Hash)> = hashes
            .iter()
            .enumerate()
            .map(|(i, h)| (first + i as u64, Hash(h.0)))
            .collect();
        for (i, h) in &out {
            self.pending.insert(*i, tlog::Hash(h.0));
        }
        Ok(out)
    }
}

impl HashReader for Overlay<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog::Hash>, tlog::Error> {
        let mut out = Vec::with_capacity(indexes.len());
        let mut missing = Vec::new();
        {
            let cache = self.cache.borrow();
            for i in indexes {
                match self.pending.get(i).or_else(|| cache.get(i)) {
                    Some(h) => out.push(Some(*h)),
                    None => {
                        out.push(None);
                        missing.push(*i);
                    }
                }
            }
        }
        if !missing.is_empty() {
            let read = StoreReader(self.store).read_hashes(&missing)?;
            let mut cache = self.cache.borrow_mut();
            for (i, h) in missing.iter().zip(&read) {
                cache.insert(*i, *h);
            }
            let mut read = read.into_iter();
            for slot in out.iter_mut().filter(|s| s.is_none()) {
                *slot = read.next();
            }
        }
        out.into_iter()
            .map(|h| h.ok_or(tlog::Error::IndexesNotInTree))
            .collect()
    }
}

pub(crate) fn tree_err(e: tlog::Error) -> LedgerError {
    LedgerError::Corrupt(format!("merkle tree: {e}"))
}

/// RFC 9162 root of the first `size` leaves.
pub(crate) fn root<R: HashReader>(size: u64, r: &R) -> Result<Hash> {
    tlog::tree_hash(size, r)
        .map(|h| Hash(h.0))
        .map_err(tree_err)
}

/// RFC 9162 §2.1.3.1 inclusion proof of `index` in the tree of `size` leaves.
pub(crate) fn inclusion_proof<R: HashReader>(index: u64, size: u64, r: &R) -> Result<Vec<Hash>> {
    if index >= size {
        return Err(LedgerError::InvalidRequest(format!(
            "index {index} >= tree size {size}"
        )));
    }
    let p = tlog::prove_record(size, index, r).map_err(tree_err)?;
    Ok(p.into_iter().map(|h| Hash(h.0)).collect())
}

/// RFC 9162 §2.1.4.1 consistency proof between sizes `old` <= `new`.
pub(crate) fn consistency_proof<R: HashReader>(old: u64, new: u64, r: &R) -> Result<Vec<Hash>> {
    if old > new {
        return Err(LedgerError::InvalidRequest(format!(
            "old size {old} > new size {new}"
        )));
    }
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    let p = tlog::prove_tree(new, old, r).map_err(tree_err)?;
    Ok(p.into_iter().map(|h| Hash(h.0)).collect())
}
