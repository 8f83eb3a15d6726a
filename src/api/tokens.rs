//! Bearer tokens while the service runs: `POST /v1/tokens`, `GET
//! /v1/tokens`, `POST /v1/tokens/{id}/revoke`. A tenant's `admin` manages
//! its own tenant's tokens, never a platform token. The platform
//! administrator manages platform tokens, lists and revokes any tenant's,
//! but mints a tenant only `submitter` tokens (the platform's back ends
//! submit) and its first `admin` token (while the tenant has no live
//! one): a tenant's `legal`, `notary` and further `admin` tokens need the
//! tenant's own admin, so the platform cannot read a tenant's evidence by
//! minting itself the right. Every issue and revocation is written to the
//! log (`registry_changed`) and takes effect on the next request.

use std::sync::Arc;

use bytes::Buf;
use futures_util::Stream;
use ledger::{Role, TokenRecord, PLATFORM_TENANT};
use serde::Deserialize;
use serde_json::json;
use verifier::jcs::{self, Limits};

use super::admin::forbidden;
use super::{caller, json, read_body, Answer, AppState, Req};
use crate::auth::{self, require, Caller};
use crate::error::ApiError;

/// Body of `POST /v1/tokens`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    /// The tenant; absent: the caller's own (admin), required for a
    /// tenant-bound token issued by the platform.
    #[serde(default)]
    tenant: Option<String>,
    role: String,
    /// Lifetime in seconds; absent: 90 days.
    #[serde(default)]
    expires_in: Option<u64>,
}

/// The tenant a token request may act on, or 403.
fn tenant_for(caller: &Caller, role: Role, tenant: Option<String>) -> Result<String, ApiError> {
    require(caller, &[Role::Admin, Role::Platform])?;
    match caller.role {
        Role::Platform if role == Role::Platform => match tenant {
            None => Ok(PLATFORM_TENANT.to_string()),
            Some(_) => {
                Err(ApiError::bad_request("invalid_token", "a platform token has no tenant"))
            }
        },
        Role::Platform => tenant.ok_or_else(|| {
            ApiError::bad_request("invalid_token", "tenant is required for a tenant's token")
        }),
        _ if role == Role::Platform => Err(forbidden("platform tokens")),
        _ => match tenant {
            Some(t) if t != caller.tenant => Err(forbidden("another tenant's tokens")),
            _ => Ok(caller.tenant.clone()),
        },
    }
}

/// `POST /v1/tokens`: `{"tenant"?, "role", "expires_in"?}` → the token
/// (shown once) and its record.
pub(crate) async fn issue<S, B>(state: &Arc<AppState>, req: &Req, body: S) -> Answer
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let caller = caller(state, req).await?;
    require(&caller, &[Role::Admin, Role::Platform])?;
    state.admission.charge_write(&caller.tenant, &req.headers, 4096)?;
    let bytes = read_body(body, 4096).await?;
    let limits = Limits { max_bytes: 4096, max_depth: 2, max_string: 256 };
    let value = jcs::parse(&bytes, &limits).map_err(|e| ApiError::from_verify(None, &e))?;
    let new: NewToken = serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request("invalid_token", e.to_string()))?;
    let role = Role::parse(&new.role).ok_or_else(|| {
        ApiError::bad_request("invalid_token", "role: submitter|legal|notary|admin|platform")
    })?;
    let tenant = tenant_for(&caller, role, new.tenant)?;
    let st = state.clone();
    let (token, rec): (String, TokenRecord) = tokio::task::spawn_blocking(move || {
        if caller.role == Role::Platform && role != Role::Platform {
            platform_may_mint(&st, &tenant, role)?;
        }
        auth::issue_under(&st.ledger, &caller, &tenant, role, new.expires_in)
            .map_err(ApiError::from)
    })
    .await
    .map_err(|e| ApiError::internal("issue token", e))??;
    let mut v = token_json(&rec);
    v["token"] = json!(token);
    Ok(json(&v))
}

/// What the platform may mint for a tenant: `submitter`, and `admin` only
/// while the tenant has no live admin token (its first, at creation).
fn platform_may_mint(state: &AppState, tenant: &str, role: Role) -> Result<(), ApiError> {
    match role {
        Role::Submitter => Ok(()),
        Role::Admin => {
            let now = auth::now_unix();
            let live_admin = state
                .ledger
                .tenant_tokens(tenant)?
                .into_iter()
                .any(|(_, r)| r.role == Role::Admin && r.is_live(now));
            if live_admin {
                Err(forbidden("this tenant's admin tokens (it has an admin, who mints them)"))
            } else {
                Ok(())
            }
        }
        _ => Err(forbidden("a tenant's legal or notary tokens (its own admin mints them)")),
    }
}

/// `GET /v1/tokens[?tenant=T]`: the records (never the tokens) the caller
/// may manage. An admin's list, and the platform's with `tenant`, read
/// that tenant's index only; the platform's list of every tenant reads
/// every record. Runs on a blocking thread.
pub(crate) fn list(state: &AppState, caller: &Caller, query: &str) -> Answer {
    require(caller, &[Role::Admin, Role::Platform])?;
    let filter =
        match query {
            "" => None,
            q => Some(q.strip_prefix("tenant=").ok_or_else(|| {
                ApiError::bad_request("bad_query", "the only parameter is tenant")
            })?),
        };
    if caller.role != Role::Platform && filter.is_some_and(|t| t != caller.tenant) {
        return Err(forbidden("another tenant's tokens"));
    }
    let records = match (caller.role, filter) {
        (Role::Platform, None) => state.ledger.tokens()?,
        (_, Some(t)) => state.ledger.tenant_tokens(t)?,
        (_, None) => state.ledger.tenant_tokens(&caller.tenant)?,
    };
    let list: Vec<_> = records
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r| may_manage(caller, r) && filter.is_none_or(|t| r.tenant == t))
        .map(|r| token_json(&r))
        .collect();
    Ok(json(&json!({"tokens": list})))
}

/// `POST /v1/tokens/{id}/revoke`: 404 for an unknown id, 403 for a token
/// the caller may not manage.
pub(crate) async fn revoke(state: &Arc<AppState>, req: &Req, id: &str) -> Answer {
    let caller = caller(state, req).await?;
    require(&caller, &[Role::Admin, Role::Platform])?;
    state.admission.charge_write(&caller.tenant, &req.headers, 4096)?;
    let (st, id) = (state.clone(), id.to_string());
    let rec = tokio::task::spawn_blocking(move || {
        let (_, rec) = auth::find(&st.ledger, &id)?;
        if !may_manage(&caller, &rec) {
            return Err(forbidden("this token"));
        }
        Ok(auth::revoke(&st.ledger, &id, &caller.token_id)?)
    })
    .await
    .map_err(|e| ApiError::internal("revoke token", e))??;
    Ok(json(&token_json(&rec)))
}

/// The platform manages every token; an admin its own tenant's.
fn may_manage(caller: &Caller, rec: &TokenRecord) -> bool {
    caller.role == Role::Platform || (rec.tenant == caller.tenant && rec.role != Role::Platform)
}

fn token_json(r: &TokenRecord) -> serde_json::Value {
    let expires_at =
        r.expires_unix.map(|e| verifier::report::unix_to_rfc3339(u64::try_from(e).unwrap_or(0)));
    json!({
        "id": r.id,
        "tenant": r.tenant,
        "role": r.role.as_str(),
        "created_at": r.created_at,
        "expires_at": expires_at,
        "revoked_at": r.revoked_at,
    })
}
