//! Anchoring with real `notary-witness` processes on loopback: cosigned
//! checkpoints served and verifiable, a witness down does not stop ingest
//! and catches up after, a forked log is refused and stays refused.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use evidence_ledger::flows::contract_flow;
use ledger::{Ledger, LedgerOptions};
use notary_bridge::WitnessClient;
use serde_json::{json, Value};
use verifier::checkpoint::SignedCheckpoint;
use verifier::cosignature::verify_cosignature;
use verifier::note::NoteVerifier;

/// The witness binary, built beside ours by `cargo test --workspace`.
fn witness_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("notary-witness");
    assert!(
        bin.exists(),
        "{} missing: run ./scripts/test (cargo test --workspace builds it)",
        bin.display()
    );
    bin
}

fn witness_cli(args: &[&str]) -> String {
    let out = Command::new(witness_bin()).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

struct Witness {
    name: String,
    vkey: String,
    dir: tempfile::TempDir,
    addr: String,
    child: Option<Child>,
}

impl Witness {
    fn start(name: &str, log_vkey: &str) -> Witness {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("w");
        let d = d.to_str().unwrap();
        let vkey = witness_cli(&["init", "--data", d, "--name", name]);
        witness_cli(&["log", "add", "--data", d, "--vkey", log_vkey]);
        let mut w =
            Witness { name: name.into(), vkey, dir, addr: "127.0.0.1:0".into(), child: None };
        w.serve();
        w
    }

    fn data(&self) -> String {
        self.dir.path().join("w").to_str().unwrap().to_string()
    }

    fn serve(&mut self) {
        let mut child = Command::new(witness_bin())
            .args(["serve", "--data", &self.data(), "--listen", &self.addr])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let url = evidence_ledger::load::read_listen_line(&mut child).unwrap();
        self.addr = url.trim_start_matches("http://").to_string();
        self.child = Some(child);
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        self.kill();
    }
}

fn log_vkey(s: &Server) -> String {
    let out = cli(&["status", "--data", s.data().to_str().unwrap()]);
    out.lines().find_map(|l| l.strip_prefix("vkey: ")).unwrap().to_string()
}

/// Polls `/v1/checkpoint` until `pred` holds for its parsed note.
fn wait_checkpoint(
    s: &Server,
    what: &str,
    pred: impl Fn(&SignedCheckpoint) -> bool,
) -> SignedCheckpoint {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, body) = s.get("/v1/checkpoint", None);
        let cp = SignedCheckpoint::parse(body.as_bytes()).unwrap();
        if pred(&cp) {
            return cp;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; last checkpoint:\n{body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn cosigned_by(cp: &SignedCheckpoint, w: &Witness) -> bool {
    let v = NoteVerifier::from_vkey(&w.vkey).unwrap();
    cp.note.signatures.iter().any(|sig| verify_cosignature(&v, &cp.note.text, sig).is_ok())
}

fn submit_flow(s: &Server, doc: &str) {
    let signers: Vec<_> = s.signers.iter().collect();
    let events = contract_flow(&s.services, &signers, doc, doc.as_bytes());
    let (status, body) = s.submit(&json!({"events": events}));
    assert_eq!(status, 200, "{body}");
}

fn setup(names: &[&str], policy: &[&str]) -> (Server, Vec<Witness>, String) {
    let mut s = Server::prepare();
    let vkey = log_vkey(&s);
    let data = s.data().to_str().unwrap().to_string();
    let witnesses: Vec<Witness> = names.iter().map(|n| Witness::start(n, &vkey)).collect();
    for w in &witnesses {
        cli(&["witness", "add", "--data", &data, "--vkey", &w.vkey, "--url", &w.url()]);
    }
    let mut args = vec!["anchor", "policy", "--data", &data, "--interval", "1"];
    args.extend_from_slice(policy);
    cli(&args);
    s.spawn();
    (s, witnesses, vkey)
}

#[test]
fn witnesses_cosign_and_a_witness_down_neither_blocks_ingest_nor_stays_behind() {
    let (s, mut w, vkey) =
        setup(&["notary-office", "court", "notary-2"], &["--require", "court", "--threshold", "2"]);
    let log = NoteVerifier::from_vkey(&vkey).unwrap();
    let info = s.get_json("/v1/log");
    let listed: Vec<&str> =
        info["witnesses"].as_array().unwrap().iter().map(|x| x["name"].as_str().unwrap()).collect();
    assert_eq!(listed, ["notary-office", "court", "notary-2"]);
    assert_eq!(info["witnesses"][1]["vkey"], w[1].vkey.as_str());

    submit_flow(&s, "contract-a1");
    let size = s.tree_size_latest();
    let cp = wait_checkpoint(&s, "three cosignatures", |cp| {
        cp.checkpoint.size == size && w.iter().all(|x| cosigned_by(cp, x))
    });
    // The log's own signature verifies, and each cosignature with the verifier crate.
    SignedCheckpoint::verify(&cp.to_bytes(), &log).unwrap();
    for x in &w {
        let v = NoteVerifier::from_vkey(&x.vkey).unwrap();
        let sig = cp.note.signatures.iter().find(|sig| sig.name == x.name).unwrap();
        let t = verify_cosignature(&v, &cp.note.text, sig).unwrap();
        assert!(t > 1_700_000_000, "cosignature time {t}");
    }
    let entry = s.get_json("/v1/entries/0");
    assert_eq!(entry["anchored"]["tree_size"], size);

    // One witness down: ingest goes on, and the quorum (court + 2) still anchors.
    w[2].kill();
    for i in 0..5 {
        submit_flow(&s, &format!("contract-b{i}"));
    }
    let size2 = s.tree_size_latest();
    assert!(size2 > size);
    let cp2 = wait_checkpoint(&s, "anchoring without notary-2", |cp| cp.checkpoint.size == size2);
    assert!(cosigned_by(&cp2, &w[0]) && cosigned_by(&cp2, &w[1]) && !cosigned_by(&cp2, &w[2]));
    let metrics = s.get("/metrics", None).1;
    assert!(metrics.contains("evidence_anchor_lag_entries{witness=\"notary-2\"}"), "{metrics}");
    assert!(
        metrics.contains("evidence_anchor_failures{kind=\"unreachable\",witness=\"notary-2\"}"),
        "{metrics}"
    );

    // Back up on its address: it catches up from its own last size.
    w[2].serve();
    let (status, _) = s.post("/v1/anchor", Some(&s.tokens.platform), "");
    assert_eq!(status, 200);
    wait_checkpoint(&s, "notary-2 catching up", |cp| {
        cp.checkpoint.size == size2 && cosigned_by(cp, &w[2])
    });
    let (status, body) = s.get("/v1/anchor", Some(&s.tokens.platform));
    assert_eq!(status, 200);
    let st: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(st["latest_anchored"], size2);
    assert!(st["witnesses"].as_array().unwrap().iter().all(|x| x["lag_entries"] == 0), "{st}");
}

#[test]
fn a_forked_log_is_refused_and_stays_refused_after_a_witness_restart() {
    let (mut s, mut w, _) = setup(&["court"], &[]);
    submit_flow(&s, "contract-f");
    let size = s.tree_size_latest();
    wait_checkpoint(&s, "court's cosignature", |cp| {
        cp.checkpoint.size == size && cosigned_by(cp, &w[0])
    });
    assert!(s.terminate());

    // A second store with the same key and different entries, grown to the same size.
    let fork_dir = tempfile::tempdir().unwrap();
    std::fs::copy(s.data().join("log.key"), fork_dir.path().join("log.key")).unwrap();
    let fork = Ledger::open(fork_dir.path(), LedgerOptions::default()).unwrap();
    let idp = &s.services.idp;
    fork.add_issuer(&idp.name, idp.key.verifying_key().as_bytes()).unwrap();
    let h = verifier::Hash::digest(b"other").to_hex();
    // The issuer's registration is the fork's first entry (registry_changed).
    let events = (fork.status().tree_size..size)
        .map(|i| {
            let v = evidence_ledger::flows::signed_event(idp, &format!("fork-{i}"), "forged", &h);
            verifier::entry::Event::from_value(v, false).unwrap()
        })
        .collect();
    let receipts = fork.append("acme", events).unwrap();
    let forked = SignedCheckpoint::parse(receipts[0].checkpoint.as_bytes()).unwrap();
    assert_eq!(forked.checkpoint.size, size);

    let client = WitnessClient::new(&w[0].url(), &w[0].vkey).unwrap();
    let fetch = |old: u64| fork.consistency_proof(old, size).map_err(|e| e.to_string());
    let refused = client.anchor_to(&forked, size, fetch);
    assert!(refused.is_err(), "the witness cosigned a fork");
    let forks =
        std::fs::read_dir(std::path::Path::new(&w[0].data()).join("forks")).unwrap().count();
    assert!(forks > 0, "fork evidence not recorded");

    // Still refused after the witness restarts.
    w[0].kill();
    w[0].serve();
    let client = WitnessClient::new(&w[0].url(), &w[0].vkey).unwrap();
    assert!(client.anchor_to(&forked, size, fetch).is_err());
    assert!(client.anchor_to(&forked, 0, fetch).is_err());

    // Garbage to the witness: a 4xx, and its served checkpoint is unchanged.
    let http = reqwest::blocking::Client::new();
    let origin = forked.checkpoint.origin.clone();
    let before =
        http.get(format!("{}/checkpoint/{origin}", w[0].url())).send().unwrap().text().unwrap();
    for body in ["", "garbage", "old 1\n\nnot a note", "old x\n\n"] {
        let status = http
            .post(format!("{}/add-checkpoint", w[0].url()))
            .body(body)
            .send()
            .unwrap()
            .status()
            .as_u16();
        assert!((400..500).contains(&status), "{body:?} -> {status}");
    }
    let after =
        http.get(format!("{}/checkpoint/{origin}", w[0].url())).send().unwrap().text().unwrap();
    assert_eq!(before, after);
}
