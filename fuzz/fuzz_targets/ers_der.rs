//! RFC 4998 evidence records (DER) and their verification over some data.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = verifier::ers::decode_record(data);
    let _ = verifier::ers::verify_evidence_record(data, &[b"x".to_vec()], &[], 0);
    let _ = verifier::ers::verify_evidence_record_timestamps(data, &[], 0);
});
