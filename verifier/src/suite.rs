//! The cryptographic suite of a log, chosen once at `init` (issue 26):
//! `ed25519-sha256` (RFC 9162 with SHA-256, Ed25519 notes, AES-256-GCM
//! records) or `sm2-sm3` (the same tree with SM3, SM2 notes as signed-note
//! type 0xff, SM4-GCM records).
//!
//! This module owns the suite's name and the dispatch from a suite chosen
//! at run time to the tree hash; the algorithms live in [`crate::hash`],
//! [`crate::proof`] and [`crate::sm2note`].

use std::fmt;

use crate::hash::{Sha256Tree, Sm3Tree, TreeHash};
use crate::proof::{verify_consistency_with, verify_inclusion_with};
use crate::{Hash, VerifyError};

/// A log's suite. [`Suite::default`] is `ed25519-sha256`, today's format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Suite {
    /// SHA-256 tree and hashes, Ed25519 signatures, AES-256-GCM.
    #[default]
    Ed25519Sha256,
    /// SM3 tree and hashes, SM2 signatures, SM4-GCM (GB/T 32905/32918/32907).
    Sm2Sm3,
}

/// Every suite, in the order documentation lists them.
pub const ALL_SUITES: [Suite; 2] = [Suite::Ed25519Sha256, Suite::Sm2Sm3];

impl Suite {
    /// The suite's name, as `init --suite`, `/v1/log` and policies spell it.
    pub const fn name(self) -> &'static str {
        match self {
            Suite::Ed25519Sha256 => "ed25519-sha256",
            Suite::Sm2Sm3 => "sm2-sm3",
        }
    }

    /// Parses a suite name; anything else is a clear error.
    pub fn parse(name: &str) -> Result<Suite, VerifyError> {
        ALL_SUITES.into_iter().find(|s| s.name() == name).ok_or_else(|| {
            VerifyError::invalid(
                "suite",
                format!("unknown suite {name:?} (known: ed25519-sha256, sm2-sm3)"),
            )
        })
    }

    /// The tree's hash of arbitrary bytes (SHA-256 or SM3).
    pub fn digest(self, data: &[u8]) -> Hash {
        match self {
            Suite::Ed25519Sha256 => Sha256Tree::digest(data),
            Suite::Sm2Sm3 => Sm3Tree::digest(data),
        }
    }

    /// RFC 9162 §2.1.1 leaf hash with this suite's hash.
    pub fn leaf_hash(self, leaf: &[u8]) -> Hash {
        match self {
            Suite::Ed25519Sha256 => Sha256Tree::leaf_hash(leaf),
            Suite::Sm2Sm3 => Sm3Tree::leaf_hash(leaf),
        }
    }

    /// RFC 9162 §2.1.1 node hash with this suite's hash.
    pub fn node_hash(self, left: &Hash, right: &Hash) -> Hash {
        match self {
            Suite::Ed25519Sha256 => Sha256Tree::node_hash(left, right),
            Suite::Sm2Sm3 => Sm3Tree::node_hash(left, right),
        }
    }

    /// The empty tree's root with this suite's hash.
    pub fn empty_root(self) -> Hash {
        self.digest(b"")
    }

    /// RFC 9162 §2.1.3.2 with this suite's hash.
    pub fn verify_inclusion(
        self,
        leaf: &Hash,
        index: u64,
        tree_size: u64,
        proof: &[Hash],
        root: &Hash,
    ) -> Result<(), VerifyError> {
        match self {
            Suite::Ed25519Sha256 => {
                verify_inclusion_with::<Sha256Tree>(leaf, index, tree_size, proof, root)
            }
            Suite::Sm2Sm3 => verify_inclusion_with::<Sm3Tree>(leaf, index, tree_size, proof, root),
        }
    }

    /// RFC 9162 §2.1.4.2 with this suite's hash.
    pub fn verify_consistency(
        self,
        old_size: u64,
        new_size: u64,
        old_root: &Hash,
        new_root: &Hash,
        proof: &[Hash],
    ) -> Result<(), VerifyError> {
        match self {
            Suite::Ed25519Sha256 => {
                verify_consistency_with::<Sha256Tree>(old_size, new_size, old_root, new_root, proof)
            }
            Suite::Sm2Sm3 => {
                verify_consistency_with::<Sm3Tree>(old_size, new_size, old_root, new_root, proof)
            }
        }
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{consistency_path_with, inclusion_path_with, root_from_leaf_hashes_with};

    fn check_all_proofs<H: TreeHash>(suite: Suite) {
        for n in 1..=12usize {
            let leaves: Vec<Hash> = (0..n).map(|i| suite.leaf_hash(&[i as u8])).collect();
            let root = root_from_leaf_hashes_with::<H>(&leaves);
            for m in 0..n {
                let p = inclusion_path_with::<H>(m, &leaves);
                assert_eq!(
                    suite.verify_inclusion(&leaves[m], m as u64, n as u64, &p, &root),
                    Ok(())
                );
                let other =
                    if suite == Suite::Sm2Sm3 { Suite::Ed25519Sha256 } else { Suite::Sm2Sm3 };
                if n > 1 {
                    assert!(other
                        .verify_inclusion(&leaves[m], m as u64, n as u64, &p, &root)
                        .is_err());
                }
                let old = root_from_leaf_hashes_with::<H>(&leaves[..m + 1]);
                let c = consistency_path_with::<H>(m + 1, &leaves);
                assert_eq!(
                    suite.verify_consistency((m + 1) as u64, n as u64, &old, &root, &c),
                    Ok(())
                );
            }
        }
    }

    #[test]
    fn names_round_trip_and_unknown_is_refused() {
        for s in ALL_SUITES {
            assert_eq!(Suite::parse(s.name()), Ok(s));
        }
        assert!(Suite::parse("sm2").is_err());
        assert_eq!(Suite::default(), Suite::Ed25519Sha256);
    }

    #[test]
    fn proofs_from_the_definition_verify_with_their_own_hash_only() {
        check_all_proofs::<Sha256Tree>(Suite::Ed25519Sha256);
        check_all_proofs::<Sm3Tree>(Suite::Sm2Sm3);
    }

    #[test]
    fn sm3_of_abc_is_the_gbt_32905_example() {
        // GB/T 32905-2016 Appendix A.1: SM3("abc").
        assert_eq!(
            Suite::Sm2Sm3.digest(b"abc").to_hex(),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }
}
