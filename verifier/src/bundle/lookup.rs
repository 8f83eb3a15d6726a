//! A `GET /v1/lookup` answer (`evidence-lookup/v2`), checked as the page
//! checks it (web/verifier/lookup.js is the twin): the answer's shape, the
//! checkpoint's log signature and cosignatures against the policy, each
//! entry's inclusion, and each entry's `lookup_summary`.
//!
//! What ties an entry to the file: a v1 leaf holds the document hash in
//! clear; a v3 leaf's disclosures (document hash and kind, with the
//! digests of every other field) recompute its commitment, so the log's
//! signature covers the disclosed hash; a v2 leaf, or a v3 leaf without
//! disclosures, is tied to the file by the server's word alone. An answer
//! with such an entry is never `verified`: when every check passes its
//! verdict is `server_vouched`.

use serde_json::{Map, Value};

use super::decoded::{leaf_bytes, undecoded, DecodedEntry};
use super::{content, decode, signatures, Bundle, BundleEntry, BundleWitness, VerifyOptions};
use super::{BUNDLE_LIMITS, FORMAT_V1, MAX_WITNESSES};
use crate::anykey::AnyVerifier;
use crate::check::{check_id, Check, VerdictStatus};
use crate::entry::parse_ledger_time;
use crate::jcs;
use crate::proof::MAX_PROOF_HASHES;
use crate::report::{CheckpointFact, Report};
use crate::suite::Suite;
use crate::text::plain;
use crate::v2::{parse_any_leaf, Leaf};
use crate::v3::check_partial_in;
use crate::Hash;

/// `format` of a lookup answer.
pub const LOOKUP_FORMAT_V2: &str = "evidence-lookup/v2";
/// Most entries in one lookup answer (a page holds 100).
pub const MAX_LOOKUP_ENTRIES: usize = 1000;
const MAX_SUMMARY_ISSUERS: usize = 16;
const MAX_DISCLOSURES: usize = 16;
const TITLE: &str = "The lookup answer is well-formed";

/// One entry of the answer, as the checks read it.
struct Item {
    index: u64,
    leaf: String,
    inclusion: Vec<String>,
    kind: String,
    ledger_time: String,
    /// Record v3: (disclosures, digests).
    partial: Option<(Value, Value)>,
}

/// The answer, as far as the checks read it.
struct Answer {
    document_hash: String,
    bundle: Bundle,
    items: Vec<Item>,
}

/// Verifies a lookup answer against `options.policy` (`options.document_hash`:
/// the file's SHA-256, which the answer must be about). Never panics.
pub fn verify_lookup_bytes(bytes: &[u8], options: &VerifyOptions) -> Report {
    let mut report = Report::new("", "", "");
    report.trust = super::trust_fact(options);
    let answer = match jcs::parse(bytes, &BUNDLE_LIMITS)
        .map_err(|e| e.to_string())
        .and_then(|v| shape(&v))
    {
        Ok(a) => a,
        Err(why) => {
            report.checks.push(Check::new(
                check_id::BUNDLE_FORMAT,
                None,
                false,
                TITLE,
                format!("The file is not a readable lookup answer: {}.", plain(&why)),
            ));
            return report.finish();
        }
    };
    report.origin = answer.bundle.origin.clone();
    report.document_hash = Some(answer.document_hash.clone());
    let mut d = decode::decode(&answer.bundle);
    // An sm2-sm3 log's leaf hashes are SM3 (the log key's type names the
    // suite), as decode::decode does for a bundle's entries.
    let suite = d.log_key.as_ref().map_or(Suite::Ed25519Sha256, AnyVerifier::suite);
    let mut leaves = Vec::with_capacity(answer.items.len());
    let mut prev: Option<u64> = None;
    for it in &answer.items {
        if prev.is_some_and(|p| it.index <= p) {
            d.problems.push(format!("entry {} is out of order or repeated", it.index));
        }
        prev = Some(it.index);
        let (mut entry, leaf) = decode_item(it, &mut d.problems);
        if suite != Suite::Ed25519Sha256 {
            entry.leaf_hash = leaf_bytes(&BundleEntry::new(it.index, it.leaf.clone(), vec![]))
                .map(|b| suite.leaf_hash(&b));
        }
        d.entries.push(entry);
        leaves.push(leaf);
    }
    if let Some(h) = options.document_hash.filter(|h| h.to_hex() != answer.document_hash) {
        d.problems.push(format!(
            "the answer is about the document {}, your file's SHA-256 is {}",
            plain(&answer.document_hash),
            h.to_hex()
        ));
    }
    let detail = if d.problems.is_empty() {
        format!(
            "The answer lists {} entries and {} witnesses, each readable.",
            answer.items.len(),
            answer.bundle.witnesses.len()
        )
    } else {
        format!("The answer is damaged: {}.", super::list(&d.problems))
    };
    let ok = d.problems.is_empty();
    report.checks.push(Check::new(check_id::BUNDLE_FORMAT, None, ok, TITLE, detail));
    let policy = &options.policy;
    report.checks.push(signatures::log_signature_check(&answer.bundle, &d, policy));
    let newest = leaves
        .iter()
        .flatten()
        .filter_map(|l| parse_ledger_time(l.ledger_time()).ok())
        .max()
        .map(|micros| micros.div_euclid(1_000_000));
    let witnessed = signatures::witness_checks(&d, policy, newest, options.now());
    report.checks.extend(witnessed.checks);
    report.witnesses = witnessed.facts;
    report.claims = witnessed.claims;
    for e in &d.entries {
        report.checks.push(content::inclusion_check(e, &d));
    }
    let mut vouched = false;
    for (it, leaf) in answer.items.iter().zip(&leaves) {
        let (check, tied) = summary_check(it, leaf.as_ref(), &answer.document_hash);
        vouched |= !tied;
        report.checks.push(check);
    }
    report.checkpoint = d.checkpoint.as_ref().ok().map(|c| CheckpointFact {
        origin: c.checkpoint.origin.clone(),
        tree_size: c.checkpoint.size,
        root: c.checkpoint.root.to_base64(),
    });
    let mut report = report.finish();
    if vouched && report.verdict.status == VerdictStatus::Verified {
        report.verdict.status = VerdictStatus::ServerVouched;
        report.verdict.summary = "NOT VERIFIED: these entries are in the log, but only the server \
                                  says they are about this file (their leaves hold a commitment, \
                                  and no disclosure opens it)."
            .into();
        report.verdict.reasons.push(
            "an entry's link to the file rests on the server's word: ask a party to the contract \
             for its evidence bundle"
                .into(),
        );
        report.passed = false;
    }
    report
}

/// The entry decoded for the inclusion check, and its leaf if it parses.
fn decode_item(it: &Item, problems: &mut Vec<String>) -> (DecodedEntry, Option<Leaf>) {
    let e = BundleEntry::new(it.index, it.leaf.clone(), it.inclusion.clone());
    let bytes = leaf_bytes(&e);
    let mut d = undecoded(&e, bytes.as_deref());
    if d.proof.is_none() {
        problems.push(format!("entry {}: its proof holds a malformed hash", it.index));
    }
    let Some(b) = bytes else {
        problems
            .push(format!("entry {}: the leaf is not standard base64 (or too large)", it.index));
        return (d, None);
    };
    match parse_any_leaf(&b) {
        Ok(l) => {
            d.leaf_time = Some(l.ledger_time().to_owned());
            (d, Some(l))
        }
        Err(err) => {
            problems
                .push(format!("entry {}: the leaf is not a valid ledger entry ({err})", it.index));
            (d, None)
        }
    }
}

/// `lookup_summary` of one entry, and whether the log's signature ties it
/// to the file (a v1 leaf, or a v3 leaf whose disclosures check).
fn summary_check(it: &Item, leaf: Option<&Leaf>, document_hash: &str) -> (Check, bool) {
    let title = format!("Entry {} agrees with the ledger's summary", it.index);
    let out = |passed: bool, detail: String, tied: bool| {
        (
            Check::new(
                check_id::LOOKUP_SUMMARY,
                Some(it.index.to_string()),
                passed,
                &title,
                detail,
            ),
            tied,
        )
    };
    let Some(l) = leaf else {
        return out(false, "The entry cannot be read.".into(), true);
    };
    if it.ledger_time != l.ledger_time() {
        let said = plain(&it.ledger_time);
        return out(false, format!("The summary says {said}, the leaf {}.", l.ledger_time()), true);
    }
    let v2 = match l {
        Leaf::V1(e) => {
            if it.kind != e.event.kind.as_str() {
                let said = plain(&it.kind);
                return out(
                    false,
                    format!("The summary says {said}, the leaf {}.", e.event.kind.as_str()),
                    true,
                );
            }
            if e.event.document_hash.to_hex() != document_hash {
                let h = e.event.document_hash.to_hex();
                return out(false, format!("The entry is about another document ({h})."), true);
            }
            return out(true, format!("The entry (v1) agrees with the summary: recorded at {}, same kind, about this file.", e.ledger_time), true);
        }
        Leaf::V2(v2) => v2,
    };
    let (Some(sd), Some((disclosures, digests))) = (v2.alg.sd_hash(), &it.partial) else {
        return out(
            true,
            format!(
                "The entry (v2, a commitment only) was recorded at {}, as the summary says. That it \
                 is about your file, and the rest of the summary, cannot be checked without its \
                 record: that is the ledger's statement.",
                v2.ledger_time
            ),
            false,
        );
    };
    let shown = match check_partial_in(sd, &v2.commitment, disclosures, digests) {
        Ok(s) => s,
        Err(e) => {
            let why = plain(&e.to_string());
            return out(
                false,
                format!("The entry (v3): its disclosures do not check: {why}."),
                true,
            );
        }
    };
    let hash = shown.get("event.document_hash").and_then(Value::as_str);
    let kind = shown.get("event.kind").and_then(Value::as_str);
    if hash != Some(document_hash) {
        let h = plain(&hash.map_or_else(|| "(not disclosed)".into(), str::to_owned));
        return out(
            false,
            format!("The entry (v3) discloses the document hash {h}, which is not this file's."),
            true,
        );
    }
    if kind != Some(it.kind.as_str()) {
        let k = plain(&kind.map_or_else(|| "(not disclosed)".into(), str::to_owned));
        return out(
            false,
            format!("The entry (v3) discloses the kind {k}, the summary says {}.", plain(&it.kind)),
            true,
        );
    }
    out(
        true,
        format!(
            "The entry (v3): its disclosures open the leaf's commitment, so the log signed an \
             entry about the document {document_hash}, of kind {}, recorded at {}. The record's \
             other fields (tenant, contract id, actor, identity commitment) stay hidden behind \
             their digests.",
            plain(&it.kind),
            v2.ledger_time
        ),
        true,
    )
}

/// The answer's shape (lookup.js checkLookupShape): members the checks do
/// not read are ignored.
fn shape(v: &Value) -> Result<Answer, String> {
    let m = v.as_object().ok_or("the answer is not a JSON object")?;
    if m.get("format").and_then(Value::as_str) != Some(LOOKUP_FORMAT_V2) {
        return Err(format!("format is not {LOOKUP_FORMAT_V2}"));
    }
    let s = |map: &Map<String, Value>, k: &str, at: &str| -> Result<String, String> {
        map.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(format!("{at}{k} must be a string"))
    };
    let document_hash = s(m, "document_hash", "")?;
    if Hash::from_hex(&document_hash).is_err() {
        return Err("document_hash must be 64 lowercase hex digits".into());
    }
    let tree_size = match m.get("tree_size") {
        None => None,
        Some(n) => Some(n.as_u64().filter(|n| *n < 1 << 53).ok_or("tree_size must be a count")?),
    };
    match m.get("next_cursor") {
        None | Some(Value::Null | Value::String(_)) => {}
        Some(n) if n.as_u64().is_some_and(|n| n < 1 << 53) => {}
        Some(_) => return Err("next_cursor must be an index, a string or null".into()),
    }
    let ws = match m.get("witnesses") {
        None => Vec::new(),
        Some(w) => {
            w.as_array().filter(|a| a.len() <= MAX_WITNESSES).ok_or("too many witnesses")?.clone()
        }
    };
    let mut witnesses = Vec::with_capacity(ws.len());
    for (i, w) in ws.iter().enumerate() {
        let wm = w.as_object().ok_or(format!("witnesses[{i}] must be an object"))?;
        let at = format!("witnesses[{i}].");
        witnesses.push(BundleWitness { name: s(wm, "name", &at)?, vkey: s(wm, "vkey", &at)? });
    }
    let list = m
        .get("entries")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty() && a.len() <= MAX_LOOKUP_ENTRIES)
        .ok_or(format!("entries must hold 1 to {MAX_LOOKUP_ENTRIES} entries"))?;
    let items = list.iter().enumerate().map(|(i, e)| item(i, e)).collect::<Result<Vec<_>, _>>()?;
    let bundle = Bundle {
        format: FORMAT_V1.into(),
        origin: s(m, "origin", "")?,
        log_vkey: s(m, "log_vkey", "")?,
        tenant: String::new(),
        document_id: String::new(),
        checkpoint: s(m, "checkpoint", "")?,
        tree_size,
        entries: Vec::new(),
        issuers: Vec::new(),
        witnesses,
        checkpoint_timestamp: None,
        timestamp_authorities: Vec::new(),
        anchoring: None,
    };
    Ok(Answer { document_hash, bundle, items })
}

fn item(i: usize, e: &Value) -> Result<Item, String> {
    let at = format!("entries[{i}]");
    let m = e.as_object().ok_or(format!("{at} must be an object"))?;
    let index = m
        .get("index")
        .and_then(Value::as_u64)
        .filter(|n| *n < 1 << 53)
        .ok_or(format!("{at}.index must be an index"))?;
    let leaf =
        m.get("leaf").and_then(Value::as_str).ok_or(format!("{at}.leaf must be a string"))?;
    let inclusion = m
        .get("inclusion")
        .and_then(Value::as_array)
        .filter(|a| a.len() <= MAX_PROOF_HASHES)
        .ok_or(format!("{at}.inclusion must be a proof"))?
        .iter()
        .map(|h| h.as_str().map(str::to_owned).ok_or(format!("{at}.inclusion must hold strings")))
        .collect::<Result<Vec<_>, _>>()?;
    let sm = m
        .get("summary")
        .and_then(Value::as_object)
        .ok_or(format!("{at}.summary must be an object"))?;
    let text = |k: &str| {
        sm.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(format!("{at}.summary.{k} must be a string"))
    };
    let (kind, ledger_time) = (text("kind")?, text("ledger_time")?);
    if !sm.get("party").and_then(Value::as_u64).is_some_and(|p| (1..1 << 53).contains(&p)) {
        return Err(format!("{at}.summary.party must be a number from 1"));
    }
    let issuers_ok = sm
        .get("issuers")
        .and_then(Value::as_array)
        .is_some_and(|a| a.len() <= MAX_SUMMARY_ISSUERS && a.iter().all(Value::is_string));
    if !issuers_ok || !sm.get("checked_on_ingest").is_some_and(Value::is_boolean) {
        return Err(format!("{at}.summary must list issuers and say checked_on_ingest"));
    }
    let partial = match (m.get("disclosures"), m.get("digests")) {
        (None, None) => None,
        (Some(d), Some(g)) => {
            if d.as_array().is_none_or(|a| a.len() > MAX_DISCLOSURES) || !g.is_object() {
                return Err(format!("{at}: disclosures must be a short array, digests an object"));
            }
            Some((d.clone(), g.clone()))
        }
        _ => return Err(format!("{at}: disclosures and digests come together")),
    };
    Ok(Item { index, leaf: leaf.to_owned(), inclusion, kind, ledger_time, partial })
}
