//! The `attestations` check (one per entry): each issuer's signature
//! against the key your policy pins for it, else the key the bundle lists
//! (docs/trust-policy.md §2); and the timeline entries and parties rebuilt
//! from the readable entries.

use base64::Engine as _;

use super::decoded::DecodedEntry;
use super::{list, BundleErased};
use crate::anykey::AnyVerifier;
use crate::check::{check_id, Check};
use crate::entry::{verify_attestation, EventKind, IssuerKeys, LeafEntry};
use crate::policy::TrustPolicy;
use crate::report::{
    binding_words, describe_attestation, kind_words, AttestationFact, ErasedFact, IdentityFact,
    Party, TimelineEntry, IDENTITY_NOT_INCLUDED,
};
use crate::suite::Suite;
use crate::text::plain;

/// The issuer name of the log's own attestations (the ledger's
/// `LOG_ISSUER`: registry changes, erasures, reports).
const LOG_ISSUER: &str = "evidence-ledger";

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The attestations check of one entry, and its timeline entry.
pub(super) fn check(
    e: &DecodedEntry,
    issuers: &IssuerKeys,
    policy: &TrustPolicy,
) -> (Check, Option<TimelineEntry>) {
    let title = format!("The attestations of entry {} are genuine", e.index);
    let subject = Some(e.index.to_string());
    let leaf = match &e.leaf {
        Ok(l) => l,
        Err(_) => {
            let detail = "Its content cannot be read, so its attestations cannot be checked.";
            return (Check::new(check_id::ATTESTATIONS, subject, false, title, detail), None);
        }
    };
    let label = |f: &AttestationFact| format!("{} [{}]", f.description, f.binding);
    let facts = attestation_facts(leaf, issuers, policy);
    let bad: Vec<String> = facts
        .iter()
        .filter(|(f, _)| !f.valid)
        .map(|(f, why)| format!("\"{}\": {why}", label(f)))
        .collect();
    let passed = bad.is_empty();
    let detail = if facts.is_empty() {
        format!(
            "None are needed for this event ({}) and it carries none.",
            leaf.event.kind.as_str()
        )
    } else if passed {
        let all: Vec<String> =
            facts.iter().map(|(f, how)| format!("{} ({how})", label(f))).collect();
        format!("Every attestation is signed by the key of the issuer it names: {}.", list(&all))
    } else {
        format!("Not every attestation holds: {}.", list(&bad))
    };
    let mut entry = timeline_entry(e.index, leaf, facts.into_iter().map(|(f, _)| f).collect());
    entry.identity = e.identity.as_ref().map(|id| IdentityFact {
        name: id.name.clone(),
        id_type: id.id_type.clone(),
        id_number: id.id_number.clone(),
        phone: id.phone.clone(),
    });
    if e.identity.is_none() && e.identity_committed {
        entry.identity_note = Some(IDENTITY_NOT_INCLUDED.to_owned());
    }
    (Check::new(check_id::ATTESTATIONS, subject, passed, title, detail), Some(entry))
}

/// Each attestation of `leaf`, described and checked, with the reason it
/// failed or, when it holds, which key it was checked against.
fn attestation_facts(
    leaf: &LeafEntry,
    issuers: &IssuerKeys,
    policy: &TrustPolicy,
) -> Vec<(AttestationFact, String)> {
    let ev = &leaf.event;
    ev.attestations
        .iter()
        .enumerate()
        .map(|(j, a)| {
            let issuer = plain(&a.issuer);
            if let Some(checked) = sm2_log_attestation(leaf, j, policy) {
                let fact = AttestationFact {
                    issuer: a.issuer.clone(),
                    claim: a.claim.clone(),
                    description: describe_attestation(ev.kind, &ev.actor.id, &a.issuer, &a.claim),
                    valid: checked.is_ok(),
                    version: a.version,
                    binding: binding_words(a.version).to_owned(),
                };
                return (fact, checked.unwrap_or_else(|e| e));
            }
            let (key, source) = match (policy.issuer(&a.issuer), issuers.get(&a.issuer)) {
                (Some(k), _) => (Some(k), "the key your policy pins"),
                (None, Some(k)) => {
                    (Some(k), "the key the bundle lists, as the log's registry had it")
                }
                (None, None) => (None, ""),
            };
            let (valid, how) = match key {
                None => (false, format!("the bundle holds no key for issuer {issuer}")),
                Some(k) => match verify_attestation(
                    k,
                    &ev.attestation_message(j, &leaf.tenant),
                    &a.signature,
                ) {
                    Ok(()) => (true, format!("{source}, {}", B64.encode(k.as_bytes()))),
                    Err(_) => {
                        (false, format!("the signature does not verify with {source} for {issuer}"))
                    }
                },
            };
            let fact = AttestationFact {
                issuer: a.issuer.clone(),
                claim: a.claim.clone(),
                description: describe_attestation(ev.kind, &ev.actor.id, &a.issuer, &a.claim),
                valid,
                version: a.version,
                binding: binding_words(a.version).to_owned(),
            };
            (fact, how)
        })
        .collect()
}

/// The log's own attestation (issuer [`LOG_ISSUER`]) of an entry of an
/// `sm2-sm3` log: SM2 `r || s` under a log key your policy pins
/// (crate::sm2attest, as ingest checks it), never a key the bundle lists.
/// `None` for every other attestation, and under an Ed25519 policy.
fn sm2_log_attestation(
    leaf: &LeafEntry,
    j: usize,
    policy: &TrustPolicy,
) -> Option<Result<String, String>> {
    let a = &leaf.event.attestations[j];
    if a.issuer != LOG_ISSUER || policy.suite != Suite::Sm2Sm3 {
        return None;
    }
    let msg = leaf.event.attestation_message(j, &leaf.tenant);
    let ok = policy.logs.iter().find_map(|k| match k {
        AnyVerifier::Sm2(v) => v.verify_raw(&msg, &a.signature).ok().map(|()| v.to_vkey()),
        AnyVerifier::Ed25519(_) => None,
    });
    Some(match ok {
        Some(vkey) => Ok(format!("the SM2 log key your policy pins, {vkey}")),
        None => Err(format!(
            "the signature does not verify as SM2 with any log key your policy pins for {}",
            plain(&a.issuer)
        )),
    })
}

fn timeline_entry(
    index: u64,
    leaf: &LeafEntry,
    attestations: Vec<AttestationFact>,
) -> TimelineEntry {
    let ev = &leaf.event;
    TimelineEntry {
        index,
        ledger_time: leaf.ledger_time.clone(),
        kind: ev.kind.as_str().to_owned(),
        summary: format!(
            "{} ({}): {}",
            plain(&ev.actor.display),
            plain(&ev.actor.id),
            kind_words(ev.kind)
        ),
        event_id: ev.event_id.clone(),
        actor_id: ev.actor.id.clone(),
        actor_display: ev.actor.display.clone(),
        attestations,
        identity: None,
        identity_note: None,
        erased: None,
    }
}

/// The timeline entry of an entry whose record was erased: its leaf's time
/// and what its marker says (checked by `commitments`).
pub(super) fn erased_entry(e: &DecodedEntry, m: &BundleErased) -> TimelineEntry {
    let words = super::commitments::erased_words(m);
    TimelineEntry {
        index: e.index,
        ledger_time: e.leaf_time.clone().unwrap_or_default(),
        kind: String::new(),
        summary: format!("record {words} (erasure entry {})", m.entry),
        event_id: String::new(),
        actor_id: String::new(),
        actor_display: String::new(),
        attestations: Vec::new(),
        identity: None,
        identity_note: None,
        erased: Some(ErasedFact {
            at: m.at.clone(),
            by: m.by.clone(),
            reason: m.reason.clone(),
            entry: m.entry,
            summary: words,
        }),
    }
}

/// The timeline entry of an entry whose record a subject erasure
/// redacted: its kind, time and event id; no actor, no attestations.
pub(super) fn redacted_entry(index: u64, leaf: &LeafEntry) -> TimelineEntry {
    let ev = &leaf.event;
    TimelineEntry {
        index,
        ledger_time: leaf.ledger_time.clone(),
        kind: ev.kind.as_str().to_owned(),
        summary: format!(
            "{}: {} ({})",
            crate::v2::REDACTED_ACTOR,
            kind_words(ev.kind),
            super::commitments::REDACTED_WORDS
        ),
        event_id: ev.event_id.clone(),
        actor_id: crate::v2::REDACTED_ACTOR.into(),
        actor_display: crate::v2::REDACTED_ACTOR.into(),
        attestations: Vec::new(),
        identity: None,
        identity_note: None,
        erased: None,
    }
}

pub(super) fn parties(entries: &[(u64, &LeafEntry)]) -> Vec<Party> {
    let mut out: Vec<Party> = Vec::new();
    for (_, l) in entries {
        let a = &l.event.actor;
        let signed = l.event.kind == EventKind::Signed;
        match out.iter_mut().find(|p| p.id == a.id) {
            Some(p) => p.signed |= signed,
            None => out.push(Party {
                id: a.id.clone(),
                display: a.display.clone(),
                commitment: a.commitment.clone(),
                signed,
            }),
        }
    }
    out
}
