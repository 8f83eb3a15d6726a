//! The outcome of checks and the verdict they come to: the data the checks
//! produce and the verdict rules read.
//!
//! It sits below the checks, the verdict rules and the report: the report
//! re-exports every item here (`verifier::report::Check`, ...), and the
//! verdict rules read it without depending on the report that quotes them.

use serde::Serialize;

/// Stable identifiers of the checks (docs/bundle-format.md lists them).
pub mod check_id {
    /// The bundle parses and every field decodes.
    pub const BUNDLE_FORMAT: &str = "bundle_format";
    /// Bundle v2, one per entry (subject: index): its record opens its v2
    /// leaf, its identity opening opens the record, or its erased marker
    /// names the erasure entry of this contract and repeats it.
    pub const COMMITMENTS: &str = "commitments";
    /// All entries concern the bundle's tenant and contract, one document
    /// hash, one identity per party, each event once.
    pub const SAME_DOCUMENT: &str = "same_document";
    /// The supplied file's SHA-256 is the document hash of every entry.
    pub const DOCUMENT_HASH: &str = "document_hash";
    /// The checkpoint carries a valid signature by the log key.
    pub const LOG_SIGNATURE: &str = "log_signature";
    /// One witness's cosignature on the checkpoint (subject: witness name).
    pub const COSIGNATURE: &str = "cosignature";
    /// One entry is in the tree the checkpoint commits to (subject: index).
    pub const INCLUSION: &str = "inclusion";
    /// One entry's attestations verify under the issuer keys (subject: index).
    pub const ATTESTATIONS: &str = "attestations";
    /// The events form a coherent sequence.
    pub const TIMELINE: &str = "timeline";
    /// One event's RFC 3161 token over its document hash verifies (subject:
    /// index): the document existed by its genTime.
    pub const EVENT_TIMESTAMP: &str = "event_timestamp";
    /// One event's RFC 3161 token over its own canonical JSON verifies
    /// (subject: index): the event existed by its genTime.
    pub const EVENT_CONTENT_TIMESTAMP: &str = "event_content_timestamp";
    /// The RFC 3161 token over the checkpoint verifies.
    pub const CHECKPOINT_TIMESTAMP: &str = "checkpoint_timestamp";
    /// Enough distinct trusted witness keys cosigned the checkpoint.
    pub const WITNESS_QUORUM: &str = "witness_quorum";
    /// Record v3: the contract's chain over the bundle's entries has no
    /// gap from the contract's first entry to the bundle's last.
    pub const COMPLETENESS: &str = "completeness";
    /// A lookup answer, one per entry (subject: index): the leaf agrees
    /// with the ledger's summary (a v3 leaf: its disclosures open it).
    pub const LOOKUP_SUMMARY: &str = "lookup_summary";
}

/// The outcome of one check (docs/trust-policy.md §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// It held, against a key the person verifying chose where one is needed.
    Pass,
    /// It did not hold.
    Fail,
    /// The signature verifies, but only under a key that came from the
    /// bundle itself: it proves nothing about who signed.
    Unanchored,
}

/// The outcome of one check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable identifier, one of [`check_id`].
    pub id: &'static str,
    /// What the check is about when it runs more than once: the entry index
    /// (decimal) or the witness key name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Pass, fail, or unanchored.
    pub status: CheckStatus,
    /// Whether it held: `status` is [`CheckStatus::Pass`].
    pub passed: bool,
    /// What was checked, as a short sentence.
    pub title: String,
    /// What was found, in plain words.
    pub detail: String,
}

impl Check {
    /// A check outcome.
    pub fn new(
        id: &'static str,
        subject: Option<String>,
        passed: bool,
        title: impl Into<String>,
        detail: impl Into<String>,
    ) -> Check {
        let status = if passed { CheckStatus::Pass } else { CheckStatus::Fail };
        Check { id, subject, status, passed, title: title.into(), detail: detail.into() }
    }

    /// A check whose signature holds only under a key from the bundle.
    pub fn unanchored(
        id: &'static str,
        subject: Option<String>,
        title: impl Into<String>,
        detail: impl Into<String>,
    ) -> Check {
        let status = CheckStatus::Unanchored;
        Check { id, subject, status, passed: false, title: title.into(), detail: detail.into() }
    }
}

/// A TSA root the person verifying trusts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TsaRootFact {
    /// The policy's name for it.
    pub name: String,
    /// SHA-256 of the DER certificate, lowercase hex.
    pub sha256: String,
}

/// What the verdict rests on: the anchors the person verifying supplied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TrustFact {
    /// Where the anchors came from ("policy file court.policy", "command-line
    /// options", "this service's configuration", ...).
    pub source: String,
    /// Trusted log keys (vkeys).
    pub log_keys: Vec<String>,
    /// Trusted witness keys (vkeys).
    pub witnesses: Vec<String>,
    /// Distinct witness keys that must have cosigned.
    pub quorum: usize,
    /// Trusted TSA roots.
    pub tsa_roots: Vec<TsaRootFact>,
    /// Pinned issuers, `name base64-key`.
    pub issuers: Vec<String>,
}

/// The verdict categories (docs/trust-policy.md §3), first rule that applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictStatus {
    /// Every check passed against keys the person verifying chose.
    Verified,
    /// A check failed: the evidence does not hold as presented.
    Failed,
    /// No log key was supplied: the checkpoint's signature proves nothing.
    NoTrustedLogKey,
    /// Fewer distinct trusted witnesses cosigned than the policy requires.
    QuorumNotMet,
    /// RFC 3161 tokens whose roots are not in the policy.
    UntrustedTimestamps,
    /// A lookup answer whose checks all pass, with an entry tied to the
    /// file only by the server's word (a v2 leaf: nothing signed names
    /// the file).
    ServerVouched,
}

impl VerdictStatus {
    /// The `verifier` command's exit status for this verdict.
    pub fn exit_code(self) -> u8 {
        match self {
            VerdictStatus::Verified => 0,
            VerdictStatus::Failed => 1,
            VerdictStatus::NoTrustedLogKey => 3,
            VerdictStatus::QuorumNotMet => 4,
            VerdictStatus::UntrustedTimestamps => 5,
            // 6 to 8 are `verifier pdf`'s (pdf-signatures.md §7).
            VerdictStatus::ServerVouched => 9,
        }
    }
}

/// The verdict: its category, one sentence, and everything missing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The category.
    pub status: VerdictStatus,
    /// One sentence for people.
    pub summary: String,
    /// Every reason it is not "verified" (empty when it is).
    pub reasons: Vec<String>,
}
