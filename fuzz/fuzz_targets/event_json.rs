//! Strict JSON, events (client and service kinds), leaves of both
//! versions, and evidence v2 and v3 records and identity openings.
#![no_main]
use libfuzzer_sys::fuzz_target;
use verifier::jcs::{parse, Limits};

const LIMITS: Limits = Limits { max_bytes: 4 << 20, max_depth: 14, max_string: 64 * 1024 };

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = parse(data, &LIMITS) {
        let _ = verifier::entry::Event::from_value(v.clone(), false);
        let _ = verifier::entry::Event::from_value(v.clone(), true);
        // A record must open only a leaf made from its own commitment,
        // v2 (the whole salted record) and v3 (per-field digests).
        let leaf = verifier::v2::LeafV2 {
            commitment: verifier::v2::record_commitment(&v),
            alg: verifier::v2::CommitmentAlg::SaltedV2,
            ledger_time: "2026-01-01T00:00:00.000000Z".into(),
        };
        if let Ok((_, rec)) = verifier::v2::open_leaf(&leaf, &v) {
            let _ = verifier::v2::open_identity(&rec, &v);
        }
        if let Ok(commitment) = verifier::v3::record_commitment(&v) {
            let leaf = verifier::v2::LeafV2 {
                commitment,
                alg: verifier::v2::CommitmentAlg::SdV3,
                ledger_time: "2026-01-01T00:00:00.000000Z".into(),
            };
            if let Ok((_, rec)) = verifier::v2::open_leaf(&leaf, &v) {
                let _ = verifier::v2::open_identity(&rec, &v);
            }
        }
    }
    let _ = verifier::entry::parse_leaf(data);
    let _ = verifier::v2::parse_any_leaf(data);
});
