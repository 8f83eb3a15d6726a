//! End-to-end: the real `notary-witness` binary on 127.0.0.1:0, driven
//! over HTTP by raw requests and by `WitnessClient`, with an in-memory log.

#[path = "support/test_pki.rs"]
mod test_pki;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use ed25519_dalek::SigningKey;
use notary_bridge::protocol::format_add_checkpoint;
use notary_bridge::testkit::MemoryLog;
use notary_bridge::{BridgeError, WitnessClient};
use test_pki::make_test_pki;
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
        Self::start_with(data, &[], "http")
    }

    fn start_with(data: &Path, extra: &[&str], scheme: &str) -> WitnessProcess {
        let mut child = Command::new(BIN)
            .args(["serve", "--data", path_str(data), "--listen", "127.0.0.1:0"])
            .args(extra)
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
        WitnessProcess { url: format!("{scheme}://{addr}"), child }
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

#[test]
fn a_second_witness_process_on_the_same_directory_refuses_to_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = log_with(1, 0, 5);
    setup(dir.path(), &log);
    let first = WitnessProcess::start(dir.path());
    let out = Command::new(BIN)
        .args(["serve", "--data", path_str(dir.path()), "--listen", "127.0.0.1:0"])
        .output()
        .expect("run a second notary-witness");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a second witness started on the same data directory");
    assert!(stderr.contains("is in use by process"), "{stderr}");
    assert!(stderr.contains(&first.child.id().to_string()), "names the holder: {stderr}");
    // Status reads beside the running witness.
    assert!(cli(&["status", "--data", path_str(dir.path())]).contains("size 0"));
    // Once the first is gone (SIGKILL), the kernel has released the lock.
    drop(first);
    let again = WitnessProcess::start(dir.path());
    assert_eq!(again.latest().0, 404, "nothing cosigned yet");
}

#[test]
fn wire_details_of_the_current_tlog_witness_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = log_with(1, 0, 5);
    setup(dir.path(), &log);
    let witness = WitnessProcess::start(dir.path());

    // A chunked body (no Content-Length) is read like any other.
    let body = request(&log, 0);
    let reader = reqwest::blocking::Body::new(std::io::Cursor::new(body));
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}/add-checkpoint", witness.url))
        .body(reader)
        .send()
        .expect("post chunked");
    assert_eq!(resp.status().as_u16(), 200);
    let line = resp.text().expect("body");
    assert!(line.starts_with("\u{2014} notary.example/w1 ") && line.ends_with('\n'), "{line}");

    // The checkpoint is also served at /<lowercase hex SHA-256(origin)>/checkpoint.
    let hex = Hash::digest(ORIGIN.as_bytes()).to_hex();
    let by_hash = reqwest::blocking::get(format!("{}/{hex}/checkpoint", witness.url)).expect("get");
    assert_eq!(by_hash.status().as_u16(), 200);
    assert_eq!(by_hash.text().expect("body"), witness.latest().1);
    let unknown = Hash::digest(b"other").to_hex();
    let resp =
        reqwest::blocking::get(format!("{}/{unknown}/checkpoint", witness.url)).expect("get");
    assert_eq!(resp.status().as_u16(), 404);

    // c2sp.org/tlog-witness add-checkpoint (C2SP #280): same size, another
    // root: 422, not 409; a proof from old size 0: 422.
    let other = log_with(1, 7, 5);
    let (status, ctype, _) = witness.post(request(&other, 5));
    assert_eq!(status, 422);
    assert!(!ctype.starts_with("text/x.tlog.size"));
    let dir2 = tempfile::tempdir().expect("tempdir");
    let fresh = log_with(1, 0, 7);
    setup(dir2.path(), &fresh);
    let witness2 = WitnessProcess::start(dir2.path());
    let body = format_add_checkpoint(0, &[Hash([1; 32])], &fresh.checkpoint().note).expect("fmt");
    assert_eq!(witness2.post(body).0, 422);
    assert_eq!(witness2.latest().0, 404, "nothing cosigned");

    // A replayed checkpoint is answered with the cosignature already given.
    let dir3 = tempfile::tempdir().expect("tempdir");
    let mut log3 = log_with(1, 0, 5);
    let vkey3 = setup(dir3.path(), &log3);
    let witness3 = WitnessProcess::start(dir3.path());
    let client = WitnessClient::new(&witness3.url, &vkey3).expect("client");
    client.add_checkpoint(0, &[], &log3.checkpoint().note).expect("cosign 5");
    log3.append(b"y");
    let ok = client.add_checkpoint(5, &log3.consistency_proof(5), &log3.checkpoint().note);
    let ok = ok.expect("advance to 6");
    let again = client.add_checkpoint(6, &[], &log3.checkpoint().note).expect("replay");
    assert_eq!(ok, again);
}

#[test]
fn a_slow_request_body_is_cut_off() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = log_with(1, 0, 5);
    setup(dir.path(), &log);
    let witness = WitnessProcess::start(dir.path());
    let addr = witness.url.trim_start_matches("http://").to_string();
    let mut conn = std::net::TcpStream::connect(&addr).expect("connect");
    let body = request(&log, 0);
    let head = format!(
        "POST /add-checkpoint HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).expect("headers");
    conn.write_all(&body[..10]).expect("a little of the body");
    let started = std::time::Instant::now();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(30))).expect("timeout");
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer);
    let waited = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(waited < std::time::Duration::from_secs(15), "cut off after {waited:?}");
    assert_eq!(witness.latest().0, 404, "nothing cosigned");
}

#[test]
fn the_witness_serves_tls_and_the_client_trusts_a_private_ca() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = tempfile::tempdir().expect("pki");
    let (ca, cert, key) = make_test_pki(pki.path());
    let log = log_with(1, 0, 5);
    let vkey = setup(dir.path(), &log);
    let witness =
        WitnessProcess::start_with(dir.path(), &["--tls-cert", &cert, "--tls-key", &key], "https");
    let ca_pem = std::fs::read_to_string(&ca).expect("ca");
    let timeout = std::time::Duration::from_secs(10);

    // Without the private CA: the certificate is not trusted, nothing is sent.
    let untrusting = WitnessClient::with_timeout(&witness.url, &vkey, timeout).expect("client");
    let err = untrusting.add_checkpoint(0, &[], &log.checkpoint().note).expect_err("untrusted");
    assert!(matches!(err, BridgeError::Transport(_)), "{err}");
    // With it: cosigned over TLS.
    let client =
        WitnessClient::with_options(&witness.url, &vkey, timeout, Some(&ca_pem)).expect("client");
    let sig = client.add_checkpoint(0, &[], &log.checkpoint().note).expect("cosign over TLS");
    let wv = NoteVerifier::from_vkey(&vkey).expect("vkey");
    assert!(verify_cosignature(&wv, &log.checkpoint().note.text, &sig).is_ok());
    // Plain HTTP to the TLS port gets nowhere.
    let plain = witness.url.replace("https://", "http://");
    let plain = WitnessClient::with_timeout(&plain, &vkey, timeout).expect("client");
    assert!(plain.add_checkpoint(5, &[], &log.checkpoint().note).is_err());
}

#[test]
fn the_client_does_not_follow_redirects() {
    // A "witness" that answers with a redirect to a real one.
    let dir = tempfile::tempdir().expect("tempdir");
    let log = log_with(1, 0, 5);
    let vkey = setup(dir.path(), &log);
    let real = WitnessProcess::start(dir.path());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let target = format!("{}/add-checkpoint", real.url);
    std::thread::spawn(move || {
        if let Some(Ok(mut conn)) = listener.incoming().next() {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let answer = format!(
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: {target}\r\nContent-Length: 0\r\n\r\n"
            );
            let _ = conn.write_all(answer.as_bytes());
        }
    });
    let client = WitnessClient::new(&format!("http://{addr}"), &vkey).expect("client");
    let err = client.add_checkpoint(0, &[], &log.checkpoint().note).expect_err("redirect");
    assert!(matches!(err, BridgeError::BadResponse(_)), "{err}");
    assert_eq!(real.latest().0, 404, "the redirect was not followed");
}

#[test]
fn an_outside_c2sp_client_verifies_our_cosignature() {
    // tests/c2sp/verify-cosigned-note.mjs is written from the C2SP texts
    // alone and runs on Node's own Ed25519; it shares no code with us.
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "node is required (scripts/env.sh installs it)"
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/c2sp/verify-cosigned-note.mjs");
    let dir = tempfile::tempdir().expect("tempdir");
    let log = log_with(1, 0, 5);
    let vkey = setup(dir.path(), &log);
    let witness = WitnessProcess::start(dir.path());
    let client = WitnessClient::new(&witness.url, &vkey).expect("client");
    let sig = client.add_checkpoint(0, &[], &log.checkpoint().note).expect("cosign");
    let (status, served) = witness.latest();
    assert_eq!(status, 200);
    let verify = |note: &str, witness_vkey: &str| {
        let file = dir.path().join("note.txt");
        std::fs::write(&file, note).expect("write");
        Command::new("node")
            .args([script, path_str(&file), witness_vkey, &log.vkey()])
            .output()
            .expect("run node")
    };
    let out = verify(&served, &vkey);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    let wv = NoteVerifier::from_vkey(&vkey).expect("vkey");
    let ours = verify_cosignature(&wv, &log.checkpoint().note.text, &sig).expect("ours");
    assert!(stdout.contains(&format!("\"timestamp\":{ours}")), "{stdout}");
    assert!(stdout.contains("\"log_signature\":\"ok\""), "{stdout}");
    // Not a rubber stamp: another root, or the right name with another key, fails.
    let root = log.checkpoint().checkpoint.root.to_base64();
    let tampered = served.replace(&root, &Hash([0; 32]).to_base64());
    assert!(!verify(&tampered, &vkey).status.success(), "a tampered root passed");
    let other = verifier::cosignature::CosignatureSigner::new(
        "notary.example/w1",
        SigningKey::from_bytes(&[5; 32]),
    )
    .expect("signer")
    .vkey();
    assert!(!verify(&served, &other).status.success(), "another key passed");
}

#[test]
fn log_keys_rotate_from_the_cli_only_while_the_witness_is_stopped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = path_str(dir.path());
    cli(&["init", "--data", d, "--name", "notary.example/w1"]);
    // A key named otherwise than the origin, then a second key for it.
    let first = MemoryLog::new("keys.example/2026", SigningKey::from_bytes(&[1; 32])).expect("k");
    let out = cli(&["log", "add", "--data", d, "--vkey", &first.vkey(), "--origin", ORIGIN]);
    assert!(out.contains(&format!("added log {ORIGIN}")), "{out}");
    let second = MemoryLog::new("keys.example/2027", SigningKey::from_bytes(&[2; 32])).expect("k");
    let witness = WitnessProcess::start(dir.path());
    let busy = Command::new(BIN)
        .args(["log", "add-key", "--data", d, "--origin", ORIGIN, "--vkey", &second.vkey()])
        .output()
        .expect("run");
    assert!(!busy.status.success());
    assert!(String::from_utf8_lossy(&busy.stderr).contains("is in use by process"));
    drop(witness);
    cli(&["log", "add-key", "--data", d, "--origin", ORIGIN, "--vkey", &second.vkey()]);
    let state = std::fs::read_to_string(
        dir.path().join("logs").join(format!("{}.json", notary_bridge::store::log_id(ORIGIN))),
    )
    .expect("state");
    assert!(state.contains(&first.vkey()) && state.contains(&second.vkey()), "{state}");
}
