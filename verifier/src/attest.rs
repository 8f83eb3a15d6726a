//! The attestation message, for those who sign attestations (identity
//! providers, intent services, signers) and for those who check them.

use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use serde_json::{Map, Value};

use crate::jcs;

/// The bytes an issuer signs for one attestation: the canonical JSON (RFC
/// 8785) of {"claim", "document_hash", "event_id", "issuer", "kind"}, with
/// `document_hash` the 64-hex string exactly as in the event.
pub fn attestation_message(
    claim: &Value,
    document_hash_hex: &str,
    event_id: &str,
    issuer: &str,
    kind: &str,
) -> Vec<u8> {
    let mut m = Map::new();
    m.insert("claim".into(), claim.clone());
    m.insert(
        "document_hash".into(),
        Value::String(document_hash_hex.into()),
    );
    m.insert("event_id".into(), Value::String(event_id.into()));
    m.insert("issuer".into(), Value::String(issuer.into()));
    m.insert("kind".into(), Value::String(kind.into()));
    jcs::to_canonical(&Value::Object(m))
}

/// Signs an attestation message; returns the base64 signature as the event carries it.
pub fn sign_attestation(
    key: &SigningKey,
    claim: &Value,
    document_hash_hex: &str,
    event_id: &str,
    issuer: &str,
    kind: &str,
) -> String {
    let msg = attestation_message(claim, document_hash_hex, event_id, issuer, kind);
    base64::engine::general_purpose::STANDARD.encode(key.sign(&msg).to_bytes())
}
