//! Online management by the platform role (issue 29): a witness added and
//! a TSA retired over the API take effect on the next anchoring round with
//! the server running; tenants created over the API (or offline with the
//! `tenant` CLI on the data directory) get their quota (429 above it),
//! their lookup default and their retention minimum; other
//! roles get 403 and bad input 400, and neither changes anything; a
//! restart keeps the records, on RocksDB and PostgreSQL, where the
//! synchronous-replication wait is measured. Real processes on loopback:
//! the server, a `notary-witness`, `openssl ts` behind a small HTTP TSA,
//! and PostgreSQL with a synchronous standby.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::pg::PgServer;
use common::witness::*;
use common::*;
use evidence_ledger::flows::signed_event_for;
use reqwest::Method;
use serde_json::{json, Value};
use verifier::Hash;

fn call(s: &Server, method: Method, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = s.client().request(method, format!("{}{path}", s.url)).bearer_auth(token);
    if let Some(b) = body {
        req = req.body(serde_json::to_vec(&b).unwrap());
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn wait_for<T>(what: &str, f: impl Fn() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn tsa_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("verifier/tests/data/tsa")
}

/// `openssl ts -reply` behind HTTP (POST a query, get a reply), in `dir`.
fn serve_tsa(dir: PathBuf) -> String {
    for f in ["tsa.cnf", "tsa-rsa.pem", "tsa-rsa.key", "root-ca.pem"] {
        std::fs::copy(tsa_fixtures().join(f), dir.join(f)).unwrap();
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            let (q, r) = (dir.join(format!("h{n}.tsq")), dir.join(format!("h{n}.tsr")));
            std::fs::write(&q, &body).unwrap();
            let ok = Command::new("openssl")
                .args(["ts", "-reply", "-config", "tsa.cnf", "-section", "tsa_rsa", "-queryfile"])
                .arg(&q)
                .arg("-out")
                .arg(&r)
                .current_dir(&dir)
                .output()
                .is_ok_and(|o| o.status.success());
            let answer = if ok { std::fs::read(&r).unwrap() } else { Vec::new() };
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/timestamp-reply\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                answer.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&answer);
        }
    });
    url
}

/// A token from the test TSA over `digest_hex` (SHA-256), made in `dir`.
fn token_over(dir: &Path, digest_hex: &str) -> Vec<u8> {
    let (q, t) = (dir.join(format!("q-{digest_hex}.tsq")), dir.join(format!("t-{digest_hex}.der")));
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let (q, t) = (q.to_str().unwrap(), t.to_str().unwrap());
    run(&["ts", "-query", "-digest", digest_hex, "-sha256", "-cert", "-out", q]);
    run(&[
        "ts",
        "-reply",
        "-config",
        "tsa.cnf",
        "-section",
        "tsa_rsa",
        "-queryfile",
        q,
        "-out",
        t,
        "-token_out",
    ]);
    std::fs::read(t).unwrap()
}

/// A submission of one event carrying a TSA token over its document hash.
fn submit_stamped(s: &Server, tsa_dir: &Path, id: &str, doc: &str) -> (u16, Value) {
    use base64::Engine as _;
    let h = Hash::digest(doc.as_bytes()).to_hex();
    let mut ev = signed_event_for(TENANT, &s.services.intent, id, doc, &h);
    let token = token_over(tsa_dir, &h);
    ev["timestamp_token"] = json!(base64::engine::general_purpose::STANDARD.encode(token));
    let body = serde_json::to_vec(&json!({"events": [ev]})).unwrap();
    s.post("/v1/events", Some(&s.tokens.submitter), body)
}

fn log_vkey(s: &Server) -> String {
    let out = cli(&["status", "--data", s.data().to_str().unwrap()]);
    out.lines().find_map(|l| l.strip_prefix("vkey: ")).unwrap().to_string()
}

fn submit_one(s: &Server, tenant: &str, token: &str, id: &str, doc: &str) -> (u16, Value) {
    let h = Hash::digest(doc.as_bytes()).to_hex();
    let ev = signed_event_for(tenant, &s.services.intent, id, doc, &h);
    let body = serde_json::to_vec(&json!({"events": [ev]})).unwrap();
    s.post("/v1/events", Some(token), body)
}

/// Size of the newest checkpoint the TSA timestamped, if any.
fn timestamped_size(s: &Server) -> Option<u64> {
    let (status, body) = s.get("/v1/checkpoint/timestamp", None);
    (status == 200).then(|| serde_json::from_str::<Value>(&body).unwrap()["tree_size"].as_u64())?
}

#[test]
fn a_witness_added_and_a_tsa_retired_over_the_api_take_effect_on_the_next_round() {
    let tsa_dir = tempfile::tempdir().unwrap();
    let tsa_url = serve_tsa(tsa_dir.path().to_path_buf());
    let mut s = Server::prepare();
    let d = s.data().to_str().unwrap().to_string();
    let root = tsa_fixtures().join("root-ca.pem");
    let root = root.to_str().unwrap();
    // The offline CLI writes the same records the API reads.
    cli(&[
        "tsa",
        "add",
        "--data",
        &d,
        "--name",
        "test-tsa",
        "--root-cert",
        root,
        "--anchor-url",
        &tsa_url,
    ]);
    cli(&["anchor", "policy", "--data", &d, "--interval", "1"]);
    s.spawn();
    let platform = s.tokens.platform.clone();
    let witness = Witness::start("court.example/witness", &log_vkey(&s));

    // The TSA anchors alone before any witness exists.
    assert_eq!(submit_one(&s, TENANT, &s.tokens.submitter, "m-1", "doc-m1").0, 200);
    let first = s.tree_size();
    wait_for("a timestamp before the change", || timestamped_size(&s).filter(|n| *n >= first));

    // Its tokens are taken on events while it is trusted.
    let (status, body) = submit_stamped(&s, tsa_dir.path(), "m-t1", "doc-t1");
    assert_eq!(status, 200, "{body}");

    // Other roles: 403, and nothing changes.
    let new = json!({"vkey": witness.vkey, "url": witness.url()});
    for token in [&s.tokens.admin, &s.tokens.submitter, &s.tokens.legal] {
        let (status, body) = call(&s, Method::POST, "/v1/witnesses", token, Some(new.clone()));
        assert_eq!(status, 403, "{body}");
        let (status, _) = call(&s, Method::DELETE, "/v1/tsas/test-tsa", token, None);
        assert_eq!(status, 403);
        let (status, _) = call(&s, Method::GET, "/v1/anchoring", token, None);
        assert_eq!(status, 403);
    }
    // Bad input: 400, and nothing changes (nor is anything logged).
    let size_before_bad = s.tree_size_latest();
    for bad in [
        json!({"vkey": "not a vkey", "url": witness.url()}),
        json!({"vkey": witness.vkey, "url": "ftp://x"}),
        json!({"vkey": witness.vkey, "url": witness.url(), "extra": 1}),
    ] {
        let (status, body) = call(&s, Method::POST, "/v1/witnesses", &platform, Some(bad));
        assert_eq!(status, 400, "{body}");
    }
    let bad_policy =
        json!({"interval_secs": 1, "every_entries": 0, "required": ["nobody"], "threshold": 0});
    let (status, body) = call(&s, Method::PUT, "/v1/anchoring", &platform, Some(bad_policy));
    assert_eq!(status, 400, "{body}");
    let (status, _) = call(&s, Method::DELETE, "/v1/tsas/no-such-tsa", &platform, None);
    assert_eq!(status, 404);
    assert_eq!(s.tree_size_latest(), size_before_bad, "a refused change logged nothing");
    let (_, listed) = call(&s, Method::GET, "/v1/witnesses", &platform, None);
    assert_eq!(listed["witnesses"], json!([]));

    // The platform adds the witness and retires the TSA: both logged.
    let (status, added) = call(&s, Method::POST, "/v1/witnesses", &platform, Some(new));
    assert_eq!(status, 200, "{added}");
    assert_eq!(added["name"], "court.example/witness");
    let (status, retired) = call(&s, Method::DELETE, "/v1/tsas/test-tsa", &platform, None);
    assert_eq!(status, 200, "{retired}");
    let entry = retired["retired_entry"].as_u64().expect("the retirement's log entry");
    assert!(entry >= size_before_bad);
    let (status, _) = s.get(&format!("/v1/entries/{entry}"), None);
    assert_eq!(status, 200);
    // From now on its tokens are refused on new events, nothing written.
    let (status, body) = submit_stamped(&s, tsa_dir.path(), "m-t2", "doc-t2");
    assert_eq!((status, &body["error"]["code"]), (422, &json!("timestamp_failed")), "{body}");
    // A round that began before the change may still be asking the TSA
    // (whose token no longer verifies once it is retired): let it end.
    std::thread::sleep(Duration::from_secs(2));
    let stamped_before = timestamped_size(&s).unwrap();
    assert_eq!(s.get_json("/v1/log")["witnesses"][0]["vkey"], witness.vkey.as_str());

    // The next round (the server was never restarted): cosigned by the new
    // witness, and not timestamped by the retired TSA.
    assert_eq!(submit_one(&s, TENANT, &s.tokens.submitter, "m-2", "doc-m2").0, 200);
    let size = s.tree_size_latest();
    assert_eq!(s.post("/v1/anchor", Some(&platform), "").0, 200);
    wait_checkpoint(&s, "the added witness's cosignature", |cp| {
        cp.checkpoint.size == size && cosigned_by(cp, &witness)
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(timestamped_size(&s), Some(stamped_before), "the retired TSA stamped again");
    let (_, tsas) = call(&s, Method::GET, "/v1/tsas", &platform, None);
    assert!(tsas["tsas"][0]["retired_at"].is_string(), "{tsas}");
    assert!(tsas["tsas"][0]["anchor_url"].is_null(), "{tsas}");

    // The policy over the API; the CLI reaches the running server too.
    let policy = json!({"interval_secs": 2, "every_entries": 0,
                        "required": ["court.example/witness"], "threshold": 1});
    let (status, body) = call(&s, Method::PUT, "/v1/anchoring", &platform, Some(policy));
    assert_eq!(status, 200, "{body}");
    let out = Command::new(BIN)
        .args(["witness", "list", "--server", &s.url])
        .env("EVIDENCE_LEDGER_TOKEN", &platform)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("court.example/witness") && text.contains("anchor every 2 s"), "{text}");

    // A restart keeps every record.
    s.restart();
    let (_, a) = call(&s, Method::GET, "/v1/anchoring", &platform, None);
    assert_eq!(a["interval_secs"], 2);
    assert_eq!(a["witnesses"][0]["name"], "court.example/witness");
    assert!(a["tsa"].is_null(), "{a}");
    let (_, tsas) = call(&s, Method::GET, "/v1/tsas", &platform, None);
    assert!(tsas["tsas"][0]["retired_at"].is_string(), "{tsas}");
    // What the retired TSA stamped before is still served, and verifies.
    assert_eq!(timestamped_size(&s), Some(stamped_before));
    // And the witness, retired over the CLI through the server, is gone.
    let out = Command::new(BIN)
        .args(["witness", "remove", "--server", &s.url, "--name", "court.example/witness"])
        .env("EVIDENCE_LEDGER_TOKEN", &platform)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (_, listed) = call(&s, Method::GET, "/v1/witnesses", &platform, None);
    assert_eq!(listed["witnesses"], json!([]));
}

#[test]
fn a_tenant_made_over_the_api_gets_its_quota_lookup_default_and_retention_minimum() {
    let mut s = Server::start();
    let platform = s.tokens.platform.clone();
    let tenant = "newco";
    let create = json!({
        "tenant": tenant,
        "quota": {"events_per_sec": 2, "bytes_per_day": 0, "writes_per_min": 0},
        "lookup_default": false,
        "retention_min_days": 60,
        "admin_token": true,
    });
    // Other roles: 403; bad input: 400; neither leaves a record.
    for token in [&s.tokens.admin, &s.tokens.submitter, &s.tokens.legal] {
        assert_eq!(call(&s, Method::POST, "/v1/tenants", token, Some(create.clone())).0, 403);
        assert_eq!(call(&s, Method::GET, "/v1/tenants", token, None).0, 403);
    }
    let size_before_bad = s.tree_size_latest();
    for bad in [
        json!({"tenant": tenant, "retention_min_days": 5}),
        json!({"tenant": tenant, "quota": {"events_per_sec": 2}}),
        json!({"tenant": "platform"}),
        json!({"tenant": "bad tenant"}),
        json!({"tenant": tenant, "contact": "someone"}),
    ] {
        let (status, body) = call(&s, Method::POST, "/v1/tenants", &platform, Some(bad));
        assert_eq!(status, 400, "{body}");
    }
    assert_eq!(s.tree_size_latest(), size_before_bad);
    assert_eq!(call(&s, Method::GET, "/v1/tenants", &platform, None).1["tenants"], json!([]));

    let (status, made) = call(&s, Method::POST, "/v1/tenants", &platform, Some(create.clone()));
    assert_eq!(status, 200, "{made}");
    let admin = made["admin_token"]["token"].as_str().unwrap().to_string();
    assert_eq!(call(&s, Method::POST, "/v1/tenants", &platform, Some(create)).0, 409);
    let (status, body) = call(
        &s,
        Method::POST,
        "/v1/tokens",
        &platform,
        Some(json!({"tenant": tenant, "role": "submitter"})),
    );
    assert_eq!(status, 200, "{body}");
    let submitter = body["token"].as_str().unwrap().to_string();

    // The quota: 2 events/s with 2 s of burst; above it 429, nothing written.
    let mut refused = 0;
    for i in 0..12 {
        let (status, body) = submit_one(&s, tenant, &submitter, &format!("q-{i}"), "doc-q");
        match status {
            200 => {}
            429 => refused += 1,
            _ => panic!("{status} {body}"),
        }
    }
    assert!(refused >= 3, "only {refused} of 12 refused at 2 events/s");
    // Another tenant without a record keeps the flags' default.
    for i in 0..8 {
        assert_eq!(submit_one(&s, TENANT, &s.tokens.submitter, &format!("o-{i}"), "doc-o").0, 200);
    }

    // The lookup default (off) applies to the new document; its own switch wins.
    let h = Hash::digest(b"doc-q").to_hex();
    assert_eq!(s.get(&format!("/v1/lookup?document_hash={h}"), None).0, 404);
    let on = json!({"enabled": true}).to_string();
    assert_eq!(s.post("/v1/documents/doc-q/lookup", Some(&admin), on).0, 200);
    assert_eq!(s.get(&format!("/v1/lookup?document_hash={h}"), None).0, 200);

    // The retention minimum binds the tenant's admin.
    let r45 = json!({"erase_after_days": 45}).to_string();
    assert_eq!(s.post("/v1/retention", Some(&admin), r45).0, 400);
    let r60 = json!({"erase_after_days": 60}).to_string();
    assert_eq!(s.post("/v1/retention", Some(&admin), r60).0, 200);

    // PATCH: other roles 403, bad input 400, nothing changed.
    let path = format!("/v1/tenants/{tenant}");
    let lift = json!({"quota": null});
    assert_eq!(call(&s, Method::PATCH, &path, &admin, Some(lift.clone())).0, 403);
    for bad in [json!({}), json!({"retention_min_days": 1}), json!({"lookup_default": "yes"})] {
        assert_eq!(call(&s, Method::PATCH, &path, &platform, Some(bad)).0, 400);
    }
    assert_eq!(call(&s, Method::PATCH, "/v1/tenants/nobody", &platform, Some(lift.clone())).0, 404);
    let (_, rec) = call(&s, Method::GET, &path, &platform, None);
    assert_eq!(rec["quota"]["events_per_sec"], 2);
    assert_eq!(rec["retention_min_days"], 60);
    assert!(rec.to_string().len() < 1000, "{rec}");

    // A restart keeps the record: the quota still applies.
    s.restart();
    let (_, rec2) = call(&s, Method::GET, &path, &platform, None);
    assert_eq!(rec2, rec);
    let mut refused = 0;
    for i in 0..12 {
        if submit_one(&s, tenant, &submitter, &format!("r-{i}"), "doc-r").0 == 429 {
            refused += 1;
        }
    }
    assert!(refused >= 3, "after the restart only {refused} of 12 refused");
    let h = Hash::digest(b"doc-r").to_hex();
    assert_eq!(s.get(&format!("/v1/lookup?document_hash={h}"), None).0, 404);

    // The CLI reads the records through the running server.
    let out = Command::new(BIN)
        .args(["tenant", "list", "--server", &s.url])
        .env("EVIDENCE_LEDGER_TOKEN", &platform)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.starts_with("newco quota=2:0:0 lookup=off retention_min_days=60 "), "{text}");

    // Lifting the quota and turning the default on take effect at once.
    let (status, body) = call(
        &s,
        Method::PATCH,
        &path,
        &platform,
        Some(json!({"quota": null, "lookup_default": true})),
    );
    assert_eq!(status, 200, "{body}");
    for i in 0..8 {
        assert_eq!(submit_one(&s, tenant, &submitter, &format!("l-{i}"), "doc-l").0, 200);
    }
    assert_eq!(s.get(&format!("/v1/lookup?document_hash={h}"), None).0, 200);
}

/// Runs the CLI; returns (success, stdout, stderr).
fn cli_run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).trim().to_string();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn a_tenant_made_offline_gets_its_quota_when_served_and_is_listed() {
    let mut s = Server::prepare();
    let d = s.data().to_str().unwrap().to_string();
    let tenant = "offco";
    let create = |extra: &[&str]| {
        let mut a = vec!["tenant", "create", "--data", &d, "--tenant", tenant];
        a.extend_from_slice(extra);
        cli_run(&a)
    };
    // Bad input: a clear error, and no record.
    for (bad, says) in [
        (vec!["--retention-min-days", "5"], "retention_min_days"),
        (vec!["--quota", "2"], "EVENTS_PER_SEC"),
        (vec!["--lookup", "maybe"], "on or off"),
    ] {
        let (ok, _, err) = create(&bad);
        assert!(!ok && err.contains(says), "{bad:?}: {err}");
    }
    let (ok, _, err) = cli_run(&["tenant", "create", "--data", &d, "--tenant", "platform"]);
    assert!(!ok && err.contains("reserved"), "{err}");
    assert_eq!(cli(&["tenant", "list", "--data", &d]), "");

    let (ok, out, err) = create(&["--quota", "2:0:0", "--lookup", "off", "--admin-token"]);
    assert!(ok, "{err}");
    let mut lines = out.lines();
    let first = lines.next().unwrap();
    assert!(first.starts_with("offco quota=2:0:0 lookup=off retention_min_days=default "), "{out}");
    let admin = lines.next().unwrap().to_string();
    let (ok, _, err) = create(&[]);
    assert!(!ok && err.contains("has a record"), "{err}");
    let set =
        cli(&["tenant", "set", "--data", &d, "--tenant", tenant, "--retention-min-days", "60"]);
    assert!(set.starts_with("offco quota=2:0:0 lookup=off retention_min_days=60 "), "{set}");
    let (ok, _, err) =
        cli_run(&["tenant", "set", "--data", &d, "--tenant", "nobody", "--lookup", "on"]);
    assert!(!ok && err.contains("not_found"), "{err}");

    // Served: the record is in force, and reads as one made online.
    s.spawn();
    let platform = s.tokens.platform.clone();
    let (_, rec) = call(&s, Method::GET, "/v1/tenants/offco", &platform, None);
    assert_eq!(rec["quota"]["events_per_sec"], 2, "{rec}");
    assert_eq!(
        (rec["retention_min_days"].clone(), rec["updated_by"].clone()),
        (json!(60), json!("operator"))
    );
    assert!(rec["entry"].as_u64().unwrap() < s.tree_size_latest(), "the change is logged");
    // The offline admin token works: it mints the tenant's submitter.
    let body = json!({"tenant": tenant, "role": "submitter"});
    let (status, minted) = call(&s, Method::POST, "/v1/tokens", &admin, Some(body));
    assert_eq!(status, 200, "{minted}");
    let submitter = minted["token"].as_str().unwrap().to_string();
    let mut refused = 0;
    for i in 0..12 {
        let (status, body) = submit_one(&s, tenant, &submitter, &format!("q-{i}"), "doc-off");
        match status {
            200 => {}
            429 => refused += 1,
            _ => panic!("{status} {body}"),
        }
    }
    assert!(refused >= 3, "only {refused} of 12 refused at 2 events/s");
    for i in 0..6 {
        assert_eq!(submit_one(&s, TENANT, &s.tokens.submitter, &format!("o-{i}"), "doc-o").0, 200);
    }
    // The lookup default (off) applies.
    let h = Hash::digest(b"doc-off").to_hex();
    assert_eq!(s.get(&format!("/v1/lookup?document_hash={h}"), None).0, 404);

    // While the server holds the store, an offline change is refused and
    // changes nothing; listing reads beside it.
    let (ok, _, err) =
        cli_run(&["tenant", "set", "--data", &d, "--tenant", tenant, "--lookup", "on"]);
    assert!(!ok && err.contains("in use by a running server"), "{err}");
    let listed = cli(&["tenant", "list", "--data", &d]);
    assert!(listed.starts_with("offco quota=2:0:0 lookup=off retention_min_days=60 "), "{listed}");
    let (_, after) = call(&s, Method::GET, "/v1/tenants/offco", &platform, None);
    assert_eq!(after, rec);
}

/// The value of the unlabelled series `name` on `/metrics`.
fn metric(s: &Server, name: &str) -> f64 {
    let text = s.get("/metrics", None).1;
    let line = text.lines().find(|l| l.split(' ').next() == Some(name));
    line.and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        panic!("{name} not on /metrics:\n{text}");
    })
}

#[test]
fn on_postgres_the_records_survive_a_restart_and_the_sync_wait_is_measured() {
    let primary = PgServer::start_primary_sync();
    let mut standby = PgServer::start_standby(&primary);
    primary.create_db("ledger");
    let mut s = Server::prepare_with(&["--store", &primary.url("ledger")]);
    let timeout = ["--pg-commit-timeout", "1"];
    s.spawn_with(&timeout);
    let platform = s.tokens.platform.clone();
    let create = json!({"tenant": "pgco", "lookup_default": false, "retention_min_days": 90,
                        "quota": {"events_per_sec": 100, "bytes_per_day": 0, "writes_per_min": 10}});
    let (status, made) = call(&s, Method::POST, "/v1/tenants", &platform, Some(create));
    assert_eq!(status, 200, "{made}");
    let policy = json!({"interval_secs": 7, "every_entries": 0, "required": [], "threshold": 0});
    assert_eq!(call(&s, Method::PUT, "/v1/anchoring", &platform, Some(policy)).0, 200);
    assert_eq!(submit_one(&s, TENANT, &s.tokens.submitter, "pg-1", "doc-pg").0, 200);

    // Every group commit waited for the synchronous standby, and was counted.
    let (count, sum) = (
        metric(&s, "evidence_pg_sync_commit_wait_seconds_count"),
        metric(&s, "evidence_pg_sync_commit_wait_seconds_sum"),
    );
    assert!(count >= 3.0 && sum > 0.0, "{count} commits, {sum} s");
    eprintln!("synced commits with a sync standby: {count}, mean wait {:.2} ms", sum / count * 1e3);
    assert_eq!(metric(&s, "evidence_pg_commit_outcome_unknown_total"), 0.0);

    // The records are in the database: a restart reads them back.
    assert!(s.terminate());
    s.spawn_with(&timeout);
    let (_, rec) = call(&s, Method::GET, "/v1/tenants/pgco", &platform, None);
    assert_eq!(rec, {
        let mut m = made.clone();
        m.as_object_mut().unwrap().remove("admin_token");
        m
    });
    assert_eq!(call(&s, Method::GET, "/v1/anchoring", &platform, None).1["interval_secs"], 7);

    // The standby gone: the commit's wait is cancelled at its deadline, the
    // outcome is unknown, nothing is acknowledged, and the counter says so.
    standby.stop();
    let (status, body) = submit_one(&s, TENANT, &s.tokens.submitter, "pg-2", "doc-pg2");
    assert_eq!(status, 503, "{body}");
    assert!(metric(&s, "evidence_pg_commit_outcome_unknown_total") >= 1.0);
}
