//! The CA roots trusted for SM2 issuer certificates (issue 26 item 3),
//! while the service runs: `POST /v1/issuer-cas` (platform only: no tenant
//! vouches for a CA every tenant's events would trust) and `GET
//! /v1/issuer-cas` (platform and tenants' admins). Each registration is
//! logged as a `registry_changed` entry before the root is trusted.

use std::sync::Arc;

use bytes::Buf;
use futures_util::Stream;
use ledger::issuer_cas::IssuerCaRecord;
use ledger::Role;
use serde::Deserialize;
use serde_json::json;
use verifier::jcs::{self, Limits};

use super::{caller, json, read_body, Answer, AppState, Req};
use crate::auth::{require, Caller};
use crate::error::ApiError;

/// Largest request body: one PEM root with room to spare.
const MAX_BODY: usize = 64 * 1024;

/// Body of `POST /v1/issuer-cas`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewIssuerCa {
    /// The platform's name for the CA.
    name: String,
    /// Its root certificate, PEM.
    root_pem: String,
}

/// `POST /v1/issuer-cas` (platform): `{"name", "root_pem"}`.
pub(crate) async fn add<S, B>(state: &Arc<AppState>, req: &Req, body: S) -> Answer
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let caller = caller(state, req).await?;
    require(&caller, &[Role::Platform])?;
    state.admission.charge_write(&caller.tenant, &req.headers, MAX_BODY)?;
    let bytes = read_body(body, MAX_BODY).await?;
    let limits = Limits { max_bytes: MAX_BODY, max_depth: 2, max_string: MAX_BODY };
    let value = jcs::parse(&bytes, &limits).map_err(|e| ApiError::from_verify(None, &e))?;
    let new: NewIssuerCa = serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request("invalid_issuer_ca", e.to_string()))?;
    let st = state.clone();
    let rec = tokio::task::spawn_blocking(move || {
        st.ledger.add_issuer_ca(&new.name, &new.root_pem, &caller.token_id)
    })
    .await
    .map_err(|e| ApiError::internal("add issuer CA", e))??;
    Ok(json(&ca_json(&rec)))
}

/// `GET /v1/issuer-cas` (platform, admin).
pub(crate) fn list(state: &AppState, caller: &Caller) -> Answer {
    require(caller, &[Role::Admin, Role::Platform])?;
    let list: Vec<_> = state.ledger.issuer_ca_records()?.iter().map(ca_json).collect();
    Ok(json(&json!({"issuer_cas": list})))
}

fn ca_json(r: &IssuerCaRecord) -> serde_json::Value {
    json!({
        "name": r.name,
        "root_pem": r.root_pem,
        "sha256": r.sha256,
        "added_at": r.added_at,
        "added_entry": r.added_entry,
    })
}
