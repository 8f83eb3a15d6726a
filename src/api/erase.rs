//! Evidence v2 erasure and the per-document lookup switch (docs/api.md,
//! "Erasure"):
//!
//! - `POST /v1/documents/{document_id}/erase` (the tenant's `admin`), body
//!   `{"reason": "..."}`: crypto-shredding of the document. The ledger
//!   destroys the document key and every record and identity opening of
//!   it and appends an `erased` entry in one synced batch; the service
//!   then deletes what it kept of the document itself (issued reports, the
//!   document id in access-log paths) and has the store rewrite the files
//!   that still held any of it. The answer is the erased entry's receipt.
//! - `POST /v1/subjects/{actor_id}/erase` (the tenant's `admin`): the
//!   identity openings of one data subject across the tenant's documents
//!   (PIPL art. 47).
//! - `POST /v1/documents/{document_id}/lookup` (the tenant's `admin`),
//!   body `{"enabled": false|true}`: whether the holder of the file may
//!   see the document's signing summary on `GET /v1/lookup`.

use std::sync::Arc;

use bytes::Buf;
use futures_util::Stream;
use ledger::{Ledger, Receipt, Role};
use serde::Deserialize;
use serde_json::json;
use verifier::jcs::{self, Limits};

use super::{caller, json, read_body, Answer, AppState, Req};
use crate::auth::{require, Caller};
use crate::error::ApiError;

/// Aux key prefix of documents whose tenant turned the public lookup off.
const LOOKUP_OFF_PREFIX: &[u8] = b"lookup-off\0";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EraseBody {
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LookupBody {
    enabled: bool,
}

async fn small_json<S, B, T>(body: S) -> Result<T, ApiError>
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
    T: serde::de::DeserializeOwned,
{
    let bytes = read_body(body, 16 * 1024).await?;
    let limits = Limits { max_bytes: 16 * 1024, max_depth: 2, max_string: 4096 };
    let value = jcs::parse(&bytes, &limits).map_err(|e| ApiError::from_verify(None, &e))?;
    serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request("invalid_request", e.to_string()))
}

fn admin(state: &AppState, req: &Req) -> Result<Caller, ApiError> {
    let caller = caller(state, req)?;
    require(&caller, &[Role::Admin])?;
    Ok(caller)
}

fn receipt_json(r: &Receipt) -> serde_json::Value {
    json!({
        "event_id": r.event_id,
        "index": r.index,
        "leaf_hash": r.leaf_hash.to_base64(),
        "ledger_time": &*r.ledger_time,
        "tree_size": r.tree_size,
        "inclusion": r.inclusion.iter().map(|h| h.to_base64()).collect::<Vec<_>>(),
        "checkpoint": &*r.checkpoint,
    })
}

/// `POST /v1/documents/{document_id}/erase`.
pub(crate) async fn erase_document<S, B>(
    state: &Arc<AppState>,
    req: &Req,
    document_id: &str,
    body: S,
) -> Answer
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let caller = admin(state, req)?;
    ledger::check_id("document_id", document_id)?;
    let body: EraseBody = small_json(body).await?;
    let st = state.clone();
    let doc = document_id.to_owned();
    tokio::task::spawn_blocking(move || {
        // No report is rendered from the records while they are erased.
        let _issuing = super::report::issuing_lock();
        let erased = st.ledger.erase_document(&caller.tenant, &doc, &body.reason, &caller.token_id);
        // Erased before (409), maybe with the clean-up cut short by a crash
        // or a failure: the clean-up is idempotent, so it runs again first.
        let receipt = match erased {
            Err(e @ ledger::LedgerError::AlreadyExists(_)) => {
                clean_up(&st.ledger, &caller.tenant, &doc)?;
                return Err(e.into());
            }
            other => other?,
        };
        let (reports, redacted) = clean_up(&st.ledger, &caller.tenant, &doc)?;
        let v1 = st.ledger.v1_document_entries(&caller.tenant, &doc)?;
        Ok(json(&json!({
            "erased": {
                "document_id": doc,
                "at": &*receipt.ledger_time,
                "by": caller.token_id,
                "reason": body.reason,
                "reports_deleted": reports,
                "access_log_records_redacted": redacted,
                "purged": true,
                "v1_entries_remain_public": v1,
            },
            "receipt": receipt_json(&receipt),
        })))
    })
    .await
    .map_err(|e| ApiError::internal("erase", e))?
}

/// What the service kept of an erased document itself: its stored reports
/// (deleted) and its id in access-log paths (redacted); then the store
/// rewrites the files that held any of it. Idempotent. The lookup switch
/// stays: an erased document stays hidden if its tenant hid it.
fn clean_up(ledger: &Ledger, tenant: &str, doc: &str) -> Result<(usize, usize), ApiError> {
    let reports = super::report::erase_document_reports(ledger, tenant, doc)?;
    let redacted = super::access::redact_document(ledger, tenant, doc)?;
    ledger.purge()?;
    Ok((reports, redacted))
}

/// `POST /v1/subjects/{actor_id}/erase`.
pub(crate) async fn erase_subject<S, B>(
    state: &Arc<AppState>,
    req: &Req,
    actor_id: &str,
    body: S,
) -> Answer
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let caller = admin(state, req)?;
    ledger::check_id("actor_id", actor_id)?;
    let body: EraseBody = small_json(body).await?;
    let st = state.clone();
    let actor = actor_id.to_owned();
    tokio::task::spawn_blocking(move || {
        let _issuing = super::report::issuing_lock();
        // Stored reports of those documents print the person in full: they
        // go too (the report entries in the log stay).
        let documents = st.ledger.subject_documents(&caller.tenant, &actor)?;
        let receipt =
            st.ledger.erase_subject(&caller.tenant, &actor, &body.reason, &caller.token_id)?;
        let mut reports = 0;
        for doc in &documents {
            reports += super::report::erase_document_reports(&st.ledger, &caller.tenant, doc)?;
        }
        st.ledger.purge()?;
        Ok(json(&json!({
            "erased": {
                "actor_id": actor,
                "at": &*receipt.ledger_time,
                "by": caller.token_id,
                "reason": body.reason,
                "reports_deleted": reports,
                "purged": true,
            },
            "receipt": receipt_json(&receipt),
        })))
    })
    .await
    .map_err(|e| ApiError::internal("erase", e))?
}

/// `POST /v1/documents/{document_id}/lookup`.
pub(crate) async fn set_lookup<S, B>(
    state: &Arc<AppState>,
    req: &Req,
    document_id: &str,
    body: S,
) -> Answer
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let caller = admin(state, req)?;
    ledger::check_id("document_id", document_id)?;
    let body: LookupBody = small_json(body).await?;
    if state.ledger.document_entries(&caller.tenant, document_id)?.is_empty() {
        return Err(ApiError::not_found(format!("document {document_id:?}")));
    }
    let key = lookup_key(&state.ledger, &caller.tenant, document_id)?;
    if body.enabled {
        let mut end = key.clone();
        end.push(0);
        state.ledger.aux_delete_range(&key, &end)?;
    } else {
        state.ledger.aux_put(&key, b"off")?;
    }
    Ok(json(&json!({"document_id": document_id, "lookup_enabled": body.enabled})))
}

fn lookup_key(ledger: &Ledger, tenant: &str, document_id: &str) -> Result<Vec<u8>, ApiError> {
    let id = ledger.document_key_id(tenant, document_id)?;
    Ok([LOOKUP_OFF_PREFIX, &id].concat())
}

/// Whether the tenant turned the public lookup of its document off.
pub(crate) fn lookup_disabled(
    ledger: &Ledger,
    tenant: &str,
    document_id: &str,
) -> Result<bool, ApiError> {
    Ok(ledger.aux_get(&lookup_key(ledger, tenant, document_id)?)?.is_some())
}

/// Aux key prefix of the tenants' retention policies.
const RETENTION_POLICY_PREFIX: &[u8] = b"retention-policy\0";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RetentionBody {
    /// Erase a document this many days after its `completed` entry; `null`
    /// turns the policy off.
    erase_after_days: Option<u32>,
}

/// `POST /v1/retention` (the tenant's `admin`): `{"erase_after_days": N|null}`.
pub(crate) async fn set_retention<S, B>(state: &Arc<AppState>, req: &Req, body: S) -> Answer
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let caller = admin(state, req)?;
    let body: RetentionBody = small_json(body).await?;
    let key = [RETENTION_POLICY_PREFIX, caller.tenant.as_bytes()].concat();
    match body.erase_after_days {
        Some(days) => state.ledger.aux_put(&key, &days.to_be_bytes())?,
        None => state.ledger.aux_delete_range(&key, &[key.as_slice(), &[0]].concat())?,
    }
    Ok(json(&json!({"tenant": caller.tenant, "erase_after_days": body.erase_after_days})))
}

/// `GET /v1/retention` (the tenant's `admin`).
pub(crate) fn get_retention(state: &AppState, caller: &Caller) -> Answer {
    require(caller, &[Role::Admin])?;
    let key = [RETENTION_POLICY_PREFIX, caller.tenant.as_bytes()].concat();
    let days = state.ledger.aux_get(&key)?.and_then(|v| <[u8; 4]>::try_from(v.as_slice()).ok());
    Ok(json(&json!({"tenant": caller.tenant, "erase_after_days": days.map(u32::from_be_bytes)})))
}

/// One pass of the retention policy: erases (as [`erase_document`] does,
/// clean-up included) every document completed longer ago than its
/// tenant's `erase_after_days`, and drops the index records of documents
/// erased already. Returns how many documents it erased.
pub fn sweep_retention(state: &AppState) -> Result<usize, ApiError> {
    let ledger = &state.ledger;
    let mut policies = std::collections::HashMap::new();
    for (k, v) in ledger.aux_scan(RETENTION_POLICY_PREFIX)? {
        let tenant = String::from_utf8_lossy(&k[RETENTION_POLICY_PREFIX.len()..]).into_owned();
        if let Ok(d) = <[u8; 4]>::try_from(v.as_slice()) {
            policies.insert(tenant, i64::from(u32::from_be_bytes(d)));
        }
    }
    if policies.is_empty() {
        return Ok(0);
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1000;
    let mut erased = 0;
    for (key, ids) in ledger.completions_before(now)? {
        let drop_record = || ledger.aux_delete_range(&key, &[key.as_slice(), &[0]].concat());
        let Some((tenant, doc)) = ids else {
            drop_record()?; // erased already: its key is gone
            continue;
        };
        let Some(days) = policies.get(&tenant) else { continue };
        let at = ledger::store::be_u64_pub(&key[key.len() - 40..]) as i64;
        if at + days * 86_400_000_000 > now {
            continue;
        }
        let _issuing = super::report::issuing_lock();
        let reason = format!("retention policy: erased {days} days after the contract completed");
        match ledger.erase_document(&tenant, &doc, &reason, "retention") {
            Ok(_) => erased += 1,
            Err(ledger::LedgerError::AlreadyExists(_) | ledger::LedgerError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        clean_up(ledger, &tenant, &doc)?;
        drop_record()?;
    }
    Ok(erased)
}
