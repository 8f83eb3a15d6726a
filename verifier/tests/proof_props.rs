//! Property tests of RFC 9162 proof verification against independent
//! references:
//!
//! - an in-test generator written from RFC 9162 §2.1.3.1 (`PATH`) and
//!   §2.1.4.1 (`PROOF`/`SUBPROOF`) and §2.1.1 (`MTH`), sharing no code with
//!   the crate;
//! - `tlog_tiles::tlog::{prove_record, prove_tree, tree_hash}` (Cloudflare's
//!   port of Go's sumdb/tlog) over an in-memory `HashReader`;
//! - `rs_merkle` roots, with a hasher that prefixes 0x00/0x01 (RFC 6962).

use proptest::collection::vec;
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use tlog_tiles::tlog;
use verifier::hash::root_from_leaf_hashes;
use verifier::proof::{verify_consistency, verify_inclusion, MAX_PROOF_HASHES};
use verifier::Hash;

// ---------------------------------------------------------------------------
// Reference: RFC 9162 §2.1 from its recursive definitions.

fn ref_leaf(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    Hash(h.finalize().into())
}

fn ref_node(l: &Hash, r: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(l.0);
    h.update(r.0);
    Hash(h.finalize().into())
}

/// The largest power of two smaller than n (n > 1).
fn ref_k(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// §2.1.1 MTH over leaf hashes.
fn ref_mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => Hash(Sha256::digest(b"").into()),
        1 => d[0],
        n => ref_node(&ref_mth(&d[..ref_k(n)]), &ref_mth(&d[ref_k(n)..])),
    }
}

/// §2.1.3.1 PATH(m, D[n]).
fn ref_path(m: usize, d: &[Hash]) -> Vec<Hash> {
    if d.len() <= 1 {
        return vec![];
    }
    let k = ref_k(d.len());
    let (mut p, sibling) = if m < k {
        (ref_path(m, &d[..k]), ref_mth(&d[k..]))
    } else {
        (ref_path(m - k, &d[k..]), ref_mth(&d[..k]))
    };
    p.push(sibling);
    p
}

/// The sides of PATH(m, D[n]) (true: sibling on the left), which depend only
/// on (m, n): two (index, size) pairs with equal sides accept the same proofs.
fn ref_sides(m: u64, n: u64) -> Vec<bool> {
    if n <= 1 {
        return vec![];
    }
    let k = ref_k(n as usize) as u64;
    let (mut s, left) =
        if m < k { (ref_sides(m, k), false) } else { (ref_sides(m - k, n - k), true) };
    s.push(left);
    s
}

/// §2.1.4.1 PROOF(m, D[n]) = SUBPROOF(m, D[n], true).
fn ref_proof(m: usize, d: &[Hash]) -> Vec<Hash> {
    ref_subproof(m, d, true)
}

fn ref_subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { vec![] } else { vec![ref_mth(d)] };
    }
    let k = ref_k(n);
    let (mut p, last) = if m <= k {
        (ref_subproof(m, &d[..k], b), ref_mth(&d[k..]))
    } else {
        (ref_subproof(m - k, &d[k..], false), ref_mth(&d[..k]))
    };
    p.push(last);
    p
}

/// Length of PROOF(m, D[n]), which depends only on (m, n).
fn ref_proof_len(m: u64, n: u64, b: bool) -> usize {
    if m == n {
        return usize::from(!b);
    }
    let k = ref_k(n as usize) as u64;
    1 + if m <= k { ref_proof_len(m, k, b) } else { ref_proof_len(m - k, n - k, false) }
}

// ---------------------------------------------------------------------------
// Oracles: tlog_tiles and rs_merkle.

struct MemHashes(Vec<tlog::Hash>);

impl tlog::HashReader for MemHashes {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog::Hash>, tlog::Error> {
        indexes
            .iter()
            .map(|&i| self.0.get(i as usize).copied().ok_or(tlog::Error::IndexesNotInTree))
            .collect()
    }
}

fn tlog_store(leaves: &[Hash]) -> MemHashes {
    let mut mem = MemHashes(Vec::new());
    for (i, l) in leaves.iter().enumerate() {
        let new =
            tlog::stored_hashes_for_record_hash(i as u64, tlog::Hash(l.0), &mem).expect("store");
        mem.0.extend(new);
    }
    mem
}

fn from_tlog(p: Vec<tlog::Hash>) -> Vec<Hash> {
    p.into_iter().map(|h| Hash(h.0)).collect()
}

#[derive(Clone)]
struct Rfc6962Hasher;

impl rs_merkle::Hasher for Rfc6962Hasher {
    type Hash = [u8; 32];
    fn hash(data: &[u8]) -> [u8; 32] {
        Sha256::digest(data).into()
    }
    fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
        match right {
            Some(r) => ref_node(&Hash(*left), &Hash(*r)).0,
            // rs_merkle promotes a lone right-most node, as RFC 6962 does.
            None => *left,
        }
    }
}

fn rs_merkle_root(leaves: &[Hash]) -> Hash {
    let raw: Vec<[u8; 32]> = leaves.iter().map(|h| h.0).collect();
    let tree = rs_merkle::MerkleTree::<Rfc6962Hasher>::from_leaves(&raw);
    Hash(tree.root().expect("non-empty tree"))
}

/// Distinct leaves: the seed and the index, hashed as leaf data.
fn tree(seed: u64, n: usize) -> Vec<Hash> {
    (0..n as u64).map(|i| ref_leaf(&[seed.to_be_bytes(), i.to_be_bytes()].concat())).collect()
}

// ---------------------------------------------------------------------------
// Properties.

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Roots agree across the crate, the reference, tlog_tiles and rs_merkle;
    /// every inclusion and consistency proof of the tree equals tlog_tiles'
    /// and verifies.
    #[test]
    fn every_proof_of_a_random_tree_verifies(n in 1usize..300, seed in any::<u64>()) {
        let d = tree(seed, n);
        let mem = tlog_store(&d);
        let root = ref_mth(&d);
        prop_assert_eq!(root_from_leaf_hashes(&d), root);
        prop_assert_eq!(rs_merkle_root(&d), root);
        prop_assert_eq!(Hash(tlog::tree_hash(n as u64, &mem).expect("tree hash").0), root);
        for i in 0..n {
            let path = ref_path(i, &d);
            prop_assert_eq!(&from_tlog(tlog::prove_record(n as u64, i as u64, &mem).expect("prove")), &path);
            prop_assert_eq!(verify_inclusion(&d[i], i as u64, n as u64, &path, &root), Ok(()));
        }
        for m in 1..=n {
            let proof = ref_proof(m, &d);
            prop_assert_eq!(&from_tlog(tlog::prove_tree(n as u64, m as u64, &mem).expect("prove")), &proof);
            prop_assert_eq!(verify_consistency(m as u64, n as u64, &ref_mth(&d[..m]), &root, &proof), Ok(()));
        }
    }
}

/// Probes of wrong (index, size) pairs around (i, n), as in transparency-dev's
/// corruptInclusionProof plus off-by-one sizes.
fn index_size_probes(i: u64, n: u64) -> Vec<(u64, u64)> {
    let mut v = vec![(i.wrapping_sub(1), n), (i + 1, n), (i ^ 2, n), (i, n * 2), (i, n / 2)];
    v.extend([(i, n + 1), (i, n.wrapping_sub(1)), (i + 1, n + 1), (0, n), (n - 1, n)]);
    v.retain(|&p| p != (i, n));
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A mutated hash, a truncated, extended or spliced proof, a wrong leaf or
    /// root fail; a wrong (index, size) fails unless it has the same path
    /// shape, in which case RFC 9162 accepts it (the size is bound by the
    /// signed checkpoint, not by the proof).
    #[test]
    fn corrupted_inclusion_proofs_fail(
        n in 1usize..300, seed in any::<u64>(), i_pick in any::<prop::sample::Index>(),
        h_pick in any::<prop::sample::Index>(), bit in 0u8..8,
    ) {
        let d = tree(seed, n);
        let i = i_pick.index(n);
        let (leaf, root, path) = (d[i], ref_mth(&d), ref_path(i, &d));
        let (iu, nu) = (i as u64, n as u64);
        if !path.is_empty() {
            let j = h_pick.index(path.len());
            let mut bad = path.clone();
            bad[j].0[j % 32] ^= 1 << bit;
            prop_assert!(verify_inclusion(&leaf, iu, nu, &bad, &root).is_err());
            prop_assert!(verify_inclusion(&leaf, iu, nu, &path[..path.len() - 1], &root).is_err());
            let mut spliced = path.clone();
            spliced.insert(j, root);
            prop_assert!(verify_inclusion(&leaf, iu, nu, &spliced, &root).is_err());
        }
        for extra in [root, leaf, Hash::default()] {
            let longer = [path.clone(), vec![extra]].concat();
            prop_assert!(verify_inclusion(&leaf, iu, nu, &longer, &root).is_err());
        }
        prop_assert!(verify_inclusion(&ref_leaf(b"wrong"), iu, nu, &path, &root).is_err());
        prop_assert!(verify_inclusion(&leaf, iu, nu, &path, &ref_leaf(b"wrong")).is_err());
        for (i2, n2) in index_size_probes(iu, nu) {
            let ok = verify_inclusion(&leaf, i2, n2, &path, &root).is_ok();
            let same_shape = i2 < n2 && ref_sides(i2, n2) == ref_sides(iu, nu);
            prop_assert_eq!(ok, same_shape, "probe {}/{} of {}/{}", i2, n2, iu, nu);
        }
    }

    /// As above for consistency. A wrong (m, n) whose reference proof has a
    /// different length must fail; one with the same length may verify.
    #[test]
    fn corrupted_consistency_proofs_fail(
        n in 2usize..300, seed in any::<u64>(), m_pick in any::<prop::sample::Index>(),
        h_pick in any::<prop::sample::Index>(), bit in 0u8..8,
    ) {
        let d = tree(seed, n);
        let m = 1 + m_pick.index(n - 1);
        let (r1, r2, proof) = (ref_mth(&d[..m]), ref_mth(&d), ref_proof(m, &d));
        let (mu, nu) = (m as u64, n as u64);
        let j = h_pick.index(proof.len());
        let mut bad = proof.clone();
        bad[j].0[j % 32] ^= 1 << bit;
        prop_assert!(verify_consistency(mu, nu, &r1, &r2, &bad).is_err());
        prop_assert!(verify_consistency(mu, nu, &r1, &r2, &proof[..proof.len() - 1]).is_err());
        prop_assert!(verify_consistency(mu, nu, &r1, &r2, &[]).is_err());
        let mut spliced = proof.clone();
        spliced.insert(j, r1);
        prop_assert!(verify_consistency(mu, nu, &r1, &r2, &spliced).is_err());
        for extra in [r1, r2, proof[0]] {
            let longer = [proof.clone(), vec![extra]].concat();
            prop_assert!(verify_consistency(mu, nu, &r1, &r2, &longer).is_err());
        }
        prop_assert!(verify_consistency(mu, nu, &r2, &r1, &proof).is_err());
        prop_assert!(verify_consistency(mu, nu, &ref_leaf(b"x"), &r2, &proof).is_err());
        prop_assert!(verify_consistency(mu, nu, &r1, &ref_leaf(b"x"), &proof).is_err());
        for (m2, n2) in index_size_probes(mu, nu) {
            let plausible = 0 < m2 && m2 < n2 && ref_proof_len(m2, n2, true) == proof.len();
            if !plausible {
                prop_assert!(verify_consistency(m2, n2, &r1, &r2, &proof).is_err(), "probe {}/{}", m2, n2);
            }
        }
    }
}

fn any_size() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..20,
        any::<u64>(),
        (0u32..64).prop_map(|b| 1u64 << b),
        (1u32..64).prop_map(|b| (1u64 << b) - 1),
        Just(u64::MAX),
        Just(u64::MAX - 1),
    ]
}

fn any_hash() -> impl Strategy<Value = Hash> {
    any::<[u8; 32]>().prop_map(Hash)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Fuzz-like: arbitrary sizes, indices and proofs never panic (overflow
    /// checks are on in release) and overlong proofs never verify.
    #[test]
    fn verify_never_panics(
        a in any_size(), b in any_size(), proof in vec(any_hash(), 0..(MAX_PROOF_HASHES + 8)),
        x in any_hash(), y in any_hash(),
    ) {
        let inc = verify_inclusion(&x, a, b, &proof, &y);
        let con = verify_consistency(a, b, &x, &y, &proof);
        if proof.len() > MAX_PROOF_HASHES {
            prop_assert!(inc.is_err() && con.is_err());
        }
    }
}

/// RFC 9162 proofs do not bind the tree size by themselves: PATH(0, D[5])
/// also verifies as index 0 of a 6-leaf tree with the 5-leaf root, and
/// PROOF(2, D[3]) as a 2-to-4 proof. Callers must take size and root from
/// the same signed checkpoint.
#[test]
fn sizes_are_bound_by_the_checkpoint_not_the_proof() {
    let d = tree(1, 5);
    let root5 = ref_mth(&d);
    assert_eq!(verify_inclusion(&d[0], 0, 6, &ref_path(0, &d), &root5), Ok(()));
    let (r2, r3) = (ref_mth(&d[..2]), ref_mth(&d[..3]));
    assert_eq!(verify_consistency(2, 4, &r2, &r3, &ref_proof(2, &d[..3])), Ok(()));
}
