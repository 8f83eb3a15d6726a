//! Documenso's webhook payload into a [`Report`].
//!
//! The shape is Documenso's published one: `ZWebhookPayloadSchema`
//! (`{event, payload, createdAt, webhookEndpoint}`) and
//! `ZWebhookDocumentSchema` / `ZWebhookRecipientSchema` in
//! packages/lib/types/webhook-payload.ts, the trigger events of the
//! `WebhookTriggerEvents` enum (packages/prisma/schema.prisma), as
//! apps/docs/content/docs/developers/webhooks/events.mdx describes them.
//! Every delivery carries the whole document with all its recipients, so
//! a `DOCUMENT_SIGNED` names everyone who signed so far: each signer is
//! one fact, and those already logged are found by their event ids.

use serde_json::{json, Map, Value};

use super::read::{array, id, member, obj, opt_string, string};
use super::{Fact, Malformed, Parsed, Party, Report};

/// Parses a delivery.
pub(crate) fn parse(body: &Value) -> Result<Parsed, Malformed> {
    let top = obj(body, "body")?;
    let event = string(top, "event")?;
    let reported_at = string(top, "createdAt")?;
    string(top, "webhookEndpoint")?;
    match event.as_str() {
        "DOCUMENT_SENT"
        | "DOCUMENT_OPENED"
        | "RECIPIENT_EXPIRED"
        | "DOCUMENT_REMINDER_SENT"
        | "TEMPLATE_CREATED"
        | "TEMPLATE_UPDATED"
        | "TEMPLATE_DELETED"
        | "TEMPLATE_USED" => return Ok(Parsed::Ignored { event_type: event, reason: "no_kind" }),
        "DOCUMENT_CREATED"
        | "DOCUMENT_SIGNED"
        | "DOCUMENT_RECIPIENT_COMPLETED"
        | "DOCUMENT_COMPLETED"
        | "DOCUMENT_REJECTED"
        | "DOCUMENT_CANCELLED" => {}
        _ => return Ok(Parsed::Ignored { event_type: event, reason: "unknown_event" }),
    }
    let payload = obj(member(top, "payload")?, "payload")?;
    let recipients = recipients(payload)?;
    let owner = Party { id: format!("user-{}", id(payload, "userId")?), name: None, email: None };
    let facts = match event.as_str() {
        "DOCUMENT_CREATED" => vec![document_fact("registered", owner)],
        "DOCUMENT_COMPLETED" => {
            let mut facts = signatures(&recipients);
            facts.push(document_fact("completed", owner));
            facts
        }
        "DOCUMENT_REJECTED" => rejections(&recipients),
        "DOCUMENT_CANCELLED" => vec![document_fact("revoked", owner)],
        _ => signatures(&recipients),
    };
    let mut document_ids = Map::new();
    document_ids.insert("envelope_id".into(), Value::String(string(payload, "envelopeId")?));
    document_ids.insert("status".into(), Value::String(string(payload, "status")?));
    document_ids.insert("created_at".into(), Value::String(string(payload, "createdAt")?));
    if let Some(at) = opt_string(payload, "completedAt")? {
        document_ids.insert("completed_at".into(), Value::String(at));
    }
    Ok(Parsed::Report(Report {
        event_type: event,
        reported_at,
        document: id(payload, "id")?,
        document_ids,
        facts,
    }))
}

/// A recipient as the facts need it.
struct Recipient {
    id: u64,
    name: String,
    email: String,
    role: String,
    signing_status: String,
    signed_at: Option<String>,
    rejection_reason: Option<String>,
}

fn recipients(payload: &Map<String, Value>) -> Result<Vec<Recipient>, Malformed> {
    array(payload, "recipients")?
        .iter()
        .map(|r| {
            let r = obj(r, "recipients[]")?;
            Ok(Recipient {
                id: id(r, "id")?,
                name: string(r, "name")?,
                email: string(r, "email")?,
                role: string(r, "role")?,
                signing_status: string(r, "signingStatus")?,
                signed_at: opt_string(r, "signedAt")?,
                rejection_reason: opt_string(r, "rejectionReason")?,
            })
        })
        .collect()
}

fn document_fact(kind: &'static str, owner: Party) -> Fact {
    Fact { kind, key: kind.to_string(), actor: owner, claim: Map::new() }
}

fn party(r: &Recipient) -> Party {
    Party {
        id: format!("recipient-{}", r.id),
        name: Some(r.name.clone()).filter(|n| !n.is_empty()),
        email: Some(r.email.clone()).filter(|e| !e.is_empty()),
    }
}

/// Signers who signed (`signed`) and approvers who approved (`approved`);
/// viewers, CCs and assistants leave no evidence kind.
fn signatures(recipients: &[Recipient]) -> Vec<Fact> {
    recipients
        .iter()
        .filter(|r| r.signing_status == "SIGNED")
        .filter_map(|r| {
            let kind = match r.role.as_str() {
                "SIGNER" => "signed",
                "APPROVER" => "approved",
                _ => return None,
            };
            let claim = json!({"recipient_id": r.id, "role": r.role, "signed_at": r.signed_at});
            Some(Fact {
                kind,
                key: format!("{kind}-{}", r.id),
                actor: party(r),
                claim: claim.as_object().cloned().unwrap_or_default(),
            })
        })
        .collect()
}

fn rejections(recipients: &[Recipient]) -> Vec<Fact> {
    recipients
        .iter()
        .filter(|r| r.signing_status == "REJECTED")
        .map(|r| {
            let claim = json!({
                "recipient_id": r.id,
                "role": r.role,
                "rejection_reason": r.rejection_reason,
            });
            Fact {
                kind: "rejected",
                key: format!("rejected-{}", r.id),
                actor: party(r),
                claim: claim.as_object().cloned().unwrap_or_default(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        super::super::fixture("documenso", name)
    }

    fn report(v: &Value) -> Report {
        match parse(v) {
            Ok(Parsed::Report(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_published_flow_maps_to_kinds() {
        let created = report(&fixture("document_created"));
        assert_eq!(created.facts.len(), 1);
        assert_eq!(created.facts[0].kind, "registered");
        let signed = report(&fixture("document_signed_2"));
        let keys: Vec<&str> = signed.facts.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys.len(), 2, "{keys:?}");
        assert!(keys.iter().all(|k| k.starts_with("signed-")));
        let completed = report(&fixture("document_completed"));
        assert_eq!(completed.facts.last().map(|f| f.kind), Some("completed"));
    }

    #[test]
    fn unknown_and_kindless_events_are_ignored_and_bad_shapes_refused() {
        let mut v = fixture("document_created");
        v["event"] = json!("DOCUMENT_OPENED");
        assert!(matches!(parse(&v), Ok(Parsed::Ignored { reason: "no_kind", .. })));
        v["event"] = json!("DOCUMENT_TELEPORTED");
        assert!(matches!(parse(&v), Ok(Parsed::Ignored { reason: "unknown_event", .. })));
        let mut v = fixture("document_created");
        v["payload"]["recipients"] = json!("none");
        assert!(parse(&v).is_err());
        assert!(parse(&json!([1])).is_err());
    }
}
