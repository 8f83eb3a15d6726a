//! The evidence report: the outcome of each check in plain words, and the
//! evidence chain rebuilt from a bundle (parties, timeline, witnesses).
//!
//! This module owns the report model (serialized as JSON for `--json` and the
//! HTTP API), the wording a lawyer reads, and the plain-text rendering the
//! command-line verifier prints. It decides nothing: the checks live in the
//! `bundle` module and the verdict rules in `verdict`. The check and verdict
//! types ([`crate::check`]) and the text sanitisers ([`crate::text`]) sit
//! below all three and are re-exported here.

use serde::Serialize;
use serde_json::Value;

pub use crate::check::{
    check_id, Check, CheckStatus, TrustFact, TsaRootFact, Verdict, VerdictStatus,
};
use crate::entry::EventKind;
pub use crate::text::{
    is_unsafe_char, json_terminal_safe, plain, terminal_safe, unix_to_rfc3339, wrap_for_terminal,
    MAX_QUOTED_CHARS, TERMINAL_COLUMNS,
};

/// What a trusted timestamp covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TimestampCovers {
    /// An event's document (its `timestamp_token`, over the document hash).
    Document,
    /// An event itself (its `event_timestamp_token`, over its content).
    Event,
    /// The log's state (the checkpoint's token, over the checkpoint body).
    Checkpoint,
}

/// A trusted time vouched for by a time-stamp authority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimestampFact {
    /// What was timestamped, in words: "the document of entry N (SHA-256
    /// …)", "the event of entry N (content SHA-256 …)" or "the log state
    /// of N entries".
    pub subject: String,
    /// What the token covers.
    pub covers: TimestampCovers,
    /// The entry whose document or event it covers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<u64>,
    /// The TSA (the ledger operator's name for its root).
    pub tsa: String,
    /// genTime, RFC 3339 UTC.
    pub gen_time: String,
    /// The token's serial number, hex.
    pub serial: String,
}

/// Identifier of the report format in its JSON form.
pub const REPORT_FORMAT: &str = "evidence-report/v1";

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

/// What the contract's chain (record v3) shows of the bundle's
/// completeness (docs/bundle-format.md §7.5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CompletenessFact {
    /// No gap, no broken or reordered link, and the chain reaches back to
    /// the contract's first entry.
    pub complete: bool,
    /// Index of the first chained entry of the bundle.
    pub from_entry: u64,
    /// Index of the last chained entry of the bundle.
    pub to_entry: u64,
    /// Entries of the contract the chain accounts for, up to `to_entry`.
    pub entries: u64,
    /// The chain is complete and includes the contract's `completed`
    /// entry: the bundle holds every entry logged up to completion.
    pub through_completion: bool,
    /// Each gap or broken link, in words.
    pub gaps: Vec<String>,
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
    /// The attestation's message version: 1 or 2 (2 for v2.1 too).
    pub version: u8,
    /// The minor version of a v2 message: 1 for v2.1 (`"v": "2.1"`), else
    /// 0 (and left out of JSON).
    #[serde(skip_serializing_if = "is_zero")]
    pub minor: u8,
    /// What the signature binds, in words ([`V1_BINDING`], [`V2_BINDING`],
    /// [`V2_1_BINDING`] or [`V2_1_NO_PERSON_BINDING`]).
    pub binding: String,
    /// Why its signature could not be checked, when it could not (a v2.1
    /// attestation whose person's identity opening is not included: not
    /// disclosed, or erased). Not a failure: `valid` is false and the
    /// check still passes, saying so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unchecked: Option<String>,
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

/// How a report labels a v1 attestation.
pub const V1_BINDING: &str = "v1: does not bind tenant, contract or actor";
/// How a report labels a v2 attestation: what it binds, and what not.
pub const V2_BINDING: &str =
    "v2: binds tenant, contract, document, event, kind, actor and issuer; \
     not the person's identity, nor the log";
/// How a report labels a v2.1 attestation of an event with an identity.
pub const V2_1_BINDING: &str =
    "v2.1: binds tenant, contract, document, event, kind, actor, issuer, \
     the person's identity and the log";
/// How a report labels a v2.1 attestation of an event without identity
/// (its message's `identity` is `null`).
pub const V2_1_NO_PERSON_BINDING: &str = "v2.1: binds tenant, contract, document, event, kind, \
     actor, issuer and the log; no person (the event carries no identity)";

/// The words for an attestation of message version `version`.`minor`;
/// `person`: whether its event commits to an identity (v2.1 only).
pub fn binding_words(version: u8, minor: u8, person: bool) -> &'static str {
    match (version, minor, person) {
        (2, 1, true) => V2_1_BINDING,
        (2, 1, false) => V2_1_NO_PERSON_BINDING,
        (2, _, _) => V2_BINDING,
        _ => V1_BINDING,
    }
}

/// The real identity of a party, from an identity opening that opened
/// its record (bundle v2, full bundles only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IdentityFact {
    /// Full legal name.
    pub name: String,
    /// Kind of ID (`resident_id`, `passport`, `uscc`, ...).
    pub id_type: String,
    /// The ID number.
    pub id_number: String,
    /// Phone number, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// What the report says of an entry whose record identity opening is
/// missing though its record commits to one.
pub const IDENTITY_NOT_INCLUDED: &str = "identity opening not included (not disclosed or erased)";

/// An entry whose record was erased (bundle v2): what its marker says,
/// checked against the erasure entry it names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ErasedFact {
    /// The erasure entry's ledger time.
    pub at: String,
    /// The erasure entry's actor id.
    pub by: String,
    /// The reason the erasure entry gives.
    pub reason: String,
    /// The erasure entry's index.
    pub entry: u64,
    /// "erased on AT, by BY, reason REASON".
    pub summary: String,
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
    /// Bundle v2: the real identity of the actor, when the entry's identity
    /// opening opened its record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityFact>,
    /// Bundle v2: [`IDENTITY_NOT_INCLUDED`] when the record commits to an
    /// identity and the bundle holds no opening of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_note: Option<String>,
    /// Bundle v2: the entry's record was erased. `kind`, `event_id`,
    /// `actor_id` and `actor_display` are then empty, and `summary` says
    /// "record erased on AT, by BY, reason REASON".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub erased: Option<ErasedFact>,
}

/// A witness known to the verifier: in the policy, or claimed by the bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WitnessFact {
    /// Key name.
    pub name: String,
    /// C2SP verifier key (in full: name, key ID and key).
    pub vkey: String,
    /// Key ID, 8 lowercase hex digits.
    pub key_id: String,
    /// Listed by the bundle.
    pub listed: bool,
    /// In the policy of the person verifying (a key they chose).
    pub required: bool,
    /// The same as `required`: only such witnesses are checked and counted.
    pub trusted: bool,
    /// Cosignature time, RFC 3339 UTC, if the checkpoint carries a valid
    /// cosignature by this witness and the witness is trusted.
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
    /// Whether the verdict is "verified".
    pub passed: bool,
    /// The verdict and why.
    pub verdict: Verdict,
    /// The anchors the verdict rests on.
    pub trust: TrustFact,
    /// Each check, in the order run.
    pub checks: Vec<Check>,
    /// What the bundle claims that was not checked against the policy.
    pub claims: Vec<String>,
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
    /// Witnesses, trusted or claimed, with their cosignature times.
    pub witnesses: Vec<WitnessFact>,
    /// Trusted times from RFC 3161 tokens that chain to a trusted root.
    pub timestamps: Vec<TimestampFact>,
    /// Record v3 bundles: what the contract's chain shows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completeness: Option<CompletenessFact>,
}

impl Report {
    /// An empty report for a bundle header; add checks, then [`Report::finish`].
    pub fn new(origin: &str, tenant: &str, document_id: &str) -> Report {
        Report {
            format: REPORT_FORMAT,
            passed: false,
            verdict: Verdict {
                status: VerdictStatus::Failed,
                summary: String::new(),
                reasons: Vec::new(),
            },
            trust: TrustFact::default(),
            checks: Vec::new(),
            claims: Vec::new(),
            origin: origin.to_owned(),
            tenant: tenant.to_owned(),
            document_id: document_id.to_owned(),
            document_hash: None,
            checkpoint: None,
            parties: Vec::new(),
            timeline: Vec::new(),
            witnesses: Vec::new(),
            timestamps: Vec::new(),
            completeness: None,
        }
    }

    /// Whether the verdict is "verified" (every check passed, anchored).
    pub fn all_passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.passed)
    }

    /// The checks that did not pass (failed or unanchored).
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }

    /// Sets the verdict and [`Report::passed`] from the checks; call after
    /// the last check.
    pub fn finish(mut self) -> Report {
        self.verdict = crate::verdict::judge(&self.checks, &self.trust);
        self.passed = self.verdict.status == VerdictStatus::Verified;
        self
    }

    /// The report as text for a terminal: the anchors, the check list, the
    /// verdict, the rebuilt timeline, the witnesses and trusted times. Every
    /// string that can come from a bundle passes through [`terminal_safe`]
    /// here, in this one place. Lines are not wrapped: what prints it to a
    /// terminal wraps it with [`wrap_for_terminal`] (the `verifier`
    /// command does), so that no quoted text starts a terminal line.
    pub fn to_text(&self) -> String {
        let mut out = self.trust_text();
        for c in &self.checks {
            let mark = match c.status {
                CheckStatus::Pass => "✔ PASS",
                CheckStatus::Fail => "✘ FAIL",
                CheckStatus::Unanchored => "? UNANCHORED",
            };
            out.push_str(&format!("{mark}  {} [{}]\n", terminal_safe(&c.title), c.id));
            out.push_str(&format!("        {}\n", terminal_safe(&c.detail)));
        }
        out.push_str(&self.verdict_text());
        if !self.claims.is_empty() {
            // After the verdict, apart from it: what the bundle states
            // that no signature covers.
            out.push_str(
                "Unsigned statements in the bundle (not checked, not part of the verdict):\n",
            );
            for claim in &self.claims {
                out.push_str(&format!("· UNSIGNED CLAIM  {}\n", terminal_safe(claim)));
            }
        }
        out.push_str(&self.timeline_text());
        out.push_str(&self.witness_text());
        for t in &self.timestamps {
            out.push_str(&format!(
                "Trusted time: {} existed no later than {}, per {} (serial {})\n",
                terminal_safe(&t.subject),
                terminal_safe(&t.gen_time),
                terminal_safe(&t.tsa),
                terminal_safe(&t.serial)
            ));
        }
        out
    }

    fn trust_text(&self) -> String {
        let t = &self.trust;
        let mut out = format!("Checked against: {}\n", terminal_safe(&t.source));
        if t.log_keys.is_empty() {
            out.push_str("  log key: none supplied\n");
        }
        for k in &t.log_keys {
            out.push_str(&format!("  log key: {}\n", terminal_safe(k)));
        }
        for k in &t.witnesses {
            out.push_str(&format!("  witness: {}\n", terminal_safe(k)));
        }
        out.push_str(&format!("  witness quorum: {} distinct keys\n", t.quorum));
        for r in &t.tsa_roots {
            out.push_str(&format!(
                "  TSA root: {} (SHA-256 {})\n",
                terminal_safe(&r.name),
                r.sha256
            ));
        }
        for i in &t.issuers {
            out.push_str(&format!("  issuer: {}\n", terminal_safe(i)));
        }
        out.push('\n');
        out
    }

    fn verdict_text(&self) -> String {
        let mut out = format!("\n{}\n", terminal_safe(&self.verdict.summary));
        for r in &self.verdict.reasons {
            out.push_str(&format!("  - {}\n", terminal_safe(r)));
        }
        out
    }

    fn timeline_text(&self) -> String {
        let mut out = format!(
            "\nContract {} of tenant {} (log {})\n",
            terminal_safe(&plain(&self.document_id)),
            terminal_safe(&plain(&self.tenant)),
            terminal_safe(&plain(&self.origin))
        );
        if let Some(h) = &self.document_hash {
            out.push_str(&format!("Document SHA-256: {}\n", terminal_safe(h)));
        }
        if let Some(cp) = &self.checkpoint {
            out.push_str(&format!(
                "Checkpoint: {} entries, root {}\n",
                cp.tree_size,
                terminal_safe(&cp.root)
            ));
        }
        out.push_str("\nTimeline\n");
        for t in &self.timeline {
            out.push_str(&format!(
                "  #{:<8} {}  {}\n",
                t.index,
                terminal_safe(&t.ledger_time),
                terminal_safe(&t.summary)
            ));
            if let Some(id) = &t.identity {
                let phone = id.phone.as_deref().map(|p| format!(", phone {p}")).unwrap_or_default();
                out.push_str(&format!(
                    "{:13}identity: {}, {} {}{}\n",
                    "",
                    terminal_safe(&id.name),
                    terminal_safe(&id.id_type),
                    terminal_safe(&id.id_number),
                    terminal_safe(&phone)
                ));
            }
            if let Some(note) = &t.identity_note {
                out.push_str(&format!("{:13}{}\n", "", terminal_safe(note)));
            }
            for a in &t.attestations {
                let mark = if a.valid { "" } else { " [signature NOT valid]" };
                out.push_str(&format!(
                    "{:13}- {} [{}]{mark}\n",
                    "",
                    terminal_safe(&a.description),
                    terminal_safe(&a.binding)
                ));
            }
        }
        out
    }

    fn witness_text(&self) -> String {
        let mut out = String::from("\nWitnesses\n");
        if self.witnesses.is_empty() {
            out.push_str("  none trusted or listed\n");
        }
        for w in &self.witnesses {
            let when = match (&w.cosigned_at, w.trusted) {
                (Some(t), _) => format!("countersigned at {t}"),
                (None, true) => "did not countersign this checkpoint".to_owned(),
                (None, false) => {
                    "claimed by the bundle, not checked against your policy".to_owned()
                }
            };
            let tag = if w.trusted { " (trusted)" } else { "" };
            out.push_str(&format!(
                "  {}{tag}: {}\n      {}\n",
                terminal_safe(&w.name),
                terminal_safe(&when),
                terminal_safe(&w.vkey)
            ));
        }
        out
    }
}

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
        EventKind::RegistryChanged => "trusted issuer or token changed",
        EventKind::Erased => "private records erased on request",
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
}
