//! Killing the server: SIGKILL under load loses no acknowledged event;
//! SIGTERM finishes in-flight batches and exits cleanly.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use common::*;
use evidence_ledger::flows::signed_event;
use serde_json::{json, Value};
use verifier::hash::leaf_hash;
use verifier::Hash;

/// Clients submit batches until the server goes away; returns every
/// acknowledged (event_id -> (index, leaf_hash)).
fn load_until_gone(
    s: &Server,
    clients: usize,
    tag: &str,
) -> Vec<std::thread::JoinHandle<HashMap<String, (u64, String)>>> {
    (0..clients)
        .map(|c| {
            let (url, token) = (s.url.clone(), s.tokens.submitter.clone());
            let issuer = evidence_ledger::flows::Issuer {
                name: s.signers[0].issuer.name.clone(),
                key: s.signers[0].issuer.key.clone(),
            };
            let tag = tag.to_string();
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap();
                let mut acked = HashMap::new();
                for b in 0.. {
                    let h = Hash::digest(b"doc").to_hex();
                    let events: Vec<Value> = (0..20)
                        .map(|i| {
                            signed_event(&issuer, &format!("{tag}-{c}-{b}-{i}"), "doc-kill", &h)
                        })
                        .collect();
                    let Ok(resp) = client
                        .post(format!("{url}/v1/events"))
                        .bearer_auth(&token)
                        .json(&json!({"events": events}))
                        .send()
                    else {
                        break;
                    };
                    if resp.status() != 200 {
                        break;
                    }
                    let Ok(body) = resp.json::<Value>() else {
                        break;
                    };
                    for r in body["receipts"].as_array().unwrap() {
                        acked.insert(
                            r["event_id"].as_str().unwrap().to_string(),
                            (
                                r["index"].as_u64().unwrap(),
                                r["leaf_hash"].as_str().unwrap().to_string(),
                            ),
                        );
                    }
                }
                acked
            })
        })
        .collect()
}

fn assert_all_present(s: &Server, acked: &HashMap<String, (u64, String)>) {
    let size = s.tree_size();
    // One client for all the reads (a client per request costs ~1 ms).
    let client = s.client();
    for (id, (index, lh)) in acked {
        assert!(*index < size, "acknowledged {id} at {index} lost (size {size})");
        let url = format!("{}/v1/entries/{index}", s.url);
        let entry: Value = client.get(url).send().unwrap().json().unwrap();
        let leaf = base64::engine::general_purpose::STANDARD
            .decode(entry["leaf"].as_str().unwrap())
            .unwrap();
        assert_eq!(&leaf_hash(&leaf).to_base64(), lh, "{id} altered");
    }
}

#[test]
fn sigkill_under_load_loses_no_acknowledged_event() {
    let mut s = Server::start();
    let mut all = HashMap::new();
    for round in 0..3 {
        let clients = load_until_gone(&s, 8, &format!("k{round}"));
        std::thread::sleep(Duration::from_millis(400 + 300 * round));
        s.kill9();
        for c in clients {
            all.extend(c.join().unwrap());
        }
        s.spawn();
        assert_all_present(&s, &all);
    }
    assert!(all.len() > 100, "too little load: {}", all.len());
}

#[test]
fn sigterm_finishes_in_flight_batches_and_exits_cleanly() {
    let mut s = Server::start();
    let clients = load_until_gone(&s, 8, "term");
    std::thread::sleep(Duration::from_millis(500));
    assert!(s.terminate(), "non-zero exit on SIGTERM");
    let acked: HashMap<_, _> = clients.into_iter().flat_map(|c| c.join().unwrap()).collect();
    s.spawn();
    assert_all_present(&s, &acked);
    assert!(!acked.is_empty());
}
