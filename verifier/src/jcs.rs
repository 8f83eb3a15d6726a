//! Strict JSON input and RFC 8785 (JCS) canonical output.
//! STUB: signatures fixed; bodies to be written.

use serde_json::Value;

use crate::VerifyError;

/// Limits applied while parsing untrusted JSON.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Maximum input size in bytes.
    pub max_bytes: usize,
    /// Maximum nesting depth of arrays and objects.
    pub max_depth: usize,
    /// Maximum length of one string, in bytes after unescaping.
    pub max_string: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bytes: 4 << 20, max_depth: 16, max_string: 64 * 1024 }
    }
}

/// Parses JSON strictly: no floats or exponents, integers within ±(2^53-1),
/// no duplicate keys, no lone surrogates, UTF-8 only, within `limits`.
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Value, VerifyError> {
    let _ = (bytes, limits);
    unimplemented!()
}

/// Appends the RFC 8785 canonical form of `value` to `out`.
pub fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    let _ = (value, out);
    unimplemented!()
}

/// The RFC 8785 canonical form of `value`.
pub fn to_canonical(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    out
}
