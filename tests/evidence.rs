//! End-to-end: evidence bundles, `POST /v1/verify`, and evidence reports
//! (HTML and PDF, read back with pdftotext) whose issuance is in the log.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use base64::Engine as _;
use common::*;
use ed25519_dalek::Signature;
use evidence_ledger::flows::{contract_flow, Issuer};
use serde_json::{json, Value};
use verifier::attest::{attestation_message_v2, AttestationV2};
use verifier::bundle::{verify_bundle, Bundle, VerifyOptions};
use verifier::note::NoteVerifier;
use verifier::v2::{open_leaf, parse_any_leaf, Leaf};
use verifier::Hash;

const DOC: &str = "contract-88";

fn document(doc: &str) -> Vec<u8> {
    format!("采购合同 purchase agreement {doc}").into_bytes()
}

/// A server with one complete contract flow (two signers) logged.
fn server_with_contract() -> Server {
    let s = Server::start();
    let signers: Vec<_> = s.signers.iter().collect();
    let events = contract_flow(&s.services, &signers, DOC, &document(DOC));
    let (status, body) = s.submit(&json!({"events": events}));
    assert_eq!(status, 200, "{body}");
    s
}

fn vkey(s: &Server) -> String {
    s.get_json("/v1/log")["vkey"].as_str().unwrap().to_string()
}

/// A court that trusts the log's key (this test log has no witnesses).
fn court_options(s: &Server) -> VerifyOptions {
    let mut policy = verifier::policy::TrustPolicy::default();
    policy.add_log(&vkey(s)).unwrap();
    VerifyOptions::with_policy(policy, "the test court's policy")
}

/// The bundle re-signed end to end by a forger's log key of the same name.
fn forge(good: &Bundle) -> Value {
    let forger = verifier::note::NoteSigner::new(
        &good.origin,
        ed25519_dalek::SigningKey::from_bytes(&[99; 32]),
    )
    .unwrap();
    let body = format!("{}\n", good.checkpoint.split_once("\n\n").unwrap().0);
    let mut forged = good.clone();
    forged.log_vkey = forger.vkey();
    forged.checkpoint = format!("{body}\n{}", forger.sign(&body).to_line());
    serde_json::to_value(&forged).unwrap()
}

fn fetch_bundle(s: &Server, token: &str) -> (String, Bundle) {
    let (status, body) = s.get(&format!("/v1/documents/{DOC}/bundle"), Some(token));
    assert_eq!(status, 200, "{body}");
    let bundle = Bundle::parse(body.as_bytes()).expect("bundle parses");
    (body, bundle)
}

fn assert_all_passed(report: &verifier::report::Report) {
    let failed: Vec<_> = report.checks.iter().filter(|c| !c.passed).collect();
    assert!(report.passed && failed.is_empty(), "failed: {failed:#?}");
}

struct Fetched {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

fn fetch(s: &Server, path: &str, token: Option<&str>, accept: Option<&str>) -> Fetched {
    let mut req = s.client().get(format!("{}{path}", s.url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let resp = req.send().unwrap();
    Fetched {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.bytes().unwrap().to_vec(),
    }
}

fn header<'a>(f: &'a Fetched, name: &str) -> &'a str {
    f.headers.get(name).unwrap_or_else(|| panic!("header {name}")).to_str().unwrap()
}

#[test]
fn bundle_for_legal_and_notary_verifies_with_the_document() {
    let s = server_with_contract();
    // An issuer no entry cites stays out of the bundle.
    let unused = Issuer::random("unused-idp");
    let (status, body) = s.post(
        "/v1/issuers",
        Some(&s.tokens.platform),
        serde_json::to_vec(&json!({"name": unused.name, "public_key": unused.public_key_b64()}))
            .unwrap(),
    );
    assert_eq!(status, 200, "{body}");
    let options = court_options(&s).with_document(&document(DOC));
    for token in [&s.tokens.legal, &s.tokens.notary] {
        let (raw, bundle) = fetch_bundle(&s, token);
        let report = verify_bundle(&bundle, &options);
        assert_all_passed(&report);
        assert!(report.checks.iter().any(|c| c.id == "document_hash"));
        assert_eq!(report.timeline.len(), 8);
        let raw: Value = serde_json::from_str(&raw).unwrap();
        assert!(raw.get("tree_size").is_none(), "no top-level tree_size");
        let mut names: Vec<&str> = bundle.issuers.iter().map(|i| i.name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["idp-gov", "intent-svc", "signer:u-1", "signer:u-2"],
            "only the issuers the entries cite"
        );
    }
    // Another document's bytes do not match.
    let wrong = VerifyOptions::default().with_document(b"another file");
    let report = verify_bundle(&fetch_bundle(&s, &s.tokens.legal).1, &wrong);
    assert!(!report.passed);

    let path = format!("/v1/documents/{DOC}/bundle");
    assert_eq!(s.get(&path, None).0, 401);
    assert_eq!(s.get(&path, Some(&s.tokens.submitter)).0, 403);
    assert_eq!(s.get(&path, Some(&s.tokens.admin)).0, 403);
    assert_eq!(s.get(&path, Some(&s.tokens.other_legal)).0, 404);
    assert_eq!(s.get("/v1/documents/nope/bundle", Some(&s.tokens.legal)).0, 404);
}

#[test]
fn verify_endpoint_checks_good_and_tampered_bundles() {
    let s = server_with_contract();
    let (raw, good) = fetch_bundle(&s, &s.tokens.notary);
    let good_json: Value = serde_json::from_str(&raw).unwrap();
    let mut tampered = good.clone();
    // Another leaf in the place of entry 3: its proof no longer leads to the root.
    tampered.entries[3].leaf = good.entries[2].leaf.clone();
    let tampered_json = serde_json::to_value(&tampered).unwrap();
    let post = |body: &Value| s.post("/v1/verify", None, serde_json::to_vec(body).unwrap());

    let (status, report) = post(&good_json);
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["format"], "evidence-report/v1");
    assert_eq!(report["passed"], true, "{report:#}");
    assert_eq!(report["verdict"]["status"], "verified");
    // By default against the service's own anchors, and the answer says so.
    assert!(report["trust"]["source"].as_str().unwrap().contains("this service"), "{report:#}");
    assert_eq!(report["trust"]["log_keys"], json!([vkey(&s)]));
    assert_eq!(report["parties"][1]["display"], "王*");

    // Forged with the forger's own log key: refused against the service's
    // key, and never verified against nothing.
    let forged = forge(&good);
    let (_, report) = post(&forged);
    assert_eq!(report["verdict"]["status"], "failed", "{report:#}");
    let log_check =
        report["checks"].as_array().unwrap().iter().find(|c| c["id"] == "log_signature");
    assert_eq!(log_check.unwrap()["status"], "fail");
    let (_, report) = post(&json!({"bundle": forged, "policy": ""}));
    assert_eq!(report["verdict"]["status"], "no_trusted_log_key", "{report:#}");
    assert_eq!(report["trust"]["source"], "the policy given in the request");
    let policy = format!("log {}\n", vkey(&s));
    let (_, report) = post(&json!({"bundle": good_json, "policy": policy}));
    assert_eq!(report["verdict"]["status"], "verified", "{report:#}");

    let doc_hash = Hash::digest(&document(DOC)).to_hex();
    let (status, report) = post(&json!({
        "bundle": good_json, "document_sha256": doc_hash, "log_key": vkey(&s), "witnesses": []
    }));
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["passed"], true, "{report:#}");
    let ids: Vec<&str> =
        report["checks"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"document_hash"));

    let (status, report) = post(&json!({"bundle": good_json, "document_sha256": "00".repeat(32)}));
    assert_eq!(status, 200);
    assert_eq!(report["passed"], false);

    let (status, report) = post(&tampered_json);
    assert_eq!(status, 200);
    assert_eq!(report["passed"], false);
    let failed: Vec<&Value> =
        report["checks"].as_array().unwrap().iter().filter(|c| c["passed"] == false).collect();
    assert!(failed.iter().any(|c| c["id"] == "inclusion"), "{failed:#?}");

    let (status, out) = post(&json!({"bundles": [
        good_json, tampered_json, {"bundle": good_json, "log_key": vkey(&s)}, {"format": "nonsense"}
    ]}));
    assert_eq!(status, 200, "{out}");
    let verdicts: Vec<&Value> =
        out["reports"].as_array().unwrap().iter().map(|r| &r["passed"]).collect();
    assert_eq!(verdicts, [&json!(true), &json!(false), &json!(true), &json!(false)]);
    assert_eq!(out["reports"][3]["checks"][0]["id"], "bundle_format");

    // Bad input: 4xx with the JSON error shape, never a 5xx.
    let witness = "notary.example/w1+00000000+BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let hundred_and_one = vec![good_json.clone(); 101];
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (b"not json".to_vec(), 400),
        (b"[]".to_vec(), 400),
        (b"{\"a\":1,\"a\":2}".to_vec(), 400),
        (serde_json::to_vec(&json!({"bundles": []})).unwrap(), 400),
        (serde_json::to_vec(&json!({"bundles": {}})).unwrap(), 400),
        (serde_json::to_vec(&json!({"bundles": [1]})).unwrap(), 400),
        (serde_json::to_vec(&json!({"bundles": [], "x": 1})).unwrap(), 400),
        (serde_json::to_vec(&json!({"bundles": hundred_and_one})).unwrap(), 413),
        (serde_json::to_vec(&json!({"bundle": good_json, "log_key": "garbage"})).unwrap(), 400),
        (serde_json::to_vec(&json!({"bundle": good_json, "log_key": witness})).unwrap(), 400),
        (serde_json::to_vec(&json!({"bundle": good_json, "witnesses": [vkey(&s)]})).unwrap(), 400),
        (serde_json::to_vec(&json!({"bundle": good_json, "document_sha256": "AB"})).unwrap(), 400),
        (serde_json::to_vec(&json!({"bundle": good_json, "extra": 1})).unwrap(), 400),
        (serde_json::to_vec(&json!({"bundle": good_json, "policy": "bogus line"})).unwrap(), 400),
        (serde_json::to_vec(&json!({"bundle": good_json, "policy": 7})).unwrap(), 400),
        (serde_json::to_vec(&json!({"bundle": good_json, "witness_threshold": 1})).unwrap(), 400),
        (vec![b' '; 17 << 20], 413),
    ];
    for (i, (body, want)) in cases.into_iter().enumerate() {
        let (status, err) = s.post("/v1/verify", None, body);
        assert_eq!(status, want, "case {i}: {err}");
        assert!(err["error"]["code"].is_string(), "case {i}: {err}");
    }
}

#[test]
fn report_html_and_pdf_are_signed_and_logged() {
    let s = server_with_contract();
    let path = format!("/v1/documents/{DOC}/report");
    let log = NoteVerifier::from_vkey(&vkey(&s)).unwrap();

    // HTML, the default.
    let html = fetch(&s, &path, Some(&s.tokens.legal), None);
    assert_eq!(html.status, 200, "{}", String::from_utf8_lossy(&html.body));
    assert!(header(&html, "content-type").starts_with("text/html"));
    let text = String::from_utf8(html.body.clone()).unwrap();
    for needle in [
        "王*",
        "李*",
        "u-1",
        "时间线 Timeline",
        "identity_verified",
        "intent_verified",
        "手机号三要素 phone 3-factor",
        "短信验证码 SMS code",
        "Result: VERIFIED",
        &Hash::digest(&document(DOC)).to_hex(),
        "verifier verify bundle.json",
    ] {
        assert!(text.contains(needle), "HTML lacks {needle:?}");
    }
    check_logged(&s, &log, &html, "html");

    // PDF, by query and by Accept.
    let pdf = fetch(&s, &format!("{path}?format=pdf"), Some(&s.tokens.legal), None);
    assert_eq!(pdf.status, 200, "{}", String::from_utf8_lossy(&pdf.body));
    assert_eq!(header(&pdf, "content-type"), "application/pdf");
    assert!(pdf.body.starts_with(b"%PDF-"));
    check_logged(&s, &log, &pdf, "pdf");
    let by_accept = fetch(&s, &path, Some(&s.tokens.legal), Some("application/pdf"));
    assert_eq!(header(&by_accept, "content-type"), "application/pdf");

    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("evidence-report-sample.pdf");
    std::fs::write(&file, &pdf.body).unwrap();
    let out = Command::new("pdftotext")
        .args(["-layout", file.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (Debian poppler-utils) is installed by scripts/env.sh");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "电子合同存证报告",
        "时间线 Timeline",
        "王*",
        "李*",
        "identity_verified",
        "intent_verified",
        "signed",
        "completed",
        "签署",
        "北京时间",
        DOC,
    ] {
        assert!(text.contains(needle), "PDF text lacks {needle:?}:\n{text}");
    }

    // The bundle now carries the report entries, and still verifies whole.
    let (_, bundle) = fetch_bundle(&s, &s.tokens.legal);
    let options = court_options(&s).with_document(&document(DOC));
    let report = verify_bundle(&bundle, &options);
    assert_all_passed(&report);
    assert_eq!(report.timeline.iter().filter(|t| t.kind == "report_issued").count(), 3);
    assert!(bundle.issuers.iter().any(|i| i.name == "evidence-ledger"));

    // Who may ask.
    assert_eq!(s.get(&path, None).0, 401);
    assert_eq!(s.get(&path, Some(&s.tokens.notary)).0, 403);
    assert_eq!(s.get(&path, Some(&s.tokens.submitter)).0, 403);
    assert_eq!(s.get(&path, Some(&s.tokens.other_legal)).0, 404);
    assert_eq!(s.get("/v1/documents/nope/report", Some(&s.tokens.legal)).0, 404);
    assert_eq!(s.get(&format!("{path}?format=docx"), Some(&s.tokens.legal)).0, 400);
}

/// The headers name the body's hash, a `report_issued` entry holding it,
/// and the log key's signature over that entry's attestation.
fn check_logged(s: &Server, log: &NoteVerifier, f: &Fetched, format: &str) {
    let sha = header(f, "x-report-sha256");
    assert_eq!(sha, Hash::digest(&f.body).to_hex(), "hash header matches the body");
    let index = header(f, "x-report-entry-index");
    let entry = s.get_json(&format!("/v1/entries/{index}"));
    // The public leaf is v2: a commitment and a time, not the event.
    assert_eq!(entry["entry"]["format"], "evidence-leaf/v2");
    for hidden in ["event", "tenant"] {
        assert!(entry["entry"].get(hidden).is_none(), "public leaf shows {hidden}: {entry}");
    }
    let leaf =
        base64::engine::general_purpose::STANDARD.decode(entry["leaf"].as_str().unwrap()).unwrap();
    let Leaf::V2(v2) = parse_any_leaf(&leaf).unwrap() else { panic!("v1 leaf at {index}") };
    // The report_issued entry, as the contract's bundle (legal) opens it.
    let (_, bundle) = fetch_bundle(s, &s.tokens.legal);
    let be = bundle
        .entries
        .iter()
        .find(|e| e.index.to_string() == index)
        .unwrap_or_else(|| panic!("report entry {index} not in the bundle"));
    assert_eq!(be.leaf, entry["leaf"].as_str().unwrap());
    let record = be.record.as_ref().expect("the report entry's record");
    open_leaf(&v2, record).expect("the record opens the public leaf");
    assert_eq!(record["tenant"], TENANT);
    let ev = &record["event"];
    assert_eq!(ev["kind"], "report_issued");
    assert_eq!(ev["document_id"], DOC);
    assert_eq!(ev["event_id"], header(f, "x-report-event-id"));
    let att = &ev["attestations"][0];
    assert_eq!(att["issuer"], "evidence-ledger");
    assert_eq!(att["v"], 2);
    assert_eq!(att["claim"], json!({"format": format, "report_sha256": sha}));
    assert_eq!(att["signature"], header(f, "x-report-signature"));
    let msg = attestation_message_v2(&AttestationV2 {
        tenant: TENANT,
        document_id: DOC,
        document_hash_hex: ev["document_hash"].as_str().unwrap(),
        event_id: ev["event_id"].as_str().unwrap(),
        kind: "report_issued",
        actor_id: ev["actor"]["id"].as_str().unwrap(),
        issuer: "evidence-ledger",
        claim: &att["claim"],
    });
    let sig =
        base64::engine::general_purpose::STANDARD.decode(header(f, "x-report-signature")).unwrap();
    let sig = Signature::from_slice(&sig).unwrap();
    log.key.verify_strict(&msg, &sig).expect("signed by the log key");
}

/// `POST /v1/verify` reaches the verdict of every conformance case
/// (verifier/testdata/conformance) when given the case's policy: forged
/// bundles, invented and impersonated witnesses, escape sequences, tokens
/// from a self-made root. The cases that depend on the verifier's clock (a
/// cosignature dated after the case's "now", named "...future...") are left
/// out: the service uses its own clock.
#[test]
fn verify_endpoint_agrees_with_the_conformance_corpus() {
    let s = Server::start();
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("verifier/testdata/conformance");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".json") || name.contains("future") {
            continue;
        }
        let case: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let mut item = match (case.get("bundle"), case.get("lookup")) {
            (Some(b), _) => json!({"bundle": b, "policy": case["policy"]}),
            (None, Some(l)) => json!({"lookup": l, "policy": case["policy"]}),
            (None, None) => continue,
        };
        if let Some(h) = case.get("document_sha256") {
            item["document_sha256"] = h.clone();
        }
        let (status, report) = s.post("/v1/verify", None, serde_json::to_vec(&item).unwrap());
        assert_eq!(status, 200, "{name}: {report}");
        let ids = |st: &str| -> Vec<String> {
            let mut v: Vec<String> = report["checks"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["status"] == st)
                .map(|c| c["id"].as_str().unwrap().to_string())
                .collect();
            v.sort();
            v.dedup();
            v
        };
        let want = &case["expect"];
        assert_eq!(report["verdict"]["status"], want["verdict"], "{name}: {report:#}");
        assert_eq!(json!(ids("fail")), want["fail"], "{name}");
        assert_eq!(json!(ids("unanchored")), want["unanchored"], "{name}");
        assert_eq!(report["trust"]["source"], "the policy given in the request");
        checked += 1;
    }
    assert!(checked >= 30, "{checked} cases");
}
