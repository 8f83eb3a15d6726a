//! Killing the server: SIGKILL under load loses no acknowledged event;
//! SIGTERM finishes in-flight batches and exits cleanly.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;

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
