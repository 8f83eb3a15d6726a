//! Real `notary-witness` processes on loopback, for the tests of
//! anchoring and failover.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use verifier::anykey::AnyVerifier;
use verifier::checkpoint::SignedCheckpoint;

use super::Server;

/// The witness binary, built beside ours by `cargo test --workspace`.
pub fn witness_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("notary-witness");
    assert!(
        bin.exists(),
        "{} missing: run ./scripts/test (cargo test --workspace builds it)",
        bin.display()
    );
    bin
}

pub fn witness_cli(args: &[&str]) -> String {
    let out = Command::new(witness_bin()).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub struct Witness {
    pub name: String,
    pub vkey: String,
    pub dir: tempfile::TempDir,
    pub addr: String,
    pub child: Option<Child>,
    /// (cert.pem, key.pem) when it serves HTTPS.
    pub tls: Option<(String, String)>,
}

impl Witness {
    pub fn start(name: &str, log_vkey: &str) -> Witness {
        Self::start_tls(name, log_vkey, None)
    }

    pub fn start_tls(name: &str, log_vkey: &str, tls: Option<(String, String)>) -> Witness {
        Self::start_with(name, log_vkey, tls, &[])
    }

    /// [`Witness::start_tls`] with extra `init` flags (e.g. `--key pkcs11:…`).
    pub fn start_with(
        name: &str,
        log_vkey: &str,
        tls: Option<(String, String)>,
        init: &[&str],
    ) -> Witness {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("w");
        let d = d.to_str().unwrap();
        let vkey = witness_cli(&[&["init", "--data", d, "--name", name][..], init].concat());
        witness_cli(&["log", "add", "--data", d, "--vkey", log_vkey]);
        let addr = "127.0.0.1:0".into();
        let mut w = Witness { name: name.into(), vkey, dir, addr, child: None, tls };
        w.serve();
        w
    }

    pub fn data(&self) -> String {
        self.dir.path().join("w").to_str().unwrap().to_string()
    }

    pub fn serve(&mut self) {
        let tls = match &self.tls {
            Some((cert, key)) => vec!["--tls-cert", cert.as_str(), "--tls-key", key.as_str()],
            None => vec![],
        };
        let mut child = Command::new(witness_bin())
            .args(["serve", "--data", &self.data(), "--listen", &self.addr])
            .args(tls)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let url = evidence_ledger::load::read_listen_line(&mut child).unwrap();
        self.addr = url.rsplit("://").next().unwrap().to_string();
        self.child = Some(child);
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    pub fn kill(&mut self) {
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

/// Polls `/v1/checkpoint` until `pred` holds for its parsed note.
pub fn wait_checkpoint(
    s: &Server,
    what: &str,
    pred: impl Fn(&SignedCheckpoint) -> bool,
) -> SignedCheckpoint {
    wait_checkpoint_at(&s.url, what, pred)
}

/// [`wait_checkpoint`] of the server at `url`.
pub fn wait_checkpoint_at(
    url: &str,
    what: &str,
    pred: impl Fn(&SignedCheckpoint) -> bool,
) -> SignedCheckpoint {
    let deadline = Instant::now() + Duration::from_secs(60);
    let client = reqwest::blocking::Client::new();
    loop {
        let resp = client.get(format!("{url}/v1/checkpoint")).send().unwrap();
        let body = resp.text().unwrap();
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

pub fn cosigned_by(cp: &SignedCheckpoint, w: &Witness) -> bool {
    let v = AnyVerifier::from_vkey(&w.vkey).unwrap();
    cp.note.signatures.iter().any(|sig| v.verify_cosignature(&cp.note.text, sig).is_ok())
}
