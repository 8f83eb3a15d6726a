//! Power loss under the real server: `evidence-ledger serve` runs on
//! `testfs` (a FUSE file system that keeps only what was fsync'd) while
//! clients submit over HTTP; the power is cut, the server SIGKILLed, the
//! file system remounted and the server started again. Every receipt a
//! client got must be served with the same index, leaf hash and ledger
//! time, proven in the new checkpoint, which extends every checkpoint
//! handed out before. (The library-level test with many more cuts is
//! `ledger/tests/powerloss.rs`.)
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use common::*;
use evidence_ledger::flows::{signed_event, Issuer};
use rand::Rng;
use serde_json::{json, Value};
use testfs::{LazyFs, Loss};
use verifier::checkpoint::SignedCheckpoint;
use verifier::hash::leaf_hash;
use verifier::note::NoteVerifier;
use verifier::proof::{verify_consistency, verify_inclusion};
use verifier::Hash;

/// (event id, index, leaf hash, ledger time) of one receipt.
type Got = (String, u64, Hash, String);

fn serve(data: &Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--data", data.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = evidence_ledger::load::read_listen_line(&mut child).unwrap();
    (child, url)
}

/// Submits batches of 10 until the server is gone; returns the receipts
/// and the checkpoint notes it was handed.
fn client(url: String, token: String, issuer: Arc<Issuer>, tag: String) -> (Vec<Got>, Vec<String>) {
    let http =
        reqwest::blocking::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let h = Hash::digest(b"doc-power").to_hex();
    let (mut got, mut notes) = (Vec::new(), Vec::new());
    for b in 0.. {
        let events: Vec<Value> = (0..10)
            .map(|i| signed_event(&issuer, &format!("{tag}-{b}-{i}"), "doc-power", &h))
            .collect();
        let Ok(resp) = http
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
        let Ok(body) = resp.json::<Value>() else { break };
        for r in body["receipts"].as_array().unwrap() {
            got.push((
                r["event_id"].as_str().unwrap().to_string(),
                r["index"].as_u64().unwrap(),
                Hash::from_base64(r["leaf_hash"].as_str().unwrap()).unwrap(),
                r["ledger_time"].as_str().unwrap().to_string(),
            ));
        }
        notes.push(body["receipts"][0]["checkpoint"].as_str().unwrap().to_string());
    }
    (got, notes)
}

fn get(url: &str, path: &str) -> Value {
    let r = reqwest::blocking::get(format!("{url}{path}")).unwrap();
    assert_eq!(r.status(), 200, "GET {path}");
    r.json().unwrap()
}

#[test]
fn server_power_loss_keeps_every_receipt() {
    let mnt = tempfile::tempdir().unwrap();
    let mut fs = LazyFs::mount(mnt.path()).expect("mount testfs (needs /dev/fuse and fuse3)");
    let data = mnt.path().join("data");
    let d = data.to_str().unwrap();
    cli(&["init", "--data", d, "--origin", "test.evidence-ledger.local/log"]);
    let token = cli(&["token", "issue", "--data", d, "--tenant", TENANT, "--role", "submitter"]);
    let issuer = Arc::new(Issuer::random("idp-gov"));
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
    let (mut child, mut url) = serve(&data);
    let log = NoteVerifier::from_vkey(get(&url, "/v1/log")["vkey"].as_str().unwrap()).unwrap();
    let mut total = 0;
    let mut head = (0, Hash::empty_root());
    let mut rng = rand::thread_rng();
    for round in 0..3 {
        // This round's receipts and checkpoints, and the head verified
        // after the last round: that head was proven to hold everything
        // before, so proving the new checkpoint extends it covers them.
        let (mut acked, mut handed): (Vec<Got>, Vec<(u64, Hash)>) = (Vec::new(), vec![head]);
        let clients: Vec<_> = (0..2)
            .map(|c| {
                let (url, token, issuer) = (url.clone(), token.clone(), issuer.clone());
                let tag = format!("r{round}-c{c}");
                std::thread::spawn(move || client(url, token, issuer, tag))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(rng.gen_range(150..400)));
        let loss = if round % 2 == 0 { Loss::Unsynced } else { Loss::Random(rng.gen()) };
        let report = fs.cut_power(loss);
        child.kill().unwrap();
        child.wait().unwrap();
        for c in clients {
            let (got, notes) = c.join().unwrap();
            acked.extend(got);
            for n in notes {
                let cp = SignedCheckpoint::verify(n.as_bytes(), &log).unwrap().checkpoint;
                handed.push((cp.size, cp.root));
            }
        }
        fs.power_on().unwrap();
        total += acked.len();
        eprintln!("round {round}: {loss:?}: {report:?}; {} receipts", acked.len());
        (child, url) = serve(&data);

        let note =
            reqwest::blocking::get(format!("{url}/v1/checkpoint/latest")).unwrap().text().unwrap();
        let cp = SignedCheckpoint::verify(note.as_bytes(), &log).unwrap().checkpoint;
        for (size, root) in &handed {
            assert!(*size <= cp.size, "checkpoint {size} handed out, log has {}", cp.size);
            let p = get(&url, &format!("/v1/proof/consistency?old={size}&new={}", cp.size));
            let proof: Vec<Hash> = p["hashes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| Hash::from_base64(h.as_str().unwrap()).unwrap())
                .collect();
            verify_consistency(*size, cp.size, root, &cp.root, &proof).expect("no fork");
        }
        for (id, index, lh, time) in &acked {
            let e = get(&url, &format!("/v1/entries/{index}"));
            let leaf = base64::engine::general_purpose::STANDARD
                .decode(e["leaf"].as_str().unwrap())
                .unwrap();
            assert_eq!(leaf_hash(&leaf), *lh, "{id} at {index} lost or altered");
            assert_eq!(e["entry"]["ledger_time"].as_str(), Some(time.as_str()), "{id}");
            let p = get(&url, &format!("/v1/proof/inclusion?index={index}&tree_size={}", cp.size));
            let proof: Vec<Hash> = p["hashes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| Hash::from_base64(h.as_str().unwrap()).unwrap())
                .collect();
            verify_inclusion(lh, *index, cp.size, &proof, &cp.root).expect("inclusion");
        }
        head = (cp.size, cp.root);
    }
    assert!(total > 30, "too little load: {total}");
    unsafe_free_kill(child.id(), "TERM");
    child.wait().unwrap();
    drop(fs);
}
