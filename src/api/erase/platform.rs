//! Cross-tenant subject erasure by the platform (issue 25 item 8):
//! `POST /v1/platform/subjects/{actor_id}/erase` (role `platform`) erases
//! one person across every tenant the ledger knows. Each tenant gets its
//! own subject erasure (its own `erased` entry in its log, one commit,
//! atomic per tenant) with its clean-up; the job itself is a sealed record
//! (`aux` `platform-erasure\0` job id) written before the first tenant
//! and updated after each, so that a crash in the middle is resumed at
//! the next start (`resume_platform_erasures`) until every tenant is done.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::Buf;
use futures_util::Stream;
use ledger::{Ledger, LedgerError, Role, PLATFORM_TENANT};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{resume_cleanups, small_json, CleanupDone, EraseBody, SMALL_BODY};
use crate::api::{caller, json, Answer, AppState, Req};
use crate::auth::require;
use crate::error::ApiError;

/// Aux key prefix of the platform's cross-tenant erasure jobs.
const JOB_PREFIX: &[u8] = b"platform-erasure\0";
/// What the job records are sealed for, and the scope of their key.
const PURPOSE: &[u8] = b"platform-erasure";

/// One cross-tenant erasure, as sealed in the store.
#[derive(Serialize, Deserialize)]
pub(super) struct Job {
    pub actor_id: String,
    pub reason: String,
    pub by: String,
    /// Every tenant it covers, fixed when it starts.
    pub tenants: Vec<String>,
    /// Per tenant done: `{"status": "erased", "entry": N}` or
    /// `{"status": "nothing"}` (no entry of the person holds personal data).
    #[serde(default)]
    pub results: BTreeMap<String, Value>,
}

/// The tenants the ledger knows: of its tokens (revoked ones too), its
/// tenants' issuers and retention policies, and `records` (the tenant
/// records' names); never the platform itself.
fn known_tenants(ledger: &Ledger, records: Vec<String>) -> Result<Vec<String>, ApiError> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    out.extend(ledger.tokens()?.into_iter().map(|(_, t)| t.tenant));
    out.extend(ledger.issuers()?.into_iter().filter_map(|i| i.tenant));
    for (k, _) in ledger.aux_scan(super::RETENTION_POLICY_PREFIX)? {
        let t = &k[super::RETENTION_POLICY_PREFIX.len()..];
        out.insert(String::from_utf8_lossy(t).into_owned());
    }
    out.extend(records);
    out.remove(PLATFORM_TENANT);
    Ok(out.into_iter().collect())
}

fn save(ledger: &Ledger, id: &[u8], job: &Job) -> Result<(), ApiError> {
    let plain = serde_json::to_vec(job).map_err(|e| ApiError::internal("erasure job", e))?;
    let sealed = ledger.seal_service_blob(&[PURPOSE], PURPOSE, &plain)?;
    // Synced: a tenant recorded done is never erased twice after a crash.
    ledger.aux_put(&[JOB_PREFIX, id].concat(), &sealed)?;
    Ok(())
}

/// Starts a job over the tenants the ledger knows and `records` (the
/// tenant records' names): its record is on disk before any tenant is
/// touched.
pub(super) fn start(
    ledger: &Ledger,
    actor_id: &str,
    reason: &str,
    by: &str,
    records: Vec<String>,
) -> Result<(Vec<u8>, Job), ApiError> {
    let mut id = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut id);
    let job = Job {
        actor_id: actor_id.to_owned(),
        reason: reason.to_owned(),
        by: by.to_owned(),
        tenants: known_tenants(ledger, records)?,
        results: BTreeMap::new(),
    };
    save(ledger, &id, &job)?;
    Ok((id.to_vec(), job))
}

/// Runs the tenants of `job` not done yet, one subject erasure each (in
/// the tenant's report issuing lock), recording each before the next;
/// then every pending clean-up. The record goes once every tenant is
/// done and no clean-up is pending. Returns the clean-up's outcome.
pub(super) fn run(ledger: &Ledger, id: &[u8], job: &mut Job) -> CleanupDone {
    for tenant in job.tenants.clone() {
        if job.results.contains_key(&tenant) {
            continue;
        }
        let _issuing = crate::api::report::issuing_lock(&tenant);
        let result = match ledger.erase_subject(&tenant, &job.actor_id, &job.reason, &job.by) {
            Ok(r) => Ok(json!({"status": "erased", "entry": r.index})),
            Err(LedgerError::NotFound(_)) => already(ledger, &tenant, &job.actor_id),
            Err(e) => Err(ApiError::from(e)),
        };
        ledger::fault::point("platform-erase-tenant");
        match result.and_then(|v| {
            job.results.insert(tenant.clone(), v);
            save(ledger, id, job)
        }) {
            Ok(()) => {}
            Err(e) => tracing::error!("platform erasure: tenant left pending: {}", e.message),
        }
    }
    let done = resume_cleanups(ledger, None);
    let complete = job.results.len() == job.tenants.len() && done.pending.is_empty();
    if complete {
        if let Err(e) = ledger.aux_delete_synced(&[JOB_PREFIX, id].concat()) {
            tracing::error!("platform erasure: its record stays: {e}");
        }
    }
    done
}

/// A tenant where the person holds no personal data any more: erased
/// before (by this job before a crash, or by the tenant; its subject
/// erasure entry names it), or never.
fn already(ledger: &Ledger, tenant: &str, actor_id: &str) -> Result<Value, ApiError> {
    let entries = ledger.document_entries(tenant, &ledger::subject_document(actor_id))?;
    Ok(match entries.last() {
        Some(i) => json!({"status": "erased", "entry": i}),
        None => json!({"status": "nothing"}),
    })
}

/// The answer: per tenant what was done, and what is pending.
pub(super) fn answer(job: &Job, done: &CleanupDone) -> Value {
    let tenants: Vec<Value> = job
        .tenants
        .iter()
        .map(|t| match job.results.get(t) {
            Some(v) => {
                let mut v = v.clone();
                v["tenant"] = json!(t);
                v
            }
            None => json!({"tenant": t, "status": "pending"}),
        })
        .collect();
    let pending: Vec<&String> =
        job.tenants.iter().filter(|t| !job.results.contains_key(*t)).collect();
    json!({
        "actor_id": job.actor_id,
        "tenants": tenants,
        "pending_tenants": pending,
        "cleanup_pending": done.pending,
    })
}

/// Resumes every cross-tenant erasure a crash or failure cut short (at
/// start, before anything is served). Returns the tenants still pending.
pub fn resume_platform_erasures(ledger: &Ledger) -> Result<Vec<String>, ApiError> {
    let mut pending = Vec::new();
    for (key, sealed) in ledger.aux_scan(JOB_PREFIX)? {
        let Some(plain) = ledger.open_document_blob(PURPOSE, &sealed)? else { continue };
        let mut job: Job =
            serde_json::from_slice(&plain).map_err(|e| ApiError::internal("erasure job", e))?;
        let id = key[JOB_PREFIX.len()..].to_vec();
        let done = run(ledger, &id, &mut job);
        pending.extend(job.tenants.iter().filter(|t| !job.results.contains_key(*t)).cloned());
        pending.extend(done.pending.iter().map(|s| format!("clean-up {s}")));
    }
    Ok(pending)
}

/// `POST /v1/platform/subjects/{actor_id}/erase` (role `platform`): the
/// subject erased in every tenant, each with its own log entry
/// (this module); the answer lists per tenant what was done or is pending.
pub(crate) async fn erase_subject_everywhere<S, B>(
    state: &Arc<AppState>,
    req: &Req,
    actor_id: &str,
    body: S,
) -> Answer
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let caller = caller(state, req).await?;
    require(&caller, &[Role::Platform])?;
    state.admission.charge_write(&caller.tenant, &req.headers, SMALL_BODY)?;
    ledger::check_id("actor_id", actor_id)?;
    let reason = small_json::<_, _, EraseBody>(body).await?.reason()?;
    let st = state.clone();
    let actor = actor_id.to_owned();
    tokio::task::spawn_blocking(move || {
        let _work = st.metrics.work("erase");
        let records = st.tenants.list().into_iter().map(|r| r.tenant).collect();
        let (id, mut job) = start(&st.ledger, &actor, &reason.recorded, &caller.token_id, records)?;
        let done = run(&st.ledger, &id, &mut job);
        let mut answer = answer(&job, &done);
        answer["reason_code"] = json!(reason.code);
        Ok(json(&answer))
    })
    .await
    .map_err(|e| ApiError::internal("erase", e))?
}
