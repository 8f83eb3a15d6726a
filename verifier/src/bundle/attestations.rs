//! The `attestations` check (one per entry): each issuer's signature
//! against the key your policy pins for it, else the key the bundle lists
//! (docs/trust-policy.md §2), or, for an SM2 issuer certified by X.509,
//! against its certificate chained to a `ca` root your policy pins at the
//! entry's time (never a root the bundle carries); and the timeline
//! entries and parties rebuilt from the readable entries.

use super::decoded::DecodedEntry;
use super::{list, BundleErased};
use crate::anykey::AnyVerifier;
use crate::attest::{identity_digest, Binding, Person, PERSON_WITHHELD};
use crate::check::{check_id, Check};
use crate::entry::{parse_ledger_time, EventKind, LeafEntry};
use crate::issuer::{check_attestation_in, Attested, CertifiedTrust, IssuerKeys};
use crate::policy::TrustPolicy;
use crate::report::{
    binding_words, describe_attestation, kind_words, AttestationFact, ErasedFact, IdentityFact,
    Party, TimelineEntry, IDENTITY_NOT_INCLUDED,
};
use crate::suite::Suite;
use crate::text::plain;
use crate::VerifyError;

/// The issuer name of the log's own attestations (the ledger's
/// `LOG_ISSUER`: registry changes, erasures, reports).
const LOG_ISSUER: &str = "evidence-ledger";

/// The attestations check of one entry, and its timeline entry.
///
/// `origin`: the log's origin as the bundle's checkpoint names it (what a
/// v2.1 attestation binds; its signature is the `log_signature` check's).
pub(super) fn check(
    e: &DecodedEntry,
    issuers: &IssuerKeys,
    policy: &TrustPolicy,
    origin: Option<&str>,
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
    let binding = Binding { tenant: &leaf.tenant, log: origin, person: person_of(e, policy) };
    let facts = attestation_facts(leaf, issuers, policy, &binding);
    let (passed, detail) = outcome(leaf.event.kind.as_str(), &facts);
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

/// Whether the check passes, and its detail: every attestation holds, or
/// which do not hold and why, or which cannot be checked (a v2.1 person
/// binding without its opening). An attestation that was not checked
/// fails the check: a verdict of VERIFIED needs every signature checked,
/// and an opening left out must not turn a bad signature into a pass.
fn outcome(kind: &str, facts: &[(AttestationFact, String)]) -> (bool, String) {
    let label = |f: &AttestationFact| format!("{} [{}]", f.description, f.binding);
    let held = |f: &AttestationFact, how: &str| format!("{} ({how})", label(f));
    let bad: Vec<String> = (facts.iter())
        .filter(|(f, _)| !f.valid && f.unchecked.is_none())
        .map(|(f, why)| format!("\"{}\": {why}", label(f)))
        .collect();
    let unchecked: Vec<String> =
        facts.iter().filter(|(f, _)| f.unchecked.is_some()).map(|(f, _)| label(f)).collect();
    if facts.is_empty() {
        return (true, format!("None are needed for this event ({kind}) and it carries none."));
    }
    if !bad.is_empty() {
        return (false, format!("Not every attestation holds: {}.", list(&bad)));
    }
    let valid: Vec<String> =
        facts.iter().filter(|(f, _)| f.valid).map(|(f, how)| held(f, how)).collect();
    if unchecked.is_empty() {
        let all = list(&valid);
        return (
            true,
            format!("Every attestation is signed by the key of the issuer it names: {all}."),
        );
    }
    let valid = if valid.is_empty() { String::new() } else { format!(" Held: {}.", list(&valid)) };
    (
        false,
        format!(
            "Not checked, so not verified: {} ({PERSON_WITHHELD}; the full bundle, with the identity openings, can be checked).{valid}",
            list(&unchecked)
        ),
    )
}

/// Each attestation of `leaf`, described and checked, with the reason it
/// failed or, when it holds, which key it was checked against.
fn attestation_facts(
    leaf: &LeafEntry,
    issuers: &IssuerKeys,
    policy: &TrustPolicy,
    binding: &Binding<'_>,
) -> Vec<(AttestationFact, String)> {
    let ev = &leaf.event;
    // A certificate is checked at the event's time: its ledger time.
    let at_unix = parse_ledger_time(&leaf.ledger_time).map_or(0, |us| us.div_euclid(1_000_000));
    let trust = CertifiedTrust::new(&policy.cas, at_unix);
    ev.attestations
        .iter()
        .enumerate()
        .map(|(j, a)| {
            let withheld = a.minor == 1 && binding.person == Person::Withheld;
            // Without the person the message cannot be made: nothing to
            // check (and the check fails, see `outcome`), as on the page.
            let (valid, how) = if withheld {
                (false, PERSON_WITHHELD.to_owned())
            } else {
                match attest_one(leaf, j, issuers, policy, &trust, binding) {
                    Ok(how) => (true, how),
                    Err(why) => (false, why),
                }
            };
            let person = binding.person != Person::NoIdentity;
            let fact = AttestationFact {
                issuer: a.issuer.clone(),
                claim: a.claim.clone(),
                description: describe_attestation(ev.kind, &ev.actor.id, &a.issuer, &a.claim),
                valid,
                version: a.version,
                minor: a.minor,
                binding: binding_words(a.version, a.minor, person).to_owned(),
                unchecked: withheld.then(|| PERSON_WITHHELD.to_owned()),
            };
            (fact, how)
        })
        .collect()
}

/// The keys an attestation's issuer may have signed with, and where each
/// comes from: for the log's own attestation of an `sm2-sm3` log, the SM2
/// log keys your policy pins (never a key the bundle lists); else the key
/// your policy pins for the issuer, else the key the bundle lists. None
/// for a certified issuer (its key is its certificate's).
fn candidate_keys(
    issuer: &str,
    issuers: &IssuerKeys,
    policy: &TrustPolicy,
) -> Vec<(AnyVerifier, &'static str)> {
    if issuer == LOG_ISSUER && policy.suite == Suite::Sm2Sm3 {
        let sm2 = policy.logs.iter().filter(|k| matches!(k, AnyVerifier::Sm2(_)));
        return sm2.map(|k| (k.clone(), "the SM2 log key your policy pins")).collect();
    }
    match (policy.issuer(issuer), issuers.get(issuer)) {
        (Some(k), _) => vec![(AnyVerifier::ed25519_issuer(issuer, *k), "the key your policy pins")],
        (None, Some(k)) => {
            vec![(k.clone(), "the key the bundle lists, as the log's registry had it")]
        }
        (None, None) => Vec::new(),
    }
}

/// Attestation `j` of `leaf` by the one rule ([`check_attestation_in`]), with
/// each candidate key, or its certificate against your policy's `ca`
/// roots: how it holds, or why not.
fn attest_one(
    leaf: &LeafEntry,
    j: usize,
    issuers: &IssuerKeys,
    policy: &TrustPolicy,
    trust: &CertifiedTrust<'_>,
    binding: &Binding<'_>,
) -> Result<String, String> {
    let a = &leaf.event.attestations[j];
    let issuer = plain(&a.issuer);
    let candidates = candidate_keys(&a.issuer, issuers, policy);
    if candidates.is_empty() {
        let none = IssuerKeys::new();
        return match check_attestation_in(&leaf.event, j, binding, &none, trust) {
            Ok(Attested::Certified(c)) => Ok(format!(
                "the key of certificate \"{}\" (serial {}), which chains to the CA {} your \
                 policy pins and was valid at the entry's time",
                plain(&c.subject),
                c.serial,
                plain(&c.ca)
            )),
            Ok(Attested::Key(_)) | Err(VerifyError::UnknownKey(_)) => {
                Err(format!("the bundle holds no key for issuer {issuer}"))
            }
            Err(e) => Err(plain(&e.to_string())),
        };
    }
    let mut last = "the key";
    for (key, source) in &candidates {
        let keys = IssuerKeys::from([(a.issuer.clone(), key.clone())]);
        match check_attestation_in(&leaf.event, j, binding, &keys, trust) {
            Ok(_) => return Ok(format!("{source}, {}", key.key_text())),
            Err(e @ VerifyError::Invalid { .. }) => return Err(plain(&e.to_string())),
            Err(_) => last = source,
        }
    }
    if a.issuer == LOG_ISSUER && policy.suite == Suite::Sm2Sm3 {
        return Err(format!(
            "the signature does not verify as SM2 with any log key your policy pins for {issuer}"
        ));
    }
    Err(format!("the signature does not verify with {last} for {issuer}"))
}

/// The person a v2.1 attestation of `e` binds: the digest of its identity
/// opening (with the policy's suite's hash), none when its record commits
/// to no identity, withheld when it commits to one the bundle does not
/// open (not disclosed, or erased).
fn person_of(e: &DecodedEntry, policy: &TrustPolicy) -> Person {
    match (&e.identity, e.identity_committed) {
        (Some(id), _) => {
            Person::Digest(identity_digest(policy.suite, &id.name, &id.id_type, &id.id_number))
        }
        (None, true) => Person::Withheld,
        (None, false) => Person::NoIdentity,
    }
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
