//! `GET /v1/lookup?document_hash=<64 hex>`: the public view of the entries
//! about one document, found by its SHA-256, for someone who holds the file
//! and nothing else (the verifier page's file-only mode).
//!
//! Public, like `/v1/entries`: it returns leaves (public already), their
//! inclusion proofs against the latest checkpoint, and for v2 leaves the
//! ledger's summary (`evidence-lookup/v2`, docs/evidence-v2.md); for v1
//! leaves of an old log, the issuer keys needed to check them.

use std::collections::{BTreeSet, HashMap};

use ledger::Opening;

use base64::Engine as _;
use serde::Serialize;
use serde_json::{json, Value};
use verifier::Hash;

use super::bundle::open_entry;
use super::erase::lookup_disabled;
use super::{json, parse_u64, Answer, AppState};
use crate::error::ApiError;

/// Lookups running at once (each opens up to [`MAX_LOOKUP_SCAN`] sealed
/// records): a public caller's loop cannot take more than this many cores
/// from ingest. A lookup that finds none free within [`LOOKUP_WAIT`] gets a 503.
pub(crate) static LOOKUP_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
/// How long a lookup waits for a slot.
pub(crate) const LOOKUP_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Entries per page of a lookup; `next_cursor` fetches the next page.
pub const MAX_LOOKUP_ENTRIES: usize = 100;
/// Most entries one lookup request opens (to check their tenants' lookup
/// switches); past it, `next_cursor` continues.
pub const MAX_LOOKUP_SCAN: usize = 2_000;

/// One entry of the answer: the leaf and its proof; for a v2 leaf, the
/// ledger's summary of it (no tenant, contract, actor, name or claim).
#[derive(Serialize)]
struct LookupEntry {
    index: u64,
    leaf: String,
    inclusion: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<Value>,
    /// Record v3: the disclosures of the document hash and the kind
    /// (`[salt, name, value]`), checkable against the leaf's commitment.
    #[serde(skip_serializing_if = "Option::is_none")]
    disclosures: Option<Value>,
    /// Record v3: the digests of every other field, which stay hidden.
    #[serde(skip_serializing_if = "Option::is_none")]
    digests: Option<Value>,
    /// The (tenant, contract) record it belongs to, as a pseudonym
    /// ([`group_of`]); `None` for an erased entry.
    group: Option<String>,
}

/// What the answer says about its groups, in words a holder can read.
pub const GROUPING_NOTICE: &str = "Entries are grouped by the account and contract that logged \
     them. A document hash is not owned: any account can log events citing any hash, and the \
     ledger checks their signatures, not whose file it is. Each group is one account's record \
     citing this file; a group other than the one you expect is not your document's record, \
     only another account's entries that cite the same hash.";

/// A (tenant, contract) pair's pseudonym on the public lookup: 16 hex
/// digits of the ledger's keyed hash of it (the id per-document settings
/// are kept under), which names neither and is the same on every page.
fn group_of(state: &AppState, tenant: &str, document_id: &str) -> Option<String> {
    let id = state.ledger.document_key_id(tenant, document_id).ok()?;
    Some(hex::encode(id).chars().take(16).collect())
}

/// One group of the answer's page, in order of its first entry.
#[derive(Serialize)]
struct Group {
    group: String,
    first_index: u64,
    entries: usize,
    /// Whether the group's contract has a `registered` entry citing this
    /// hash on this page: it logged the file as its document, rather than
    /// citing it in a later event.
    registers_this_hash: bool,
}

/// `GET /v1/lookup?document_hash=H[&cursor=C]`: one page of at most
/// [`MAX_LOOKUP_ENTRIES`] entries, those with an index above the cursor.
///
/// Evidence v2: the holder of the file sees that the document is in the
/// log, when, and a signing summary per entry (kind, time, a party number,
/// platform-wide issuer names, that the ledger checked the attestations on
/// ingest) — never a tenant, contract id, actor id, name, identity field
/// or claim value. Documents whose tenant turned the lookup off are left
/// out (404 when nothing else remains). Entries are grouped per (tenant,
/// contract) pseudonym, and the answer says that a hash is no one's: other
/// accounts' entries citing it are their own groups, never this
/// document's record ([`GROUPING_NOTICE`]).
pub(crate) fn lookup(state: &AppState, query: &str) -> Answer {
    let (hash, cursor) = parse_query(query)?;
    // The checkpoint first: every entry returned is proven against it.
    let status = state.ledger.status();
    let mut indices = state.ledger.entries_by_document_hash(&hash)?;
    // Every lookup scans the hidden lists of the hash (super::hidden), so a
    // hidden document costs what an unknown hash costs: its listed entries
    // are dropped here, never opened.
    let hidden = super::hidden::hidden_indices(&state.ledger, &hash)?;
    indices.retain(|i| *i < status.tree_size && !hidden.contains(i));
    // Each entry is opened to check its tenant's lookup switch: bounded, so
    // that a hash with very many entries costs a public caller no more
    // than this per request (the rest is reached with the cursor).
    let mut scan_cut = None;
    if let Some(c) = cursor {
        indices.retain(|i| *i > c);
    }
    if indices.len() > MAX_LOOKUP_SCAN {
        scan_cut = Some(indices[MAX_LOOKUP_SCAN - 1]);
        indices.truncate(MAX_LOOKUP_SCAN);
    }
    let mut visible = Vec::with_capacity(indices.len());
    let mut switches: HashMap<(String, String), bool> = HashMap::new();
    for i in indices {
        let opened = open_entry(state, i)?;
        state.metrics.lookup_opened.inc();
        if let (Opening::Record { .. }, Some(ev), Some(t)) =
            (&opened.opening, &opened.event, &opened.tenant)
        {
            // The service's own entries (registry, token, retention,
            // erasure, report) were indexed by hashes a stranger can
            // compute before they left the index: never a file's record.
            if ev.kind.is_service_kind() {
                continue;
            }
            let key = (t.clone(), ev.document_id.clone());
            let off = match switches.get(&key) {
                Some(v) => *v,
                None => {
                    let v = lookup_disabled(state, t, &ev.document_id)?;
                    switches.insert(key, v);
                    v
                }
            };
            if off {
                continue;
            }
        }
        visible.push((i, opened));
    }
    if visible.is_empty() && cursor.is_none() && scan_cut.is_none() {
        return Err(ApiError::not_found(
            "no entry in the log is about a document with this SHA-256",
        ));
    }
    let total = visible.len();
    let more = visible.len() > MAX_LOOKUP_ENTRIES || scan_cut.is_some();
    visible.truncate(MAX_LOOKUP_ENTRIES);
    let next_cursor = match visible.last() {
        Some((i, _)) if visible.len() == MAX_LOOKUP_ENTRIES && more => Some(*i),
        _ => scan_cut,
    };
    let mut entries = Vec::with_capacity(visible.len());
    let mut issuer_names = BTreeSet::new();
    let mut parties: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    for (i, opened) in visible {
        let group = match (&opened.event, &opened.tenant) {
            (Some(ev), Some(t)) => group_of(state, t, &ev.document_id),
            _ => None,
        };
        if let (Some(g), Some(ev)) = (&group, &opened.event) {
            let registers = ev.kind == verifier::entry::EventKind::Registered;
            match groups.iter_mut().find(|x| x.group == *g) {
                Some(x) => {
                    x.entries += 1;
                    x.registers_this_hash |= registers;
                }
                None => groups.push(Group {
                    group: g.clone(),
                    first_index: i,
                    entries: 1,
                    registers_this_hash: registers,
                }),
            }
        }
        let ledger_time = verifier::v2::parse_any_leaf(&opened.leaf)
            .map(|l| l.ledger_time().to_owned())
            .unwrap_or_default();
        let summary = match (&opened.opening, &opened.event, &opened.tenant) {
            (Opening::V1, _, _) => {
                issuer_names.extend(attestation_issuers(&opened.leaf));
                None
            }
            (Opening::Record { .. }, Some(ev), Some(tenant)) => {
                let n = parties.len() + 1;
                let party = *parties.entry(format!("{tenant}\0{}", ev.actor.id)).or_insert(n);
                let mut issuers = Vec::new();
                for a in &ev.attestations {
                    // A signer's key is named after the signer (`signer:<actor
                    // id>`), wherever it is registered: never shown.
                    let platform = !a.issuer.starts_with(ledger::TENANT_ISSUER_PREFIX)
                        && state.ledger.issuer_in(None, &a.issuer)?.is_some()
                        && state.ledger.issuer_in(Some(tenant), &a.issuer)?.is_none();
                    issuers.push(if platform { a.issuer.clone() } else { "signer".to_owned() });
                }
                Some(json!({
                    "kind": ev.kind.as_str(),
                    "ledger_time": ledger_time,
                    "party": party,
                    "issuers": issuers,
                    "checked_on_ingest": true,
                }))
            }
            _ => Some(json!({"erased": true, "ledger_time": ledger_time})),
        };
        let (disclosures, digests) = partial_view(&opened)?;
        let proof = state.ledger.inclusion_proof(i, status.tree_size)?;
        entries.push(LookupEntry {
            index: i,
            leaf: b64(&opened.leaf),
            inclusion: proof.iter().map(|h| h.to_base64()).collect(),
            summary,
            disclosures,
            digests,
            group,
        });
    }
    // v1 leaves only (public in clear already): each name as its entry's
    // tenant resolved it on ingest.
    let mut keys = BTreeSet::new();
    for (tenant, name) in issuer_names {
        if let Some(r) = state.ledger.resolve_issuer(&tenant, &name)? {
            keys.insert((r.name, r.public_key));
        }
    }
    let issuers: Vec<_> =
        keys.into_iter().map(|(name, key)| json!({"name": name, "public_key": key})).collect();
    let witnesses = state.witnesses_json();
    Ok(json(&json!({
        "format": "evidence-lookup/v2",
        "document_hash": hash.to_hex(),
        "origin": status.origin,
        "log_vkey": status.vkey,
        "checkpoint": status.checkpoint.to_string(),
        "tree_size": status.tree_size,
        "entries": entries,
        "total_entries": total,
        "truncated": more,
        "max_entries": MAX_LOOKUP_ENTRIES,
        "next_cursor": next_cursor,
        "groups": groups,
        "grouping": GROUPING_NOTICE,
        "issuers": issuers,
        "witnesses": witnesses,
    })))
}

/// For a v3 record: the disclosures of the document hash and kind, and
/// the digests of the other fields (docs/evidence-v2.md, "Record v3").
fn partial_view(
    opened: &super::bundle::OpenedEntry,
) -> Result<(Option<Value>, Option<Value>), ApiError> {
    let Opening::Record { record, .. } = &opened.opening else { return Ok((None, None)) };
    if record.get("format").and_then(Value::as_str) != Some(verifier::v3::RECORD_FORMAT_V3) {
        return Ok((None, None));
    }
    // The leaf names the hash its record is committed with (SM3 on an
    // `sm2-sm3` log's new records, SHA-256 on every older one).
    let hash = match verifier::v2::parse_any_leaf(&opened.leaf) {
        Ok(verifier::v2::Leaf::V2(l)) => l.alg.sd_hash(),
        Ok(verifier::v2::Leaf::V1(_)) => None,
        Err(e) => return Err(ApiError::internal("stored leaf", e)),
    };
    let Some(hash) = hash else { return Ok((None, None)) };
    let mut view = verifier::v3::partial_view_in(hash, record, &verifier::v3::LOOKUP_DISCLOSED)
        .map_err(|e| ApiError::internal("stored record", e))?;
    Ok((Some(view["disclosures"].take()), Some(view["digests"].take())))
}

/// `document_hash` (64 lowercase hex digits) and an optional `cursor` (the
/// `next_cursor` of the previous page), each at most once, nothing else.
fn parse_query(query: &str) -> Result<(Hash, Option<u64>), ApiError> {
    let bad = |m: &str| ApiError::bad_request("bad_query", m.to_string());
    let (mut found, mut cursor) = (None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("document_hash", v)) if found.is_none() => found = Some(v),
            Some(("cursor", v)) if cursor.is_none() => cursor = Some(parse_u64("cursor", v)?),
            Some(("document_hash" | "cursor", _)) => return Err(bad("parameter given twice")),
            _ => return Err(bad("the parameters are document_hash and cursor")),
        }
    }
    let v = found.ok_or_else(|| bad("document_hash is required"))?;
    let hash =
        Hash::from_hex(v).map_err(|_| bad("document_hash must be 64 lowercase hex digits"))?;
    Ok((hash, cursor))
}

/// (tenant, issuer name) of a stored leaf's attestations (stored leaves are valid).
fn attestation_issuers(leaf: &[u8]) -> Vec<(String, String)> {
    let Ok(v) = serde_json::from_slice::<Value>(leaf) else {
        return Vec::new();
    };
    let tenant = v.get("tenant").and_then(Value::as_str).unwrap_or_default().to_owned();
    v.pointer("/event/attestations")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.get("issuer").and_then(Value::as_str))
                .map(|n| (tenant.clone(), n.to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn query_is_strict() {
        let h = "ab".repeat(32);
        assert!(parse_query(&format!("document_hash={h}")).is_ok());
        assert_eq!(parse_query(&format!("document_hash={h}&cursor=7")).unwrap().1, Some(7));
        for q in [
            String::new(),
            "document_hash=".into(),
            h.to_uppercase(),
            format!("document_hash={}", h.to_uppercase()),
            format!("document_hash={h}&document_hash={h}"),
            format!("document_hash={h}&x=1"),
            format!("document_hash={h}&cursor=01"),
            format!("document_hash={h}&cursor=1&cursor=2"),
            format!("document_hash={}", &h[..62]),
        ] {
            assert_eq!(parse_query(&q).unwrap_err().status.as_u16(), 400, "{q}");
        }
    }

    #[test]
    fn issuers_of_a_leaf() {
        let leaf = br#"{"event":{"attestations":[{"issuer":"idp-gov"},{"issuer":"signer:u-1"}]},"tenant":"t"}"#;
        let t = |n: &str| ("t".to_string(), n.to_string());
        assert_eq!(attestation_issuers(leaf), vec![t("idp-gov"), t("signer:u-1")]);
        assert!(attestation_issuers(b"not json").is_empty());
    }
}
