//! The checks of a bundle against itself and the file you hold:
//! `bundle_format`, `same_document`, `document_hash`, `inclusion`.

use std::collections::HashMap;

use super::decoded::{Decoded, DecodedEntry};
use super::{list, Bundle};
use crate::anykey::AnyVerifier;
use crate::check::{check_id, Check};
use crate::suite::Suite;
use crate::text::plain;
use crate::Hash;

/// Title of the `bundle_format` check.
pub(super) const FORMAT_TITLE: &str = "The evidence bundle is complete and well-formed";

pub(super) fn format_check(bundle: &Bundle, d: &Decoded) -> Check {
    let (passed, detail) = if d.problems.is_empty() {
        (
            true,
            format!(
                "The bundle is a well-formed {} file: {} entries, {} issuer keys, {} witness keys.",
                plain(&bundle.format),
                bundle.entries.len(),
                bundle.issuers.len(),
                bundle.witnesses.len()
            ),
        )
    } else {
        (false, format!("The bundle is damaged: {}.", list(&d.problems)))
    };
    Check::new(check_id::BUNDLE_FORMAT, None, passed, FORMAT_TITLE, detail)
}

pub(super) fn same_document_check(bundle: &Bundle, d: &Decoded) -> Check {
    // Erased entries have no content to compare: their marker ties them to
    // the erasure entry of this contract (the `commitments` check).
    let mut problems: Vec<String> = d
        .entries
        .iter()
        .filter(|e| e.leaf.is_err() && !e.accounted())
        .map(|e| format!("entry {} cannot be read", e.index))
        .collect();
    let entries = d.readable();
    let redacted = d.redacted();
    let first_hash =
        entries.first().or_else(|| redacted.first()).map(|(_, l)| l.event.document_hash);
    // A redacted record still names its tenant, contract and document.
    for (i, l) in &redacted {
        if l.tenant != bundle.tenant
            || l.event.document_id != bundle.document_id
            || Some(l.event.document_hash) != first_hash
        {
            problems.push(format!("entry {i} (redacted) is about another contract or document"));
        }
    }
    let mut actors: HashMap<&str, (&str, &str)> = HashMap::new();
    let mut event_ids: HashMap<&str, u64> = HashMap::new();
    for (i, l) in &entries {
        let ev = &l.event;
        if l.tenant != bundle.tenant {
            problems.push(format!("entry {i} belongs to another tenant"));
        }
        if ev.document_id != bundle.document_id {
            problems.push(format!("entry {i} is about contract {:?}", ev.document_id));
        }
        if Some(ev.document_hash) != first_hash {
            problems.push(format!(
                "entry {i} is about another document ({})",
                ev.document_hash.to_hex()
            ));
        }
        let who = (ev.actor.display.as_str(), ev.actor.commitment.as_str());
        if *actors.entry(&ev.actor.id).or_insert(who) != who {
            problems
                .push(format!("entry {i} gives party {} another name or commitment", ev.actor.id));
        }
        if let Some(j) = event_ids.insert(&ev.event_id, *i) {
            problems.push(format!("entries {j} and {i} repeat event id {}", ev.event_id));
        }
    }
    let title = "All entries concern this one contract";
    let detail = if problems.is_empty() {
        let erased = match d.erased() {
            0 => String::new(),
            n => format!(
                " The records of {n} further entries were erased; their erased markers name the erasure entry of this contract."
            ),
        };
        let erased = match redacted.len() {
            0 => erased,
            n => format!(
                "{erased} The records of {n} further entries concern it too; a subject erasure redacted their actor and attestations."
            ),
        };
        format!(
            "All {} entries concern contract {} of tenant {}, one document (SHA-256 {}), and each party appears under one name.{erased}",
            entries.len(),
            plain(&bundle.document_id),
            plain(&bundle.tenant),
            first_hash.map(|h| h.to_hex()).unwrap_or_default()
        )
    } else {
        format!("The entries do not all concern this contract: {}.", list(&problems))
    };
    Check::new(check_id::SAME_DOCUMENT, None, problems.is_empty(), title, detail)
}

pub(super) fn document_hash_check(supplied: &Hash, d: &Decoded) -> Check {
    let mut entries = d.readable();
    entries.extend(d.redacted());
    let mismatched: Vec<String> = entries
        .iter()
        .filter(|(_, l)| l.event.document_hash != *supplied)
        .map(|(i, _)| i.to_string())
        .collect();
    let evidence = entries
        .first()
        .map(|(_, l)| l.event.document_hash.to_hex())
        .unwrap_or_else(|| "unknown (no entry can be read)".into());
    // Erased entries have no document hash left to compare.
    let passed = !entries.is_empty()
        && mismatched.is_empty()
        && entries.len() == d.entries.len() - d.erased();
    let verdict = if passed {
        "they match.".to_owned()
    } else if mismatched.is_empty() {
        "some entries cannot be read, so the match cannot be confirmed.".to_owned()
    } else {
        format!(
            "they do NOT match (entries {}): the evidence is about another file.",
            list(&mismatched)
        )
    };
    let detail = format!(
        "The file you supplied has SHA-256 {}; the evidence is about {evidence}: {verdict}",
        supplied.to_hex()
    );
    Check::new(
        check_id::DOCUMENT_HASH,
        None,
        passed,
        "The file you supplied is the signed document",
        detail,
    )
}

pub(super) fn inclusion_check(e: &DecodedEntry, d: &Decoded) -> Check {
    let title = format!("Entry {} is in the log", e.index);
    let outcome = match (&e.leaf_hash, &e.proof, &d.checkpoint) {
        (None, _, _) => {
            Err("Its content cannot be read, so it cannot be located in the log.".to_owned())
        }
        (_, None, _) => Err("Its proof contains a malformed hash.".to_owned()),
        (_, _, Err(c)) => Err(format!("There is no readable checkpoint to check it against: {c}.")),
        (Some(h), Some(p), Ok(cp)) => {
            let c = &cp.checkpoint;
            if e.index >= c.size {
                Err(format!(
                    "The checkpoint covers only {} entries, so it cannot contain entry {}.",
                    c.size, e.index
                ))
            } else {
                let suite = d.log_key.as_ref().map_or(Suite::Ed25519Sha256, AnyVerifier::suite);
                suite
                    .verify_inclusion(h, e.index, c.size, p, &c.root)
                    .map(|()| format!(
                        "The entry's hash, combined with the {} hashes of its proof, gives the root hash of the checkpoint of {} entries: the log holds this exact entry at position {}.",
                        p.len(), c.size, e.index
                    ))
                    .map_err(|err| format!(
                        "The entry and its proof do not lead to the checkpoint's root hash ({err}): the entry or its proof was altered."
                    ))
            }
        }
    };
    let passed = outcome.is_ok();
    let detail = outcome.unwrap_or_else(|e| e);
    Check::new(check_id::INCLUSION, Some(e.index.to_string()), passed, title, detail)
}
