//! Power loss: the ledger runs in a child process on `testfs`, a FUSE file
//! system that keeps only what was fsync'd (file fsync for bytes, directory
//! fsync for creates, renames and unlinks). At a random moment under load
//! the power is cut (everything unsynced is dropped, or a random part of it
//! kept) — or just before a randomly chosen file-system change, start-up
//! included — the child is SIGKILLed, the file system is remounted, and the
//! store is opened again. After every cut:
//! - every acknowledged receipt is there with the same index, leaf hash and
//!   ledger time, and its inclusion proof verifies against the new
//!   checkpoint;
//! - the new checkpoint is consistent with every checkpoint handed out
//!   before the cut (no fork, no rollback);
//! - submitting again the events in flight at the cut gives their original
//!   receipts or new ones, and no event id is ever logged twice.
//!
//! `POWERLOSS_ROUNDS=100 cargo test --release -p evidence-ledger-core
//! --test powerloss -- --nocapture` runs the long version (docs/durability.md).
//! Needs /dev/fuse and `fusermount3` (package fuse3, installed by scripts/env.sh).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::*;
use ledger::{Ledger, LedgerOptions};
use rand::seq::IteratorRandom;
use rand::Rng;
use testfs::{run_until_cut, Cut, LazyFs, Loss};
use verifier::checkpoint::SignedCheckpoint;
use verifier::hash::leaf_hash;
use verifier::note::NoteVerifier;
use verifier::proof::{verify_consistency, verify_inclusion};
use verifier::Hash;

const CHILD_DIR: &str = "LEDGER_POWERLOSS_CHILD_DIR";
const CHILD_RUN: &str = "LEDGER_POWERLOSS_CHILD_RUN";
const DOC: &str = "power-doc";
const TENANT: &str = "t";
/// Rounds in `./scripts/test`; POWERLOSS_ROUNDS overrides.
const DEFAULT_ROUNDS: usize = 8;

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// The child: appends from 4 threads until its storage fails, printing
/// what it tries (`TRY id...`) before each append and, after it, the
/// checkpoint it was handed (`CP <b64 note>`) and each receipt
/// (`ACK id index leaf_hash ledger_time`).
#[test]
fn powerloss_child() {
    let (Ok(dir), Ok(run)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_RUN)) else {
        return; // only meaningful when started by `power_loss_loses_no_acknowledged_event`
    };
    let l = Ledger::open(dir.as_ref(), LedgerOptions::default()).unwrap();
    let out = std::sync::Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (l, out, run) = (l.clone(), out.clone(), run.clone());
            std::thread::spawn(move || {
                for b in 0.. {
                    let ids: Vec<String> =
                        (0..1 + b % 13).map(|i| format!("r{run}-t{t}-b{b}-{i}")).collect();
                    {
                        let mut out = out.lock().unwrap();
                        writeln!(out, "TRY {}", ids.join(" ")).unwrap();
                        out.flush().unwrap();
                    }
                    let batch = ids.iter().map(|id| event(id, DOC)).collect();
                    let Ok(receipts) = l.append(TENANT, batch) else {
                        return; // the power is off
                    };
                    let mut out = out.lock().unwrap();
                    writeln!(out, "CP {}", b64(receipts[0].checkpoint.as_bytes())).unwrap();
                    for r in receipts {
                        writeln!(
                            out,
                            "ACK {} {} {} {}",
                            r.event_id,
                            r.index,
                            r.leaf_hash.to_base64(),
                            r.ledger_time
                        )
                        .unwrap();
                    }
                    out.flush().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

/// An acknowledged receipt, as the client holds it.
#[derive(Debug)]
struct Acked {
    index: u64,
    leaf_hash: Hash,
    ledger_time: String,
}

/// What one child printed before it died.
#[derive(Default)]
struct RoundLog {
    tried: Vec<String>,
    acked: Vec<(String, Acked)>,
    checkpoints: Vec<(u64, Hash)>,
}

fn parse_lines(lines: impl Iterator<Item = String>, log: &NoteVerifier) -> RoundLog {
    let mut r = RoundLog::default();
    for line in lines {
        let parts: Vec<&str> = line.split(' ').collect();
        match parts.as_slice() {
            ["TRY", ids @ ..] => r.tried.extend(ids.iter().map(|s| s.to_string())),
            ["CP", note] => {
                let note = base64::engine::general_purpose::STANDARD.decode(note).unwrap();
                let cp = SignedCheckpoint::verify(&note, log).expect("handed-out checkpoint");
                r.checkpoints.push((cp.checkpoint.size, cp.checkpoint.root));
            }
            ["ACK", id, index, lh, time] => r.acked.push((
                id.to_string(),
                Acked {
                    index: index.parse().unwrap(),
                    leaf_hash: Hash::from_base64(lh).unwrap(),
                    ledger_time: time.to_string(),
                },
            )),
            _ => {} // the test harness's own lines
        }
    }
    r
}

/// Runs one child on `dir` until the cut, kills it, powers on.
fn run_and_cut(fs: &mut LazyFs, dir: &Path, run: usize, cut: Cut, log: &NoteVerifier) -> RoundLog {
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args(["--exact", "powerloss_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .env(CHILD_RUN, run.to_string())
        .stderr(Stdio::null());
    let (lines, report) = run_until_cut(fs, child, "ACK ", cut).unwrap();
    eprintln!("round {run}: {cut:?}: {report:?}");
    parse_lines(lines.into_iter(), log)
}

/// Round `n`'s cut: by time or at a chosen change (RocksDB's start-up
/// included), all unsynced state lost or a random part of it kept.
fn cut_for(n: usize, rng: &mut impl Rng) -> Cut {
    let loss = if n.is_multiple_of(2) { Loss::Unsynced } else { Loss::Random(rng.gen()) };
    if n % 4 < 2 {
        Cut::After(Duration::from_millis(rng.gen_range(0..250)), loss)
    } else {
        Cut::AtChange(rng.gen_range(0..3000), loss)
    }
}

/// What the checks carry from one round to the next.
struct Known {
    acked: HashMap<String, Acked>,
    /// Every event id in the log's first `head.0` leaves.
    logged: HashSet<String>,
    /// The verified head after the previous round.
    head: (u64, Hash),
}

/// Opens the store after a cut and checks it against everything handed out.
fn check_after_cut(dir: &Path, log: &NoteVerifier, round: RoundLog, known: &mut Known) {
    let l = Ledger::open(dir, LedgerOptions::default()).expect("the store opens after a power cut");
    let status = l.status();
    let cp = SignedCheckpoint::verify(status.checkpoint.as_bytes(), log).unwrap().checkpoint;
    assert_eq!((cp.size, cp.root), (status.tree_size, status.root));

    // No fork, no rollback: every checkpoint handed out is a prefix.
    for (size, root) in round.checkpoints.iter().chain([&known.head]) {
        assert!(
            *size <= cp.size,
            "checkpoint of size {size} was handed out; the log has {}",
            cp.size
        );
        let proof = l.consistency_proof(*size, cp.size).unwrap();
        verify_consistency(*size, cp.size, root, &cp.root, &proof)
            .unwrap_or_else(|e| panic!("checkpoint {size} handed out is not a prefix: {e}"));
    }

    // Every receipt acknowledged in this round, and a sample of the older
    // ones: same index, leaf hash, ledger time, and proven in the new
    // checkpoint. (The older ones were proven in the previous head, which
    // the new checkpoint was just proven to extend: that covers them all.)
    let acked_now: HashSet<String> = round.acked.iter().map(|(id, _)| id.clone()).collect();
    known.acked.extend(round.acked);
    let older = known.acked.iter().filter(|(id, _)| !acked_now.contains(*id));
    let sample = older.choose_multiple(&mut rand::thread_rng(), 500);
    let now = known.acked.iter().filter(|(id, _)| acked_now.contains(*id));
    for (id, a) in now.chain(sample) {
        assert!(a.index < cp.size, "acknowledged {id} at {} lost (size {})", a.index, cp.size);
        let leaf = l.leaf(a.index).unwrap();
        assert_eq!(leaf_hash(&leaf), a.leaf_hash, "acknowledged {id} altered");
        let (event_id, ledger_time) = opened(&l, a.index);
        assert_eq!(event_id, *id);
        assert_eq!(ledger_time, a.ledger_time, "{id}: ledger time changed");
        let proof = l.inclusion_proof(a.index, cp.size).unwrap();
        verify_inclusion(&a.leaf_hash, a.index, cp.size, &proof, &cp.root)
            .unwrap_or_else(|e| panic!("{id}: inclusion in the new checkpoint: {e}"));
    }

    // The events in flight at the cut, submitted again, and a sample of
    // acknowledged ones: original receipts or new ones.
    let in_flight: Vec<String> =
        round.tried.into_iter().filter(|id| !acked_now.contains(id)).collect();
    let sample: Vec<String> = known.acked.keys().take(64).cloned().collect();
    for chunk in in_flight.chunks(500).chain(sample.chunks(64)) {
        let receipts = l.append(TENANT, chunk.iter().map(|id| event(id, DOC)).collect()).unwrap();
        for r in receipts {
            if let Some(a) = known.acked.get(&r.event_id) {
                assert!(r.replayed, "{} was acknowledged and written again", r.event_id);
                assert_eq!((r.index, r.leaf_hash), (a.index, a.leaf_hash));
                assert_eq!(&*r.ledger_time, a.ledger_time);
            }
        }
    }

    // No event id twice: the leaves before the last head were checked.
    let status = l.status();
    for index in known.head.0..status.tree_size {
        let id = opened(&l, index).0;
        assert!(known.logged.insert(id.clone()), "event {id} logged twice (again at {index})");
    }
    known.head = (status.tree_size, status.root);
    eprintln!(
        "  in flight {}, acknowledged in all {}, tree size {}",
        in_flight.len(),
        known.acked.len(),
        status.tree_size
    );
    l.close();
}

/// Mounts testfs on a fresh temp dir, with a clear word when FUSE is missing.
fn mount() -> (tempfile::TempDir, LazyFs) {
    let mnt = tempfile::tempdir().unwrap();
    let fs = LazyFs::mount(mnt.path()).unwrap_or_else(|e| {
        panic!("mounting testfs: {e} (needs /dev/fuse and fusermount3 from package fuse3, as root)")
    });
    (mnt, fs)
}

#[test]
fn power_loss_loses_no_acknowledged_event() {
    let rounds: usize = std::env::var("POWERLOSS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS);
    let (mnt, mut fs) = mount();
    let dir: PathBuf = mnt.path().join("data");
    let vkey = new_ledger(&dir).vkey().to_string();
    let log = NoteVerifier::from_vkey(&vkey).unwrap();
    let mut known =
        Known { acked: HashMap::new(), logged: HashSet::new(), head: (0, Hash::empty_root()) };
    let started = Instant::now();
    let mut rng = rand::thread_rng();
    for run in 0..rounds {
        let round = run_and_cut(&mut fs, &dir, run, cut_for(run, &mut rng), &log);
        check_after_cut(&dir, &log, round, &mut known);
    }
    eprintln!(
        "{rounds} power cuts in {:.1} s: {} receipts acknowledged, all present and proven",
        started.elapsed().as_secs_f64(),
        known.acked.len()
    );
    assert!(known.acked.len() > rounds, "too little load: {}", known.acked.len());
    drop(fs);
}

#[test]
fn init_is_durable_when_it_returns() {
    let (mnt, mut fs) = mount();
    let dir = mnt.path().join("nested").join("data");
    let vkey = Ledger::init(&dir, "test.example/log").unwrap();
    fs.cut_power(Loss::Unsynced);
    fs.power_on().unwrap();
    let l =
        Ledger::open(&dir, LedgerOptions::default()).expect("the store opens after a power cut");
    assert_eq!(l.vkey(), vkey, "the log key changed");
    assert_eq!(l.status().tree_size, 0);
    l.close();
    drop(l);
    drop(fs);
}

/// The event id (from the decrypted v2 record) and ledger time of an entry.
fn opened(l: &Ledger, index: u64) -> (String, String) {
    let leaf = l.leaf(index).unwrap();
    let time = verifier::v2::parse_any_leaf(&leaf).unwrap().ledger_time().to_owned();
    match l.opening(index).unwrap() {
        ledger::Opening::Record { record, .. } => {
            (record["event"]["event_id"].as_str().unwrap().to_owned(), time)
        }
        other => panic!("entry {index}: {other:?}"),
    }
}
