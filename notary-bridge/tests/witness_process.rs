//! End-to-end: the real `notary-witness` binary on 127.0.0.1:0, driven
//! over HTTP by raw requests and by `WitnessClient`, with an in-memory log.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use ed25519_dalek::SigningKey;
use notary_bridge::protocol::format_add_checkpoint;
use notary_bridge::testkit::MemoryLog;
use notary_bridge::{BridgeError, WitnessClient};
use verifier::cosignature::verify_cosignature;
use verifier::note::NoteVerifier;
use verifier::Hash;

const BIN: &str = env!("CARGO_BIN_EXE_notary-witness");
const ORIGIN: &str = "ledger.example/evidence";

/// A running witness; killed and reaped on drop.
struct WitnessProcess {
    child: Child,
    url: String,
}

impl WitnessProcess {
    fn start(data: &Path) -> WitnessProcess {
        let mut child = Command::new(BIN)
            .args(["serve", "--data", path_str(data), "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn notary-witness");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read address");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected: {line:?}"));
        WitnessProcess { url: format!("http://{addr}"), child }
    }

    fn post(&self, body: Vec<u8>) -> (u16, String, String) {
        let resp = reqwest::blocking::Client::new()
            .post(format!("{}/add-checkpoint", self.url))
            .body(body)
            .send()
            .expect("post");
        let status = resp.status().as_u16();
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (status, ctype, resp.text().expect("body"))
    }

    fn latest(&self) -> (u16, String) {
        let resp =
            reqwest::blocking::get(format!("{}/checkpoint/{ORIGIN}", self.url)).expect("get");
        (resp.status().as_u16(), resp.text().expect("body"))
    }
}

impl Drop for WitnessProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn cli(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().expect("run notary-witness");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A data dir with a witness trusting `log`; returns the witness vkey.
fn setup(data: &Path, log: &MemoryLog) -> String {
    let vkey =
        cli(&["init", "--data", path_str(data), "--name", "notary.example/w1"]).trim().to_string();
    cli(&["log", "add", "--data", path_str(data), "--vkey", &log.vkey()]);
    vkey
}

fn log_with(key_byte: u8, tag: u8, entries: u8) -> MemoryLog {
    let mut log = MemoryLog::new(ORIGIN, SigningKey::from_bytes(&[key_byte; 32])).expect("log");
    for i in 0..entries {
        log.append(&[tag, i]);
    }
    log
}

fn request(log: &MemoryLog, old: u64) -> Vec<u8> {
    format_add_checkpoint(old, &log.consistency_proof(old), &log.checkpoint().note).expect("format")
}

#[test]
fn cosigns_and_answers_each_refusal_as_the_spec_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = log_with(1, 0, 5);
    let vkey = setup(dir.path(), &log);
    let witness = WitnessProcess::start(dir.path());
    let client = WitnessClient::new(&witness.url, &vkey).expect("client");

    let cp = log.checkpoint();
    let sig = client.add_checkpoint(0, &[], &cp.note).expect("cosign");
    let wv = NoteVerifier::from_vkey(&vkey).expect("vkey");
    assert!(verify_cosignature(&wv, &cp.note.text, &sig).is_ok());
    let (status, latest) = witness.latest();
    assert_eq!(status, 200);
    assert!(latest.starts_with(&cp.note.text) && latest.contains("notary.example/w1"), "{latest}");

    for i in 5..8 {
        log.append(&[0, i]);
    }
    let (status, ctype, body) = witness.post(request(&log, 3));
    assert_eq!((status, ctype.as_str(), body.as_str()), (409, "text/x.tlog.size", "5\n"));
    let stale = client.add_checkpoint(3, &log.consistency_proof(3), &log.checkpoint().note);
    assert_eq!(stale, Err(BridgeError::Conflict { witness_size: 5 }));

    let mut bad = log.consistency_proof(5);
    bad[0] = Hash([0; 32]);
    let body = format_add_checkpoint(5, &bad, &log.checkpoint().note).expect("format");
    assert_eq!(witness.post(body).0, 422);

    let stranger =
        MemoryLog::new("other.example/log", SigningKey::from_bytes(&[3; 32])).expect("log");
    assert_eq!(witness.post(request(&stranger, 0)).0, 404);
    assert_eq!(witness.post(request(&log_with(2, 0, 8), 5)).0, 403);

    let before = witness.latest();
    let too_big = vec![b'a'; notary_bridge::protocol::MAX_REQUEST_BODY + 1];
    for garbage in [&b""[..], b"hello", b"old 5\n\n", b"old 05\n\nx\n", b"\xff\xff\n\n", &too_big] {
        let status = witness.post(garbage.to_vec()).0;
        assert!(
            (400..500).contains(&status),
            "{status} for {:?}",
            String::from_utf8_lossy(garbage)
        );
    }
    assert_eq!(witness.latest(), before);

    // anchor_to starts from a stale size, re-syncs on 409, and succeeds.
    let cp = log.checkpoint();
    let sig = client.anchor_to(&cp, 2, |old| Ok(log.consistency_proof(old))).expect("anchor");
    assert!(verify_cosignature(&wv, &cp.note.text, &sig).is_ok());
    assert!(witness.latest().1.contains(&cp.checkpoint.root.to_base64()));
}

#[test]
fn fork_is_refused_recorded_and_still_refused_after_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let honest = log_with(1, 0, 5);
    let vkey = setup(dir.path(), &honest);
    let mut witness = WitnessProcess::start(dir.path());
    let client = WitnessClient::new(&witness.url, &vkey).expect("client");
    client.add_checkpoint(0, &[], &honest.checkpoint().note).expect("cosign");
    let cosigned = witness.latest();

    // Same log key, other entries: its proof cannot reach what was cosigned.
    let forked = log_with(1, 9, 8);
    let (status, _, body) = witness.post(request(&forked, 5));
    assert_eq!(status, 422, "{body}");
    let evidence = std::fs::read_dir(dir.path().join("forks")).expect("forks dir").count();
    assert_eq!(evidence, 1);
    let file = std::fs::read_dir(dir.path().join("forks"))
        .expect("forks")
        .next()
        .expect("one")
        .expect("entry");
    let text = std::fs::read_to_string(file.path()).expect("evidence");
    assert!(text.contains(&forked.checkpoint().checkpoint.root.to_base64()));
    assert!(text.contains(&honest.checkpoint().checkpoint.root.to_base64()));

    drop(witness);
    witness = WitnessProcess::start(dir.path());
    assert_eq!(witness.latest(), cosigned);
    let status_out = cli(&["status", "--data", path_str(dir.path())]);
    assert!(status_out.contains("FROZEN"), "{status_out}");
    for body in [request(&forked, 5), request(&log_with(1, 9, 5), 5), request(&forked, 0)] {
        let (status, _, text) = witness.post(body);
        assert!(status == 403 || status == 409, "{status}: {text}");
    }
    assert_eq!(witness.latest(), cosigned);
}
