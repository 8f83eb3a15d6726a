//! Crash safety: a child process appends in a loop and is killed with
//! SIGKILL at random moments; after every kill the store reopens with every
//! acknowledged event present, a root that matches (or extends, provably)
//! the last signed checkpoint, and appends go on.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use ledger::{Ledger, LedgerOptions};
use rand::Rng;
use verifier::checkpoint::SignedCheckpoint;
use verifier::hash::{leaf_hash, root_from_leaf_hashes};
use verifier::note::NoteVerifier;
use verifier::proof::verify_consistency;
use verifier::Hash;

const CHILD_DIR: &str = "LEDGER_CRASH_CHILD_DIR";
const CHILD_RUN: &str = "LEDGER_CRASH_CHILD_RUN";
const KILLS: usize = 24;

/// The child: appends from 4 threads until killed, printing each ack.
#[test]
fn crash_child() {
    let (Ok(dir), Ok(run)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_RUN)) else {
        return; // only meaningful when started by `sigkill_loses_no_acknowledged_event`
    };
    let l = Ledger::open(dir.as_ref(), LedgerOptions::default()).unwrap();
    let stdout = std::sync::Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (l, out, run) = (l.clone(), stdout.clone(), run.clone());
            std::thread::spawn(move || {
                for b in 0.. {
                    let n = 1 + (b % 13);
                    let batch = (0..n)
                        .map(|i| event(&format!("r{run}-t{t}-b{b}-{i}"), "crash-doc"))
                        .collect();
                    let receipts = l.append("t", batch).unwrap();
                    let mut out = out.lock().unwrap();
                    for r in receipts {
                        writeln!(out, "ACK {} {} {}", r.event_id, r.index, r.leaf_hash).unwrap();
                    }
                    out.flush().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn sigkill_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let vkey = new_ledger(dir.path()).vkey().to_string();
    let log = NoteVerifier::from_vkey(&vkey).unwrap();
    let mut acked: HashMap<String, (u64, Hash)> = HashMap::new();
    let mut last_checkpoint: Option<(u64, Hash)> = None;
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut rng = rand::thread_rng();
    for run in 0..KILLS {
        assert!(Instant::now() < deadline, "crash loop over its time bound at run {run}");
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, dir.path())
            .env(CHILD_RUN, run.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait for the first ack, then kill at a random moment after it.
        let first = rx.recv_timeout(Duration::from_secs(30)).expect("child acknowledged nothing");
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..300)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        for line in std::iter::once(first).chain(rx.try_iter()) {
            let parts: Vec<&str> = line.split(' ').collect();
            if parts.len() == 4 && parts[0] == "ACK" {
                let h = Hash::from_base64(parts[3]).unwrap();
                acked.insert(parts[1].to_string(), (parts[2].parse().unwrap(), h));
            }
        }
        last_checkpoint = Some(check_store(dir.path(), &log, &acked, last_checkpoint));
    }
    assert!(acked.len() > KILLS, "too few acknowledged events: {}", acked.len());
}

/// Reopens the store and checks it against everything acknowledged so far.
fn check_store(
    dir: &std::path::Path,
    log: &NoteVerifier,
    acked: &HashMap<String, (u64, Hash)>,
    previous: Option<(u64, Hash)>,
) -> (u64, Hash) {
    let l = Ledger::open(dir, LedgerOptions::default()).unwrap();
    let status = l.status();
    let cp = SignedCheckpoint::verify(status.checkpoint.as_bytes(), log).unwrap();
    let leaves: Vec<Hash> = (0..status.tree_size).map(|i| leaf_hash(&l.leaf(i).unwrap())).collect();
    let root = root_from_leaf_hashes(&leaves);
    assert_eq!(cp.checkpoint.size, status.tree_size);
    assert_eq!(cp.checkpoint.root, root, "recomputed root differs from the signed checkpoint");
    for (id, (index, h)) in acked {
        assert!(*index < status.tree_size, "acknowledged {id} at {index} lost");
        assert_eq!(&leaves[*index as usize], h, "acknowledged {id} altered");
    }
    if let Some((old_size, old_root)) = previous {
        let proof = l.consistency_proof(old_size, status.tree_size).unwrap();
        verify_consistency(old_size, status.tree_size, &old_root, &root, &proof).unwrap();
    }
    // Appends go on after the crash.
    let r = l.append("t", vec![event(&format!("after-{}", status.tree_size), "d")]).unwrap();
    assert_eq!(r[0].index, status.tree_size);
    l.close();
    (status.tree_size + 1, l.status().root)
}
