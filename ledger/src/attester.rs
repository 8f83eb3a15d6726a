//! The log as an issuer: the events the ledger writes about itself
//! (registry changes, erasures, report issuance), attested (v2) by the
//! log's key under the reserved issuer name [`LOG_ISSUER`].
//!
//! Owns the log key's use for attestations (checkpoints are signed by the
//! sequencer with the same key, as signed notes; the two messages never
//! read as each other). Calls only the error type and helpers.

use ed25519_dalek::Signature;
use rand_core::{OsRng, RngCore};
use verifier::entry::{Event, EventKind};
use verifier::Hash;

use crate::error::{LedgerError, Result};
use crate::logkey::LogKey;
use crate::util::b64;

/// The issuer name under which the log's own key attests what the log
/// states as an issuer (the `report_issued` events). Reserved: no other key
/// may take it, and it cannot be revoked.
pub const LOG_ISSUER: &str = "evidence-ledger";

/// The actor id of registry changes made by the operator's CLI on a
/// stopped server.
pub const OPERATOR_ACTOR: &str = "operator";

/// The log key, as the issuer of the ledger's own events.
pub(crate) struct Attester {
    key: LogKey,
}

impl Attester {
    pub(crate) fn new(key: LogKey) -> Attester {
        Attester { key }
    }

    /// The log key (its public half is the issuer [`LOG_ISSUER`]).
    pub(crate) fn key(&self) -> &LogKey {
        &self.key
    }

    /// Signs `msg` with the log key: canonical JSON objects only, so that
    /// it never reads as a checkpoint body.
    pub(crate) fn sign(&self, msg: &[u8]) -> Result<Signature> {
        self.key.sign(msg)
    }

    /// A service-written event attested (v2) by the log key, with a
    /// random event id `<kind>-<24 hex>`.
    pub(crate) fn event(
        &self,
        tenant: &str,
        kind: EventKind,
        document_id: &str,
        document_hash_hex: &str,
        claim: serde_json::Value,
        by: &str,
    ) -> Result<Event> {
        let mut rnd = [0u8; 12];
        OsRng.fill_bytes(&mut rnd);
        let prefix = match kind {
            EventKind::RegistryChanged => "registry",
            EventKind::Erased => "erased",
            EventKind::ReportIssued => "report",
            _ => "event",
        };
        let event_id = format!("{prefix}-{}", hex::encode(rnd));
        let display = match kind {
            EventKind::RegistryChanged => "registry",
            EventKind::Erased => "admin",
            _ => "evidence-ledger",
        };
        let value = ServiceEvent {
            tenant,
            kind,
            event_id: &event_id,
            document_id,
            document_hash_hex,
            by,
            display,
        }
        .json(&self.key, claim)?;
        Event::from_value(value, true)
            .map_err(|source| LedgerError::Rejected { position: 0, source })
    }
}

/// The public fields of an event the log attests.
pub(crate) struct ServiceEvent<'a> {
    pub tenant: &'a str,
    pub kind: EventKind,
    pub event_id: &'a str,
    pub document_id: &'a str,
    pub document_hash_hex: &'a str,
    /// The acting token's id or `operator`; the actor's commitment is
    /// SHA-256 of "evidence-ledger actor " || by.
    pub by: &'a str,
    /// The actor's display name.
    pub display: &'a str,
}

impl ServiceEvent<'_> {
    /// The event's JSON, attested (v2) by `log_key` as [`LOG_ISSUER`].
    pub(crate) fn json(
        &self,
        log_key: &LogKey,
        claim: serde_json::Value,
    ) -> Result<serde_json::Value> {
        let message = verifier::attest::attestation_message_v2(&verifier::attest::AttestationV2 {
            tenant: self.tenant,
            document_id: self.document_id,
            document_hash_hex: self.document_hash_hex,
            event_id: self.event_id,
            kind: self.kind.as_str(),
            actor_id: self.by,
            issuer: LOG_ISSUER,
            claim: &claim,
        });
        let signature = b64(&log_key.sign_attestation(&message)?);
        let commitment = Hash::digest(format!("evidence-ledger actor {}", self.by).as_bytes());
        Ok(serde_json::json!({
            "event_id": self.event_id,
            "document_id": self.document_id,
            "kind": self.kind.as_str(),
            "document_hash": self.document_hash_hex,
            "actor": {"id": self.by, "display": self.display, "commitment": commitment.to_hex()},
            "attestations": [{"issuer": LOG_ISSUER, "v": 2, "claim": claim, "signature": signature}],
        }))
    }
}
