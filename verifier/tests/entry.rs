//! The pinned event schema, attestation signatures and leaf bytes, end to end
//! through the public API (DESIGN.md "Submitting events (pinned)").

use base64::Engine as _;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};
use verifier::entry::{
    event_from_json, format_ledger_time, leaf_bytes, parse_leaf, parse_ledger_time,
    verify_attestation, Event, EventKind,
};
use verifier::issuer::{CertifiedTrust, IssuerKeys};

/// The one attestation rule, with no CA trusted for certified issuers.
fn verify_attestations(
    tenant: &str,
    events: &[Event],
    keys: &IssuerKeys,
) -> Result<(), (usize, VerifyError)> {
    verifier::issuer::verify_attestations(tenant, events, keys, &CertifiedTrust::NONE)
}
use verifier::anykey::AnyVerifier;
use verifier::jcs::{self, Limits};
use verifier::{Hash, VerifyError};

const DOC_HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const COMMITMENT: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// A valid "signed" event with one attestation (signature not yet real).
fn sample() -> Value {
    json!({
        "event_id": "ev-2026-000001",
        "document_id": "contract-42",
        "kind": "signed",
        "document_hash": DOC_HASH,
        "actor": {"id": "u-9", "display": "王*", "commitment": COMMITMENT},
        "attestations": [
            {"issuer": "idp-gov", "claim": {"method": "phone_3_factor", "result": "pass"},
             "signature": b64(&[0u8; 64])}
        ]
    })
}

/// `raw` with every attestation signed by `signer`.
fn signed(mut raw: Value, signer: &SigningKey) -> Event {
    let unsigned = Event::from_value(raw.clone(), true).expect("valid event");
    for i in 0..unsigned.attestations.len() {
        let sig = signer.sign(&unsigned.attestation_message(i, "t"));
        raw["attestations"][i]["signature"] = Value::String(b64(&sig.to_bytes()));
    }
    Event::from_value(raw, true).expect("valid event")
}

fn keys(entries: &[(&str, &SigningKey)]) -> IssuerKeys {
    entries
        .iter()
        .map(|(name, k)| (name.to_string(), AnyVerifier::ed25519_issuer(name, k.verifying_key())))
        .collect()
}

#[test]
fn accepts_the_pinned_example_and_keeps_raw() {
    let bytes = serde_json::to_vec(&sample()).expect("serialize");
    let event = event_from_json(&bytes, &Limits::default()).expect("valid");
    assert_eq!(event.event_id, "ev-2026-000001");
    assert_eq!(event.kind, EventKind::Signed);
    assert_eq!(event.document_hash, Hash::from_hex(DOC_HASH).expect("hex"));
    assert_eq!(event.actor.display, "王*");
    assert_eq!(event.attestations[0].claim, json!({"method": "phone_3_factor", "result": "pass"}));
    assert_eq!(event.timestamp_token, None);
    assert_eq!(event.raw, sample());
    assert_eq!(event.content_hash(), Hash::digest(&jcs::to_canonical(&sample())));
}

#[test]
fn attestation_message_is_canonical_json() {
    let event = Event::from_value(sample(), false).expect("valid");
    let want = format!(
        r#"{{"claim":{{"method":"phone_3_factor","result":"pass"}},"document_hash":"{DOC_HASH}","event_id":"ev-2026-000001","issuer":"idp-gov","kind":"signed"}}"#
    );
    assert_eq!(String::from_utf8(event.attestation_message(0, "t")).expect("utf-8"), want);
}

/// Applies `edit` to a fresh sample and returns the error.
fn rejection(edit: impl FnOnce(&mut Value), allow_service_kinds: bool) -> VerifyError {
    let mut v = sample();
    edit(&mut v);
    match Event::from_value(v, allow_service_kinds) {
        Ok(e) => panic!("accepted: {}", e.event_id),
        Err(e) => e,
    }
}

#[test]
fn each_rule_rejects_with_its_field() {
    type Edit = Box<dyn Fn(&mut Value)>;
    let table: Vec<(&str, Edit)> = vec![
        ("surprise", Box::new(|v| v["surprise"] = json!(1))),
        ("event_id", Box::new(|v| v["event_id"] = json!(""))),
        ("event_id", Box::new(|v| v["event_id"] = json!("a b"))),
        ("event_id", Box::new(|v| v["event_id"] = json!("x".repeat(129)))),
        ("event_id", Box::new(|v| v["event_id"] = json!(7))),
        ("event_id", Box::new(|v| drop(v.as_object_mut().map(|m| m.remove("event_id"))))),
        ("document_id", Box::new(|v| v["document_id"] = json!("合同"))),
        ("kind", Box::new(|v| v["kind"] = json!("Signed"))),
        ("kind", Box::new(|v| v["kind"] = json!("report_issued"))),
        ("document_hash", Box::new(|v| v["document_hash"] = json!(DOC_HASH.to_uppercase()))),
        ("document_hash", Box::new(|v| v["document_hash"] = json!(&DOC_HASH[..62]))),
        ("actor", Box::new(|v| v["actor"] = json!("u-9"))),
        ("actor.extra", Box::new(|v| v["actor"]["extra"] = json!(true))),
        ("actor.id", Box::new(|v| v["actor"]["id"] = json!("u/9"))),
        ("actor.display", Box::new(|v| v["actor"]["display"] = json!(""))),
        ("actor.display", Box::new(|v| v["actor"]["display"] = json!("王".repeat(65)))),
        ("actor.display", Box::new(|v| v["actor"]["display"] = json!("王\n*"))),
        ("actor.display", Box::new(|v| v["actor"]["display"] = json!("\u{202e}王*"))),
        ("actor.commitment", Box::new(|v| v["actor"]["commitment"] = json!("00"))),
        (
            "actor.commitment",
            Box::new(|v| drop(v["actor"].as_object_mut().map(|m| m.remove("commitment")))),
        ),
        ("attestations", Box::new(|v| v["attestations"] = json!({}))),
        ("attestations", Box::new(|v| v["attestations"] = json!([]))),
        (
            "attestations",
            Box::new(|v| v["attestations"] = Value::Array(vec![v["attestations"][0].clone(); 17])),
        ),
        ("attestations[0]", Box::new(|v| v["attestations"][0] = json!("x"))),
        ("attestations[0].note", Box::new(|v| v["attestations"][0]["note"] = json!("x"))),
        ("attestations[0].issuer", Box::new(|v| v["attestations"][0]["issuer"] = json!("idp gov"))),
        ("attestations[0].claim", Box::new(|v| v["attestations"][0]["claim"] = json!("pass"))),
        (
            "attestations[0].claim",
            Box::new(|v| v["attestations"][0]["claim"] = json!({"x": "y".repeat(4096)})),
        ),
        (
            "attestations[0].claim",
            Box::new(|v| v["attestations"][0]["claim"] = json!({"a":[[[[[[[[1]]]]]]]]})),
        ),
        (
            "attestations[0].signature",
            Box::new(|v| v["attestations"][0]["signature"] = json!(b64(&[0u8; 63]))),
        ),
        (
            "attestations[0].signature",
            Box::new(|v| v["attestations"][0]["signature"] = json!(b64(&[0u8; 65]))),
        ),
        (
            "attestations[0].signature",
            Box::new(|v| {
                v["attestations"][0]["signature"] = json!(b64(&[0u8; 64]).trim_end_matches('='))
            }),
        ),
        (
            "attestations[0].signature",
            Box::new(|v| {
                v["attestations"][0]["signature"] =
                    json!(base64::engine::general_purpose::URL_SAFE.encode([0xffu8; 64]))
            }),
        ),
        ("timestamp_token", Box::new(|v| v["timestamp_token"] = Value::Null)),
        ("timestamp_token", Box::new(|v| v["timestamp_token"] = json!(""))),
        ("timestamp_token", Box::new(|v| v["timestamp_token"] = json!("not base64!"))),
        (
            "timestamp_token",
            Box::new(|v| v["timestamp_token"] = json!(b64(&vec![0x30u8; 16 * 1024 + 1]))),
        ),
    ];
    for (field, edit) in table {
        match rejection(|v| edit(v), false) {
            VerifyError::Invalid { field: got, reason } => assert_eq!(got, field, "{reason}"),
            other => panic!("{field}: expected Invalid, got {other:?}"),
        }
    }
}

#[test]
fn optional_and_service_rules() {
    let mut v = sample();
    v["timestamp_token"] = json!(b64(&vec![0x30u8; 16 * 1024]));
    assert_eq!(
        Event::from_value(v, false).expect("valid").timestamp_token.map(|t| t.len()),
        Some(16 * 1024)
    );
    for kind in ["registered", "completed", "archived"] {
        let mut v = sample();
        v["kind"] = json!(kind);
        v["attestations"] = json!([]);
        assert!(Event::from_value(v, false).is_ok(), "{kind}");
    }
    let mut v = sample();
    v["kind"] = json!("report_issued");
    v["attestations"] = json!([]);
    assert!(Event::from_value(v.clone(), false).is_err());
    assert_eq!(Event::from_value(v, true).expect("service kind").kind, EventKind::ReportIssued);
    assert!(matches!(Event::from_value(json!([1]), false), Err(VerifyError::Invalid { .. })));
}

#[test]
fn strict_json_errors_surface() {
    let dup = br#"{"event_id":"a","event_id":"b"}"#;
    assert!(matches!(
        event_from_json(dup, &Limits::default()),
        Err(VerifyError::Malformed { what: "json", .. })
    ));
    let small = Limits { max_bytes: 10, ..Limits::default() };
    assert!(matches!(event_from_json(&[b' '; 11], &small), Err(VerifyError::TooLarge { .. })));
}

#[test]
fn signed_attestations_verify() {
    let idp = key(1);
    let event = signed(sample(), &idp);
    let registry = keys(&[("idp-gov", &idp)]);
    assert_eq!(verify_attestations("t", std::slice::from_ref(&event), &registry), Ok(()));
    let sig = event.attestations[0].signature;
    assert!(
        verify_attestation(&idp.verifying_key(), &event.attestation_message(0, "t"), &sig).is_ok()
    );
}

/// A signature by `a` over `msg` whose `R` carries the torsion point
/// `torsion`: `R = rB + T`, `S = r + H(R, A, msg)·a` (`r` from `seed`).
/// The equation holds up to `T`: the strict check refuses it; a batch
/// check with coefficient z takes it when zT = 0.
fn torsion_signature(
    a: curve25519_dalek::Scalar,
    msg: &[u8],
    torsion: usize,
    seed: u8,
) -> [u8; 64] {
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT as B, EIGHT_TORSION};
    use curve25519_dalek::Scalar;
    use sha2::{Digest, Sha512};
    let public = (a * B).compress();
    let r = Scalar::from_bytes_mod_order([seed; 32]);
    let big_r = (r * B + EIGHT_TORSION[torsion]).compress();
    let k: [u8; 64] = Sha512::new()
        .chain_update(big_r.as_bytes())
        .chain_update(public.as_bytes())
        .chain_update(msg)
        .finalize()
        .into();
    let s = r + Scalar::from_bytes_mod_order_wide(&k) * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(big_r.as_bytes());
    sig[32..].copy_from_slice(s.as_bytes());
    sig
}

#[test]
fn a_signature_with_a_small_order_component_is_refused_as_the_strict_rule_refuses_it() {
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT as B;
    let a = curve25519_dalek::Scalar::from_bytes_mod_order([42u8; 32]);
    let key = ed25519_dalek::VerifyingKey::from_bytes(&(a * B).compress().to_bytes()).expect("key");
    let mut registry = IssuerKeys::new();
    registry.insert("idp-gov".into(), AnyVerifier::ed25519_issuer("idp-gov", key));
    for torsion in [1, 2, 4] {
        let mut event = Event::from_value(sample(), false).expect("event");
        let msg = event.attestation_message(0, "t");
        // ed25519-dalek's batch derives its coefficients from the inputs:
        // a signer tries values of r until the batch takes the signature
        // (about 8 tries for an order-8 T, 2 for order 2), as ingest's
        // batch check did until it was replaced by the strict rule.
        let batch_takes = |sig: &[u8; 64]| {
            let dalek_sig = ed25519_dalek::Signature::from_bytes(sig);
            ed25519_dalek::verify_batch(&[&msg], &[dalek_sig], &[key]).is_ok()
        };
        let sig = (1..=200u8)
            .map(|seed| torsion_signature(a, &msg, torsion, seed))
            .find(batch_takes)
            .expect("a batch-accepted signature within 200 tries");
        event.attestations[0].signature = sig;
        // ... the strict rule refuses it, and so does ingest's check.
        assert!(verify_attestation(&key, &msg, &sig).is_err());
        let err = verify_attestations("t", std::slice::from_ref(&event), &registry)
            .expect_err("a torsioned R");
        assert!(matches!(err, (0, VerifyError::BadSignature(_))), "{err:?}");
    }
    // The same construction without torsion is a valid signature.
    let mut event = Event::from_value(sample(), false).expect("event");
    let msg = event.attestation_message(0, "t");
    event.attestations[0].signature = torsion_signature(a, &msg, 0, 7);
    assert_eq!(verify_attestations("t", std::slice::from_ref(&event), &registry), Ok(()));
}

#[test]
fn bad_signature_names_the_event_and_attestation() {
    let idp = key(1);
    let registry = keys(&[("idp-gov", &idp)]);
    let good = signed(sample(), &idp);
    let mut bad = good.clone();
    bad.event_id = "ev-2".into(); // message changes, signature does not
    let err = verify_attestations("t", &[good.clone(), good, bad], &registry).expect_err("bad");
    assert_eq!(err.0, 2);
    match err.1 {
        VerifyError::BadSignature(m) => {
            assert!(m.starts_with("attestations[0] by idp-gov: "), "{m}")
        }
        other => panic!("expected BadSignature, got {other:?}"),
    }
}

#[test]
fn unknown_issuer_is_reported_after_earlier_bad_signatures() {
    let idp = key(1);
    let registry = keys(&[("idp-gov", &idp)]);
    let good = signed(sample(), &idp);
    let mut stranger = sample();
    stranger["attestations"][0]["issuer"] = json!("idp-unknown");
    let stranger = signed(stranger, &idp);
    let err = verify_attestations("t", &[good.clone(), stranger.clone()], &registry)
        .expect_err("unknown");
    assert_eq!(err.0, 1);
    assert!(
        matches!(err.1, VerifyError::UnknownKey(ref m) if m.contains("idp-unknown")),
        "{:?}",
        err.1
    );

    let mut bad = good.clone();
    bad.kind = EventKind::Approved;
    let err = verify_attestations("t", &[good, bad, stranger], &registry).expect_err("bad first");
    assert_eq!(err.0, 1);
    assert!(matches!(err.1, VerifyError::BadSignature(_)));
}

#[test]
fn small_order_r_is_refused_like_verify_strict() {
    // R = identity and s = 0 satisfy the batch equation for the identity
    // key; with a real key, R = identity is still refused up front.
    let idp = key(1);
    let mut v = sample();
    let mut sig = [0u8; 64];
    sig[0] = 1; // encoding of the identity point
    v["attestations"][0]["signature"] = json!(b64(&sig));
    let event = Event::from_value(v, false).expect("well-formed");
    let err =
        verify_attestations("t", &[event], &keys(&[("idp-gov", &idp)])).expect_err("small order R");
    assert!(matches!(err, (0, VerifyError::BadSignature(_))), "{err:?}");
}

#[test]
fn batch_of_1000_mixed_events() {
    let (idp, intent, signer) = (key(1), key(2), key(3));
    let registry = keys(&[("idp-gov", &idp), ("intent-svc", &intent), ("user-u-9", &signer)]);
    let events: Vec<Event> = (0..1000).map(|i| mixed_event(i, &idp, &intent, &signer)).collect();
    assert_eq!(verify_attestations("t", &events, &registry), Ok(()));

    let mut tampered = events.clone();
    let mut claim = tampered[737].attestations[0].claim.clone();
    claim["result"] = json!("fail");
    tampered[737].attestations[0].claim = claim;
    let err = verify_attestations("t", &tampered, &registry).expect_err("tampered");
    assert_eq!(err.0, 737);
}

/// Event `i`: kinds and attestation counts vary, some have no attestation.
fn mixed_event(i: usize, idp: &SigningKey, intent: &SigningKey, signer: &SigningKey) -> Event {
    let mut v = sample();
    v["event_id"] = json!(format!("ev-{i}"));
    let (kind, atts) = match i % 4 {
        0 => ("identity_verified", vec![("idp-gov", idp)]),
        1 => ("intent_verified", vec![("intent-svc", intent)]),
        2 => ("signed", vec![("user-u-9", signer), ("intent-svc", intent)]),
        _ => ("completed", vec![]),
    };
    v["kind"] = json!(kind);
    let list: Vec<Value> = atts
        .iter()
        .map(|(name, _)| json!({"issuer": name, "claim": {"result": "pass", "n": i}, "signature": b64(&[0; 64])}))
        .collect();
    v["attestations"] = Value::Array(list);
    let unsigned = Event::from_value(v.clone(), false).expect("valid");
    for (j, (_, k)) in atts.iter().enumerate() {
        v["attestations"][j]["signature"] =
            json!(b64(&k.sign(&unsigned.attestation_message(j, "t")).to_bytes()));
    }
    Event::from_value(v, false).expect("valid")
}

#[test]
fn leaf_round_trip() {
    let mut v = sample();
    v["timestamp_token"] = json!(b64(b"\x30\x03\x02\x01\x01"));
    v["attestations"][0]["claim"] = json!({"z": 1, "\u{fb33}": "x", "😀": [true, null, -5]});
    let event = Event::from_value(v, false).expect("valid");
    let time = format_ledger_time(1_767_323_045_000_006);
    assert_eq!(time, "2026-01-02T03:04:05.000006Z");
    let leaf = leaf_bytes(&event, "tenant-a", &time);
    let generic =
        jcs::to_canonical(&json!({"event": event.raw, "ledger_time": time, "tenant": "tenant-a"}));
    assert_eq!(leaf, generic);
    let entry = parse_leaf(&leaf).expect("parses");
    assert_eq!(entry.event, event);
    assert_eq!(entry.tenant, "tenant-a");
    assert_eq!(entry.ledger_time, time);
}

#[test]
fn parse_leaf_rejections() {
    let event = Event::from_value(sample(), false).expect("valid");
    let time = "2026-01-02T03:04:05.000006Z";
    let good = json!({"event": event.raw, "ledger_time": time, "tenant": "t"});
    let spaced = serde_json::to_vec_pretty(&good).expect("serialize");
    assert!(matches!(parse_leaf(&spaced), Err(VerifyError::Malformed { what: "leaf", .. })));

    let cases: Vec<(Value, &str)> = vec![
        (json!({"event": event.raw, "ledger_time": time}), "tenant"),
        (
            json!({"event": event.raw, "ledger_time": "2026-01-02T03:04:05Z", "tenant": "t"}),
            "ledger_time",
        ),
        (json!({"event": event.raw, "ledger_time": time, "tenant": ""}), "tenant"),
        (
            json!({"event": {"kind": "signed"}, "ledger_time": time, "tenant": "t"}),
            "event.event_id",
        ),
    ];
    for (leaf, field) in cases {
        match parse_leaf(&jcs::to_canonical(&leaf)) {
            Err(VerifyError::Invalid { field: got, .. }) => assert_eq!(got, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    // DESIGN.md: "other fields may be added" to a leaf by later versions of
    // the ledger; a verifier reads past them (the leaf hash covers them).
    let extended =
        json!({"event": event.raw, "ledger_time": time, "tenant": "t", "zone": "cn-east"});
    assert_eq!(parse_leaf(&jcs::to_canonical(&extended)).expect("extension").tenant, "t");
    // Service kinds are allowed inside leaves.
    let mut report = sample();
    report["kind"] = json!("report_issued");
    report["attestations"] = json!([]);
    let leaf = jcs::to_canonical(&json!({"event": report, "ledger_time": time, "tenant": "t"}));
    assert_eq!(parse_leaf(&leaf).expect("service kind").event.kind, EventKind::ReportIssued);
}

#[test]
fn ledger_time_format() {
    for (micros, text) in [
        (0, "1970-01-01T00:00:00.000000Z"),
        (-1, "1969-12-31T23:59:59.999999Z"),
        (1_767_323_045_000_006, "2026-01-02T03:04:05.000006Z"),
        (951_782_400_123_456, "2000-02-29T00:00:00.123456Z"),
        (-62_167_219_200_000_000, "0000-01-01T00:00:00.000000Z"),
        (253_402_300_799_999_999, "9999-12-31T23:59:59.999999Z"),
    ] {
        assert_eq!(format_ledger_time(micros), text);
        assert_eq!(parse_ledger_time(text), Ok(micros), "{text}");
    }
    assert_eq!(format_ledger_time(i64::MAX), "9999-12-31T23:59:59.999999Z");
    assert_eq!(format_ledger_time(i64::MIN), "0000-01-01T00:00:00.000000Z");
    for bad in [
        "2026-01-02T03:04:05Z",
        "2026-01-02T03:04:05.00000Z",
        "2026-01-02T03:04:05.0000060Z",
        "2026-01-02T03:04:05.000006+00:00",
        "2026-01-02t03:04:05.000006Z",
        "2026-02-30T03:04:05.000006Z",
        "2026-01-02T24:00:00.000000Z",
        "2026-12-31T23:59:60.000000Z",
        "2026-1-02T03:04:05.0000060Z",
        "+026-01-02T03:04:05.000006Z",
        "２026-01-02T03:04:05.00006Z",
    ] {
        assert!(parse_ledger_time(bad).is_err(), "{bad}");
    }
}
