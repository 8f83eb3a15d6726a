//! The shipped alert rules and dashboard (deploy/prometheus/alerts.yml,
//! deploy/grafana/evidence-ledger.json): `promtool check rules` passes, and
//! every metric they name is one the service exports, so no alert waits on
//! a series that can never exist.
//!
//! Needs `promtool` (Debian's `prometheus`, which scripts/env.sh installs);
//! fails, never skips, without it.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Metric names in `text`: `evidence_…`, less the suffixes Prometheus adds
/// to a histogram's series.
fn named(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(p) = rest.find("evidence_") {
        let tail = &rest[p..];
        let end =
            tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
        let name = &tail[..end];
        let base =
            ["_bucket", "_sum", "_count"].iter().find_map(|s| name.strip_suffix(s)).unwrap_or(name);
        out.insert(base.to_string());
        rest = &tail[end..];
    }
    out
}

fn exported() -> BTreeSet<String> {
    let m = evidence_ledger::metrics::Metrics::new().unwrap();
    m.names().iter().cloned().collect()
}

#[test]
fn promtool_accepts_the_rules() {
    let rules = repo().join("deploy/prometheus/alerts.yml");
    let out = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .unwrap_or_else(|e| panic!("cannot run promtool ({e}): run ./scripts/test"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("SUCCESS"), "{text}");
}

#[test]
fn every_metric_an_alert_or_panel_names_is_exported() {
    let exported = exported();
    assert!(exported.contains("evidence_audit_findings"), "{exported:?}");
    for file in ["deploy/prometheus/alerts.yml", "deploy/grafana/evidence-ledger.json"] {
        let text = std::fs::read_to_string(repo().join(file)).unwrap();
        let names = named(&text);
        assert!(names.len() >= 5, "{file}: {names:?}");
        let missing: Vec<_> = names.difference(&exported).collect();
        assert!(
            missing.is_empty(),
            "{file} names metrics the service does not export: {missing:?}"
        );
    }
    // The alerts the operator relies on are there.
    let rules = std::fs::read_to_string(repo().join("deploy/prometheus/alerts.yml")).unwrap();
    for alert in [
        "EvidenceForkAlarm",
        "EvidenceStorageFailing",
        "EvidenceAuditFindings",
        "EvidenceAuditErrors",
        "EvidenceCertificateExpiring",
    ] {
        assert!(rules.contains(&format!("alert: {alert}")), "{alert}");
    }
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("deploy/grafana/evidence-ledger.json")).unwrap(),
    )
    .expect("the dashboard is JSON");
    assert!(dashboard["panels"].as_array().is_some_and(|p| !p.is_empty()));
}

#[test]
fn the_name_scan_sees_histogram_series_as_their_family() {
    let n = named("rate(evidence_commit_latency_seconds_bucket[5m]) / evidence_tree_size");
    assert_eq!(
        n,
        BTreeSet::from([
            "evidence_commit_latency_seconds".to_string(),
            "evidence_tree_size".to_string()
        ])
    );
}
