//! Strict JSON, events (client and service kinds) and leaves.
#![no_main]
use libfuzzer_sys::fuzz_target;
use verifier::jcs::{parse, Limits};

const LIMITS: Limits = Limits { max_bytes: 4 << 20, max_depth: 14, max_string: 64 * 1024 };

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = parse(data, &LIMITS) {
        let _ = verifier::entry::Event::from_value(v.clone(), false);
        let _ = verifier::entry::Event::from_value(v, true);
    }
    let _ = verifier::entry::parse_leaf(data);
});
