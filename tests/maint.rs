//! Operator maintenance commands against a real data directory: `audit`
//! beside a running server and after it stopped, and what it says when a
//! value was rewritten through RocksDB itself.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use evidence_ledger::flows::signed_event;
use serde_json::{json, Value};
use verifier::checkpoint::{Checkpoint, SignedCheckpoint};
use verifier::Hash;

/// Runs `evidence-ledger audit`; (exit success, stdout + stderr).
fn audit(dir: &Path) -> (bool, String) {
    let out = Command::new(BIN).args(["audit", "--data", dir.to_str().unwrap()]).output().unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn submit_events(s: &Server, tag: &str, n: usize) {
    let h = Hash::digest(tag.as_bytes()).to_hex();
    let events: Vec<Value> = (0..n)
        .map(|i| signed_event(&s.signers[0].issuer, &format!("{tag}-{i}"), "doc-audit", &h))
        .collect();
    let (status, body) = s.submit(&json!({"events": events}));
    assert_eq!(status, 200, "{body}");
}

#[test]
fn audit_cli_is_clean_beside_a_server_and_names_rewritten_values() {
    let mut s = Server::start();
    // The registry's own entries (registry_changed) come first.
    let base = s.tree_size();
    submit_events(&s, "a", 30);
    let (ok, text) = audit(s.data());
    assert!(ok, "{text}");
    let size = format!("tree size {}", base + 30);
    assert!(text.contains(&size) && text.contains("audit: clean"), "{text}");
    submit_events(&s, "b", 10);
    // Online, as an admin: the same audit, and its outcome in the metrics.
    // A tenant's admin may not audit the whole store; the platform may.
    assert_eq!(s.post("/v1/audit", Some(&s.tokens.admin), "").0, 403);
    let (status, body) = s.post("/v1/audit", Some(&s.tokens.platform), "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["clean"].as_bool(), body["tree_size"].as_u64()),
        (Some(true), Some(base + 40))
    );
    assert_eq!(s.post("/v1/audit", Some(&s.tokens.submitter), "").0, 403);
    let (_, metrics) = s.get("/metrics", None);
    assert!(metrics.contains("evidence_audit_findings 0"), "{metrics}");
    assert!(s.terminate());

    // A checkpoint kept by the anchoring crate, signed by the log key but
    // for a root the leaves do not have: the audit matches those too.
    let l = ledger::Ledger::open(s.data(), ledger::LedgerOptions::default()).unwrap();
    let signer = ledger::keys::load_key_file(&s.data().join(ledger::keys::LOG_KEY_FILE)).unwrap();
    let bad = Checkpoint {
        origin: l.origin().to_string(),
        size: 12,
        root: Hash::digest(b"not the root"),
        extensions: Vec::new(),
    };
    anchor::store::record_checkpoint(&l, 12, &SignedCheckpoint::sign(bad, &signer).to_bytes())
        .unwrap();
    l.close();
    drop(l);

    // One byte of leaf 7, rewritten through RocksDB (checksums stay valid).
    {
        let cfs = [
            "leaves", "hashes", "idem", "docs", "dochash", "meta", "issuers", "tokens", "aux",
            "tsas", "records", "dockeys", "erased", "docidx", "hashidx", "subjidx",
        ];
        let db =
            rocksdb::DB::open_cf(&rocksdb::Options::default(), s.data().join("db"), cfs).unwrap();
        let leaves = db.cf_handle("leaves").unwrap();
        let mut leaf = db.get_cf(leaves, 7u64.to_be_bytes()).unwrap().unwrap();
        let at = leaf.windows(14).position(|w| w == b"\"commitment\":\"").unwrap() + 14;
        leaf[at] = if leaf[at] == b'a' { b'b' } else { b'a' };
        db.put_cf(leaves, 7u64.to_be_bytes(), &leaf).unwrap();
    }
    let (ok, text) = audit(s.data());
    assert!(!ok, "the audit passed a rewritten leaf: {text}");
    assert!(text.contains("(the leaf hash of leaf 7)"), "{text}");
    assert!(
        text.contains(
            "checkpoint at aux key anchor/cp/0x000000000000000c says the root of 12 leaves"
        ),
        "{text}"
    );
    assert!(text.contains("error: audit found"), "{text}");
}

#[test]
fn backup_while_serving_then_restore_is_refused_until_allow_rollback() {
    let mut s = Server::start();
    let base = s.tree_size();
    submit_events(&s, "a", 20);
    let size = format!("tree size {}", base + 20);
    let bk = tempfile::tempdir().unwrap();
    let to = bk.path().join("b1");
    let out = cli(&["backup", "--data", s.data().to_str().unwrap(), "--to", to.to_str().unwrap()]);
    assert!(out.contains(&size) && out.contains("audit clean"), "{out}");
    submit_events(&s, "b", 5);
    let live = s.get_json("/v1/log");
    assert!(s.terminate());
    let (ok, text) = audit(&to);
    assert!(ok, "{text}");

    std::fs::rename(s.data().join("db"), bk.path().join("damaged")).unwrap();
    let d = s.data().to_str().unwrap().to_string();
    let out = cli(&["restore", "--from", to.to_str().unwrap(), "--data", &d]);
    assert!(out.contains(&size), "{out}");
    let refused = Command::new(BIN)
        .args(["serve", "--data", &d, "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "served a rolled-back store");
    assert!(err.contains("rollback refused") && err.contains("--allow-rollback"), "{err}");

    let mut child = Command::new(BIN)
        .args(["serve", "--data", &d, "--listen", "127.0.0.1:0", "--allow-rollback"])
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    s.url = evidence_ledger::load::read_listen_line(&mut child).unwrap();
    s.child = Some(child);
    assert_eq!(s.tree_size_latest(), base + 20);
    assert_eq!(s.get_json("/v1/log")["vkey"], live["vkey"]);

    // Onto a new machine without the master key (backups leave it behind):
    // restore refuses, says where the key goes, and writes nothing.
    let fresh = bk.path().join("new-machine");
    let out = Command::new(BIN)
        .args(["restore", "--from", to.to_str().unwrap(), "--data", fresh.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "restored without the master key");
    assert!(
        err.contains("keys/master.key is missing") && err.contains("nothing was restored"),
        "{err}"
    );
    assert!(!fresh.exists());
}
