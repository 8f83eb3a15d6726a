//! A hung database (every PostgreSQL process stopped with SIGSTOP) holds
//! no async worker (docs/postgres.md, "A hung database"): `/healthz`
//! answers at once, and authenticated requests, whose token lookup waits
//! on the store, are answered 503 + `Retry-After` within their deadline
//! instead of stalling the runtime; once the database runs again, they
//! are served. On the way, the per-tenant token index on PostgreSQL.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::pg::PgServer;
use common::*;
use evidence_ledger::flows::signed_event;
use verifier::Hash;

#[test]
fn a_hung_database_leaves_healthz_answering_and_requests_get_503() {
    let primary = PgServer::start_primary();
    primary.create_db("ledger");
    let mut s = Server::prepare_with(&["--store", &primary.url("ledger")]);
    // A lease far longer than the stop: this test is about the workers.
    s.spawn_with(&["--pg-lease-ttl", "300", "--pg-commit-timeout", "3"]);
    let h = Hash::digest(b"doc-h").to_hex();
    assert_eq!(s.submit(&signed_event(&s.services.idp, "h-1", "doc-h", &h)).0, 200);
    // The per-tenant token index on PostgreSQL: the admin lists its
    // tenant's 4 tokens, the platform the other tenant's 2.
    let listed = |token: &str, query: &str| {
        let (status, body) = s.get(&format!("/v1/tokens{query}"), Some(token));
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["tokens"].as_array().unwrap().iter().map(|t| t["tenant"].clone()).collect::<Vec<_>>()
    };
    assert_eq!(listed(&s.tokens.admin, ""), vec![serde_json::json!(TENANT); 4]);
    let other = format!("?tenant={OTHER}");
    assert_eq!(listed(&s.tokens.platform, &other), vec![serde_json::json!(OTHER); 2]);

    let paused = primary.pause();
    // More authenticated requests at once than the service has async
    // workers (2): each waits on the store.
    let requests: Vec<_> = (0..8)
        .map(|i| {
            let (url, token) = (s.url.clone(), s.tokens.admin.clone());
            std::thread::spawn(move || {
                let client =
                    reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build();
                let started = Instant::now();
                let path = if i % 2 == 0 { "/v1/tokens" } else { "/v1/issuers" };
                let r = client.unwrap().get(format!("{url}{path}")).bearer_auth(token).send();
                let r = r.unwrap();
                let retry = r.headers().get("retry-after").is_some();
                (r.status().as_u16(), retry, started.elapsed())
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    // The async workers are free: /healthz answers promptly, every time.
    let quick =
        reqwest::blocking::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    for _ in 0..10 {
        let started = Instant::now();
        let r = quick.get(format!("{}/healthz", s.url)).send().expect("healthz answered");
        assert_eq!(r.status().as_u16(), 200);
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        std::thread::sleep(Duration::from_millis(200));
    }
    for r in requests {
        let (status, retry, took) = r.join().unwrap();
        assert_eq!(status, 503, "an authenticated request while the database is hung");
        assert!(retry, "503 without Retry-After");
        // The deadline is 5 s; generous bound for a loaded machine.
        assert!(took < Duration::from_secs(20), "{took:?}");
    }
    drop(paused);
    // The database runs again: requests are served.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if s.get("/v1/tokens", Some(&s.tokens.admin)).0 == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "not served after the database resumed");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(s.submit(&signed_event(&s.services.idp, "h-2", "doc-h", &h)).0, 200);
    assert!(s.terminate());
}
