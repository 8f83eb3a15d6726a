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
    root_from_leaf_hashes_with::<Sha256Tree>(leaves)
}

/// [`root_from_leaf_hashes`] with the tree hash `H` (SM3 for `sm2-sm3` logs).
pub fn root_from_leaf_hashes_with<H: TreeHash>(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => H::empty_root(),
        1 => leaves[0],
        n => {
            let k = largest_power_of_two_below(n as u64) as usize;
            H::node_hash(
                &root_from_leaf_hashes_with::<H>(&leaves[..k]),
                &root_from_leaf_hashes_with::<H>(&leaves[k..]),
            )
        }
    }
}

/// RFC 9162 §2.1.3.1 PATH(m, D[n]): the inclusion proof of leaf `m` in
/// the tree of `leaves`, from the definition (O(n); for known-answer
/// vectors and tests). Empty if `m` is out of range.
pub fn inclusion_path_with<H: TreeHash>(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 || m >= n {
        return Vec::new();
    }
    let k = largest_power_of_two_below(n as u64) as usize;
    if m < k {
        let mut p = inclusion_path_with::<H>(m, &leaves[..k]);
        p.push(root_from_leaf_hashes_with::<H>(&leaves[k..]));
        p
    } else {
        let mut p = inclusion_path_with::<H>(m - k, &leaves[k..]);
        p.push(root_from_leaf_hashes_with::<H>(&leaves[..k]));
        p
    }
}

/// RFC 9162 §2.1.4.1 PROOF(m, D[n]): the consistency proof from the first
/// `m` leaves to all of `leaves`, from the definition (O(n); for vectors
/// and tests). Empty if `m` is 0 or not below the tree size.
pub fn consistency_path_with<H: TreeHash>(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    if m == 0 || m >= leaves.len() {
        return Vec::new();
    }
    subproof::<H>(m, leaves, true)
}

/// RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b).
fn subproof<H: TreeHash>(m: usize, leaves: &[Hash], b: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if b { Vec::new() } else { vec![root_from_leaf_hashes_with::<H>(leaves)] };
    }
    let k = largest_power_of_two_below(n as u64) as usize;
    if m <= k {
        let mut p = subproof::<H>(m, &leaves[..k], b);
        p.push(root_from_leaf_hashes_with::<H>(&leaves[k..]));
        p
    } else {
        let mut p = subproof::<H>(m - k, &leaves[k..], false);
        p.push(root_from_leaf_hashes_with::<H>(&leaves[..k]));
        p
    }
}

/// The hash function of a log's Merkle tree (RFC 9162 §2.1.1 with the
/// hash as a parameter): SHA-256 for `ed25519-sha256` logs, SM3 (GB/T
/// 32905) for `sm2-sm3` logs. Both give 32 bytes, and the tree keeps the
/// RFC's 0x00/0x01 prefixes. Implementations are zero-sized types, so
/// generic tree and proof code compiles to the same machine code as code
/// written for one hash.
pub trait TreeHash: Copy + Default + Send + Sync + 'static {
    /// The hash of arbitrary bytes (no prefix).
    fn digest(data: &[u8]) -> Hash;
    /// RFC 9162 §2.1.1: HASH(0x00 || leaf bytes).
    fn leaf_hash(leaf: &[u8]) -> Hash;
    /// RFC 9162 §2.1.1: HASH(0x01 || left || right).
    fn node_hash(left: &Hash, right: &Hash) -> Hash;
    /// The Merkle Tree Hash of the empty tree: HASH of "".
    fn empty_root() -> Hash {
        Self::digest(b"")
    }
}

/// SHA-256, the tree hash of `ed25519-sha256` logs (RFC 9162 as written).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sha256Tree;

/// SM3 (GB/T 32905), the tree hash of `sm2-sm3` logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sm3Tree;

fn prefixed<D: Digest>(prefix: u8, parts: &[&[u8]]) -> Hash {
    let mut h = D::new();
    h.update([prefix]);
    for p in parts {
        h.update(p);
    }
    let mut out = [0u8; HASH_SIZE];
    out.copy_from_slice(&h.finalize()[..HASH_SIZE]);
    Hash(out)
}

impl TreeHash for Sha256Tree {
    fn digest(data: &[u8]) -> Hash {
        Hash(Sha256::digest(data).into())
    }
    fn leaf_hash(leaf: &[u8]) -> Hash {
        leaf_hash(leaf)
    }
    fn node_hash(left: &Hash, right: &Hash) -> Hash {
        node_hash(left, right)
    }
}

impl TreeHash for Sm3Tree {
    fn digest(data: &[u8]) -> Hash {
        Hash(sm3::Sm3::digest(data).into())
    }
    fn leaf_hash(leaf: &[u8]) -> Hash {
        prefixed::<sm3::Sm3>(LEAF_PREFIX, &[leaf])
    }
    fn node_hash(left: &Hash, right: &Hash) -> Hash {
        prefixed::<sm3::Sm3>(NODE_PREFIX, &[&left.0, &right.0])
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
