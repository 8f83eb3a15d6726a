//! End-to-end: issuing evidence reports idempotently
//! (`POST /v1/documents/{id}/reports` + `Idempotency-Key`), reading them
//! back without side effects, and the legacy `GET .../report`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use evidence_ledger::flows::contract_flow;
use serde_json::json;
use serde_json::Value;
use verifier::v2::{open_leaf, parse_any_leaf, Leaf};
use verifier::Hash;

/// The record (authorized view) of entry `index` of the contract, from its
/// bundle as legal, checked to open the public leaf.
fn record_of(s: &Server, index: u64) -> Value {
    let (status, body) = s.get(&format!("/v1/documents/{DOC}/bundle"), Some(&s.tokens.legal));
    assert_eq!(status, 200, "{body}");
    let bundle = verifier::bundle::Bundle::parse(body.as_bytes()).unwrap();
    let e = bundle
        .entries
        .into_iter()
        .find(|e| e.index == index)
        .unwrap_or_else(|| panic!("entry {index} not in the bundle"));
    let leaf = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &e.leaf).unwrap();
    let Leaf::V2(v2) = parse_any_leaf(&leaf).unwrap() else { panic!("entry {index}: v1 leaf") };
    let record = e.record.expect("a record");
    open_leaf(&v2, &record).expect("the record opens the leaf");
    record
}

const DOC: &str = "contract-r";

fn server_with_contract() -> Server {
    let s = Server::start();
    let signers: Vec<_> = s.signers.iter().collect();
    let events = contract_flow(&s.services, &signers, DOC, format!("合同 {DOC}").as_bytes());
    assert_eq!(s.submit(&json!({"events": events})).0, 200);
    s
}

/// (status, headers, body) of a request as `token`.
fn call(
    s: &Server,
    method: &str,
    path: &str,
    token: &str,
    key: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let url = format!("{}{path}", s.url);
    let mut req = match method {
        "POST" => s.client().post(url),
        _ => s.client().get(url),
    }
    .bearer_auth(token);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let resp = req.send().unwrap();
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    (status, headers, resp.bytes().unwrap().to_vec())
}

fn header<'a>(h: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    h.get(name).unwrap_or_else(|| panic!("header {name}")).to_str().unwrap()
}

/// The same report request twice appends one entry and answers the same
/// file; reading it back appends nothing.
#[test]
fn the_same_report_request_twice_appends_one_entry() {
    let mut s = server_with_contract();
    let legal = &s.tokens.legal.clone();
    let path = format!("/v1/documents/{DOC}/reports");
    let before = s.tree_size_latest();
    let (status, h1, body1) = call(&s, "POST", &path, legal, Some("req-1"));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body1));
    assert_eq!(s.tree_size_latest(), before + 1);
    let (status, h2, body2) = call(&s, "POST", &path, legal, Some("req-1"));
    assert_eq!(status, 200);
    assert_eq!(s.tree_size_latest(), before + 1, "same key: no new entry");
    assert_eq!(body1, body2, "same key: same report");
    for name in ["x-report-event-id", "x-report-entry-index", "x-report-sha256"] {
        assert_eq!(header(&h1, name), header(&h2, name), "{name}");
    }
    assert_eq!(header(&h1, "x-report-sha256"), Hash::digest(&body1).to_hex());
    let index: u64 = header(&h1, "x-report-entry-index").parse().unwrap();
    assert_eq!(index, before);
    let entry = s.get_json(&format!("/v1/entries/{index}"));
    // The public leaf is v2 and shows neither the kind nor the event ...
    assert_eq!(entry["entry"]["format"], "evidence-leaf/v2");
    for hidden in ["event", "tenant"] {
        assert!(entry["entry"].get(hidden).is_none(), "public leaf shows {hidden}: {entry}");
    }
    // ... the contract's bundle (legal) holds the record that opens it.
    let record = record_of(&s, index);
    assert_eq!(record["tenant"], TENANT);
    assert_eq!(record["event"]["kind"], "report_issued");
    assert_eq!(record["event"]["event_id"], header(&h1, "x-report-event-id"));

    // Read back by id: the same bytes, no side effect.
    let location = header(&h1, "location").to_string();
    let id = header(&h1, "x-report-event-id");
    assert_eq!(location, format!("/v1/documents/{DOC}/reports/{id}"));
    let (status, _, body3) = call(&s, "GET", &location, legal, None);
    assert_eq!(status, 200);
    assert_eq!(body3, body1);
    assert_eq!(s.tree_size_latest(), before + 1, "reading appends nothing");
    // Another tenant's legal team, or a wrong document, finds nothing.
    assert_eq!(call(&s, "GET", &location, &s.tokens.other_legal, None).0, 404);
    let wrong = format!("/v1/documents/other-doc/reports/{id}");
    assert_eq!(call(&s, "GET", &wrong, legal, None).0, 404);
    assert_eq!(call(&s, "GET", &location, &s.tokens.notary, None).0, 403);

    // Another key: another report. The same key for another format: 409.
    let (status, h4, _) = call(&s, "POST", &path, legal, Some("req-2"));
    assert_eq!(status, 200);
    assert_ne!(header(&h4, "x-report-event-id"), id);
    assert_eq!(s.tree_size_latest(), before + 2);
    let pdf = format!("{path}?format=pdf");
    assert_eq!(call(&s, "POST", &pdf, legal, Some("req-1")).0, 409);
    // No key, or a malformed one: 400, nothing written.
    assert_eq!(call(&s, "POST", &path, legal, None).0, 400);
    assert_eq!(call(&s, "POST", &path, legal, Some("bad key")).0, 400);
    assert_eq!(s.tree_size_latest(), before + 2);
    // Idempotent across a restart too.
    s.restart();
    let (status, _, body5) = call(&s, "POST", &path, legal, Some("req-1"));
    assert_eq!(status, 200);
    assert_eq!(body5, body1);
    assert_eq!(s.tree_size_latest(), before + 2);
}

/// The legacy `GET .../report` still issues (and logs) a report per call,
/// readable back by its id.
#[test]
fn legacy_report_get_still_works() {
    let s = server_with_contract();
    let before = s.tree_size_latest();
    let (status, h, body) =
        call(&s, "GET", &format!("/v1/documents/{DOC}/report"), &s.tokens.legal, None);
    assert_eq!(status, 200);
    assert_eq!(s.tree_size_latest(), before + 1);
    let (status, _, again) = call(&s, "GET", header(&h, "location"), &s.tokens.legal, None);
    assert_eq!(status, 200);
    assert_eq!(again, body);
}

/// Reports do not grow a contract's bundle without bound: it carries the
/// newest report entries and says how many older ones it left out.
#[test]
fn bundles_carry_only_the_newest_report_entries() {
    let s = server_with_contract();
    let path = format!("/v1/documents/{DOC}/reports");
    for i in 0..12 {
        let key = format!("k-{i}");
        assert_eq!(call(&s, "POST", &path, &s.tokens.legal, Some(&key)).0, 200);
    }
    let (status, h, raw) =
        call(&s, "GET", &format!("/v1/documents/{DOC}/bundle"), &s.tokens.legal, None);
    assert_eq!(status, 200);
    assert_eq!(header(&h, "x-omitted-report-entries"), "2");
    let bundle = verifier::bundle::Bundle::parse(&raw).unwrap();
    let kinds: Vec<String> = bundle
        .entries
        .iter()
        .map(|e| {
            let leaf = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &e.leaf)
                .unwrap();
            let Leaf::V2(v2) = parse_any_leaf(&leaf).unwrap() else {
                panic!("entry {}: v1 leaf", e.index)
            };
            let record =
                e.record.as_ref().unwrap_or_else(|| panic!("entry {}: no record", e.index));
            let (opened, _) = open_leaf(&v2, record).expect("the record opens the leaf");
            opened.event.kind.as_str().to_string()
        })
        .collect();
    assert_eq!(kinds.iter().filter(|k| *k == "report_issued").count(), 10);
    assert_eq!(kinds.len(), 8 + 10, "every contract event is kept");
    let vkey = s.get_json("/v1/log")["vkey"].as_str().unwrap().to_string();
    let mut policy = verifier::policy::TrustPolicy::default();
    policy.add_log(&vkey).unwrap();
    let options = verifier::bundle::VerifyOptions::with_policy(policy, "test court");
    let report = verifier::bundle::verify_bundle(&bundle, &options);
    assert!(report.passed, "{:?}", report.checks);
}
