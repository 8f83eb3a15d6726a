//! Evidence v2 at the ledger level: erasure destroys a document's key and
//! openings in one batch, a purge cut short is redone at the next open,
//! backups do not carry the master key, and a read-only open never makes
//! one (docs/durability.md "Backups and erasure", docs/api.md "Erasure").
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use common::*;
use ledger::backup::backup;
use ledger::store::{TAG_IDENTITY, TAG_RECORD};
use ledger::vault::master_key_path;
use ledger::{Ledger, LedgerError, LedgerOptions, Opening};
use verifier::entry::Event;

/// An event of `doc` with a real identity (the attestation v2 does not
/// cover it, so adding it keeps the signature valid).
fn with_identity(id: &str, doc: &str) -> Event {
    let mut v = event_json(id, doc, "signed", &issuer_key());
    v["identity"] = serde_json::json!({"name": "测试人", "id_type": "resident_id",
        "id_number": "110101199003071234"});
    Event::from_value(v, false).unwrap()
}

#[test]
fn erasure_destroys_key_and_openings_and_a_cut_short_purge_is_redone() {
    let dir = tempfile::tempdir().unwrap();
    let l = new_ledger(dir.path());
    let r =
        l.append(TENANT, vec![with_identity("e-1", "doc"), with_identity("e-2", "doc")]).unwrap();
    l.append(TENANT, vec![event("k-1", "kept")]).unwrap();
    let erased: Vec<u64> = r.iter().map(|r| r.index).collect();
    for &i in &erased {
        assert!(matches!(l.opening(i).unwrap(), Opening::Record { identity: Some(_), .. }));
    }
    assert!(l.wrapped_document_key(TENANT, "doc").unwrap().is_some());

    let receipt = l.erase_document(TENANT, "doc", "request #1", "tok-admin").unwrap();
    for &i in &erased {
        assert_eq!(l.opening(i).unwrap(), Opening::Erased);
        assert!(l.sealed_private(i, TAG_RECORD).unwrap().is_none());
        assert!(l.sealed_private(i, TAG_IDENTITY).unwrap().is_none());
    }
    assert!(l.wrapped_document_key(TENANT, "doc").unwrap().is_none());
    // The erasure entry opens, and names what it erased.
    let Opening::Record { record, .. } = l.opening(receipt.index).unwrap() else { panic!() };
    let claim = &record["event"]["attestations"][0]["claim"]["erasure"];
    assert_eq!(claim["entries"], 2);
    assert_eq!(claim["reason"], "request #1");
    // Nothing more for the document; a second erasure is refused; the
    // other document is untouched.
    let again = l.append(TENANT, vec![event("e-3", "doc")]).unwrap_err();
    assert!(matches!(again, LedgerError::Gone(_)), "{again}");
    let replay = l.append(TENANT, vec![with_identity("e-1", "doc")]);
    assert!(matches!(replay, Err(LedgerError::Gone(_))), "{replay:?}");
    assert!(matches!(
        l.erase_document(TENANT, "doc", "again", "tok"),
        Err(LedgerError::AlreadyExists(_))
    ));
    assert!(matches!(l.erase_document(TENANT, "nope", "x", "tok"), Err(LedgerError::NotFound(_))));
    assert!(matches!(l.opening(r[0].index + 2).unwrap(), Opening::Record { .. }));

    // A resubmission of an erased event with other content is answered
    // as the same content is: its idempotency record keeps no content.
    let mut other = with_identity("e-1", "doc");
    other.raw["identity"]["id_number"] = serde_json::json!("110101199003075678");
    let other = Event::from_value(other.raw, false).unwrap();
    let guess = l.append(TENANT, vec![other]);
    assert!(matches!(guess, Err(LedgerError::Gone(_))), "{guess:?}");

    // The erasure's commit recorded the service's clean-up; the service
    // purges after it. Until it is done, open leaves the purge to it; a
    // crash after the clean-up leaves the mark, and the next open purges.
    let pending = l.pending_cleanups().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].tenant.as_str(), pending[0].documents.clone()),
        (TENANT, vec!["doc".into()])
    );
    assert!(l.purge_pending().unwrap());
    l.close();
    drop(l);
    let l = Ledger::open(dir.path(), LedgerOptions::default()).unwrap();
    assert!(l.purge_pending().unwrap(), "the clean-up comes first");
    let pending = l.pending_cleanups().unwrap();
    l.finish_cleanup(&pending[0]).unwrap();
    assert!(l.pending_cleanups().unwrap().is_empty());
    l.close();
    drop(l);
    let l = Ledger::open(dir.path(), LedgerOptions::default()).unwrap();
    assert!(!l.purge_pending().unwrap());
    assert_eq!(l.opening(erased[0]).unwrap(), Opening::Erased);
}

#[test]
fn backups_leave_the_master_key_behind_and_read_only_opens_make_none() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("live");
    let l = new_ledger(&data);
    l.append(TENANT, vec![with_identity("b-1", "doc")]).unwrap();
    l.close();
    drop(l);
    let bk = tmp.path().join("backup");
    let copy = backup(&data, &bk, &[]).unwrap();
    assert!(copy.audit.is_clean(), "{:?}", copy.audit.findings);
    assert!(master_key_path(&data).exists());
    assert!(!master_key_path(&bk).exists(), "a backup holds ciphertexts, not the key");
    // Looking at the backup (read-only) does not make a key for it either.
    let ro = Ledger::open_read_only(&bk).unwrap();
    assert!(ro.leaf(0).is_ok());
    assert!(ro.opening(copy.tree_size - 1).is_err(), "no key, no opening");
    drop(ro);
    assert!(!master_key_path(&bk).exists());
}

#[test]
fn master_key_rotation_rewraps_every_key_and_recovers_from_a_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("live");
    let l = new_ledger(&data);
    let r = l.append(TENANT, vec![with_identity("m-1", "doc")]).unwrap();
    let index = r[0].index;
    l.close();
    drop(l);
    let old_key = std::fs::read(master_key_path(&data)).unwrap();
    // A copy taken before the rotation (a backup, say), with its old key.
    let before = tmp.path().join("before");
    backup(&data, &before, &[]).unwrap();

    let n = ledger::rotate_master_key(&data).unwrap();
    assert!(n >= 2, "the index key and the document key: {n}");
    // Epoch 1's key replaces the file made at init, which is gone.
    let epoch1 = ledger::epochs::epoch_path(&data, 1, false);
    assert!(!master_key_path(&data).exists());
    let new_key = std::fs::read(&epoch1).unwrap();
    assert_ne!(old_key, new_key);
    let l = Ledger::open(&data, LedgerOptions::default()).unwrap();
    assert!(matches!(l.opening(index).unwrap(), Opening::Record { identity: Some(_), .. }));
    l.close();
    drop(l);
    // The new key does not open what was wrapped under the old one.
    std::fs::create_dir_all(master_key_path(&before).parent().unwrap()).unwrap();
    let before_epoch1 = ledger::epochs::epoch_path(&before, 1, false);
    std::fs::write(&before_epoch1, &new_key).unwrap();
    std::fs::set_permissions(&before_epoch1, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .unwrap();
    assert!(Ledger::open_read_only(&before).unwrap().opening(index).is_err());

    // Cut after the re-wrap, before the old key is destroyed: the next
    // writable open finishes it (in the background).
    ledger::rotate_master_key_prepare(&data).unwrap();
    assert!(epoch1.exists(), "epoch 1 is held until retired");
    let l = Ledger::open(&data, LedgerOptions::default()).unwrap();
    let start = std::time::Instant::now();
    while !l.master_key_status().unwrap().retiring_epochs.is_empty() {
        assert!(start.elapsed() < std::time::Duration::from_secs(60), "never retired");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!epoch1.exists());
    assert!(ledger::epochs::epoch_path(&data, 2, false).exists());
    assert!(matches!(l.opening(index).unwrap(), Opening::Record { .. }));
}

#[test]
fn subject_erasure_clears_the_subject_from_every_index_and_leaves_no_oracle() {
    let dir = tempfile::tempdir().unwrap();
    let l = new_ledger(dir.path());
    l.append(TENANT, vec![with_identity("s-1", "doc-a"), with_identity("s-2", "doc-b")]).unwrap();
    let doc_a = l.document_key_id(TENANT, "doc-a").unwrap();
    assert_eq!(l.subject_documents(TENANT, "u-9").unwrap(), vec!["doc-a", "doc-b"]);
    // Before: the idempotency record tells a right guess from a wrong one.
    let mut wrong = with_identity("s-1", "doc-a");
    wrong.raw["identity"]["id_number"] = serde_json::json!("110101199003075678");
    let wrong = Event::from_value(wrong.raw, false).unwrap();
    assert!(l.append(TENANT, vec![with_identity("s-1", "doc-a")]).unwrap()[0].replayed);
    let before = l.append(TENANT, vec![wrong.clone()]);
    assert!(matches!(before, Err(LedgerError::Conflict { .. })), "{before:?}");

    l.erase_subject(TENANT, "u-9", "request #2", "tok-admin").unwrap();
    assert!(l.subject_documents(TENANT, "u-9").unwrap().is_empty());
    for guess in [with_identity("s-1", "doc-a"), wrong] {
        let got = l.append(TENANT, vec![guess]);
        assert!(matches!(&got, Err(LedgerError::Gone(m)) if m.contains("erased")), "{got:?}");
    }
    assert_eq!(l.pending_cleanups().unwrap()[0].actor_id.as_deref(), Some("u-9"));
    l.close();
    drop(l);
    let store = ledger::store::Store::open_read_only(&dir.path().join("db")).unwrap();
    let entries = store.doc_index(&doc_a).unwrap();
    assert!(!entries.is_empty());
    for e in entries {
        assert_eq!(e.subject_id, None, "entry {}: the subject id left the document index", e.index);
        assert!(!e.erased, "the record stays");
    }
}
