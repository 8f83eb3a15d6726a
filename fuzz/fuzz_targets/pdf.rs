//! PDF signatures: structure, /ByteRange rules and CMS, with no trust.
#![no_main]
use libfuzzer_sys::fuzz_target;
use verifier::pdf::verify_pdf;
use verifier::policy::TrustPolicy;

fuzz_target!(|data: &[u8]| {
    let _ = verify_pdf(data, &TrustPolicy::default(), 1_800_000_000);
});
