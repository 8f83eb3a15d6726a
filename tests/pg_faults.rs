//! A Jepsen-style fault test of the ledger on PostgreSQL (docs/postgres.md,
//! "Fault test"). Clients append without pause and record every receipt
//! and every checkpoint they are handed; a poller records every checkpoint
//! the log serves; a nemesis, in random order (seed printed, `PG_FAULT_SEED`
//! replays it), cancels and terminates backends waiting for the standby,
//! stops and starts the standby past the commit deadline, SIGKILLs the
//! sequencer, cuts every ledger↔PostgreSQL connection at a TCP proxy,
//! kills the primary and promotes the standby (then builds a new standby),
//! empties `synchronous_standby_names` under a waiting commit before such
//! a failover, and SIGSTOPs the sequencer until another takes its lease
//! over, then resumes it (it must exit with 75).
//!
//! The checker: every acknowledged receipt is in the final log with its
//! index and leaf hash; no two checkpoints handed out have one size and
//! two roots; every one handed out is consistent with the final tree
//! (RFC 9162 proof checked here); every 5xx is a 503 with `Retry-After`.
//!
//! `PG_FAULT_ROUNDS` sets the number of faults (default 6, a short run in
//! the normal suite).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use common::nodes::*;
use common::pg::PgServer;
use common::*;
use evidence_ledger::flows::signed_event;
use serde_json::{json, Value};
use verifier::checkpoint::SignedCheckpoint;
use verifier::note::NoteVerifier;
use verifier::Hash;

/// A TCP proxy in front of the primary: the ledger's only way to the
/// database, so that the nemesis can cut every connection at once and a
/// failover can move the target without a new URL.
struct Proxy {
    port: u16,
    target: Arc<AtomicU16>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = Arc::new(AtomicU16::new(target));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (t, o) = (target.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let to = ("127.0.0.1", t.load(Ordering::SeqCst));
                let Ok(server) = TcpStream::connect(to) else { continue };
                let mut open = o.lock().unwrap();
                open.push(client.try_clone().unwrap());
                open.push(server.try_clone().unwrap());
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Proxy { port, target, open }
    }

    fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Cuts every connection through the proxy (a network partition that
    /// heals at once: new connections go through).
    fn cut(&self) {
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 << 10];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}

/// What the clients and the poller saw.
#[derive(Default)]
struct History {
    /// event id -> (index, leaf hash) of every receipt.
    acked: HashMap<String, (u64, String)>,
    /// Every checkpoint handed out: size -> roots (base64) seen for it.
    checkpoints: BTreeMap<u64, Vec<String>>,
    /// One note per distinct (size, root), for the consistency checks.
    notes: HashMap<(u64, String), String>,
    /// Answers that were not 200, by status (503 only, with Retry-After).
    refused: u64,
    /// Answers that break the rules: anything but 200 or 503 + Retry-After.
    bad: Vec<String>,
}

impl History {
    fn checkpoint(&mut self, note: &str) {
        let Ok(cp) = SignedCheckpoint::parse(note.as_bytes()) else {
            self.bad.push(format!("an unparsable checkpoint: {note:?}"));
            return;
        };
        let (size, root) = (cp.checkpoint.size, cp.checkpoint.root.to_base64());
        let roots = self.checkpoints.entry(size).or_default();
        if !roots.contains(&root) {
            roots.push(root.clone());
        }
        self.notes.entry((size, root)).or_insert_with(|| note.to_string());
    }
}

struct World {
    url: RwLock<String>,
    history: Mutex<History>,
    stop: AtomicBool,
}

fn client_loop(world: &World, token: &str, issuer: &evidence_ledger::flows::Issuer, c: usize) {
    let http =
        reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
    let h = Hash::digest(b"fault").to_hex();
    let mut b = 0;
    while !world.stop.load(Ordering::Relaxed) {
        // The same batch is retried until it is acknowledged (a replay
        // after an unknown outcome is the interesting case).
        let events: Vec<Value> = (0..5)
            .map(|i| signed_event(issuer, &format!("f-{c}-{b}-{i}"), &format!("doc-{c}"), &h))
            .collect();
        let url = world.url.read().unwrap().clone();
        let sent = http
            .post(format!("{url}/v1/events"))
            .bearer_auth(token)
            .json(&json!({ "events": events }))
            .send();
        let Ok(resp) = sent else {
            std::thread::sleep(Duration::from_millis(100)); // the ledger is restarting
            continue;
        };
        let status = resp.status().as_u16();
        let retry = resp.headers().contains_key("retry-after");
        let text = resp.text().unwrap_or_default();
        let mut hist = world.history.lock().unwrap();
        if status == 200 {
            let body: Value = serde_json::from_str(&text).unwrap();
            for r in body["receipts"].as_array().unwrap() {
                let id = r["event_id"].as_str().unwrap().to_string();
                let got = (r["index"].as_u64().unwrap(), r["leaf_hash"].as_str().unwrap().into());
                if let Some(before) = hist.acked.insert(id.clone(), got.clone()) {
                    if before != got {
                        hist.bad.push(format!("{id} acknowledged as {before:?}, then {got:?}"));
                    }
                }
                hist.checkpoint(r["checkpoint"].as_str().unwrap());
            }
            b += 1;
        } else if status == 503 && retry {
            hist.refused += 1;
            drop(hist);
            std::thread::sleep(Duration::from_millis(100));
        } else {
            hist.bad.push(format!("{status} (Retry-After: {retry}): {text}"));
        }
    }
}

fn poller(world: &World) {
    let http =
        reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    while !world.stop.load(Ordering::Relaxed) {
        let url = world.url.read().unwrap().clone();
        for path in ["/v1/checkpoint/latest", "/v1/checkpoint"] {
            let Ok(resp) = http.get(format!("{url}{path}")).send() else { continue };
            if resp.status() == 200 {
                let note = resp.text().unwrap_or_default();
                world.history.lock().unwrap().checkpoint(&note);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A small deterministic generator (xorshift64*), seeded from the clock
/// or `PG_FAULT_SEED`.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// The database cluster the nemesis works on.
struct Cluster {
    primary: PgServer,
    standby: PgServer,
    proxy: Proxy,
}

impl Cluster {
    /// Ends every wait for the standby with `how` for about a second,
    /// while the standby is down; then brings the standby back.
    fn end_waits(&mut self, how: &str) -> u64 {
        self.standby.stop();
        let mut ended = 0;
        for _ in 0..15 {
            for pid in self.primary.syncrep_waiters() {
                let _ = self.primary.psql("postgres", &format!("SELECT {how}({pid})"));
                ended += 1;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.standby.start_again();
        self.primary.wait_for_sync_standby();
        ended
    }

    /// The operator's mistake, then the primary's loss: with the standby
    /// down and a commit waiting for it, `synchronous_standby_names` is
    /// emptied (which releases the waiting commits, and lets later ones
    /// through, without a warning); then the primary dies, and the
    /// standby, which lacks those commits, is promoted. Returns whether a
    /// commit was waiting when the setting was emptied.
    fn silent_failover(&mut self) -> bool {
        self.standby.stop();
        let mut waited = false;
        for _ in 0..100 {
            waited = !self.primary.syncrep_waiters().is_empty();
            if waited {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.primary.psql("postgres", "ALTER SYSTEM SET synchronous_standby_names = ''");
        self.primary.psql("postgres", "SELECT pg_reload_conf()");
        std::thread::sleep(Duration::from_millis(1500));
        self.primary.kill9();
        self.standby.start_again();
        self.promote_standby();
        waited
    }

    /// Kills the primary, promotes the standby, makes it wait for a new
    /// synchronous standby, and points the proxy at it.
    fn failover(&mut self) {
        self.primary.kill9();
        self.promote_standby();
    }

    /// The second half of a failover, the primary being dead.
    fn promote_standby(&mut self) {
        self.standby.promote();
        self.standby.psql("postgres", "ALTER SYSTEM SET synchronous_standby_names = 'standby1'");
        self.standby.psql("postgres", "SELECT pg_reload_conf()");
        // A free port picked for the new standby can be taken before it
        // binds (the proxy's own connections use ephemeral ports): retry.
        let mut fresh = None;
        for _ in 0..3 {
            let primary = &self.standby;
            let tried = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                PgServer::start_standby(primary)
            }));
            if let Ok(s) = tried {
                fresh = Some(s);
                break;
            }
        }
        let fresh = fresh.expect("a new standby after three tries");
        let old = std::mem::replace(&mut self.standby, fresh);
        let dead = std::mem::replace(&mut self.primary, old);
        drop(dead);
        self.proxy.target.store(self.primary.port(), Ordering::SeqCst);
        self.proxy.cut();
    }
}

/// `serve`'s flags here: a short commit deadline and lease, and no
/// acknowledgement without a synchronous standby's flush.
const SERVE: [&str; 6] =
    ["--pg-commit-timeout", "1", "--pg-lease-ttl", "2", "--pg-require-sync-standby", "1"];

/// SIGSTOPs the sequencer; its supervisor (the test) starts another, which
/// takes the lease over once it expired; then the stopped one resumes
/// (SIGCONT). It must stop (status 75) without committing anything: its
/// sessions were ended and its epoch is fenced. What it had acknowledged
/// before the stop is checked with everything else at the end.
fn stop_and_replace(s: &mut Server, world: &World) {
    let mut old = s.child.take().unwrap();
    unsafe_free_kill(old.id(), "STOP");
    s.spawn_with(&SERVE);
    *world.url.write().unwrap() = s.url.clone();
    unsafe_free_kill(old.id(), "CONT");
    let exited = (0..300).find_map(|_| {
        std::thread::sleep(Duration::from_millis(100));
        old.try_wait().unwrap()
    });
    if exited.and_then(|e| e.code()) != Some(75) {
        let _ = old.kill();
        let _ = old.wait();
        let why = format!("the resumed sequencer did not stop with 75: {exited:?}");
        world.history.lock().unwrap().bad.push(why);
    }
}

/// Restarts the ledger if it exited (it does on losing its lease) or
/// `force`, and publishes its new URL to the clients.
fn keep_serving(s: &mut Server, world: &World, force: bool) {
    let exited = s.child.as_mut().map(|c| c.try_wait().unwrap().is_some()).unwrap_or(true);
    if force || exited {
        if let Some(mut c) = s.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        s.spawn_with(&SERVE);
        *world.url.write().unwrap() = s.url.clone();
    }
}

#[test]
fn faults_in_random_order_lose_no_receipt_and_fork_no_checkpoint() {
    let rounds: u64 =
        std::env::var("PG_FAULT_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(6);
    let seed: u64 =
        std::env::var("PG_FAULT_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
                as u64
                | 1
        });
    println!("PG_FAULT_SEED={seed} PG_FAULT_ROUNDS={rounds}");
    let mut rng = Rng(seed);
    let primary = PgServer::start_primary_sync();
    let standby = PgServer::start_standby(&primary);
    primary.create_db("ledger");
    let proxy = Proxy::start(primary.port());
    let mut cluster = Cluster { primary, standby, proxy };
    let mut s = Server::prepare_with(&["--store", &cluster.proxy.url("ledger")]);
    s.spawn_with(&SERVE);
    let data = s.data().to_str().unwrap().to_string();
    let vkey = cli(&["status", "--data", &data])
        .lines()
        .find_map(|l| l.strip_prefix("vkey: ").map(str::to_string))
        .unwrap();
    let log = NoteVerifier::from_vkey(&vkey).unwrap();
    let world = Arc::new(World {
        url: RwLock::new(s.url.clone()),
        history: Mutex::default(),
        stop: AtomicBool::new(false),
    });
    let mut threads = Vec::new();
    for c in 0..3 {
        let (w, token) = (world.clone(), s.tokens.submitter.clone());
        let issuer = evidence_ledger::flows::Issuer {
            name: s.signers[0].issuer.name.clone(),
            key: s.signers[0].issuer.key.clone(),
        };
        threads.push(std::thread::spawn(move || client_loop(&w, &token, &issuer, c)));
    }
    let w = world.clone();
    threads.push(std::thread::spawn(move || poller(&w)));

    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for _ in 0..rounds {
        std::thread::sleep(Duration::from_millis(500 + rng.below(1000)));
        let fault = match rng.below(8) {
            0 => {
                cluster.end_waits("pg_cancel_backend");
                "cancel-syncrep-wait"
            }
            1 => {
                cluster.end_waits("pg_terminate_backend");
                "terminate-syncrep-wait"
            }
            2 => {
                cluster.standby.stop();
                std::thread::sleep(Duration::from_millis(2500)); // past the deadline
                cluster.standby.start_again();
                cluster.primary.wait_for_sync_standby();
                "standby-down-past-deadline"
            }
            3 => {
                keep_serving(&mut s, &world, true);
                "sigkill-sequencer"
            }
            4 => {
                cluster.proxy.cut();
                "cut-db-connections"
            }
            5 => {
                cluster.failover();
                "kill-primary-promote-standby"
            }
            6 => {
                if cluster.silent_failover() {
                    "empty-sync-names-then-failover"
                } else {
                    "empty-sync-names-then-failover (no commit was waiting)"
                }
            }
            _ => {
                stop_and_replace(&mut s, &world);
                "sigstop-sequencer-take-over-sigcont"
            }
        };
        println!("fault: {fault}");
        *counts.entry(fault).or_default() += 1;
        // The sequencer exits on a lost lease: its supervisor restarts it.
        std::thread::sleep(Duration::from_millis(300));
        keep_serving(&mut s, &world, false);
    }
    // Quiet: the log must take appends again, then the clients stop.
    std::thread::sleep(Duration::from_secs(2));
    keep_serving(&mut s, &world, false);
    let before = world.history.lock().unwrap().acked.len();
    for _ in 0..600 {
        if world.history.lock().unwrap().acked.len() > before {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    world.stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }

    let hist = world.history.lock().unwrap();
    println!(
        "faults: {counts:?}; acknowledged events: {}; 503s: {}; checkpoints seen: {}",
        hist.acked.len(),
        hist.refused,
        hist.notes.len()
    );
    assert!(hist.bad.is_empty(), "answers breaking the rules: {:#?}", hist.bad);
    assert!(hist.acked.len() > before, "the log took no appends after the faults");
    for (size, roots) in &hist.checkpoints {
        assert_eq!(roots.len(), 1, "a fork: checkpoints of size {size} with roots {roots:?}");
    }
    assert_all_present_at(&s.url, &hist.acked);
    for note in hist.notes.values() {
        let cp = SignedCheckpoint::parse(note.as_bytes()).unwrap();
        assert_extends(&s.url, &log, &cp);
    }
}
