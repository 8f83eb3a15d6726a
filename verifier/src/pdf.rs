//! The contract file's own PDF signatures, checked offline against the CA
//! and TSA roots of a trust policy (docs/pdf-signatures.md is the
//! normative text; the page's checker mirrors these rules).
//!
//! In scope: finding every signature dictionary of every revision of a
//! PDF (ISO 32000-1 §12.8, SubFilters `adbe.pkcs7.detached` and
//! `ETSI.CAdES.detached`, PAdES baseline B-B and B-T); the `/ByteRange`
//! rules; the CMS signature over the covered bytes; the signer certificate
//! and its path to a policy `ca` root; the signing time (a signature
//! timestamp verified against the policy's `tsa` roots, else the signed
//! `signingTime` claim); bytes added after the last signature; each signed
//! revision's SHA-256, and its match with a bundle's `signed` events.
//!
//! Out of scope: revocation (CRL/OCSP, the DSS of PAdES B-LT: the verifier
//! is offline); what later revisions changed (beyond how many bytes they
//! add); DocMDP/FieldMDP permissions; document timestamps (`ETSI.RFC3161`)
//! and other SubFilters, which are reported as unsupported.
//!
//! The structure comes from `lopdf` ([`structure`]); the byte-level rules
//! and the CMS checks ([`cms`], on the crate's RFC 3161 code) are ours.
//! Pure: bytes in, a report out; never panics.

mod cms;
mod show;
pub mod structure;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::bundle::SignedDocument;
use crate::policy::TrustPolicy;

pub use self::structure::{check_byte_range, check_gap, revision_ends, SignedRange};

/// Largest PDF accepted, checked before parsing.
pub const MAX_PDF_BYTES: usize = 64 << 20;
/// The `format` of a [`PdfReport`].
pub const PDF_REPORT_FORMAT: &str = "evidence-pdf-report/v1";
/// The SubFilters checked.
pub const SUB_FILTERS: [&str; 2] = ["adbe.pkcs7.detached", "ETSI.CAdES.detached"];

/// Whether a signature holds, and whether it rests on the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureStatus {
    /// Intact, and the signer (and its timestamp, if any) chains to roots
    /// of the policy.
    Valid,
    /// Intact, but the signer certificate or the signature timestamp does
    /// not chain to a root of the policy: who signed (or when) is a claim.
    Untrusted,
    /// A check failed: the bytes, the signature or a certificate.
    Invalid,
}

/// Where a signing time comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeSource {
    /// A signature timestamp (RFC 3161) from a TSA of the policy.
    Timestamp,
    /// A signature timestamp that verifies, but not from a TSA of the policy.
    UntrustedTimestamp,
    /// The signed `signingTime` attribute: the signer's own claim.
    SigningTimeAttribute,
    /// The signature dictionary's `/M` (inside the signed bytes): what the
    /// signing software wrote, a claim. PAdES puts the claimed time here.
    SignatureDictionary,
}

/// When a signature was made, and on whose word.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SigningTime {
    /// RFC 3339 UTC.
    pub time: String,
    /// The same, unix seconds.
    pub unix: i64,
    /// Where it comes from.
    pub source: TimeSource,
    /// The TSA (the policy's name for its root), for a timestamp.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tsa: Option<String>,
    /// The token's serial number (hex), for a timestamp.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
}

/// The signer certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignerFact {
    /// Subject (RFC 4514).
    pub subject: String,
    /// Issuer (RFC 4514).
    pub issuer: String,
    /// Serial number, lowercase hex.
    pub serial: String,
    /// Validity start, RFC 3339 UTC.
    pub not_before: String,
    /// Validity end, RFC 3339 UTC.
    pub not_after: String,
    /// The policy `ca` root it chains to, if any.
    pub trusted_root: Option<String>,
}

/// One signature of the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PdfSignature {
    /// 1-based, in the order of the revisions they sign.
    pub number: usize,
    /// The signature field's name (`/T`), if a field refers to it.
    pub field: Option<String>,
    /// `/SubFilter`.
    pub sub_filter: String,
    /// The verdict on this signature.
    pub status: SignatureStatus,
    /// Why it is invalid (every failed check).
    pub problems: Vec<String>,
    /// Why it is only untrusted.
    pub untrusted: Vec<String>,
    /// `/ByteRange` as written.
    pub byte_range: Vec<i64>,
    /// The end of the signed revision (bytes `0..revision_end`).
    pub revision_end: Option<usize>,
    /// SHA-256 (hex) of bytes `0..revision_end`: the document as this
    /// signer signed it, gap included; what a `signed` event logs.
    pub revision_sha256: Option<String>,
    /// Digest algorithm of the signature.
    pub digest_algorithm: Option<String>,
    /// The signer certificate.
    pub signer: Option<SignerFact>,
    /// The signing time and its source.
    pub signing_time: Option<SigningTime>,
    /// With a bundle: its `signed` events whose document hash is this
    /// revision's SHA-256.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle_events: Option<Vec<BundleEventFact>>,
}

/// A `signed` event of a bundle that matches a signed revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BundleEventFact {
    /// Position in the log.
    pub index: u64,
    /// The submitter's event id.
    pub event_id: String,
    /// "王* (u-9)".
    pub actor: String,
    /// When the log recorded it.
    pub ledger_time: String,
}

/// A bundle the signatures were matched with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BundleFact {
    /// Whether the bundle's own verdict is "verified".
    pub verified: bool,
    /// The bundle's verdict in one sentence.
    pub verdict: String,
    /// Its `signed` events.
    pub signed_events: usize,
    /// How many signed revisions matched one of them.
    pub matched_revisions: usize,
}

/// The verdict on the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PdfVerdictStatus {
    /// Every signature valid, nothing after the last, and (with a bundle)
    /// the bundle verified and a signed revision matched.
    Verified,
    /// No signature, not a PDF, or a signature is invalid.
    Failed,
    /// Bytes follow the last signature.
    ModifiedAfterSigning,
    /// A signer or a signature timestamp does not chain to the policy.
    Untrusted,
    /// The bundle does not verify, or no signed revision is in it.
    BundleMismatch,
}

impl PdfVerdictStatus {
    /// The `verifier pdf` exit status (docs/pdf-signatures.md §7).
    pub fn exit_code(self) -> u8 {
        match self {
            PdfVerdictStatus::Verified => 0,
            PdfVerdictStatus::Failed => 1,
            PdfVerdictStatus::Untrusted => 6,
            PdfVerdictStatus::ModifiedAfterSigning => 7,
            PdfVerdictStatus::BundleMismatch => 8,
        }
    }
}

/// The verdict and every reason for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PdfVerdict {
    /// The first rule that applies (docs/pdf-signatures.md §7).
    pub status: PdfVerdictStatus,
    /// One sentence.
    pub summary: String,
    /// Everything not as it should be.
    pub reasons: Vec<String>,
}

/// A root of the policy the report rests on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RootFact {
    /// The policy's name.
    pub name: String,
    /// SHA-256 (hex) of the DER certificate.
    pub sha256: String,
}

/// Everything the check of one PDF found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PdfReport {
    /// Always [`PDF_REPORT_FORMAT`].
    pub format: &'static str,
    /// Whether the verdict is "verified".
    pub passed: bool,
    /// The verdict.
    pub verdict: PdfVerdict,
    /// The policy's CA roots (for signers).
    pub ca_roots: Vec<RootFact>,
    /// The policy's TSA roots (for signature timestamps).
    pub tsa_roots: Vec<RootFact>,
    /// Size of the file, bytes.
    pub file_size: usize,
    /// SHA-256 (hex) of the whole file.
    pub file_sha256: String,
    /// Why the file could not be read as a PDF, if it could not.
    pub unreadable: Option<String>,
    /// Revisions (`%%EOF`-terminated prefixes that read as a PDF).
    pub revisions: usize,
    /// The signatures, in the order of the revisions they sign.
    pub signatures: Vec<PdfSignature>,
    /// Bytes after the end of the last signed revision (None: no signature
    /// with a usable `/ByteRange`).
    pub bytes_after_last_signature: Option<usize>,
    /// Revisions that end after the last signed revision.
    pub revisions_after_last_signature: usize,
    /// The latest signing time of the valid or untrusted signatures.
    pub last_signing_time: Option<SigningTime>,
    /// The bundle matched against, with `verifier pdf --bundle`.
    pub bundle: Option<BundleFact>,
}

/// Checks every signature of `pdf` against `policy` (its `ca` and `tsa`
/// roots), as of `now_unix`. Never panics.
pub fn verify_pdf(pdf: &[u8], policy: &TrustPolicy, now_unix: i64) -> PdfReport {
    let mut report = PdfReport {
        format: PDF_REPORT_FORMAT,
        passed: false,
        verdict: PdfVerdict {
            status: PdfVerdictStatus::Failed,
            summary: String::new(),
            reasons: Vec::new(),
        },
        ca_roots: policy
            .cas
            .iter()
            .map(|c| RootFact { name: c.name.clone(), sha256: c.fingerprint() })
            .collect(),
        tsa_roots: policy
            .tsas
            .iter()
            .map(|t| RootFact { name: t.name.clone(), sha256: t.fingerprint() })
            .collect(),
        file_size: pdf.len(),
        file_sha256: hex::encode(Sha256::digest(pdf)),
        unreadable: None,
        revisions: 0,
        signatures: Vec::new(),
        bytes_after_last_signature: None,
        revisions_after_last_signature: 0,
        last_signing_time: None,
        bundle: None,
    };
    if pdf.len() > MAX_PDF_BYTES {
        report.unreadable = Some(format!("the file is larger than {MAX_PDF_BYTES} bytes"));
        return report.finish();
    }
    match structure::read(pdf) {
        Ok(s) => {
            report.revisions = s.revision_ends.len();
            report.signatures = s
                .signatures
                .iter()
                .enumerate()
                .map(|(i, d)| check_one(pdf, i + 1, d, &s.revision_ends, policy, now_unix))
                .collect();
            let last_end = report.signatures.iter().filter_map(|s| s.revision_end).max();
            report.bytes_after_last_signature = last_end.map(|e| pdf.len() - e);
            report.revisions_after_last_signature =
                last_end.map_or(0, |e| s.revision_ends.iter().filter(|r| **r > e).count());
        }
        Err(e) => report.unreadable = Some(e),
    }
    report.last_signing_time = report
        .signatures
        .iter()
        .filter(|s| s.status != SignatureStatus::Invalid)
        .filter_map(|s| s.signing_time.clone())
        .max_by_key(|t| t.unix);
    report.finish()
}

/// All checks of one signature dictionary.
fn check_one(
    pdf: &[u8],
    number: usize,
    d: &structure::SigDict,
    ends: &[usize],
    policy: &TrustPolicy,
    now: i64,
) -> PdfSignature {
    let mut sig = PdfSignature {
        number,
        field: d.field.clone(),
        sub_filter: d.sub_filter.clone(),
        status: SignatureStatus::Invalid,
        problems: Vec::new(),
        untrusted: Vec::new(),
        byte_range: d.byte_range.clone().unwrap_or_default(),
        revision_end: None,
        revision_sha256: None,
        digest_algorithm: None,
        signer: None,
        signing_time: None,
        bundle_events: None,
    };
    if let Err(e) = structure_checks(pdf, d, ends, &mut sig) {
        sig.problems.push(e);
        return sig;
    }
    let (Some(end), Ok(contents)) = (sig.revision_end, &d.contents) else {
        return sig;
    };
    let gap = sig.byte_range.get(1..3).unwrap_or_default();
    let (b, c) = (gap[0] as usize, gap[1] as usize);
    let checked = cms::check(contents, [&pdf[..b], &pdf[c..end]], &d.sub_filter, policy, now);
    sig.signer = checked.signer;
    sig.signing_time = checked.signing_time.or_else(|| dictionary_time(d));
    sig.digest_algorithm = checked.digest_algorithm;
    sig.problems = checked.problems;
    sig.untrusted = checked.untrusted;
    sig.status = match (sig.problems.is_empty(), sig.untrusted.is_empty()) {
        (true, true) => SignatureStatus::Valid,
        (true, false) => SignatureStatus::Untrusted,
        _ => SignatureStatus::Invalid,
    };
    sig
}

/// The `/M` of the signature dictionary, as a claimed signing time.
fn dictionary_time(d: &structure::SigDict) -> Option<SigningTime> {
    let unix = structure::parse_pdf_date(d.m.as_deref()?)?;
    Some(SigningTime {
        time: crate::text::unix_to_rfc3339(u64::try_from(unix).ok()?),
        unix,
        source: TimeSource::SignatureDictionary,
        tsa: None,
        serial: None,
    })
}

/// SubFilter, `/ByteRange`, `/Contents` and the gap; sets the revision.
fn structure_checks(
    pdf: &[u8],
    d: &structure::SigDict,
    ends: &[usize],
    sig: &mut PdfSignature,
) -> Result<(), String> {
    let br = d.byte_range.as_ref().map_err(Clone::clone)?;
    let range = check_byte_range(pdf, br, ends)?;
    sig.revision_end = Some(range.end);
    sig.revision_sha256 = Some(hex::encode(Sha256::digest(&pdf[..range.end])));
    if !SUB_FILTERS.contains(&d.sub_filter.as_str()) {
        return Err(format!("SubFilter {:?} is not supported", d.sub_filter));
    }
    let contents = d.contents.as_ref().map_err(Clone::clone)?;
    if contents.len() > structure::MAX_CONTENTS_BYTES {
        return Err(format!("/Contents is over {} bytes", structure::MAX_CONTENTS_BYTES));
    }
    check_gap(pdf, &range, d.id, d.offset, contents)
}

/// Matches each signed revision with the bundle's `signed` events by
/// document hash; `verified` and `verdict` are the bundle's own verdict.
pub fn match_bundle(
    report: PdfReport,
    verified: bool,
    verdict: &str,
    signed: &[SignedDocument],
) -> PdfReport {
    let mut report = report;
    let mut matched = 0;
    for sig in &mut report.signatures {
        let events: Vec<BundleEventFact> = signed
            .iter()
            .filter(|e| Some(e.document_hash.to_hex()) == sig.revision_sha256)
            .map(|e| BundleEventFact {
                index: e.index,
                event_id: e.event_id.clone(),
                actor: e.actor.clone(),
                ledger_time: e.ledger_time.clone(),
            })
            .collect();
        matched += usize::from(!events.is_empty());
        sig.bundle_events = Some(events);
    }
    report.bundle = Some(BundleFact {
        verified,
        verdict: verdict.to_owned(),
        signed_events: signed.len(),
        matched_revisions: matched,
    });
    report.finish()
}

impl PdfReport {
    /// Sets the verdict from the findings: the first rule that applies
    /// (docs/pdf-signatures.md §7).
    fn finish(mut self) -> PdfReport {
        let mut reasons = Vec::new();
        if let Some(e) = &self.unreadable {
            reasons.push(e.clone());
        } else if self.signatures.is_empty() {
            reasons.push("the file has no signature".to_owned());
        }
        for s in &self.signatures {
            for p in s.problems.iter().chain(&s.untrusted) {
                reasons.push(format!("signature {}: {p}", s.number));
            }
        }
        let invalid = self.signatures.iter().any(|s| s.status == SignatureStatus::Invalid);
        let untrusted = self.signatures.iter().any(|s| s.status == SignatureStatus::Untrusted);
        let after = self.bytes_after_last_signature.unwrap_or(0);
        if after > 0 {
            reasons.push(format!(
                "{after} bytes ({} revisions) were added after the last signature",
                self.revisions_after_last_signature
            ));
        }
        let bundle_bad = self.bundle.as_ref().is_some_and(|b| {
            if !b.verified {
                reasons.push(format!("the bundle is not verified: {}", b.verdict));
            }
            if b.matched_revisions == 0 {
                reasons.push("no signed revision's SHA-256 is a signed event of the bundle".into());
            }
            !b.verified || b.matched_revisions == 0
        });
        let status = if self.unreadable.is_some() || self.signatures.is_empty() || invalid {
            PdfVerdictStatus::Failed
        } else if after > 0 {
            PdfVerdictStatus::ModifiedAfterSigning
        } else if untrusted {
            PdfVerdictStatus::Untrusted
        } else if bundle_bad {
            PdfVerdictStatus::BundleMismatch
        } else {
            PdfVerdictStatus::Verified
        };
        let n = self.signatures.len();
        let summary = match status {
            PdfVerdictStatus::Verified => format!(
                "VERIFIED against your policy: {n} signature(s) valid, signers chain to your CA roots, nothing added after the last signature"
            ),
            PdfVerdictStatus::Failed if self.unreadable.is_some() => {
                "NOT VERIFIED: the file is not a readable PDF".to_owned()
            }
            PdfVerdictStatus::Failed if n == 0 => "NOT VERIFIED: the file has no signature".to_owned(),
            PdfVerdictStatus::Failed => "NOT VERIFIED: a signature does not hold".to_owned(),
            PdfVerdictStatus::ModifiedAfterSigning => {
                "NOT VERIFIED: the file was changed after the last signature".to_owned()
            }
            PdfVerdictStatus::Untrusted => {
                "NOT VERIFIED: a signer or signature timestamp does not chain to your policy".to_owned()
            }
            PdfVerdictStatus::BundleMismatch => {
                "NOT VERIFIED: the signatures hold, but the evidence bundle does not back them".to_owned()
            }
        };
        self.passed = status == PdfVerdictStatus::Verified;
        self.verdict = PdfVerdict { status, summary, reasons };
        self
    }
}
