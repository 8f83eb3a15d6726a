//! The systemd units in deploy/systemd pass `systemd-analyze verify`
//! (syntax, known directives, a runnable ExecStart), with their sandboxing
//! as written; the binary paths are pointed at the ones this build made.
//!
//! Needs `systemd-analyze` (Debian's `systemd`, which scripts/env.sh
//! installs); fails, never skips, without it.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `unit` with its installed binary path replaced by `bin`, verified.
fn verify(unit: &str, installed: &str, bin: &Path) {
    let text = std::fs::read_to_string(repo().join("deploy/systemd").join(unit)).unwrap();
    for directive in ["ProtectSystem=strict", "NoNewPrivileges=yes", "CapabilityBoundingSet="] {
        assert!(text.contains(directive), "{unit} lacks {directive}");
    }
    assert!(text.contains(installed), "{unit} does not run {installed}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(unit);
    std::fs::write(&path, text.replace(installed, bin.to_str().unwrap())).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run systemd-analyze ({e}): run ./scripts/test"));
    let err = String::from_utf8_lossy(&out.stderr);
    // Lines about other units of the host (not ours) do not count.
    let ours: Vec<&str> = err.lines().filter(|l| l.contains(unit)).collect();
    assert!(out.status.success() && ours.is_empty(), "{unit}:\n{err}");
}

#[test]
fn the_ledger_unit_verifies() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_evidence-ledger"));
    verify("evidence-ledger.service", "/usr/local/bin/evidence-ledger", &bin);
}

#[test]
fn the_witness_unit_verifies() {
    verify(
        "notary-witness.service",
        "/usr/local/bin/notary-witness",
        &common::witness::witness_bin(),
    );
}

/// The check sees what it must: an unknown directive is reported.
#[test]
fn a_misspelt_directive_is_caught() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_evidence-ledger"));
    let text = std::fs::read_to_string(repo().join("deploy/systemd/evidence-ledger.service"))
        .unwrap()
        .replace("/usr/local/bin/evidence-ledger", bin.to_str().unwrap())
        .replace("NoNewPrivileges=yes", "NoNewPrivilegez=yes");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evidence-ledger.service");
    std::fs::write(&path, text).unwrap();
    let out =
        Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(&path).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Unknown key 'NoNewPrivilegez'"), "{err}");
}
