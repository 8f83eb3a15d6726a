//! What the national suite's checks cost on ingest and in the verifiers
//! (issue 26): one SM2 signature (`verifier::sm2sig`), an SM2 certificate
//! chain of two links to a `ca` root (`verifier::x509sm2`), and a GM/T 0033
//! timestamp token (SM2 TSA under an SM2 intermediate), beside Ed25519 and
//! the RSA and ECDSA tokens of verifier/tests/data/tsa. The SM2 PKI is made
//! by OpenSSL 3 at start (verifier/tests/gm_pki).
//!
//! Run: `cargo bench --bench gm_verify` (docs/timestamps.md and
//! docs/trust-policy.md quote the numbers).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../verifier/tests/gm_pki/mod.rs"]
mod gm_pki;

use std::path::Path;

use criterion::{black_box, Criterion};
use ed25519_dalek::{Signer as _, SigningKey};
use verifier::policy::TrustPolicy;
use verifier::tsa::{verify_timestamp_token, verify_timestamp_token_over, Imprinted, TrustedTsa};
use verifier::x509sm2::verify_sm2_chain;
use verifier::Hash;

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let pki = gm_pki::GmPki::new();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let message =
        b"{\"context\":\"evidence-ledger/attestation/v2\",\"document_id\":\"contract-42\"}";

    let cas = TrustPolicy::parse(&format!("quorum 0\nca court\n{}", pki.pem("root"))).unwrap().cas;
    let chain = [pki.der("leaf"), pki.der("inter")];
    let certified = verify_sm2_chain(&chain, &cas, now).unwrap();
    let sm2_sig = pki.sign("leaf", message);
    c.bench_function("sm2 verify (sm2sig, DER)", |b| {
        b.iter(|| assert!(certified.key.verify(black_box(message), &sm2_sig)))
    });
    let ed = SigningKey::from_bytes(&[9; 32]);
    let ed_sig = ed.sign(message);
    let ed_pub = ed.verifying_key();
    c.bench_function("ed25519 verify", |b| {
        b.iter(|| ed_pub.verify_strict(black_box(message), &ed_sig).unwrap())
    });
    c.bench_function("sm2 chain, 2 links to a ca root (x509sm2)", |b| {
        b.iter(|| verify_sm2_chain(black_box(&chain), &cas, now).unwrap())
    });

    let document = b"contract 42";
    let tst = pki.tst_info(document, "sm3");
    let token = pki.sm2_token(&tst, "tsa", &["tsa", "inter"], gm_pki::SM2_WITH_SM3);
    let roots = vec![TrustedTsa::from_pem("sm2", &pki.pem("root")).unwrap()];
    c.bench_function("GM/T 0033 token (SM2, SM3 imprint)", |b| {
        b.iter(|| {
            let over = Imprinted::Bytes(document);
            verify_timestamp_token_over(black_box(&token), over, &roots, now, 300).unwrap()
        })
    });

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("verifier/tests/data/tsa");
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let doc = Hash::digest(&read("document.txt"));
    let root = String::from_utf8(read("root-ca.pem")).unwrap();
    let roots = vec![TrustedTsa::from_pem("rsa-root", &root).unwrap()];
    for (name, file) in [
        ("RFC 3161 token (RSA-2048 TSA under the RSA root)", "token-rsa.der"),
        ("RFC 3161 token (P-256 TSA under a P-384 intermediate)", "token-ec.der"),
    ] {
        let token = read(file);
        c.bench_function(name, |b| {
            b.iter(|| verify_timestamp_token(black_box(&token), &doc, &roots, now, 300).unwrap())
        });
    }
    c.final_summary();
}
