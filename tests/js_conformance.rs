//! The conformance corpus (verifier/testdata/conformance/*.json) through
//! the page's JavaScript verifier: runs tests/browser/conformance.test.mjs
//! under Node, which checks every case's verdict and failing and unanchored
//! check ids. The Rust verifier runs the same files, so the two cannot drift.
//!
//! Needs `node` (20+); `./scripts/test` installs it (scripts/env.sh). Fails,
//! never skips, when it is missing or the corpus holds no case. Also checks
//! that web/vendor/pki.js and sm-crypto.js are what scripts/vendor-web makes.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn corpus_through_the_javascript_verifier() {
    let corpus = repo().join("verifier/testdata/conformance");
    let cases = std::fs::read_dir(&corpus)
        .unwrap_or_else(|e| panic!("{}: {e}", corpus.display()))
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .count();
    assert!(cases > 0, "no *.json case in {}", corpus.display());

    let out = Command::new("node")
        .current_dir(repo())
        .args(["--test", "tests/browser/conformance.test.mjs"])
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run node ({e}): run ./scripts/test, which installs it (scripts/env.sh)")
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the JavaScript verifier disagrees with the corpus:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // node --test prints "# pass N": every case (and the non-empty check) ran.
    let passed: usize = stdout
        .lines()
        .find_map(|l| l.strip_prefix("# pass "))
        .and_then(|n| n.trim().parse().ok())
        .expect("node --test summary");
    assert_eq!(passed, cases + 1, "{stdout}");
}

/// Attestation v2.1 in the page's verifier: the identity digest's
/// known-answer vector and the binding each report states
/// (tests/browser/v21.test.mjs, over the corpus's v2.1 cases). Needs
/// `node`; fails, never skips, without it.
#[test]
fn attestation_v2_1_through_the_javascript_verifier() {
    let out = Command::new("node")
        .current_dir(repo())
        .args(["--test", "tests/browser/v21.test.mjs"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run node ({e}): scripts/env.sh installs it"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.lines().any(|l| l == "# pass 4"), "{stdout}");
}

/// web/vendor/pki.js (and web/vendor/sm-crypto.js beside it) is exactly
/// what `scripts/vendor-web` makes from the versions pinned in
/// web/vendor/package-lock.json (npm ci, then esbuild): nobody edited a
/// bundle by hand, and each can be rebuilt byte for byte.
/// Needs `node` and `npm` (scripts/env.sh installs both); fails, never
/// skips, without them.
#[test]
fn vendored_pki_js_is_what_the_script_makes() {
    let out = Command::new("bash")
        .current_dir(repo())
        .args(["scripts/vendor-web", "--check"])
        .env("EL_VENDOR_WORK", std::env::temp_dir().join("evidence-ledger-vendor-web-check"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run scripts/vendor-web ({e})"));
    assert!(
        out.status.success(),
        "scripts/vendor-web --check failed (needs node and npm: ./scripts/test installs them):\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
