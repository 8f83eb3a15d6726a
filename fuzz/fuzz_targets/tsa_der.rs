//! RFC 3161 timestamp tokens and responses (DER), and SM2 certificate
//! chains (GM/T 0015).
#![no_main]
use libfuzzer_sys::fuzz_target;
use verifier::Hash;

fuzz_target!(|data: &[u8]| {
    let _ = verifier::tsa::verify_timestamp_token(data, &Hash::digest(b"x"), &[], 0, 300);
    let _ = verifier::tsa::parse_timestamp_response(data);
    let over = verifier::tsa::Imprinted::Bytes(b"x");
    let _ = verifier::tsa::verify_timestamp_token_over(data, over, &[], 0, 300);
    let _ = verifier::x509sm2::verify_sm2_chain(&[data], &[], 0);
});
