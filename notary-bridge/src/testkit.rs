//! An in-memory log for tests and demos: leaves in a `Vec`, proofs computed
//! from the definition. O(n) memory and time; never for production.

use ed25519_dalek::SigningKey;
use verifier::checkpoint::{Checkpoint, SignedCheckpoint};
use verifier::hash::{largest_power_of_two_below, leaf_hash, root_from_leaf_hashes};
use verifier::note::NoteSigner;
use verifier::{Hash, VerifyError};

/// RFC 9162 §2.1.4.1 PROOF(m, D[n]) for the tree of `leaves` (n = its
/// length) and an old size `m` with 0 < m <= n. Empty if m is 0 or n.
pub fn consistency_proof(leaves: &[Hash], m: usize) -> Vec<Hash> {
    if m == 0 || m >= leaves.len() {
        return Vec::new();
    }
    subproof(m, leaves, true)
}

/// RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b).
fn subproof(m: usize, leaves: &[Hash], complete: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if complete { Vec::new() } else { vec![root_from_leaf_hashes(leaves)] };
    }
    let k = largest_power_of_two_below(n as u64) as usize;
    if m <= k {
        let mut proof = subproof(m, &leaves[..k], complete);
        proof.push(root_from_leaf_hashes(&leaves[k..]));
        proof
    } else {
        let mut proof = subproof(m - k, &leaves[k..], false);
        proof.push(root_from_leaf_hashes(&leaves[..k]));
        proof
    }
}

/// A log held in memory that signs checkpoints under its origin.
pub struct MemoryLog {
    signer: NoteSigner,
    leaves: Vec<Hash>,
}

impl MemoryLog {
    /// A new empty log; `origin` is also the key name.
    pub fn new(origin: &str, key: SigningKey) -> Result<MemoryLog, VerifyError> {
        Ok(MemoryLog { signer: NoteSigner::new(origin, key)?, leaves: Vec::new() })
    }

    /// The log's verifier key.
    pub fn vkey(&self) -> String {
        self.signer.vkey()
    }

    /// Appends one entry (its leaf hash is SHA-256(0x00 || bytes)).
    pub fn append(&mut self, entry: &[u8]) {
        self.leaves.push(leaf_hash(entry));
    }

    /// Number of entries.
    pub fn size(&self) -> u64 {
        self.leaves.len() as u64
    }

    /// A signed checkpoint of the first `size` entries (clamped to the log).
    pub fn checkpoint_at(&self, size: u64) -> SignedCheckpoint {
        let n = (size as usize).min(self.leaves.len());
        let checkpoint = Checkpoint {
            origin: self.signer.name().to_string(),
            size: n as u64,
            root: root_from_leaf_hashes(&self.leaves[..n]),
            extensions: Vec::new(),
        };
        SignedCheckpoint::sign(checkpoint, &self.signer)
    }

    /// A signed checkpoint of the whole log.
    pub fn checkpoint(&self) -> SignedCheckpoint {
        self.checkpoint_at(self.size())
    }

    /// Consistency proof from `old` to the current size.
    pub fn consistency_proof(&self, old: u64) -> Vec<Hash> {
        consistency_proof(&self.leaves, old as usize)
    }
}
