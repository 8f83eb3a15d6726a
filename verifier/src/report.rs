//! The evidence report: the outcome of each check in plain words, and the
//! evidence chain rebuilt from a bundle (parties, timeline, witnesses).
//!
//! This module owns the report model (serialized as JSON for `--json` and the
//! HTTP API), the wording a lawyer reads, and the plain-text rendering the
//! command-line verifier prints. It decides nothing: the checks live in
//! [`crate::bundle`].

use serde::Serialize;
use serde_json::Value;

use crate::entry::EventKind;

/// Stable identifiers of the checks (docs/bundle-format.md lists them).
pub mod check_id {
    /// The bundle parses and every field decodes.
    pub const BUNDLE_FORMAT: &str = "bundle_format";
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
    /// One event's RFC 3161 token verifies (subject: index).
    pub const EVENT_TIMESTAMP: &str = "event_timestamp";
    /// The RFC 3161 token over the checkpoint verifies.
    pub const CHECKPOINT_TIMESTAMP: &str = "checkpoint_timestamp";
}

/// A trusted time vouched for by a time-stamp authority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimestampFact {
    /// What was timestamped: "entry <index>" or "checkpoint".
    pub subject: String,
    /// The TSA (the ledger operator's name for its root).
    pub tsa: String,
    /// genTime, RFC 3339 UTC.
    pub gen_time: String,
    /// The token's serial number, hex.
    pub serial: String,
}

/// Identifier of the report format in its JSON form.
pub const REPORT_FORMAT: &str = "evidence-report/v1";

/// The outcome of one check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable identifier, one of [`check_id`].
    pub id: &'static str,
    /// What the check is about when it runs more than once: the entry index
    /// (decimal) or the witness key name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Whether it held.
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
        Check { id, subject, passed, title: title.into(), detail: detail.into() }
    }
}

/// The checkpoint the evidence is proven against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckpointFact {
    /// The log's origin line.
    pub origin: String,
    /// Number of entries in the log at that checkpoint.
    pub tree_size: u64,
    /// Root hash, standard base64.
    pub root: String,
}

/// A party that appears in the evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Party {
    /// Pseudonymous actor id.
    pub id: String,
    /// Masked display name (e.g. 王*).
    pub display: String,
    /// Salted commitment to the party's personal data (64 hex).
    pub commitment: String,
    /// Whether the party has a `signed` event.
    pub signed: bool,
}

/// One attestation of a timeline entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AttestationFact {
    /// Issuer name.
    pub issuer: String,
    /// The claim as logged.
    pub claim: Value,
    /// The claim in words.
    pub description: String,
    /// Whether its signature verified under the bundle's key for the issuer.
    pub valid: bool,
}

/// One event of the rebuilt evidence chain.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimelineEntry {
    /// Position in the log.
    pub index: u64,
    /// When the log recorded it (RFC 3339 UTC).
    pub ledger_time: String,
    /// Wire name of the kind (`identity_verified`, ...).
    pub kind: String,
    /// The event in words ("王* (u-1): signed").
    pub summary: String,
    /// The submitter's event id.
    pub event_id: String,
    /// Actor id.
    pub actor_id: String,
    /// Actor's masked display name.
    pub actor_display: String,
    /// The attestations, described.
    pub attestations: Vec<AttestationFact>,
}

/// A witness known to the verifier (listed in the bundle or required).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WitnessFact {
    /// Key name.
    pub name: String,
    /// C2SP verifier key.
    pub vkey: String,
    /// Listed by the bundle.
    pub listed: bool,
    /// Required by the person verifying.
    pub required: bool,
    /// Cosignature time, RFC 3339 UTC, if the checkpoint carries a valid
    /// cosignature by this witness.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cosigned_at: Option<String>,
    /// The same time as Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cosigned_unix: Option<u64>,
}

/// Everything a verification found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// Always [`REPORT_FORMAT`].
    pub format: &'static str,
    /// Whether every check passed (same as [`Report::all_passed`]).
    pub passed: bool,
    /// Each check, in the order run.
    pub checks: Vec<Check>,
    /// Log origin named by the bundle.
    pub origin: String,
    /// Tenant named by the bundle.
    pub tenant: String,
    /// Contract id named by the bundle.
    pub document_id: String,
    /// SHA-256 (hex) of the document, from the first readable entry.
    pub document_hash: Option<String>,
    /// The checkpoint, if it could be read.
    pub checkpoint: Option<CheckpointFact>,
    /// Parties in order of first appearance.
    pub parties: Vec<Party>,
    /// Readable entries in log order.
    pub timeline: Vec<TimelineEntry>,
    /// Witnesses, listed or required, with their cosignature times.
    pub witnesses: Vec<WitnessFact>,
    /// Trusted times from RFC 3161 tokens (events and checkpoint).
    pub timestamps: Vec<TimestampFact>,
}

impl Report {
    /// An empty report for a bundle header; add checks, then [`Report::finish`].
    pub fn new(origin: &str, tenant: &str, document_id: &str) -> Report {
        Report {
            format: REPORT_FORMAT,
            passed: false,
            checks: Vec::new(),
            origin: origin.to_owned(),
            tenant: tenant.to_owned(),
            document_id: document_id.to_owned(),
            document_hash: None,
            checkpoint: None,
            parties: Vec::new(),
            timeline: Vec::new(),
            witnesses: Vec::new(),
            timestamps: Vec::new(),
        }
    }

    /// Whether there is at least one check and every check passed.
    pub fn all_passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.passed)
    }

    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }

    /// Sets [`Report::passed`] from the checks; call after the last check.
    pub fn finish(mut self) -> Report {
        self.passed = self.all_passed();
        self
    }

    /// The report as text: the check list, then the rebuilt timeline and the
    /// witnesses. Every string from the bundle is already plain (see [`plain`]).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            let mark = if c.passed { "✔ PASS" } else { "✘ FAIL" };
            out.push_str(&format!("{mark}  {} [{}]\n", c.title, c.id));
            out.push_str(&format!("        {}\n", c.detail));
        }
        out.push_str(&self.verdict_text());
        out.push_str(&self.timeline_text());
        out.push_str(&self.witness_text());
        for t in &self.timestamps {
            out.push_str(&format!(
                "Trusted time: {} existed no later than {}, per {} (serial {})\n",
                plain(&t.subject),
                t.gen_time,
                plain(&t.tsa),
                t.serial
            ));
        }
        out
    }

    fn verdict_text(&self) -> String {
        let failed = self.failures().count();
        if self.all_passed() {
            format!("\nAll {} checks passed.\n", self.checks.len())
        } else {
            format!(
                "\n{failed} of {} checks FAILED: this evidence does not hold as presented.\n",
                self.checks.len()
            )
        }
    }

    fn timeline_text(&self) -> String {
        let mut out = format!(
            "\nContract {} of tenant {} (log {})\n",
            plain(&self.document_id),
            plain(&self.tenant),
            plain(&self.origin)
        );
        if let Some(h) = &self.document_hash {
            out.push_str(&format!("Document SHA-256: {h}\n"));
        }
        if let Some(cp) = &self.checkpoint {
            out.push_str(&format!("Checkpoint: {} entries, root {}\n", cp.tree_size, cp.root));
        }
        out.push_str("\nTimeline\n");
        for t in &self.timeline {
            out.push_str(&format!("  #{:<8} {}  {}\n", t.index, t.ledger_time, t.summary));
            for a in &t.attestations {
                let mark = if a.valid { "" } else { " [signature NOT valid]" };
                out.push_str(&format!("{:13}- {}{mark}\n", "", a.description));
            }
        }
        out
    }

    fn witness_text(&self) -> String {
        let mut out = String::from("\nWitnesses\n");
        if self.witnesses.is_empty() {
            out.push_str("  none listed or required\n");
        }
        for w in &self.witnesses {
            let when = match &w.cosigned_at {
                Some(t) => format!("countersigned at {t}"),
                None => "did not countersign this checkpoint".to_owned(),
            };
            let req = if w.required { " (required)" } else { "" };
            out.push_str(&format!("  {}{req}: {when}\n", plain(&w.name)));
        }
        out
    }
}

/// Longest string from a bundle quoted in a report, in characters.
pub const MAX_QUOTED_CHARS: usize = 200;

/// Makes a string from a bundle safe to show: control characters and
/// bidirectional overrides (which could make text read as other text) become
/// U+FFFD, and long strings are cut to [`MAX_QUOTED_CHARS`] with "…".
pub fn plain(s: &str) -> String {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    let mut out: String = s
        .chars()
        .take(MAX_QUOTED_CHARS)
        .map(|c| if unsafe_char(c) { '\u{fffd}' } else { c })
        .collect();
    if s.chars().nth(MAX_QUOTED_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// Unix seconds as RFC 3339 UTC (`2026-01-02T03:04:05Z`); values beyond year
/// 9999 are written as "Unix time N".
pub fn unix_to_rfc3339(secs: u64) -> String {
    let dt = i64::try_from(secs)
        .ok()
        .filter(|&s| s <= MAX_RFC3339_SECS)
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok());
    match dt {
        Some(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        None => format!("Unix time {secs}"),
    }
}

/// Unix seconds of 9999-12-31T23:59:59Z.
const MAX_RFC3339_SECS: i64 = 253_402_300_799;

/// An event kind in words.
pub fn kind_words(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Registered => "contract registered",
        EventKind::IdentityVerified => "identity verified",
        EventKind::IntentVerified => "signing intent proven",
        EventKind::Signed => "signed",
        EventKind::Approved => "approved",
        EventKind::Rejected => "rejected",
        EventKind::Revoked => "revoked",
        EventKind::Completed => "contract completed",
        EventKind::Archived => "contract archived",
        EventKind::ReportIssued => "evidence report issued",
    }
}

/// A method name in words: `phone_3_factor` → "phone 3-factor",
/// `sms_code` → "SMS code".
pub fn method_words(method: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    for part in method.split('_').filter(|p| !p.is_empty()) {
        let prev_is_number = words.last().is_some_and(|w| w.bytes().all(|b| b.is_ascii_digit()));
        match part {
            "factor" if prev_is_number => {
                if let Some(last) = words.last_mut() {
                    last.push_str("-factor");
                }
            }
            "sms" | "otp" | "pin" | "ca" | "ukey" => words.push(part.to_uppercase()),
            _ => words.push(part.to_owned()),
        }
    }
    plain(&words.join(" "))
}

/// One attestation in words, given the event it belongs to.
///
/// - identity_verified: "identity checked by idp-gov using phone 3-factor (result: pass)"
/// - intent_verified: "intent proven to intent-svc by SMS code (result: pass)"
/// - signed, issuer `signer:<actor id>`: "signed by the signer's own key signer:u-1 (Ed25519)"
/// - anything else: "<issuer> vouches for <claim as JSON>"
pub fn describe_attestation(
    kind: EventKind,
    actor_id: &str,
    issuer: &str,
    claim: &Value,
) -> String {
    let field = |k: &str| claim.get(k).and_then(Value::as_str);
    let result = field("result").map(|r| format!(" (result: {})", plain(r))).unwrap_or_default();
    let issuer_p = plain(issuer);
    match (kind, field("method")) {
        (EventKind::IdentityVerified, Some(m)) => {
            format!("identity checked by {issuer_p} using {}{result}", method_words(m))
        }
        (EventKind::IntentVerified, Some(m)) => {
            format!("intent proven to {issuer_p} by {}{result}", method_words(m))
        }
        (EventKind::Signed, _) => describe_signature(actor_id, &issuer_p, field("algorithm")),
        _ => format!(
            "{issuer_p} vouches for {}",
            plain(&String::from_utf8_lossy(&crate::jcs::to_canonical(claim)))
        ),
    }
}

fn describe_signature(actor_id: &str, issuer: &str, algorithm: Option<&str>) -> String {
    let alg = algorithm.map(|a| format!(" ({})", plain(a))).unwrap_or_default();
    if issuer.strip_prefix("signer:") == Some(actor_id) {
        format!("signed by the signer's own key {issuer}{alg}")
    } else if issuer.starts_with("signer:") {
        format!("signed with the key {issuer}{alg}, which is not this party's own key")
    } else {
        format!("signature vouched for by {issuer}{alg}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn words() {
        assert_eq!(method_words("phone_3_factor"), "phone 3-factor");
        assert_eq!(method_words("bank_card_4_factor"), "bank card 4-factor");
        assert_eq!(method_words("sms_code"), "SMS code");
        assert_eq!(method_words("__"), "");
        assert_eq!(
            describe_attestation(
                EventKind::IdentityVerified,
                "u-1",
                "idp-gov",
                &json!({"method": "phone_3_factor", "result": "pass"})
            ),
            "identity checked by idp-gov using phone 3-factor (result: pass)"
        );
        assert_eq!(
            describe_attestation(
                EventKind::Signed,
                "u-1",
                "signer:u-1",
                &json!({"action": "sign", "algorithm": "Ed25519"})
            ),
            "signed by the signer's own key signer:u-1 (Ed25519)"
        );
    }

    #[test]
    fn plain_strips_controls_and_cuts() {
        assert_eq!(plain("a\u{202e}b\nc"), "a\u{fffd}b\u{fffd}c");
        let long = "x".repeat(MAX_QUOTED_CHARS + 5);
        assert_eq!(plain(&long).chars().count(), MAX_QUOTED_CHARS + 1);
    }

    #[test]
    fn times() {
        assert_eq!(unix_to_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(unix_to_rfc3339(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(unix_to_rfc3339(u64::MAX), format!("Unix time {}", u64::MAX));
    }
}
