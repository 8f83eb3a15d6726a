//! The `completeness` check over bundles of v3 records (docs/bundle-format.md
//! §7.5): what it says of a complete chain, one without its completion, and
//! each way of leaving entries out; and that v2 bundles have no such check.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::*;
use verifier::report::Report;

fn completeness(
    report: &Report,
) -> (&verifier::report::Check, &verifier::report::CompletenessFact) {
    let c = report.checks.iter().find(|c| c.id == "completeness").expect("a completeness check");
    (c, report.completeness.as_ref().expect("a completeness fact"))
}

#[test]
fn a_complete_chain_through_completion() {
    let world = World::new();
    let bundle = world.bundle_v3(&world.contract_flow_v2());
    let report = verify(&world, &bundle);
    assert!(report.passed, "{}", report.to_text());
    let (check, fact) = completeness(&report);
    assert!(check.passed && fact.complete && fact.through_completion, "{check:?}");
    assert_eq!((fact.from_entry, fact.to_entry, fact.entries), (2, 23, 8));
    assert!(check.detail.contains("Complete from entry 2 to entry 23"), "{}", check.detail);
    assert!(check.detail.contains("through completion"), "{}", check.detail);
    assert!(report.to_text().contains("[completeness]"));
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(json["completeness"]["through_completion"], true);
}

#[test]
fn without_completion_it_says_so() {
    let world = World::new();
    let mut bundle = world.bundle_v3(&world.contract_flow_v2());
    bundle.entries.pop();
    let report = verify(&world, &bundle);
    assert!(report.passed, "{}", report.to_text());
    let (check, fact) = completeness(&report);
    assert!(fact.complete && !fact.through_completion);
    assert!(check.detail.contains("holds no completed entry"), "{}", check.detail);
}

/// What a case does to a genuine bundle.
type Damage = fn(&mut verifier::bundle::Bundle);

#[test]
fn each_way_of_leaving_out_is_named() {
    let world = World::new();
    let genuine = world.bundle_v3(&world.contract_flow_v2());
    let cases: [(&str, Damage); 4] = [
        ("between entry 5 (seq 1) and entry 11 (seq 3) the contract's entry with seq 2 is missing", |b| {
            b.entries.remove(2);
        }),
        ("before entry 5 (seq 1) the contract's entry with seq 0 is missing", |b| {
            b.entries.remove(0);
        }),
        ("between entry 17 (seq 5) and entry 23 (seq 7) the contract's entry with seq 6 is missing", |b| {
            b.entries.remove(6);
        }),
        ("entry 8 (seq 2) comes after entry 11 (seq 3): the chain is out of order", |b| {
            b.entries.swap(2, 3);
        }),
    ];
    for (words, damage) in cases {
        let mut b = genuine.clone();
        damage(&mut b);
        let report = verify(&world, &b);
        let (check, fact) = completeness(&report);
        assert!(!check.passed && !fact.complete && !fact.through_completion);
        assert!(check.detail.contains(words), "{words}: {}", check.detail);
        assert!(!report.passed);
    }
}

#[test]
fn a_v2_bundle_has_no_completeness_check() {
    let world = World::new();
    let report = verify(&world, &world.bundle_v2(&world.contract_flow_v2()));
    assert!(report.passed);
    assert!(report.checks.iter().all(|c| c.id != "completeness"));
    assert!(report.completeness.is_none());
}

/// The `verifier` command: a bundle's completeness in its text, and a
/// saved lookup answer checked as the page checks it (exit 0 verified, 9
/// server_vouched, 1 failed), on the corpus's lookup cases.
#[test]
fn the_command_prints_completeness_and_checks_lookup_answers() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let world = World::new();
    let mut gap = world.bundle_v3(&world.contract_flow_v2());
    gap.entries.remove(6);
    let bundle = write("gap.json", &gap.to_json());
    let policy = write("court.policy", world.policy().to_text().as_bytes());
    let document = write("contract.pdf", DOCUMENT);
    let run = |path: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_verifier"))
            .args(["verify", path, "--policy", &policy, "--document", &document])
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    };
    let (code, text) = run(&bundle);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("[completeness]") && text.contains("Not complete"), "{text}");
    assert!(text.contains("seq 6 is missing"), "{text}");
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/conformance");
    for (case, want) in
        [("lookup-v3-verified", 0), ("lookup-v2-server-vouched", 9), ("lookup-v3-wrong-salt", 1)]
    {
        let c: serde_json::Value =
            serde_json::from_slice(&std::fs::read(corpus.join(format!("{case}.json"))).unwrap())
                .unwrap();
        let path = write(&format!("{case}.json"), c["lookup"].to_string().as_bytes());
        let (code, text) = run(&path);
        assert_eq!(code, Some(want), "{case}: {text}");
        assert!(text.contains("[lookup_summary]"), "{text}");
    }
}
