//! Redaction of a v3 record after a subject erasure (docs/evidence-v2.md,
//! "Erasure"; docs/bundle-format.md §7.3.1): the values of
//! [`REDACTABLE`] names leave the record's event and their disclosure
//! digests stay in its `redacted` member, so the record still opens its
//! leaf while no longer holding the person's actor and attestations.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Map, Value};

use super::{disclosure_digest_in, disclosure_in, SdHash, RECORD_FORMAT_V3, REDACTABLE, REDACTED};
use crate::{Hash, VerifyError};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The digests a redacted record holds in place of values (`redacted`:
/// `{name: b64 digest}`), empty for a record that holds every value. Each
/// name must be one of [`REDACTABLE`], given as standard base64 of 32
/// bytes, and its value must be gone from the event.
pub fn redacted_digests(record: &Value) -> Result<BTreeMap<String, Hash>, VerifyError> {
    let bad = |r: String| VerifyError::invalid("record.redacted", r);
    let Some(v) = record.get(REDACTED) else { return Ok(BTreeMap::new()) };
    let map = v
        .as_object()
        .filter(|m| !m.is_empty())
        .ok_or_else(|| bad("must be a non-empty JSON object of names and digests".into()))?;
    let mut out = BTreeMap::new();
    for (name, d) in map {
        let Some(member) = REDACTABLE.contains(&name.as_str()).then(|| &name["event.".len()..])
        else {
            return Err(bad(format!("{name} is not a name a subject erasure redacts")));
        };
        if record.get("event").and_then(|e| e.get(member)).is_some() {
            return Err(bad(format!("{name} is both redacted and present")));
        }
        let h = d
            .as_str()
            .filter(|s| s.len() == 44)
            .and_then(|s| Hash::from_base64(s).ok())
            .ok_or_else(|| bad(format!("{name} must be standard base64 of 32 bytes")))?;
        out.insert(name.clone(), h);
    }
    Ok(out)
}

/// `record` (a v3 record, with or without its chain) with the values of
/// `names` (of [`REDACTABLE`]) taken out of its event and their digests
/// put in its `redacted` member: it still opens the same leaf. Names
/// redacted already, or that the event lacks, stay as they are. For a
/// SHA-256 (`sha256-jcs-sd/v3`) record; [`redact_in`] for either hash.
pub fn redact(record: &Value, names: &[&str]) -> Result<Value, VerifyError> {
    redact_in(SdHash::Sha256, record, names)
}

/// [`redact`] of a record committed with `h`.
pub fn redact_in(h: SdHash, record: &Value, names: &[&str]) -> Result<Value, VerifyError> {
    let bad = |r: &str| VerifyError::invalid("record", r.to_owned());
    if record.get("format").and_then(Value::as_str) != Some(RECORD_FORMAT_V3) {
        return Err(bad("only a v3 record can be redacted"));
    }
    let salt: [u8; 32] = record
        .get("salt")
        .and_then(Value::as_str)
        .and_then(|s| B64.decode(s).ok())
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad("salt must be base64 of 32 bytes"))?;
    let mut out = record.clone();
    let mut redacted = redacted_digests(record)?;
    for name in names {
        let member = name
            .strip_prefix("event.")
            .filter(|_| REDACTABLE.contains(name))
            .ok_or_else(|| bad("only the actor and the attestations can be redacted"))?;
        let Some(value) =
            out.get_mut("event").and_then(Value::as_object_mut).and_then(|e| e.remove(member))
        else {
            continue;
        };
        redacted.insert(
            (*name).to_owned(),
            disclosure_digest_in(h, &disclosure_in(h, &salt, name, value)),
        );
    }
    if !redacted.is_empty() {
        let map: Map<String, Value> =
            redacted.into_iter().map(|(n, h)| (n, Value::from(h.to_base64()))).collect();
        if let Some(m) = out.as_object_mut() {
            m.insert(REDACTED.into(), Value::Object(map));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::{
        check_partial, partial_view, record_commitment, record_value, Chain, LOOKUP_DISCLOSED,
    };
    use super::*;

    fn event() -> Value {
        json!({"event_id": "ev-1", "document_id": "c-42", "kind": "signed",
            "document_hash": "ab".repeat(32),
            "actor": {"id": "u-9", "display": "王*", "commitment": "cd".repeat(32)},
            "attestations": []})
    }

    #[test]
    fn a_redacted_record_opens_the_same_leaf_and_a_forged_one_does_not() {
        let chain = Chain { prev: None, seq: 0 };
        let mut ev = event();
        ev["attestations"] = json!([{"issuer": "idp", "claim": {"r": "pass"}, "signature": "s"}]);
        let rec = record_value(&ev, "t-1", &[7; 32], Some(&Hash([1; 32])), &chain);
        let c = record_commitment(&rec).expect("commitment");
        let red = redact(&rec, &REDACTABLE).expect("redacts");
        assert!(red["event"].get("actor").is_none() && red["event"].get("attestations").is_none());
        assert_eq!(record_commitment(&red).expect("commitment"), c);
        assert_eq!(redact(&red, &REDACTABLE).expect("again"), red, "idempotent");
        let view = partial_view(&red, &LOOKUP_DISCLOSED).expect("view");
        check_partial(&c, &view["disclosures"], &view["digests"]).expect("opens");
        let mut forged = red.clone();
        forged["redacted"]["event.actor"] = Value::from(Hash([2; 32]).to_base64());
        assert_ne!(record_commitment(&forged).expect("commitment"), c);
        let mut both = red.clone();
        both["event"]["actor"] = ev["actor"].clone();
        assert!(record_commitment(&both).is_err(), "redacted and present");
        let mut other = red.clone();
        other["redacted"]["tenant"] = Value::from(Hash([2; 32]).to_base64());
        assert!(record_commitment(&other).is_err(), "not redactable");
    }
}
