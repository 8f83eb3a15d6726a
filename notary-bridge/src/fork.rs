//! Telling a fork from a bad proof.
//!
//! When a consistency proof fails against the witness's recorded root, it
//! is either garbage or evidence that the log equivocated. Running the RFC
//! 9162 §2.1.4.2 verification loop without its final comparisons yields the
//! two roots the proof commits to. If the new root is the one the log signed
//! and the old root is not the one we cosigned, the log signed a tree that
//! extends a different history: a fork, provable to anyone with both
//! checkpoints and the proof. (The verifier crate only answers yes or no,
//! so the loop is repeated here.)

use verifier::suite::Suite;
use verifier::Hash;

/// The (old root, new root) that a consistency proof from `old_size` to
/// `new_size` commits to, or `None` if the proof has the wrong shape.
/// RFC 9162 §2.1.4.2 steps 1-7. When `old_size` is a power of two the old
/// root is not in the proof, so `old_root` seeds it and is returned as is.
pub fn implied_roots(
    suite: Suite,
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    proof: &[Hash],
) -> Option<(Hash, Hash)> {
    if old_size == 0 || old_size >= new_size || proof.is_empty() {
        return None;
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if sn == 0 {
            return None;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = suite.node_hash(c, &fr);
            sr = suite.node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = suite.node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    (sn == 0).then_some((fr, sr))
}

/// True if `proof` shows that the tree (`new_size`, `new_root`) extends a
/// tree of `old_size` whose root is not `cosigned_root`.
pub fn proves_fork(
    suite: Suite,
    old_size: u64,
    new_size: u64,
    cosigned_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    match implied_roots(suite, old_size, new_size, cosigned_root, proof) {
        Some((old, new)) => new == *new_root && old != *cosigned_root,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::consistency_proof;
    use verifier::hash::{leaf_hash, root_from_leaf_hashes};

    fn leaves(tag: u8, n: usize) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&[tag, i as u8])).collect()
    }

    #[test]
    fn implied_roots_are_the_real_roots() {
        let all = leaves(0, 20);
        for new in 2..=20 {
            for old in 1..new {
                let proof = consistency_proof(&all[..new], old);
                let old_root = root_from_leaf_hashes(&all[..old]);
                let got =
                    implied_roots(Suite::Ed25519Sha256, old as u64, new as u64, &old_root, &proof);
                assert_eq!(
                    got,
                    Some((old_root, root_from_leaf_hashes(&all[..new]))),
                    "{old}->{new}"
                );
            }
        }
    }

    #[test]
    fn a_proof_from_another_history_proves_a_fork() {
        let (honest, forked) = (leaves(0, 13), leaves(1, 13));
        for old in [3usize, 5, 6, 7, 9, 12] {
            let cosigned = root_from_leaf_hashes(&honest[..old]);
            let proof = consistency_proof(&forked, old);
            let new_root = root_from_leaf_hashes(&forked);
            assert!(
                proves_fork(Suite::Ed25519Sha256, old as u64, 13, &cosigned, &new_root, &proof),
                "old {old}"
            );
            assert!(!proves_fork(
                Suite::Ed25519Sha256,
                old as u64,
                13,
                &cosigned,
                &Hash([0; 32]),
                &proof
            ));
        }
    }

    #[test]
    fn garbage_proves_nothing() {
        let root = Hash([1; 32]);
        assert!(!proves_fork(Suite::Ed25519Sha256, 5, 8, &root, &root, &[]));
        assert!(!proves_fork(Suite::Ed25519Sha256, 5, 8, &root, &root, &[Hash([2; 32]); 40]));
        assert!(!proves_fork(Suite::Ed25519Sha256, 0, 8, &root, &root, &[root]));
        assert!(!proves_fork(Suite::Ed25519Sha256, 8, 8, &root, &root, &[root]));
    }
}
