//! Backup while appending, restore, and the refusal to serve a restored
//! store older than the checkpoints already handed out.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use ledger::backup::{backup, restore};
use ledger::{Ledger, LedgerError, LedgerOptions};
use verifier::proof::verify_consistency;

#[test]
fn backup_beside_appends_is_a_prefix_and_a_restore_is_refused_until_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, bk) = (tmp.path().join("live"), tmp.path().join("backup"));
    let l = new_ledger(&data);
    l.append("t", (0..50).map(|i| event(&format!("a-{i}"), "doc")).collect()).unwrap();

    // Appends go on while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (l, stop) = (l.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut b = 0;
            while !stop.load(Ordering::Relaxed) {
                l.append("t", (0..5).map(|i| event(&format!("w-{b}-{i}"), "doc")).collect())
                    .unwrap();
                b += 1;
            }
        })
    };
    let copy = backup(&data, &bk, &[]).unwrap();
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(copy.audit.is_clean() && copy.tree_size >= 50, "{copy:?}");
    assert!(matches!(backup(&data, &bk, &[]), Err(LedgerError::AlreadyExists(_))));
    l.append("t", (0..10).map(|i| event(&format!("b-{i}"), "doc")).collect()).unwrap();

    // The backup is a prefix of the live log.
    let live = l.status();
    assert!(copy.tree_size < live.tree_size);
    let proof = l.consistency_proof(copy.tree_size, live.tree_size).unwrap();
    verify_consistency(copy.tree_size, live.tree_size, &copy.root, &live.root, &proof).unwrap();
    l.close();
    drop(l);

    // The store is lost; the backup goes back in its place.
    assert!(matches!(restore(&bk, &data, &[]), Err(LedgerError::AlreadyExists(_))));
    std::fs::rename(data.join("db"), tmp.path().join("damaged-db")).unwrap();
    let restored = restore(&bk, &data, &[]).unwrap();
    assert_eq!((restored.tree_size, restored.root), (copy.tree_size, copy.root));

    // Checkpoints up to live.tree_size were handed out: refused.
    match Ledger::open(&data, LedgerOptions::default()) {
        Err(LedgerError::Rollback(m)) => assert!(m.contains("--allow-rollback"), "{m}"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("served a store older than what it handed out"),
    }
    // Told so, it serves the backup and goes on from there.
    let opts = LedgerOptions { allow_rollback: true, ..LedgerOptions::default() };
    let l = Ledger::open(&data, opts).unwrap();
    assert_eq!((l.status().tree_size, l.status().root), (copy.tree_size, copy.root));
    l.append("t", vec![event("after-restore", "doc")]).unwrap();
    l.close();
    drop(l);
    let l = Ledger::open(&data, LedgerOptions::default()).unwrap();
    assert_eq!(l.status().tree_size, copy.tree_size + 1);
    l.close();
}

#[test]
fn a_store_that_lost_acknowledged_writes_is_refused_too() {
    // Same mark, other cause: the store is swapped for an older copy made
    // behind the ledger's back (a file-level copy of db/).
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("live");
    let l = new_ledger(&data);
    l.append("t", vec![event("x-1", "doc")]).unwrap();
    l.close();
    drop(l);
    let old = tmp.path().join("old");
    backup(&data, &old, &[]).unwrap();
    let l = Ledger::open(&data, LedgerOptions::default()).unwrap();
    l.append("t", vec![event("x-2", "doc")]).unwrap();
    l.close();
    drop(l);
    std::fs::remove_dir_all(data.join("db")).unwrap();
    std::fs::rename(old.join("db"), data.join("db")).unwrap();
    assert!(matches!(Ledger::open(&data, LedgerOptions::default()), Err(LedgerError::Rollback(_))));
}

/// A backup holds no master key, on purpose: restoring one refuses until
/// the key is in place (and writes nothing), a wrong key is refused too,
/// and a store whose master key went missing is never given a new one.
#[test]
fn restore_and_open_refuse_without_the_master_key() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, bk, fresh) =
        (tmp.path().join("live"), tmp.path().join("backup"), tmp.path().join("fresh"));
    let l = new_ledger(&data);
    l.append("t", (0..5).map(|i| event(&format!("a-{i}"), "doc")).collect()).unwrap();
    l.close();
    drop(l);
    backup(&data, &bk, &[]).unwrap();
    assert!(!bk.join("keys").exists(), "a backup holds no master key");

    // Into a new data directory without the key: refused, nothing written.
    let err = restore(&bk, &fresh, &[]).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, LedgerError::InvalidRequest(_)), "{msg}");
    assert!(msg.contains("master.key is missing") && msg.contains("nothing was restored"), "{msg}");
    assert!(!fresh.exists(), "the refused restore wrote {}", fresh.display());

    // Another log's master key: refused too.
    let other = tmp.path().join("other");
    new_ledger(&other).close();
    std::fs::create_dir_all(fresh.join("keys")).unwrap();
    std::fs::copy(other.join("keys/master.key"), fresh.join("keys/master.key")).unwrap();
    let msg = restore(&bk, &fresh, &[]).unwrap_err().to_string();
    assert!(msg.contains("is not the master key"), "{msg}");
    assert!(!fresh.join("db").exists());

    // With the right key in place: restored, served, and the records open.
    std::fs::copy(data.join("keys/master.key"), fresh.join("keys/master.key")).unwrap();
    restore(&bk, &fresh, &[]).unwrap();
    let opts = LedgerOptions { allow_rollback: true, ..LedgerOptions::default() };
    let l = Ledger::open(&fresh, opts).unwrap();
    assert!(matches!(l.opening(0).unwrap(), ledger::Opening::Record { .. }));
    l.close();
    drop(l);

    // A live store whose master key went missing: no new key is made.
    std::fs::remove_file(data.join("keys/master.key")).unwrap();
    let msg = match Ledger::open(&data, LedgerOptions::default()) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("opened a store without its master key"),
    };
    assert!(
        msg.contains("master.key is missing") && msg.contains("A new key would open none"),
        "{msg}"
    );
    assert!(!data.join("keys/master.key").exists(), "a new master key was made");
}
