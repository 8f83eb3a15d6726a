//! RFC 9162 inclusion and consistency proof checks on arbitrary numbers
//! and hashes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use verifier::proof::{verify_consistency, verify_inclusion};
use verifier::Hash;

fuzz_target!(|data: &[u8]| {
    if data.len() < 16 {
        return;
    }
    let a = u64::from_be_bytes(data[..8].try_into().unwrap_or_default());
    let b = u64::from_be_bytes(data[8..16].try_into().unwrap_or_default());
    let proof: Vec<Hash> =
        data[16..].chunks_exact(32).map(|c| Hash(c.try_into().unwrap_or([0; 32]))).collect();
    let h = Hash::digest(data);
    let _ = verify_inclusion(&h, a, b, &proof, &h);
    let _ = verify_consistency(a, b, &h, &h, &proof);
});
