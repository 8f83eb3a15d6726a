//! The `timeline` check: whether the events of one contract, in log order,
//! tell a coherent story.
//!
//! Rules (docs/bundle-format.md, "timeline"), over the readable entries in
//! index order:
//!
//! - T1: `ledger_time` never decreases with the index (erased entries
//!   count here too: their leaves keep their time).
//! - T2: a `registered` event, if present, is the first entry, and there is
//!   only one.
//! - T3: before each `signed` event, the same actor id has an
//!   `identity_verified` and an `intent_verified` event, each attested by
//!   an issuer that is not a signer's own key (`signer:…`): a person
//!   cannot vouch for their own identity or intent.
//! - T4: each `signed` event carries an attestation by the issuer
//!   `signer:<actor id>` (the signer's own key).
//! - T3 and T4 do not apply to a `signed` event attested by an issuer
//!   named `integration:…`: the tenant's e-signature platform (Documenso,
//!   DocuSeal) reporting a signature made in its own ceremony, whose
//!   identity and intent checks are the platform's; the detail counts
//!   such signatures and says they are the platform's report.
//! - T5: each `completed` event comes after at least one `signed` event, and
//!   no `signed` event comes after a `completed` one.
//! - T6: after the first `revoked` or `rejected` event, only `report_issued`,
//!   `archived` and `erased` events follow.
//! - T7: after the first `archived` event, only `report_issued` and `erased`
//!   events follow.
//!
//! An unreadable entry fails the check: the order cannot be judged without
//! it. An erased entry (bundle v2) is not unreadable: its record was
//! destroyed on request, which its erasure entry records; only its time
//! is judged. An entry whose record a subject erasure redacted keeps its
//! kind: T1, T2 and T5-T7 judge it; T3 and T4 (about its actor and
//! attestations, which are gone) do not.

use std::collections::HashSet;

use crate::check::{check_id, Check};
use crate::entry::{parse_ledger_time, EventKind, LeafEntry};
use crate::text::plain;

const TITLE: &str = "The events happened in a coherent order";

/// Runs T1-T7 over `entries` (index, leaf) in index order, and T2, T5-T7
/// over `redacted` entries too (records a subject erasure redacted);
/// `unreadable` is the number of entries that could not be decoded;
/// `times` holds the ledger time of every readable, erased or redacted
/// entry, in index order (T1).
pub(super) fn check(
    readable: &[(u64, &LeafEntry)],
    redacted: &[(u64, &LeafEntry)],
    unreadable: usize,
    times: &[(u64, &str)],
) -> Check {
    let mut all: Vec<(u64, &LeafEntry)> = readable.iter().chain(redacted).copied().collect();
    all.sort_by_key(|(i, _)| *i);
    let entries = all.as_slice();
    let mut problems = Vec::new();
    if unreadable > 0 {
        problems.push(format!(
            "{unreadable} entries cannot be read, so the order cannot be fully judged"
        ));
    }
    times_never_decrease(times, &mut problems);
    registration_first(entries, &mut problems);
    signatures_prepared(readable, &mut problems);
    completion_after_signatures(entries, &mut problems);
    nothing_after_end(entries, &mut problems);
    let passed = problems.is_empty();
    let reported = entries.iter().filter(|(_, l)| platform_reported(l)).count();
    let detail = if passed && reported > 0 {
        format!(
            "The {} events are in a coherent order: the log's clock never goes back; \
             {reported} signature(s) are reported by the tenant's signing platform (an \
             integration:… key), which checked the signer in its own ceremony, not made with \
             the signer's own key; every other signer's identity and intent were checked before \
             they signed with their own key; completion follows every signature; nothing \
             happened after a revocation, rejection or archiving but reports and archiving.",
            entries.len()
        )
    } else if passed {
        format!(
            "The {} events are in a coherent order: the log's clock never goes back; \
             each signer's identity and intent were checked before they signed with their own key; \
             completion follows every signature; nothing happened after a revocation, rejection or archiving \
             but reports and archiving.",
            entries.len()
        )
    } else {
        format!("The order of events is not coherent: {}.", super::list(&problems))
    };
    Check::new(check_id::TIMELINE, None, passed, TITLE, detail)
}

/// T1.
fn times_never_decrease(times: &[(u64, &str)], problems: &mut Vec<String>) {
    let mut prev: Option<(u64, i64)> = None;
    for (i, time) in times {
        let Ok(t) = parse_ledger_time(time) else {
            problems.push(format!("entry {i} has an unreadable time"));
            continue;
        };
        if let Some((j, p)) = prev {
            if t < p {
                problems
                    .push(format!("entry {i} is recorded at {}, before entry {j}", plain(time)));
            }
        }
        prev = Some((*i, t));
    }
}

/// T2.
fn registration_first(entries: &[(u64, &LeafEntry)], problems: &mut Vec<String>) {
    for (pos, (i, l)) in entries.iter().enumerate() {
        if l.event.kind == EventKind::Registered && pos != 0 {
            problems.push(format!("entry {i} registers the contract after other events"));
        }
    }
}

/// The name prefix of signers' own keys (a tenant's issuers).
const SIGNER_PREFIX: &str = "signer:";

/// The name prefix of a tenant's signing-platform integration keys.
const INTEGRATION_PREFIX: &str = "integration:";

/// Whether a `signed` event is a signature reported by the tenant's
/// signing platform (an `integration:` attestation): T3 and T4 do not
/// apply to it.
fn platform_reported(l: &LeafEntry) -> bool {
    l.event.kind == EventKind::Signed
        && l.event.attestations.iter().any(|a| a.issuer.starts_with(INTEGRATION_PREFIX))
}

/// Whether an identity or intent check was attested by someone other than
/// a signer (T3): an identity provider or intent service.
fn third_party(l: &LeafEntry) -> bool {
    l.event.attestations.iter().any(|a| !a.issuer.starts_with(SIGNER_PREFIX))
}

/// T3 and T4.
fn signatures_prepared(entries: &[(u64, &LeafEntry)], problems: &mut Vec<String>) {
    let mut identity: HashSet<&str> = HashSet::new();
    let mut intent: HashSet<&str> = HashSet::new();
    // Checks of an actor attested only by signers' keys.
    let mut self_attested: HashSet<(&str, EventKind)> = HashSet::new();
    for (i, l) in entries {
        let actor = l.event.actor.id.as_str();
        let kind = l.event.kind;
        match kind {
            EventKind::IdentityVerified | EventKind::IntentVerified if !third_party(l) => {
                self_attested.insert((actor, kind));
            }
            EventKind::IdentityVerified => {
                identity.insert(actor);
            }
            EventKind::IntentVerified => {
                intent.insert(actor);
            }
            EventKind::Signed if platform_reported(l) => {}
            EventKind::Signed => {
                let who = plain(actor);
                let only_self = |k| {
                    if self_attested.contains(&(actor, k)) {
                        ", only by a signer's own key"
                    } else {
                        ""
                    }
                };
                if !identity.contains(actor) {
                    problems.push(format!(
                        "{who} signed (entry {i}) before their identity was checked{}",
                        only_self(EventKind::IdentityVerified)
                    ));
                }
                if !intent.contains(actor) {
                    problems.push(format!(
                        "{who} signed (entry {i}) before their intent was proven{}",
                        only_self(EventKind::IntentVerified)
                    ));
                }
                let own = format!("{SIGNER_PREFIX}{actor}");
                if !l.event.attestations.iter().any(|a| a.issuer == own) {
                    problems.push(format!(
                        "the signature of {who} (entry {i}) is not made with their own key {own}"
                    ));
                }
            }
            _ => {}
        }
    }
}

/// T5.
fn completion_after_signatures(entries: &[(u64, &LeafEntry)], problems: &mut Vec<String>) {
    let mut signed = false;
    let mut completed: Option<u64> = None;
    for (i, l) in entries {
        match l.event.kind {
            EventKind::Signed => {
                if let Some(c) = completed {
                    problems.push(format!("entry {i} is a signature after completion (entry {c})"));
                }
                signed = true;
            }
            EventKind::Completed => {
                if !signed {
                    problems.push(format!("entry {i} completes the contract before anyone signed"));
                }
                completed.get_or_insert(*i);
            }
            _ => {}
        }
    }
}

/// T6 and T7.
fn nothing_after_end(entries: &[(u64, &LeafEntry)], problems: &mut Vec<String>) {
    let mut ended: Option<(u64, EventKind)> = None;
    let mut archived: Option<u64> = None;
    for (i, l) in entries {
        let kind = l.event.kind;
        if let Some((e, k)) = ended {
            if !matches!(kind, EventKind::ReportIssued | EventKind::Archived | EventKind::Erased) {
                problems.push(format!(
                    "entry {i} ({}) comes after the contract was {} (entry {e})",
                    kind.as_str(),
                    k.as_str()
                ));
            }
        }
        if let Some(a) = archived {
            if !matches!(kind, EventKind::ReportIssued | EventKind::Erased) {
                problems.push(format!(
                    "entry {i} ({}) comes after the contract was archived (entry {a})",
                    kind.as_str()
                ));
            }
        }
        match kind {
            EventKind::Revoked | EventKind::Rejected => {
                ended.get_or_insert((*i, kind));
            }
            EventKind::Archived => {
                archived.get_or_insert(*i);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::Event;
    use serde_json::json;

    fn entry(kind: &str, actor: &str, issuer: Option<&str>) -> LeafEntry {
        // The timeline reads names only; the attestations check verifies signatures.
        let sig = "A".repeat(86) + "==";
        let attestations: Vec<_> = issuer
            .map(|i| json!({"issuer": i, "claim": {"platform": "documenso"}, "signature": sig}))
            .into_iter()
            .collect();
        let event = Event::from_value(
            json!({"event_id": format!("ev-{kind}-{actor}"), "document_id": "d", "kind": kind,
                   "document_hash": "aa".repeat(32),
                   "actor": {"id": actor, "display": "J*", "commitment": "bb".repeat(32)},
                   "attestations": attestations}),
            false,
        )
        .expect("event");
        LeafEntry { event, tenant: "t".into(), ledger_time: "2026-01-01T00:00:00.000000Z".into() }
    }

    fn judge(entries: &[LeafEntry]) -> Check {
        let indexed: Vec<(u64, &LeafEntry)> = (0..).zip(entries).collect();
        let times: Vec<(u64, &str)> =
            (0..).zip(entries.iter().map(|e| e.ledger_time.as_str())).collect();
        check(&indexed, &[], 0, &times)
    }

    #[test]
    fn signatures_reported_by_an_integration_need_no_signer_key_and_say_so() {
        let reported = [
            entry("registered", "owner", Some("integration:documenso:1")),
            entry("signed", "recipient-50", Some("integration:documenso:1")),
            entry("completed", "owner", Some("integration:documenso:1")),
        ];
        let c = judge(&reported);
        assert!(c.passed, "{}", c.detail);
        assert!(c.detail.contains("1 signature(s) are reported by the tenant's signing platform"));
        // The same signature vouched for by any other issuer is still held to T3 and T4.
        let vouched = [
            entry("registered", "owner", None),
            entry("signed", "recipient-50", Some("idp-gov")),
            entry("completed", "owner", None),
        ];
        let c = judge(&vouched);
        assert!(!c.passed && c.detail.contains("own key signer:recipient-50"), "{}", c.detail);
        // T5 still holds for reported signatures.
        let late = [
            entry("completed", "owner", Some("integration:documenso:1")),
            entry("signed", "recipient-50", Some("integration:documenso:1")),
        ];
        assert!(!judge(&late).passed);
    }
}
