//! Evidence bundle v2 (docs/bundle-format.md §7): records that open v2
//! leaves, identity openings, erased markers, attestation v2 labels, and
//! the v2 test vectors of docs/formats.md §12.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::{json, Value};
use verifier::bundle::{verify_bundle_bytes, Bundle};
use verifier::report::{check_id, Report, IDENTITY_NOT_INCLUDED, V1_BINDING, V2_BINDING};

fn run(world: &World, bundle: &Bundle) -> Report {
    verify_bundle_bytes(&bundle.to_json(), &world.strict_options())
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
    let mut flow = world.contract_flow_v2();
    let reason = "PIPL art. 47 request 2026-0042";
    flow.push(world.erasure_event(reason));
    let mut bundle = world.bundle_v2(&flow);
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
    let mut flow = world.contract_flow_v2();
    flow.push(world.erasure_event("r"));
    let good = world.bundle_v2(&flow);
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
    let mut flow = world.contract_flow_v2();
    let reason = "ok\u{1b}[2K\u{202e}";
    flow.push(world.erasure_event(reason));
    let mut bundle = world.bundle_v2(&flow);
    let n = bundle.entries.len();
    erase(&mut bundle, 0..n - 1, n - 1, reason);
    let report = run(&world, &bundle);
    assert!(report.passed, "{}", report.to_text());
    let text = report.to_text();
    assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}'), "{text}");
    let _: Value = serde_json::to_value(&report).expect("JSON");
}
