//! Synchronous replication's corner cases on PostgreSQL (docs/postgres.md,
//! "What is acknowledged"), each a failure tried on purpose against real
//! servers started here: a `COMMIT` whose wait for the synchronous standby
//! is cancelled or whose backend is terminated acknowledges nothing, the
//! head it may have left is not served (nor replayed) until confirmed, and
//! a failover afterwards leaves no hole and no fork; a commit deadline
//! with the standby down; a node refusing a database rolled back behind
//! what another node handed out.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::nodes::*;
use common::pg::PgServer;
use common::witness::*;
use common::*;
use evidence_ledger::flows::signed_event;
use serde_json::{json, Value};
use verifier::checkpoint::SignedCheckpoint;
use verifier::note::NoteVerifier;
use verifier::Hash;

/// The answer to one submission: status, `Retry-After`, body.
struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: Value,
}

/// `count` events of one new batch, ids `{tag}-{i}`.
fn batch(s: &Server, tag: &str, count: usize) -> Value {
    let h = Hash::digest(tag.as_bytes()).to_hex();
    let events: Vec<Value> = (0..count)
        .map(|i| signed_event(&s.signers[0].issuer, &format!("{tag}-{i}"), tag, &h))
        .collect();
    json!({ "events": events })
}

fn submit_at(url: &str, token: &str, body: &Value) -> Answer {
    let client =
        reqwest::blocking::Client::builder().timeout(Duration::from_secs(300)).build().unwrap();
    let resp =
        client.post(format!("{url}/v1/events")).bearer_auth(token).json(body).send().unwrap();
    let status = resp.status().as_u16();
    let retry_after =
        resp.headers().get("retry-after").map(|v| v.to_str().unwrap_or_default().to_string());
    let text = resp.text().unwrap();
    Answer { status, retry_after, body: serde_json::from_str(&text).unwrap_or(Value::Null) }
}

/// Submits `body` while the synchronous standby is down, and ends every
/// wait for it on `primary` with `how` (`pg_cancel_backend` or
/// `pg_terminate_backend`) until the submission is answered.
fn submit_ending_syncrep_waits(s: &Server, primary: &PgServer, body: &Value, how: &str) -> Answer {
    let (url, token, body) = (s.url.clone(), s.tokens.submitter.clone(), body.clone());
    let submission = std::thread::spawn(move || submit_at(&url, &token, &body));
    let mut ended = 0;
    for _ in 0..1200 {
        if submission.is_finished() {
            break;
        }
        for pid in primary.syncrep_waiters() {
            primary.psql("postgres", &format!("SELECT {how}({pid})"));
            ended += 1;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(ended > 0, "no commit waited for the standby");
    submission.join().unwrap()
}

fn assert_refused_without_receipt(a: &Answer) {
    assert_eq!(a.status, 503, "{}", a.body);
    assert!(a.retry_after.is_some(), "503 without Retry-After: {}", a.body);
    assert!(a.body.get("receipts").is_none(), "a receipt for an unconfirmed commit: {}", a.body);
}

/// Every index below the served size has its entry: no hole.
fn assert_no_hole(url: &str) -> u64 {
    let size = checkpoint_at(url).checkpoint.size;
    let client = reqwest::blocking::Client::new();
    for i in 0..size {
        let status = client.get(format!("{url}/v1/entries/{i}")).send().unwrap().status();
        assert_eq!(status, 200, "entry {i} of {size} missing");
    }
    size
}

/// The receipts' indexes, in order.
fn indexes(a: &Answer) -> Vec<u64> {
    let receipts = a.body["receipts"].as_array().unwrap_or_else(|| panic!("{}", a.body));
    receipts.iter().map(|r| r["index"].as_u64().unwrap()).collect()
}

/// A primary with a synchronous standby, a ledger on it whose own commit
/// deadline is long (the test ends the waits), and one contract logged.
fn setup(timeout: &str) -> (PgServer, PgServer, Server, NoteVerifier) {
    let primary = PgServer::start_primary_sync();
    let standby = PgServer::start_standby(&primary);
    primary.create_db("ledger");
    let mut s = Server::prepare_with(&["--store", &primary.url("ledger")]);
    s.spawn_with(&["--pg-commit-timeout", timeout]);
    let log = log_verifier(&s);
    submit_flow_at(&s.url, &s, "contract-1");
    (primary, standby, s, log)
}

#[test]
fn a_cancelled_wait_for_the_standby_acknowledges_nothing_and_a_failover_leaves_no_hole_or_fork() {
    let (mut primary, mut standby, mut s, log) = setup("600");
    let mut handed_out: Vec<SignedCheckpoint> = vec![checkpoint_at(&s.url)];
    let n = handed_out[0].checkpoint.size;

    // The standby is down: the commit waits for it; cancelling the wait
    // commits on the primary alone, with a warning. Nothing acknowledged.
    standby.stop();
    let b = batch(&s, "b", 10);
    let a = submit_ending_syncrep_waits(&s, &primary, &b, "pg_cancel_backend");
    assert_refused_without_receipt(&a);
    assert_eq!(leaves_in(&primary), n + 10, "the cancelled commit is on the primary");
    handed_out.push(checkpoint_at(&s.url));
    assert_eq!(handed_out[1].checkpoint.size, n, "an unconfirmed head was served");
    // The retry would be a replay of that commit: not answered either
    // while no synced write on top of it is confirmed.
    let a = submit_ending_syncrep_waits(&s, &primary, &b, "pg_cancel_backend");
    assert_refused_without_receipt(&a);
    handed_out.push(checkpoint_at(&s.url));
    assert_eq!(handed_out[2].checkpoint.size, n, "an unconfirmed head was served");

    // The primary is lost; the standby, which never got the batch, is
    // promoted. The ledger serves it: the batch gets the next indexes.
    primary.kill9();
    assert_eq!(wait_exit(&mut s), Some(75));
    standby.start_again();
    standby.promote();
    s.spawn_with(&["--store", &standby.url("ledger")]);
    assert_eq!(checkpoint_at(&s.url).checkpoint.size, n);
    let a = submit_at(&s.url, &s.tokens.submitter, &b);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(indexes(&a), (n..n + 10).collect::<Vec<_>>());
    assert_eq!(assert_no_hole(&s.url), n + 10);
    for cp in &handed_out {
        assert_extends(&s.url, &log, cp);
    }
}

#[test]
fn a_terminated_commit_is_served_only_once_confirmed_and_a_failover_keeps_it() {
    let (mut primary, mut standby, mut s, log) = setup("600");
    let first = checkpoint_at(&s.url);
    let n = first.checkpoint.size;

    // The backend waiting for the standby is terminated: the commit's
    // outcome is unknown to the ledger (it landed on the primary).
    standby.stop();
    let b = batch(&s, "t", 10);
    let a = submit_ending_syncrep_waits(&s, &primary, &b, "pg_terminate_backend");
    assert_refused_without_receipt(&a);
    assert_eq!(leaves_in(&primary), n + 10);
    let cp = checkpoint_at(&s.url);
    assert_eq!(cp.checkpoint.size, n, "a head from a commit of unknown outcome was served");

    // The standby comes back: a synced write confirms the landed commit,
    // and the retry is answered with the indexes it got then.
    standby.start_again();
    primary.wait_for_sync_standby();
    let a = submit_at(&s.url, &s.tokens.submitter, &b);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(indexes(&a), (n..n + 10).collect::<Vec<_>>());
    let confirmed = checkpoint_at(&s.url);
    assert_eq!(confirmed.checkpoint.size, n + 10);

    // Failover: the promoted standby has it all.
    primary.kill9();
    assert_eq!(wait_exit(&mut s), Some(75));
    standby.promote();
    s.spawn_with(&["--store", &standby.url("ledger")]);
    let a = submit_at(&s.url, &s.tokens.submitter, &b);
    assert_eq!(indexes(&a), (n..n + 10).collect::<Vec<_>>());
    assert_eq!(assert_no_hole(&s.url), n + 10);
    for cp in [&first, &cp, &confirmed] {
        assert_extends(&s.url, &log, cp);
    }
}

#[test]
fn with_the_standby_down_appends_fail_at_the_commit_deadline_and_readyz_says_so() {
    let (primary, mut standby, mut s, _log) = setup("1");
    let n = checkpoint_at(&s.url).checkpoint.size;
    standby.stop();
    let b = batch(&s, "d", 5);
    let a = submit_at(&s.url, &s.tokens.submitter, &b);
    assert_refused_without_receipt(&a);
    assert_eq!(s.get("/readyz", None).0, 503);
    assert_eq!(checkpoint_at(&s.url).checkpoint.size, n);
    // SIGTERM stops it although its database cannot confirm anything.
    let child = s.child.as_ref().unwrap().id();
    unsafe_free_kill(child, "TERM");
    assert!(wait_exit(&mut s).is_some(), "killed by a signal instead of exiting");
    // Back with the standby: ready, and the batch is logged once.
    standby.start_again();
    primary.wait_for_sync_standby();
    s.spawn_with(&["--pg-commit-timeout", "1"]);
    assert_eq!(s.get("/readyz", None).0, 200);
    let a = submit_at(&s.url, &s.tokens.submitter, &b);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(indexes(&a), (n..n + 5).collect::<Vec<_>>());
}

/// The size of the newest valid slot of a data directory's `handed-out`
/// mark (ledger/src/highwater.rs: "ELHW" | seq | size | root | check).
fn mark_size(dir: &Path) -> Option<u64> {
    let bytes = std::fs::read(dir.join("handed-out")).ok()?;
    let be = |b: &[u8]| u64::from_be_bytes(b.try_into().unwrap());
    bytes
        .chunks_exact(64)
        .filter(|slot| &slot[..4] == b"ELHW")
        .map(|slot| (be(&slot[4..12]), be(&slot[12..20])))
        .max()
        .map(|(_, size)| size)
}

/// Runs `serve` on `data` expecting it to exit (refusing), within 60 s.
fn serve_refused(data: &Path, extra: &[&str]) -> Output {
    let mut child = Command::new(BIN)
        .args(["serve", "--data", data.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..600 {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    panic!("serve did not refuse: {}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn a_standby_node_refuses_a_database_rolled_back_behind_what_the_sequencer_handed_out() {
    // An asynchronous standby that stops early: the database a careless
    // failover rolls back to.
    let mut primary = PgServer::start_primary();
    primary.create_db("ledger");
    let mut old = PgServer::start_standby(&primary);
    let mut s = Server::prepare_with(&["--store", &primary.url("ledger")]);
    s.spawn();
    submit_flow_at(&s.url, &s, "contract-1");
    let behind = leaves_in(&primary);
    for _ in 0..600 {
        if old.psql("ledger", "SELECT count(*) FROM el_leaves") == behind.to_string() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    old.stop();

    // Node 2 waits for the lease with its own data directory; node 1
    // hands out more. Node 2 copies the database's rollback marker.
    let node2 = second_node(s.data());
    let mut waiting = Node::spawn(node2.path(), &[]);
    submit_flow_at(&s.url, &s, "contract-2");
    let handed = checkpoint_at(&s.url).checkpoint.size;
    assert!(handed > behind);
    for _ in 0..600 {
        if mark_size(node2.path()) == Some(handed) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(mark_size(node2.path()), Some(handed), "node 2 never saw the marker");

    // Node 1 and the primary are lost; the stale standby is promoted.
    s.kill9();
    primary.kill9();
    waiting.kill9();
    old.start_again();
    old.promote();
    assert_eq!(leaves_in(&old), behind);

    // Node 2 refuses it, and writes nothing.
    let out = serve_refused(node2.path(), &["--store", &old.url("ledger")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("rollback refused") && err.contains(&handed.to_string()), "{err}");
    assert_eq!(leaves_in(&old), behind);
    // On purpose, it serves.
    let forced = Node::spawn(node2.path(), &["--store", &old.url("ledger"), "--allow-rollback"]);
    let url = forced.url.recv_timeout(Duration::from_secs(60)).expect("serves when allowed");
    assert_eq!(checkpoint_at(&url).checkpoint.size, behind);
}

/// Asserts what every failover test asserts of the clients' history: no
/// answer but 200 or 503 + `Retry-After`, no two checkpoints of one size
/// with two roots, every receipt at `url` with its index and leaf hash,
/// and every checkpoint handed out consistent with `url`'s tree.
fn assert_history(url: &str, log: &NoteVerifier, seen: &common::appenders::Seen) {
    assert!(seen.bad.is_empty(), "answers breaking the rules: {:#?}", seen.bad);
    assert!(seen.forks().is_empty(), "forks: {:?}", seen.forks());
    assert_all_present_at(url, &seen.acked);
    for note in seen.notes.values() {
        assert_extends(url, log, &SignedCheckpoint::parse(note.as_bytes()).unwrap());
    }
}

#[test]
fn with_a_required_sync_standby_an_emptied_synchronous_standby_names_loses_no_receipt() {
    let mut primary = PgServer::start_primary_sync();
    let mut standby = PgServer::start_standby(&primary);
    primary.create_db("ledger");
    let mut s = Server::prepare_with(&["--store", &primary.url("ledger")]);
    s.spawn_with(&["--pg-commit-timeout", "3", "--pg-require-sync-standby", "1"]);
    let log = log_verifier(&s);
    let first = checkpoint_at(&s.url);
    let load = common::appenders::Appenders::start(
        &s.url,
        &s.tokens.submitter,
        &s.signers[0].issuer,
        3,
        "q",
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(load.acked() > 0, "nothing acknowledged with the standby in sync");

    // Under load the standby goes away: a group commit waits for it. Then
    // the operator's mistake: emptying synchronous_standby_names releases
    // that commit, and every later one, at once and without a warning.
    // The primary alone holds them.
    standby.stop();
    for _ in 0..100 {
        if !primary.syncrep_waiters().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!primary.syncrep_waiters().is_empty(), "no commit waited for the standby");
    // Receipts of groups the standby flushed before it stopped may still
    // be on their way to the clients.
    std::thread::sleep(Duration::from_millis(300));
    let at_stop = load.acked();
    primary.psql("postgres", "ALTER SYSTEM SET synchronous_standby_names = ''");
    primary.psql("postgres", "SELECT pg_reload_conf()");
    std::thread::sleep(Duration::from_secs(4));
    let after = load.acked();
    let on_primary = leaves_in(&primary);
    let ready = s.get("/readyz", None).0;

    // The primary is lost; the standby, which lacks its last commits, is
    // promoted, and the ledger serves it.
    primary.kill9();
    assert_eq!(wait_exit(&mut s), Some(75));
    standby.start_again();
    standby.promote();
    // Usually fewer than on the primary: the commit released by the
    // emptied setting (and no later one: the ledger writes no new group
    // before it confirmed) unless the standby flushed its WAL while
    // shutting down. Without --pg-require-sync-standby every later group
    // lands on the primary alone, and receipts are lost (docs/postgres.md).
    let kept = leaves_in(&standby);
    assert!(kept <= on_primary);
    s.spawn_with(&["--store", &standby.url("ledger")]);
    load.point_at(&s.url);
    let before_end = load.acked();
    for _ in 0..300 {
        if load.acked() > before_end {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let seen = load.stop();
    println!(
        "acknowledged: {} ({at_stop} once a commit waited for the stopped standby, {after} when the primary \
         died); 503s: {}; leaves on the lost primary: {on_primary}, on the promoted standby: \
         {kept}",
        seen.acked.len(),
        seen.refused,
    );
    assert_history(&s.url, &log, &seen);
    assert_eq!(after, at_stop, "receipts for commits that only the primary held");
    assert_eq!(ready, 503, "ready with no synchronous standby");
    assert!(seen.refused > 0, "no commit was refused");
    assert!(seen.acked.len() > before_end, "the promoted standby took no appends");
    assert_extends(&s.url, &log, &first);
}

#[test]
fn a_node_without_a_mark_refuses_a_database_behind_what_the_witness_cosigned() {
    // An asynchronous standby that stops early: the database a careless
    // failover rolls back to; and a witness cosigning what the log hands out.
    let mut primary = PgServer::start_primary();
    primary.create_db("ledger");
    let mut old = PgServer::start_standby(&primary);
    let mut s = Server::prepare_with(&["--store", &primary.url("ledger")]);
    let data = s.data().to_str().unwrap().to_string();
    let vkey = cli(&["status", "--data", &data])
        .lines()
        .find_map(|l| l.strip_prefix("vkey: ").map(str::to_string))
        .unwrap();
    let court = Witness::start("court", &vkey);
    cli(&["witness", "add", "--data", &data, "--vkey", &court.vkey, "--url", &court.url()]);
    cli(&["anchor", "policy", "--data", &data, "--interval", "1"]);
    s.spawn();
    submit_flow_at(&s.url, &s, "contract-1");
    let behind = leaves_in(&primary);
    for _ in 0..600 {
        if old.psql("ledger", "SELECT count(*) FROM el_leaves") == behind.to_string() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    old.stop();
    submit_flow_at(&s.url, &s, "contract-2");
    let size = checkpoint_at(&s.url).checkpoint.size;
    assert!(size > behind);
    let cosigned = wait_checkpoint(&s, "the witness cosigning", |cp| {
        cp.checkpoint.size >= size && cosigned_by(cp, &court)
    });
    let size = cosigned.checkpoint.size;

    // The node and the primary are lost; the stale standby is promoted. A
    // new node (keys and URL, no mark: it never waited beside the lost
    // one, so the rollback marker it could have copied is lost too)
    // refuses it: the witness cosigned more than it holds.
    let node2 = second_node(s.data());
    s.kill9();
    primary.kill9();
    old.start_again();
    old.promote();
    assert_eq!(leaves_in(&old), behind);
    let out = serve_refused(node2.path(), &["--store", &old.url("ledger")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    let refusal = format!("witness court cosigned a checkpoint of size {size}");
    assert!(err.contains(&refusal), "{err}");
    assert_eq!(leaves_in(&old), behind);
    // On purpose, it serves.
    let forced = Node::spawn(node2.path(), &["--store", &old.url("ledger"), "--allow-rollback"]);
    let url = forced.url.recv_timeout(Duration::from_secs(60)).expect("serves when allowed");
    assert_eq!(checkpoint_at(&url).checkpoint.size, behind);
}
