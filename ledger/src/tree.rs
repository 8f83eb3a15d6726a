//! The Merkle tree as stored hashes: readers over the store, and an overlay
//! that sees the hashes of a group commit before they are durable.

use std::cell::RefCell;
use std::collections::HashMap;

use tlog_tiles::tlog::{self, HashReader};
use verifier::suite::Suite;
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
    suite: Suite,
    pending: HashMap<u64, tlog::Hash>,
    cache: RefCell<HashMap<u64, tlog::Hash>>,
}

impl<'a> Overlay<'a> {
    pub(crate) fn new(store: &'a Store, suite: Suite) -> Self {
        Overlay { store, suite, pending: HashMap::new(), cache: RefCell::new(HashMap::new()) }
    }

    /// Computes and stages the stored hashes of leaf `index`, returning
    /// them with their stored-hash indices for the write batch.
    pub(crate) fn append_leaf(&mut self, index: u64, leaf: &Hash) -> Result<Vec<(u64, Hash)>> {
        let hashes = stored_hashes_for_leaf(self.suite, index, *leaf, &*self)?;
        let first = tlog::stored_hash_index(0, index);
        let out: Vec<(u64, Hash)> =
            hashes.into_iter().enumerate().map(|(i, h)| (first + i as u64, h)).collect();
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

/// The stored hashes that appending leaf `index` (leaf hash `leaf`) adds,
/// in the sumdb/tlog layout: the leaf hash, then the hash of each complete
/// subtree the leaf closes, with the log's tree hash (tlog's
/// `StoredHashesForRecordHash` with the hash as a parameter; tlog_tiles
/// computes SHA-256 only).
pub(crate) fn stored_hashes_for_leaf<R: HashReader>(
    suite: Suite,
    index: u64,
    leaf: Hash,
    r: &R,
) -> Result<Vec<Hash>> {
    let mut out = vec![leaf];
    // The left siblings this leaf completes: one per trailing 1 bit.
    let (mut n, mut level) = (index, 0u8);
    let mut wanted = Vec::new();
    while n & 1 == 1 {
        wanted.push(tlog::stored_hash_index(level, n - 1));
        n >>= 1;
        level += 1;
    }
    if wanted.is_empty() {
        return Ok(out);
    }
    let lefts = r.read_hashes(&wanted).map_err(tree_err)?;
    if lefts.len() != wanted.len() {
        return Err(LedgerError::Corrupt("stored hashes missing".into()));
    }
    let mut h = leaf;
    for left in lefts {
        h = suite.node_hash(&Hash(left.0), &h);
        out.push(h);
    }
    Ok(out)
}

/// Proofs for one tree size, with the hashes of incomplete subtrees (the
/// right edge of the tree) computed once and kept: the receipts of one group
/// commit share all of them, and each proof then costs only reads of stored
/// hashes. `tlog::prove_record` recomputes the right edge for every proof,
/// which made answering a group as costly as staging it.
pub(crate) struct Prover<'r, R: HashReader> {
    reader: &'r R,
    suite: Suite,
    size: u64,
    /// Hash of the subtree `[lo, size)`, by `lo`.
    edge: RefCell<HashMap<u64, Hash>>,
}

impl<'r, R: HashReader> Prover<'r, R> {
    pub(crate) fn new(reader: &'r R, size: u64, suite: Suite) -> Self {
        Prover { reader, suite, size, edge: RefCell::new(HashMap::new()) }
    }

    /// RFC 9162 §2.1.1 MTH of the whole tree.
    pub(crate) fn root(&self) -> Result<Hash> {
        if self.size == 0 {
            return Ok(self.suite.empty_root());
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
        let h = self.suite.node_hash(&self.subtree(lo, lo + k)?, &self.subtree(lo + k, hi)?);
        self.edge.borrow_mut().insert(lo, h);
        Ok(h)
    }
}

/// The largest power of two below `n` (n >= 2): RFC 9162's split point.
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// RFC 9162 root of the first `size` leaves, with the log's tree hash.
pub(crate) fn root<R: HashReader>(suite: Suite, size: u64, r: &R) -> Result<Hash> {
    Prover::new(r, size, suite).root()
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
            let p = Prover::new(&m, size, Suite::Ed25519Sha256);
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
        assert!(Prover::new(&m, 5, Suite::Ed25519Sha256).inclusion(5).is_err());
    }

    #[test]
    fn stored_hashes_match_tlog_for_sha256() {
        let m = mem(70);
        let mut ours = Mem(Vec::new());
        for i in 0..70u64 {
            let leaf = Hash(tlog::record_hash(&i.to_be_bytes()).0);
            let hs = stored_hashes_for_leaf(Suite::Ed25519Sha256, i, leaf, &ours).expect("hashes");
            ours.0.extend(hs.into_iter().map(|h| tlog::Hash(h.0)));
        }
        assert_eq!(ours.0, m.0);
        assert_eq!(
            root(Suite::Ed25519Sha256, 70, &ours).expect("root").0,
            tlog::tree_hash(70, &m).expect("root").0
        );
    }

    /// The SM3 tree from stored hashes has the root and proofs of the
    /// definition (RFC 9162 §2.1 with SM3).
    #[test]
    fn sm3_stored_hashes_give_the_defined_root_and_proofs() {
        use verifier::hash::{inclusion_path_with, root_from_leaf_hashes_with, Sm3Tree};
        let suite = Suite::Sm2Sm3;
        let mut m = Mem(Vec::new());
        let mut leaves = Vec::new();
        for i in 0..40u64 {
            let leaf = suite.leaf_hash(&i.to_be_bytes());
            leaves.push(leaf);
            let hs = stored_hashes_for_leaf(suite, i, leaf, &m).expect("hashes");
            m.0.extend(hs.into_iter().map(|h| tlog::Hash(h.0)));
            let size = i + 1;
            let want = root_from_leaf_hashes_with::<Sm3Tree>(&leaves);
            assert_eq!(root(suite, size, &m).expect("root"), want);
            let p = Prover::new(&m, size, suite);
            for j in 0..size {
                assert_eq!(
                    p.inclusion(j).expect("p"),
                    inclusion_path_with::<Sm3Tree>(j as usize, &leaves)
                );
            }
        }
    }
}
