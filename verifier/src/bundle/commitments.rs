//! The `commitments` check of a v2 bundle (one per entry): a v2 leaf shows
//! only a commitment and a time, so an entry says something only once its
//! record opens the leaf (docs/evidence-v2.md, docs/bundle-format.md §7).
//!
//! - a record must be a valid `evidence-record/v2` whose commitment is the
//!   leaf's; the entry's content is then the record's event and tenant, at
//!   the leaf's time, and every other check reads it as it reads a v1 leaf;
//! - an identity opening must open the record's `identity_commitment`, and
//!   one actor id opens to one person (name, ID type and number) across
//!   the contract: two people behind one actor would make "who signed"
//!   depend on which entry a reader looks at;
//! - an `erased` marker must name an entry of the bundle, with a larger
//!   index, that is an opened v2 `erased` entry of the bundle's tenant and
//!   contract, a document erasure, whose ledger time, actor id and reason
//!   the marker repeats, and whose claim lists exactly the entries of the
//!   bundle whose markers name it (their number, and the SHA-256 of their
//!   indices): a leaf taken from elsewhere in the log cannot pass for an
//!   erased entry of the contract;
//! - a v2 leaf with neither record nor marker cannot be opened: the entry is
//!   unreadable, as an unparsable v1 leaf is;
//! - a v1 leaf is in clear: nothing to open, and none of the three members
//!   may stand beside it (that is a `bundle_format` problem).

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::decoded::{leaf_bytes, undecoded, DecodedEntry, Opening};
use super::{list, Bundle, BundleEntry, BundleErased};
use crate::check::{check_id, Check};
use crate::entry::{Event, EventKind};
use crate::text::plain;
use crate::v2::{open_identity, open_leaf, parse_any_leaf, Leaf};
use crate::Hash;

/// The words a report uses for an erased entry.
pub(super) fn erased_words(m: &BundleErased) -> String {
    format!("erased on {}, by {}, reason {}", plain(&m.at), plain(&m.by), plain(&m.reason))
}

/// What a report says of an entry whose record a subject erasure redacted.
pub(super) const REDACTED_WORDS: &str =
    "its actor and attestations were erased by a subject erasure; the record still opens the leaf";

/// A redacted name in words.
fn redacted_words(name: &str) -> &'static str {
    match name {
        "event.actor" => "actor (id, masked name, commitment)",
        _ => "attestations (issuers, claims, signatures)",
    }
}

/// Decodes one entry of a v2 bundle and opens it as far as it opens.
/// Leaves that cannot be read at all are `bundle_format` problems; what
/// does not open is the `commitments` check's.
pub(super) fn decode_entry_v2(e: &BundleEntry, problems: &mut Vec<String>) -> DecodedEntry {
    let bytes = leaf_bytes(e);
    let mut d = undecoded(e, bytes.as_deref());
    let mut o = Opening::default();
    let unreadable = "its leaf cannot be read, so nothing can be opened".to_owned();
    let Some(b) = &bytes else {
        problems.push(format!("entry {}: the leaf is not standard base64 (or too large)", e.index));
        o.problems.push(unreadable);
        d.opening = Some(o);
        return d;
    };
    match parse_any_leaf(b) {
        Err(err) => {
            let reason = format!("the leaf is not a valid ledger entry ({err})");
            problems.push(format!("entry {}: {reason}", e.index));
            d.leaf = Err(reason);
            o.problems.push(unreadable);
        }
        Ok(Leaf::V1(l)) => {
            d.leaf_time = Some(l.ledger_time.clone());
            if e.record.is_some() || e.identity.is_some() || e.erased.is_some() {
                problems.push(format!(
                    "entry {}: its leaf is v1 (the event in clear), so it has no record, identity opening or erased marker",
                    e.index
                ));
                o.problems.push(
                    "its leaf is v1 (the event in clear): the record, identity opening or erased marker beside it opens nothing"
                        .into(),
                );
            } else {
                o.found
                    .push("its leaf is v1: the event is in clear, there is nothing to open".into());
            }
            d.leaf = Ok(l);
        }
        Ok(Leaf::V2(l)) => {
            d.leaf_time = Some(l.ledger_time.clone());
            match (&e.record, &e.erased) {
                (Some(record), _) => match open_leaf(&l, record) {
                    Ok((entry, rec)) => {
                        o.opened_v2 = true;
                        o.found.push(format!(
                            "its record (tenant {}) opens the leaf's commitment {}",
                            plain(&rec.tenant),
                            l.commitment.to_base64()
                        ));
                        d.identity_committed = rec.identity_commitment.is_some();
                        d.chain = rec.chain;
                        if !rec.redacted.is_empty() {
                            o.found.push(format!(
                                "a subject erasure redacted its {} (their digests stand in for them, so the record still opens the leaf)",
                                list(&rec.redacted.iter().map(|n| redacted_words(n).to_owned()).collect::<Vec<_>>())
                            ));
                            d.redacted = Some((entry.clone(), rec.redacted.clone()));
                        }
                        match &e.identity {
                            Some(opening) => match open_identity(&rec, opening) {
                                Ok(id) => {
                                    o.found.push(
                                        "its identity opening opens the record's identity commitment"
                                            .into(),
                                    );
                                    d.identity = Some(id);
                                }
                                Err(err) => o.problems.push(format!(
                                    "its identity opening does not open the record ({})",
                                    plain(&err.to_string())
                                )),
                            },
                            None if d.identity_committed => o.found.push(
                                "the record commits to an identity; identity opening not included (not disclosed or erased)"
                                    .into(),
                            ),
                            None => {}
                        }
                        d.leaf = if d.redacted.is_some() {
                            Err(REDACTED_WORDS.into())
                        } else {
                            Ok(entry)
                        };
                    }
                    Err(err) => {
                        let reason = format!(
                            "its record does not open its leaf ({})",
                            plain(&err.to_string())
                        );
                        o.problems.push(reason.clone());
                        d.leaf = Err(reason);
                    }
                },
                (None, Some(marker)) => {
                    d.erased = Some(marker.clone());
                    d.leaf = Err(format!("its record was {}", erased_words(marker)));
                }
                (None, None) => {
                    let reason =
                        "its leaf is v2 and the bundle holds neither its record nor an erased marker";
                    o.problems.push(reason.into());
                    d.leaf = Err(reason.into());
                }
            }
        }
    }
    d.opening = Some(o);
    d
}

/// The entries of a bundle whose markers name one erasure entry: their
/// number, and the SHA-256 of their indices ([`erased_indices_sha256`]).
struct Marked {
    count: usize,
    sha256: String,
}

/// Standard base64 of SHA-256 over the 8-byte big-endian `indices` in
/// ascending order: what a document erasure's claim gives as
/// `entries_sha256` (docs/bundle-format.md §7.3).
fn erased_indices_sha256(indices: &[u64]) -> String {
    let mut sorted = indices.to_vec();
    sorted.sort_unstable();
    let bytes: Vec<u8> = sorted.iter().flat_map(|i| i.to_be_bytes()).collect();
    Hash::digest(&bytes).to_base64()
}

/// What the document erasure claim of an `erased` event says.
struct DocumentErasure<'a> {
    reason: &'a str,
    /// `entries` and `entries_sha256`, when both are there with their types.
    entries: Option<(u64, &'a str)>,
}

/// The first claim `{"erasure": {"scope": "document", "reason", ...}}`
/// among the event's attestations.
fn document_erasure(ev: &Event) -> Option<DocumentErasure<'_>> {
    ev.attestations.iter().find_map(|a| {
        let erasure = a.claim.get("erasure")?;
        (erasure.get("scope")?.as_str()? == "document").then_some(())?;
        let reason = erasure.get("reason")?.as_str()?;
        let count = erasure.get("entries").and_then(Value::as_u64);
        let sha256 = erasure.get("entries_sha256").and_then(Value::as_str);
        Some(DocumentErasure { reason, entries: count.zip(sha256) })
    })
}

/// One actor, one person: every identity opening of an actor id must name
/// the person (name, ID type and number) its first opening names.
pub(super) fn check_identities(entries: &mut [DecodedEntry]) {
    let mut first: HashMap<String, (u64, (String, String, String))> = HashMap::new();
    for e in entries.iter_mut() {
        let (Some(id), Ok(leaf)) = (&e.identity, &e.leaf) else { continue };
        let person = (id.name.clone(), id.id_type.clone(), id.id_number.clone());
        let actor = leaf.event.actor.id.clone();
        match first.get(&actor) {
            None => {
                first.insert(actor, (e.index, person));
            }
            Some((j, p)) if *p != person => {
                let problem = format!(
                    "its identity opening names another person than entry {j}'s for the same \
                     actor {} (one actor is one person in a contract)",
                    plain(&actor)
                );
                if let Some(o) = e.opening.as_mut() {
                    o.problems.push(problem);
                }
            }
            Some(_) => {}
        }
    }
}

/// Checks every erased marker against the erasure entry it names.
pub(super) fn check_markers(bundle: &Bundle, entries: &mut [DecodedEntry]) {
    // Positions by index (the first, should an index repeat): a bundle of
    // 100,000 markers must not cost 10^10 comparisons.
    let mut position: HashMap<u64, usize> = HashMap::with_capacity(entries.len());
    for (p, e) in entries.iter().enumerate() {
        position.entry(e.index).or_insert(p);
    }
    // The entries each erasure entry is said to have erased, hashed once.
    let mut named: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for e in entries.iter() {
        if let Some(m) = &e.erased {
            named.entry(m.entry).or_default().push(e.index);
        }
    }
    let marked: HashMap<u64, Marked> = named
        .into_iter()
        .map(|(k, s)| (k, Marked { count: s.len(), sha256: erased_indices_sha256(&s) }))
        .collect();
    for i in 0..entries.len() {
        let Some(marker) = entries[i].erased.clone() else { continue };
        let target = position.get(&marker.entry).map(|&p| &entries[p]);
        let others = marked.get(&marker.entry);
        let result = marker_problems(bundle, entries[i].index, &marker, target, others);
        if let Some(o) = entries[i].opening.as_mut() {
            match result {
                Ok(()) => o.found.push(format!(
                    "its record was {}: entry {} of this bundle, the erasure, says so and lists it among the entries it erased",
                    erased_words(&marker),
                    marker.entry
                )),
                Err(p) => o.problems.extend(p),
            }
        }
    }
}

fn marker_problems(
    bundle: &Bundle,
    own: u64,
    m: &BundleErased,
    target: Option<&DecodedEntry>,
    marked: Option<&Marked>,
) -> Result<(), Vec<String>> {
    let k = m.entry;
    let Some(t) = target else {
        return Err(vec![format!(
            "its erased marker names entry {k}, which this bundle does not hold"
        )]);
    };
    let mut problems = Vec::new();
    if k <= own {
        problems.push(format!("its erased marker names entry {k}, which does not come after it"));
    }
    let opened = t.opening.as_ref().is_some_and(|o| o.opened_v2);
    let leaf = match &t.leaf {
        Ok(l) if opened => l,
        _ => {
            problems.push(format!(
                "its erased marker names entry {k}, which is not a v2 entry opened by its record"
            ));
            return Err(problems);
        }
    };
    let ev = &leaf.event;
    if ev.kind != EventKind::Erased {
        problems.push(format!(
            "its erased marker names entry {k}, which is a {} entry, not an erasure",
            ev.kind.as_str()
        ));
        return Err(problems);
    }
    if leaf.tenant != bundle.tenant || ev.document_id != bundle.document_id {
        problems.push(format!(
            "its erased marker names entry {k}, the erasure of another tenant or contract"
        ));
    }
    match document_erasure(ev) {
        None => problems.push(format!(
            "its erased marker names entry {k}, which is not the erasure of a document"
        )),
        Some(claim) => {
            if claim.reason != m.reason {
                problems.push(format!(
                    "its erased marker gives the reason {:?}; entry {k} gives {:?}",
                    plain(&m.reason),
                    plain(claim.reason)
                ));
            }
            match (claim.entries, marked) {
                (None, _) => problems.push(format!(
                    "its erased marker names entry {k}, whose erasure claim does not list the entries it erased (entries, entries_sha256), so it confirms no marker"
                )),
                (Some((n, b)), Some(s))
                    if u64::try_from(s.count).is_ok_and(|c| c == n) && s.sha256 == b => {}
                (Some((n, b)), s) => {
                    let (count, sha256) = s.map_or((0, ""), |s| (s.count, s.sha256.as_str()));
                    problems.push(format!(
                        "the erasure entry {k} lists {n} erased entries (SHA-256 of their indices {}); the bundle marks {count} entries as erased by it (SHA-256 {sha256}), not the same ones",
                        plain(b)
                    ));
                }
            }
        }
    }
    if m.at != leaf.ledger_time {
        problems.push(format!(
            "its erased marker says it was erased at {}; entry {k} was logged at {}",
            plain(&m.at),
            plain(&leaf.ledger_time)
        ));
    }
    if m.by != ev.actor.id {
        problems.push(format!(
            "its erased marker says it was erased by {}; entry {k} was made by {}",
            plain(&m.by),
            plain(&ev.actor.id)
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// The `commitments` check of one entry.
pub(super) fn check(e: &DecodedEntry) -> Check {
    let title = format!("The record of entry {} matches its public leaf", e.index);
    let subject = Some(e.index.to_string());
    let Some(o) = &e.opening else {
        let detail = "The entry was not decoded as an entry of a v2 bundle.";
        return Check::new(check_id::COMMITMENTS, subject, false, title, detail);
    };
    let passed = o.problems.is_empty();
    let detail = if passed {
        let mut s = list(&o.found);
        if let Some(first) = s.get(..1) {
            s = first.to_uppercase() + &s[1..];
        }
        format!("{s}.")
    } else {
        format!("The entry does not open as it claims: {}.", list(&o.problems))
    };
    Check::new(check_id::COMMITMENTS, subject, passed, title, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of docs/bundle-format.md §7.3 (computed with Python's
    /// hashlib), and the order of the indices does not matter.
    #[test]
    fn erased_indices_hash_is_the_documented_one() {
        let want = "DGO2wQpDOBqDLb1rHz2rc/bfDEg5PAmIfbDdyTvQzDU=";
        assert_eq!(erased_indices_sha256(&[2, 5, 8]), want);
        assert_eq!(erased_indices_sha256(&[8, 2, 5]), want);
        assert_eq!(erased_indices_sha256(&[0, 1]), "fDzNELt+w3tG03kmrmJ0Jn8AejSurxXIgqcVp/MwBSk=");
    }
}
