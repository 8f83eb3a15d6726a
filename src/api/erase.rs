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

mod cleanup;
pub use cleanup::{resume_cleanups, resume_cleanups_now, CleanupDone};

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
    let bytes = read_body(body, SMALL_BODY).await?;
    let limits = Limits { max_bytes: SMALL_BODY, max_depth: 2, max_string: 4096 };
    let value = jcs::parse(&bytes, &limits).map_err(|e| ApiError::from_verify(None, &e))?;
    serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request("invalid_request", e.to_string()))
}

/// The tenant's admin, charged one write and its small body's bytes
/// before the body is read.
async fn admin(state: &Arc<AppState>, req: &Req) -> Result<Caller, ApiError> {
    let caller = caller(state, req).await?;
    require(&caller, &[Role::Admin])?;
    state.admission.charge_write(&caller.tenant, &req.headers, SMALL_BODY)?;
    Ok(caller)
}

/// Largest body of an erasure, retention or lookup-switch request.
const SMALL_BODY: usize = 16 * 1024;

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
    let caller = admin(state, req).await?;
    ledger::check_id("document_id", document_id)?;
    let reason = small_json::<_, _, EraseBody>(body).await?.reason()?;
    let place = super::report::QueuePlace::take(&caller.tenant)?;
    let st = state.clone();
    let doc = document_id.to_owned();
    tokio::task::spawn_blocking(move || {
        // Held by the work, not the connection.
        let _place = place;
        let _work = st.metrics.work("erase");
        // No report is rendered from the records while they are erased.
        let _issuing = super::report::issuing_lock(&caller.tenant);
        // Erased before: 409, and nothing else. A clean-up cut short is
        // resumed from its record (at start and by the sweeper), not by
        // repeats, which would cost a purge each.
        let receipt =
            st.ledger.erase_document(&caller.tenant, &doc, &reason.recorded, &caller.token_id)?;
        ledger::fault::point("erase-committed");
        let done = resume_cleanups(&st.ledger, Some(&caller.tenant));
        let v1 = st.ledger.v1_document_entries(&caller.tenant, &doc)?;
        let mut erased = erased_answer(("document_id", &doc), &receipt, &caller, &reason, &done);
        erased.insert("v1_entries_remain_public".into(), json!(v1));
        Ok(json(&json!({"erased": erased, "receipt": receipt_json(&receipt)})))
    })
    .await
    .map_err(|e| ApiError::internal("erase", e))?
}

/// The `erased` member of an erasure's answer: what was erased (`what`:
/// its id member and value), when, by whom and why, and what the clean-up
/// did and left pending.
fn erased_answer(
    what: (&str, &str),
    receipt: &Receipt,
    caller: &Caller,
    reason: &Reason,
    done: &CleanupDone,
) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    m.insert(what.0.into(), json!(what.1));
    for (k, v) in [
        ("at", json!(&*receipt.ledger_time)),
        ("by", json!(caller.token_id)),
        ("reason", json!(reason.recorded)),
        ("reason_code", json!(reason.code)),
        ("note", json!(reason.note)),
        ("reports_deleted", json!(done.reports)),
        ("access_log_records_redacted", json!(done.redacted)),
        ("purged", json!(done.purged)),
        ("pending", json!(done.pending)),
    ] {
        m.insert(k.into(), v);
    }
    m
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
    let caller = admin(state, req).await?;
    ledger::check_id("actor_id", actor_id)?;
    let reason = small_json::<_, _, EraseBody>(body).await?.reason()?;
    let place = super::report::QueuePlace::take(&caller.tenant)?;
    let st = state.clone();
    let actor = actor_id.to_owned();
    tokio::task::spawn_blocking(move || {
        let _place = place;
        let _work = st.metrics.work("erase");
        let _issuing = super::report::issuing_lock(&caller.tenant);
        // Stored reports of the subject's documents print the person in
        // full: the clean-up record (in the erasure's commit) names those
        // documents, and their reports go (the report entries stay).
        let receipt =
            st.ledger.erase_subject(&caller.tenant, &actor, &reason.recorded, &caller.token_id)?;
        ledger::fault::point("erase-committed");
        let done = resume_cleanups(&st.ledger, Some(&caller.tenant));
        let erased = erased_answer(("actor_id", &actor), &receipt, &caller, &reason, &done);
        Ok(json(&json!({"erased": erased, "receipt": receipt_json(&receipt)})))
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
    let caller = admin(state, req).await?;
    ledger::check_id("document_id", document_id)?;
    if super::bundle::reserved_document(document_id) {
        return Err(ApiError::not_found(format!("document {document_id:?}")));
    }
    let body: LookupBody = small_json(body).await?;
    let place = super::report::QueuePlace::take(&caller.tenant)?;
    let st = state.clone();
    let document = document_id.to_owned();
    // The store is read on the blocking pool, never on an async worker.
    tokio::task::spawn_blocking(move || {
        let _place = place;
        if st.ledger.document_entries(&caller.tenant, &document)?.is_empty() {
            return Err(ApiError::not_found(format!("document {document:?}")));
        }
        let key = lookup_key(&st.ledger, &caller.tenant, &document)?;
        // One switch of the tenant's at a time: the switch and its hidden
        // lists (super::hidden) change together. The switch decides, so it
        // is written before the lists and deleted after them.
        let _issuing = super::report::issuing_lock(&caller.tenant);
        if body.enabled {
            super::hidden::unhide(&st, &caller.tenant, &document)?;
            st.ledger.aux_delete_synced(&key)?;
        } else {
            st.ledger.aux_put(&key, b"off")?;
            super::hidden::hide(&st, &caller.tenant, &document)?;
        }
        Ok(json(&json!({"document_id": document, "lookup_enabled": body.enabled})))
    })
    .await
    .map_err(|e| ApiError::internal("lookup switch", e))?
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
/// Shortest retention a policy may set by default (`serve
/// --retention-min-days`): a month. A mistyped `0` must not erase every
/// completed contract at the next sweep.
pub const MIN_RETENTION_DAYS: u32 = 30;
/// Days, by default (`serve --retention-delay-days`), before a policy
/// that erases sooner than the one in force takes effect (a longer one,
/// or turning it off, takes effect at once): time for the tenant to see
/// the change in its log and undo it.
pub const RETENTION_DELAY_DAYS: u32 = 7;
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
    /// Unix seconds from which `erase_after_days` applies; until then
    /// `previous_days` does. Absent in policies set before the delay.
    #[serde(default)]
    effective_unix: i64,
    #[serde(default)]
    previous_days: Option<u32>,
}

impl RetentionPolicy {
    /// The days in force at `now_unix` (`None`: nothing is erased).
    fn in_force(&self, now_unix: i64) -> Option<u32> {
        if now_unix >= self.effective_unix {
            self.erase_after_days
        } else {
            self.previous_days
        }
    }
}

/// When a policy of `new` days, replacing one of `current` days in force,
/// takes effect: at once when it erases no sooner, else after
/// [`RETENTION_DELAY_DAYS`].
fn effective_from(current: Option<u32>, new: Option<u32>, now_unix: i64, delay_days: u32) -> i64 {
    let sooner = match (current, new) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(c), Some(n)) => n < c,
    };
    if sooner {
        now_unix + i64::from(delay_days) * 86_400
    } else {
        now_unix
    }
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
    let caller = admin(state, req).await?;
    let body: RetentionBody = small_json(body).await?;
    let (min, delay) = (
        state.admission.config().retention_min_days,
        state.admission.config().retention_delay_days,
    );
    if body.erase_after_days.is_some_and(|d| !(min..=MAX_RETENTION_DAYS).contains(&d)) {
        return Err(ApiError::bad_request(
            "invalid_request",
            format!("erase_after_days: {min} to {MAX_RETENTION_DAYS} (100 years), or null"),
        ));
    }
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        let now = crate::auth::now_unix();
        let current = load_policy(&st.ledger, &caller.tenant)?.and_then(|p| p.in_force(now));
        let effective_unix = effective_from(current, body.erase_after_days, now, delay);
        let policy = RetentionPolicy {
            erase_after_days: body.erase_after_days,
            set_by: caller.token_id.clone(),
            set_at: ledger::now_rfc3339(),
            effective_unix,
            previous_days: current,
        };
        let key = [RETENTION_POLICY_PREFIX, caller.tenant.as_bytes()].concat();
        let value = serde_json::to_vec(&policy).map_err(|e| ApiError::internal("policy", e))?;
        // Synced (aux_put), also when turning it off: a policy believed off
        // must not come back after a power cut and erase.
        st.ledger.aux_put(&key, &value)?;
        let hash = verifier::Hash::digest(
            format!("evidence-ledger retention {}", caller.tenant).as_bytes(),
        );
        let claim = json!({"retention": {
            "erase_after_days": body.erase_after_days,
            "effective_unix": effective_unix,
        }});
        st.ledger.log_registry_change(
            &caller.tenant,
            "retention:policy",
            &hash,
            claim,
            &caller.token_id,
        )?;
        Ok(json(&json!({
            "tenant": caller.tenant,
            "erase_after_days": body.erase_after_days,
            "effective_at": rfc3339(effective_unix),
            "in_force_until_then": current,
        })))
    })
    .await
    .map_err(|e| ApiError::internal("retention", e))?
}

/// `GET /v1/retention` (the tenant's `admin`).
pub(crate) fn get_retention(state: &AppState, caller: &Caller) -> Answer {
    require(caller, &[Role::Admin])?;
    let p = load_policy(&state.ledger, &caller.tenant)?;
    let now = crate::auth::now_unix();
    Ok(json(&json!({
        "tenant": caller.tenant,
        "erase_after_days": p.as_ref().and_then(|p| p.erase_after_days),
        "set_by": p.as_ref().map(|p| p.set_by.clone()),
        "set_at": p.as_ref().map(|p| p.set_at.clone()),
        "effective_at": p.as_ref().map(|p| rfc3339(p.effective_unix)),
        "in_force": p.as_ref().and_then(|p| p.in_force(now)),
    })))
}

fn rfc3339(unix: i64) -> String {
    verifier::report::unix_to_rfc3339(u64::try_from(unix).unwrap_or(0))
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
        let _issuing = super::report::issuing_lock(t);
        super::report::erase_document_reports(ledger, t, d)?;
        super::access::redact_document(ledger, t, d)?;
        ledger.aux_delete_synced(&key)?;
        touched = true;
    }
    if !ledger.pending_cleanups()?.is_empty() || ledger.purge_pending()? {
        let done = resume_cleanups(ledger, None);
        if !done.pending.is_empty() {
            tracing::error!("retention: erasure clean-up still pending: {:?}", done.pending);
        }
    }
    let mut policies = std::collections::HashMap::new();
    for (k, v) in ledger.aux_scan(RETENTION_POLICY_PREFIX)? {
        let tenant = String::from_utf8_lossy(&k[RETENTION_POLICY_PREFIX.len()..]).into_owned();
        let p: Option<RetentionPolicy> = serde_json::from_slice(&v).ok();
        if let Some(p) = p {
            if let Some(days) = p.in_force(crate::auth::now_unix()) {
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
        let done = resume_cleanups(ledger, None);
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
    let _issuing = super::report::issuing_lock(&tenant);
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_sooner_erasure_waits_and_a_later_one_does_not() {
        let now = 1_000_000;
        let d = RETENTION_DELAY_DAYS;
        let delayed = now + i64::from(d) * 86_400;
        assert_eq!(effective_from(None, Some(30), now, d), delayed);
        assert_eq!(effective_from(Some(365), Some(30), now, d), delayed);
        assert_eq!(effective_from(Some(30), Some(365), now, d), now);
        assert_eq!(effective_from(Some(30), None, now, d), now);
        assert_eq!(effective_from(None, Some(30), now, 0), now);
        let p = RetentionPolicy {
            erase_after_days: Some(30),
            set_by: "t".into(),
            set_at: String::new(),
            effective_unix: delayed,
            previous_days: Some(365),
        };
        assert_eq!(p.in_force(now), Some(365));
        assert_eq!(p.in_force(delayed), Some(30));
        // A policy stored before the delay existed applies as it was.
        let old: RetentionPolicy =
            serde_json::from_str(r#"{"erase_after_days":5,"set_by":"t","set_at":""}"#).unwrap();
        assert_eq!(old.in_force(now), Some(5));
    }
}
