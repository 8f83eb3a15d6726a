//! The store audit: clean on a healthy store; after a leaf and a hash node
//! are rewritten through RocksDB itself (so its block checksums see
//! nothing), it names both — and only what follows from them.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use common::*;
use ledger::audit::audit_dir;
use tlog_tiles::tlog;

const CFS: [&str; 16] = [
    "leaves", "hashes", "idem", "docs", "dochash", "meta", "issuers", "tokens", "aux", "tsas",
    "records", "dockeys", "erased", "docidx", "hashidx", "subjidx",
];

/// Rewrites one value through RocksDB, as a buggy writer or a tamperer would.
fn rewrite(dir: &std::path::Path, cf: &str, key: u64, change: impl FnOnce(&mut Vec<u8>)) {
    let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), dir.join("db"), CFS).unwrap();
    let handle = db.cf_handle(cf).unwrap();
    let mut value = db.get_cf(handle, key.to_be_bytes()).unwrap().unwrap();
    change(&mut value);
    db.put_cf(handle, key.to_be_bytes(), &value).unwrap();
    db.flush_cf(handle).unwrap(); // into an SST, with fresh checksums
}

#[test]
fn audit_names_a_rewritten_leaf_and_a_rewritten_hash_node() {
    let dir = tempfile::tempdir().unwrap();
    let l = new_ledger(dir.path());
    // The registry's own entries (registry_changed) come first.
    let base = l.status().tree_size;
    for b in 0..5 {
        let batch = (0..8).map(|i| event(&format!("a-{b}-{i}"), &format!("doc-{b}"))).collect();
        l.append("t", batch).unwrap();
    }
    let status = l.status();
    l.close();
    drop(l);

    let r = audit_dir(dir.path(), &[]).unwrap();
    assert!(r.is_clean(), "{:?}", r.findings);
    let size = base + 40;
    assert_eq!((r.tree_size, r.leaves, r.root), (size, size, status.root));
    assert_eq!(r.stored_hashes, tlog::stored_hash_count(size));
    assert_eq!(r.checkpoints, 1);
    // Every v2 record was opened with the master key and matched its leaf.
    assert!(r.index_records >= 40, "{}", r.index_records);

    // One character of the record commitment of event a-2-1 (still
    // canonical JSON), and one byte of the stored hash of leaves 20..=23
    // (level 2, node 5).
    let target = base + 17;
    rewrite(dir.path(), "leaves", target, |leaf| {
        let at = leaf.windows(14).position(|w| w == b"\"commitment\":\"").unwrap() + 14;
        leaf[at] = if leaf[at] == b'A' { b'B' } else { b'A' };
    });
    let node = tlog::stored_hash_index(2, 5);
    rewrite(dir.path(), "hashes", node, |h| h[7] ^= 0x01);

    let r = audit_dir(dir.path(), &[]).unwrap();
    let found: Vec<String> = r.findings.iter().map(|f| f.to_string()).collect();
    let hashed = tlog::stored_hash_index(0, target);
    assert!(
        found[0].starts_with(&format!(
            "stored_hash: stored hash {hashed} (the leaf hash of leaf {target})"
        )),
        "{found:#?}"
    );
    assert!(
        // A v3 record is sealed before its commitment exists (AAD without
        // it): it decrypts, and then does not open the rewritten leaf.
        found[1].starts_with(&format!("record: leaf {target}: the record does not open the leaf")),
        "{found:#?}"
    );
    assert!(
        found[2].starts_with(&format!(
            "stored_hash: stored hash {node} (level 2, node 5: leaves 20..=23)"
        )),
        "{found:#?}"
    );
    assert!(found[3].starts_with("checkpoint: the head's checkpoint"), "{found:#?}");
    assert!(found[4].starts_with("tree_state: meta/tree says root"), "{found:#?}");
    // Nothing else: the ancestors of both are consequences, not findings.
    assert_eq!(r.findings_total, 5, "{found:#?}");
}

#[test]
fn audit_finds_a_missing_index_record_and_a_missing_leaf() {
    let dir = tempfile::tempdir().unwrap();
    let l = new_ledger(dir.path());
    let base = l.status().tree_size;
    l.append("t", (0..6).map(|i| event(&format!("m-{i}"), "doc")).collect()).unwrap();
    l.close();
    drop(l);
    {
        let db =
            rocksdb::DB::open_cf(&rocksdb::Options::default(), dir.path().join("db"), CFS).unwrap();
        // Idempotency keys are keyed hashes now: drop the last one.
        let idem = db.cf_handle("idem").unwrap();
        let (key, _) = db.iterator_cf(idem, rocksdb::IteratorMode::End).next().unwrap().unwrap();
        db.delete_cf(idem, key).unwrap();
        db.delete_cf(db.cf_handle("leaves").unwrap(), (base + 4).to_be_bytes()).unwrap();
    }
    let r = audit_dir(dir.path(), &[]).unwrap();
    let found: Vec<String> = r.findings.iter().map(|f| f.to_string()).collect();
    assert!(found.iter().any(|f| f.starts_with("index: idem holds")), "{found:#?}");
    let missing = format!("leaf: leaf {} is missing", base + 4);
    assert!(found.iter().any(|f| f.starts_with(&missing)), "{found:#?}");
    assert!(!r.is_clean());
}

/// A data block of the leaves that fails its checksum (disk rot, a torn
/// copy) is a finding of the audit, not an error of it: the operator's
/// alert on findings fires, and the rest of the store is still checked.
#[test]
fn a_corrupt_block_is_a_finding_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let l = new_ledger(dir.path());
    for b in 0..5 {
        let batch = (0..8).map(|i| event(&format!("c-{b}-{i}"), &format!("doc-{b}"))).collect();
        l.append("t", batch).unwrap();
    }
    l.close();
    drop(l);
    let db_dir = dir.path().join("db");
    let sst = {
        let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), &db_dir, CFS).unwrap();
        for cf in CFS {
            db.flush_cf(db.cf_handle(cf).unwrap()).unwrap();
        }
        let files = db.live_files().unwrap();
        let leaves = files.iter().find(|f| f.column_family_name == "leaves").expect("a leaves SST");
        db_dir.join(leaves.name.trim_start_matches('/'))
    };
    // Flip bytes inside the file's first data block.
    let mut bytes = std::fs::read(&sst).unwrap();
    for b in &mut bytes[40..48] {
        *b ^= 0x5a;
    }
    std::fs::write(&sst, &bytes).unwrap();

    let report = audit_dir(dir.path(), &[]).expect("the audit reports, it does not fail");
    assert!(!report.is_clean());
    let text = report.findings.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
    assert!(text.contains("the leaves cannot be read past entry 0"), "{text}");
    assert!(text.to_lowercase().contains("corrupt"), "{text}");
}
