//! Admin endpoints: the platform registers signers' and services' keys as
//! trusted issuers while the service runs.

use std::sync::Arc;

use base64::Engine as _;
use bytes::Buf;
use futures_util::Stream;
use ledger::{IssuerRecord, Role};
use serde::Deserialize;
use serde_json::json;
use verifier::jcs::{self, Limits};

use super::{caller, json, read_body, Answer, AppState, Req};
use crate::auth::{require, Caller};
use crate::error::ApiError;

/// Body of `POST /v1/issuers`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewIssuer {
    name: String,
    public_key: String,
}

/// `POST /v1/issuers` (admin): `{"name", "public_key": base64 32 bytes}`.
pub(crate) async fn add_issuer<S, B>(state: &Arc<AppState>, req: &Req, body: S) -> Answer
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let caller = caller(state, req)?;
    require(&caller, &[Role::Admin])?;
    let bytes = read_body(body, 64 * 1024).await?;
    let limits = Limits { max_bytes: 64 * 1024, max_depth: 4, max_string: 1024 };
    let value = jcs::parse(&bytes, &limits).map_err(|e| ApiError::from_verify(None, &e))?;
    let new: NewIssuer = serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request("invalid_issuer", e.to_string()))?;
    let key = base64::engine::general_purpose::STANDARD
        .decode(&new.public_key)
        .map_err(|_| ApiError::bad_request("invalid_issuer", "public_key: not base64"))?;
    let st = state.clone();
    let rec = tokio::task::spawn_blocking(move || st.ledger.add_issuer(&new.name, &key))
        .await
        .map_err(|e| ApiError::internal("add issuer", e))??;
    Ok(json(&issuer_json(&rec)))
}

/// `GET /v1/issuers` (admin).
pub(crate) fn list_issuers(state: &AppState, caller: &Caller) -> Answer {
    require(caller, &[Role::Admin])?;
    let list: Vec<_> = state.ledger.issuers()?.iter().map(issuer_json).collect();
    Ok(json(&json!({"issuers": list})))
}

/// `POST /v1/issuers/{name}/revoke` (admin).
pub(crate) fn revoke_issuer(state: &AppState, caller: &Caller, name: &str) -> Answer {
    require(caller, &[Role::Admin])?;
    Ok(json(&issuer_json(&state.ledger.revoke_issuer(name)?)))
}

fn issuer_json(r: &IssuerRecord) -> serde_json::Value {
    json!({
        "name": r.name,
        "public_key": r.public_key,
        "added_at": r.added_at,
        "revoked_at": r.revoked_at,
    })
}

/// `POST /v1/anchor` (admin): run an anchoring round now.
pub(crate) fn trigger_anchor(state: &AppState, caller: &Caller) -> Answer {
    require(caller, &[Role::Admin])?;
    let a = state.anchor.as_ref().ok_or_else(no_anchoring)?;
    a.trigger();
    Ok(json(&json!({"triggered": true})))
}

/// `GET /v1/anchor` (admin): per-witness progress.
pub(crate) fn anchor_status(state: &AppState, caller: &Caller) -> Answer {
    require(caller, &[Role::Admin])?;
    let a = state.anchor.as_ref().ok_or_else(no_anchoring)?;
    let st = a.status().map_err(|e| ApiError::internal("anchor status", e))?;
    let partners: Vec<_> = st
        .partners
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "url": p.url,
                "last_size": p.state.last_size,
                "last_cosigned_unix": p.state.last_cosigned_unix,
                "last_error": p.state.last_error,
                "lag_entries": p.lag_entries,
                "lag_seconds": p.lag_seconds,
                "successes": p.state.successes,
                "failures": p.state.failures,
                "alarm": p.state.alarm,
            })
        })
        .collect();
    Ok(json(&json!({"latest_anchored": st.latest_anchored, "witnesses": partners})))
}

fn no_anchoring() -> ApiError {
    ApiError::new(
        warp::http::StatusCode::CONFLICT,
        "no_anchoring",
        "no witnesses are configured (evidence-ledger witness add)",
    )
}
