//! A full disk under the real server (data directory on `testfs`): appends
//! answer 503 with Retry-After, /readyz 503, `evidence_storage_ok` 0; once
//! space is back all turn healthy again without a restart, and every
//! receipt handed out before is still served.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::*;
use evidence_ledger::flows::{signed_event, Issuer};
use serde_json::{json, Value};
use testfs::{Fault, LazyFs};
use verifier::Hash;

#[test]
fn disk_full_answers_503_then_recovers_without_restart() {
    let mnt = tempfile::tempdir().unwrap();
    let fs = LazyFs::mount(mnt.path()).expect("mount testfs (needs /dev/fuse and fuse3)");
    let data = mnt.path().join("data");
    let d = data.to_str().unwrap();
    cli(&["init", "--data", d, "--origin", "test.evidence-ledger.local/log"]);
    let token = cli(&["token", "issue", "--data", d, "--tenant", TENANT, "--role", "submitter"]);
    let legal = cli(&["token", "issue", "--data", d, "--tenant", TENANT, "--role", "legal"]);
    let issuer = Issuer::random("idp-gov");
    cli(&[
        "issuer",
        "add",
        "--data",
        d,
        "--name",
        "idp-gov",
        "--public-key",
        &issuer.public_key_b64(),
    ]);
    let mut child = Command::new(BIN)
        .args(["serve", "--data", d, "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let url = evidence_ledger::load::read_listen_line(&mut child).unwrap();
    let http =
        reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let h = Hash::digest(b"doc").to_hex();
    let submit = |id: &str| {
        let body = json!({"events": [signed_event(&issuer, id, "doc-full", &h)]});
        http.post(format!("{url}/v1/events")).bearer_auth(&token).json(&body).send().unwrap()
    };
    let get = |path: &str| {
        let r = http.get(format!("{url}{path}")).send().unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    let first: Value = submit("ev-1").json().unwrap();

    fs.set_fault(Some(Fault::NoSpace));
    let r = submit("ev-2");
    assert_eq!(r.status().as_u16(), 503);
    assert_eq!(r.headers().get("retry-after").unwrap(), "1");
    assert_eq!(get("/readyz").0, 503);
    assert!(get("/metrics").1.contains("evidence_storage_ok 0"));
    // Reads still answer: the receipt handed out before is served.
    let (status, _) = get("/v1/entries/0");
    assert_eq!(status, 200);

    fs.set_fault(None);
    let start = Instant::now();
    while get("/readyz").0 != 200 {
        assert!(start.elapsed() < Duration::from_secs(60), "not ready 60 s after space returned");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(get("/metrics").1.contains("evidence_storage_ok 1"));
    let again = submit("ev-2");
    assert_eq!(again.status().as_u16(), 200);
    let again: Value = again.json().unwrap();
    let next = first["receipts"][0]["index"].as_u64().unwrap() + 1;
    assert_eq!(again["receipts"][0]["index"], next);
    let first_index = first["receipts"][0]["index"].as_u64().unwrap();
    let entry: Value = serde_json::from_str(&get(&format!("/v1/entries/{first_index}")).1).unwrap();
    assert_eq!(entry["index"], first_index);
    // The failed group advanced no contract chain (record v3): the entry
    // logged after the failure follows the one before it, as the second.
    let bundle: Value = http
        .get(format!("{url}/v1/documents/doc-full/bundle"))
        .bearer_auth(legal.trim())
        .send()
        .unwrap()
        .json()
        .unwrap();
    let entries = bundle["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{bundle}");
    let b64 = base64::engine::general_purpose::STANDARD;
    let leaf0 = b64.decode(entries[0]["leaf"].as_str().unwrap()).unwrap();
    let prev = verifier::hash::leaf_hash(&leaf0).to_base64();
    assert_eq!(entries[1]["record"]["chain"], json!({"prev": prev, "seq": 1}));
    unsafe_free_kill(child.id(), "TERM");
    assert!(child.wait().unwrap().success());
    drop(fs);
}
