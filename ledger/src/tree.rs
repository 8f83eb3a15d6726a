//! The Merkle tree as stored hashes: readers over the store, and an overlay
//! that sees the hashes of a group commit before they are durable.

use std::cell::RefCell;
use std::collections::HashMap;

use tlog_tiles::tlog::{self, HashReader};
use verifier::hash::node_hash;
use verifier::Hash;

use crate::error::{LedgerError, Result};
use crate::store::Store;

/// Reads committed stored hashes from the store.
pub(crate) struct StoreReader<'a>(pub &'a Store);

impl HashReader for StoreReader<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog::Hash>, tlog::Error> {
        // tlog_tiles' error type has no variant for I/O; the cause is logged.
        self.0.read_hashes(indexes).map(|v| v.into_iter().map(tlog::Hash).collect()).map_err(|e| {
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
        Overlay { store, pending: HashMap::new(), cache: RefCell::new(HashMap::new()) }
    }

    /// Computes and stages the stored hashes of leaf `index`, returning
    /// them with their stored-hash indices for the write batch.
    pub(crate) fn append_leaf(&mut self, index: u64, leaf: &Hash) -> Result<Vec<(u64, Hash)>> {
        let hashes = tlog::stored_hashes_for_record_hash(index, tlog::Hash(leaf.0), &*self)
            .map_err(tree_err)?;
        let first = tlog::stored_hash_index(0, index);
        let out: Vec<(u64, Hash)> =
            hashes.iter().enumerate().map(|(i, h)| (first + i as u64, Hash(h.0))).collect();
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
        out.into_iter().map(|h| h.ok_or(tlog::Error::IndexesNotInTree)).collect()
    }
}

pub(crate) fn tree_err(e: tlog::Error) -> LedgerError {
    LedgerError::Corrupt(format!("merkle tree: {e}"))
}

/// Proofs for one tree size, with the hashes of incomplete subtrees (the
/// right edge of the tree) computed once and kept: the receipts of one group
/// commit share all of them, and each proof then costs only reads of stored
/// hashes. `tlog::prove_record` recomputes the right edge for every proof,
/// which made answering a group as costly as staging it.
pub(crate) struct Prover<'r, R: HashReader> {
    reader: &'r R,
    size: u64,
    /// Hash of the subtree `[lo, size)`, by `lo`.
    edge: RefCell<HashMap<u64, Hash>>,
}

impl<'r, R: HashReader> Prover<'r, R> {
    pub(crate) fn new(reader: &'r R, size: u64) -> Self {
        Prover { reader, size, edge: RefCell::new(HashMap::new()) }
    }

    /// RFC 9162 §2.1.1 MTH of the whole tree.
    pub(crate) fn root(&self) -> Result<Hash> {
        if self.size == 0 {
            return Ok(Hash::empty_root());
        }
        self.subtree(0, self.size)
    }

    /// RFC 9162 §2.1.3.1 PATH(index, D[0:size]), deepest hash first.
    pub(crate) fn inclusion(&self, index: u64) -> Result<Vec<Hash>> {
        if index >= self.size {
            return Err(LedgerError::InvalidRequest(format!(
                "index {index} >= tree size {}",
                self.size
            )));
        }
        let mut out = Vec::with_capacity(64 - self.size.leading_zeros() as usize);
        let (mut lo, mut hi) = (0, self.size);
        let mut siblings = Vec::with_capacity(out.capacity());
        while hi - lo > 1 {
            let k = split(hi - lo);
            if index < lo + k {
                siblings.push((lo + k, hi));
                hi = lo + k;
            } else {
                siblings.push((lo, lo + k));
                lo += k;
            }
        }
        for (a, b) in siblings.into_iter().rev() {
            out.push(self.subtree(a, b)?);
        }
        Ok(out)
    }

    /// MTH(D[lo:hi]) where `[lo, hi)` is a subtree of the RFC 9162
    /// decomposition: either complete and aligned (a stored hash), or ending
    /// at `size` (the right edge, memoised).
    fn subtree(&self, lo: u64, hi: u64) -> Result<Hash> {
        let n = hi - lo;
        if n.is_power_of_two() && lo & (n - 1) == 0 {
            let level = n.trailing_zeros() as u8;
            let i = tlog::stored_hash_index(level, lo >> level);
            let h = self.reader.read_hashes(&[i]).map_err(tree_err)?;
            return h
                .first()
                .map(|h| Hash(h.0))
                .ok_or_else(|| LedgerError::Corrupt(format!("stored hash {i} missing")));
        }
        if let Some(h) = self.edge.borrow().get(&lo) {
            return Ok(*h);
        }
        let k = split(n);
        let h = node_hash(&self.subtree(lo, lo + k)?, &self.subtree(lo + k, hi)?);
        self.edge.borrow_mut().insert(lo, h);
        Ok(h)
    }
}

/// The largest power of two below `n` (n >= 2): RFC 9162's split point.
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// RFC 9162 root of the first `size` leaves.
pub(crate) fn root<R: HashReader>(size: u64, r: &R) -> Result<Hash> {
    tlog::tree_hash(size, r).map(|h| Hash(h.0)).map_err(tree_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stored hashes in memory, in the sumdb/tlog layout.
    struct Mem(Vec<tlog::Hash>);

    impl HashReader for Mem {
        fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog::Hash>, tlog::Error> {
            indexes
                .iter()
                .map(|i| self.0.get(*i as usize).copied())
                .collect::<Option<Vec<_>>>()
                .ok_or(tlog::Error::IndexesNotInTree)
        }
    }

    fn mem(n: u64) -> Mem {
        let mut m = Mem(Vec::new());
        for i in 0..n {
            let leaf = tlog::record_hash(&i.to_be_bytes());
            let hs = tlog::stored_hashes_for_record_hash(i, leaf, &m).expect("hashes");
            m.0.extend(hs);
        }
        m
    }

    #[test]
    fn prover_matches_tlog() {
        let m = mem(70);
        for size in 1..=70 {
            let p = Prover::new(&m, size);
            let root = tlog::tree_hash(size, &m).expect("root");
            assert_eq!(p.root().expect("root").0, root.0, "size {size}");
            for index in 0..size {
                let want: Vec<[u8; 32]> = tlog::prove_record(size, index, &m)
                    .expect("proof")
                    .into_iter()
                    .map(|h| h.0)
                    .collect();
                let got: Vec<[u8; 32]> =
                    p.inclusion(index).expect("proof").into_iter().map(|h| h.0).collect();
                assert_eq!(got, want, "index {index} size {size}");
            }
        }
        assert!(Prover::new(&m, 5).inclusion(5).is_err());
    }
}
