//! A real `evidence-ledger` server process on 127.0.0.1:0, set up the way
//! an operator does it (init, token issue, issuer add, serve).
#![allow(dead_code, missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub mod tiles_client;

use evidence_ledger::flows::{Issuer, Services, Signer};
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_evidence-ledger");
pub const TENANT: &str = "acme";
pub const OTHER: &str = "globex";

pub fn cli(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().expect("run cli");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub struct Tokens {
    pub submitter: String,
    pub legal: String,
    pub notary: String,
    pub admin: String,
    /// The platform administrator (no tenant).
    pub platform: String,
    pub other_submitter: String,
    pub other_legal: String,
}

pub struct Server {
    pub child: Option<Child>,
    pub url: String,
    pub dir: tempfile::TempDir,
    pub tokens: Tokens,
    pub services: Services,
    pub signers: Vec<Signer>,
}

impl Server {
    pub fn start() -> Server {
        let mut s = Server::prepare();
        s.spawn();
        s
    }

    /// Initialised, with tokens and issuers, but not serving yet.
    pub fn prepare() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap().to_string();
        cli(&["init", "--data", &d, "--origin", "test.evidence-ledger.local/log"]);
        let tok = |tenant: &str, role: &str| {
            cli(&["token", "issue", "--data", &d, "--tenant", tenant, "--role", role])
        };
        let tokens = Tokens {
            submitter: tok(TENANT, "submitter"),
            legal: tok(TENANT, "legal"),
            notary: tok(TENANT, "notary"),
            admin: tok(TENANT, "admin"),
            platform: cli(&["token", "issue", "--data", &d, "--role", "platform"]),
            other_submitter: tok(OTHER, "submitter"),
            other_legal: tok(OTHER, "legal"),
        };
        let services =
            Services { idp: Issuer::random("idp-gov"), intent: Issuer::random("intent-svc") };
        let signers = vec![Signer::random("u-1", "王*"), Signer::random("u-2", "李*")];
        let issuers = [&services.idp, &services.intent, &signers[0].issuer, &signers[1].issuer];
        for iss in issuers {
            cli(&[
                "issuer",
                "add",
                "--data",
                &d,
                "--name",
                &iss.name,
                "--public-key",
                &iss.public_key_b64(),
            ]);
        }
        Server { child: None, url: String::new(), dir, tokens, services, signers }
    }

    pub fn data(&self) -> &Path {
        self.dir.path()
    }

    pub fn spawn(&mut self) {
        self.spawn_with(&[]);
    }

    /// Serves with extra `serve` flags.
    pub fn spawn_with(&mut self, extra: &[&str]) {
        let mut child = Command::new(BIN)
            .args(["serve", "--data", self.dir.path().to_str().unwrap(), "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        self.url = evidence_ledger::load::read_listen_line(&mut child).unwrap();
        self.child = Some(child);
    }

    /// SIGTERM and wait; returns whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        let mut child = self.child.take().expect("running");
        unsafe_free_kill(child.id(), "TERM");
        child.wait().unwrap().success()
    }

    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    pub fn restart(&mut self) {
        assert!(self.terminate(), "server did not exit cleanly on SIGTERM");
        self.spawn();
    }

    pub fn client(&self) -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap()
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> (u16, String) {
        let mut req = self.client().get(format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().unwrap();
        (resp.status().as_u16(), resp.text().unwrap())
    }

    pub fn get_json(&self, path: &str) -> Value {
        let (status, body) = self.get(path, None);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    pub fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: impl Into<reqwest::blocking::Body>,
    ) -> (u16, Value) {
        let mut req = self.client().post(format!("{}{path}", self.url)).body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub fn submit(&self, body: &Value) -> (u16, Value) {
        self.post("/v1/events", Some(&self.tokens.submitter), serde_json::to_vec(body).unwrap())
    }

    /// Size of the newest log-signed checkpoint (anchored or not).
    pub fn tree_size_latest(&self) -> u64 {
        let (status, note) = self.get("/v1/checkpoint/latest", None);
        assert_eq!(status, 200);
        note.lines().nth(1).unwrap().parse().unwrap()
    }

    pub fn tree_size(&self) -> u64 {
        let (status, note) = self.get("/v1/checkpoint", None);
        assert_eq!(status, 200);
        note.lines().nth(1).unwrap().parse().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Sends a signal with the `kill` command (the tests forbid unsafe code).
pub fn unsafe_free_kill(pid: u32, signal: &str) {
    let ok = Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status().unwrap();
    assert!(ok.success());
}

pub fn data_path(s: &Server) -> PathBuf {
    s.dir.path().to_path_buf()
}
