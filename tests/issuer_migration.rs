//! Issuer records of a store written before they were keyed and sealed
//! (issue 25 item 4) are moved at the first writable open; a crash in the
//! middle of the move (after its first synced chunk, by the fault point
//! `issuer-migration-chunk` of `ledger::fault`, compiled into test builds)
//! loses nothing and is finished by the next open.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use evidence_ledger::flows::{contract_flow, Issuer, Signer};
use ledger::store::{RecordFamily, Store};
use serde_json::{json, Value};

/// A record as the code before wrote it: clear JSON under `name 0x00 tenant`.
fn legacy_row(issuer: &Issuer, tenant: &str) -> (Vec<u8>, Vec<u8>) {
    let rec = json!({"name": issuer.name, "tenant": tenant,
                     "public_key": issuer.public_key_b64(), "added_at": "2026-01-02T03:04:05Z"});
    let key = [issuer.name.as_bytes(), b"\0", tenant.as_bytes()].concat();
    (key, serde_json::to_vec(&rec).unwrap())
}

/// (keyed, legacy) records of the issuers family.
fn forms(data: &Path) -> (usize, usize) {
    let store = Store::open_read_only(&data.join("db")).unwrap();
    let rows = store.scan_records(RecordFamily::Issuers, b"").unwrap();
    let keyed = rows.iter().filter(|(k, _)| k.first() == Some(&1)).count();
    (keyed, rows.len() - keyed)
}

/// Files under `dir` holding `needle` in clear.
fn files_holding(dir: &Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            hits.extend(files_holding(&p, needle));
        } else if std::fs::read(&p)
            .is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
        {
            hits.push(p.display().to_string());
        }
    }
    hits
}

#[test]
fn a_crash_in_the_middle_of_the_issuer_migration_is_finished_at_the_next_open() {
    let mut s = Server::prepare();
    let d = s.data().to_str().unwrap().to_string();
    let mark = hex::encode(rand::random::<[u8; 6]>());
    let (before_keyed, _) = forms(s.data());
    // A signer the events will use, and 600 more: three chunks of 256.
    let signer = Signer::random(&format!("u-mig-{mark}"), "钱*");
    let mut rows = vec![legacy_row(&signer.issuer, TENANT)];
    for i in 0..600 {
        rows.push(legacy_row(&Issuer::random(&format!("signer:u-fill-{mark}-{i}")), TENANT));
    }
    {
        let store = Store::open(&s.data().join("db")).unwrap();
        store.put_records_unsynced(RecordFamily::Issuers, &rows).unwrap();
    }
    assert_eq!(forms(s.data()), (before_keyed, 601));

    // An offline command opens the store writable and crashes after the
    // first chunk: that chunk is moved, the rest is still in clear.
    let out = Command::new(BIN)
        .args(["token", "issue", "--data", &d, "--tenant", TENANT, "--role", "legal"])
        .env(ledger::fault::FAULT_ENV, "issuer-migration-chunk")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("fault injection"));
    assert_eq!(forms(s.data()), (before_keyed + 256, 601 - 256));

    // Served: the open finishes the move; every record is there, and the
    // signer's key attests the tenant's events.
    s.spawn();
    let signers = vec![&s.signers[0], &signer];
    let events = contract_flow(&s.services, &signers, "contract-mig", b"contract-mig");
    let (status, body) = s.submit(&json!({"events": events}));
    assert_eq!(status, 200, "{body}");
    let (status, listed) = s.get("/v1/issuers", Some(&s.tokens.platform));
    assert_eq!(status, 200);
    let listed: Value = serde_json::from_str(&listed).unwrap();
    let names: Vec<&str> =
        listed["issuers"].as_array().unwrap().iter().filter_map(|i| i["name"].as_str()).collect();
    assert_eq!(names.len(), before_keyed + 601, "{names:?}");
    assert!(names.contains(&signer.issuer.name.as_str()));
    assert!(s.terminate());
    assert_eq!(forms(s.data()), (before_keyed + 601, 0));

    // Once the next open has written a new MANIFEST, no file spells them.
    cli(&["token", "list", "--data", &d]);
    cli(&["token", "issue", "--data", &d, "--tenant", TENANT, "--role", "legal"]);
    let hits = files_holding(&s.data().join("db"), &format!("u-mig-{mark}"));
    assert!(hits.is_empty(), "{hits:?}");
    assert!(files_holding(&s.data().join("db"), &format!("u-fill-{mark}")).is_empty());
}
