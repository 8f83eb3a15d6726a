//! The evidence bundle of one contract (docs/bundle-format.md), built as a
//! typed [`Bundle`]: `GET /v1/documents/{id}/bundle` serves it, and the
//! evidence report is rendered from it.

use std::collections::BTreeSet;
use std::sync::Arc;

use base64::Engine as _;
use ledger::Role;
use verifier::bundle::{Bundle, BundleEntry, BundleIssuer, BundleWitness, FORMAT_V1};
use verifier::entry::parse_leaf;
use warp::http::StatusCode;
use warp::reply::Reply;

use super::{caller, Answer, AppState, Req};
use crate::auth::require;
use crate::error::ApiError;

/// The checkpoint bundles are proven against: its signed note and tree
/// size. Today the latest; with anchoring, the newest cosigned one.
pub(crate) fn bundle_checkpoint(state: &AppState) -> (String, u64) {
    let s = state.ledger.status();
    (s.checkpoint.to_string(), s.tree_size)
}

/// `GET /v1/documents/{id}/bundle` (roles legal and notary of the tenant
/// that owns the contract; another tenant's contract is a 404).
pub(crate) async fn get(state: &Arc<AppState>, req: &Req, document_id: &str) -> Answer {
    let caller = caller(state, req)?;
    require(&caller, &[Role::Legal, Role::Notary])?;
    let (st, doc) = (state.clone(), document_id.to_owned());
    let bundle = tokio::task::spawn_blocking(move || build(&st, &caller.tenant, &doc))
        .await
        .map_err(|e| ApiError::internal("bundle task", e))??;
    let r = warp::reply::with_status(bundle.to_json(), StatusCode::OK);
    Ok(warp::reply::with_header(r, "content-type", "application/json").into_response())
}

/// The bundle of `tenant`'s contract `document_id`: its entries covered by
/// [`bundle_checkpoint`], each with an inclusion proof, and the keys of the
/// issuers those entries cite (revoked ones too: old evidence stays
/// checkable). 404 when the tenant has no such contract.
pub(crate) fn build(state: &AppState, tenant: &str, document_id: &str) -> Result<Bundle, ApiError> {
    let (checkpoint, size) = bundle_checkpoint(state);
    let mut indices = state.ledger.document_entries(tenant, document_id)?;
    let known = !indices.is_empty();
    indices.retain(|i| *i < size);
    if indices.is_empty() {
        return Err(if known {
            ApiError::new(
                StatusCode::CONFLICT,
                "not_yet_covered",
                format!("no entry of document {document_id:?} is covered by a checkpoint yet"),
            )
        } else {
            ApiError::not_found(format!("document {document_id:?}"))
        });
    }
    let mut entries = Vec::with_capacity(indices.len());
    let mut cited = BTreeSet::new();
    for index in indices {
        let leaf = state.ledger.leaf(index)?;
        let parsed = parse_leaf(&leaf).map_err(|e| ApiError::internal("stored leaf", e))?;
        cited.extend(parsed.event.attestations.into_iter().map(|a| a.issuer));
        let proof = state.ledger.inclusion_proof(index, size)?;
        entries.push(BundleEntry {
            index,
            leaf: base64::engine::general_purpose::STANDARD.encode(&leaf),
            inclusion: proof.iter().map(|h| h.to_base64()).collect(),
        });
    }
    let mut issuers = Vec::with_capacity(cited.len());
    for name in cited {
        // An entry cites only issuers the ledger knew when it took it.
        if let Some(rec) = state.ledger.issuer(&name)? {
            issuers.push(BundleIssuer {
                name: rec.name,
                public_key: rec.public_key,
            });
        }
    }
    let status = state.ledger.status();
    Ok(Bundle {
        format: FORMAT_V1.to_owned(),
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
            .map(|(name, vkey)| BundleWitness {
                name: name.clone(),
                vkey: vkey.clone(),
            })
            .collect(),
        checkpoint_timestamp: None,
    })
}
