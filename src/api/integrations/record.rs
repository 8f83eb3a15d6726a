//! A report's facts into evidence events of the tenant, each attested (v2)
//! by the integration's key with what the platform reported: its event
//! type and time, its ids of the document and the party, and the files
//! fetched from its API with their sizes and SHA-256.
//!
//! Ids: the document is `<platform>-<platform document id>` and an event
//! `<platform>-<platform document id>-<fact key>` (`documenso-10-signed-52`):
//! derived from the platform's own ids, so that a redelivery, or a later
//! report naming the same fact, keys the same event and adds nothing.
//! The actor is `<platform>-<party id>`, with a masked display name and a
//! commitment to the name and e-mail address the platform holds, salted
//! with a secret derived from the integration's key seed.

use ed25519_dalek::SigningKey;
use serde_json::{json, Map, Value};
use verifier::attest::{sign_attestation_v2, AttestationV2};
use verifier::entry::Event;
use verifier::Hash;

use super::fetch::Fetched;
use super::{Fact, Party, Platform, Report};
use crate::error::ApiError;

/// Domain of the actor salt derived from the key seed.
const ACTOR_SALT_DOMAIN: &[u8] = b"evidence-ledger/integration-actor-salt";
/// Domain of the actor commitment.
const ACTOR_DOMAIN: &[u8] = b"evidence-ledger/integration-actor";

/// The ledger's document id of a platform document.
pub(crate) fn document_id(platform: Platform, document: u64) -> String {
    format!("{}-{document}", platform.as_str())
}

/// The event id of a fact.
pub(crate) fn event_id(platform: Platform, document: u64, fact: &Fact) -> String {
    format!("{}-{document}-{}", platform.as_str(), fact.key)
}

/// What signs the events.
pub(crate) struct Signer<'a> {
    pub tenant: &'a str,
    pub platform: Platform,
    pub issuer: &'a str,
    pub key: &'a SigningKey,
}

/// The events of `facts` (a subset of the report's, in order), over the
/// contract's document hash ([`super::config::contract_hash`]); the files
/// fetched now (this revision: the signed PDF once the platform signed
/// it) are listed with their SHA-256 in each claim. Validated as any
/// submitted event is.
pub(crate) fn events(
    signer: &Signer<'_>,
    report: &Report,
    facts: &[&Fact],
    contract_hash: &[u8; 32],
    files: &[Fetched],
) -> Result<Vec<Event>, ApiError> {
    let document_hash = Hash(*contract_hash).to_hex();
    let documents: Vec<Value> = files
        .iter()
        .map(|f| json!({"name": f.name, "bytes": f.bytes, "sha256": Hash(f.sha256).to_hex()}))
        .collect();
    let fetched_at = ledger::now_rfc3339();
    facts
        .iter()
        .map(|fact| {
            let mut claim = Map::new();
            claim.insert("platform".into(), json!(signer.platform.as_str()));
            claim.insert("reported_event".into(), json!(report.event_type));
            claim.insert("reported_at".into(), json!(report.reported_at));
            claim.insert("platform_document_id".into(), json!(report.document));
            for (k, v) in report.document_ids.iter().chain(fact.claim.iter()) {
                claim.insert(k.clone(), v.clone());
            }
            claim.insert("documents".into(), Value::Array(documents.clone()));
            claim.insert("fetched_at".into(), json!(fetched_at));
            event(signer, report.document, fact, &document_hash, Value::Object(claim))
        })
        .collect()
}

fn event(
    signer: &Signer<'_>,
    document: u64,
    fact: &Fact,
    document_hash: &str,
    claim: Value,
) -> Result<Event, ApiError> {
    let document_id = document_id(signer.platform, document);
    let event_id = event_id(signer.platform, document, fact);
    let actor = actor(signer, &fact.actor);
    let actor_id = actor["id"].as_str().unwrap_or_default().to_string();
    let signature = sign_attestation_v2(
        signer.key,
        &AttestationV2 {
            tenant: signer.tenant,
            document_id: &document_id,
            document_hash_hex: document_hash,
            event_id: &event_id,
            kind: fact.kind,
            actor_id: &actor_id,
            issuer: signer.issuer,
            claim: &claim,
        },
    );
    let value = json!({
        "event_id": event_id,
        "document_id": document_id,
        "kind": fact.kind,
        "document_hash": document_hash,
        "actor": actor,
        "attestations": [{"issuer": signer.issuer, "v": 2, "claim": claim, "signature": signature}],
    });
    Event::from_value(value, false).map_err(|e| {
        // The platform's ids made an event our schema refuses (an id too
        // long, say): the platform's data, so a 400 that says which.
        ApiError::bad_request("malformed_webhook", format!("event {event_id:?}: {e}"))
    })
}

/// `{"id", "display", "commitment"}` of a party.
fn actor(signer: &Signer<'_>, party: &Party) -> Value {
    let id = format!("{}-{}", signer.platform.as_str(), party.id);
    let display = match &party.name {
        Some(name) => mask(name),
        None => "platform".to_string(),
    };
    let salt = Hash::digest(&[ACTOR_SALT_DOMAIN, &[0], signer.key.as_bytes()].concat());
    let person = verifier::jcs::to_canonical(&json!({"email": party.email, "name": party.name}));
    let commitment =
        Hash::digest(&[ACTOR_DOMAIN, &[0], &salt.0, &[0], id.as_bytes(), &[0], &person].concat());
    json!({"id": id, "display": display, "commitment": commitment.to_hex()})
}

/// The first character and a star (`王*`, `J*`), as the platform masks names.
fn mask(name: &str) -> String {
    match name.trim().chars().find(|c| !c.is_control()) {
        Some(c) => format!("{c}*"),
        None => "platform".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_masked_and_ids_derived_from_the_platforms() {
        assert_eq!(mask("王小明"), "王*");
        assert_eq!(mask("  John Doe"), "J*");
        assert_eq!(mask(""), "platform");
        let fact = Fact {
            kind: "signed",
            key: "signed-52".into(),
            actor: Party { id: "recipient-52".into(), name: None, email: None },
            claim: Map::new(),
        };
        assert_eq!(event_id(Platform::Documenso, 10, &fact), "documenso-10-signed-52");
        assert_eq!(document_id(Platform::Docuseal, 7), "docuseal-7");
    }
}
