//! Arbitrary-input robustness of the parsers of untrusted bytes that
//! note_props.rs does not cover: strict JSON and events, leaves, bundles,
//! trust policies, RFC 3161 DER, proofs. Each property: no panic, and the
//! documented size limits hold (a parser refuses rather than allocates).
//!
//! These are proptest-driven, not coverage-guided: the toolchain here is
//! stable (cargo-fuzz needs nightly). Counts: `PROPTEST_CASES` (default
//! 256 per property in `./scripts/test`); a long run is
//! `PROPTEST_CASES=200000 cargo test --release -p evidence-verifier --test parser_props`.

use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{json, Value};
use verifier::bundle::{verify_bundle_bytes, Bundle, VerifyOptions};
use verifier::entry::{parse_leaf, Event};
use verifier::jcs::{self, Limits};
use verifier::policy::TrustPolicy;
use verifier::proof::{verify_consistency, verify_inclusion};
use verifier::tsa::{parse_timestamp_response, verify_timestamp_token};
use verifier::Hash;

const LIMITS: Limits = Limits { max_bytes: 1 << 16, max_depth: 14, max_string: 4096 };

/// JSON-looking text: the grammar's pieces, so cases get past the first byte.
fn json_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just(",".to_owned()),
        Just(":".to_owned()),
        Just("\"event_id\"".to_owned()),
        Just("\"kind\"".to_owned()),
        Just("\"signed\"".to_owned()),
        Just("\"attestations\"".to_owned()),
        Just("\\u0000".to_owned()),
        Just("\\ud800".to_owned()),
        Just("1e400".to_owned()),
        Just("9007199254740993".to_owned()),
        Just("-0".to_owned()),
        Just("null".to_owned()),
        "\"[A-Za-z0-9._:-]{0,12}\"",
        "[0-9]{1,20}",
        "\\PC{0,6}",
    ];
    vec(piece, 0..40).prop_map(|v| v.concat())
}

/// A valid-looking event with fields replaced by arbitrary JSON values.
fn event_like() -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "\\PC{0,40}".prop_map(Value::String),
        "[a-f0-9]{64}".prop_map(Value::String),
    ];
    let value = scalar.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec(("[a-z_]{1,12}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    });
    let fields = [
        "event_id",
        "document_id",
        "kind",
        "document_hash",
        "actor",
        "attestations",
        "timestamp_token",
        "event_timestamp_token",
        "extra",
    ];
    vec((0..fields.len(), value), 0..12).prop_map(move |kv| {
        let mut base = json!({
            "event_id": "e-1", "document_id": "d-1", "kind": "signed",
            "document_hash": "ab".repeat(32),
            "actor": {"id": "u-1", "display": "王*", "commitment": "cd".repeat(32)},
            "attestations": [],
        });
        for (i, v) in kv {
            base[fields[i]] = v;
        }
        base
    })
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn strict_json_and_events_never_panic(s in json_like()) {
        if let Ok(v) = jcs::parse(s.as_bytes(), &LIMITS) {
            let _ = Event::from_value(v.clone(), false);
            let _ = Event::from_value(v, true);
        }
        let _ = parse_leaf(s.as_bytes());
    }

    #[test]
    fn strict_json_refuses_what_is_over_the_limits(depth in 15usize..200) {
        let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        prop_assert!(jcs::parse(deep.as_bytes(), &LIMITS).is_err());
    }

    #[test]
    fn events_with_arbitrary_fields_never_panic(v in event_like()) {
        let _ = Event::from_value(v.clone(), false);
        let leaf = serde_json::to_vec(&json!({"event": v, "ledger_time": "2026-01-01T00:00:00.000000Z", "tenant": "t"})).unwrap_or_default();
        let _ = parse_leaf(&leaf);
    }

    #[test]
    fn bundles_never_panic(s in json_like(), bytes in vec(any::<u8>(), 0..400)) {
        let _ = Bundle::parse(s.as_bytes());
        let _ = Bundle::parse(&bytes);
        let report = verify_bundle_bytes(s.as_bytes(), &VerifyOptions::default());
        prop_assert!(!report.passed);
    }

    #[test]
    fn trust_policies_never_panic(s in "(log|witness|quorum|tsa|issuer|#| |\\n|[A-Za-z0-9+/=.:-]{1,20}){0,30}") {
        let _ = TrustPolicy::parse(&s);
    }

    #[test]
    fn timestamp_der_never_panics(bytes in vec(any::<u8>(), 0..2000)) {
        let _ = verify_timestamp_token(&bytes, &Hash::digest(b"x"), &[], 0, 300);
        let _ = parse_timestamp_response(&bytes);
    }

    #[test]
    fn timestamp_der_with_a_plausible_head_never_panics(tail in vec(any::<u8>(), 0..600), len in 0u16..2000) {
        // SEQUENCE with a long-form length, then arbitrary content.
        let mut der = vec![0x30, 0x82];
        der.extend_from_slice(&len.to_be_bytes());
        der.extend_from_slice(&tail);
        let _ = verify_timestamp_token(&der, &Hash::digest(b"x"), &[], 0, 300);
        let _ = parse_timestamp_response(&der);
    }

    #[test]
    fn proofs_with_arbitrary_numbers_never_panic(
        index in any::<u64>(),
        size in any::<u64>(),
        old in any::<u64>(),
        hashes in vec(any::<[u8; 32]>(), 0..70),
    ) {
        let proof: Vec<Hash> = hashes.into_iter().map(Hash).collect();
        let h = Hash::digest(b"leaf");
        let _ = verify_inclusion(&h, index, size, &proof, &h);
        let _ = verify_consistency(old, size, &h, &h, &proof);
        // No proof over 63 hashes is accepted for a 64-bit tree.
        if proof.len() > 64 {
            prop_assert!(verify_inclusion(&h, index, size, &proof, &h).is_err());
        }
    }
}
