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

/// The lines of the `sm3-jcs-sd/v3` vector (docs/evidence-v2.md, "Record
/// v3 on an sm2-sm3 log"): the same inputs as the SHA-256 vector, every
/// per-field salt, every digest, the commitment, the leaf and its SM3 leaf
/// hash. tests/sm_vectors.rs recomputes them with OpenSSL's SM3 and HMAC-SM3.
fn sm3_vector_lines() -> Vec<String> {
    use verifier::suite::Suite;
    use verifier::v3::{
        disclosure_digest_in, disclosure_in, field_salt_in, record_commitment_in, SdHash, NAMES,
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let salt = [7u8; 32];
    let first = Chain { prev: None, seq: 0 };
    let record = record_value(&event(), "acme", &salt, None, &first);
    let commitment = record_commitment_in(SdHash::Sm3, &record).unwrap();
    let leaf = leaf_bytes(&commitment, CommitmentAlg::SdV3Sm3, "2026-01-01T00:00:00.000000Z");
    let all = verifier::v3::disclosures_in(SdHash::Sm3, &record).unwrap();
    let mut lines = Vec::new();
    for name in NAMES {
        let d = disclosure_in(SdHash::Sm3, &salt, name, all[name][2].clone());
        assert_eq!(d, all[name]);
        lines.push(format!(
            "{name}: salt {} digest {}",
            b64.encode(field_salt_in(SdHash::Sm3, &salt, name)),
            disclosure_digest_in(SdHash::Sm3, &d).to_base64()
        ));
    }
    let hd = &all["event.document_hash"];
    lines.push(format!("disclosure = {}", String::from_utf8(to_canonical(hd)).unwrap()));
    lines.push(format!("sm3 commitment = {}", commitment.to_base64()));
    lines.push(format!("sm3 leaf = {}", String::from_utf8(leaf.clone()).unwrap()));
    lines.push(format!("sm3 leaf hash = {}", Suite::Sm2Sm3.leaf_hash(&leaf).to_base64()));
    lines
}

#[test]
fn the_documented_sm3_vector_holds() {
    use verifier::v3::{check_partial_in, partial_view_in, SdHash};
    let text = doc();
    let lines = sm3_vector_lines();
    if std::env::var_os("EL_PRINT_VECTORS").is_some() {
        println!("{}", lines.join("\n"));
    }
    for l in &lines {
        assert!(text.contains(l.as_str()), "docs/evidence-v2.md lacks the line:\n{l}");
    }
    let record = record_value(&event(), "acme", &[7; 32], None, &Chain { prev: None, seq: 0 });
    let c = verifier::v3::record_commitment_in(SdHash::Sm3, &record).unwrap();
    let view = partial_view_in(SdHash::Sm3, &record, &LOOKUP_DISCLOSED).unwrap();
    let shown = check_partial_in(SdHash::Sm3, &c, &view["disclosures"], &view["digests"]).unwrap();
    assert_eq!(shown["event.document_hash"], "aa".repeat(32));
    assert_ne!(c, record_commitment(&record).unwrap(), "SM3 and SHA-256 commitments differ");
}
