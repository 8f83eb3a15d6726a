//! End-to-end: bounded work per request — public verification takes its
//! slot and the client's share before reading a body.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;

/// A client holding a verification open (its body still arriving) gets a
/// fast 429 + Retry-After for a second one; once it lets go, verification
/// is served again.
#[test]
fn a_client_trickling_a_verify_body_holds_only_its_own_share() {
    let s = Server::start();
    let addr = s.url.trim_start_matches("http://").to_string();
    let mut slow = TcpStream::connect(&addr).unwrap();
    write!(
        slow,
        "POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: 10000000\r\n\r\n{{\"bundle\": "
    )
    .unwrap();
    slow.flush().unwrap();
    // Give the server the request head.
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let resp = s.client().post(format!("{}/v1/verify", s.url)).body("{}").send().unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");
    assert!(started.elapsed() < Duration::from_secs(2), "refused fast, not queued");
    // Ingest is not held up by it.
    let h = verifier::Hash::digest(b"doc-l").to_hex();
    let ev = evidence_ledger::flows::signed_event(&s.services.idp, "l-1", "doc-l", &h);
    assert_eq!(s.submit(&ev).0, 200);
    drop(slow);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let resp = s.client().post(format!("{}/v1/verify", s.url)).body("{}").send().unwrap();
        if resp.status().as_u16() != 429 {
            // "{}" is a well-formed request whose bundle fails: a report, 200.
            assert_eq!(resp.status().as_u16(), 200);
            break;
        }
        assert!(Instant::now() < deadline, "the share was not released");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One tenant over its quota gets 429 + Retry-After while another
/// tenant's events go through.
#[test]
fn a_tenant_over_quota_gets_429_while_another_goes_through() {
    let mut s = Server::prepare();
    s.spawn_with(&["--tenant-quota", &format!("{TENANT}=5:0")]);
    let h = verifier::Hash::digest(b"doc-q").to_hex();
    // Each tenant's events are signed for that tenant (attestations v2 bind it).
    let batch_for = |tenant: &str, prefix: &str, n: usize| {
        let events: Vec<_> = (0..n)
            .map(|i| {
                evidence_ledger::flows::signed_event_for(
                    tenant,
                    &s.services.idp,
                    &format!("{prefix}-{i}"),
                    "doc-q",
                    &h,
                )
            })
            .collect();
        serde_json::json!({ "events": events })
    };
    let batch = |prefix: &str, n: usize| batch_for(TENANT, prefix, n);
    // A burst of two seconds' worth passes; the next request is over.
    assert_eq!(s.submit(&batch("a", 10)).0, 200);
    let resp = s
        .client()
        .post(format!("{}/v1/events", s.url))
        .bearer_auth(&s.tokens.submitter)
        .body(serde_json::to_vec(&batch("b", 5)).unwrap())
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    let wait: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    let other = batch_for(OTHER, "g", 50);
    let (status, body) =
        s.post("/v1/events", Some(&s.tokens.other_submitter), serde_json::to_vec(&other).unwrap());
    assert_eq!(status, 200, "{body}");
    // Retry-After is honest: after it, the tenant is served again.
    std::thread::sleep(Duration::from_secs(wait));
    assert_eq!(s.submit(&batch("b", 5)).0, 200);
}

/// `/v1/lookup` answers pages of 100 entries with a cursor; the first
/// page keeps the shape the verifier page reads.
#[test]
fn lookup_is_paged() {
    let s = Server::start();
    let h = verifier::Hash::digest(b"doc-p").to_hex();
    let events: Vec<_> = (0..150)
        .map(|i| {
            evidence_ledger::flows::signed_event(&s.services.idp, &format!("p-{i}"), "doc-p", &h)
        })
        .collect();
    assert_eq!(s.submit(&serde_json::json!({ "events": events })).0, 200);
    let first = s.get_json(&format!("/v1/lookup?document_hash={h}"));
    assert_eq!(first["entries"].as_array().unwrap().len(), 100);
    assert_eq!(first["total_entries"], 150);
    assert_eq!(first["truncated"], true);
    assert_eq!(first["max_entries"], 100);
    let cursor = first["next_cursor"].as_u64().unwrap();
    assert_eq!(first["entries"][99]["index"], cursor);
    let second = s.get_json(&format!("/v1/lookup?document_hash={h}&cursor={cursor}"));
    let entries = second["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 50);
    assert!(entries.iter().all(|e| e["index"].as_u64().unwrap() > cursor));
    assert_eq!(second["truncated"], false);
    assert!(second["next_cursor"].is_null());
    assert_eq!(s.get(&format!("/v1/lookup?document_hash={h}&cursor=x"), None).0, 400);
}
