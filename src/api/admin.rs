//! Admin endpoints: trusted issuers and anchoring, while the service runs.
//!
//! Authority: the platform administrator (role `platform`, no tenant)
//! manages platform-wide issuers and anchoring, and may revoke a tenant's
//! issuer (a compromised key); it never registers one: a tenant's issuers
//! are its signers' keys (`signer:<actor id>`), and only the tenant's own
//! `admin` vouches for them.

use std::sync::Arc;

use base64::Engine as _;
use bytes::Buf;
use futures_util::Stream;
use ledger::{IssuerRecord, Role, TENANT_ISSUER_PREFIX};
use serde::Deserialize;
use serde_json::json;
use verifier::jcs::{self, Limits};
use warp::http::StatusCode;

use super::{caller, json, read_body, Answer, AppState, Req};
use crate::auth::{require, Caller};
use crate::error::ApiError;

/// Body of `POST /v1/issuers`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewIssuer {
    name: String,
    public_key: String,
    /// The tenant whose signer this is; absent: platform-wide (platform
    /// role) or the caller's own tenant (admin role).
    #[serde(default)]
    tenant: Option<String>,
}

/// The scope an issuer request acts on: `None` is platform-wide.
/// Platform: the named tenant, or platform-wide. Admin: its own tenant
/// only (403 for another's). Any other role: 403.
fn scope(caller: &Caller, tenant: Option<String>) -> Result<Option<String>, ApiError> {
    require(caller, &[Role::Admin, Role::Platform])?;
    match (caller.role, tenant) {
        (Role::Platform, t) => Ok(t),
        (_, Some(t)) if t != caller.tenant => Err(forbidden("another tenant's issuers")),
        _ => Ok(Some(caller.tenant.clone())),
    }
}

pub(crate) fn forbidden(what: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", format!("this token may not manage {what}"))
}

/// `POST /v1/issuers` (platform, or a tenant's admin for its own signers):
/// `{"name", "public_key": base64 32 bytes, "tenant"?}`.
pub(crate) async fn add_issuer<S, B>(state: &Arc<AppState>, req: &Req, body: S) -> Answer
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let caller = caller(state, req).await?;
    require(&caller, &[Role::Admin, Role::Platform])?;
    state.admission.charge_write(&caller.tenant, &req.headers, 64 * 1024)?;
    let bytes = read_body(body, 64 * 1024).await?;
    let limits = Limits { max_bytes: 64 * 1024, max_depth: 4, max_string: 1024 };
    let value = jcs::parse(&bytes, &limits).map_err(|e| ApiError::from_verify(None, &e))?;
    let new: NewIssuer = serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request("invalid_issuer", e.to_string()))?;
    let tenant = scope(&caller, new.tenant)?;
    if caller.role == Role::Platform && tenant.is_some() {
        return Err(forbidden(
            "a tenant's signer keys (its own admin registers them: the platform reads and \
             vouches for no tenant's evidence)",
        ));
    }
    if caller.role != Role::Platform && !new.name.starts_with(TENANT_ISSUER_PREFIX) {
        return Err(forbidden("platform-wide issuers (a tenant registers signer:<id> keys)"));
    }
    let key = base64::engine::general_purpose::STANDARD
        .decode(&new.public_key)
        .map_err(|_| ApiError::bad_request("invalid_issuer", "public_key: not base64"))?;
    let st = state.clone();
    let rec = tokio::task::spawn_blocking(move || {
        st.ledger.add_issuer_scoped(tenant.as_deref(), &new.name, &key, &caller.token_id)
    })
    .await
    .map_err(|e| ApiError::internal("add issuer", e))??;
    Ok(json(&issuer_json(&rec)))
}

/// `GET /v1/issuers` (platform: every scope; admin: the platform-wide
/// issuers and its own tenant's).
pub(crate) fn list_issuers(state: &AppState, caller: &Caller) -> Answer {
    require(caller, &[Role::Admin, Role::Platform])?;
    let list: Vec<_> = state
        .ledger
        .issuers()?
        .iter()
        .filter(|r| {
            caller.role == Role::Platform
                || r.tenant.is_none()
                || r.tenant.as_deref() == Some(caller.tenant.as_str())
        })
        .map(issuer_json)
        .collect();
    Ok(json(&json!({"issuers": list})))
}

/// `POST /v1/issuers/{name}/revoke[?tenant=T]` (platform: the tenant's
/// issuer, or the platform-wide one without `tenant`; admin: its own
/// tenant's only — a platform-wide name is a 403).
pub(crate) async fn revoke_issuer(state: &Arc<AppState>, req: &Req, name: &str) -> Answer {
    let caller = caller(state, req).await?;
    let tenant = match req.query.as_str() {
        "" => None,
        q => Some(
            q.strip_prefix("tenant=")
                .filter(|t| ledger::check_id("tenant", t).is_ok())
                .ok_or_else(|| ApiError::bad_request("bad_query", "the only parameter is tenant"))?
                .to_string(),
        ),
    };
    let tenant = scope(&caller, tenant)?;
    state.admission.charge_write(&caller.tenant, &req.headers, 4096)?;
    let (st, name) = (state.clone(), name.to_string());
    let rec = tokio::task::spawn_blocking(move || {
        if let Some(t) = tenant.as_deref() {
            if caller.role != Role::Platform
                && st.ledger.issuer_in(Some(t), &name)?.is_none()
                && st.ledger.issuer(&name)?.is_some()
            {
                return Err(forbidden("platform-wide issuers"));
            }
        }
        Ok(st.ledger.revoke_issuer_scoped(tenant.as_deref(), &name, &caller.token_id)?)
    })
    .await
    .map_err(|e| ApiError::internal("revoke issuer", e))??;
    Ok(json(&issuer_json(&rec)))
}

fn issuer_json(r: &IssuerRecord) -> serde_json::Value {
    json!({
        "name": r.name,
        "tenant": r.tenant,
        "public_key": r.public_key,
        "added_at": r.added_at,
        "added_entry": r.added_entry,
        "revoked_at": r.revoked_at,
        "revoked_entry": r.revoked_entry,
    })
}

/// `POST /v1/anchor` (platform): run an anchoring round now.
pub(crate) fn trigger_anchor(state: &AppState, caller: &Caller) -> Answer {
    require(caller, &[Role::Platform])?;
    let a = state.anchor.as_ref().ok_or_else(no_anchoring)?;
    a.trigger();
    Ok(json(&json!({"triggered": true})))
}

/// `GET /v1/anchor` (platform): per-witness progress.
pub(crate) fn anchor_status(state: &AppState, caller: &Caller) -> Answer {
    require(caller, &[Role::Platform])?;
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
