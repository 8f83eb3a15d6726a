//! The sequencer lease needs progress (docs/postgres.md, "One sequencer
//! at a time"): a sequencer stopped with SIGSTOP under load loses its
//! lease to a standby node within the lease's time, and once resumed
//! (SIGCONT) commits nothing and exits; every receipt either node handed
//! out is in the log, and every checkpoint either handed out is
//! consistent with the survivor's tree.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::appenders::Appenders;
use common::nodes::*;
use common::pg::PgServer;
use common::*;
use verifier::checkpoint::SignedCheckpoint;

/// The lease's time in this test (`--pg-lease-ttl`).
const TTL: &str = "2";

#[test]
fn a_stopped_sequencer_loses_its_lease_and_once_resumed_commits_nothing() {
    let primary = PgServer::start_primary_sync();
    let _standby = PgServer::start_standby(&primary);
    primary.create_db("ledger");
    let mut s = Server::prepare_with(&["--store", &primary.url("ledger")]);
    let flags =
        ["--pg-lease-ttl", TTL, "--pg-commit-timeout", "2", "--pg-require-sync-standby", "1"];
    s.spawn_with(&flags);
    let log = log_verifier(&s);
    let node2 = second_node(s.data());
    let waiting = Node::spawn(node2.path(), &flags);
    let load = Appenders::start(&s.url, &s.tokens.submitter, &s.signers[0].issuer, 3, "l");
    std::thread::sleep(Duration::from_secs(2));
    assert!(waiting.url.try_recv().is_err(), "the standby node serves beside the sequencer");
    let before_stop = checkpoint_at(&s.url);

    // The sequencer stops (SIGSTOP): its sessions stay open, its lease
    // is no longer renewed.
    let old = s.child.as_ref().unwrap().id();
    unsafe_free_kill(old, "STOP");
    let stopped = Instant::now();
    let url2 = waiting.url.recv_timeout(Duration::from_secs(60)).expect("no take-over");
    let took = stopped.elapsed();
    load.point_at(&url2);
    let holder = primary.psql("ledger", "SELECT holder FROM el_lease");
    assert!(holder.ends_with(&format!("pid {}", waiting.child.id())), "{holder}");
    std::thread::sleep(Duration::from_secs(2));

    // Resumed, the old sequencer is asked to append: it must not commit
    // (its sessions were ended, its epoch is fenced) and it exits.
    let leaves_before = leaves_in(&primary);
    unsafe_free_kill(old, "CONT");
    let old_url = s.url.clone();
    let late = common::appenders::Appenders::start(
        &old_url,
        &s.tokens.submitter,
        &s.signers[1].issuer,
        2,
        "late",
    );
    assert_eq!(wait_exit(&mut s), Some(75), "the resumed sequencer did not stop");
    let late = late.stop();

    // The survivor serves on; stop the clients and let it settle.
    let more = load.acked();
    for _ in 0..300 {
        if load.acked() > more {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let seen = load.stop();
    std::thread::sleep(Duration::from_millis(500));
    let survivor = checkpoint_at(&url2);
    let leaves = leaves_in(&primary);
    println!(
        "take-over after {took:?} (lease {TTL} s); acknowledged: {} (+{} by the resumed node); \
         503s: {}; leaves {leaves_before} when resumed, {leaves} at the end; survivor's size {}",
        seen.acked.len(),
        late.acked.len(),
        seen.refused + late.refused,
        survivor.checkpoint.size
    );
    assert!(took < Duration::from_secs(2 + 5), "take-over took {took:?}");
    assert!(late.acked.is_empty(), "the resumed sequencer acknowledged {:?}", late.acked);
    assert!(late.bad.is_empty(), "{:#?}", late.bad);
    assert_eq!(leaves, survivor.checkpoint.size, "leaves the survivor does not serve");
    assert!(!seen.acked.is_empty() && seen.bad.is_empty(), "{:#?}", seen.bad);
    assert!(seen.forks().is_empty(), "forks: {:?}", seen.forks());
    assert_all_present_at(&url2, &seen.acked);
    assert_extends(&url2, &log, &before_stop);
    for note in seen.notes.values() {
        assert_extends(&url2, &log, &SignedCheckpoint::parse(note.as_bytes()).unwrap());
    }
}
