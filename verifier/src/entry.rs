//! The entry model: events, actors, attestations, and leaf bytes.
//! STUB: signatures fixed; bodies to be written.

use std::collections::HashMap;

use ed25519_dalek::VerifyingKey;
use serde_json::Value;

use crate::{Hash, VerifyError};

/// What happened to a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The contract was registered.
    Registered,
    /// A party's real-name identity was checked.
    IdentityVerified,
    /// A party's signing intent was proven (SMS code, face liveness, ...).
    IntentVerified,
    /// A party signed.
    Signed,
    /// A party approved.
    Approved,
    /// A party rejected.
    Rejected,
    /// The contract was revoked.
    Revoked,
    /// All parties signed; the contract is complete.
    Completed,
    /// The contract was archived.
    Archived,
    /// An evidence report was issued (written by the service only).
    ReportIssued,
}

impl EventKind {
    /// The wire name (`identity_verified`, ...).
    pub fn as_str(&self) -> &'static str {
        unimplemented!()
    }
    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<EventKind> {
        let _ = s;
        unimplemented!()
    }
}

/// Who acted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// Pseudonymous id.
    pub id: String,
    /// Masked display name (e.g. 王*).
    pub display: String,
    /// 64 lowercase hex: salted commitment to personal data.
    pub commitment: String,
}

/// A signed claim by an issuer.
#[derive(Clone, Debug, PartialEq)]
pub struct Attestation {
    /// Issuer name in the trusted-issuer registry.
    pub issuer: String,
    /// The claim object, as submitted.
    pub claim: Value,
    /// Ed25519 signature (64 bytes).
    pub signature: [u8; 64],
}

/// One submitted signing event, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Client-chosen idempotency key.
    pub event_id: String,
    /// Contract id.
    pub document_id: String,
    /// What happened.
    pub kind: EventKind,
    /// SHA-256 of the document bytes.
    pub document_hash: Hash,
    /// Who acted.
    pub actor: Actor,
    /// Signed claims.
    pub attestations: Vec<Attestation>,
    /// Optional DER RFC 3161 token.
    pub timestamp_token: Option<Vec<u8>>,
    /// The submitted JSON object, kept to write it unchanged into the leaf.
    pub raw: Value,
}

impl Event {
    /// Validates a submitted event object against the pinned schema.
    /// `allow_service_kinds` admits `report_issued` (service-written events).
    pub fn from_value(value: Value, allow_service_kinds: bool) -> Result<Event, VerifyError> {
        let _ = (value, allow_service_kinds);
        unimplemented!()
    }

    /// The bytes attestation `i` signs: canonical JSON of
    /// {"claim", "document_hash", "event_id", "issuer", "kind"}.
    pub fn attestation_message(&self, i: usize) -> Vec<u8> {
        let _ = i;
        unimplemented!()
    }

    /// SHA-256 of the canonical JSON of `raw`: identifies the content for idempotency.
    pub fn content_hash(&self) -> Hash {
        unimplemented!()
    }
}

/// Trusted issuer keys by name.
pub type IssuerKeys = HashMap<String, VerifyingKey>;

/// Verifies every attestation of every event (batch verification, falling
/// back to one-by-one to name the culprit). The error carries the position
/// of the first bad event.
pub fn verify_attestations(events: &[Event], keys: &IssuerKeys) -> Result<(), (usize, VerifyError)> {
    let _ = (events, keys);
    unimplemented!()
}

/// A decoded leaf: the event, its tenant and its ledger time.
#[derive(Clone, Debug, PartialEq)]
pub struct LeafEntry {
    /// The submitted event.
    pub event: Event,
    /// Tenant, from the submitter's token.
    pub tenant: String,
    /// RFC 3339 UTC with microseconds and `Z`.
    pub ledger_time: String,
}

/// The leaf bytes: canonical JSON of {"event": raw, "ledger_time", "tenant"}.
pub fn leaf_bytes(event: &Event, tenant: &str, ledger_time: &str) -> Vec<u8> {
    let _ = (event, tenant, ledger_time);
    unimplemented!()
}

/// Parses and validates leaf bytes (strict JSON; must be canonical).
pub fn parse_leaf(bytes: &[u8]) -> Result<LeafEntry, VerifyError> {
    let _ = bytes;
    unimplemented!()
}
