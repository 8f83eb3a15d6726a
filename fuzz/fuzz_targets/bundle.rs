//! Evidence bundles: parse and full verification with default options.
#![no_main]
use libfuzzer_sys::fuzz_target;
use verifier::bundle::{verify_bundle_bytes, VerifyOptions};

fuzz_target!(|data: &[u8]| {
    let _ = verify_bundle_bytes(data, &VerifyOptions::default());
});
