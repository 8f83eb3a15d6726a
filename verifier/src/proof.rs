//! RFC 9162 §2.1.3.2 inclusion and §2.1.4.2 consistency proof verification.
//!
//! Both checks are the RFC's iterative algorithms over `(fn, sn)` bit
//! positions, with the proof length capped before any hashing. All arithmetic
//! is on values already checked against their bounds, so nothing here can
//! overflow or panic whatever the input.

use crate::hash::{Sha256Tree, TreeHash};
use crate::{Hash, VerifyError};

/// Longest proof accepted: a tree of 2^64 leaves needs at most 64 hashes for
/// inclusion and 2*64 for consistency.
pub const MAX_PROOF_HASHES: usize = 128;

const INCLUSION: &str = "inclusion";
const CONSISTENCY: &str = "consistency";

fn fail(kind: &'static str, reason: impl Into<String>) -> VerifyError {
    VerifyError::InvalidProof { kind, reason: reason.into() }
}

fn check_len(kind: &'static str, proof: &[Hash]) -> Result<(), VerifyError> {
    if proof.len() > MAX_PROOF_HASHES {
        return Err(fail(kind, format!("{} hashes > {MAX_PROOF_HASHES}", proof.len())));
    }
    Ok(())
}

/// Shifts `fn_` and `sn` right together until `fn_` is odd or zero (the inner
/// step of RFC 9162 §2.1.3.2 step 4 and §2.1.4.2 step 6).
fn shift_to_odd_or_zero(fn_: &mut u64, sn: &mut u64) {
    while *fn_ != 0 && *fn_ & 1 == 0 {
        *fn_ >>= 1;
        *sn >>= 1;
    }
}

/// RFC 9162 §2.1.3.2: checks that `leaf` is at `index` in the tree of
/// `tree_size` leaves whose root is `root`. Never panics.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    verify_inclusion_with::<Sha256Tree>(leaf, index, tree_size, proof, root)
}

/// [`verify_inclusion`] with the tree hash `H` (SM3 for `sm2-sm3` logs).
pub fn verify_inclusion_with<H: TreeHash>(
    leaf: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    check_len(INCLUSION, proof)?;
    // Step 1; also covers tree_size == 0, which no leaf is in.
    if index >= tree_size {
        return Err(fail(INCLUSION, format!("index {index} >= tree size {tree_size}")));
    }
    let computed = root_from_inclusion_path::<H>(leaf, index, tree_size - 1, proof)?;
    if computed != *root {
        return Err(fail(INCLUSION, "computed root does not match"));
    }
    Ok(())
}

/// RFC 9162 §2.1.3.2 steps 2-5 with `fn_ = index`, `sn = tree_size - 1`:
/// the root the path leads to, or an error if its length does not fit.
fn root_from_inclusion_path<H: TreeHash>(
    leaf: &Hash,
    mut fn_: u64,
    mut sn: u64,
    proof: &[Hash],
) -> Result<Hash, VerifyError> {
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(fail(INCLUSION, "proof too long"));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = H::node_hash(p, &r);
            shift_to_odd_or_zero(&mut fn_, &mut sn);
        } else {
            r = H::node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(fail(INCLUSION, "proof too short"));
    }
    Ok(r)
}

/// RFC 9162 §2.1.4.2: checks that the tree (`old_size`, `old_root`) is a
/// prefix of (`new_size`, `new_root`). Never panics.
///
/// Edge cases the RFC's algorithm (defined for 0 < first < second) leaves to
/// the caller: equal sizes need an empty proof and equal roots; an empty old
/// tree needs an empty proof and the empty-tree root (SHA-256 of "").
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    verify_consistency_with::<Sha256Tree>(old_size, new_size, old_root, new_root, proof)
}

/// [`verify_consistency`] with the tree hash `H` (SM3 for `sm2-sm3` logs).
pub fn verify_consistency_with<H: TreeHash>(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    check_len(CONSISTENCY, proof)?;
    if old_size > new_size {
        return Err(fail(CONSISTENCY, format!("old size {old_size} > new size {new_size}")));
    }
    if old_size == new_size || old_size == 0 {
        return verify_trivial_consistency::<H>(old_size, new_size, old_root, new_root, proof);
    }
    // Step 1.
    let Some((first, rest)) = proof.split_first() else {
        return Err(fail(CONSISTENCY, "empty proof"));
    };
    // Step 2: a power-of-two old tree is itself a node of the new tree, so its
    // root is the (implicit) first element of the path.
    let (seed, path) = if old_size.is_power_of_two() { (old_root, proof) } else { (first, rest) };
    let (fr, sr) = roots_from_consistency_path::<H>(old_size - 1, new_size - 1, seed, path)?;
    if fr != *old_root {
        return Err(fail(CONSISTENCY, "computed old root does not match"));
    }
    if sr != *new_root {
        return Err(fail(CONSISTENCY, "computed new root does not match"));
    }
    Ok(())
}

/// Consistency when `old_size == new_size` or `old_size == 0`: no proof.
fn verify_trivial_consistency<H: TreeHash>(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    if !proof.is_empty() {
        return Err(fail(CONSISTENCY, "proof must be empty"));
    }
    if old_size == 0 && *old_root != H::empty_root() {
        return Err(fail(CONSISTENCY, "old root is not the empty-tree root"));
    }
    if old_size == new_size && old_root != new_root {
        return Err(fail(CONSISTENCY, "equal sizes with different roots"));
    }
    Ok(())
}

/// RFC 9162 §2.1.4.2 steps 3-7 from `fn_ = first - 1`, `sn = second - 1`,
/// with `seed` the path's first value and `path` the rest: returns
/// `(fr, sr)`, or an error if the path's length does not fit.
fn roots_from_consistency_path<H: TreeHash>(
    mut fn_: u64,
    mut sn: u64,
    seed: &Hash,
    path: &[Hash],
) -> Result<(Hash, Hash), VerifyError> {
    // Step 4.
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5.
    let (mut fr, mut sr) = (*seed, *seed);
    // Step 6.
    for c in path {
        if sn == 0 {
            return Err(fail(CONSISTENCY, "proof too long"));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = H::node_hash(c, &fr);
            sr = H::node_hash(c, &sr);
            shift_to_odd_or_zero(&mut fn_, &mut sn);
        } else {
            sr = H::node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 7's `sn == 0` check.
    if sn != 0 {
        return Err(fail(CONSISTENCY, "proof too short"));
    }
    Ok((fr, sr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{leaf_hash, root_from_leaf_hashes};

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn single_leaf_tree_has_empty_inclusion_proof() {
        let l = leaves(1);
        assert_eq!(verify_inclusion(&l[0], 0, 1, &[], &l[0]), Ok(()));
        assert!(verify_inclusion(&l[0], 1, 1, &[], &l[0]).is_err());
    }

    #[test]
    fn inclusion_rejects_empty_tree_and_index_out_of_range() {
        let h = leaf_hash(b"x");
        assert!(verify_inclusion(&h, 0, 0, &[], &Hash::empty_root()).is_err());
        assert!(verify_inclusion(&h, u64::MAX, u64::MAX, &[], &h).is_err());
        assert!(verify_inclusion(&h, 5, 3, &[], &h).is_err());
    }

    #[test]
    fn two_leaf_tree_proofs() {
        let l = leaves(2);
        let root = root_from_leaf_hashes(&l);
        assert_eq!(verify_inclusion(&l[0], 0, 2, &[l[1]], &root), Ok(()));
        assert_eq!(verify_inclusion(&l[1], 1, 2, &[l[0]], &root), Ok(()));
        assert!(verify_inclusion(&l[0], 1, 2, &[l[1]], &root).is_err());
        assert_eq!(verify_consistency(1, 2, &l[0], &root, &[l[1]]), Ok(()));
        assert!(verify_consistency(1, 2, &l[0], &root, &[]).is_err());
    }

    #[test]
    fn trivial_consistency_cases() {
        let l = leaves(3);
        let root = root_from_leaf_hashes(&l);
        let empty = Hash::empty_root();
        assert_eq!(verify_consistency(3, 3, &root, &root, &[]), Ok(()));
        assert!(verify_consistency(3, 3, &root, &empty, &[]).is_err());
        assert!(verify_consistency(3, 3, &root, &root, &[root]).is_err());
        assert_eq!(verify_consistency(0, 3, &empty, &root, &[]), Ok(()));
        assert_eq!(verify_consistency(0, 0, &empty, &empty, &[]), Ok(()));
        assert!(verify_consistency(0, 3, &root, &root, &[]).is_err());
        assert!(verify_consistency(0, 3, &empty, &root, &[root]).is_err());
        assert!(verify_consistency(3, 2, &root, &root, &[]).is_err());
    }

    #[test]
    fn overlong_proofs_are_rejected_before_hashing() {
        let h = leaf_hash(b"x");
        let long = vec![h; MAX_PROOF_HASHES + 1];
        let err = verify_inclusion(&h, 0, u64::MAX, &long, &h);
        assert!(matches!(err, Err(VerifyError::InvalidProof { kind: "inclusion", .. })));
        let err = verify_consistency(1, u64::MAX, &h, &h, &long);
        assert!(matches!(err, Err(VerifyError::InvalidProof { kind: "consistency", .. })));
    }

    #[test]
    fn extreme_sizes_do_not_panic() {
        let h = leaf_hash(b"x");
        let path = vec![h; 64];
        for (i, n) in [(0, u64::MAX), (u64::MAX - 1, u64::MAX), (1 << 63, u64::MAX)] {
            assert!(verify_inclusion(&h, i, n, &path, &h).is_err());
        }
        for (m, n) in [(1, u64::MAX), (u64::MAX - 1, u64::MAX), (1 << 63, u64::MAX)] {
            assert!(verify_consistency(m, n, &h, &h, &path).is_err());
        }
    }
}
