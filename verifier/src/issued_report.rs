//! The check of an evidence report file the ledger issued (docs/api.md,
//! "Evidence report"): the file's SHA-256 must be the `report_sha256` of a
//! `report_issued` entry of the contract's bundle, attested by the log's
//! own issuer `evidence-ledger`, and the bundle must verify under the
//! checker's policy. The attestation's signature is checked with the
//! bundle's other attestations: Ed25519 by the log key, or on an
//! `sm2-sm3` log SM2 `r ‖ s` under a log key the policy pins (never a key
//! the bundle lists), so a report's signature rests on the same anchors as
//! the rest of the evidence.

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::bundle::{verify_bundle, Bundle, VerifyOptions};
use crate::report::Report;

/// The issuer name the log attests its own statements under.
pub const LOG_ISSUER: &str = "evidence-ledger";

/// What [`check_issued_report`] found.
#[derive(Debug)]
pub struct IssuedReportCheck {
    /// SHA-256 of the report file, lowercase hex.
    pub report_sha256: String,
    /// The `report_issued` entry whose claim holds that hash, if any:
    /// (its index, the claim's `format`, its ledger time).
    pub entry: Option<(u64, String, String)>,
    /// The verifier report of the bundle (its verdict covers the
    /// attestation of that entry).
    pub bundle: Report,
}

impl IssuedReportCheck {
    /// Verified: the bundle's verdict is "verified" and it holds the
    /// report's entry.
    pub fn verified(&self) -> bool {
        self.bundle.passed && self.entry.is_some()
    }

    /// Lines a person reads, the verdict last.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!("report file SHA-256: {}", self.report_sha256)];
        match &self.entry {
            Some((i, format, time)) => out.push(format!(
                "[ok] entry {i} (report_issued, {format}, logged {time}) names this file's \
                 SHA-256, attested by {LOG_ISSUER}"
            )),
            None => out.push(format!(
                "[FAILED] no report_issued entry of the bundle attested by {LOG_ISSUER} names \
                 this file's SHA-256: the file is not a report this log issued (or was changed \
                 since)"
            )),
        }
        let v = if self.bundle.passed { "ok" } else { "FAILED" };
        out.push(format!("[{v}] the bundle: {}", self.bundle.verdict.summary));
        out.push(if self.verified() {
            "VERIFIED: the log issued this report and signed its hash".to_owned()
        } else {
            "NOT VERIFIED".to_owned()
        });
        out
    }
}

/// Checks `report` (the issued file's bytes) against `bundle` under `options`.
pub fn check_issued_report(
    bundle: &Bundle,
    report: &[u8],
    options: &VerifyOptions,
) -> IssuedReportCheck {
    let report_sha256 = hex::encode(Sha256::digest(report));
    let verdict = verify_bundle(bundle, options);
    let entry = bundle.entries.iter().find_map(|e| {
        let event = e.record.as_ref()?.get("event")?;
        if event.get("kind").and_then(Value::as_str) != Some("report_issued") {
            return None;
        }
        let a = event.get("attestations")?.as_array()?.iter().find(|a| {
            a.get("issuer").and_then(Value::as_str) == Some(LOG_ISSUER)
                && a.pointer("/claim/report_sha256").and_then(Value::as_str)
                    == Some(report_sha256.as_str())
        })?;
        let format = a.pointer("/claim/format").and_then(Value::as_str).unwrap_or("?");
        let time = crate::v2::parse_any_leaf(&base64_decode(&e.leaf)?).ok()?;
        Some((e.index, format.to_owned(), time.ledger_time().to_owned()))
    });
    IssuedReportCheck { report_sha256, entry, bundle: verdict }
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}
