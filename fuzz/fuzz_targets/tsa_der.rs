//! RFC 3161 timestamp tokens and responses (DER).
#![no_main]
use libfuzzer_sys::fuzz_target;
use verifier::Hash;

fuzz_target!(|data: &[u8]| {
    let _ = verifier::tsa::verify_timestamp_token(data, &Hash::digest(b"x"), &[], 0, 300);
    let _ = verifier::tsa::parse_timestamp_response(data);
});
