//! Evidence v2 erasure and the per-document lookup switch (docs/api.md,
//! "Erasure"):
//!
//! - `POST /v1/documents/{document_id}/erase` (the tenant's `admin`), body
//!   `{"reason_code": C, "note"?: N}` (or the free-text `{"reason": R}` of
//!   before): crypto-shredding of the document. The ledger destroys the
//!   document key and every record and identity opening of it, tombstones
//!   their idempotency records, and appends an `erased` entry in one synced
//!   batch, with a sealed clean-up record of what the service still has to
//!   delete; [`resume_cleanups`] then deletes what the service kept of the
//!   document itself (issued reports, the document id in access-log paths)
//!   and has the store purge the files that still held any of it. A
//!   clean-up cut short is resumed at the next start and by every sweep.
//!   The answer is the erased entry's receipt and what is still pending.
//! - `POST /v1/subjects/{actor_id}/erase` (the tenant's `admin`): the
//!   identity openings of one data subject across the tenant's documents
//!   (PIPL art. 47).
//! - `POST /v1/documents/{document_id}/lookup` (the tenant's `admin`),
//!   body `{"enabled": false|true}`: whether the holder of the file may
//!   see the document's signing summary on `GET /v1/lookup`.

use std::sync::atomic::{AtomicBool, Ordering};
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

/// Why an erasure is made: the codes an erasure request names
/// (`reason_code`), docs/api.md "Erasure".
pub const REASON_CODES: [&str; 7] = [
    "data_subject_request",
    "consent_withdrawn",
    "purpose_fulfilled",
    "retention_expired",
    "unlawful_processing",
    "legal_order",
    "other",
];

/// `{"reason_code": C, "note"?: N}`, or the free-text `{"reason": R}` of
/// before reason codes (still taken: it is the note of code `other`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EraseBody {
    reason: Option<String>,
    reason_code: Option<String>,
    note: Option<String>,
}

/// A request's reason: its code, its note, and what the ledger records
/// (sealed under the erasure key; shown in bundles and reports).
struct Reason {
    code: String,
    note: Option<String>,
    recorded: String,
}

impl EraseBody {
    fn reason(self) -> Result<Reason, ApiError> {
        let bad = |m: String| ApiError::bad_request("invalid_request", m);
        match (self.reason, self.reason_code, self.note) {
            (Some(r), None, None) => {
                Ok(Reason { code: "other".into(), note: Some(r.clone()), recorded: r })
            }
            (None, Some(code), note) => {
                if !REASON_CODES.contains(&code.as_str()) {
                    return Err(bad(format!("reason_code: one of {}", REASON_CODES.join(", "))));
                }
                let recorded = match &note {
                    Some(n) => format!("{code}: {n}"),
                    None => code.clone(),
                };
                Ok(Reason { code, note, recorded })
            }
            _ => Err(bad("either reason_code (and an optional note) or reason".into())),
        }
    }
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
    let reason = small_json::<_, _, EraseBody>(body).await?.reason()?;
    let st = state.clone();
    let doc = document_id.to_owned();
    tokio::task::spawn_blocking(move || {
        // No report is rendered from the records while they are erased.
        let _issuing = super::report::issuing_lock();
        // Erased before: 409, and nothing else. A clean-up cut short is
        // resumed from its record (at start and by the sweeper), not by
        // repeats, which would cost a purge each.
        let receipt =
            st.ledger.erase_document(&caller.tenant, &doc, &reason.recorded, &caller.token_id)?;
        ledger::fault::point("erase-committed");
        let done = resume_cleanups(&st.ledger);
        let v1 = st.ledger.v1_document_entries(&caller.tenant, &doc)?;
        Ok(json(&json!({
            "erased": {
                "document_id": doc,
                "at": &*receipt.ledger_time,
                "by": caller.token_id,
                "reason": reason.recorded,
                "reason_code": reason.code,
                "note": reason.note,
                "reports_deleted": done.reports,
                "access_log_records_redacted": done.redacted,
                "purged": done.purged,
                "pending": done.pending,
                "v1_entries_remain_public": v1,
            },
            "receipt": receipt_json(&receipt),
        })))
    })
    .await
    .map_err(|e| ApiError::internal("erase", e))?
}

/// What [`resume_cleanups`] did, and what it left pending.
#[derive(Debug, Default)]
pub struct CleanupDone {
    /// Stored reports deleted.
    pub reports: usize,
    /// Access-log records rewritten.
    pub redacted: usize,
    /// Whether no purge is pending any more.
    pub purged: bool,
    /// The steps not done (`reports`, `access_log`, `purge`): they stay
    /// pending and are resumed at the next start or retention sweep.
    pub pending: Vec<&'static str>,
}

/// Runs the clean-up of every erasure whose clean-up record is still
/// there (written in the erasure's own commit), then the store's purge
/// (of the keys the erasures deleted and the service's ranges the
/// clean-ups touched). Each step is idempotent; a record is deleted only
/// after its steps and the purge, and the purge marks only after the
/// purge, so a crash or failure anywhere leaves the rest to the next run.
/// The caller holds the report issuing lock (no report is rendered
/// meanwhile).
pub fn resume_cleanups(ledger: &Ledger) -> CleanupDone {
    let mut done = CleanupDone::default();
    let pending = match ledger.pending_cleanups() {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("erasure clean-up: reading what is pending: {e}");
            done.pending = vec!["reports", "access_log", "purge"];
            return done;
        }
    };
    let (mut cleaned, mut ranges) = (Vec::new(), Vec::new());
    for c in &pending {
        match clean_up_one(ledger, c, &mut done) {
            Ok(mut r) => {
                cleaned.push(c);
                ranges.append(&mut r);
            }
            Err((step, e)) => {
                tracing::error!("erasure clean-up: {step}: {}", e.message);
                for s in ["reports", "access_log"].into_iter().skip_while(|s| *s != step) {
                    if !done.pending.contains(&s) {
                        done.pending.push(s);
                    }
                }
            }
        }
    }
    // After any clean-up, even if `Ledger::open` purged already: the
    // values the clean-up deleted or rewrote sit in the memtable, the WAL
    // and the table files that open's purge flushed.
    let purge = |p: bool| if p || !cleaned.is_empty() { ledger.purge(&ranges) } else { Ok(()) };
    let purged = ledger.purge_pending().and_then(purge);
    let finished = purged.and_then(|()| cleaned.iter().try_for_each(|c| ledger.finish_cleanup(c)));
    match finished {
        Ok(()) => done.purged = true,
        Err(e) => {
            tracing::error!("erasure clean-up: purge: {e}");
            done.pending.push("purge");
        }
    }
    done
}

/// [`resume_cleanups`], taking the report issuing lock (at start).
pub fn resume_cleanups_now(ledger: &Ledger) -> CleanupDone {
    let _issuing = super::report::issuing_lock();
    resume_cleanups(ledger)
}

/// One erasure's clean-up: the stored reports of its documents (and their
/// idempotency records), the access-log paths naming them or the
/// subject. Returns the `aux` key prefixes it deleted or rewrote under,
/// for the purge.
fn clean_up_one(
    ledger: &Ledger,
    c: &ledger::Cleanup,
    done: &mut CleanupDone,
) -> Result<Vec<Vec<u8>>, (&'static str, ApiError)> {
    let mut ranges = super::access::prefixes(&c.tenant);
    for doc in &c.documents {
        done.reports += super::report::erase_document_reports(ledger, &c.tenant, doc)
            .map_err(|e| ("reports", e))?;
        ranges.extend(super::report::prefixes(ledger, &c.tenant, doc).map_err(|e| ("reports", e))?);
    }
    ledger::fault::point("erase-cleanup-reports");
    let redacted = match &c.actor_id {
        Some(actor) => super::access::redact_subject(ledger, &c.tenant, actor),
        None => c
            .documents
            .iter()
            .map(|d| super::access::redact_document(ledger, &c.tenant, d))
            .sum::<Result<usize, _>>(),
    };
    done.redacted += redacted.map_err(|e| ("access_log", e.into()))?;
    Ok(ranges)
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
    let reason = small_json::<_, _, EraseBody>(body).await?.reason()?;
    let st = state.clone();
    let actor = actor_id.to_owned();
    tokio::task::spawn_blocking(move || {
        let _issuing = super::report::issuing_lock();
        // Stored reports of the subject's documents print the person in
        // full: the clean-up record (in the erasure's commit) names those
        // documents, and their reports go (the report entries stay).
        let receipt =
            st.ledger.erase_subject(&caller.tenant, &actor, &reason.recorded, &caller.token_id)?;
        ledger::fault::point("erase-committed");
        let done = resume_cleanups(&st.ledger);
        Ok(json(&json!({
            "erased": {
                "actor_id": actor,
                "at": &*receipt.ledger_time,
                "by": caller.token_id,
                "reason": reason.recorded,
                "reason_code": reason.code,
                "note": reason.note,
                "reports_deleted": done.reports,
                "access_log_records_redacted": done.redacted,
                "purged": done.purged,
                "pending": done.pending,
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
        state.ledger.aux_delete_synced(&key)?;
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
/// Aux key prefix of retention erasures whose clean-up is not done yet
/// (written before an erasure by stores of before the erasure's own
/// clean-up record; still read, no longer written).
const RETENTION_CLEANUP_PREFIX: &[u8] = b"retention-cleanup\0";
/// Longest retention a policy may set: 100 years.
pub const MAX_RETENTION_DAYS: u32 = 36_500;
const DAY_MICROS: i64 = 86_400_000_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RetentionBody {
    /// Erase a document this many days after its `completed` entry; `null`
    /// turns the policy off.
    erase_after_days: Option<u32>,
}

/// A tenant's policy as stored (synced), and who set it.
#[derive(serde::Serialize, Deserialize)]
struct RetentionPolicy {
    erase_after_days: Option<u32>,
    set_by: String,
    set_at: String,
}

fn load_policy(ledger: &Ledger, tenant: &str) -> Result<Option<RetentionPolicy>, ApiError> {
    let key = [RETENTION_POLICY_PREFIX, tenant.as_bytes()].concat();
    Ok(ledger.aux_get(&key)?.and_then(|v| serde_json::from_slice(&v).ok()))
}

/// `POST /v1/retention` (the tenant's `admin`): `{"erase_after_days": N|null}`,
/// N at most [`MAX_RETENTION_DAYS`]. The change is logged (a
/// `registry_changed` entry attested by the log key, naming the token).
pub(crate) async fn set_retention<S, B>(state: &Arc<AppState>, req: &Req, body: S) -> Answer
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let caller = admin(state, req)?;
    let body: RetentionBody = small_json(body).await?;
    if body.erase_after_days.is_some_and(|d| d > MAX_RETENTION_DAYS) {
        return Err(ApiError::bad_request(
            "invalid_request",
            format!("erase_after_days: at most {MAX_RETENTION_DAYS} (100 years)"),
        ));
    }
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        let policy = RetentionPolicy {
            erase_after_days: body.erase_after_days,
            set_by: caller.token_id.clone(),
            set_at: ledger::now_rfc3339(),
        };
        let key = [RETENTION_POLICY_PREFIX, caller.tenant.as_bytes()].concat();
        let value = serde_json::to_vec(&policy).map_err(|e| ApiError::internal("policy", e))?;
        // Synced (aux_put), also when turning it off: a policy believed off
        // must not come back after a power cut and erase.
        st.ledger.aux_put(&key, &value)?;
        let hash = verifier::Hash::digest(
            format!("evidence-ledger retention {}", caller.tenant).as_bytes(),
        );
        let claim = json!({"retention": {"erase_after_days": body.erase_after_days}});
        st.ledger.log_registry_change(
            &caller.tenant,
            "retention:policy",
            &hash,
            claim,
            &caller.token_id,
        )?;
        Ok(json(&json!({"tenant": caller.tenant, "erase_after_days": body.erase_after_days})))
    })
    .await
    .map_err(|e| ApiError::internal("retention", e))?
}

/// `GET /v1/retention` (the tenant's `admin`).
pub(crate) fn get_retention(state: &AppState, caller: &Caller) -> Answer {
    require(caller, &[Role::Admin])?;
    let p = load_policy(&state.ledger, &caller.tenant)?;
    Ok(json(&json!({
        "tenant": caller.tenant,
        "erase_after_days": p.as_ref().and_then(|p| p.erase_after_days),
        "set_by": p.as_ref().map(|p| p.set_by.clone()),
        "set_at": p.as_ref().map(|p| p.set_at.clone()),
    })))
}

/// One pass of the retention policies: erases (as [`erase_document`]
/// does, clean-up included, the store purged once at the end) every
/// document completed longer ago than its tenant's `erase_after_days`,
/// and drops the index records of documents erased already. A document
/// that fails is logged and skipped; `stop` ends the pass early. Returns
/// how many documents it erased.
pub fn sweep_retention(state: &AppState, stop: &AtomicBool) -> Result<usize, ApiError> {
    let ledger = &state.ledger;
    // Clean-ups a crash or failure cut short, first: those recorded by
    // stores of before the clean-up record, then every erasure's.
    let mut touched = false;
    for (key, v) in ledger.aux_scan(RETENTION_CLEANUP_PREFIX)? {
        let Ok(ids) = serde_json::from_slice::<serde_json::Value>(&v) else { continue };
        let (Some(t), Some(d)) = (ids["tenant"].as_str(), ids["document_id"].as_str()) else {
            continue;
        };
        let _issuing = super::report::issuing_lock();
        super::report::erase_document_reports(ledger, t, d)?;
        super::access::redact_document(ledger, t, d)?;
        ledger.aux_delete_synced(&key)?;
        touched = true;
    }
    if !ledger.pending_cleanups()?.is_empty() || ledger.purge_pending()? {
        let _issuing = super::report::issuing_lock();
        let done = resume_cleanups(ledger);
        if !done.pending.is_empty() {
            tracing::error!("retention: erasure clean-up still pending: {:?}", done.pending);
        }
    }
    let mut policies = std::collections::HashMap::new();
    for (k, v) in ledger.aux_scan(RETENTION_POLICY_PREFIX)? {
        let tenant = String::from_utf8_lossy(&k[RETENTION_POLICY_PREFIX.len()..]).into_owned();
        let p: Option<RetentionPolicy> = serde_json::from_slice(&v).ok();
        if let Some(p) = p {
            if let Some(days) = p.erase_after_days {
                policies.insert(tenant, (i64::from(days), p.set_by));
            }
        }
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1000;
    let mut erased = 0;
    if let Some(min_days) = policies.values().map(|p| p.0).min() {
        let before = now.saturating_sub(min_days.saturating_mul(DAY_MICROS));
        for (key, ids) in ledger.completions_before(before)? {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            match sweep_one(ledger, &policies, now, &key, ids) {
                Ok(true) => {
                    erased += 1;
                    touched = true;
                }
                Ok(false) => {}
                Err(e) => tracing::error!("retention: skipping one document: {}", e.message),
            }
        }
    }
    if touched {
        let _issuing = super::report::issuing_lock();
        let done = resume_cleanups(ledger);
        if !done.pending.is_empty() {
            tracing::error!("retention: erasure clean-up still pending: {:?}", done.pending);
        }
    }
    Ok(erased)
}

/// One document of the retention index; true if it erased it.
fn sweep_one(
    ledger: &Ledger,
    policies: &std::collections::HashMap<String, (i64, String)>,
    now: i64,
    key: &[u8],
    ids: Option<(String, String)>,
) -> Result<bool, ApiError> {
    let Some((tenant, doc)) = ids else {
        ledger.aux_delete_synced(key)?; // erased already: its key is gone
        return Ok(false);
    };
    let Some((days, set_by)) = policies.get(&tenant) else { return Ok(false) };
    let at = ledger::store::be_u64_pub(&key[key.len() - 40..]) as i64;
    if at.saturating_add(days.saturating_mul(DAY_MICROS)) > now {
        return Ok(false);
    }
    let _issuing = super::report::issuing_lock();
    // What to clean up is recorded by the erasure itself, in its commit,
    // and done by the caller's `resume_cleanups` (once per sweep).
    let reason = format!("retention policy: erased {days} days after the contract completed");
    let by = format!("retention:{set_by}");
    let erased = match ledger.erase_document(&tenant, &doc, &reason, &by) {
        Ok(_) => true,
        Err(ledger::LedgerError::AlreadyExists(_) | ledger::LedgerError::NotFound(_)) => false,
        Err(e) => return Err(e.into()),
    };
    ledger.aux_delete_synced(key)?;
    Ok(erased)
}
