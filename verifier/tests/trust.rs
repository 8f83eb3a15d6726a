//! What a verdict rests on (docs/trust-policy.md): anchors only from the
//! policy, claims shown as claims, pinned issuers, and text that is safe to
//! print whatever a bundle holds.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

mod common;

use base64::Engine as _;
use common::*;
use serde_json::{json, Value};
use verifier::bundle::{verify_bundle, verify_bundle_bytes, VerifyOptions};
use verifier::report::{check_id, is_unsafe_char, json_terminal_safe, CheckStatus, VerdictStatus};

fn b64e(s: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn pinned_issuer_keys_replace_the_bundles() {
    let world = World::new();
    let mut bundle = world.bundle(&world.contract_flow());
    // The bundle lists a wrong key for idp-gov; the court pins the real one.
    let wrong = key(200).verifying_key();
    let idp = bundle.issuers.iter_mut().find(|i| i.name == "idp-gov").unwrap();
    idp.public_key = b64(wrong.as_bytes());
    let report = verify_bundle(&bundle, &world.strict_options());
    assert_eq!(report.verdict.status, VerdictStatus::Failed);
    let mut policy = world.policy();
    policy.add_issuer("idp-gov", &b64(world.issuer("idp-gov").verifying_key().as_bytes())).unwrap();
    let options = VerifyOptions::with_policy(policy.clone(), "pinned").with_document(DOCUMENT);
    let report = verify_bundle(&bundle, &options);
    assert!(report.passed, "{}", report.to_text());
    let att = report
        .checks
        .iter()
        .find(|c| c.id == check_id::ATTESTATIONS && c.subject.as_deref() == Some("5"));
    assert!(att.unwrap().detail.contains("the key your policy pins"), "{att:?}");
    // A pinned key that is not the signer's fails, whatever the bundle says.
    let mut wrong_pin = world.policy();
    wrong_pin.add_issuer("intent-svc", &b64(wrong.as_bytes())).unwrap();
    let good = world.bundle(&world.contract_flow());
    let report = verify_bundle(&good, &VerifyOptions::with_policy(wrong_pin, "wrong pin"));
    assert_eq!(report.failures().map(|c| c.id).collect::<Vec<_>>(), ["attestations"; 2]);
}

#[test]
fn every_signature_check_names_the_key_it_used() {
    let world = World::new();
    let report = verify_bundle(&world.bundle(&world.contract_flow()), &world.strict_options());
    let detail = |id: &str| report.checks.iter().find(|c| c.id == id).unwrap().detail.clone();
    assert!(detail(check_id::LOG_SIGNATURE).contains(&world.log.vkey()));
    assert!(detail(check_id::COSIGNATURE).contains(&world.witnesses[0].vkey()));
    assert_eq!(report.trust.log_keys, [world.log.vkey()]);
    assert_eq!(report.trust.quorum, 2);
    assert!(report.witnesses.iter().all(|w| w.trusted && w.key_id.len() == 8));
    let text = report.to_text();
    assert!(text.contains(&world.witnesses[1].vkey()), "{text}");
}

#[test]
fn unanchored_checks_never_count_as_passed() {
    let world = World::new();
    let report = verify_bundle(&world.bundle(&world.contract_flow()), &VerifyOptions::default());
    for c in &report.checks {
        assert_eq!(c.passed, c.status == CheckStatus::Pass, "{c:?}");
    }
    assert!(report.checks.iter().any(|c| c.status == CheckStatus::Unanchored));
    assert!(!report.passed);
    assert!(report.verdict.summary.starts_with("NOT VERIFIED"));
}

/// Every string path of a JSON value.
fn string_paths(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::String(_) => out.push(at.clone()),
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                at.push(i.to_string());
                string_paths(x, at, out);
                at.pop();
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                at.push(k.clone());
                string_paths(x, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn at_mut<'a>(v: &'a mut Value, path: &[String]) -> &'a mut Value {
    path.iter().fold(v, |v, k| match v {
        Value::Array(a) => &mut a[k.parse::<usize>().unwrap()],
        Value::Object(m) => m.get_mut(k).unwrap(),
        _ => unreachable!(),
    })
}

const NASTY: &str = "\u{1b}[2K\u{1b}[1A\r\u{9b}31m\u{202e}\u{2066}\u{7f}\u{85}✔ All checks passed.";

fn assert_printable(report: &verifier::report::Report, what: &str) {
    let text = report.to_text();
    if let Some(c) = text.chars().find(|&c| is_unsafe_char(c) && c != '\n') {
        panic!("{what}: the text report carries {:?}:\n{text}", c);
    }
    let json = json_terminal_safe(&serde_json::to_string_pretty(report).unwrap());
    if let Some(c) = json.chars().find(|&c| is_unsafe_char(c) && c != '\n') {
        panic!("{what}: the JSON report carries {:?}", c);
    }
    let back: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        back,
        serde_json::to_value(report).unwrap(),
        "{what}: escaping changed the JSON value"
    );
}

#[test]
fn escape_sequences_through_every_field_never_reach_the_terminal() {
    let world = World::new();
    let bundle: Value =
        serde_json::from_slice(&world.bundle(&world.contract_flow()).to_json()).unwrap();
    let mut paths = Vec::new();
    string_paths(&bundle, &mut Vec::new(), &mut paths);
    let mut tried = 0;
    for path in &paths {
        let mut b = bundle.clone();
        let s = at_mut(&mut b, path);
        *s = json!(format!("{}{NASTY}", s.as_str().unwrap()));
        let report = verify_bundle_bytes(&serde_json::to_vec(&b).unwrap(), &world.strict_options());
        assert!(!report.passed, "{path:?} changed, yet verified");
        assert_printable(&report, &format!("bundle field {path:?}"));
        tried += 1;
    }
    // Inside the leaves: every string of every event, and an unknown member
    // whose name carries the sequences.
    let entries = bundle["entries"].as_array().unwrap().len();
    for e in 0..entries {
        let leaf_b64 = bundle["entries"][e]["leaf"].as_str().unwrap();
        let leaf: Value = serde_json::from_slice(&unb64(leaf_b64)).unwrap();
        let mut inner = Vec::new();
        string_paths(&leaf, &mut Vec::new(), &mut inner);
        let mut variants: Vec<Value> = inner
            .iter()
            .map(|p| {
                let mut l = leaf.clone();
                let s = at_mut(&mut l, p);
                *s = json!(format!("{}{NASTY}", s.as_str().unwrap()));
                l
            })
            .collect();
        let mut unknown = leaf.clone();
        unknown[format!("x{NASTY}")] = json!(NASTY);
        variants.push(unknown);
        for l in variants {
            let mut b = bundle.clone();
            b["entries"][e]["leaf"] = json!(b64e(&verifier::jcs::to_canonical(&l)));
            let report =
                verify_bundle_bytes(&serde_json::to_vec(&b).unwrap(), &world.strict_options());
            assert!(!report.passed);
            assert_printable(&report, &format!("leaf {e}"));
            tried += 1;
        }
    }
    assert!(tried > 100, "{tried}");
}

#[test]
fn the_binary_prints_no_escape_sequence() {
    let world = World::new();
    let mut flow = world.contract_flow();
    flow[1]["attestations"][0]["claim"]["result"] = json!(NASTY);
    let mut bundle = world.bundle(&flow);
    bundle.tenant = format!("acme{NASTY}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.json");
    std::fs::write(&path, bundle.to_json()).unwrap();
    for json in [false, true] {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_verifier"));
        cmd.args(["verify", path.to_str().unwrap(), "--log-key", &world.log.vkey()]);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(!stdout.chars().any(|c| is_unsafe_char(c) && c != '\n'), "{stdout}");
        if !json {
            assert!(stdout.contains("✘ FAIL"), "{stdout}");
            assert!(stdout.contains("NOT VERIFIED"), "{stdout}");
        }
    }
}

/// Serves `body` as the answer to one HTTP request on 127.0.0.1; returns the
/// base URL.
fn serve_once(body: String) -> String {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        if let Ok((mut conn, _)) = listener.accept() {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(head.as_bytes());
            let _ = conn.write_all(body.as_bytes());
        }
    });
    url
}

fn verifier(args: &[&str]) -> (i32, String, String) {
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_verifier")).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn policy_fetch_writes_a_clean_policy_and_refuses_smuggled_lines() {
    let world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("court.policy");
    let out = out.to_str().unwrap();
    let answer = json!({
        "origin": ORIGIN, "vkey": world.log.vkey(),
        "witnesses": world.witnesses.iter().map(|w| json!({"name": w.name(), "vkey": w.vkey()})).collect::<Vec<_>>(),
        "quorum": {"required": [], "threshold": 1, "witnesses": 2, "counted_by": "distinct witness keys"},
    });
    let (code, _, err) =
        verifier(&["policy", "fetch", &serve_once(answer.to_string()), "--out", out]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("compare its keys"), "{err}");
    let text = std::fs::read_to_string(out).unwrap();
    assert!(text.contains("WARNING"), "{text}");
    let policy = verifier::policy::TrustPolicy::parse(&text).unwrap();
    assert_eq!((policy.logs.len(), policy.witnesses.len(), policy.quorum), (1, 2, Some(1)));

    // A hostile answer: the genuine keys, plus a TSA name that smuggles a
    // log key and "quorum 0" into the file behind a carriage return.
    let evil_log = verifier::note::NoteSigner::new(ORIGIN, key(66)).unwrap().vkey();
    let mut hostile = answer.clone();
    hostile.as_object_mut().unwrap().remove("quorum");
    hostile["timestamp_authorities"] = json!([{
        "name": format!("national-tsa\nlog {evil_log} #\r# comment\nquorum 0 #\r#"),
        "root_pem": "x",
    }]);
    let bad_out = dir.path().join("bad.policy");
    let (code, _, err) = verifier(&[
        "policy",
        "fetch",
        &serve_once(hostile.to_string()),
        "--out",
        bad_out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("[A-Za-z0-9._:-]"), "{err}");
    assert!(!bad_out.exists(), "nothing written");
    // Plain http:// is for this machine only.
    let (code, _, err) = verifier(&["policy", "fetch", "http://ledger.example.com"]);
    assert_eq!(code, 2);
    assert!(err.contains("https://"), "{err}");
}
