//! Storage faults under a running ledger, injected by `testfs`: a full
//! disk (ENOSPC) and I/O errors (EIO). Appends are refused while storage
//! fails (nothing half-acknowledged), reads go on, nothing acknowledged is
//! lost, a full disk recovers in place once space is back, and after an
//! I/O error a restart recovers.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use ledger::{Ledger, LedgerError, LedgerOptions, Receipt};
use testfs::{Fault, LazyFs};
use verifier::hash::leaf_hash;

fn mount() -> (tempfile::TempDir, LazyFs) {
    let mnt = tempfile::tempdir().unwrap();
    let fs = LazyFs::mount(mnt.path()).unwrap_or_else(|e| {
        panic!("mounting testfs: {e} (needs /dev/fuse and fusermount3 from package fuse3, as root)")
    });
    (mnt, fs)
}

fn append(l: &Ledger, tag: &str, n: usize) -> Result<Vec<Receipt>, LedgerError> {
    l.append("t", (0..n).map(|i| event(&format!("{tag}-{i}"), "doc")).collect())
}

/// Appends while the fault is on: each is refused as unavailable.
fn refused_while(l: &Ledger, tag: &str) {
    for round in 0..3 {
        match append(l, &format!("{tag}-{round}"), 5) {
            Err(LedgerError::Unavailable(_)) => {}
            other => panic!("append during a storage fault: {other:?}"),
        }
        assert!(!l.storage_ok());
    }
    // Reads go on.
    let size = l.status().tree_size;
    l.leaf(size - 1).unwrap();
    l.inclusion_proof(0, size).unwrap();
}

fn check_all_present(dir: &Path, acked: &[Receipt]) {
    let l = Ledger::open(dir, LedgerOptions::default()).unwrap();
    for r in acked {
        assert_eq!(leaf_hash(&l.leaf(r.index).unwrap()), r.leaf_hash, "{} altered", r.event_id);
    }
    l.close();
}

#[test]
fn disk_full_refuses_appends_then_recovers_in_place() {
    let (mnt, fs) = mount();
    let dir = mnt.path().join("data");
    let l = new_ledger(&dir);
    let base = l.status().tree_size;
    let mut acked = append(&l, "before", 20).unwrap();
    fs.set_fault(Some(Fault::NoSpace));
    refused_while(&l, "full");
    fs.set_fault(None);
    // No append needed: the sequencer's probe notices the recovery.
    let start = Instant::now();
    while !l.storage_ok() {
        assert!(start.elapsed() < Duration::from_secs(60), "no recovery 60 s after space returned");
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("storage ok again {:?} after space returned", start.elapsed());
    acked.extend(append(&l, "after", 10).unwrap());
    // What was refused was never written: sent again, it is new.
    let again = append(&l, "full-0", 5).unwrap();
    assert!(again.iter().all(|r| !r.replayed));
    acked.extend(again);
    assert_eq!(l.status().tree_size, base + 35);
    l.close();
    drop(l);
    check_all_present(&dir, &acked);
    drop(fs);
}

#[test]
fn io_errors_refuse_appends_and_a_restart_recovers() {
    let (mnt, fs) = mount();
    let dir = mnt.path().join("data");
    let l = new_ledger(&dir);
    // The registry's own entries (registry_changed) come first.
    let base = l.status().tree_size;
    let mut acked = append(&l, "before", 20).unwrap();
    fs.set_fault(Some(Fault::Io));
    refused_while(&l, "eio");
    fs.set_fault(None);
    l.close();
    drop(l);
    // A restart replays the WAL on a healthy disk.
    let l = Ledger::open(&dir, LedgerOptions::default()).unwrap();
    assert!(l.storage_ok());
    assert_eq!(l.status().tree_size, base + 20);
    acked.extend(append(&l, "after", 10).unwrap());
    l.close();
    drop(l);
    check_all_present(&dir, &acked);

    // A store whose disk still fails at start-up is refused, with the cause.
    fs.set_fault(Some(Fault::Io));
    let err = Ledger::open(&dir, LedgerOptions::default()).err().expect("opened on a failing disk");
    assert!(err.to_string().contains("error"), "{err}");
    fs.set_fault(None);
    drop(fs);
}
