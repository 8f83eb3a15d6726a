//! Unit tests of the witness state: persistence, refusals, forks.

use std::fs;

use ed25519_dalek::SigningKey;
use verifier::cosignature::verify_cosignature;

use super::*;
use crate::testkit::MemoryLog;

const ORIGIN: &str = "ledger.example/log";

struct Fixture {
    dir: tempfile::TempDir,
    log: MemoryLog,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    store::init(dir.path(), "notary.example/w1", &SigningKey::from_bytes(&[7; 32])).expect("init");
    let log = log_with(1, 0, 5);
    add_log(dir.path(), &log.vkey()).expect("add log");
    Fixture { dir, log }
}

/// A log under ORIGIN with key `key_byte`, entries tagged `tag`.
fn log_with(key_byte: u8, tag: u8, entries: u8) -> MemoryLog {
    let mut log = MemoryLog::new(ORIGIN, SigningKey::from_bytes(&[key_byte; 32])).expect("log");
    for i in 0..entries {
        log.append(&[tag, i]);
    }
    log
}

fn request(log: &MemoryLog, old: u64) -> AddCheckpointRequest {
    AddCheckpointRequest {
        old_size: old,
        proof: log.consistency_proof(old),
        checkpoint: log.checkpoint().note,
    }
}

fn state_file(f: &Fixture) -> Vec<u8> {
    fs::read(f.dir.path().join(store::LOGS_DIR).join(format!("{}.json", store::log_id(ORIGIN))))
        .expect("read")
}

#[test]
fn cosigns_persists_and_advances() {
    let mut f = fixture();
    let w = Witness::open(f.dir.path()).expect("open");
    let sig = w.add_checkpoint(&request(&f.log, 0), 1_700_000_000).expect("cosign");
    let wv = NoteVerifier::from_vkey(&w.vkey()).expect("vkey");
    assert_eq!(verify_cosignature(&wv, &f.log.checkpoint().note.text, &sig), Ok(1_700_000_000));
    drop(w);
    let w = Witness::open(f.dir.path()).expect("reopen");
    assert_eq!(w.records().expect("records")[0].size, 5);
    assert!(w.latest_checkpoint(ORIGIN).expect("latest").contains("notary.example/w1"));
    for i in 5..9 {
        f.log.append(&[0, i]);
    }
    w.add_checkpoint(&request(&f.log, 5), 1_700_000_001).expect("advance");
    assert_eq!(w.records().expect("records")[0].size, 9);
}

#[test]
fn refusals_change_nothing() {
    let mut f = fixture();
    let w = Witness::open(f.dir.path()).expect("open");
    w.add_checkpoint(&request(&f.log, 0), 1).expect("cosign");
    let before = state_file(&f);
    for i in 5..8 {
        f.log.append(&[0, i]);
    }
    let wrong_old = request(&f.log, 3);
    assert_eq!(w.add_checkpoint(&wrong_old, 2), Err(BridgeError::Conflict { witness_size: 5 }));
    let mut bad_proof = request(&f.log, 5);
    bad_proof.proof[0] = Hash([0; 32]);
    assert_eq!(w.add_checkpoint(&bad_proof, 2).map_err(|e| e.http_status()), Err(422));
    let impostor = log_with(2, 0, 8);
    assert_eq!(w.add_checkpoint(&request(&impostor, 5), 2).map_err(|e| e.http_status()), Err(403));
    let mut stranger =
        MemoryLog::new("other.example/log", SigningKey::from_bytes(&[3; 32])).expect("log");
    stranger.append(b"x");
    assert_eq!(w.add_checkpoint(&request(&stranger, 0), 2).map_err(|e| e.http_status()), Err(404));
    let mut too_old = request(&f.log, 5);
    too_old.old_size = 9;
    assert_eq!(w.add_checkpoint(&too_old, 2).map_err(|e| e.http_status()), Err(400));
    assert_eq!(state_file(&f), before);
}

#[test]
fn same_size_fork_is_refused_recorded_and_frozen_across_restart() {
    let f = fixture();
    let w = Witness::open(f.dir.path()).expect("open");
    w.add_checkpoint(&request(&f.log, 0), 1).expect("cosign");
    let forked = log_with(1, 9, 5);
    let err = w.add_checkpoint(&request(&forked, 5), 2).expect_err("fork");
    assert_eq!(err.http_status(), 409);
    let BridgeError::Equivocation { evidence, .. } = err else {
        panic!("not an equivocation: {err}")
    };
    let text = fs::read_to_string(f.dir.path().join(&evidence)).expect("evidence");
    assert!(text.contains(&forked.checkpoint().checkpoint.root.to_base64()));
    assert!(text.contains(&f.log.checkpoint().checkpoint.root.to_base64()));
    drop(w);
    let w = Witness::open(f.dir.path()).expect("reopen");
    assert!(matches!(w.add_checkpoint(&request(&forked, 5), 3), Err(BridgeError::Frozen { .. })));
    assert!(matches!(w.add_checkpoint(&request(&f.log, 5), 3), Err(BridgeError::Frozen { .. })));
}

#[test]
fn fork_shown_by_a_proof_is_refused_and_frozen() {
    let f = fixture();
    let w = Witness::open(f.dir.path()).expect("open");
    w.add_checkpoint(&request(&f.log, 0), 1).expect("cosign");
    let forked = log_with(1, 9, 11);
    let err = w.add_checkpoint(&request(&forked, 5), 2).expect_err("fork");
    assert!(matches!(err, BridgeError::Equivocation { proof_failed: true, .. }), "{err}");
    assert_eq!(err.http_status(), 422);
    drop(w);
    let w = Witness::open(f.dir.path()).expect("reopen");
    assert!(matches!(w.add_checkpoint(&request(&forked, 5), 3), Err(BridgeError::Frozen { .. })));
    assert_eq!(w.records().expect("records")[0].size, 5);
}

#[test]
fn concurrent_requests_advance_once() {
    let mut f = fixture();
    let w = Witness::open(f.dir.path()).expect("open");
    w.add_checkpoint(&request(&f.log, 0), 1).expect("cosign");
    f.log.append(b"more");
    let req = request(&f.log, 5);
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| w.add_checkpoint(&req, 2))).collect();
        handles.into_iter().map(|h| h.join().expect("join")).collect()
    });
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(results
        .iter()
        .all(|r| r.is_ok() || *r == Err(BridgeError::Conflict { witness_size: 6 })));
}

#[test]
fn key_file_is_private_and_init_refuses_to_overwrite() {
    use std::os::unix::fs::PermissionsExt as _;
    let f = fixture();
    let mode = fs::metadata(f.dir.path().join("witness.key")).expect("key").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(store::init(f.dir.path(), "x.example/w", &SigningKey::from_bytes(&[8; 32])).is_err());
    assert!(add_log(f.dir.path(), &f.log.vkey()).is_err());
}

#[test]
fn a_log_added_while_serving_is_picked_up_on_its_first_request() {
    let f = fixture();
    let w = Witness::open(f.dir.path()).expect("open");
    let other = MemoryLog::new("court.example/log", SigningKey::from_bytes(&[9; 32])).expect("log");
    let mut other = other;
    other.append(b"x");
    let req = AddCheckpointRequest {
        old_size: 0,
        proof: Vec::new(),
        checkpoint: other.checkpoint().note,
    };
    assert!(matches!(w.add_checkpoint(&req, 1_700_000_000), Err(BridgeError::UnknownLog(_))));
    add_log(f.dir.path(), &other.vkey()).expect("add log");
    w.add_checkpoint(&req, 1_700_000_000).expect("cosigned without a restart");
    assert_eq!(w.records().expect("records").len(), 2);
}
