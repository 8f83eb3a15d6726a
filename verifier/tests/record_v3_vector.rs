//! The record v3 test vector of docs/evidence-v2.md ("Record v3"): every
//! value printed there is recomputed here from the inputs printed there,
//! and must appear in the document exactly as written.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

use base64::Engine as _;
use serde_json::{json, Value};
use verifier::hash::leaf_hash;
use verifier::jcs::to_canonical;
use verifier::v2::{leaf_bytes, CommitmentAlg};
use verifier::v3::{
    check_partial, disclosure, disclosure_digest, field_salt, partial_view, record_commitment,
    record_value, Chain, LOOKUP_DISCLOSED,
};
use verifier::Hash;

fn doc() -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/evidence-v2.md");
    std::fs::read_to_string(p).expect("docs/evidence-v2.md")
}

fn event() -> Value {
    json!({"event_id": "ev-1", "document_id": "contract-1", "kind": "registered",
        "document_hash": "aa".repeat(32),
        "actor": {"id": "u-1", "display": "王*", "commitment": "bb".repeat(32)},
        "attestations": []})
}

#[test]
fn the_documented_vector_holds() {
    let b64 = base64::engine::general_purpose::STANDARD;
    let salt = [7u8; 32];
    let first = Chain { prev: None, seq: 0 };
    let record = record_value(&event(), "acme", &salt, None, &first);
    let commitment = record_commitment(&record).unwrap();
    let time = "2026-01-01T00:00:00.000000Z";
    let leaf = leaf_bytes(&commitment, CommitmentAlg::SdV3, time);
    let second = Chain { prev: Some(leaf_hash(&leaf)), seq: 1 };
    let hash_disclosure = disclosure(&salt, "event.document_hash", json!("aa".repeat(32)));
    let lines = [
        format!(
            "field salt of event.document_hash = {}",
            b64.encode(field_salt(&salt, "event.document_hash"))
        ),
        format!("disclosure = {}", String::from_utf8(to_canonical(&hash_disclosure)).unwrap()),
        format!("its digest = {}", disclosure_digest(&hash_disclosure).to_base64()),
        format!("commitment = {}", commitment.to_base64()),
        format!("leaf = {}", String::from_utf8(leaf.clone()).unwrap()),
        format!("leaf hash = {}", leaf_hash(&leaf).to_base64()),
        format!(
            "the next entry's chain = {}",
            String::from_utf8(to_canonical(&second.value())).unwrap()
        ),
    ];
    let text = doc();
    for l in &lines {
        assert!(text.contains(l.as_str()), "docs/evidence-v2.md lacks the line:\n{l}");
    }
    // The lookup's view of it opens the leaf's commitment.
    let view = partial_view(&record, &LOOKUP_DISCLOSED).unwrap();
    let shown = check_partial(&commitment, &view["disclosures"], &view["digests"]).unwrap();
    assert_eq!(shown["event.kind"], "registered");
    assert_ne!(commitment, Hash([0; 32]));
}
