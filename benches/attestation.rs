//! What attestation v2.1 adds to an attestation check (issue 25 item 7):
//! the identity digest (SHA-256 or SM3 over ~110 bytes), the v2.1 message
//! (canonical JSON of eleven members) and the whole check of one Ed25519
//! attestation as ingest runs it (`verifier::issuer::check_attestation_in`),
//! v2 beside v2.1.
//!
//! Run: `cargo bench --bench attestation` (docs/evidence-v2.md quotes it).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{black_box, Criterion};
use ed25519_dalek::SigningKey;
use evidence_ledger::flows::{contract_flow_for, contract_flow_on, Issuer, Services, Signer};
use serde_json::{json, Value};
use verifier::anykey::AnyVerifier;
use verifier::attest::{identity_digest, Binding};
use verifier::entry::Event;
use verifier::issuer::{check_attestation_in, CertifiedTrust, IssuerKeys};
use verifier::suite::Suite;

const ORIGIN: &str = "bench.example/log";

fn identity_event(flow: &[Value]) -> Event {
    let ev = flow.iter().find(|e| e["kind"] == "identity_verified").unwrap();
    Event::from_value(ev.clone(), false).unwrap()
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let services = Services {
        idp: Issuer::from_seed("idp-gov", [2; 32]),
        intent: Issuer::from_seed("intent-svc", [3; 32]),
    };
    let signer = Signer::with_issuer("u-1", "王*", Issuer::from_seed("signer:u-1", [4; 32]))
        .with_identity(
            json!({"name": "王小明", "id_type": "resident_id", "id_number": "11010119900307777X"}),
        );
    let doc = b"contract";
    let v2 = identity_event(&contract_flow_for("acme", &services, &[&signer], "c-1", doc));
    let v21 = identity_event(&contract_flow_on(
        ORIGIN,
        Suite::Ed25519Sha256,
        "acme",
        &services,
        &[&signer],
        "c-1",
        doc,
    ));
    let key = SigningKey::from_bytes(&[2; 32]).verifying_key();
    let keys =
        IssuerKeys::from([("idp-gov".to_owned(), AnyVerifier::ed25519_issuer("idp-gov", key))]);
    for suite in [Suite::Ed25519Sha256, Suite::Sm2Sm3] {
        c.bench_function(&format!("identity digest ({suite})"), |b| {
            b.iter(|| {
                identity_digest(suite, black_box("王小明"), "resident_id", "11010119900307777X")
            })
        });
    }
    let binding = |e: &Event| Binding {
        tenant: "acme",
        log: Some(ORIGIN),
        person: e.person(Suite::Ed25519Sha256),
    };
    for (name, event) in [("v2", &v2), ("v2.1", &v21)] {
        c.bench_function(&format!("attestation message {name} (with the person)"), |b| {
            b.iter(|| event.attestation_message_for(0, &binding(black_box(event))).unwrap())
        });
        c.bench_function(&format!("check one Ed25519 attestation {name}"), |b| {
            b.iter(|| {
                let bound = binding(black_box(event));
                check_attestation_in(event, 0, &bound, &keys, &CertifiedTrust::NONE).unwrap()
            })
        });
    }
    c.final_summary();
}
