//! Test support: a ledger in a temp dir with one trusted issuer, and events
//! signed the way integrators sign them.
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

use ed25519_dalek::SigningKey;
use ledger::{Ledger, LedgerOptions};
use serde_json::{json, Value};
use verifier::attest::{sign_attestation_v2, AttestationV2};
use verifier::entry::Event;
use verifier::Hash;

pub const ISSUER: &str = "idp-gov";

pub fn issuer_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

pub fn new_ledger(dir: &std::path::Path) -> Ledger {
    Ledger::init(dir, "test.example/log").unwrap();
    let l = Ledger::open(dir, LedgerOptions::default()).unwrap();
    l.add_issuer(ISSUER, issuer_key().verifying_key().as_bytes()).unwrap();
    l
}

/// The tenant [`event`] and [`event_json`] sign for (attestations v2 bind it).
pub const TENANT: &str = "t";

pub fn event_json(event_id: &str, document_id: &str, kind: &str, key: &SigningKey) -> Value {
    event_json_for(TENANT, event_id, document_id, kind, key)
}

pub fn event_json_for(
    tenant: &str,
    event_id: &str,
    document_id: &str,
    kind: &str,
    key: &SigningKey,
) -> Value {
    let doc_hash = Hash::digest(document_id.as_bytes()).to_hex();
    let claim = json!({"method": "phone_3_factor", "result": "pass"});
    let sig = sign_attestation_v2(
        key,
        &AttestationV2 {
            tenant,
            document_id,
            document_hash_hex: &doc_hash,
            event_id,
            kind,
            actor_id: "u-9",
            issuer: ISSUER,
            claim: &claim,
        },
    );
    json!({
        "event_id": event_id,
        "document_id": document_id,
        "kind": kind,
        "document_hash": doc_hash,
        "actor": {"id": "u-9", "display": "王*", "commitment": Hash::digest(b"salt|name|id").to_hex()},
        "attestations": [{"issuer": ISSUER, "v": 2, "claim": claim, "signature": sig}],
    })
}

pub fn event(event_id: &str, document_id: &str) -> Event {
    event_for(TENANT, event_id, document_id)
}

pub fn event_for(tenant: &str, event_id: &str, document_id: &str) -> Event {
    let v = event_json_for(tenant, event_id, document_id, "signed", &issuer_key());
    Event::from_value(v, false).unwrap()
}
