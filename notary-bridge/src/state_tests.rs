//! Unit tests of the witness state: persistence, refusals, forks.

use std::fs;

use std::os::unix::fs::MetadataExt as _;

use ed25519_dalek::SigningKey;
use verifier::checkpoint::SignedCheckpoint;
use verifier::cosignature::verify_cosignature;
use verifier::note::{NoteSigner, NoteVerifier};

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
    // c2sp.org/tlog-witness add-checkpoint, as of C2SP #280: "If the old
    // size matches the checkpoint size" and the roots differ: 422.
    assert_eq!(err.http_status(), 422);
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

fn state_inode(f: &Fixture) -> u64 {
    let path = f.dir.path().join(store::LOGS_DIR).join(format!("{}.json", store::log_id(ORIGIN)));
    fs::metadata(path).expect("state file").ino()
}

/// A checkpoint of `origin` signed by `key` under the key name `key_name`.
fn signed(origin: &str, key_name: &str, key: u8, size: u64, root: Hash) -> SignedCheckpoint {
    let signer = NoteSigner::new(key_name, SigningKey::from_bytes(&[key; 32])).expect("signer");
    let checkpoint = Checkpoint { origin: origin.into(), size, root, extensions: Vec::new() };
    SignedCheckpoint::sign(checkpoint, &signer)
}

#[test]
fn one_directory_is_served_by_one_witness_at_a_time() {
    let f = fixture();
    let w = Witness::open(f.dir.path()).expect("open");
    let second = Witness::open(f.dir.path()).err().expect("second open must fail");
    assert!(matches!(&second, BridgeError::Config(m) if m.contains("in use")), "{second}");
    // Adding a key needs the lock too; adding a new log does not.
    let other = log_with(2, 0, 1);
    assert!(add_log_key(f.dir.path(), ORIGIN, &other.vkey()).is_err());
    drop(w);
    Witness::open(f.dir.path()).expect("open after the first is gone");
}

#[test]
fn the_state_on_disk_wins_over_memory() {
    // Compare-and-swap: the witness re-reads the log's state under its
    // lock before every decision, so a state written behind its back (a
    // second writer the lock failed to stop) is never rolled back.
    let mut f = fixture();
    let w = Witness::open(f.dir.path()).expect("open");
    w.add_checkpoint(&request(&f.log, 0), 10).expect("cosign 5");
    for i in 5..9 {
        f.log.append(&[0, i]);
    }
    let mut disk = store::load_log(f.dir.path(), ORIGIN).expect("load").expect("record");
    disk.size = 9;
    disk.root = Some(f.log.checkpoint().checkpoint.root.to_base64());
    store::save_log(f.dir.path(), &disk).expect("write behind its back");
    // Memory says 5; disk says 9: a request from 5 is a 409 naming 9.
    assert_eq!(
        w.add_checkpoint(&request(&f.log, 5), 11),
        Err(BridgeError::Conflict { witness_size: 9 })
    );
    assert_eq!(w.records().expect("records")[0].size, 9);
}

#[test]
fn inconsistent_requests_are_422_as_c2sp_280_says() {
    // c2sp.org/tlog-witness add-checkpoint (C2SP #280): "If the old size is
    // zero, the consistency proof MUST be empty"; "A checkpoint of size zero
    // MUST have the root hash of the empty tree"; otherwise 422.
    let f = fixture();
    let w = Witness::open(f.dir.path()).expect("open");
    let mut proof_from_zero = request(&f.log, 0);
    proof_from_zero.proof = vec![Hash([1; 32])];
    assert_eq!(w.add_checkpoint(&proof_from_zero, 1).map_err(|e| e.http_status()), Err(422));
    let bad_empty = signed(ORIGIN, ORIGIN, 1, 0, Hash([1; 32]));
    let req = AddCheckpointRequest { old_size: 0, proof: vec![], checkpoint: bad_empty.note };
    assert_eq!(w.add_checkpoint(&req, 1).map_err(|e| e.http_status()), Err(422));
    let good_empty = signed(ORIGIN, ORIGIN, 1, 0, Hash::empty_root());
    let req = AddCheckpointRequest { old_size: 0, proof: vec![], checkpoint: good_empty.note };
    w.add_checkpoint(&req, 1).expect("the empty tree is fine");
    // Same size, proof not empty: 422 too (it cannot verify).
    w.add_checkpoint(&request(&f.log, 0), 2).expect("cosign 5");
    let mut same = request(&f.log, 5);
    same.proof = vec![Hash([2; 32])];
    assert_eq!(w.add_checkpoint(&same, 3).map_err(|e| e.http_status()), Err(422));
    assert_eq!(w.records().expect("records")[0].frozen, None, "no fork shown, none recorded");
}

#[test]
fn cosignature_times_never_go_back_and_are_never_zero() {
    // c2sp.org/tlog-cosignature §Format: the timestamp is "the time at which
    // the cosignature was generated"; ours is max(clock, last issued) and
    // survives restarts.
    let mut f = fixture();
    let w = Witness::open(f.dir.path()).expect("open");
    let wv = NoteVerifier::from_vkey(&w.vkey()).expect("vkey");
    assert!(matches!(w.add_checkpoint(&request(&f.log, 0), 0), Err(BridgeError::Config(_))));
    w.add_checkpoint(&request(&f.log, 0), 1_700_000_100).expect("cosign");
    drop(w);
    let w = Witness::open(f.dir.path()).expect("reopen");
    f.log.append(b"more");
    let cp = f.log.checkpoint();
    let sig = w.add_checkpoint(&request(&f.log, 5), 1_700_000_000).expect("clock went back");
    assert_eq!(verify_cosignature(&wv, &cp.note.text, &sig), Ok(1_700_000_100));
    assert_eq!(w.records().expect("records")[0].last_timestamp, 1_700_000_100);
}

#[test]
fn a_replayed_checkpoint_gets_the_cosignature_held_and_writes_nothing() {
    let f = fixture();
    let w = Witness::open(f.dir.path()).expect("open");
    let first = w.add_checkpoint(&request(&f.log, 0), 1_700_000_000).expect("cosign");
    let (bytes, inode) = (state_file(&f), state_inode(&f));
    let again = w.add_checkpoint(&request(&f.log, 5), 1_700_000_500).expect("replay");
    assert_eq!(again, first, "same cosignature, same time");
    // write_atomic renames a new file into place: same inode = not rewritten.
    assert_eq!((state_file(&f), state_inode(&f)), (bytes, inode));
}

#[test]
fn a_log_may_have_several_keys_and_a_key_name_other_than_its_origin() {
    let dir = tempfile::tempdir().expect("tempdir");
    store::init(dir.path(), "notary.example/w1", &SigningKey::from_bytes(&[7; 32])).expect("init");
    let old_key =
        NoteSigner::new("keys.example/2025", SigningKey::from_bytes(&[1; 32])).expect("k");
    let new_key =
        NoteSigner::new("keys.example/2026", SigningKey::from_bytes(&[2; 32])).expect("k");
    let origin = add_log_as(dir.path(), &old_key.vkey(), Some(ORIGIN)).expect("add");
    assert_eq!(origin, ORIGIN);
    add_log_key(dir.path(), ORIGIN, &new_key.vkey()).expect("rotate");
    assert!(add_log_key(dir.path(), ORIGIN, &new_key.vkey()).is_err(), "same key twice");
    let w = Witness::open(dir.path()).expect("open");
    let mut log = log_with(9, 0, 3);
    let root3 = log.checkpoint().checkpoint.root;
    let by_old = signed(ORIGIN, "keys.example/2025", 1, 3, root3);
    let req = AddCheckpointRequest { old_size: 0, proof: vec![], checkpoint: by_old.note };
    w.add_checkpoint(&req, 1_700_000_000).expect("old key");
    log.append(b"x");
    let by_new = signed(ORIGIN, "keys.example/2026", 2, 4, log.checkpoint().checkpoint.root);
    let req = AddCheckpointRequest {
        old_size: 3,
        proof: log.consistency_proof(3),
        checkpoint: by_new.note,
    };
    w.add_checkpoint(&req, 1_700_000_001).expect("new key");
    let stranger = signed(ORIGIN, "keys.example/2026", 3, 4, log.checkpoint().checkpoint.root);
    let req = AddCheckpointRequest { old_size: 4, proof: vec![], checkpoint: stranger.note };
    assert_eq!(w.add_checkpoint(&req, 1_700_000_002).map_err(|e| e.http_status()), Err(403));
    let latest = w.latest_checkpoint(ORIGIN).expect("latest");
    assert!(latest.contains("keys.example/2026") && latest.contains("notary.example/w1"));
}
