//! Evidence bundle v2 (docs/bundle-format.md §7): records that open v2
//! leaves, identity openings, erased markers, attestation v2 labels, and
//! the v2 test vectors of docs/formats.md §12.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use verifier::bundle::{verify_bundle_bytes, Bundle};
use verifier::report::{
    check_id, CheckStatus, Report, IDENTITY_NOT_INCLUDED, V1_BINDING, V2_BINDING,
};
use verifier::Hash;

fn run(world: &World, bundle: &Bundle) -> Report {
    verify_bundle_bytes(&bundle.to_json(), &world.strict_options())
}

/// The claim of a document erasure that erased the entries `indices`
/// (docs/bundle-format.md §7.3): their number, and the standard base64 of
/// SHA-256 over their 8-byte big-endian indices in ascending order.
fn erasure_claim(reason: &str, indices: &[u64]) -> Value {
    let mut sorted = indices.to_vec();
    sorted.sort_unstable();
    let bytes: Vec<u8> = sorted.iter().flat_map(|i| i.to_be_bytes()).collect();
    json!({"erasure": {
        "scope": "document",
        "reason": reason,
        "entries": sorted.len(),
        "entries_sha256": b64(&Sha256::digest(&bytes)),
    }})
}

/// [`World::erasure_event`] with `claim` (signed by the ledger key).
fn erasure_event_with(world: &World, reason: &str, claim: Value) -> Value {
    let mut event = world.erasure_event(reason);
    let signed = world.event_v2(
        event["event_id"].as_str().expect("id"),
        "erased",
        "operator",
        &[(LEDGER_ISSUER, claim)],
        (TENANT, DOC_ID, "operator"),
    );
    event["attestations"] = signed["attestations"].clone();
    event
}

/// `flow`, then the erasure of all of it (its claim listing every entry
/// of `flow`), as a v2 bundle whose records are still all there.
fn with_erasure(world: &World, mut flow: Vec<Value>, reason: &str) -> Bundle {
    // Entry i of a bundle lands at the same index whatever follows it.
    let indices: Vec<u64> = world.bundle_v2(&flow).entries.iter().map(|e| e.index).collect();
    flow.push(erasure_event_with(world, reason, erasure_claim(reason, &indices)));
    world.bundle_v2(&flow)
}

#[test]
fn a_genuine_v2_bundle_verifies_and_names_the_real_identity() {
    let world = World::new();
    let bundle = world.bundle_v2(&world.contract_flow_v2());
    let report = run(&world, &bundle);
    assert!(report.passed, "{}", report.to_text());
    let commitments = report.checks.iter().filter(|c| c.id == check_id::COMMITMENTS).count();
    assert_eq!(commitments, bundle.entries.len());
    let text = report.to_text();
    assert!(
        text.contains("identity: 王小明, resident_id 11010119900307777X, phone +86 138 0000 0000"),
        "{text}"
    );
    assert!(text.contains("identity: 李雷, passport E12345678\n"), "{text}");
    assert!(text.contains(&format!("[{V2_BINDING}]")), "{text}");
    assert!(!text.contains(V1_BINDING), "{text}");
    let json = serde_json::to_value(&report).expect("JSON");
    let u1 = &json["timeline"][1];
    assert_eq!(
        u1["identity"],
        json!({"name": "王小明", "id_type": "resident_id", "id_number": "11010119900307777X",
               "phone": "+86 138 0000 0000"})
    );
    assert_eq!(u1["attestations"][0]["version"], 2);
    assert_eq!(u1["attestations"][0]["binding"], V2_BINDING);
    // Entries without identity say nothing about one.
    assert!(json["timeline"][0].get("identity_note").is_none());
}

/// One actor id opens to one person: a second identity check of u-1 that
/// opens to someone else fails that entry's commitments; a repeat of the
/// same person (another phone) passes.
#[test]
fn one_actor_opens_to_one_person() {
    let world = World::new();
    let flow = world.contract_flow_v2();
    let again = |id: &str, identity: Value| {
        let mut e = world.event_v2(
            id,
            "identity_verified",
            "u-1",
            &[("idp-gov", json!({"method": "face_liveness", "result": "pass"}))],
            (TENANT, DOC_ID, "u-1"),
        );
        e["identity"] = identity;
        e
    };
    let same = again(
        "e-u-1-id-2",
        json!({"name": "王小明", "id_type": "resident_id", "id_number": "11010119900307777X", "phone": "+86 139 0000 0000"}),
    );
    let mut events = flow.clone();
    events.insert(2, same);
    let report = run(&world, &world.bundle_v2(&events));
    assert!(report.passed, "{}", report.to_text());

    let other = again(
        "e-u-1-id-3",
        json!({"name": "张三", "id_type": "resident_id", "id_number": "110101198001010011"}),
    );
    let mut events = flow;
    events.insert(2, other);
    let bundle = world.bundle_v2(&events);
    let report = run(&world, &bundle);
    let failed: Vec<_> = report.failures().map(|c| (c.id, c.subject.clone())).collect();
    assert_eq!(
        failed,
        [(check_id::COMMITMENTS, Some(bundle.entries[2].index.to_string()))],
        "{}",
        report.to_text()
    );
    let detail = &report.failures().next().expect("failed").detail;
    assert!(detail.contains("another person than entry"), "{detail}");
}

#[test]
fn a_bundle_without_identity_openings_says_so() {
    let world = World::new();
    let mut bundle = world.bundle_v2(&world.contract_flow_v2());
    for e in &mut bundle.entries {
        e.identity = None;
    }
    let report = run(&world, &bundle);
    assert!(report.passed, "{}", report.to_text());
    let text = report.to_text();
    assert!(text.contains(&format!("             {IDENTITY_NOT_INCLUDED}\n")), "{text}");
    assert!(!text.contains("王小明"));
    let notes = report.timeline.iter().filter(|t| t.identity_note.is_some()).count();
    assert_eq!(notes, 2, "only entries whose record commits to an identity");
}

#[test]
fn v1_attestations_are_labelled() {
    let world = World::new();
    let report = run(&world, &world.bundle(&world.contract_flow()));
    assert!(report.passed);
    let text = report.to_text();
    assert!(
        text.contains(&format!(
            "identity checked by idp-gov using phone 3-factor (result: pass) [{V1_BINDING}]"
        )),
        "{text}"
    );
    let json = serde_json::to_value(&report).expect("JSON");
    assert_eq!(json["timeline"][1]["attestations"][0]["binding"], V1_BINDING);
    assert_eq!(json["timeline"][1]["attestations"][0]["version"], 1);
    assert!(report.checks.iter().all(|c| c.id != check_id::COMMITMENTS));
}

#[test]
fn erased_entries_verify_and_are_reported() {
    let world = world_with_ledger_issuer();
    let reason = "PIPL art. 47 request 2026-0042";
    let mut bundle = with_erasure(&world, world.contract_flow_v2(), reason);
    let n = bundle.entries.len();
    erase(&mut bundle, 0..n - 1, n - 1, reason);
    let report = run(&world, &bundle);
    assert!(report.passed, "{}", report.to_text());
    let at = leaf_time(&bundle.entries[n - 1].leaf);
    let words = format!("erased on {at}, by operator, reason {reason}");
    let text = report.to_text();
    assert!(text.contains(&format!("record {words}")), "{text}");
    let json = serde_json::to_value(&report).expect("JSON");
    assert_eq!(json["timeline"][0]["erased"]["summary"], json!(words));
    assert_eq!(json["timeline"][0]["erased"]["entry"], json!(bundle.entries[n - 1].index));
    // Inclusion is still checked for every entry; attestations only for
    // the erasure entry.
    let count = |id: &str| report.checks.iter().filter(|c| c.id == id).count();
    assert_eq!(count(check_id::INCLUSION), n);
    assert_eq!(count(check_id::ATTESTATIONS), 1);
}

#[test]
fn erased_markers_must_repeat_their_erasure() {
    let world = world_with_ledger_issuer();
    let good = with_erasure(&world, world.contract_flow_v2(), "r");
    let n = good.entries.len();
    let marked = |f: &dyn Fn(&mut verifier::bundle::BundleErased)| {
        let mut b = good.clone();
        erase(&mut b, 0..n - 1, n - 1, "r");
        f(b.entries[0].erased.as_mut().expect("marker"));
        b
    };
    let cases: Vec<(&str, Bundle)> = vec![
        ("reason", marked(&|m| m.reason = "other".into())),
        ("time", marked(&|m| m.at = "2030-01-01T00:00:00.000000Z".into())),
        ("actor", marked(&|m| m.by = "u-1".into())),
        ("missing entry", marked(&|m| m.entry = 999)),
        ("earlier entry", marked(&|m| m.entry = good.entries[0].index)),
        ("not an erasure", marked(&|m| m.entry = good.entries[1].index)),
    ];
    for (what, b) in cases {
        let report = run(&world, &b);
        assert_eq!(failed(&report), [check_id::COMMITMENTS], "{what}: {}", report.to_text());
    }
}

/// The erasure entry's claim lists the entries it erased: a marker on any
/// other leaf of the log, or a bundle that leaves an erased entry out or
/// swaps one for another leaf, fails `commitments` for every marker naming
/// that erasure; a document erasure claim without the list confirms none.
#[test]
fn erased_markers_must_be_the_entries_the_erasure_lists() {
    let world = world_with_ledger_issuer();
    let reason = "r";
    // Contract-42's flow, then one entry of contract-43 (same tenant, a
    // valid leaf and inclusion proof), then contract-42's erasure, which
    // lists the 8 entries of contract-42 only.
    let mut flow = world.contract_flow_v2();
    let ours = flow.len();
    let other = world.other_contract_registration();
    flow.push(other);
    let indices: Vec<u64> =
        world.bundle_v2(&flow).entries[..ours].iter().map(|e| e.index).collect();
    let listed = |claim: Value| {
        let mut f = flow.clone();
        f.push(erasure_event_with(&world, reason, claim));
        let mut b = world.bundle_v2(&f);
        let n = b.entries.len();
        erase(&mut b, 0..n - 1, n - 1, reason);
        b
    };
    let claim = erasure_claim(reason, &indices);
    let marked = listed(claim.clone());
    let n = marked.entries.len();
    let foreign = n - 2;
    // As the ledger issues it: the foreign entry is not in the bundle.
    let mut genuine = marked.clone();
    genuine.entries.remove(foreign);
    let report = run(&world, &genuine);
    assert!(report.passed, "{}", report.to_text());

    let commitments_failed = |b: &Bundle| {
        let report = run(&world, b);
        assert_eq!(failed(&report), [check_id::COMMITMENTS], "{}", report.to_text());
        report
            .checks
            .iter()
            .filter(|c| c.id == check_id::COMMITMENTS && c.status == CheckStatus::Fail)
            .map(|c| c.subject.clone().expect("subject").parse::<u64>().expect("index"))
            .collect::<Vec<_>>()
    };
    // Added: every marker naming the erasure fails, the erasure does not.
    let all_marked: Vec<u64> = marked.entries[..n - 1].iter().map(|e| e.index).collect();
    assert_eq!(commitments_failed(&marked), all_marked);
    let report = run(&world, &marked);
    let detail =
        &report.checks.iter().find(|c| c.id == check_id::COMMITMENTS).expect("check").detail;
    let k = marked.entries[n - 1].index;
    assert!(
        detail.contains(&format!("the erasure entry {k} lists 8 erased entries"))
            && detail.contains("the bundle marks 9 entries as erased by it"),
        "{detail}"
    );
    // Swapped for a genuine erased entry: the number holds, the hash not.
    let mut swapped = marked.clone();
    swapped.entries.remove(0);
    assert_eq!(commitments_failed(&swapped).len(), n - 2);
    // One erased entry left out.
    let mut short = genuine.clone();
    short.entries.remove(3);
    assert_eq!(commitments_failed(&short).len(), n - 3);
    // A claim that lists nothing, or lists with the wrong types or values.
    let bare = json!({"erasure": {"scope": "document", "reason": reason}});
    let mut wrong_count = claim.clone();
    wrong_count["erasure"]["entries"] = json!(9);
    let mut count_as_string = claim.clone();
    count_as_string["erasure"]["entries"] = json!("8");
    let mut hash_as_hex = claim.clone();
    hash_as_hex["erasure"]["entries_sha256"] = json!(Hash::digest(b"x").to_hex());
    let mut no_hash = claim.clone();
    no_hash["erasure"].as_object_mut().expect("object").remove("entries_sha256");
    for (what, c) in [
        ("no list", bare),
        ("wrong count", wrong_count),
        ("count as a string", count_as_string),
        ("another hash", hash_as_hex),
        ("no hash", no_hash),
    ] {
        let mut b = listed(c);
        b.entries.remove(foreign);
        let report = run(&world, &b);
        assert_eq!(failed(&report), [check_id::COMMITMENTS], "{what}: {}", report.to_text());
    }
}

#[test]
fn unopened_entries_are_unreadable() {
    let world = World::new();
    let good = world.bundle_v2(&world.contract_flow_v2());
    let mut none = good.clone();
    none.entries[2].record = None;
    none.entries[2].identity = None;
    let report = run(&world, &none);
    assert_eq!(
        failed(&report),
        [
            check_id::ATTESTATIONS,
            check_id::COMMITMENTS,
            check_id::DOCUMENT_HASH,
            check_id::SAME_DOCUMENT,
            check_id::TIMELINE
        ],
        "{}",
        report.to_text()
    );
    // A record beside a v1 leaf is a format problem.
    let v1 = world.bundle(&world.contract_flow());
    let mut mixed = good.clone();
    mixed.entries[0].leaf = v1.entries[0].leaf.clone();
    let report = run(&world, &mixed);
    assert!(failed(&report).contains(&check_id::BUNDLE_FORMAT), "{}", report.to_text());
    assert!(failed(&report).contains(&check_id::COMMITMENTS));
}

#[test]
fn v2_bundles_of_v1_leaves_verify() {
    let world = World::new();
    let mut bundle = world.bundle(&world.contract_flow());
    bundle.format = verifier::bundle::FORMAT_V2.into();
    let report = run(&world, &bundle);
    assert!(report.passed, "{}", report.to_text());
    assert!(report.checks.iter().any(|c| c.id == check_id::COMMITMENTS));
}

#[test]
fn records_nest_within_the_bundle_depth_limit() {
    let world = World::new();
    let mut flow = world.contract_flow_v2();
    // A claim of the deepest allowed nesting (8 levels, the claim itself
    // level 1), re-signed.
    let deep = json!({"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": 1}}}}}}}});
    flow[1] = {
        let mut ev = world.event_v2(
            "e-u-1-id",
            "identity_verified",
            "u-1",
            &[("idp-gov", deep)],
            (TENANT, DOC_ID, "u-1"),
        );
        ev["identity"] = flow[1]["identity"].clone();
        ev
    };
    let bundle = world.bundle_v2(&flow);
    let report = run(&world, &bundle);
    assert!(report.passed, "{}", report.to_text());
    // One level more is refused by the event schema, not by the parser.
    let text = String::from_utf8(bundle.to_json()).expect("UTF-8");
    let deeper = text.replacen("\"h\": 1", "\"h\": {\"i\": 1}", 1);
    let report = verify_bundle_bytes(deeper.as_bytes(), &world.strict_options());
    assert!(failed(&report).contains(&check_id::COMMITMENTS), "{}", report.to_text());
    assert!(!failed(&report).contains(&check_id::BUNDLE_FORMAT), "{}", report.to_text());
}

#[test]
fn strings_from_records_are_terminal_safe() {
    let world = world_with_ledger_issuer();
    let reason = "ok\u{1b}[2K\u{202e}";
    let mut bundle = with_erasure(&world, world.contract_flow_v2(), reason);
    let n = bundle.entries.len();
    erase(&mut bundle, 0..n - 1, n - 1, reason);
    let report = run(&world, &bundle);
    assert!(report.passed, "{}", report.to_text());
    let text = report.to_text();
    assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}'), "{text}");
    let _: Value = serde_json::to_value(&report).expect("JSON");
}

// ---------------------------------------------------------------------------
// Test vectors (docs/formats.md §12): fixed keys and salts, exact outputs.

mod vectors {
    use ed25519_dalek::SigningKey;
    use serde_json::{json, Value};
    use verifier::attest::{attestation_message_v2, sign_attestation_v2, AttestationV2};
    use verifier::entry::Identity;
    use verifier::hash::leaf_hash;
    use verifier::v2::{
        identity_commitment, identity_value, leaf_v2_bytes, open_identity, open_leaf,
        parse_any_leaf, record_commitment, record_value, Leaf,
    };
    use verifier::{jcs, Hash};

    pub const TENANT: &str = "acme";
    pub const DOCUMENT_HASH: &str =
        "dd502c0bd832237252f314be9ba47dc611d9221bca3c8a5164855125123c9b06";
    pub const ACTOR_COMMITMENT: &str =
        "f9f43b0fc79f9ee4942bd1c409e9d2470bc64f3bb1faabaf4ea4bcb15c3bb69f";
    pub const LEDGER_TIME: &str = "2026-03-01T09:00:00.001250Z";

    pub fn claim() -> Value {
        json!({"method": "phone_3_factor", "result": "pass"})
    }

    pub fn attestation() -> AttestationV2<'static> {
        // A leaked 'static claim keeps the struct simple in a test.
        let claim: &'static Value = Box::leak(Box::new(claim()));
        AttestationV2 {
            tenant: TENANT,
            document_id: "contract-42",
            document_hash_hex: DOCUMENT_HASH,
            event_id: "ev-2026-000002",
            kind: "identity_verified",
            actor_id: "u-9",
            issuer: "idp-gov",
            claim,
        }
    }

    pub fn identity() -> Identity {
        Identity {
            name: "王小明".into(),
            id_type: "resident_id".into(),
            id_number: "11010119900307777X".into(),
            phone: Some("+86 138 0000 0000".into()),
        }
    }

    /// The event as the record holds it (no `identity`).
    pub fn event(signature: &str) -> Value {
        json!({
            "event_id": "ev-2026-000002",
            "document_id": "contract-42",
            "kind": "identity_verified",
            "document_hash": DOCUMENT_HASH,
            "actor": {"id": "u-9", "display": "王*", "commitment": ACTOR_COMMITMENT},
            "attestations": [{"issuer": "idp-gov", "v": 2, "claim": claim(), "signature": signature}]
        })
    }

    pub struct Outputs {
        pub message: String,
        pub signature: String,
        pub identity: String,
        pub identity_commitment: String,
        pub record: String,
        pub commitment: String,
        pub leaf: String,
        pub leaf_hash: String,
    }

    pub fn compute() -> Outputs {
        let idp = SigningKey::from_bytes(&[2; 32]);
        let a = attestation();
        let message = String::from_utf8(attestation_message_v2(&a)).expect("UTF-8");
        let signature = sign_attestation_v2(&idp, &a);
        let opening = identity_value(&identity(), &[0x22; 32]);
        let ic = identity_commitment(&opening);
        let record = record_value(&event(&signature), TENANT, &[0x11; 32], Some(&ic));
        let c = record_commitment(&record);
        let leaf = leaf_v2_bytes(&c, LEDGER_TIME);
        // The vectors open as the verifier opens them.
        let Leaf::V2(l) = parse_any_leaf(&leaf).expect("leaf") else { panic!("v2") };
        let (entry, rec) = open_leaf(&l, &record).expect("opens");
        assert_eq!(open_identity(&rec, &opening).expect("identity"), identity());
        let tenant = entry.tenant.clone();
        assert_eq!(entry.event.attestation_message(0, &tenant), message.as_bytes());
        Outputs {
            message,
            signature,
            identity: String::from_utf8(jcs::to_canonical(&opening)).expect("UTF-8"),
            identity_commitment: ic.to_base64(),
            record: String::from_utf8(jcs::to_canonical(&record)).expect("UTF-8"),
            commitment: c.to_base64(),
            leaf: String::from_utf8(leaf.clone()).expect("UTF-8"),
            leaf_hash: Hash::to_hex(&leaf_hash(&leaf)),
        }
    }
}

/// The vectors of docs/formats.md §12 (re-checked there with Python's
/// hashlib and `cryptography`): idp-gov's seed `02`×32 (§10.1), record
/// salt `11`×32, identity salt `22`×32.
#[test]
fn v2_test_vectors() {
    let o = vectors::compute();
    assert_eq!(
        o.message,
        r#"{"actor_id":"u-9","claim":{"method":"phone_3_factor","result":"pass"},"context":"evidence-ledger/attestation/v2","document_hash":"dd502c0bd832237252f314be9ba47dc611d9221bca3c8a5164855125123c9b06","document_id":"contract-42","event_id":"ev-2026-000002","issuer":"idp-gov","kind":"identity_verified","tenant":"acme"}"#
    );
    assert_eq!(o.message.len(), 314);
    assert_eq!(
        o.signature,
        "yP3DQ+EjYfG2CK6gGgf94WBh97pF6lfrC76jDObdwNNw2pOo8HOf5AotpfFQg9sOPKiG0oQhmdG+rGsAo85xAQ=="
    );
    assert_eq!(
        o.identity,
        r#"{"format":"evidence-identity/v2","id_number":"11010119900307777X","id_type":"resident_id","name":"王小明","phone":"+86 138 0000 0000","salt":"IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI="}"#
    );
    assert_eq!(o.identity_commitment, "bDUkluEElhIKBZ9PzpW9R33v9Th34WtY7A9xJf6k1JA=");
    assert_eq!(
        o.record,
        r#"{"event":{"actor":{"commitment":"f9f43b0fc79f9ee4942bd1c409e9d2470bc64f3bb1faabaf4ea4bcb15c3bb69f","display":"王*","id":"u-9"},"attestations":[{"claim":{"method":"phone_3_factor","result":"pass"},"issuer":"idp-gov","signature":"yP3DQ+EjYfG2CK6gGgf94WBh97pF6lfrC76jDObdwNNw2pOo8HOf5AotpfFQg9sOPKiG0oQhmdG+rGsAo85xAQ==","v":2}],"document_hash":"dd502c0bd832237252f314be9ba47dc611d9221bca3c8a5164855125123c9b06","document_id":"contract-42","event_id":"ev-2026-000002","kind":"identity_verified"},"format":"evidence-record/v2","identity_commitment":"bDUkluEElhIKBZ9PzpW9R33v9Th34WtY7A9xJf6k1JA=","salt":"ERERERERERERERERERERERERERERERERERERERERERE=","tenant":"acme"}"#
    );
    assert_eq!(o.commitment, "l5rcTzgPmF852/egMvuRPCMTe6wkjDfk3RV1hFdZaSM=");
    assert_eq!(
        o.leaf,
        r#"{"commitment":"l5rcTzgPmF852/egMvuRPCMTe6wkjDfk3RV1hFdZaSM=","commitment_alg":"sha256-jcs-salted/v2","format":"evidence-leaf/v2","ledger_time":"2026-03-01T09:00:00.001250Z"}"#
    );
    assert_eq!(o.leaf_hash, "803e8dbb45288d35d53e9d2572063d21b9dbed8c4d679273e39286dd94dc8025");
}
