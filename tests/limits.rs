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
