//! RFC 4998 verification (§4.3, §5.3): every chain's hash tree against the
//! data objects, every timestamp's imprint and signature to a trusted TSA,
//! every renewal covering what came before, and every token still valid
//! when the next one was made.

use time::format_description::well_known::Rfc3339;

use super::asn1::{ArchiveTimeStamp, EvidenceRecord};
use super::build::{ats_algorithm, der_of, hash_tree_renewal_hashes, timestamp_renewal_hash};
use super::tree::{reduced_root, ErsHash, TreeError};
use super::{decode_record, FIELD};
use crate::tsa::{verify_timestamp_token_imprint, TimestampInfo, TrustedTsa};
use crate::VerifyError;

/// Clock skew allowed between a TSA and the verifier.
const SKEW_SECS: i64 = 300;

/// One verified archive timestamp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErsTimestamp {
    /// Its chain (0 = the first).
    pub chain: usize,
    /// Its hash algorithm.
    pub alg: ErsHash,
    /// What its token says (TSA, genTime, serial, ...).
    pub info: TimestampInfo,
    /// When its TSA certificate expires (unix seconds): it must be renewed
    /// before then.
    pub renew_before_unix: i64,
}

/// What a verified evidence record proves: the data objects existed,
/// unchanged, from `from` on, and the proof holds until `until` unless it
/// is renewed before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErsCoverage {
    /// genTime of the first timestamp, RFC 3339.
    pub from: String,
    /// The end of the newest token's TSA certificate, RFC 3339.
    pub until: String,
    /// The same, unix seconds.
    pub until_unix: i64,
    /// The hash algorithms of the chains, oldest first.
    pub algorithms: Vec<ErsHash>,
    /// Every timestamp, oldest first.
    pub timestamps: Vec<ErsTimestamp>,
}

impl ErsCoverage {
    /// One line for reports: "covered from A to B by sha256, sha512 (3
    /// timestamps from TSA ...)".
    pub fn summary(&self) -> String {
        let algs: Vec<&str> = self.algorithms.iter().map(|a| a.name()).collect();
        let mut tsas: Vec<&str> = self.timestamps.iter().map(|t| t.info.tsa.as_str()).collect();
        tsas.dedup();
        format!(
            "evidence record: covered from {} to {} by {} ({} timestamps, from {})",
            self.from,
            self.until,
            algs.join(", "),
            self.timestamps.len(),
            tsas.join(", ")
        )
    }
}

/// Verifies the DER evidence record `der` over `objects` (see
/// [`super::bundle_data_objects`]) against the `trusted` TSA roots, as of
/// `now_unix`. Per chain, oldest first: its one hash algorithm, listed in
/// `digestAlgorithms`; its first timestamp's reduced tree holds exactly the
/// data group's hashes (the first chain: `H(d)`; later ones: `H(H(d) ||
/// H(atsc))` over the chains before, §5.3); each later timestamp's first
/// list holds the hash of the timestamp before it (§5.2); each token's
/// imprint is its tree's root under that algorithm and the token passes
/// every RFC 3161 check to a trusted TSA at its genTime. Across the record,
/// genTimes never go back, each token's TSA certificate was still valid
/// when the next timestamp was made, and the newest one is valid now.
pub fn verify_evidence_record(
    der: &[u8],
    objects: &[Vec<u8>],
    trusted: &[TrustedTsa],
    now_unix: i64,
) -> Result<ErsCoverage, VerifyError> {
    if objects.is_empty() {
        return Err(VerifyError::invalid(FIELD, "no data objects to verify"));
    }
    verify_with(der, Some(objects), trusted, now_unix)
}

/// [`verify_evidence_record`] without the data: every check except that
/// each chain's first timestamp covers the data objects (its first list is
/// taken as given). What the service's report says of a record it keeps,
/// whose bundle it does not keep; it proves the timestamps and renewals,
/// not what they cover.
pub fn verify_evidence_record_timestamps(
    der: &[u8],
    trusted: &[TrustedTsa],
    now_unix: i64,
) -> Result<ErsCoverage, VerifyError> {
    verify_with(der, None, trusted, now_unix)
}

fn verify_with(
    der: &[u8],
    objects: Option<&[Vec<u8>]>,
    trusted: &[TrustedTsa],
    now_unix: i64,
) -> Result<ErsCoverage, VerifyError> {
    let record = decode_record(der)?;
    if record.encryption_info.is_some() {
        return Err(VerifyError::invalid(FIELD, "the record says its data was encrypted"));
    }
    let mut timestamps: Vec<ErsTimestamp> = Vec::new();
    let mut algorithms = Vec::new();
    let seq = &record.archive_time_stamp_sequence;
    for (k, chain) in seq.iter().enumerate() {
        let alg = chain_algorithm(&record, chain, k)?;
        algorithms.push(alg);
        let first_covered = match objects {
            Some(objects) if k == 0 => objects.iter().map(|d| alg.digest(d)).collect(),
            Some(objects) => hash_tree_renewal_hashes(alg, objects, &seq[..k].to_vec())?,
            None => first_list(&chain[0])
                .ok_or_else(|| VerifyError::invalid(FIELD, format!("chain {k}: no hash tree")))?,
        };
        for (j, ats) in chain.iter().enumerate() {
            let (covered, exact) = match j {
                0 => (first_covered.clone(), first_covered.len() > 1),
                _ => (vec![timestamp_renewal_hash(alg, &chain[j - 1])?], false),
            };
            let where_ = format!("chain {k}, timestamp {j}");
            let root = tree_root(alg, ats, &covered, exact, &where_, k, j)?;
            let token = der_of(&ats.time_stamp)?;
            let (info, renew_before_unix) = verify_timestamp_token_imprint(
                &token,
                alg.oid(),
                &root,
                trusted,
                now_unix,
                SKEW_SECS,
            )
            .map_err(|e| VerifyError::invalid(FIELD, format!("{where_}: {e}")))?;
            let ts = ErsTimestamp { chain: k, alg, info, renew_before_unix };
            if let Some(prev) = timestamps.last() {
                check_renewed_in_time(prev, &ts, &where_)?;
            }
            timestamps.push(ts);
        }
    }
    let (first, newest) = match (timestamps.first(), timestamps.last()) {
        (Some(f), Some(n)) => (f, n),
        _ => return Err(VerifyError::invalid(FIELD, "no timestamps")),
    };
    let until = rfc3339(newest.renew_before_unix);
    if newest.renew_before_unix < now_unix {
        return Err(VerifyError::invalid(
            FIELD,
            format!(
                "not renewed in time: the newest TSA certificate expired at {until}, and no renewal \
                 followed"
            ),
        ));
    }
    Ok(ErsCoverage {
        from: first.info.gen_time.clone(),
        until,
        until_unix: newest.renew_before_unix,
        algorithms,
        timestamps,
    })
}

/// The first list of an archive timestamp's reduced tree, if it has one.
fn first_list(ats: &ArchiveTimeStamp) -> Option<Vec<Vec<u8>>> {
    let first = ats.reduced_hashtree.as_ref()?.first()?;
    Some(first.iter().map(|o| o.as_bytes().to_vec()).collect())
}

/// A chain's one algorithm, listed in the record's `digestAlgorithms`.
fn chain_algorithm(
    record: &EvidenceRecord,
    chain: &[ArchiveTimeStamp],
    k: usize,
) -> Result<ErsHash, VerifyError> {
    let mut algs = chain.iter().map(ats_algorithm);
    let alg = algs.next().ok_or_else(|| VerifyError::invalid(FIELD, "an empty chain"))??;
    for other in algs {
        if other? != alg {
            return Err(VerifyError::invalid(
                FIELD,
                format!("chain {k} mixes hash algorithms (a new algorithm starts a new chain)"),
            ));
        }
    }
    if !record.digest_algorithms.iter().any(|a| a.oid == alg.oid()) {
        return Err(VerifyError::invalid(
            FIELD,
            format!("chain {k} uses {}, which digestAlgorithms does not list", alg.name()),
        ));
    }
    Ok(alg)
}

/// The root of an archive timestamp's reduced tree over `covered`, with
/// the failure said in words.
fn tree_root(
    alg: ErsHash,
    ats: &ArchiveTimeStamp,
    covered: &[Vec<u8>],
    exact: bool,
    where_: &str,
    k: usize,
    j: usize,
) -> Result<Vec<u8>, VerifyError> {
    let lists: Vec<Vec<Vec<u8>>> = ats
        .reduced_hashtree
        .iter()
        .flatten()
        .map(|l| l.iter().map(|o| o.as_bytes().to_vec()).collect())
        .collect();
    reduced_root(alg, &lists, covered, exact).map_err(|e| {
        let what = match (j, k) {
            (0, 0) => "the data objects (the bundle and its leaves)",
            (0, _) => "the data objects and the chains before (hash-tree renewal)",
            _ => "the timestamp before it (timestamp renewal)",
        };
        let why = match e {
            TreeError::Missing | TreeError::NoTree => format!("does not cover {what}"),
            TreeError::Foreign => format!("covers more than {what}"),
            TreeError::Length => format!("holds a hash that is not {} long", alg.name()),
        };
        VerifyError::invalid(FIELD, format!("{where_}: the reduced hash tree {why}"))
    })
}

/// §5.3: a timestamp proves only while its TSA certificate is valid, so
/// the next one must come before it expires, and never before it.
fn check_renewed_in_time(
    prev: &ErsTimestamp,
    next: &ErsTimestamp,
    where_: &str,
) -> Result<(), VerifyError> {
    if next.info.gen_time_unix < prev.info.gen_time_unix {
        return Err(VerifyError::invalid(
            FIELD,
            format!("{where_}: made at {}, before the timestamp it renews", next.info.gen_time),
        ));
    }
    if next.info.gen_time_unix > prev.renew_before_unix {
        return Err(VerifyError::invalid(
            FIELD,
            format!(
                "{where_}: renewed too late: made at {}, after the TSA certificate of the timestamp \
                 before expired ({})",
                next.info.gen_time,
                rfc3339(prev.renew_before_unix)
            ),
        ));
    }
    Ok(())
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}
