//! The PDF report as text for a terminal: every string that comes from the
//! file goes through [`terminal_safe`], here, in this one place.

use super::{PdfReport, PdfSignature, RootFact, SignatureStatus, SigningTime, TimeSource};
use crate::text::terminal_safe;

impl PdfReport {
    /// The report as text for a terminal; every string from the file goes
    /// through [`terminal_safe`].
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        // Our indentation stays; what the file says is made safe.
        let mut line = |s: String| {
            let body = s.trim_start_matches(' ');
            out.push_str(&s[..s.len() - body.len()]);
            out.push_str(&terminal_safe(body));
            out.push('\n');
        };
        line(format!("PDF: {} bytes, SHA-256 {}", self.file_size, self.file_sha256));
        let roots = |r: &[RootFact]| {
            r.iter()
                .map(|r| format!("{} ({})", r.name, &r.sha256[..16]))
                .collect::<Vec<_>>()
                .join(", ")
        };
        line(format!("Trusted CA roots: {}", or_none(roots(&self.ca_roots))));
        line(format!("Trusted TSA roots: {}", or_none(roots(&self.tsa_roots))));
        if let Some(e) = &self.unreadable {
            line(format!("Not a readable PDF: {e}"));
        }
        line(format!("Revisions: {}; signatures: {}", self.revisions, self.signatures.len()));
        for s in &self.signatures {
            signature_text(s, &mut line);
        }
        match self.bytes_after_last_signature {
            Some(0) => line("Nothing was added after the last signature.".into()),
            Some(n) => line(format!(
                "Bytes added after the last signature: {n} ({} revisions): not covered by any signature.",
                self.revisions_after_last_signature
            )),
            None => {}
        }
        if let Some(t) = &self.last_signing_time {
            line(format!("Last signing time: {} ({})", t.time, source_words(t)));
        }
        if let Some(b) = &self.bundle {
            line(format!(
                "Bundle: {} ({} signed events; {} signed revisions matched)",
                b.verdict, b.signed_events, b.matched_revisions
            ));
        }
        line(format!("Verdict: {}", self.verdict.summary));
        for r in &self.verdict.reasons {
            line(format!("  - {r}"));
        }
        out
    }
}

fn signature_text(s: &PdfSignature, line: &mut impl FnMut(String)) {
    let status = match s.status {
        SignatureStatus::Valid => "VALID",
        SignatureStatus::Untrusted => "INTACT BUT UNTRUSTED",
        SignatureStatus::Invalid => "INVALID",
    };
    let field = s.field.as_deref().map(|f| format!(" (field {f})")).unwrap_or_default();
    line(format!("Signature {}{field}: {status} [{}]", s.number, s.sub_filter));
    for p in s.problems.iter().chain(&s.untrusted) {
        line(format!("  why: {p}"));
    }
    if let Some(c) = &s.signer {
        line(format!("  signer: {}", c.subject));
        line(format!("  issuer: {}", c.issuer));
        line(format!("  serial: {}", c.serial));
        line(format!("  valid: {} to {}", c.not_before, c.not_after));
        if let Some(r) = &c.trusted_root {
            line(format!("  chains to your CA root: {r}"));
        }
    }
    if let Some(t) = &s.signing_time {
        line(format!("  signed at: {} ({})", t.time, source_words(t)));
    }
    if let (Some(end), Some(h)) = (s.revision_end, &s.revision_sha256) {
        line(format!("  signed revision: bytes 0..{end}, SHA-256 {h}"));
    }
    if let Some(events) = &s.bundle_events {
        if events.is_empty() {
            line("  bundle: no signed event has this revision's hash".into());
        }
        for e in events {
            line(format!(
                "  bundle: signed event {} (entry {}, {}, logged {})",
                e.event_id, e.index, e.actor, e.ledger_time
            ));
        }
    }
}

fn source_words(t: &SigningTime) -> String {
    match t.source {
        TimeSource::Timestamp => format!(
            "signature timestamp by {}, a TSA of your policy",
            t.tsa.as_deref().unwrap_or_default()
        ),
        TimeSource::UntrustedTimestamp => {
            "signature timestamp by a TSA not in your policy: a claim".to_owned()
        }
        TimeSource::SigningTimeAttribute => "the signer's own signingTime claim".to_owned(),
        TimeSource::SignatureDictionary => {
            "the /M entry of the signature dictionary: the signing software's claim".to_owned()
        }
    }
}

fn or_none(s: String) -> String {
    if s.is_empty() {
        "none".to_owned()
    } else {
        s
    }
}
