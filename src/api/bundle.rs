//! The evidence bundle of one contract (docs/bundle-format.md), built as a
//! typed [`Bundle`]: `GET /v1/documents/{id}/bundle` serves it, and the
//! evidence report is rendered from it.

use std::collections::BTreeSet;
use std::sync::Arc;

use base64::Engine as _;
use ledger::{Opening, Role};
use verifier::bundle::{
    Bundle, BundleAnchoring, BundleEntry, BundleErased, BundleIssuer, BundleTimestamp, BundleTsa,
    BundleWitness, FORMAT_V1, FORMAT_V2,
};
use verifier::entry::{parse_leaf, EventKind};
use warp::http::StatusCode;
use warp::reply::Reply;

use super::{caller, Answer, AppState, Req};
use crate::auth::require;
use crate::error::ApiError;

/// The checkpoint a bundle whose newest entry is `last_index` is proven
/// against: the latest anchored one (with its cosignatures) when it covers
/// that entry, else the latest log-signed one (not yet countersigned).
pub(crate) fn bundle_checkpoint(
    state: &AppState,
    last_index: u64,
) -> Result<(String, u64), ApiError> {
    if let Some(a) = super::public::anchored(state)?.filter(|a| a.size > last_index) {
        return Ok((a.note, a.size));
    }
    let s = state.ledger.status();
    Ok((s.checkpoint.to_string(), s.tree_size))
}

/// [`bundle_checkpoint`] of a tree that holds entry `newest`. A group's
/// index records, record deletions and erasure records are in the store a
/// moment before the sequencer publishes the head that covers them, so a
/// bundle read in that moment (found by retention's erasure test, which
/// read an erasure marker beyond the checkpoint) waits for that head, and
/// after two seconds is told to retry.
fn checkpoint_covering(state: &AppState, newest: u64) -> Result<(String, u64), ApiError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let (checkpoint, size) = bundle_checkpoint(state, newest)?;
        if size > newest {
            return Ok((checkpoint, size));
        }
        if std::time::Instant::now() >= deadline {
            return Err(ApiError::overloaded(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("entry {newest} is written but not yet in a published checkpoint; retry"),
                1,
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// The TSA token over the checkpoint of `size`, if the log has one, and the
/// TSA roots the bundle needs to check it and the events' tokens.
fn timestamps(
    state: &AppState,
    size: u64,
    event_tsas: bool,
) -> Result<(Option<BundleTimestamp>, Vec<BundleTsa>), ApiError> {
    let token = match &state.anchor {
        None => None,
        Some(a) => a.timestamp(size).map_err(|e| ApiError::internal("checkpoint timestamp", e))?,
    };
    let roots = if token.is_some() || event_tsas {
        state
            .ledger
            .tsa_records()?
            .into_iter()
            .map(|r| BundleTsa { name: r.name, root_pem: r.root_pem })
            .collect()
    } else {
        Vec::new()
    };
    let token = token.map(|t| BundleTimestamp {
        tsa: t.tsa,
        token: base64::engine::general_purpose::STANDARD.encode(&t.token),
    });
    Ok((token, roots))
}

/// Most `report_issued` entries a bundle carries: the newest ones. Older
/// report entries stay in the log (each readable at `/v1/entries/{index}`)
/// but out of the bundle, so issuing reports cannot push a contract's
/// evidence past the verifiers' size limits. The bundle's answer says how
/// many it left out (`X-Omitted-Report-Entries`).
pub const MAX_REPORT_ENTRIES_IN_BUNDLE: usize = 10;

/// `GET /v1/documents/{id}/bundle` (roles legal and notary of the tenant
/// that owns the contract; another tenant's contract is a 404).
pub(crate) async fn get(state: &Arc<AppState>, req: &Req, document_id: &str) -> Answer {
    let caller = caller(state, req).await?;
    require(&caller, &[Role::Legal, Role::Notary])?;
    let (st, doc) = (state.clone(), document_id.to_owned());
    let (bundle, omitted) =
        tokio::task::spawn_blocking(move || build_counted(&st, &caller.tenant, &doc))
            .await
            .map_err(|e| ApiError::internal("bundle task", e))??;
    let r = warp::reply::with_status(bundle.to_json(), StatusCode::OK);
    let r = warp::reply::with_header(r, "x-omitted-report-entries", omitted.to_string());
    Ok(warp::reply::with_header(r, "content-type", "application/json").into_response())
}

/// The bundle of `tenant`'s contract `document_id`: see [`build_counted`].
pub(crate) fn build(state: &AppState, tenant: &str, document_id: &str) -> Result<Bundle, ApiError> {
    build_counted(state, tenant, document_id).map(|(b, _)| b)
}

/// The entries a bundle carries: every contract event, and the newest
/// [`MAX_REPORT_ENTRIES_IN_BUNDLE`] `report_issued` entries; and how many
/// report entries were left out.
fn chosen_entries(state: &AppState, indices: Vec<u64>) -> Result<(Vec<u64>, usize), ApiError> {
    let mut reports = Vec::new();
    for &index in &indices {
        let opened = open_entry(state, index)?;
        if opened.event.as_ref().is_some_and(|e| e.kind == EventKind::ReportIssued) {
            reports.push(index);
        }
    }
    let omitted = reports.len().saturating_sub(MAX_REPORT_ENTRIES_IN_BUNDLE);
    let dropped: BTreeSet<u64> = reports[..omitted].iter().copied().collect();
    Ok((indices.into_iter().filter(|i| !dropped.contains(i)).collect(), omitted))
}

/// The bundle of `tenant`'s contract `document_id`: its entries (see
/// [`chosen_entries`]) covered by [`bundle_checkpoint`], each with an
/// inclusion proof, and the keys of the issuers those entries cite (revoked
/// ones too: old evidence stays checkable), with the number of report
/// entries left out. 404 when the tenant has no such contract.
pub(crate) fn build_counted(
    state: &AppState,
    tenant: &str,
    document_id: &str,
) -> Result<(Bundle, usize), ApiError> {
    // Token and retention records are the tenant admin's affairs, not
    // evidence: no legal or notary token reads them as a contract.
    let indices = if admin_record(document_id) {
        Vec::new()
    } else {
        state.ledger.document_entries(tenant, document_id)?
    };
    let Some(&last) = indices.last() else {
        return Err(ApiError::not_found(format!("document {document_id:?}")));
    };
    let (indices, omitted) = chosen_entries(state, indices)?;
    let erasure = state.ledger.document_erasure(tenant, document_id)?;
    // The erasure's entry must be in the tree the bundle proves too: its
    // markers name it.
    let newest = erasure.as_ref().and_then(|e| e["entry"].as_u64()).map_or(last, |e| e.max(last));
    let (checkpoint, size) = checkpoint_covering(state, newest)?;
    let mut event_tsas = false;
    let mut entries = Vec::with_capacity(indices.len());
    let mut cited = BTreeSet::new();
    let mut any_v2 = false;
    for index in indices {
        let opened = open_entry(state, index)?;
        if let Some(event) = &opened.event {
            event_tsas |= event.timestamp_token.is_some() || event.event_timestamp_token.is_some();
            cited.extend(event.attestations.iter().map(|a| a.issuer.clone()));
        }
        let proof = state.ledger.inclusion_proof(index, size)?;
        let mut entry = BundleEntry::new(
            index,
            base64::engine::general_purpose::STANDARD.encode(&opened.leaf),
            proof.iter().map(|h| h.to_base64()).collect(),
        );
        match opened.opening {
            Opening::V1 => {}
            Opening::Record { record, identity } => {
                any_v2 = true;
                entry.record = Some(record);
                entry.identity = identity;
            }
            Opening::Erased => {
                any_v2 = true;
                let e = erasure.as_ref().ok_or_else(|| {
                    ApiError::internal("bundle", format!("entry {index} erased, no erasure record"))
                })?;
                entry.erased = Some(BundleErased {
                    at: e["at"].as_str().unwrap_or_default().to_owned(),
                    by: e["by"].as_str().unwrap_or_default().to_owned(),
                    reason: e["reason"].as_str().unwrap_or_default().to_owned(),
                    entry: e["entry"].as_u64().unwrap_or_default(),
                });
            }
        }
        entries.push(entry);
    }
    let mut issuers = Vec::with_capacity(cited.len());
    for name in cited {
        // An entry cites only issuers the ledger knew when it took it.
        // Resolved as ingest resolved it: the tenant's own, else platform-wide.
        if let Some(rec) = state.ledger.resolve_issuer(tenant, &name)? {
            issuers.push(BundleIssuer { name: rec.name, public_key: rec.public_key });
        }
    }
    let status = state.ledger.status();
    let (checkpoint_timestamp, timestamp_authorities) = timestamps(state, size, event_tsas)?;
    let anchoring = anchoring(state, &checkpoint);
    let bundle = Bundle {
        format: if any_v2 { FORMAT_V2 } else { FORMAT_V1 }.to_owned(),
        origin: status.origin,
        log_vkey: status.vkey,
        tenant: tenant.to_owned(),
        document_id: document_id.to_owned(),
        checkpoint,
        tree_size: None,
        entries,
        issuers,
        witnesses: state
            .witnesses
            .iter()
            .map(|(name, vkey)| BundleWitness { name: name.clone(), vkey: vkey.clone() })
            .collect(),
        checkpoint_timestamp,
        timestamp_authorities,
        anchoring,
    };
    Ok((bundle, omitted))
}

/// The ledger's statement of its anchoring policy for `checkpoint` (issue
/// 15: a bundle says which policy it satisfies), when witnesses are
/// configured.
fn anchoring(state: &AppState, checkpoint: &str) -> Option<BundleAnchoring> {
    let config = state.anchor.as_ref()?.config();
    if config.partners.is_empty() {
        return None;
    }
    let note = verifier::note::Note::parse(checkpoint.as_bytes()).ok()?;
    let check = anchor::check_policy(config, &note);
    Some(BundleAnchoring {
        threshold: check.threshold as u64,
        required: config.policy.quorum.required.clone(),
        cosigned_by: check.cosigners.into_iter().map(|(name, _)| name).collect(),
        satisfied: check.satisfied,
    })
}

/// One entry read for a bundle: its leaf, its opening, and the event it
/// holds (from the leaf for v1, from the record for v2; none if erased).
pub(crate) struct OpenedEntry {
    pub leaf: Vec<u8>,
    pub opening: Opening,
    pub event: Option<verifier::entry::Event>,
    pub tenant: Option<String>,
}

/// Reads and opens the entry at `index` (evidence v2: decrypts its record).
pub(crate) fn open_entry(state: &AppState, index: u64) -> Result<OpenedEntry, ApiError> {
    let leaf = state.ledger.leaf(index)?;
    let opening = state.ledger.opening(index)?;
    let (event, tenant) = match &opening {
        Opening::V1 => {
            let parsed = parse_leaf(&leaf).map_err(|e| ApiError::internal("stored leaf", e))?;
            (Some(parsed.event), Some(parsed.tenant))
        }
        Opening::Record { record, .. } => {
            let rec = verifier::v2::parse_record(record)
                .map_err(|e| ApiError::internal("stored record", e))?;
            (Some(rec.event), Some(rec.tenant))
        }
        Opening::Erased => (None, None),
    };
    Ok(OpenedEntry { leaf, opening, event, tenant })
}

/// Whether `document_id` names the ledger's own entries
/// ([`ledger::RESERVED_DOCUMENT_PREFIXES`]), which no tenant erases or
/// switches the lookup of.
pub(crate) fn reserved_document(document_id: &str) -> bool {
    ledger::RESERVED_DOCUMENT_PREFIXES.iter().any(|p| document_id.starts_with(p))
}

/// Whether `document_id` names token or retention records: no bundle or
/// report of them. (Issuer records stay readable: a signer key's history is
/// evidence in a dispute.)
pub(crate) fn admin_record(document_id: &str) -> bool {
    ["token:", "retention:"].iter().any(|p| document_id.starts_with(p))
}
