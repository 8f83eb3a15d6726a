//! Ledger processes of one log on PostgreSQL, for the failover tests: a
//! `serve` that may wait as a standby, a second node's data directory,
//! and the checks every failover test makes (checkpoints extend each
//! other, an RFC 9162 consistency proof checked here).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use evidence_ledger::flows::contract_flow;
use serde_json::{json, Value};
use verifier::checkpoint::SignedCheckpoint;
use verifier::note::NoteVerifier;
use verifier::proof::verify_consistency;
use verifier::Hash;

use super::pg::PgServer;
use super::{cli, Server, BIN};

/// A `serve` process whose listening line may not come yet (a standby).
pub struct Node {
    pub child: Child,
    pub url: mpsc::Receiver<String>,
}

impl Node {
    pub fn spawn(data: &Path, extra: &[&str]) -> Node {
        let mut child = Command::new(BIN)
            .args(["serve", "--data", data.to_str().unwrap(), "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, url) = mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send(format!("http://{addr}"));
                }
            }
        });
        Node { child, url }
    }

    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A second node of the same log: the key files and the store URL, not
/// the first node's handed-out mark.
pub fn second_node(from: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    for f in ["log.key", "keys/master.key", "store"] {
        std::fs::copy(from.join(f), dir.path().join(f)).unwrap();
    }
    dir
}

/// The newest checkpoint the log signed (cosigned or not yet).
pub fn checkpoint_at(url: &str) -> SignedCheckpoint {
    let latest = format!("{url}/v1/checkpoint/latest");
    let note = reqwest::blocking::get(latest).unwrap().text().unwrap();
    SignedCheckpoint::parse(note.as_bytes()).unwrap()
}

/// The log key signed `cp`, and the tree at `url` extends it (RFC 9162
/// consistency proof from the server, checked here).
pub fn assert_extends(url: &str, log: &NoteVerifier, old: &SignedCheckpoint) {
    let new = checkpoint_at(url);
    SignedCheckpoint::verify(&new.to_bytes(), log).unwrap();
    let (m, n) = (old.checkpoint.size, new.checkpoint.size);
    assert!(n >= m, "the tree shrank from {m} to {n}");
    let q = format!("{url}/v1/proof/consistency?old={m}&new={n}");
    let body: Value = reqwest::blocking::get(q).unwrap().json().unwrap();
    let proof: Vec<Hash> = body["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::from_base64(h.as_str().unwrap()).unwrap())
        .collect();
    verify_consistency(m, n, &old.checkpoint.root, &new.checkpoint.root, &proof)
        .unwrap_or_else(|e| panic!("checkpoint {n} is not consistent with {m}: {e}"));
}

pub fn submit_flow_at(url: &str, s: &Server, doc: &str) {
    let signers: Vec<_> = s.signers.iter().collect();
    let events = contract_flow(&s.services, &signers, doc, doc.as_bytes());
    let resp = reqwest::blocking::Client::new()
        .post(format!("{url}/v1/events"))
        .bearer_auth(&s.tokens.submitter)
        .json(&json!({"events": events}))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().unwrap());
}

/// The log's verifier key, from `status`.
pub fn log_verifier(s: &Server) -> NoteVerifier {
    let data = s.data().to_str().unwrap();
    let vkey = cli(&["status", "--data", data])
        .lines()
        .find_map(|l| l.strip_prefix("vkey: ").map(str::to_string))
        .unwrap();
    NoteVerifier::from_vkey(&vkey).unwrap()
}

/// Leaves in the database `ledger` of `pg`.
pub fn leaves_in(pg: &PgServer) -> u64 {
    pg.psql("ledger", "SELECT count(*) FROM el_leaves").parse().unwrap()
}

/// Waits for the sequencer to exit (it loses its lease with its database)
/// and returns its exit code.
pub fn wait_exit(s: &mut Server) -> Option<i32> {
    let mut child = s.child.take().unwrap();
    for _ in 0..600 {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("the sequencer did not exit after losing its database");
}
