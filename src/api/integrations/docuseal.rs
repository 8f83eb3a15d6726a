//! DocuSeal's webhook payload into a [`Report`].
//!
//! The shape is DocuSeal's published one: `{event_type, timestamp, data}`
//! (lib/send_webhook_request.rb); `data` is a submitter for `form.*`
//! events (docs/webhooks/form-webhook.md, lib/submitters/serialize_for_webhook.rb)
//! and a submission for `submission.*` events
//! (docs/webhooks/submission-webhook.md, lib/submissions/serialize_for_api.rb).
//! A submission's completion lists its submitters, so a `form.completed`
//! that never arrived is still logged, before the completion.

use serde_json::{json, Map, Value};

use super::read::{array, id, member, obj, opt_string, string};
use super::{Fact, Malformed, Parsed, Party, Report};

/// Parses a delivery.
pub(crate) fn parse(body: &Value) -> Result<Parsed, Malformed> {
    let top = obj(body, "body")?;
    let event = string(top, "event_type")?;
    let reported_at = string(top, "timestamp")?;
    match event.as_str() {
        "form.viewed" | "form.started" | "submission.expired" | "template.created"
        | "template.updated" | "template.archived" => {
            return Ok(Parsed::Ignored { event_type: event, reason: "no_kind" })
        }
        "submission.created"
        | "submission.completed"
        | "submission.archived"
        | "form.completed"
        | "form.declined" => {}
        _ => return Ok(Parsed::Ignored { event_type: event, reason: "unknown_event" }),
    }
    let data = obj(member(top, "data")?, "data")?;
    let (document, facts) = match event.as_str() {
        "submission.created" => (id(data, "id")?, vec![submission_fact("registered", data)?]),
        "submission.completed" => {
            let mut facts = Vec::new();
            for s in array(data, "submitters")? {
                let s = obj(s, "submitters[]")?;
                if string(s, "status")? == "completed" {
                    facts.push(form_fact("signed", s)?);
                }
            }
            facts.push(submission_fact("completed", data)?);
            (id(data, "id")?, facts)
        }
        "submission.archived" => (id(data, "id")?, vec![submission_fact("archived", data)?]),
        "form.completed" => (form_submission(data)?, vec![form_fact("signed", data)?]),
        _ => (form_submission(data)?, vec![form_fact("rejected", data)?]),
    };
    let mut document_ids = Map::new();
    if let Some(slug) = opt_string(data, "slug")? {
        document_ids.insert("slug".into(), Value::String(slug));
    }
    Ok(Parsed::Report(Report { event_type: event, reported_at, document, document_ids, facts }))
}

/// The submission a `form.*` event's submitter belongs to.
fn form_submission(data: &Map<String, Value>) -> Result<u64, Malformed> {
    let submission = obj(member(data, "submission")?, "submission")?;
    let sid = id(submission, "id")?;
    // `submission_id` is in the serialized submitter too: both must agree.
    if data.get("submission_id").is_some() && id(data, "submission_id")? != sid {
        return Err(Malformed("submission_id differs from submission.id".into()));
    }
    Ok(sid)
}

/// A fact about the submission as a whole, acted by its creator.
fn submission_fact(kind: &'static str, data: &Map<String, Value>) -> Result<Fact, Malformed> {
    let creator = match data.get("created_by_user") {
        Some(Value::Object(u)) => format!("user-{}", id(u, "id")?),
        None | Some(Value::Null) => "account".to_string(),
        Some(_) => return Err(Malformed("created_by_user: not an object".into())),
    };
    let mut claim = Map::new();
    for name in ["created_at", "completed_at", "archived_at"] {
        if let Some(at) = opt_string(data, name)? {
            claim.insert(name.into(), Value::String(at));
        }
    }
    Ok(Fact {
        kind,
        key: kind.to_string(),
        actor: Party { id: creator, name: None, email: None },
        claim,
    })
}

/// A fact of one submitter (`signed` on completion, `rejected` on decline).
fn form_fact(kind: &'static str, s: &Map<String, Value>) -> Result<Fact, Malformed> {
    let sid = id(s, "id")?;
    let status = string(s, "status")?;
    let claim = json!({
        "submitter_id": sid,
        "status": status,
        "role": opt_string(s, "role")?,
        "completed_at": opt_string(s, "completed_at")?,
        "declined_at": opt_string(s, "declined_at")?,
        "decline_reason": opt_string(s, "decline_reason")?,
    });
    let mut claim = claim.as_object().cloned().unwrap_or_default();
    claim.retain(|_, v| !v.is_null());
    Ok(Fact {
        kind,
        key: format!("{kind}-{sid}"),
        actor: Party {
            id: format!("submitter-{sid}"),
            name: opt_string(s, "name")?.filter(|n| !n.is_empty()),
            email: opt_string(s, "email")?.filter(|e| !e.is_empty()),
        },
        claim,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        super::super::fixture("docuseal", name)
    }

    fn report(v: &Value) -> Report {
        match parse(v) {
            Ok(Parsed::Report(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_published_flow_maps_to_kinds() {
        let created = report(&fixture("submission_created"));
        assert_eq!(created.facts[0].kind, "registered");
        let form = report(&fixture("form_completed_1"));
        assert_eq!(form.document, created.document);
        assert_eq!(form.facts[0].kind, "signed");
        let done = report(&fixture("submission_completed"));
        let kinds: Vec<&str> = done.facts.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, ["signed", "signed", "completed"]);
    }

    #[test]
    fn kindless_and_unknown_events_are_ignored() {
        let mut v = fixture("form_completed_1");
        v["event_type"] = json!("form.viewed");
        assert!(matches!(parse(&v), Ok(Parsed::Ignored { reason: "no_kind", .. })));
        v["event_type"] = json!("form.teleported");
        assert!(matches!(parse(&v), Ok(Parsed::Ignored { reason: "unknown_event", .. })));
        let mut v = fixture("form_completed_1");
        v["data"]["submission"] = json!(7);
        assert!(parse(&v).is_err());
    }
}
