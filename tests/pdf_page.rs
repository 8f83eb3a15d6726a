//! The contract PDF's own signatures on the public verifier page, in a real
//! browser: starts the real server, has pyHanko sign a one-page PDF twice
//! (Alice, PAdES RSA; Bob, PKCS#7 ECDSA through an intermediate) with a CA
//! made by openssl (verifier/tests/pdf_pki), logs the signed file in a
//! contract flow, fetches its evidence bundle and runs
//! tests/browser/pdf-page.test.mjs (Debian's headless Chromium driven by
//! playwright-core): both signatures valid with their certificate details
//! and the logged `signed` events, as `verifier pdf --bundle` says; the
//! same PDF with one byte changed fails that signature.
//!
//! Needs `node`, `/usr/bin/chromium`, `tests/browser/node_modules`, pyHanko
//! and `openssl`; `./scripts/test` installs them (scripts/env.sh).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../verifier/tests/pdf_pki/mod.rs"]
mod pdf_pki;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use ed25519_dalek::SigningKey;
use evidence_ledger::flows::contract_flow;
use serde_json::{json, Value};
use verifier::bundle::{signed_documents, verify_bundle_bytes, Bundle, VerifyOptions};
use verifier::cosignature::CosignatureSigner;
use verifier::pdf::{match_bundle, verify_pdf, PdfVerdictStatus};
use verifier::policy::TrustPolicy;

const CHROMIUM: &str = "/usr/bin/chromium";
const DOCUMENT_ID: &str = "contract-pdf-1";
const WITNESS: &str = "notary.test/w1";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Fails (never skips) when the browser toolchain is missing.
fn require_toolchain() {
    let node = Command::new("node").arg("--version").output();
    assert!(node.is_ok_and(|o| o.status.success()), "this test needs node (scripts/env.sh)");
    assert!(Path::new(CHROMIUM).exists(), "this test needs {CHROMIUM} (scripts/env.sh)");
    let pw = repo().join("tests/browser/node_modules/playwright-core/package.json");
    assert!(
        pw.exists(),
        "this test needs tests/browser/node_modules: npm ci --prefix tests/browser"
    );
}

/// The bundle's checkpoint countersigned by a test witness, and a policy
/// trusting the log, that witness and the PDF's root CA.
fn cosign_and_policy(bundle: &mut Value, root_pem: &str) -> String {
    let witness = CosignatureSigner::new(WITNESS, SigningKey::from_bytes(&[7; 32])).unwrap();
    let note = bundle["checkpoint"].as_str().unwrap().to_string();
    let body = format!("{}\n", note.split("\n\n").next().unwrap());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    bundle["checkpoint"] = json!(format!("{note}{}", witness.cosign(&body, now).to_line()));
    bundle["witnesses"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": WITNESS, "vkey": witness.vkey()}));
    format!(
        "log {}\nwitness {}\nquorum 1\nca test-root\n{}",
        bundle["log_vkey"].as_str().unwrap(),
        witness.vkey(),
        root_pem
    )
}

#[test]
fn pdf_signatures_on_the_page_in_headless_chromium() {
    require_toolchain();
    let s = Server::start();
    let pki = pdf_pki::Pki::new();
    let (_, two) = pki.two_signers();
    let signers: Vec<_> = s.signers.iter().collect();
    let events = contract_flow(&s.services, &signers, DOCUMENT_ID, &two);
    let (status, body) = s.submit(&json!({ "events": events }));
    assert_eq!(status, 200, "{body}");
    let (status, text) =
        s.get(&format!("/v1/documents/{DOCUMENT_ID}/bundle"), Some(&s.tokens.legal));
    assert_eq!(status, 200, "{text}");
    let mut bundle: Value = serde_json::from_str(&text).unwrap();
    let policy = cosign_and_policy(&mut bundle, &pki.pem("root"));
    let bundle_bytes = serde_json::to_vec_pretty(&bundle).unwrap();
    let mut tampered = two.clone();
    let at = tampered.windows(5).rposition(|w| w == b"(Bob)").unwrap();
    tampered[at + 1] = b'R';

    // What the command-line verifier says: the page must show the same.
    let trust = TrustPolicy::parse(&policy).unwrap();
    let now = i64::try_from(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
    )
    .unwrap();
    let options = VerifyOptions::with_policy(trust.clone(), "the PDF page test");
    let verdict = verify_bundle_bytes(&bundle_bytes, &options);
    assert!(verdict.passed, "{}", verdict.verdict.summary);
    let signed = signed_documents(&Bundle::parse(&bundle_bytes).unwrap());
    let expect =
        match_bundle(verify_pdf(&two, &trust, now), true, &verdict.verdict.summary, &signed);
    assert_eq!(expect.verdict.status, PdfVerdictStatus::Verified, "{}", expect.to_text());
    let tampered_report = verify_pdf(&tampered, &trust, now);
    assert_eq!(tampered_report.verdict.status, PdfVerdictStatus::Failed);

    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let pdf = write("合同-signed.pdf", &two);
    let tampered_pdf = write("tampered.pdf", &tampered);
    let bundle_path = write("bundle.json", &bundle_bytes);
    let policy_path = write("court.policy", policy.as_bytes());
    let expect_path = write("expect.json", &serde_json::to_vec(&expect).unwrap());
    let screenshots = repo().join("tests/browser/screenshots");
    let out = Command::new("node")
        .current_dir(repo().join("tests/browser"))
        .args(["--test", "pdf-page.test.mjs"])
        .env("EL_URL", &s.url)
        .env("EL_PDF", &pdf)
        .env("EL_PDF_TAMPERED", &tampered_pdf)
        .env("EL_PDF_BUNDLE", &bundle_path)
        .env("EL_PDF_POLICY", &policy_path)
        .env("EL_PDF_EXPECT", &expect_path)
        .env("EL_SCREENSHOTS", &screenshots)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the PDF page test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("# pass 3") && stdout.contains("# fail 0"), "{stdout}");
}
