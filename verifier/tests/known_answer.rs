//! Known-answer vectors, each from a named public source:
//!
//! - RFC 6962 / RFC 9162 Merkle trees: transparency-dev/merkle,
//!   `testonly/constants.go` (leaf inputs, all roots of sizes 0..=8) and
//!   `proof/verify_test.go` (inclusion and consistency proofs over those
//!   leaves, and its corruption probes)
//!   <https://github.com/transparency-dev/merkle>.
//! - Signed notes: the Go sumdb note package documentation,
//!   <https://pkg.go.dev/golang.org/x/mod/sumdb/note> (the PeterNeumann and
//!   EnochRoot examples; EnochRoot's key is generated from an all-zero
//!   seed), also reproduced in the `signed_note` crate docs.
//! - C2SP examples: <https://c2sp.org/signed-note> (the quasimodo note),
//!   <https://c2sp.org/tlog-checkpoint> and <https://c2sp.org/tlog-cosignature>
//!   (the behind-the-sofa checkpoint, its cosignature line and the example
//!   signed message). The spec gives no public keys for these, so they are
//!   format vectors: they must parse and decode to the stated values.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use verifier::checkpoint::{Checkpoint, SignedCheckpoint};
use verifier::cosignature::{cosignature_message, ALG_COSIGNATURE_V1};
use verifier::hash::{leaf_hash, root_from_leaf_hashes};
use verifier::note::{key_id, Note, NoteSigner, NoteVerifier, ALG_ED25519};
use verifier::proof::{verify_consistency, verify_inclusion};
use verifier::Hash;

fn h(s: &str) -> Hash {
    Hash::from_hex(s).expect("test vector hash")
}

// ---------------------------------------------------------------------------
// transparency-dev/merkle testonly/constants.go

const LEAF_INPUTS: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// RootHashes(): index = tree size.
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// NodeHashes()[0]: the leaf hashes.
const LEAF_HASHES: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
];

fn tree_leaf_hashes() -> Vec<Hash> {
    LEAF_INPUTS.iter().map(|l| leaf_hash(&hex::decode(l).expect("hex"))).collect()
}

fn root(size: usize) -> Hash {
    h(ROOTS[size])
}

#[test]
fn rfc6962_leaf_hashes_and_roots() {
    let leaves = tree_leaf_hashes();
    for (got, want) in leaves.iter().zip(LEAF_HASHES) {
        assert_eq!(*got, h(want));
    }
    for size in 0..=8 {
        assert_eq!(root_from_leaf_hashes(&leaves[..size]), root(size), "size {size}");
    }
}

// ---------------------------------------------------------------------------
// transparency-dev/merkle proof/verify_test.go

/// inclusionProofs: (leaf index, tree size, proof). The Go file numbers
/// leaves from 1; these indices are zero-based.
fn inclusion_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (0, 1, vec![]),
        (
            0,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            5,
            8,
            vec![
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (2, 3, vec![h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
        (
            1,
            5,
            vec![
                h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
    ]
}

/// consistencyProofs: (size1, size2, proof).
fn consistency_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            6,
            8,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            5,
            vec![
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (
            6,
            7,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
    ]
}

/// `sha256SomeHash` of verify_test.go.
fn some_hash() -> Hash {
    h("abacaba000000000000000000000000000000000000000000060061e00123456")
}

fn flip(proof: &[Hash], i: usize, mask: u8) -> Vec<Hash> {
    let mut p = proof.to_vec();
    p[i].0[0] ^= mask;
    p
}

#[test]
fn inclusion_vectors_verify_and_corruptions_fail() {
    let leaves = tree_leaf_hashes();
    for (index, size, proof) in inclusion_vectors() {
        let (leaf, r) = (leaves[index as usize], root(size as usize));
        assert_eq!(verify_inclusion(&leaf, index, size, &proof, &r), Ok(()), "{index}/{size}");
        // corruptInclusionProof's probes.
        let mut probes: Vec<(Hash, u64, u64, Vec<Hash>, Hash)> = vec![
            (leaf, index.wrapping_sub(1), size, proof.clone(), r),
            (leaf, index + 1, size, proof.clone(), r),
            (leaf, index ^ 2, size, proof.clone(), r),
            (leaf, index, size * 2, proof.clone(), r),
            (leaf, index, size / 2, proof.clone(), r),
            (leaf_hash(b"WrongLeaf"), index, size, proof.clone(), r),
            (leaf, index, size, proof.clone(), Hash::empty_root()),
            (leaf, index, size, proof.clone(), some_hash()),
            (leaf, index, size, [proof.clone(), vec![r]].concat(), r),
            (leaf, index, size, [vec![r], proof.clone()].concat(), r),
        ];
        for i in 0..proof.len() {
            probes.push((leaf, index, size, flip(&proof, i, 8), r));
        }
        if let Some((_, init)) = proof.split_last() {
            probes.push((leaf, index, size, init.to_vec(), r));
        }
        if proof.len() > 1 {
            let inserted = [vec![some_hash(), proof[0]], proof[1..].to_vec()].concat();
            probes.push((leaf, index, size, inserted, r));
        }
        for (n, (l, i, s, p, rt)) in probes.iter().enumerate() {
            assert!(verify_inclusion(l, *i, *s, p, rt).is_err(), "vector {index}/{size} probe {n}");
        }
    }
}

#[test]
fn consistency_vectors_verify_and_corruptions_fail() {
    for (m, n, proof) in consistency_vectors() {
        let (r1, r2) = (root(m as usize), root(n as usize));
        assert_eq!(verify_consistency(m, n, &r1, &r2, &proof), Ok(()), "{m}/{n}");
        if proof.is_empty() {
            continue;
        }
        // corruptConsistencyProof's probes.
        let mut probes: Vec<(u64, u64, Hash, Hash, Vec<Hash>)> = vec![
            (m - 1, n, r1, r2, proof.clone()),
            (m + 1, n, r1, r2, proof.clone()),
            (m ^ 2, n, r1, r2, proof.clone()),
            (m, n * 2, r1, r2, proof.clone()),
            (m, n / 2, r1, r2, proof.clone()),
            (m, n, some_hash(), r2, proof.clone()),
            (m, n, r1, some_hash(), proof.clone()),
            (m, n, r2, r1, proof.clone()),
            (m, n, r1, r2, vec![]),
            (m, n, r1, r2, [proof.clone(), vec![r1]].concat()),
            (m, n, r1, r2, [proof.clone(), vec![r2]].concat()),
            (m, n, r1, r2, [vec![r1], proof.clone()].concat()),
            (m, n, r1, r2, [vec![r2], proof.clone()].concat()),
            (m, n, r1, r2, [vec![proof[0]], proof.clone()].concat()),
            (m, n, r1, r2, proof[..proof.len() - 1].to_vec()),
        ];
        for i in 0..proof.len() {
            probes.push((m, n, r1, r2, flip(&proof, i, 16)));
        }
        for (k, (a, b, ra, rb, p)) in probes.iter().enumerate() {
            assert!(verify_consistency(*a, *b, ra, rb, p).is_err(), "vector {m}/{n} probe {k}");
        }
    }
}

/// verify_test.go TestVerifyConsistency's size-0 / equal-size table, with
/// the stricter rule that a size-0 tree's root is SHA-256("").
#[test]
fn consistency_edge_cases() {
    let (r1, r2, empty) = (some_hash(), leaf_hash(b"x"), Hash::empty_root());
    assert!(verify_consistency(0, 0, &r1, &r2, &[]).is_err());
    assert!(verify_consistency(1, 1, &r1, &r2, &[]).is_err());
    assert_eq!(verify_consistency(0, 0, &empty, &empty, &[]), Ok(()));
    assert_eq!(verify_consistency(0, 1, &empty, &r2, &[]), Ok(()));
    assert_eq!(verify_consistency(1, 1, &r2, &r2, &[]), Ok(()));
    assert!(verify_consistency(1, 0, &r1, &r2, &[]).is_err());
    assert!(verify_consistency(2, 1, &r1, &r2, &[]).is_err());
    assert!(verify_consistency(1, 2, &r1, &r2, &[]).is_err());
    assert!(verify_consistency(0, 0, &empty, &empty, &[empty]).is_err());
    assert!(verify_consistency(0, 1, &empty, &empty, &[empty]).is_err());
    assert!(verify_consistency(1, 1, &empty, &empty, &[empty]).is_err());
}

// ---------------------------------------------------------------------------
// golang.org/x/mod/sumdb/note documentation

const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                          then you don't know what your problem is.\n";
const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn peter_signer() -> NoteSigner {
    let material = BASE64.decode(PETER_SKEY.splitn(5, '+').nth(4).expect("skey")).expect("base64");
    assert_eq!(material[0], ALG_ED25519);
    let seed: [u8; 32] = material[1..].try_into().expect("32-byte seed");
    NoteSigner::new("PeterNeumann", SigningKey::from_bytes(&seed)).expect("name")
}

#[test]
fn go_note_example_verifies() {
    let msg = format!("{PETER_TEXT}\n{PETER_SIG}");
    let v = NoteVerifier::from_vkey(PETER_VKEY).expect("vkey");
    assert_eq!(v.key_id, [0xc7, 0x4f, 0x20, 0xa3]);
    assert_eq!(v.to_vkey(), PETER_VKEY);
    let note = Note::parse(msg.as_bytes()).expect("parse");
    assert_eq!(note.text, PETER_TEXT);
    assert_eq!(v.verify_note(&note), Ok(()));
    assert_eq!(note.to_bytes(), msg.as_bytes());
}

#[test]
fn go_note_example_signs_identically() {
    let signer = peter_signer();
    assert_eq!(signer.vkey(), PETER_VKEY);
    assert_eq!(signer.sign(PETER_TEXT).to_line(), PETER_SIG);
    // sumdb/note's GenerateKey with an all-zero reader yields seed [0; 32].
    let enoch = NoteSigner::new("EnochRoot", SigningKey::from_bytes(&[0; 32])).expect("name");
    assert_eq!(enoch.sign(PETER_TEXT).to_line(), ENOCH_SIG);
}

#[test]
fn go_note_two_signatures_and_tampering() {
    let msg = format!("{PETER_TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    let note = Note::parse(msg.as_bytes()).expect("parse");
    assert_eq!(note.signatures.len(), 2);
    let peter = NoteVerifier::from_vkey(PETER_VKEY).expect("vkey");
    assert_eq!(peter.verify_note(&note), Ok(()));
    let tampered = msg.replacen("answer", "ANSWER", 1);
    let note = Note::parse(tampered.as_bytes()).expect("parse");
    assert!(peter.verify_note(&note).is_err());
    // Right key, wrong name: the signature is not by this key.
    let renamed = format!("{PETER_TEXT}\n{}", PETER_SIG.replace("PeterNeumann", "CarmenSandiego"));
    let note = Note::parse(renamed.as_bytes()).expect("parse");
    assert!(peter.verify_note(&note).is_err());
}

// ---------------------------------------------------------------------------
// C2SP signed-note, tlog-checkpoint, tlog-cosignature examples

const QUASIMODO: &str = "Ognuno sta solo sul cuor della terra\n\
trafitto da un raggio di sole:\n\
\n\
ed è subito sera.\n\
\n\
— quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";

const SOFA_BODY: &str =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
const SOFA_LOG_SIG: &str = "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
const SOFA_COSIG: &str = "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";

#[test]
fn c2sp_signed_note_example_parses() {
    let note = Note::parse(QUASIMODO.as_bytes()).expect("parse");
    assert!(note.text.ends_with("\n\ned è subito sera.\n"));
    assert_eq!(note.signatures.len(), 1);
    assert_eq!(note.signatures[0].name, "quasimodo.example/salvatore");
    assert_eq!(note.signatures[0].signature.len(), 64);
    assert_eq!(note.to_bytes(), QUASIMODO.as_bytes());
}

#[test]
fn c2sp_checkpoint_example_parses() {
    let msg = format!("{SOFA_BODY}\n{SOFA_LOG_SIG}{SOFA_COSIG}");
    let signed = SignedCheckpoint::parse(msg.as_bytes()).expect("parse");
    let want = Checkpoint {
        origin: "example.com/behind-the-sofa".to_owned(),
        size: 20852163,
        root: Hash::from_base64("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=").expect("root"),
        extensions: vec![],
    };
    assert_eq!(signed.checkpoint, want);
    assert_eq!(signed.checkpoint.body(), SOFA_BODY);
    assert_eq!(signed.to_bytes(), msg.as_bytes());
    // An unrelated key with the origin's name does not verify it.
    let other = NoteSigner::new("example.com/behind-the-sofa", SigningKey::from_bytes(&[9; 32]))
        .expect("name")
        .verifier();
    assert!(SignedCheckpoint::verify(msg.as_bytes(), &other).is_err());
}

#[test]
fn c2sp_cosignature_example_decodes() {
    let msg = format!("{SOFA_BODY}\n{SOFA_LOG_SIG}{SOFA_COSIG}");
    let note = Note::parse(msg.as_bytes()).expect("parse");
    let cosig = &note.signatures[1];
    assert_eq!(cosig.name, "witness.example.com/w1");
    assert_eq!(cosig.signature.len(), 8 + 64);
    let ts = u64::from_be_bytes(cosig.signature[..8].try_into().expect("8 bytes"));
    // The spec's example signed message carries "time 1679315147".
    assert_eq!(ts, 1679315147);
    let want = "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n\
                CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    assert_eq!(cosignature_message(SOFA_BODY, ts), want.as_bytes());
}

#[test]
fn key_id_follows_the_spec_formula() {
    let pk = *SigningKey::from_bytes(&[5; 32]).verifying_key().as_bytes();
    for alg in [ALG_ED25519, ALG_COSIGNATURE_V1] {
        let mut pre = b"example.com/w\n".to_vec();
        pre.push(alg);
        pre.extend_from_slice(&pk);
        let d = Hash::digest(&pre);
        assert_eq!(key_id("example.com/w", alg, &pk), d.0[..4]);
    }
}
