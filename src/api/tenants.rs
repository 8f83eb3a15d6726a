//! `POST /v1/tenants`, `GET /v1/tenants`, `GET`/`PATCH
//! /v1/tenants/{tenant}` (the platform role): tenants as records
//! ([`super::tenant_records`]). A change takes effect on the next request:
//! admission control reads the quota, the public lookup the default, a
//! retention change the minimum.
//!
//! [`create_record`] and [`patch_record`] are what the routes and the
//! offline CLI (`tenant create|set --data`) both run: the same checks,
//! the same logged `registry_changed` entry, the same stored record.

use std::sync::Arc;

use bytes::Buf;
use futures_util::Stream;
use ledger::{Ledger, Role, PLATFORM_TENANT};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};
use verifier::jcs::{self, Limits};

use super::tenant_records::{QuotaRecord, TenantRecord, Tenants};
use super::{caller, json, read_body, Answer, AppState, Req};
use crate::auth::{self, require, Caller};
use crate::error::ApiError;

/// Largest body of a tenant request.
const BODY: usize = 4096;
/// Highest events/s and writes/min a quota may name (well above what one
/// machine carries; 0 turns a limit off).
const MAX_RATE: u64 = 1_000_000;

/// Body of `POST /v1/tenants`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewTenant {
    /// The tenant's id.
    pub(crate) tenant: String,
    #[serde(default)]
    quota: Option<QuotaRecord>,
    #[serde(default)]
    lookup_default: Option<bool>,
    #[serde(default)]
    retention_min_days: Option<u32>,
    /// Mint the tenant's first `admin` token too (shown once).
    #[serde(default)]
    pub(crate) admin_token: bool,
    /// Its lifetime in seconds (default 90 days).
    #[serde(default)]
    pub(crate) expires_in: Option<u64>,
}

/// Body of `PATCH /v1/tenants/{tenant}`: members present are changed;
/// `null` clears `quota` or `retention_min_days` back to the defaults.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TenantPatch {
    #[serde(default, deserialize_with = "present")]
    quota: Option<Option<QuotaRecord>>,
    #[serde(default)]
    lookup_default: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    retention_min_days: Option<Option<u32>>,
}

/// A member that is present, `null` or not.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn invalid(m: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_request", m)
}

async fn body_json<S, B, T>(body: S) -> Result<T, ApiError>
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
    T: serde::de::DeserializeOwned,
{
    let bytes = read_body(body, BODY).await?;
    let limits = Limits { max_bytes: BODY, max_depth: 3, max_string: 256 };
    let value = jcs::parse(&bytes, &limits).map_err(|e| ApiError::from_verify(None, &e))?;
    serde_json::from_value(value).map_err(|e| invalid(e.to_string()))
}

/// The platform, charged one write and its body's bytes before the body is read.
async fn platform(state: &Arc<AppState>, req: &Req, write: bool) -> Result<Caller, ApiError> {
    let caller = caller(state, req).await?;
    require(&caller, &[Role::Platform])?;
    if write {
        state.admission.charge_write(&caller.tenant, &req.headers, BODY)?;
    }
    Ok(caller)
}

/// A tenant id a record may have: an id, and not the platform's.
pub(crate) fn check_tenant(tenant: &str) -> Result<(), ApiError> {
    ledger::check_id("tenant", tenant)?;
    if tenant == PLATFORM_TENANT {
        return Err(invalid(format!("tenant {PLATFORM_TENANT} is reserved")));
    }
    Ok(())
}

/// The settings' bounds; `floor` is the service's retention floor.
fn check_settings(floor: u32, r: &TenantRecord) -> Result<(), ApiError> {
    if let Some(q) = &r.quota {
        if q.events_per_sec > MAX_RATE || q.writes_per_min > MAX_RATE {
            return Err(invalid(format!(
                "quota: events_per_sec and writes_per_min at most {MAX_RATE} (0: off)"
            )));
        }
    }
    let max = super::erase::MAX_RETENTION_DAYS;
    if r.retention_min_days.is_some_and(|d| !(floor..=max).contains(&d)) {
        return Err(invalid(format!(
            "retention_min_days: {floor} (the service's floor) to {max}, or null"
        )));
    }
    Ok(())
}

/// Serves the record's settings from now on.
fn apply(state: &AppState, r: &TenantRecord) {
    state.admission.set_tenant_quota(&r.tenant, r.quota.map(|q| q.quota()));
}

/// `POST /v1/tenants` (platform): `{"tenant", "quota"?, "lookup_default"?,
/// "retention_min_days"?, "admin_token"?, "expires_in"?}` → the record,
/// and with `admin_token: true` the tenant's first admin token.
pub(crate) async fn create<S, B>(state: &Arc<AppState>, req: &Req, body: S) -> Answer
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let caller = platform(state, req, true).await?;
    let new: NewTenant = body_json(body).await?;
    check_tenant(&new.tenant)?;
    if new.expires_in.is_some() && !new.admin_token {
        return Err(invalid("expires_in applies to the admin token only"));
    }
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        if new.admin_token && st.tenants.get(&new.tenant).is_none() {
            // Before anything is written: a tenant with a live admin gets
            // its admins from that admin, not from the platform.
            super::tokens::platform_may_mint(&st, &new.tenant, Role::Admin)?;
        }
        let floor = st.admission.config().retention_min_days;
        let rec = create_record(&st.ledger, &st.tenants, floor, &caller.token_id, &new)?;
        apply(&st, &rec);
        let mut out = record_json(&rec);
        if new.admin_token {
            let (token, t) =
                auth::issue_under(&st.ledger, &caller, &rec.tenant, Role::Admin, new.expires_in)?;
            out["admin_token"] =
                json!({"token": token, "id": t.id, "expires_unix": t.expires_unix});
        }
        Ok(json(&out))
    })
    .await
    .map_err(|e| ApiError::internal("tenant", e))?
}

/// `PATCH /v1/tenants/{tenant}` (platform).
pub(crate) async fn patch<S, B>(state: &Arc<AppState>, req: &Req, tenant: &str, body: S) -> Answer
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let caller = platform(state, req, true).await?;
    check_tenant(tenant)?;
    let p: TenantPatch = body_json(body).await?;
    let (st, tenant) = (state.clone(), tenant.to_string());
    tokio::task::spawn_blocking(move || {
        let floor = st.admission.config().retention_min_days;
        let rec = patch_record(&st.ledger, &st.tenants, floor, &caller.token_id, &tenant, p)?;
        apply(&st, &rec);
        Ok(json(&record_json(&rec)))
    })
    .await
    .map_err(|e| ApiError::internal("tenant", e))?
}

/// Creates `new`'s record (checked whole; logged, then stored) for the
/// actor `by`: 409 if the tenant has one. `floor`: the service's
/// retention floor.
pub(crate) fn create_record(
    ledger: &Ledger,
    tenants: &Tenants,
    floor: u32,
    by: &str,
    new: &NewTenant,
) -> Result<TenantRecord, ApiError> {
    check_tenant(&new.tenant)?;
    if new.expires_in.is_some() && !new.admin_token {
        return Err(invalid("expires_in applies to the admin token only"));
    }
    let now = ledger::now_rfc3339();
    tenants.write(ledger, &new.tenant, true, by, |_| {
        let rec = TenantRecord {
            tenant: new.tenant.clone(),
            quota: new.quota,
            lookup_default: new.lookup_default.unwrap_or(true),
            retention_min_days: new.retention_min_days,
            created_at: now.clone(),
            updated_at: now,
            updated_by: by.to_string(),
            entry: 0,
        };
        check_settings(floor, &rec)?;
        Ok(rec)
    })
}

/// Changes `tenant`'s record by `p` (checked whole; logged, then stored)
/// for the actor `by`: 404 if it has none.
pub(crate) fn patch_record(
    ledger: &Ledger,
    tenants: &Tenants,
    floor: u32,
    by: &str,
    tenant: &str,
    p: TenantPatch,
) -> Result<TenantRecord, ApiError> {
    check_tenant(tenant)?;
    if p.quota.is_none() && p.lookup_default.is_none() && p.retention_min_days.is_none() {
        return Err(invalid("nothing to change: quota, lookup_default or retention_min_days"));
    }
    tenants.write(ledger, tenant, false, by, |current| {
        let mut rec = current.cloned().ok_or_else(|| ApiError::not_found("tenant"))?;
        if let Some(q) = p.quota {
            rec.quota = q;
        }
        if let Some(l) = p.lookup_default {
            rec.lookup_default = l;
        }
        if let Some(d) = p.retention_min_days {
            rec.retention_min_days = d;
        }
        rec.updated_at = ledger::now_rfc3339();
        rec.updated_by = by.to_string();
        check_settings(floor, &rec)?;
        Ok(rec)
    })
}

/// `GET /v1/tenants` (platform): every record.
pub(crate) fn list(state: &AppState, caller: &Caller) -> Answer {
    require(caller, &[Role::Platform])?;
    let list: Vec<Value> = state.tenants.list().iter().map(record_json).collect();
    Ok(json(&json!({"tenants": list})))
}

/// `GET /v1/tenants/{tenant}` (platform): one record, or 404.
pub(crate) fn get(state: &AppState, caller: &Caller, tenant: &str) -> Answer {
    require(caller, &[Role::Platform])?;
    check_tenant(tenant)?;
    let rec = state
        .tenants
        .get(tenant)
        .ok_or_else(|| ApiError::not_found(format!("tenant {tenant:?}")))?;
    Ok(json(&record_json(&rec)))
}

/// A record as the API shows it, with what is in force for the unset parts.
pub(crate) fn record_json(r: &TenantRecord) -> Value {
    json!({
        "tenant": r.tenant,
        "quota": r.quota,
        "lookup_default": r.lookup_default,
        "retention_min_days": r.retention_min_days,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "updated_by": r.updated_by,
        "entry": r.entry,
    })
}
