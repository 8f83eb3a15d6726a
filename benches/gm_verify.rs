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
use verifier::entry::Event;
use verifier::issuer::{check_attestation, CertifiedTrust, ChainCache, IssuerKeys};
use verifier::policy::{PolicyCa, TrustPolicy};
use verifier::tsa::{verify_timestamp_token, verify_timestamp_token_over, Imprinted, TrustedTsa};
use verifier::x509sm2::{verify_sm2_chain, CertifiedSm2Key};
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
    certified_attestation(&mut c, &pki, &cas);

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

/// One attestation by a certified SM2 issuer as ingest checks it
/// (`verifier::issuer`): its chain and signature, and with the chain
/// already verified (ingest's memo of chains).
fn certified_attestation(c: &mut Criterion, pki: &gm_pki::GmPki, cas: &[PolicyCa]) {
    pki.issue("bench-idp", "/C=CN/O=Evidence Ledger Test/CN=idp-gov", "inter", "ee", 365);
    // Its notBefore is the second it was made.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut ev = serde_json::json!({
        "event_id": "ev-1", "document_id": "contract-42", "kind": "identity_verified",
        "document_hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "actor": {"id": "u-1", "display": "王*", "commitment": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"},
        "attestations": [{"issuer": "idp-gov", "claim": {"result": "pass"}, "signature": ""}],
    });
    ev["attestations"][0]["signature"] = serde_json::json!(base64_64_zero());
    pki.certify(&mut ev, 0, "acme", ("idp-gov", "bench-idp"), &["bench-idp", "inter"]);
    let event = Event::from_value(ev, false).unwrap();
    let keys = IssuerKeys::new();
    c.bench_function("certified attestation: chain + SM2 signature", |b| {
        b.iter(|| {
            check_attestation(&event, 0, "acme", &keys, &CertifiedTrust::new(cas, now)).unwrap()
        })
    });
    let memo = Memo::default();
    let trust = CertifiedTrust { cas, at_unix: now, cache: Some(&memo) };
    c.bench_function("certified attestation: chain cached, SM2 signature", |b| {
        b.iter(|| check_attestation(&event, 0, "acme", &keys, &trust).unwrap())
    });
}

fn base64_64_zero() -> String {
    "A".repeat(86) + "=="
}

/// A one-chain memo, as ingest's.
#[derive(Default)]
struct Memo(std::sync::Mutex<Option<CertifiedSm2Key>>);

impl ChainCache for Memo {
    fn get(&self, _: &[Vec<u8>], at: i64) -> Option<CertifiedSm2Key> {
        let held = self.0.lock().unwrap();
        held.as_ref().filter(|c| c.path_valid.0 <= at && at <= c.path_valid.1).cloned()
    }
    fn put(&self, _: &[Vec<u8>], cert: &CertifiedSm2Key) {
        *self.0.lock().unwrap() = Some(cert.clone());
    }
}
