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
