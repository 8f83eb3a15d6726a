//! `POST /v1/documents/{id}/evidence-record` (make an RFC 4998 evidence
//! record over the contract's bundle now) and `GET` of the same path (the
//! newest one made, as the service has renewed it): roles legal and notary
//! of the tenant that owns the contract (docs/long-term.md).

use std::sync::Arc;

use base64::Engine as _;
use ledger::Role;
use verifier::ers::ErsHash;
use warp::http::StatusCode;
use warp::reply::Reply;

use super::{bundle, caller, Answer, AppState, Req};
use crate::auth::require;
use crate::error::ApiError;

/// The `hash` query parameter: the record's first hash algorithm.
fn hash_param(query: &str) -> Result<ErsHash, ApiError> {
    let mut alg = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("hash", v)) if alg.is_none() => {
                alg = Some(ErsHash::from_name(v).ok_or_else(|| {
                    ApiError::bad_request("bad_query", "hash: sha256, sha512, sha3-512 or sm3")
                })?);
            }
            _ => return Err(ApiError::bad_request("bad_query", format!("unexpected {pair:?}"))),
        }
    }
    Ok(alg.unwrap_or(ErsHash::Sha256))
}

/// POST: builds the bundle, timestamps its data objects through the
/// configured TSA, keeps the record for renewal, and answers
/// `{"evidence_record": base64 DER, "bundle": the bundle it covers,
/// "created": RFC 3339}`. 503 `no_tsa` without a TSA; 502 `tsa_failed`
/// when the TSA does not give a valid token; nothing is kept then.
pub(crate) async fn post(state: &Arc<AppState>, req: &Req, document_id: &str) -> Answer {
    let caller = caller(state, req).await?;
    require(&caller, &[Role::Legal, Role::Notary])?;
    let alg = hash_param(&req.query)?;
    let (st, doc) = (state.clone(), document_id.to_owned());
    let body = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ApiError> {
        let bundle = bundle::build(&st, &caller.tenant, &doc)?;
        let bundle_json = bundle.to_json();
        let tsa = crate::ers::tsa_client(&st.ledger)
            .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "no_tsa", e))?;
        let der = crate::ers::export(&tsa, &bundle_json, alg)
            .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, "tsa_failed", e))?;
        let now = time::OffsetDateTime::now_utc();
        let created = now.unix_timestamp_nanos() / 1000;
        let created = i64::try_from(created).map_err(|e| ApiError::internal("clock", e))?;
        crate::ers::store(&st.ledger, &caller.tenant, &doc, created, &der)
            .map_err(|e| ApiError::internal("evidence record", e))?;
        let bundle_value: serde_json::Value =
            serde_json::from_slice(&bundle_json).map_err(|e| ApiError::internal("bundle", e))?;
        let answer = serde_json::json!({
            "evidence_record": base64::engine::general_purpose::STANDARD.encode(&der),
            "bundle": bundle_value,
            "created": now
                .format(&time::format_description::well_known::Rfc3339)
                .map_err(|e| ApiError::internal("clock", e))?,
        });
        serde_json::to_vec(&answer).map_err(|e| ApiError::internal("answer", e))
    })
    .await
    .map_err(|e| ApiError::internal("evidence record task", e))??;
    let r = warp::reply::with_status(body, StatusCode::OK);
    Ok(warp::reply::with_header(r, "content-type", "application/json").into_response())
}

/// GET: the newest record made for this contract, DER, as renewed so far.
/// 404 when none was made (or the contract is another tenant's).
pub(crate) async fn get(state: &Arc<AppState>, req: &Req, document_id: &str) -> Answer {
    let caller = caller(state, req).await?;
    require(&caller, &[Role::Legal, Role::Notary])?;
    if !req.query.is_empty() {
        return Err(ApiError::bad_request("bad_query", "no query parameters here"));
    }
    let (st, doc) = (state.clone(), document_id.to_owned());
    let der =
        tokio::task::spawn_blocking(move || crate::ers::newest(&st.ledger, &caller.tenant, &doc))
            .await
            .map_err(|e| ApiError::internal("evidence record task", e))?
            .map_err(|e| ApiError::internal("evidence record", e))?
            .ok_or_else(|| {
                ApiError::not_found(format!("evidence record of document {document_id:?}"))
            })?;
    let r = warp::reply::with_status(der, StatusCode::OK);
    Ok(warp::reply::with_header(r, "content-type", "application/octet-stream").into_response())
}
