//! Arbitrary-input robustness of the tlog-witness wire parsers a witness
//! or the ledger reads from the other side: `add-checkpoint` requests,
//! cosignature response lines, `text/x.tlog.size` bodies. No panic; bodies
//! over the limits are refused before parsing. proptest-driven (stable
//! toolchain); a long run: `PROPTEST_CASES=200000 cargo test --release -p
//! notary-bridge --test protocol_props`.
#![allow(missing_docs)]

use notary_bridge::protocol::{
    parse_add_checkpoint, parse_cosignature_lines, parse_size_body, MAX_REQUEST_BODY,
};
use proptest::collection::vec;
use proptest::prelude::*;
use verifier::note::Note;

/// Request-looking bodies: the protocol's pieces in arbitrary order.
fn request_like() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just("old ".to_owned()),
        Just("\n".to_owned()),
        Just("\n\n".to_owned()),
        Just("\u{2014} ".to_owned()),
        Just("example.com/log\n".to_owned()),
        "[0-9]{1,21}",
        "[A-Za-z0-9+/=]{0,60}",
        "\\PC{0,6}",
    ];
    vec(piece, 0..40).prop_map(|v| v.concat().into_bytes())
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn add_checkpoint_requests_never_panic(body in request_like(), raw in vec(any::<u8>(), 0..600)) {
        let _ = parse_add_checkpoint(&body);
        let _ = parse_add_checkpoint(&raw);
    }

    #[test]
    fn cosignature_lines_and_size_bodies_never_panic(body in request_like()) {
        let note = Note::parse(b"example.com/log\n1\nAAAA\n\n\xe2\x80\x94 example.com/log AAAAAAAA\n");
        if let Ok(note) = note {
            let _ = parse_cosignature_lines(&note, &body);
        }
        let _ = parse_size_body(&body);
    }
}

#[test]
fn oversized_requests_are_refused_before_parsing() {
    let body = vec![b'a'; MAX_REQUEST_BODY + 1];
    assert!(parse_add_checkpoint(&body).is_err());
}
