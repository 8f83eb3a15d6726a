//! End-to-end: the per-contract chain of record v3 (docs/evidence-v2.md,
//! "Record v3"), written by the sequencer in log order, through concurrent
//! single-event requests to one contract interleaved with other contracts'
//! events, and across a restart of the server; read back in the contract's
//! bundle, whose `completeness` check must find no gap.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine as _;
use common::pg::PgServer;
use common::*;
use evidence_ledger::flows::contract_flow;
use serde_json::{json, Value};
use verifier::bundle::{verify_bundle_bytes, VerifyOptions};
use verifier::hash::leaf_hash;
use verifier::policy::TrustPolicy;
use verifier::v3::Chain;

/// Submits each event in its own request, `threads` requests at a time,
/// the events of `mixed` (other contracts) sent beside them.
fn submit_concurrently(s: &Server, ours: &[Value], mixed: &[Value]) {
    std::thread::scope(|scope| {
        for batch in [ours, mixed] {
            for ev in batch {
                scope.spawn(move || {
                    let (status, body) = s.submit(ev);
                    assert_eq!(status, 200, "{body}");
                });
            }
        }
    });
}

#[test]
fn the_chain_follows_log_order_across_concurrent_requests_and_a_restart() {
    let mut s = Server::start();
    chain_through_concurrency_and_a_restart(&mut s);
}

/// The same on PostgreSQL: the chain heads are read in one round trip per
/// group and written in the group's transaction.
#[test]
fn the_chain_follows_log_order_on_postgresql() {
    let pg = PgServer::start_primary();
    pg.create_db("ledger");
    let mut s = Server::prepare_with(&["--store", &pg.url("ledger")]);
    s.spawn();
    chain_through_concurrency_and_a_restart(&mut s);
}

fn chain_through_concurrency_and_a_restart(s: &mut Server) {
    let signers: Vec<_> = s.signers.iter().collect();
    let ours = contract_flow(&s.services, &signers, "chain-1", b"the chained contract");
    let other = contract_flow(&s.services, &signers, "chain-2", b"another contract");
    let third = contract_flow(&s.services, &signers, "chain-3", b"a third contract");
    assert_eq!(ours.len(), 8);
    // Half of the contract, one event per request, all at once with the
    // other contract's events; then a restart (chain heads come from the
    // store); then the other half, likewise.
    submit_concurrently(s, &ours[..4], &other);
    s.restart();
    submit_concurrently(s, &ours[4..], &third);

    let (status, raw) = s.get("/v1/documents/chain-1/bundle", Some(&s.tokens.legal));
    assert_eq!(status, 200, "{raw}");
    let bundle: Value = serde_json::from_str(&raw).unwrap();
    let entries = bundle["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 8);
    // In log order, each record names the contract's previous leaf and its
    // position, whatever the order the requests arrived in.
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut prev = None;
    for (seq, e) in entries.iter().enumerate() {
        assert_eq!(e["record"]["format"], "evidence-record/v3");
        let chain = Chain::parse(&e["record"]["chain"]).unwrap();
        assert_eq!(chain, Chain { prev, seq: seq as u64 }, "entry {}", e["index"]);
        prev = Some(leaf_hash(&b64.decode(e["leaf"].as_str().unwrap()).unwrap()));
    }
    let vkey = s.get_json("/v1/log")["vkey"].as_str().unwrap().to_owned();
    let policy = TrustPolicy::parse(&format!("log {vkey}\n")).unwrap();
    let report = verify_bundle_bytes(raw.as_bytes(), &VerifyOptions::with_policy(policy, "test"));
    let check = report.checks.iter().find(|c| c.id == "completeness").expect("checked");
    assert!(check.passed, "{}", report.to_text());
    let fact = report.completeness.as_ref().unwrap();
    assert!(fact.complete && fact.through_completion, "{fact:?}");
    assert_eq!(fact.entries, 8);

    // The other contracts' chains are their own: each starts at seq 0.
    for doc in ["chain-2", "chain-3"] {
        let (status, raw) = s.get(&format!("/v1/documents/{doc}/bundle"), Some(&s.tokens.legal));
        assert_eq!(status, 200);
        let b: Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(b["entries"][0]["record"]["chain"], json!({"prev": null, "seq": 0}));
        assert_eq!(b["entries"][7]["record"]["chain"]["seq"], 7);
    }
    // A replayed event gets its receipt back and adds no link.
    let (status, _) = s.submit(&ours[2]);
    assert_eq!(status, 200);
    let (_, again) = s.get("/v1/documents/chain-1/bundle", Some(&s.tokens.legal));
    let again: Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["entries"].as_array().unwrap().len(), 8);
}
