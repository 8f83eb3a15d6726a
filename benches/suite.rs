//! ed25519-sha256 beside sm2-sm3 (issue 26): what a verifier spends per
//! leaf hash, per inclusion proof at 100k entries (17 node hashes), per
//! checkpoint signature check and per cosignature check, and what the log
//! spends per checkpoint signature. `cargo bench --bench suite`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{black_box, Criterion};
use verifier::cosignature::CosignatureSigner;
use verifier::hash::{
    inclusion_path_with, root_from_leaf_hashes_with, Sha256Tree, Sm3Tree, TreeHash,
};
use verifier::note::{Note, NoteSigner};
use verifier::sm2note::{Sm2KeyType, Sm2Signer};
use verifier::suite::Suite;
use verifier::Hash;

const LEAVES: usize = 100_000;

fn tree<H: TreeHash>() -> (Vec<Hash>, Hash, Vec<Hash>) {
    let leaves: Vec<Hash> = (0..LEAVES).map(|i| H::leaf_hash(&(i as u64).to_be_bytes())).collect();
    let root = root_from_leaf_hashes_with::<H>(&leaves);
    let proof = inclusion_path_with::<H>(LEAVES / 3, &leaves);
    (leaves, root, proof)
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let leaf = vec![0x5a_u8; 700]; // about a v3 leaf
    for suite in [Suite::Ed25519Sha256, Suite::Sm2Sm3] {
        c.bench_function(&format!("{suite}: leaf hash of 700 B"), |b| {
            b.iter(|| suite.leaf_hash(black_box(&leaf)))
        });
    }
    let (sl, sr, sp) = tree::<Sha256Tree>();
    let (ml, mr, mp) = tree::<Sm3Tree>();
    let i = (LEAVES / 3) as u64;
    c.bench_function("ed25519-sha256: inclusion proof at 100k", |b| {
        b.iter(|| {
            Suite::Ed25519Sha256.verify_inclusion(&sl[i as usize], i, LEAVES as u64, &sp, &sr)
        })
    });
    c.bench_function("sm2-sm3: inclusion proof at 100k", |b| {
        b.iter(|| Suite::Sm2Sm3.verify_inclusion(&ml[i as usize], i, LEAVES as u64, &mp, &mr))
    });

    let text = format!("log.example/x\n{LEAVES}\n{}\n", sr.to_base64());
    let ed =
        NoteSigner::new("log.example/x", ed25519_dalek::SigningKey::from_bytes(&[7; 32])).unwrap();
    let sm = Sm2Signer::from_secret("log.example/x", Sm2KeyType::Note, &[7; 32]).unwrap();
    let ed_note = Note { text: text.clone(), signatures: vec![ed.sign(&text)] };
    let sm_note = Note { text: text.clone(), signatures: vec![sm.sign(&text).unwrap()] };
    let (edv, smv) = (ed.verifier(), sm.verifier());
    c.bench_function("ed25519-sha256: sign a checkpoint", |b| b.iter(|| ed.sign(black_box(&text))));
    c.bench_function("sm2-sm3: sign a checkpoint", |b| {
        b.iter(|| sm.sign(black_box(&text)).unwrap())
    });
    c.bench_function("ed25519-sha256: verify a checkpoint signature", |b| {
        b.iter(|| edv.verify_note(black_box(&ed_note)).unwrap())
    });
    c.bench_function("sm2-sm3: verify a checkpoint signature", |b| {
        b.iter(|| smv.verify_note(black_box(&sm_note)).unwrap())
    });
    let edw =
        CosignatureSigner::new("w.example/x", ed25519_dalek::SigningKey::from_bytes(&[8; 32]))
            .unwrap();
    let smw = Sm2Signer::from_secret("w.example/x", Sm2KeyType::Cosignature, &[8; 32]).unwrap();
    let (eds, sms) = (edw.cosign(&text, 1_700_000_000), smw.cosign(&text, 1_700_000_000).unwrap());
    let (edwv, smwv) = (edw.verifier(), smw.verifier());
    c.bench_function("ed25519-sha256: verify a cosignature", |b| {
        b.iter(|| verifier::cosignature::verify_cosignature(&edwv, &text, black_box(&eds)).unwrap())
    });
    c.bench_function("sm2-sm3: verify a cosignature", |b| {
        b.iter(|| smwv.verify_cosignature(&text, black_box(&sms)).unwrap())
    });
    c.final_summary();
}
