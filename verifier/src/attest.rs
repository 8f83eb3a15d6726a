//! The attestation message, for those who sign attestations (identity
//! providers, intent services, signers) and for those who check them.

use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use serde_json::Value;

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
    // Member names are ASCII and written in canonical (sorted) order.
    let mut out = Vec::with_capacity(160);
    out.extend_from_slice(b"{\"claim\":");
    jcs::write_canonical(claim, &mut out);
    out.extend_from_slice(b",\"document_hash\":");
    jcs::write_string(document_hash_hex, &mut out);
    out.extend_from_slice(b",\"event_id\":");
    jcs::write_string(event_id, &mut out);
    out.extend_from_slice(b",\"issuer\":");
    jcs::write_string(issuer, &mut out);
    out.extend_from_slice(b",\"kind\":");
    jcs::write_string(kind, &mut out);
    out.push(b'}');
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn message_is_the_canonical_json_of_the_five_members() {
        let claim = json!({"result": "pass", "method": "sms_code"});
        let msg = attestation_message(&claim, "ab", "ev-1", "idp", "signed");
        let expected = json!({"claim": claim, "document_hash": "ab", "event_id": "ev-1", "issuer": "idp", "kind": "signed"});
        assert_eq!(msg, jcs::to_canonical(&expected));
        assert_eq!(
            String::from_utf8(msg).expect("utf-8"),
            r#"{"claim":{"method":"sms_code","result":"pass"},"document_hash":"ab","event_id":"ev-1","issuer":"idp","kind":"signed"}"#
        );
    }
}
