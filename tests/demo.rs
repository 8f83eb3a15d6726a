//! The README's main job: `evidence-ledger demo` runs the whole flow —
//! serve, push contract flows, anchor with two witnesses, fetch a bundle and
//! check it as a court would — and runs again on the same data idempotently.
#![allow(missing_docs, clippy::unwrap_used)]

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_evidence-ledger");

fn demo(dir: &std::path::Path) -> String {
    let out = Command::new(BIN)
        .args(["demo", "--listen", "127.0.0.1:0", "--exit", "--contracts", "2", "--data"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[test]
fn demo_runs_the_whole_flow_and_reruns_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let out = demo(dir.path());
        assert!(out.contains("contract contract-2026-0002: 8 events durable"), "{out}");
        assert!(out.contains("the notary office and the court cosigned"), "{out}");
        assert!(out.contains("VERIFIED against the policy file"), "{out}");
        assert!(out.contains("verifier verify") && out.contains("--policy"), "{out}");
    }
    let bundle = std::fs::read(dir.path().join("contract-2026-0001.bundle.json")).unwrap();
    let file = std::fs::read(dir.path().join("contract-2026-0001.txt")).unwrap();
    let policy = std::fs::read_to_string(dir.path().join("court.policy")).unwrap();
    let policy = verifier::policy::TrustPolicy::parse(&policy).unwrap();
    assert_eq!((policy.logs.len(), policy.witnesses.len(), policy.required_witnesses()), (1, 2, 2));
    let options = verifier::bundle::VerifyOptions::with_policy(policy, "court.policy");
    let report = verifier::bundle::verify_bundle_bytes(&bundle, &options.with_document(&file));
    assert!(report.passed, "{}", report.to_text());
    assert_eq!(report.witnesses.iter().filter(|w| w.cosigned_at.is_some()).count(), 2);
    // The bundle says which anchoring policy its checkpoint meets: a claim
    // the report shows as the ledger's own statement.
    let raw: serde_json::Value = serde_json::from_slice(&bundle).unwrap();
    assert_eq!(raw["anchoring"]["satisfied"], true, "{}", raw["anchoring"]);
    assert_eq!(raw["anchoring"]["cosigned_by"].as_array().unwrap().len(), 2);
    assert!(report.claims.iter().any(|c| c.starts_with("The ledger says this checkpoint meets")));
    // The newcomer's first verification is a real one: without the policy,
    // the same bundle is NOT verified.
    let bare = verifier::bundle::VerifyOptions::default();
    let report = verifier::bundle::verify_bundle_bytes(&bundle, &bare);
    assert!(!report.passed);
}
