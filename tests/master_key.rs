//! The master key lifecycle (issue 27 item 2, issue 25 item 6): a running
//! server rotates its master key (new key at once, stored keys re-wrapped
//! in the background, the old key destroyed once no wrap names it); a
//! crash at each step is finished by the next start; ingest and reads keep
//! answering meanwhile; and a backup taken before an erasure holds no key
//! that the live keys open once the rotation retired the old one.
//! docs/long-term.md ("Master key rotation") is the promise these hold.
//!
//! The crash test needs `ledger::fault` (the `fault-injection` feature,
//! which the tests' dev-dependency turns on).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::pg::PgServer;
use common::{cli, Server, BIN};
use evidence_ledger::flows::contract_flow;
use ledger::vault::MasterKey as _;
use serde_json::{json, Value};

const ROTATE: &str = "/v1/admin/master-key/rotate";
const STATUS: &str = "/v1/admin/master-key/status";

fn flow(s: &Server, doc: &str) -> Vec<Value> {
    let signers: Vec<_> = s.signers.iter().collect();
    contract_flow(&s.services, &signers, doc, doc.as_bytes())
}

/// Submits the flows of `docs`, many per request.
fn seed(s: &Server, docs: &[String]) {
    for chunk in docs.chunks(100) {
        let events: Vec<Value> = chunk.iter().flat_map(|d| flow(s, d)).collect();
        let (st, body) = s.submit(&json!({ "events": events }));
        assert_eq!(st, 200, "{body}");
    }
}

/// Whether every record of `doc`'s bundle opens (legal's view).
fn opens(url: &str, s: &Server, doc: &str) -> bool {
    let resp = s
        .client()
        .get(format!("{url}/v1/documents/{doc}/bundle"))
        .bearer_auth(&s.tokens.legal)
        .send()
        .unwrap();
    if resp.status().as_u16() != 200 {
        return false;
    }
    let bundle = verifier::bundle::Bundle::parse(resp.text().unwrap().as_bytes()).unwrap();
    !bundle.entries.is_empty() && bundle.entries.iter().all(|e| e.record.is_some())
}

fn rotate(s: &Server, token: &str, body: &Value) -> (u16, Value) {
    s.post(ROTATE, Some(token), serde_json::to_vec(body).unwrap())
}

fn status(s: &Server) -> Value {
    let (st, body) = s.get(STATUS, Some(&s.tokens.platform));
    assert_eq!(st, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Waits until no rotation runs; returns the status.
fn wait_idle(s: &Server) -> Value {
    let start = Instant::now();
    loop {
        let st = status(s);
        if st["phase"] == "idle" {
            return st;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "rotation never finished: {st}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The names under `DATA/keys`, sorted.
fn key_files(data: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(data.join("keys"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Serves `s` with `EVIDENCE_LEDGER_FAULT` set to `fault`.
fn spawn_faulty(s: &mut Server, fault: &str) {
    let mut child = Command::new(BIN)
        .args(["serve", "--data", s.data().to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "error")
        .env(ledger::fault::FAULT_ENV, fault)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    s.url = evidence_ledger::load::read_listen_line(&mut child).unwrap();
    s.child = Some(child);
}

fn docs(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

/// Issue 25 item 6: a backup taken before an erasure; then the erasure,
/// an online rotation and its retirement. None of the backup's wrapped
/// keys (the erased document's among them) opens under the keys the
/// live service holds, though the old key opened every one; every
/// surviving document of the live store opens, also after a restart.
#[test]
fn an_old_backup_of_an_erased_document_is_out_of_reach_after_rotation() {
    let mut s = Server::start();
    let kept = docs("contract-kept", 3);
    seed(&s, &kept);
    seed(&s, &["contract-gone".to_string()]);
    let backup = tempfile::tempdir().unwrap();
    let to = backup.path().join("b");
    cli(&["backup", "--data", s.data().to_str().unwrap(), "--to", to.to_str().unwrap()]);
    let (st, body) = s.post(
        "/v1/documents/contract-gone/erase",
        Some(&s.tokens.admin),
        serde_json::to_vec(&json!({"reason": "data subject request"})).unwrap(),
    );
    assert_eq!(st, 200, "{body}");
    // The key a thief of the old disk would also hold (for the check below).
    let old_key = backup.path().join("old-master.key");
    std::fs::copy(s.data().join("keys/master.key"), &old_key).unwrap();

    let (st, body) = rotate(&s, &s.tokens.platform, &json!({}));
    assert_eq!(st, 202, "{body}");
    assert_eq!(body["current_epoch"], 1, "{body}");
    let done = wait_idle(&s);
    assert_eq!(done["retiring_epochs"], json!([]), "{done}");
    assert!(done["rewrapped"].as_u64().unwrap() >= 4, "{done}");
    assert_eq!(key_files(s.data()), vec!["master.1.key"], "the old key file is gone");

    for d in &kept {
        assert!(opens(&s.url, &s, d), "{d} opens after the rotation");
    }
    assert!(!opens(&s.url, &s, "contract-gone"), "the erased document stays erased");
    seed(&s, &["contract-after".to_string()]);
    s.restart();
    for d in kept.iter().chain([&"contract-after".to_string()]) {
        assert!(opens(&s.url, &s, d), "{d} opens after a restart");
    }
    assert!(s.terminate());

    let ring = ledger::epochs::MasterRing::open(s.data()).unwrap();
    let old = ledger::vault::FileMasterKey::open_existing(&old_key).unwrap();
    let store = ledger::store::Store::open_read_only(&to.join("db")).unwrap();
    let wrapped = store.wrapped_keys().unwrap();
    assert!(wrapped.len() >= 5, "the backup holds the erased document's key too");
    for (id, w) in &wrapped {
        let aad = ledger::vault::key_aad(id);
        assert!(old.unwrap(w, &aad).is_ok(), "the retired key opened it");
        assert!(ring.unwrap(w, &aad).is_err(), "the live keys open no key of the old backup");
    }
    // Nor does the service open the old backup with its keys.
    let restored = tempfile::tempdir().unwrap();
    let r = restored.path().join("r");
    std::fs::create_dir_all(r.join("keys")).unwrap();
    std::fs::copy(s.data().join("log.key"), r.join("log.key")).unwrap();
    std::fs::copy(s.data().join("keys/master.1.key"), r.join("keys/master.1.key")).unwrap();
    let out = Command::new(BIN)
        .args(["restore", "--from", to.to_str().unwrap(), "--data", r.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("do not open this store's keys"), "{err}");
}

/// The server killed at each step of an online rotation and restarted:
/// the rotation completes, every record opens, nothing is lost.
#[test]
fn a_rotation_completes_after_a_crash_at_each_step() {
    for fault in
        ["rotate-new-key", "rotate-mid-rewrap", "rotate-before-retire", "rotate-after-retire"]
    {
        let mut s = Server::prepare();
        spawn_faulty(&mut s, fault);
        let seeded = docs("contract-crash", 300);
        seed(&s, &seeded);
        let sent = s
            .client()
            .post(format!("{}{ROTATE}", s.url))
            .bearer_auth(&s.tokens.platform)
            .body("{}")
            .send();
        if fault == "rotate-new-key" {
            assert!(sent.is_err(), "{fault}: crashed before answering: {sent:?}");
        }
        let exit = s.child.take().unwrap().wait().unwrap();
        assert!(!exit.success(), "{fault}: the server crashed");
        let files = key_files(s.data());
        assert!(files.contains(&"master.1.key".to_string()), "{fault}: {files:?}");

        s.spawn();
        let st = wait_idle(&s);
        assert_eq!(st["current_epoch"], 1, "{fault}: {st}");
        assert_eq!(key_files(s.data()), vec!["master.1.key"], "{fault}: old key retired");
        for d in &seeded {
            assert!(opens(&s.url, &s, d), "{fault}: {d} opens");
        }
        seed(&s, &["contract-later".to_string()]);
        assert!(opens(&s.url, &s, "contract-later"), "{fault}");
        assert!(s.terminate());
        let audit = cli(&["audit", "--data", s.data().to_str().unwrap()]);
        assert!(audit.contains("audit: clean"), "{fault}: {audit}");
    }
}

/// Ingest and reads keep answering during a rotation; every document
/// acknowledged during it opens, also after a restart (so from its stored
/// wrap, not a cached key).
#[test]
fn ingest_and_reads_keep_answering_during_a_rotation() {
    let s = Server::start();
    let seeded = docs("contract-load", 1200);
    seed(&s, &seeded);
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let s = Arc::new(s);
    let mut threads = Vec::new();
    for t in 0..3 {
        let (s, stop, acked, failures) = (s.clone(), stop.clone(), acked.clone(), failures.clone());
        threads.push(std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let doc = format!("contract-during-{t}-{n}");
                let (st, body) = s.submit(&json!({ "events": flow(&s, &doc) }));
                if st == 200 {
                    acked.lock().unwrap().push(doc);
                } else {
                    failures.lock().unwrap().push(format!("submit {st}: {body}"));
                }
                let read = &format!("contract-load-{}", (n * 7 + t) % 1200);
                if !opens(&s.url, &s, read) {
                    failures.lock().unwrap().push(format!("read {read}"));
                }
                n += 1;
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let before = acked.lock().unwrap().len();
    let (st, body) = rotate(&s, &s.tokens.platform, &json!({}));
    assert_eq!(st, 202, "{body}");
    let done = wait_idle(&s);
    let took = started.elapsed();
    let during = acked.lock().unwrap().len() - before;
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let failures = failures.lock().unwrap().clone();
    assert!(failures.is_empty(), "{failures:#?}");
    let acked = acked.lock().unwrap().clone();
    assert!(!acked.is_empty());
    eprintln!(
        "rotation of {} stored keys took {took:?}; {during} contracts acknowledged while it \
         ran, {} in all beside it",
        done["rewrapped"],
        acked.len()
    );
    assert!(done["rewrapped"].as_u64().unwrap() >= 1200, "{done}");
    let mut s = Arc::try_unwrap(s).ok().unwrap();
    s.restart();
    for d in seeded.iter().step_by(37).chain(acked.iter()) {
        assert!(opens(&s.url, &s, d), "{d} opens after a restart");
    }
    assert_eq!(key_files(s.data()), vec!["master.1.key"]);
}

/// Bad input gets a clear error and changes nothing: the wrong role, a
/// malformed body, a URI that is no token key, a second rotation while
/// one runs.
#[test]
fn bad_rotation_requests_are_refused_and_change_nothing() {
    let mut s = Server::start();
    seed(&s, &docs("contract-bad", 5));
    let before = key_files(s.data());
    for token in [&s.tokens.admin, &s.tokens.legal, &s.tokens.submitter] {
        let (st, body) = rotate(&s, token, &json!({}));
        assert_eq!(st, 403, "{body}");
    }
    let (st, body) = s.get(STATUS, Some(&s.tokens.admin));
    assert_eq!(st, 403, "{body}");
    let (st, _) = s.post(ROTATE, None, "{}");
    assert_eq!(st, 401);
    let (st, body) = rotate(&s, &s.tokens.platform, &json!({"to": "file:/tmp/key"}));
    assert_eq!((st, body["error"]["code"].as_str()), (400, Some("invalid_rotation")), "{body}");
    let (st, body) = rotate(&s, &s.tokens.platform, &json!({"unknown": 1}));
    assert_eq!((st, body["error"]["code"].as_str()), (400, Some("invalid_rotation")), "{body}");
    let (st, body) = s.post(ROTATE, Some(&s.tokens.platform), "{not json");
    assert_eq!(st, 400, "{body}");
    assert_eq!(key_files(s.data()), before, "nothing changed");
    assert_eq!(status(&s)["phase"], "idle");
    assert!(s.terminate());

    // A second rotation while one runs (the ledger's own call: over HTTP
    // the first may finish before the second arrives).
    let l = ledger::Ledger::open(s.data(), ledger::LedgerOptions::default()).unwrap();
    let first = l.rotate_master_key(None).unwrap();
    assert_eq!(first.current_epoch, 1);
    let during = key_files(s.data());
    match l.rotate_master_key(None) {
        Err(ledger::LedgerError::AlreadyExists(m)) => {
            assert!(m.contains("rotation is running"), "{m}");
            assert_eq!(key_files(s.data()), during, "the refused one made no key");
        }
        other => {
            // Only if the first had already finished.
            assert!(other.is_ok(), "{other:?}");
        }
    }
    let start = Instant::now();
    while !l.master_key_status().unwrap().retiring_epochs.is_empty() {
        assert!(start.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(20));
    }
    l.close();
    drop(l);
    s.spawn();
    for d in docs("contract-bad", 5) {
        assert!(opens(&s.url, &s, &d), "{d}");
    }
}

/// The offline command rotates too (and finishes a rotation cut short).
#[test]
fn the_offline_command_rotates_a_stopped_servers_key() {
    let mut s = Server::start();
    seed(&s, &docs("contract-off", 10));
    assert!(s.terminate());
    let data = s.data().to_str().unwrap().to_string();
    let out = cli(&["rotate-master-key", "--data", &data]);
    assert!(out.contains("re-wrapped under epoch 1"), "{out}");
    let out = cli(&["rotate-master-key", "--data", &data]);
    assert!(out.contains("re-wrapped under epoch 2"), "{out}");
    assert_eq!(key_files(s.data()), vec!["master.2.key"]);
    s.spawn();
    for d in docs("contract-off", 10) {
        assert!(opens(&s.url, &s, &d), "{d}");
    }
    // Through the running server, with the CLI.
    let out = Command::new(BIN)
        .args(["rotate-master-key", "--server", &s.url])
        .env(evidence_ledger::remote::TOKEN_ENV, &s.tokens.platform)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("epoch 3"));
    wait_idle(&s);
    let out = Command::new(BIN)
        .args(["rotate-master-key", "--server", &s.url, "--status"])
        .env(evidence_ledger::remote::TOKEN_ENV, &s.tokens.platform)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("phase idle epoch 3"));
    assert_eq!(key_files(s.data()), vec!["master.3.key"]);
}

fn pg_data(pg: &PgServer, db: &str) -> (Server, PathBuf) {
    pg.create_db(db);
    let url = pg.url(db);
    let s = Server::prepare_with(&["--store", &url]);
    let dir = s.data().to_path_buf();
    (s, dir)
}

/// PostgreSQL: online rotation, a crash mid re-wrap, and the offline
/// command, each leaving every record readable.
#[test]
fn postgres_rotates_online_after_a_crash_and_offline() {
    let pg = PgServer::start_primary();
    let (mut s, data) = pg_data(&pg, "mkey");
    spawn_faulty(&mut s, "rotate-mid-rewrap");
    let seeded = docs("contract-pg", 40);
    seed(&s, &seeded);
    let _ = s
        .client()
        .post(format!("{}{ROTATE}", s.url))
        .bearer_auth(&s.tokens.platform)
        .body("{}")
        .send();
    assert!(!s.child.take().unwrap().wait().unwrap().success(), "crashed mid re-wrap");
    s.spawn();
    let st = wait_idle(&s);
    assert_eq!(st["current_epoch"], 1, "{st}");
    for d in &seeded {
        assert!(opens(&s.url, &s, d), "{d} opens after the resumed rotation");
    }
    let (st, body) = rotate(&s, &s.tokens.platform, &json!({}));
    assert_eq!(st, 202, "{body}");
    wait_idle(&s);
    assert_eq!(key_files(&data), vec!["master.2.key"]);
    assert!(s.terminate());
    let out = cli(&["rotate-master-key", "--data", data.to_str().unwrap()]);
    assert!(out.contains("epoch 3"), "{out}");
    s.spawn();
    for d in &seeded {
        assert!(opens(&s.url, &s, d), "{d} opens after the offline rotation");
    }
    assert_eq!(key_files(&data), vec!["master.3.key"]);
}

/// Erasures that run while a rotation re-wraps: no erased document's key
/// is written back by the re-wrap; every other document opens after a
/// restart.
#[test]
fn erasures_during_a_rotation_stay_erased() {
    let s = Server::start();
    let all = docs("contract-er", 600);
    seed(&s, &all);
    let erased: Vec<String> = all[..12].to_vec();
    let s = Arc::new(s);
    let eraser = {
        let (s, erased) = (s.clone(), erased.clone());
        std::thread::spawn(move || {
            for d in &erased {
                let (st, body) = s.post(
                    &format!("/v1/documents/{d}/erase"),
                    Some(&s.tokens.admin),
                    serde_json::to_vec(&json!({"reason": "data subject request"})).unwrap(),
                );
                assert_eq!(st, 200, "{d}: {body}");
            }
        })
    };
    let (st, body) = rotate(&s, &s.tokens.platform, &json!({}));
    assert_eq!(st, 202, "{body}");
    wait_idle(&s);
    eraser.join().unwrap();
    let mut s = Arc::try_unwrap(s).ok().unwrap();
    s.restart();
    for d in &erased {
        assert!(!opens(&s.url, &s, d), "{d} stays erased");
    }
    for d in all[12..].iter().step_by(17) {
        assert!(opens(&s.url, &s, d), "{d} opens");
    }
    assert!(s.terminate());
    let ids: Vec<[u8; 32]> = {
        let l = ledger::Ledger::open_read_only(s.data()).unwrap();
        erased.iter().map(|d| l.document_key_id(common::TENANT, d).unwrap()).collect()
    };
    let store = ledger::store::Store::open_read_only(&s.data().join("db")).unwrap();
    for (d, id) in erased.iter().zip(&ids) {
        assert_eq!(store.wrapped_key(id).unwrap(), None, "{d}: no key written back");
    }
    for (_, w) in store.wrapped_keys().unwrap() {
        assert_eq!(ledger::vault::split_wrapped(&w).unwrap().0, 1, "every key under epoch 1");
    }
}
