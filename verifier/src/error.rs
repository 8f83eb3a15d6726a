//! The one error type of the verifier crate.

use thiserror::Error;

/// Everything that can fail while parsing or verifying evidence.
///
/// Variants are grouped by what a caller does next: malformed input is the
/// sender's fault (HTTP 400), a failed check is evidence that does not hold
/// (HTTP 422).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Bytes that do not parse as the named format.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// The format that failed to parse (e.g. "checkpoint", "vkey").
        what: &'static str,
        /// Why, in words.
        reason: String,
    },
    /// Input larger than the format allows; rejected before decoding.
    #[error("{what} too large: {size} > {limit}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size.
        size: usize,
        /// The cap.
        limit: usize,
    },
    /// A Merkle proof did not verify.
    #[error("invalid {kind} proof: {reason}")]
    InvalidProof {
        /// "inclusion" or "consistency".
        kind: &'static str,
        /// Why.
        reason: String,
    },
    /// A signature (note, cosignature, attestation) did not verify.
    #[error("bad signature: {0}")]
    BadSignature(String),
    /// A key that was needed is not known or trusted.
    #[error("unknown key: {0}")]
    UnknownKey(String),
    /// A field fails a validation rule of the data model.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Which field (JSON path where useful).
        field: String,
        /// Why.
        reason: String,
    },
}

impl VerifyError {
    /// Shorthand for [`VerifyError::Malformed`].
    pub fn malformed(what: &'static str, reason: impl Into<String>) -> Self {
        VerifyError::Malformed { what, reason: reason.into() }
    }

    /// Shorthand for [`VerifyError::Invalid`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        VerifyError::Invalid { field: field.into(), reason: reason.into() }
    }
}
