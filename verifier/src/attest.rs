//! The attestation message, for those who sign attestations (identity
//! providers, intent services, signers) and for those who check them.

use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use serde_json::Value;

use crate::jcs;
use crate::suite::Suite;

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

/// The context string of an attestation v2.1 message (`"v": "2.1"`).
pub const ATTESTATION_CONTEXT_V2_1: &str = "evidence-ledger/attestation/v2.1";

/// The wire value of `v` for an attestation v2.1: the string `"2.1"`
/// (never the number, which the JSON parser refuses as a float; a v2
/// client that knows only `2` refuses the string cleanly).
pub const ATTESTATION_V2_1: &str = "2.1";

/// The domain prefix of the identity digest (docs/evidence-v2.md
/// "Attestation v2.1"), newline included.
pub const IDENTITY_DIGEST_DOMAIN: &str = "evidence-ledger/identity/v1\n";

/// The bytes the identity digest hashes: [`IDENTITY_DIGEST_DOMAIN`] then
/// the canonical JSON (RFC 8785) of {"id_number", "id_type", "name"}
/// exactly as the event's `identity` gives them (no phone, no salt): what
/// an identity provider checked, so that it can sign the digest before
/// the ledger ever salts the identity.
pub fn identity_digest_input(name: &str, id_type: &str, id_number: &str) -> Vec<u8> {
    let mut out = IDENTITY_DIGEST_DOMAIN.as_bytes().to_vec();
    // Member names are ASCII and written in canonical (sorted) order.
    out.extend_from_slice(b"{\"id_number\":");
    jcs::write_string(id_number, &mut out);
    out.extend_from_slice(b",\"id_type\":");
    jcs::write_string(id_type, &mut out);
    out.extend_from_slice(b",\"name\":");
    jcs::write_string(name, &mut out);
    out.push(b'}');
    out
}

/// The identity digest of a person on a log of `suite`: lowercase hex of
/// SHA-256 (`ed25519-sha256`) or SM3 (`sm2-sm3`) over
/// [`identity_digest_input`]. Guessable from an ID number, so never
/// stored in clear: verifiers recompute it from the identity opening.
pub fn identity_digest(suite: Suite, name: &str, id_type: &str, id_number: &str) -> String {
    suite.digest(&identity_digest_input(name, id_type, id_number)).to_hex()
}

/// What an attestation v2.1 binds: the v2 members, the log and the person.
#[derive(Clone, Copy, Debug)]
pub struct AttestationV21<'a> {
    /// The v2 members (tenant, contract, document, event, kind, actor,
    /// issuer, claim).
    pub v2: AttestationV2<'a>,
    /// The log's origin (its checkpoints' first line).
    pub log: &'a str,
    /// The person's identity digest ([`identity_digest`]), or `None` for
    /// an event that carries no identity (the message then holds JSON
    /// `null`: it binds no person).
    pub identity: Option<&'a str>,
}

/// The bytes an issuer signs for an attestation v2.1 (`"v": "2.1"`): the
/// canonical JSON (RFC 8785) of the v2 members with `context` =
/// [`ATTESTATION_CONTEXT_V2_1`], plus `"identity"` (hex digest or `null`)
/// and `"log"` (the log's origin). A copy fails under any other person or
/// log, as well as under anything a v2 attestation binds.
pub fn attestation_message_v2_1(a: &AttestationV21<'_>) -> Vec<u8> {
    let v = &a.v2;
    let identity = a.identity.map_or(Value::Null, |d| Value::String(d.to_owned()));
    jcs::to_canonical(&serde_json::json!({
        "actor_id": v.actor_id, "claim": v.claim, "context": ATTESTATION_CONTEXT_V2_1,
        "document_hash": v.document_hash_hex, "document_id": v.document_id,
        "event_id": v.event_id, "identity": identity, "issuer": v.issuer, "kind": v.kind,
        "log": a.log, "tenant": v.tenant,
    }))
}

/// Signs an attestation v2.1 message with Ed25519; returns the base64
/// signature. The attestation object then carries `"v": "2.1"` beside it.
pub fn sign_attestation_v2_1(key: &SigningKey, a: &AttestationV21<'_>) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(key.sign(&attestation_message_v2_1(a)).to_bytes())
}

/// The person an attestation v2.1 of an event is checked against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Person {
    /// The event carries no identity (its record commits to none): the
    /// message's `identity` is `null`, binding no person.
    NoIdentity,
    /// The identity digest ([`identity_digest`]) of the event's identity,
    /// as submitted (ingest) or as its opening gives it (verifiers).
    Digest(String),
    /// The record commits to an identity whose opening is not at hand
    /// (not disclosed, or erased): a v2.1 signature cannot be checked.
    Withheld,
}

/// What a verifier says of a v2.1 attestation whose person it cannot
/// recompute ([`Person::Withheld`]).
pub const PERSON_WITHHELD: &str = "a v2.1 attestation binds the person's identity, whose opening \
     is not included (not disclosed, or erased): its signature cannot be checked";

/// Where an event was logged, as an attestation's message binds it.
#[derive(Clone, Debug)]
pub struct Binding<'a> {
    /// The tenant the event is logged for.
    pub tenant: &'a str,
    /// The log's origin, if the checker knows it (a v2.1 attestation
    /// fails without it).
    pub log: Option<&'a str>,
    /// The person, for v2.1.
    pub person: Person,
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

    /// The known-answer vector of docs/evidence-v2.md "Attestation v2.1"
    /// (also checked there with `openssl dgst -sha256` / `-sm3`).
    #[test]
    fn identity_digest_known_answer() {
        let input = identity_digest_input("张三", "resident_id", "110101199003070011");
        assert_eq!(
            String::from_utf8(input).expect("UTF-8"),
            "evidence-ledger/identity/v1\n{\"id_number\":\"110101199003070011\",\"id_type\":\"resident_id\",\"name\":\"张三\"}"
        );
        assert_eq!(
            identity_digest(Suite::Ed25519Sha256, "张三", "resident_id", "110101199003070011"),
            IDENTITY_SHA256_KAT
        );
        assert_eq!(
            identity_digest(Suite::Sm2Sm3, "张三", "resident_id", "110101199003070011"),
            IDENTITY_SM3_KAT
        );
    }

    const IDENTITY_SHA256_KAT: &str =
        "adb254ea77b93c33e39f7e0c6d5c5f35a8d689ddc672a3842f69df5ba4b03019";
    const IDENTITY_SM3_KAT: &str =
        "ecbe7f64618817114d0cf973aa5ff02d82d05d271dcfc47253ab25ccb7c06cfa";

    #[test]
    fn v2_1_message_adds_the_person_and_the_log() {
        let claim = json!({"result": "pass", "method": "face"});
        let v2 = AttestationV2 {
            tenant: "t-1",
            document_id: "c-42",
            document_hash_hex: "ab",
            event_id: "ev-1",
            kind: "identity_verified",
            actor_id: "u-9",
            issuer: "idp",
            claim: &claim,
        };
        let a = AttestationV21 { v2, log: "ledger.example/log", identity: Some("cd") };
        let expected = json!({"actor_id": "u-9", "claim": claim, "context": ATTESTATION_CONTEXT_V2_1,
            "document_hash": "ab", "document_id": "c-42", "event_id": "ev-1", "identity": "cd",
            "issuer": "idp", "kind": "identity_verified", "log": "ledger.example/log", "tenant": "t-1"});
        assert_eq!(attestation_message_v2_1(&a), jcs::to_canonical(&expected));
        let none = AttestationV21 { identity: None, ..a };
        let msg = String::from_utf8(attestation_message_v2_1(&none)).expect("UTF-8");
        assert!(msg.contains(",\"identity\":null,"), "{msg}");
        assert_ne!(attestation_message_v2_1(&a), attestation_message_v2(&v2));
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
