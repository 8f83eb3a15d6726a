//! RFC 4998 Evidence Record Syntax: evidence that outlives its timestamps'
//! certificates and its hash algorithms (docs/long-term.md).
//!
//! An [`EvidenceRecord`] covers one contract's evidence bundle. Its data
//! objects ([`bundle_data_objects`]) form one RFC 4998 data group: the RFC
//! 8785 canonical JSON of the bundle, and the leaf bytes of each of its
//! entries. The first `ArchiveTimeStamp` holds a reduced hash tree whose
//! first list is the group's hashes and an RFC 3161 token over its root;
//! timestamp renewals (§5.2) and hash-tree renewals (§5.3) are built with
//! [`build`] and checked, with the whole record, by [`verify_evidence_record`].
//!
//! In scope: the DER structures ([`asn1`]), hash trees ([`tree`]), the
//! steps of generation and renewal, and verification. Out of scope:
//! asking a TSA for tokens (the service does it over HTTP) and storage.

pub mod asn1;
pub mod build;
pub mod tree;
mod verify;

use der::{Decode, Encode};

pub use self::asn1::{ArchiveTimeStamp, EvidenceRecord};
pub use self::tree::ErsHash;
pub use self::verify::{
    verify_evidence_record, verify_evidence_record_timestamps, ErsCoverage, ErsTimestamp,
};
use crate::bundle::{Bundle, BUNDLE_LIMITS};
use crate::VerifyError;

/// Largest evidence record accepted, in bytes, checked before decoding: a
/// record gains one token (about 5 KiB) per renewal, so this is some
/// hundreds of renewals.
pub const MAX_RECORD_SIZE: usize = 2 << 20;

/// The field the errors name.
pub(crate) const FIELD: &str = "evidence_record";

/// The data objects an evidence record over this bundle covers, in this
/// order: the RFC 8785 canonical JSON of the bundle, then the leaf bytes of
/// each entry. The bundle must parse ([`Bundle::parse`]); its formatting
/// (whitespace, member order) does not change the objects.
pub fn bundle_data_objects(bundle_json: &[u8]) -> Result<Vec<Vec<u8>>, VerifyError> {
    use base64::Engine as _;
    let bundle = Bundle::parse(bundle_json)?;
    let value = crate::jcs::parse(bundle_json, &BUNDLE_LIMITS)?;
    let mut objects = Vec::with_capacity(bundle.entries.len() + 1);
    objects.push(crate::jcs::to_canonical(&value));
    for e in &bundle.entries {
        let leaf = base64::engine::general_purpose::STANDARD.decode(&e.leaf).map_err(|_| {
            VerifyError::malformed("bundle", format!("entry {}: leaf is not base64", e.index))
        })?;
        objects.push(leaf);
    }
    Ok(objects)
}

/// Decodes a DER evidence record: size cap first, then strict DER (the
/// `der` crate refuses BER), version 1, at least one chain and no empty
/// chain.
pub fn decode_record(der: &[u8]) -> Result<EvidenceRecord, VerifyError> {
    if der.len() > MAX_RECORD_SIZE {
        return Err(VerifyError::TooLarge {
            what: "evidence record",
            size: der.len(),
            limit: MAX_RECORD_SIZE,
        });
    }
    let record = EvidenceRecord::from_der(der)
        .map_err(|e| VerifyError::malformed("evidence record", format!("not DER ERS ({e})")))?;
    if record.version != 1 {
        return Err(VerifyError::invalid(FIELD, format!("version {}, not v1 (1)", record.version)));
    }
    let seq = &record.archive_time_stamp_sequence;
    if seq.is_empty() || seq.iter().any(Vec::is_empty) {
        return Err(VerifyError::invalid(FIELD, "an empty ArchiveTimeStampSequence or chain"));
    }
    Ok(record)
}

/// The record as DER.
pub fn encode_record(record: &EvidenceRecord) -> Result<Vec<u8>, VerifyError> {
    record
        .to_der()
        .map_err(|e| VerifyError::malformed("evidence record", format!("does not encode ({e})")))
}

/// When the newest timestamp of `record` must be renewed by: the end of
/// its TSA certificate (unix seconds), read without verifying the token
/// (for a renewal schedule over tokens checked when they were got).
pub fn newest_renew_before(record: &EvidenceRecord) -> Option<i64> {
    let last = record.archive_time_stamp_sequence.last()?.last()?;
    crate::tsa::token_signer_not_after(&last.time_stamp.to_der().ok()?)
}
