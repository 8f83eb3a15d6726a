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

/// The context string of an attestation v2 message: it names the format,
/// so a signature made for one purpose is never valid for another.
pub const ATTESTATION_CONTEXT_V2: &str = "evidence-ledger/attestation/v2";

/// What an attestation v2 binds: the claim and everything it is about.
#[derive(Clone, Copy, Debug)]
pub struct AttestationV2<'a> {
    /// The tenant (customer) the event is logged for.
    pub tenant: &'a str,
    /// The contract id.
    pub document_id: &'a str,
    /// SHA-256 of the document, 64 lowercase hex, exactly as in the event.
    pub document_hash_hex: &'a str,
    /// The event id.
    pub event_id: &'a str,
    /// The event kind's wire name.
    pub kind: &'a str,
    /// The acting party's pseudonymous id (`actor.id`).
    pub actor_id: &'a str,
    /// The issuer's registered name.
    pub issuer: &'a str,
    /// The claim object.
    pub claim: &'a Value,
}

/// The bytes an issuer signs for an attestation v2 (`"v": 2`): the
/// canonical JSON (RFC 8785) of {"actor_id", "claim", "context",
/// "document_hash", "document_id", "event_id", "issuer", "kind",
/// "tenant"}, with `context` = [`ATTESTATION_CONTEXT_V2`]. A copy of the
/// attestation fails under any other tenant, contract, document, event,
/// kind, actor or issuer.
pub fn attestation_message_v2(a: &AttestationV2<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    // Member names are ASCII and written in canonical (sorted) order.
    out.extend_from_slice(b"{\"actor_id\":");
    jcs::write_string(a.actor_id, &mut out);
    out.extend_from_slice(b",\"claim\":");
    jcs::write_canonical(a.claim, &mut out);
    out.extend_from_slice(b",\"context\":");
    jcs::write_string(ATTESTATION_CONTEXT_V2, &mut out);
    out.extend_from_slice(b",\"document_hash\":");
    jcs::write_string(a.document_hash_hex, &mut out);
    out.extend_from_slice(b",\"document_id\":");
    jcs::write_string(a.document_id, &mut out);
    out.extend_from_slice(b",\"event_id\":");
    jcs::write_string(a.event_id, &mut out);
    out.extend_from_slice(b",\"issuer\":");
    jcs::write_string(a.issuer, &mut out);
    out.extend_from_slice(b",\"kind\":");
    jcs::write_string(a.kind, &mut out);
    out.extend_from_slice(b",\"tenant\":");
    jcs::write_string(a.tenant, &mut out);
    out.push(b'}');
    out
}

/// Signs an attestation v2 message; returns the base64 signature. The
/// attestation object then carries `"v": 2` beside it.
pub fn sign_attestation_v2(key: &SigningKey, a: &AttestationV2<'_>) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(key.sign(&attestation_message_v2(a)).to_bytes())
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
    fn v2_message_is_the_canonical_json_of_the_nine_members() {
        let claim = json!({"result": "pass", "method": "sms_code"});
        let a = AttestationV2 {
            tenant: "t-1",
            document_id: "c-42",
            document_hash_hex: "ab",
            event_id: "ev-1",
            kind: "signed",
            actor_id: "u-9",
            issuer: "idp",
            claim: &claim,
        };
        let expected = json!({"actor_id": "u-9", "claim": claim, "context": ATTESTATION_CONTEXT_V2,
            "document_hash": "ab", "document_id": "c-42", "event_id": "ev-1", "issuer": "idp",
            "kind": "signed", "tenant": "t-1"});
        assert_eq!(attestation_message_v2(&a), jcs::to_canonical(&expected));
    }

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
