//! RFC 9162 §2.1.3.2 inclusion and §2.1.4.2 consistency proof verification.
//! STUB: signatures fixed; bodies to be written.

use crate::{Hash, VerifyError};

/// Longest proof accepted: a tree of 2^64 leaves needs at most 64 hashes for
/// inclusion and 2*64 for consistency.
pub const MAX_PROOF_HASHES: usize = 128;

/// RFC 9162 §2.1.3.2: checks that `leaf` is at `index` in the tree of
/// `tree_size` leaves whose root is `root`. Never panics.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    let _ = (leaf, index, tree_size, proof, root);
    unimplemented!()
}

/// RFC 9162 §2.1.4.2: checks that the tree (`old_size`, `old_root`) is a
/// prefix of (`new_size`, `new_root`). Never panics.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    let _ = (old_size, new_size, old_root, new_root, proof);
    unimplemented!()
}
