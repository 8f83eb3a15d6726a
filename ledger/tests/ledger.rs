//! The ledger end to end at the library level: append, prove, replay,
//! reject, restart.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use common::*;
use ledger::{Ledger, LedgerError, LedgerOptions};
use verifier::checkpoint::SignedCheckpoint;
use verifier::entry::Event;
use verifier::hash::{leaf_hash, root_from_leaf_hashes};
use verifier::note::NoteVerifier;
use verifier::proof::{verify_consistency, verify_inclusion};

/// Entries before a test's own: `new_ledger` registers the test issuer,
/// and every issuer registration is itself an entry (`registry_changed`).
const BASE: u64 = 1;

fn all_leaf_hashes(l: &Ledger, size: u64) -> Vec<verifier::Hash> {
    (0..size).map(|i| leaf_hash(&l.leaf(i).unwrap())).collect()
}

#[test]
fn receipts_prove_inclusion_under_a_signed_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let l = new_ledger(dir.path());
    let log = NoteVerifier::from_vkey(l.vkey()).unwrap();
    let batch: Vec<Event> = (0..10).map(|i| event(&format!("ev-{i}"), "contract-1")).collect();
    let receipts = l.append("t", batch).unwrap();
    assert_eq!(receipts.len(), 10);
    for (i, r) in receipts.iter().enumerate() {
        assert_eq!(r.index, BASE + i as u64);
        assert!(!r.replayed);
        let cp = SignedCheckpoint::verify(r.checkpoint.as_bytes(), &log).unwrap();
        assert_eq!(cp.checkpoint.size, r.tree_size);
        assert_eq!(leaf_hash(&l.leaf(r.index).unwrap()), r.leaf_hash);
        verify_inclusion(&r.leaf_hash, r.index, r.tree_size, &r.inclusion, &cp.checkpoint.root)
            .unwrap();
    }
    let status = l.status();
    assert_eq!(status.root, root_from_leaf_hashes(&all_leaf_hashes(&l, status.tree_size)));
}

#[test]
fn concurrent_appenders_share_group_commits_and_every_proof_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let l = new_ledger(dir.path());
    let handles: Vec<_> = (0..16)
        .map(|t| {
            let l = l.clone();
            std::thread::spawn(move || {
                let mut out = Vec::new();
                for b in 0..5 {
                    let batch = (0..7)
                        .map(|i| event(&format!("t{t}-b{b}-{i}"), &format!("c-{t}")))
                        .collect();
                    out.extend(l.append("t", batch).unwrap());
                }
                out
            })
        })
        .collect();
    let receipts: Vec<_> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    assert_eq!(receipts.len(), 16 * 5 * 7);
    let size = l.status().tree_size;
    assert_eq!(size, BASE + receipts.len() as u64);
    let mut indices: Vec<u64> = receipts.iter().map(|r| r.index).collect();
    indices.sort_unstable();
    assert_eq!(indices, (BASE..size).collect::<Vec<_>>());
    let leaves = all_leaf_hashes(&l, size);
    for r in &receipts {
        let root = root_from_leaf_hashes(&leaves[..r.tree_size as usize]);
        verify_inclusion(&r.leaf_hash, r.index, r.tree_size, &r.inclusion, &root).unwrap();
    }
    // Every earlier tree is consistent with the final one.
    let final_root = l.root_at(size).unwrap();
    for old in [1, 2, 3, 7, 64, size / 2, size - 1, size] {
        let proof = l.consistency_proof(old, size).unwrap();
        let old_root = root_from_leaf_hashes(&leaves[..old as usize]);
        verify_consistency(old, size, &old_root, &final_root, &proof).unwrap();
        assert_eq!(l.root_at(old).unwrap(), old_root);
    }
}

#[test]
fn resubmission_replays_and_changed_content_conflicts_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let l = new_ledger(dir.path());
    let first = l.append("t", vec![event("ev-1", "c-1")]).unwrap();
    let again = l.append("t", vec![event("ev-1", "c-1"), event("ev-2", "c-1")]).unwrap();
    assert!(again[0].replayed);
    assert_eq!(again[0].index, first[0].index);
    assert_eq!(again[0].leaf_hash, first[0].leaf_hash);
    assert_eq!(again[0].ledger_time, first[0].ledger_time);
    assert_eq!(again[1].index, BASE + 1);
    let size = l.status().tree_size;

    // Same id, other content, in a batch with a fresh event: nothing written.
    let changed = event("ev-1", "c-other");
    let err = l.append("t", vec![event("ev-3", "c-1"), changed]).unwrap_err();
    assert!(matches!(err, LedgerError::Conflict { position: 1, .. }), "{err}");
    assert_eq!(l.status().tree_size, size);

    // Another tenant may use the same event id.
    let other = l.append("tenant-b", vec![event_for("tenant-b", "ev-1", "c-1")]).unwrap();
    assert!(!other[0].replayed);
}

#[test]
fn bad_attestations_and_bad_batches_are_rejected_whole() {
    let dir = tempfile::tempdir().unwrap();
    let l = new_ledger(dir.path());
    let wrong_key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let forged = Event::from_value(event_json("ev-f", "c-1", "signed", &wrong_key), false).unwrap();
    let err = l.append("t", vec![event("ev-0", "c-1"), forged]).unwrap_err();
    assert!(matches!(err, LedgerError::Rejected { position: 1, .. }), "{err}");

    let mut unknown = event_json("ev-u", "c-1", "signed", &issuer_key());
    unknown["attestations"][0]["issuer"] = "nobody".into();
    let unknown = Event::from_value(unknown, false).unwrap();
    let err = l.append("t", vec![unknown]).unwrap_err();
    assert!(matches!(err, LedgerError::Rejected { position: 0, .. }), "{err}");

    let err = l.append("t", vec![event("ev-d", "c"), event("ev-d", "c")]).unwrap_err();
    assert!(matches!(err, LedgerError::Rejected { position: 1, .. }), "{err}");
    assert!(matches!(l.append("t", vec![]), Err(LedgerError::InvalidRequest(_))));
    assert!(matches!(
        l.append("bad tenant", vec![event("x", "c")]),
        Err(LedgerError::InvalidRequest(_))
    ));
    assert_eq!(l.status().tree_size, BASE);
}

#[test]
fn revoked_issuers_attest_no_more() {
    let dir = tempfile::tempdir().unwrap();
    let l = new_ledger(dir.path());
    l.append("t", vec![event("ev-1", "c")]).unwrap();
    l.revoke_issuer(ISSUER).unwrap();
    assert!(matches!(l.append("t", vec![event("ev-2", "c")]), Err(LedgerError::Rejected { .. })));
    // Re-adding a revoked name with any key is refused: names are not reused.
    let key = issuer_key().verifying_key();
    assert!(matches!(l.add_issuer(ISSUER, key.as_bytes()), Err(LedgerError::AlreadyExists(_))));
    let names: Vec<String> = l.issuers().unwrap().into_iter().map(|r| r.name).collect();
    assert_eq!(names, [ledger::LOG_ISSUER, ISSUER]);
    assert!(l.revoke_issuer(ledger::LOG_ISSUER).is_err());
    let other = ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]).verifying_key();
    assert!(l.add_issuer(ledger::LOG_ISSUER, other.as_bytes()).is_err());
}

#[test]
fn logged_events_replay_after_their_issuer_was_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let l = new_ledger(dir.path());
    let first = l.append("t", vec![event("ev-1", "c"), event("ev-2", "c")]).unwrap();
    l.revoke_issuer(ISSUER).unwrap();
    // Registry entries (the issuer's registration and revocation) count too.
    let size = l.status().tree_size;
    // Alone, and in a batch: the original receipts, nothing written.
    let again = l.append("t", vec![event("ev-2", "c")]).unwrap();
    assert!(again[0].replayed);
    assert_eq!((again[0].index, again[0].leaf_hash), (first[1].index, first[1].leaf_hash));
    assert_eq!(again[0].ledger_time, first[1].ledger_time);
    let both = l.append("t", vec![event("ev-1", "c"), event("ev-2", "c")]).unwrap();
    assert!(both.iter().all(|r| r.replayed));
    assert_eq!(l.status().tree_size, size, "nothing written");
    // A new event by the revoked issuer beside a replay: refused, and the
    // error names its position in the whole batch.
    match l.append("t", vec![event("ev-1", "c"), event("ev-3", "c")]) {
        Err(LedgerError::Rejected { position: 1, .. }) => {}
        other => panic!("{other:?}"),
    }
    // A replay with other content is still a conflict.
    let mut changed = event_json("ev-1", "c", "signed", &issuer_key());
    changed["actor"]["display"] = "李*".into();
    let changed = Event::from_value(changed, false).unwrap();
    assert!(matches!(l.append("t", vec![changed]), Err(LedgerError::Conflict { position: 0, .. })));
    assert_eq!(l.status().tree_size, size);
}

#[test]
fn document_indexes_find_entries_per_tenant_and_by_hash() {
    let dir = tempfile::tempdir().unwrap();
    let l = new_ledger(dir.path());
    l.append(
        "t1",
        vec![
            event_for("t1", "a", "doc"),
            event_for("t1", "b", "doc-2"),
            event_for("t1", "c", "doc"),
        ],
    )
    .unwrap();
    l.append("t2", vec![event_for("t2", "a", "doc")]).unwrap();
    assert_eq!(l.document_entries("t1", "doc").unwrap(), vec![BASE, BASE + 2]);
    assert_eq!(l.document_entries("t1", "do").unwrap(), Vec::<u64>::new());
    assert_eq!(l.document_entries("t2", "doc").unwrap(), vec![BASE + 3]);
    let h = verifier::Hash::digest(b"doc");
    assert_eq!(l.entries_by_document_hash(&h).unwrap(), vec![BASE, BASE + 2, BASE + 3]);
}

#[test]
fn restart_resumes_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let (root, size) = {
        let l = new_ledger(dir.path());
        for b in 0..5 {
            l.append("t", (0..11).map(|i| event(&format!("{b}-{i}"), "c")).collect()).unwrap();
        }
        assert!(l.is_accepting());
        l.close();
        assert!(!l.is_accepting());
        let s = l.status();
        (s.root, s.tree_size)
    };
    let l = Ledger::open(dir.path(), LedgerOptions::default()).unwrap();
    assert_eq!(l.status().tree_size, size);
    assert_eq!(l.status().root, root);
    let r = l.append("t", vec![event("after", "c"), event("0-0", "c")]).unwrap();
    assert_eq!(r[0].index, size);
    assert!(r[1].replayed && r[1].index == BASE);
    let proof = l.consistency_proof(size, size + 1).unwrap();
    verify_consistency(size, size + 1, &root, &l.status().root, &proof).unwrap();
    assert!(matches!(l.inclusion_proof(0, size + 2), Err(LedgerError::InvalidRequest(_))));
    assert!(matches!(l.leaf(size + 1), Err(LedgerError::NotFound(_))));
}

#[test]
fn issuer_keys_with_a_small_order_component_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let l = new_ledger(dir.path());
    let good = issuer_key().verifying_key().to_edwards();
    let torsion = curve25519_dalek::constants::EIGHT_TORSION[1];
    let mixed = (good + torsion).compress().to_bytes();
    assert!(matches!(l.add_issuer("mixed", &mixed), Err(LedgerError::InvalidRequest(_))));
    let small = torsion.compress().to_bytes();
    assert!(matches!(l.add_issuer("small", &small), Err(LedgerError::InvalidRequest(_))));
    assert!(l.issuer("mixed").unwrap().is_none());
}
