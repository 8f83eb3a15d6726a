//! Power loss for the witness: a child process cosigns a growing log on
//! `testfs` (a FUSE file system that keeps only what was fsync'd) until
//! the power is cut at a random moment or at a random file-system change. After every cut the witness must
//! remember at least every checkpoint it cosigned (same size or later, the
//! log's true root), go on cosigning, and — once it has refused a fork —
//! stay frozen across the next cut too.
//!
//! `POWERLOSS_ROUNDS=100 cargo test --release -p notary-bridge --test
//! powerloss -- --nocapture` runs the long version (docs/durability.md).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use notary_bridge::protocol::AddCheckpointRequest;
use notary_bridge::state::{add_log, unix_now};
use notary_bridge::testkit::MemoryLog;
use notary_bridge::{store, BridgeError, Witness};
use rand::Rng;
use testfs::{run_until_cut, Cut, LazyFs, Loss};

const CHILD_DIR: &str = "WITNESS_POWERLOSS_CHILD_DIR";
const ORIGIN: &str = "ledger.example/log";
const DEFAULT_ROUNDS: usize = 8;

/// The log every process agrees on: leaf i is "leaf i".
fn log_of(size: u64) -> MemoryLog {
    let mut log = MemoryLog::new(ORIGIN, SigningKey::from_bytes(&[1; 32])).unwrap();
    for i in 0..size {
        log.append(format!("leaf {i}").as_bytes());
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

/// The child: from the size the witness holds, grows the log a few
/// entries at a time and asks for a cosignature, printing `COSIGNED size`
/// after each one it got, until its storage fails.
#[test]
fn witness_powerloss_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return; // only meaningful when started by `witness_never_forgets_what_it_cosigned`
    };
    let w = Witness::open(Path::new(&dir)).unwrap();
    let mut size = w.records().unwrap()[0].size;
    let mut log = log_of(size);
    let mut out = std::io::stdout();
    let mut rng = rand::thread_rng();
    loop {
        for _ in 0..rng.gen_range(1..6) {
            log.append(format!("leaf {}", log.size()).as_bytes());
        }
        if w.add_checkpoint(&request(&log, size), unix_now()).is_err() {
            return; // the power is off
        }
        size = log.size();
        writeln!(out, "COSIGNED {size}").unwrap();
        out.flush().unwrap();
    }
}

fn mount() -> (tempfile::TempDir, LazyFs) {
    let mnt = tempfile::tempdir().unwrap();
    let fs = LazyFs::mount(mnt.path()).unwrap_or_else(|e| {
        panic!("mounting testfs: {e} (needs /dev/fuse and fusermount3 from package fuse3, as root)")
    });
    (mnt, fs)
}

/// Runs the child until the cut, kills it, powers on; returns the largest
/// size it reported cosigned (0 if none).
fn run_and_cut(fs: &mut LazyFs, dir: &Path, cut: Cut) -> u64 {
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args(["--exact", "witness_powerloss_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .stderr(Stdio::null());
    let (lines, report) = run_until_cut(fs, child, "COSIGNED ", cut).unwrap();
    let cosigned = lines
        .iter()
        .filter_map(|l| l.strip_prefix("COSIGNED ").map(|s| s.parse::<u64>().unwrap()))
        .max()
        .unwrap_or(0);
    eprintln!("{cut:?}: {report:?}; cosigned up to {cosigned}");
    cosigned
}

/// Round `n`'s cut: by time or at a chosen change, all unsynced state lost
/// or a random part of it kept.
fn cut_for(n: usize, rng: &mut impl Rng) -> Cut {
    let loss = if n.is_multiple_of(2) { Loss::Unsynced } else { Loss::Random(rng.gen()) };
    if n % 4 < 2 {
        Cut::After(Duration::from_millis(rng.gen_range(0..200)), loss)
    } else {
        Cut::AtChange(rng.gen_range(0..400), loss)
    }
}

#[test]
fn witness_never_forgets_what_it_cosigned() {
    let rounds: usize = std::env::var("POWERLOSS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS);
    let (mnt, mut fs) = mount();
    let dir = mnt.path().join("srv").join("witness");
    store::init(&dir, "notary.example/w1", &SigningKey::from_bytes(&[7; 32])).unwrap();
    add_log(&dir, &log_of(0).vkey()).unwrap();
    let mut rng = rand::thread_rng();
    let mut remembered = 0;
    for round in 0..rounds {
        let cosigned = run_and_cut(&mut fs, &dir, cut_for(round, &mut rng));
        let w = Witness::open(&dir).expect("the witness opens after a power cut");
        let record = w.records().unwrap().remove(0);
        assert!(record.size >= cosigned, "cosigned {cosigned}, remembers only {}", record.size);
        assert!(record.size >= remembered);
        let truth = log_of(record.size).checkpoint().checkpoint.root;
        assert_eq!(record.root_hash().unwrap(), Some(truth), "remembered root is not the log's");
        remembered = record.size;
        // And it goes on cosigning from there.
        let next = log_of(record.size + 3);
        w.add_checkpoint(&request(&next, record.size), unix_now()).unwrap();
        remembered += 3;
    }

    // A fork offered after all that is refused, and the refusal (the
    // freeze) survives the next cut.
    let forked = {
        let mut log = MemoryLog::new(ORIGIN, SigningKey::from_bytes(&[1; 32])).unwrap();
        for i in 0..remembered {
            log.append(format!("other leaf {i}").as_bytes());
        }
        log
    };
    let w = Witness::open(&dir).unwrap();
    let refused = w.add_checkpoint(&request(&forked, remembered), unix_now());
    assert!(matches!(refused, Err(BridgeError::Equivocation { .. })), "{refused:?}");
    drop(w);
    fs.cut_power(Loss::Unsynced);
    fs.power_on().unwrap();
    let w = Witness::open(&dir).unwrap();
    let next = log_of(remembered + 1);
    let after = w.add_checkpoint(&request(&next, remembered), unix_now());
    assert!(matches!(after, Err(BridgeError::Frozen { .. })), "{after:?}");
    drop(w);
    drop(fs);
}
