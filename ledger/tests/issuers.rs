//! Issuer records in the store (issue 25 item 4): kept under keyed hashes
//! and sealed, so no file of the store spells an issuer's name (a
//! tenant's issuers are named `signer:<actor id>`); a store written in the
//! older clear layout is migrated at open, resumably and idempotently.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::path::Path;
use std::time::Instant;

use base64::Engine as _;
use common::{event, issuer_key, ISSUER, TENANT};
use ed25519_dalek::SigningKey;
use ledger::store::{RecordFamily, Store};
use ledger::{IssuerRecord, Ledger, LedgerError, LedgerOptions};
use rand::RngCore as _;

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Every file under `dir` that holds `needle`, in clear or hex.
fn files_holding(dir: &Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            hits.extend(files_holding(&p, needle));
            continue;
        }
        let Ok(bytes) = std::fs::read(&p) else { continue };
        for n in [needle.as_bytes().to_vec(), hex::encode(needle).into_bytes()] {
            if bytes.windows(n.len()).any(|w| w == n.as_slice()) {
                hits.push(p.display().to_string());
            }
        }
    }
    hits
}

/// A record as the code before the keyed form wrote it: clear JSON under
/// `name` (platform) or `name 0x00 tenant`.
fn put_legacy(store: &Store, rec: &IssuerRecord) {
    let mut key = rec.name.as_bytes().to_vec();
    if let Some(t) = &rec.tenant {
        key.push(0);
        key.extend_from_slice(t.as_bytes());
    }
    let value = serde_json::to_vec(rec).unwrap();
    store.put_record(RecordFamily::Issuers, &key, &value).unwrap();
}

fn legacy(name: &str, tenant: Option<&str>, key: &SigningKey, revoked: bool) -> IssuerRecord {
    IssuerRecord {
        name: name.to_string(),
        tenant: tenant.map(str::to_string),
        public_key: b64(key.verifying_key().as_bytes()),
        added_at: "2026-01-02T03:04:05Z".into(),
        revoked_at: revoked.then(|| "2026-02-03T04:05:06Z".to_string()),
        added_entry: Some(3),
        revoked_entry: revoked.then_some(4),
    }
}

fn open(dir: &Path) -> Ledger {
    Ledger::open(dir, LedgerOptions::default()).unwrap()
}

/// Every key of the issuers family starts with the keyed form's 0x01.
fn all_keyed(dir: &Path) -> usize {
    let store = Store::open_read_only(&dir.join("db")).unwrap();
    let rows = store.scan_records(RecordFamily::Issuers, b"").unwrap();
    for (k, v) in &rows {
        assert_eq!(k.first(), Some(&1u8), "a legacy key is left: {}", String::from_utf8_lossy(k));
        assert_ne!(v.first(), Some(&b'{'), "a clear value is left");
    }
    rows.len()
}

#[test]
fn issuer_records_are_keyed_and_sealed_and_a_clear_store_is_migrated_at_open() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut m = [0u8; 6];
    rand::thread_rng().fill_bytes(&mut m);
    let mark = hex::encode(m);
    let (new_signer, old_signer) = (format!("signer:u-new-{mark}"), format!("signer:u-old-{mark}"));
    let old_platform = format!("idp-old-{mark}");

    // Written by this code: the keyed, sealed form from the start.
    Ledger::init(dir, "test.example/log").unwrap();
    let l = open(dir);
    let signer_key = SigningKey::from_bytes(&[9u8; 32]);
    let key = signer_key.verifying_key();
    l.add_issuer_scoped(Some(TENANT), &new_signer, key.as_bytes(), "operator").unwrap();
    drop(l);
    assert!(files_holding(&dir.join("db"), &new_signer).is_empty(), "a new issuer's name");

    // The older layout, as its code wrote it: the platform issuer the
    // events cite, a tenant's signer and a revoked platform issuer.
    let other = SigningKey::from_bytes(&[11u8; 32]);
    let written = [
        legacy(ISSUER, None, &issuer_key(), false),
        legacy(&old_signer, Some(TENANT), &signer_key, false),
        legacy(&old_platform, None, &other, true),
    ];
    {
        let store = Store::open(&dir.join("db")).unwrap();
        for rec in &written {
            put_legacy(&store, rec);
        }
    }
    assert!(!files_holding(&dir.join("db"), &old_signer).is_empty(), "the scan reads the store");

    // The open migrates: every record reads back the same, in either scope.
    let l = open(dir);
    for rec in &written {
        assert_eq!(l.issuer_in(rec.tenant.as_deref(), &rec.name).unwrap().as_ref(), Some(rec));
    }
    let names: Vec<String> = l.issuers().unwrap().into_iter().map(|r| r.name).collect();
    for n in [ISSUER, &old_signer, &old_platform, &new_signer] {
        assert!(names.iter().any(|x| x == n), "{n} not listed: {names:?}");
    }
    // The migrated platform issuer's key is trusted for ingest.
    l.append(TENANT, vec![event("ev-1", "doc-1")]).unwrap();
    // The scope rule holds across the forms: a tenant's name stays its own.
    let taken = l.add_issuer(&old_signer, other.verifying_key().as_bytes());
    assert!(matches!(taken, Err(LedgerError::AlreadyExists(_))), "{taken:?}");
    drop(l);
    assert_eq!(all_keyed(dir), 5, "four issuers and the log's own");
    // The old values are compacted away; RocksDB's MANIFEST still names
    // the old files' first and last keys until the next open writes a
    // new one (docs/evidence-v2.md, "What survives").
    drop(open(dir));
    for name in [&old_signer, &old_platform, &new_signer] {
        let hits = files_holding(&dir.join("db"), name);
        assert!(hits.is_empty(), "{name} still in clear in {hits:?}");
    }

    // A crash may leave legacy records beside keyed ones (another chunk),
    // or a legacy record whose keyed form was written (an older value):
    // the next open moves the first and keeps the keyed form of the second.
    let late = legacy(&format!("signer:u-late-{mark}"), Some("t2"), &other, false);
    {
        let store = Store::open(&dir.join("db")).unwrap();
        put_legacy(&store, &late);
        let mut stale = written[2].clone();
        stale.revoked_at = None;
        put_legacy(&store, &stale);
    }
    let l = open(dir);
    assert_eq!(l.issuer_in(Some("t2"), &late.name).unwrap(), Some(late.clone()));
    let kept = l.issuer_in(None, &old_platform).unwrap().unwrap();
    assert!(kept.revoked_at.is_some(), "the keyed record was overwritten by a stale one");
    drop(l);
    assert_eq!(all_keyed(dir), 6);
    // A further open finds nothing to move and changes nothing.
    let before = Store::open_read_only(&dir.join("db"))
        .unwrap()
        .scan_records(RecordFamily::Issuers, b"")
        .unwrap();
    drop(open(dir));
    let after = Store::open_read_only(&dir.join("db"))
        .unwrap()
        .scan_records(RecordFamily::Issuers, b"")
        .unwrap();
    assert_eq!(before, after);
    assert!(files_holding(&dir.join("db"), &late.name).is_empty());

    // A read-only view (beside a server) reads the sealed records too.
    let ro = Ledger::open_read_only(dir).unwrap();
    assert_eq!(ro.issuers().unwrap().len(), 6);
}

#[test]
fn many_clear_records_are_moved_in_chunks_at_one_open() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    Ledger::init(dir, "test.example/log").unwrap();
    drop(open(dir));
    // More than several chunks of 256, in the older layout.
    let n = 2_000;
    let key = SigningKey::from_bytes(&[5u8; 32]);
    {
        let store = Store::open(&dir.join("db")).unwrap();
        let rows: Vec<(Vec<u8>, Vec<u8>)> = (0..n)
            .map(|i| {
                let rec = legacy(&format!("signer:u-bulk-{i}"), Some("bulk"), &key, false);
                let k = [rec.name.as_bytes(), b"\0", b"bulk"].concat();
                (k, serde_json::to_vec(&rec).unwrap())
            })
            .collect();
        store.put_records_unsynced(RecordFamily::Issuers, &rows).unwrap();
    }
    let t = Instant::now();
    let l = open(dir);
    eprintln!("opened with {n} clear issuer records moved in {:?}", t.elapsed());
    // Each reads back (one keyed read and one AEAD open).
    let t = Instant::now();
    for i in 0..n {
        let rec = l.issuer_in(Some("bulk"), &format!("signer:u-bulk-{i}")).unwrap();
        assert_eq!(rec.unwrap().tenant.as_deref(), Some("bulk"));
    }
    eprintln!("issuer_in: {:?} per record read", t.elapsed() / n as u32);
    // Listed by name, as the clear keys ordered them.
    let names: Vec<String> = l.issuers().unwrap().into_iter().map(|r| r.name).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!((names.len(), &names), (n + 1, &sorted));
    drop(l);
    assert_eq!(all_keyed(dir), n + 1, "every record moved, and the log's own key");
    drop(open(dir));
    assert!(files_holding(&dir.join("db"), "u-bulk-1999").is_empty());
}
