//! Generation and renewal of evidence records (RFC 4998 §4.2, §5.2, §5.3),
//! pure: a [`Step`] says which hash values the next timestamp must cover;
//! the caller builds a tree over one or more steps ([`super::tree::build_tree`],
//! one token for many records), asks a TSA for a token over its root, and
//! [`apply`]s the token and each step's reduced tree.

use cms::content_info::ContentInfo;
use der::asn1::OctetString;
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;

use super::asn1::{ArchiveTimeStamp, ArchiveTimeStampSequence, EvidenceRecord};
use super::tree::ErsHash;
use super::FIELD;
use crate::VerifyError;

/// What the next archive timestamp of a record covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Its hash algorithm.
    pub alg: ErsHash,
    /// Whether it starts a new chain (the first timestamp, or a hash-tree
    /// renewal) rather than extending the newest chain.
    pub new_chain: bool,
    /// The hash values its reduced tree's first list holds: the data
    /// group's, or the previous timestamp's one hash.
    pub covered: Vec<Vec<u8>>,
}

/// The first timestamp of a new record over `objects` (§4.2): the hashes
/// of the data objects, one data group.
pub fn export_step(alg: ErsHash, objects: &[Vec<u8>]) -> Step {
    Step { alg, new_chain: true, covered: objects.iter().map(|d| alg.digest(d)).collect() }
}

/// The next renewal of `record` with `alg`. The same algorithm as the
/// newest chain: a timestamp renewal (§5.2), covering the hash of the
/// newest timestamp. Another: a hash-tree renewal (§5.3), covering
/// `h(i) = H(H(d(i)) || H(atsc))` for each data object `d(i)`, where atsc
/// is the DER of the whole ArchiveTimeStampSequence so far; it needs the
/// data objects.
pub fn renewal_step(
    record: &EvidenceRecord,
    alg: ErsHash,
    objects: Option<&[Vec<u8>]>,
) -> Result<Step, VerifyError> {
    let seq = &record.archive_time_stamp_sequence;
    let last_chain = seq.last().ok_or_else(|| VerifyError::invalid(FIELD, "no chain"))?;
    let last = last_chain.last().ok_or_else(|| VerifyError::invalid(FIELD, "an empty chain"))?;
    if ats_algorithm(last)? == alg {
        return Ok(Step {
            alg,
            new_chain: false,
            covered: vec![timestamp_renewal_hash(alg, last)?],
        });
    }
    let objects = objects.ok_or_else(|| {
        VerifyError::invalid(
            FIELD,
            "a hash-tree renewal re-hashes the data: the bundle the record covers is needed",
        )
    })?;
    Ok(Step { alg, new_chain: true, covered: hash_tree_renewal_hashes(alg, objects, seq)? })
}

/// §5.2: the hash of the whole `timeStamp` element (its DER ContentInfo)
/// of an archive timestamp, which the next one in its chain covers.
pub fn timestamp_renewal_hash(
    alg: ErsHash,
    previous: &ArchiveTimeStamp,
) -> Result<Vec<u8>, VerifyError> {
    Ok(alg.digest(&der_of(&previous.time_stamp)?))
}

/// §5.3 steps 2-4: `h(i) = H(H(d(i)) || ha)` with `ha = H(atsc)`, atsc the
/// DER ArchiveTimeStampSequence of the chains before (concatenated in the
/// order the RFC writes it, not sorted).
pub fn hash_tree_renewal_hashes(
    alg: ErsHash,
    objects: &[Vec<u8>],
    chains_before: &ArchiveTimeStampSequence,
) -> Result<Vec<Vec<u8>>, VerifyError> {
    let ha = alg.digest(&der_of(chains_before)?);
    Ok(objects.iter().map(|d| alg.digest_parts(&[&alg.digest(d), &ha])).collect())
}

/// Adds the archive timestamp of `step` to `record` (a new record when
/// `None`): its reduced tree `reduced` (empty: the token is over the one
/// covered hash) and the DER RFC 3161 token over the tree's root. The
/// token is not verified here; [`super::verify_evidence_record`] does.
pub fn apply(
    record: Option<EvidenceRecord>,
    step: &Step,
    reduced: Vec<Vec<Vec<u8>>>,
    token_der: &[u8],
) -> Result<EvidenceRecord, VerifyError> {
    let time_stamp = ContentInfo::from_der(token_der).map_err(|e| {
        VerifyError::invalid(FIELD, format!("the TSA's token is not a DER ContentInfo ({e})"))
    })?;
    let reduced_hashtree = if reduced.is_empty() {
        None
    } else {
        let lists = reduced
            .into_iter()
            .map(|list| list.into_iter().map(OctetString::new).collect::<Result<Vec<_>, _>>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| VerifyError::invalid(FIELD, format!("a hash does not encode ({e})")))?;
        Some(lists)
    };
    let ats = ArchiveTimeStamp {
        digest_algorithm: Some(algorithm_identifier(step.alg)),
        attributes: None,
        reduced_hashtree,
        time_stamp,
    };
    let mut record = record.unwrap_or_else(|| EvidenceRecord {
        version: 1,
        digest_algorithms: Vec::new(),
        crypto_infos: None,
        encryption_info: None,
        archive_time_stamp_sequence: Vec::new(),
    });
    let seq = &mut record.archive_time_stamp_sequence;
    match seq.last_mut() {
        Some(chain) if !step.new_chain => chain.push(ats),
        None if !step.new_chain => {
            return Err(VerifyError::invalid(FIELD, "a renewal of a record with no chain"))
        }
        _ => seq.push(vec![ats]),
    }
    let id = algorithm_identifier(step.alg);
    if !record.digest_algorithms.iter().any(|a| a.oid == id.oid) {
        record.digest_algorithms.push(id);
    }
    Ok(record)
}

/// The hash algorithm of an archive timestamp: its `digestAlgorithm`, else
/// its token's imprint algorithm (§4.1); one we support.
pub fn ats_algorithm(ats: &ArchiveTimeStamp) -> Result<ErsHash, VerifyError> {
    let oid = match &ats.digest_algorithm {
        Some(a) => a.oid,
        None => {
            crate::tsa::token_imprint_algorithm(&der_of(&ats.time_stamp)?).ok_or_else(|| {
                VerifyError::invalid(FIELD, "a timestamp whose imprint algorithm cannot be read")
            })?
        }
    };
    ErsHash::from_oid(&oid).ok_or_else(|| {
        VerifyError::invalid(
            FIELD,
            format!("hash algorithm {oid} is not supported (sha256, sha512, sha3-512, sm3)"),
        )
    })
}

/// The AlgorithmIdentifier written for `alg` (no parameters: RFC 5754
/// allows them absent for SHA-2).
pub fn algorithm_identifier(alg: ErsHash) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned { oid: alg.oid(), parameters: None }
}

/// DER of a decoded value (re-encoding DER input gives the same bytes).
pub(crate) fn der_of(value: &impl Encode) -> Result<Vec<u8>, VerifyError> {
    value.to_der().map_err(|e| VerifyError::invalid(FIELD, format!("does not encode ({e})")))
}
