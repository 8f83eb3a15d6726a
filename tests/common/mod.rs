//! A real `evidence-ledger` server process on 127.0.0.1:0, set up the way
//! an operator does it (init, token issue, issuer add, serve).
#![allow(dead_code, missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub mod appenders;
pub mod nodes;
pub mod pg;
pub mod tiles_client;
pub mod witness;

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use evidence_ledger::flows::{signed_event, Issuer, Services, Signer};
use serde_json::{json, Value};
use verifier::hash::leaf_hash;
use verifier::Hash;

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

impl Tokens {
    /// The test tokens, issued offline on the data directory `d`.
    pub fn issue(d: &str) -> Tokens {
        let tok = |tenant: &str, role: &str| {
            cli(&["token", "issue", "--data", d, "--tenant", tenant, "--role", role])
        };
        Tokens {
            submitter: tok(TENANT, "submitter"),
            legal: tok(TENANT, "legal"),
            notary: tok(TENANT, "notary"),
            admin: tok(TENANT, "admin"),
            platform: cli(&["token", "issue", "--data", d, "--role", "platform"]),
            other_submitter: tok(OTHER, "submitter"),
            other_legal: tok(OTHER, "legal"),
        }
    }
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
        Server::prepare_with(&[])
    }

    /// [`Server::prepare`] with extra `init` flags (e.g. `--store URL`).
    pub fn prepare_with(init: &[&str]) -> Server {
        Server::prepare_then(init, |_| {})
    }

    /// [`Server::prepare_with`], calling `after_init` with the data
    /// directory between `init` and the first command that opens the log
    /// (to make the state an earlier build left).
    pub fn prepare_then(init: &[&str], after_init: impl FnOnce(&Path)) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap().to_string();
        let mut args = vec!["init", "--data", &d, "--origin", "test.evidence-ledger.local/log"];
        args.extend_from_slice(init);
        cli(&args);
        after_init(dir.path());
        let tokens = Tokens::issue(&d);
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

/// Clients submit batches until the server goes away; returns every
/// acknowledged (event_id -> (index, leaf_hash)).
pub fn load_until_gone(s: &Server, clients: usize, tag: &str) -> Vec<Acked> {
    load_until_gone_at(&s.url, &s.tokens.submitter, &s.signers[0].issuer, clients, tag)
}

/// The acknowledged events of one client (event_id -> (index, leaf_hash)).
pub type Acked = std::thread::JoinHandle<HashMap<String, (u64, String)>>;

/// [`load_until_gone`] against the server at `url`, events signed by `issuer`.
pub fn load_until_gone_at(
    url: &str,
    token: &str,
    issuer: &Issuer,
    clients: usize,
    tag: &str,
) -> Vec<Acked> {
    (0..clients)
        .map(|c| {
            let (url, token) = (url.to_string(), token.to_string());
            let issuer = Issuer { name: issuer.name.clone(), key: issuer.key.clone() };
            let tag = tag.to_string();
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap();
                let mut acked = HashMap::new();
                for b in 0.. {
                    let h = Hash::digest(b"doc").to_hex();
                    let events: Vec<Value> = (0..20)
                        .map(|i| {
                            signed_event(&issuer, &format!("{tag}-{c}-{b}-{i}"), "doc-kill", &h)
                        })
                        .collect();
                    let Ok(resp) = client
                        .post(format!("{url}/v1/events"))
                        .bearer_auth(&token)
                        .json(&json!({"events": events}))
                        .send()
                    else {
                        break;
                    };
                    if resp.status() != 200 {
                        break;
                    }
                    let Ok(body) = resp.json::<Value>() else {
                        break;
                    };
                    for r in body["receipts"].as_array().unwrap() {
                        acked.insert(
                            r["event_id"].as_str().unwrap().to_string(),
                            (
                                r["index"].as_u64().unwrap(),
                                r["leaf_hash"].as_str().unwrap().to_string(),
                            ),
                        );
                    }
                }
                acked
            })
        })
        .collect()
}

pub fn assert_all_present(s: &Server, acked: &HashMap<String, (u64, String)>) {
    assert_all_present_at(&s.url, acked)
}

/// [`assert_all_present`] on the server at `url`.
pub fn assert_all_present_at(url: &str, acked: &HashMap<String, (u64, String)>) {
    // One client for all the reads (a client per request costs ~1 ms).
    let client = reqwest::blocking::Client::new();
    // The newest log-signed checkpoint (`/v1/checkpoint` is the cosigned
    // one where witnesses are configured, which may lag).
    let latest = format!("{url}/v1/checkpoint/latest");
    let note = client.get(latest).send().unwrap().text().unwrap();
    let size: u64 = note.lines().nth(1).unwrap().parse().unwrap();
    for (id, (index, lh)) in acked {
        assert!(*index < size, "acknowledged {id} at {index} lost (size {size})");
        let url = format!("{url}/v1/entries/{index}");
        let entry: Value = client.get(url).send().unwrap().json().unwrap();
        let leaf = base64::engine::general_purpose::STANDARD
            .decode(entry["leaf"].as_str().unwrap())
            .unwrap();
        assert_eq!(&leaf_hash(&leaf).to_base64(), lh, "{id} altered");
    }
}
