//! Hashes, indices and RFC 9162 §2.1.1 tree hashing.

use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::fmt;

use crate::VerifyError;

/// Domain-separation prefix of a leaf hash (RFC 9162 §2.1.1).
pub const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of an interior node hash (RFC 9162 §2.1.1).
pub const NODE_PREFIX: u8 = 0x01;
/// Size of a SHA-256 hash in bytes.
pub const HASH_SIZE: usize = 32;

/// A SHA-256 hash: a leaf hash, node hash, root or document hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; HASH_SIZE]);

/// The zero-based position of an entry in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LeafIndex(pub u64);

/// The number of entries in a tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TreeSize(pub u64);

impl Hash {
    /// SHA-256 of arbitrary bytes (no prefix).
    pub fn digest(data: &[u8]) -> Hash {
        Hash(Sha256::digest(data).into())
    }

    /// The RFC 9162 Merkle Tree Hash of the empty tree: SHA-256 of "".
    pub fn empty_root() -> Hash {
        Hash::digest(b"")
    }

    /// Standard base64 with padding, as C2SP and our JSON use.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    /// Parses standard padded base64 of exactly 32 bytes.
    pub fn from_base64(s: &str) -> Result<Hash, VerifyError> {
        if s.len() > 64 {
            return Err(VerifyError::malformed("hash", "base64 too long"));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| VerifyError::malformed("hash", e.to_string()))?;
        Hash::from_slice(&bytes)
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses exactly 64 lowercase hex digits (the document-hash form).
    pub fn from_hex(s: &str) -> Result<Hash, VerifyError> {
        if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(VerifyError::malformed("hash", "expected 64 lowercase hex digits"));
        }
        let bytes = hex::decode(s).map_err(|e| VerifyError::malformed("hash", e.to_string()))?;
        Hash::from_slice(&bytes)
    }

    /// Takes exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Hash, VerifyError> {
        <[u8; HASH_SIZE]>::try_from(bytes).map(Hash).map_err(|_| {
            VerifyError::malformed("hash", format!("{} bytes, expected 32", bytes.len()))
        })
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

/// RFC 9162 §2.1.1: the hash of a leaf, SHA-256(0x00 || leaf bytes).
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(leaf);
    Hash(h.finalize().into())
}

/// RFC 9162 §2.1.1: the hash of an interior node, SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// RFC 9162 §2.1.1 Merkle Tree Hash of a list of leaf hashes, computed
/// directly from the definition. O(n) memory; for tests, bundles and
/// crash-recovery checks, not for the ledger's hot path.
pub fn root_from_leaf_hashes(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Hash::empty_root(),
        1 => leaves[0],
        n => {
            let k = largest_power_of_two_below(n as u64) as usize;
            node_hash(&root_from_leaf_hashes(&leaves[..k]), &root_from_leaf_hashes(&leaves[k..]))
        }
    }
}

/// The largest power of two strictly smaller than `n` (n >= 2), RFC 9162 §2.1.1's k.
pub fn largest_power_of_two_below(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            Hash::empty_root().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn k_is_largest_power_below() {
        assert_eq!(largest_power_of_two_below(2), 1);
        assert_eq!(largest_power_of_two_below(3), 2);
        assert_eq!(largest_power_of_two_below(4), 2);
        assert_eq!(largest_power_of_two_below(5), 4);
        assert_eq!(largest_power_of_two_below(1 << 40), 1 << 39);
    }

    #[test]
    fn hex_and_base64_round_trip_and_reject() {
        let h = leaf_hash(b"x");
        assert_eq!(Hash::from_hex(&h.to_hex()), Ok(h));
        assert_eq!(Hash::from_base64(&h.to_base64()), Ok(h));
        assert!(Hash::from_hex(&h.to_hex().to_uppercase()).is_err());
        assert!(Hash::from_base64("AAAA").is_err());
    }
}
