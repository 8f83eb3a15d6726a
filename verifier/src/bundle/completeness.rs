//! The `completeness` check (record v3, docs/bundle-format.md §7.5): each
//! v3 record names the leaf hash of its contract's previous entry and its
//! sequence number within the contract, so the bundle's chained entries,
//! in bundle order, must run without a gap from the contract's first
//! entry to the last one shown.
//!
//! - the first chained entry has seq 0; or seq n with at least n unchained
//!   entries before it in the bundle (erased, or written before chains),
//!   one of which is the leaf its `prev` names;
//! - each next chained entry has the next seq and names the leaf hash of
//!   the one before it; a larger seq is a gap (the missing numbers are
//!   named), a smaller or equal one is a reordered chain, the right seq
//!   with another `prev` a broken link;
//! - "through completion" when the chain is complete and holds the
//!   contract's `completed` entry: its seq seals how many entries the
//!   contract had at completion, and all of them are in the bundle.
//!
//! `report_issued` entries (written by the service whenever a report is
//! issued) are chained among themselves, not in the contract's chain, so
//! that a bundle may carry only the newest of them; this check leaves them
//! out. Bundles without any opened v3 record (v1, v2) have no such check:
//! their records commit to no chain, and they verify exactly as before.

use super::decoded::DecodedEntry;
use crate::check::{check_id, Check};
use crate::entry::EventKind;
use crate::report::CompletenessFact;
use crate::v3::Chain;

const TITLE: &str = "No entry of the contract was left out between the first and the last shown";

/// The check and its fact, when the bundle holds an opened v3 record.
pub(super) fn check(entries: &[DecodedEntry]) -> Option<(Check, CompletenessFact)> {
    let chained: Vec<(usize, &DecodedEntry, Chain)> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| !is_report(e))
        .filter_map(|(p, e)| e.chain.map(|c| (p, e, c)))
        .collect();
    let &(first_pos, first, first_chain) = chained.first()?;
    let &(_, last, last_chain) = chained.last()?;
    let mut gaps = Vec::new();
    if let Some(gap) = start_gap(&entries[..first_pos], first, &first_chain) {
        gaps.push(gap);
    }
    for pair in chained.windows(2) {
        let ((_, a, ac), (_, b, bc)) = (pair[0], pair[1]);
        if bc.seq <= ac.seq {
            gaps.push(format!(
                "entry {} (seq {}) comes after entry {} (seq {}): the chain is out of order",
                b.index, bc.seq, a.index, ac.seq
            ));
        } else if bc.seq > ac.seq + 1 {
            gaps.push(format!(
                "between entry {} (seq {}) and entry {} (seq {}) the contract's {} missing",
                a.index,
                ac.seq,
                b.index,
                bc.seq,
                missing(ac.seq + 1, bc.seq - 1)
            ));
        } else if bc.prev != a.leaf_hash {
            gaps.push(format!(
                "entry {} (seq {}) names as its previous leaf another leaf than entry {}: the link is broken",
                b.index, bc.seq, a.index
            ));
        }
    }
    let completed = chained
        .iter()
        .find(|(_, e, _)| e.leaf.as_ref().is_ok_and(|l| l.event.kind == EventKind::Completed));
    let complete = gaps.is_empty();
    let through_completion = complete && completed.is_some();
    let fact = CompletenessFact {
        complete,
        from_entry: first.index,
        to_entry: last.index,
        entries: last_chain.seq + 1,
        through_completion,
        gaps: gaps.clone(),
    };
    let detail = if !complete {
        format!("Not complete: {}.", super::list(&gaps))
    } else {
        let base = format!(
            "Complete from entry {} to entry {}: all {} entries of the contract up to entry {}, \
             each naming the leaf of the one before it",
            first.index,
            last.index,
            last_chain.seq + 1,
            last.index
        );
        match completed {
            Some((_, c, cc)) => format!(
                "{base}; through completion: the completed entry {} is the contract's entry \
                 number {}, and all {} are here.",
                c.index,
                cc.seq + 1,
                cc.seq + 1
            ),
            None => format!(
                "{base}. The bundle holds no completed entry: entries logged after entry {} \
                 would not show here.",
                last.index
            ),
        }
    };
    Some((Check::new(check_id::COMPLETENESS, None, complete, TITLE, detail), fact))
}

/// What is wrong with the start of the chain, if anything: the first
/// chained entry is the contract's first, or follows at least as many
/// unchained entries (erased, or older than chains) as its seq says, one
/// of which is the leaf its `prev` names.
fn start_gap(before: &[DecodedEntry], first: &DecodedEntry, chain: &Chain) -> Option<String> {
    if chain.seq == 0 {
        return None;
    }
    // Before the contract's first chained entry, a chained entry is a
    // report entry (its own chain): not counted.
    let counted = before.iter().filter(|e| e.chain.is_none()).count() as u64;
    let linked = chain.prev.is_some() && before.iter().any(|e| e.leaf_hash == chain.prev);
    if linked && counted >= chain.seq {
        return None;
    }
    if counted >= chain.seq {
        return Some(format!(
            "entry {} (seq {}) names as its previous leaf none of the entries before it",
            first.index, chain.seq
        ));
    }
    Some(format!(
        "before entry {} (seq {}) the contract's {} missing: the bundle holds {} entries before it",
        first.index,
        chain.seq,
        missing(0, chain.seq - 1),
        counted
    ))
}

/// A `report_issued` entry: the service's note that a report was issued,
/// chained among the contract's report entries (a bundle carries only the
/// newest of them), not in the contract's chain.
fn is_report(e: &DecodedEntry) -> bool {
    e.leaf.as_ref().is_ok_and(|l| l.event.kind == EventKind::ReportIssued)
}

/// "entry with seq N is" or "entries with seq N to M are".
fn missing(from: u64, to: u64) -> String {
    if from == to {
        format!("entry with seq {from} is")
    } else {
        format!("entries with seq {from} to {to} are")
    }
}
