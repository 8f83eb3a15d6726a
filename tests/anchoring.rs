//! Anchoring with real `notary-witness` processes on loopback: cosigned
//! checkpoints served and verifiable, a witness down does not stop ingest
//! and catches up after, a forked log is refused and stays refused.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../notary-bridge/tests/support/test_pki.rs"]
mod test_pki;

use std::process::Command;
use std::time::{Duration, Instant};

use common::witness::*;
use common::*;
use evidence_ledger::flows::contract_flow;
use ledger::{Ledger, LedgerOptions};
use notary_bridge::WitnessClient;
use serde_json::{json, Value};
use test_pki::make_test_pki;
use verifier::checkpoint::SignedCheckpoint;
use verifier::cosignature::verify_cosignature;
use verifier::note::NoteVerifier;

fn log_vkey(s: &Server) -> String {
    let out = cli(&["status", "--data", s.data().to_str().unwrap()]);
    out.lines().find_map(|l| l.strip_prefix("vkey: ")).unwrap().to_string()
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

fn anchored_header(s: &Server) -> String {
    let resp = s.client().get(format!("{}/v1/checkpoint", s.url)).send().unwrap();
    resp.headers().get("x-checkpoint-anchored").unwrap().to_str().unwrap().to_string()
}

#[test]
fn the_ledger_anchors_to_a_witness_behind_tls_with_a_private_ca() {
    let pki = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_test_pki(pki.path());
    let mut s = Server::prepare();
    let vkey = log_vkey(&s);
    let data = s.data().to_str().unwrap().to_string();
    let w = Witness::start_tls("court.example/w", &vkey, Some((cert, key)));
    assert!(w.url().starts_with("https://127.0.0.1:"), "{}", w.url());
    let add = ["witness", "add", "--data", &data, "--vkey", &w.vkey, "--url", &w.url()];
    cli(&[&add[..], &["--ca-cert", ca.as_str()]].concat());
    // The same key again, under any name, is refused: it would count twice.
    let out = Command::new(BIN).args(add).output().unwrap();
    assert!(!out.status.success());
    cli(&["anchor", "policy", "--data", &data, "--interval", "1"]);
    s.spawn();

    // Nothing anchored yet: the policy is published, the answer says so.
    let info = s.get_json("/v1/log");
    assert_eq!(info["quorum"]["threshold"], 1, "{info}");
    assert_eq!(info["quorum"]["counted_by"], "distinct witness keys");
    assert_eq!(info["anchored_tree_size"], Value::Null);
    assert_eq!(anchored_header(&s), "false");

    submit_flow(&s, "contract-tls");
    let size = s.tree_size_latest();
    let cp = wait_checkpoint(&s, "a cosignature over TLS", |cp| {
        cp.checkpoint.size == size && cosigned_by(cp, &w)
    });
    assert_eq!(cp.checkpoint.size, size);
    assert_eq!(anchored_header(&s), "true");
    assert_eq!(s.get_json("/v1/log")["anchored_tree_size"], size);
}

#[test]
fn a_slow_witness_does_not_hold_the_round_for_the_others() {
    // A "witness" that accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let slow_url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            held.push(conn);
        }
    });
    let mut s = Server::prepare();
    let vkey = log_vkey(&s);
    let data = s.data().to_str().unwrap().to_string();
    let court = Witness::start("court.example/w", &vkey);
    let slow_key = ed25519_dalek::SigningKey::from_bytes(&[42; 32]);
    let slow = verifier::cosignature::CosignatureSigner::new("slow.example/w", slow_key).unwrap();
    for (v, url) in [(court.vkey.clone(), court.url()), (slow.vkey(), slow_url)] {
        cli(&["witness", "add", "--data", &data, "--vkey", &v, "--url", &url]);
    }
    cli(&["anchor", "policy", "--data", &data, "--interval", "1", "--threshold", "1"]);
    s.spawn();
    submit_flow(&s, "contract-slow");
    let size = s.tree_size_latest();
    let started = Instant::now();
    wait_checkpoint(&s, "the court's cosignature", |cp| {
        cp.checkpoint.size == size && cosigned_by(cp, &court)
    });
    // The slow witness's request runs for its 10 s timeout; the checkpoint
    // was anchored long before that (first round after <= 1 s interval).
    let took = started.elapsed();
    assert!(took < Duration::from_secs(8), "anchoring waited for the slow witness: {took:?}");
}

#[test]
fn a_witness_that_reports_a_fork_raises_an_alarm_within_one_round() {
    let (mut s, w, log_key) = setup(&["court"], &[]);
    submit_flow(&s, "contract-h1");
    let size = s.tree_size_latest();
    wait_checkpoint(&s, "court's cosignature", |cp| {
        cp.checkpoint.size == size && cosigned_by(cp, &w[0])
    });
    assert!(s.terminate());

    // Someone with the log key and a copy of the store extends it by one
    // forged entry and gets the court to cosign that history.
    let fork_dir = tempfile::tempdir().unwrap();
    let copy = Command::new("cp")
        .args(["-a", &format!("{}/.", s.data().display()), fork_dir.path().to_str().unwrap()])
        .status()
        .unwrap();
    assert!(copy.success());
    let forked = {
        let fork = Ledger::open(fork_dir.path(), LedgerOptions::default()).unwrap();
        let h = verifier::Hash::digest(b"forged").to_hex();
        let v = evidence_ledger::flows::signed_event(&s.services.idp, "forged-1", "forged", &h);
        let events = vec![verifier::entry::Event::from_value(v, false).unwrap()];
        let receipts = fork.append("acme", events).unwrap();
        let forked = SignedCheckpoint::parse(receipts[0].checkpoint.as_bytes()).unwrap();
        let client = WitnessClient::new(&w[0].url(), &w[0].vkey).unwrap();
        let fetch = |old: u64| fork.consistency_proof(old, size + 1).map_err(|e| e.to_string());
        client.anchor_to(&forked, size, fetch).expect("the court cosigns the forked extension");
        fork.close();
        forked
    };

    // The honest ledger grows differently; its next round meets the fork.
    s.spawn();
    submit_flow(&s, "contract-h2");
    let alarm = "evidence_anchor_alarm{kind=\"inconsistent\",witness=\"court\"} 1";
    let deadline = Instant::now() + Duration::from_secs(20);
    let metrics = loop {
        let m = s.get("/metrics", None).1;
        if m.contains(alarm) {
            break m;
        }
        assert!(Instant::now() < deadline, "no alarm in the metrics:\n{m}");
        std::thread::sleep(Duration::from_millis(200));
    };
    // One round: the first failed attempt raised it, and it is not retried
    // as if the witness were unreachable.
    let failures = "evidence_anchor_failures{kind=\"bad_proof\",witness=\"court\"} 1";
    assert!(metrics.contains(failures), "{metrics}");
    std::thread::sleep(Duration::from_secs(3));
    let (status, _) = s.post("/v1/anchor", Some(&s.tokens.platform), "");
    assert_eq!(status, 200);
    std::thread::sleep(Duration::from_secs(1));
    assert!(s.get("/metrics", None).1.contains(failures), "the alarmed witness was asked again");

    // The evidence is under the data directory: both checkpoints, a proof.
    let dir = s.data().join("anchor-alarms");
    let file = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
    let ev: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(ev["kind"], "inconsistent");
    let theirs = ev["witness_checkpoint"].as_str().unwrap();
    assert!(theirs.starts_with(&forked.note.text), "{theirs}");
    assert_eq!(ev["witness_checkpoint_signed_by_our_key"], true);
    assert_eq!(ev["proof"]["old"], size + 1);
    assert!(!ev["proof"]["hashes"].as_array().unwrap().is_empty());
    let ours = SignedCheckpoint::parse(ev["our_checkpoint"].as_str().unwrap().as_bytes()).unwrap();
    SignedCheckpoint::verify(&ours.to_bytes(), &NoteVerifier::from_vkey(&log_key).unwrap())
        .unwrap();
    assert!(ours.checkpoint.size > size + 1);
    let status = cli(&["anchor", "status", "--data", s.data().to_str().unwrap()]);
    assert!(status.contains("ALARM inconsistent"), "{status}");
    let (code, body) = s.get("/v1/anchor", Some(&s.tokens.platform));
    assert_eq!(code, 200);
    let st: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(st["witnesses"][0]["alarm"]["kind"], "inconsistent", "{st}");
}

#[test]
fn a_tsa_behind_a_private_ca_is_reached_with_its_ca_bundle() {
    // No RFC 3161 server here speaks TLS, so an HTTPS endpoint that is
    // not a TSA stands in (the witness with a certificate from a private
    // CA): without the CA the failure is the TLS handshake ("unreachable");
    // with `tsa add --ca-cert` the connection is made and the answer (not a
    // timestamp) is refused. That is the CA bundle reaching the TSA client.
    let pki = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_test_pki(pki.path());
    let endpoint =
        Witness::start_tls("tls.example/w", &log_vkey(&Server::prepare()), Some((cert, key)));
    let tsa_url = format!("{}/tsr", endpoint.url());
    let failure_kind = |with_ca: bool| {
        let mut s = Server::prepare();
        let data = s.data().to_str().unwrap().to_string();
        let mut args = vec!["tsa", "add", "--data", &data, "--name", "tsa-1", "--root-cert", &ca];
        args.extend_from_slice(&["--anchor-url", &tsa_url]);
        if with_ca {
            args.extend_from_slice(&["--ca-cert", &ca]);
        }
        cli(&args);
        cli(&["anchor", "policy", "--data", &data, "--interval", "1"]);
        s.spawn();
        submit_flow(&s, "contract-tsa");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (_, body) = s.get("/v1/anchor", Some(&s.tokens.platform));
            let st: Value = serde_json::from_str(&body).unwrap();
            let tsa = &st["witnesses"][0];
            assert_eq!(tsa["name"], "tsa:tsa-1", "{st}");
            if let Some(kinds) = tsa["failures"].as_object().filter(|k| !k.is_empty()) {
                return (kinds.keys().cloned().collect::<Vec<_>>(), tsa["last_error"].clone());
            }
            assert!(Instant::now() < deadline, "no TSA attempt: {st}");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let (kinds, error) = failure_kind(false);
    assert_eq!(kinds, ["unreachable"], "{error}");
    let (kinds, error) = failure_kind(true);
    assert_eq!(kinds, ["refused"], "{error}");
    assert!(error.as_str().unwrap().contains("404"), "{error}");
}
