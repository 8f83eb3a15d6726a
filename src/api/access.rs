//! The access log: who read or changed what that is confidential or
//! privileged — bundle and report reads, report issues, issuer and token
//! changes, erasures, retention changes, lookup switches, access-log reads
//! — and every request refused with 403, each with the client address the
//! service trusts ([`super::client`]). Kept per tenant (the platform's own
//! actions under [`PLATFORM_TENANT`]), apart from the public log
//! (auxiliary records under `access-log\0`, never leaves), and readable by
//! that tenant's admin (`GET /v1/access-log`) and by the platform
//! administrator.
//!
//! Its subjects cannot wipe it:
//! - failed authentication (401) is counted (`evidence_auth_failures_total`),
//!   not stored: an anonymous flood writes nothing and evicts nothing;
//! - a record leaves only by age ([`RETENTION_DAYS`], the retention sweep)
//!   or by its trail owner's export and trim ([`super::access_export`],
//!   never the subject's own records), never to make room: when a
//!   tenant's trail holds
//!   [`MAX_RECORDS_PER_TENANT`], that tenant's privileged requests are
//!   refused (429) until records age out, so a token's own flood of cheap
//!   requests cannot push the record of what it did out of the trail.
//!
//! Records are written without an fsync of their own (a flood must not
//! cost one fsync per request); a crash may lose the last moments.
//!
//! Values are sealed at the storage layer ([`seal`], [`open`]) under a key
//! per tenant's log, wrapped under the master key: paths name contracts and
//! actors, and client addresses are personal data, so the store and its
//! backups hold them only as ciphertext (issue 25). Records written before
//! in clear JSON are still read.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use ledger::{Ledger, Role, PLATFORM_TENANT};
use serde_json::{json, Value};
use warp::http::{Method, StatusCode};

use super::{caller, json, Answer, AppState, Req};
use crate::auth::require;
use crate::error::ApiError;

/// Records one tenant's trail holds at most by default (`serve
/// --access-log-max-records`); at it, its privileged requests are refused
/// until records age out.
pub const MAX_RECORDS_PER_TENANT: usize = 200_000;
/// Days a record is kept.
pub const RETENTION_DAYS: i64 = 400;
/// Records per page of `GET /v1/access-log`.
pub const PAGE: usize = 100;
const PREFIX: &[u8] = b"access-log\0";

static SEQ: AtomicU64 = AtomicU64::new(0);
/// Records per tenant, counted once from the store and kept up to date.
static COUNTS: Mutex<Option<HashMap<String, usize>>> = Mutex::new(None);

pub(super) fn tenant_prefix(tenant: &str) -> Vec<u8> {
    [PREFIX, tenant.as_bytes(), b"\0"].concat()
}

/// The action a request on `path` with `method` is logged as, whatever
/// its outcome; `None` for requests logged only when refused with 403.
pub(crate) fn privileged(method: &Method, path: &str) -> Option<&'static str> {
    let post = *method == Method::POST;
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["v1", "documents", _, "bundle"] => Some("bundle_read"),
        // Making an evidence record hands out the bundle it covers.
        ["v1", "documents", _, "evidence-record"] if post => Some("bundle_read"),
        // The legacy GET .../report issues a report too.
        ["v1", "documents", _, "report"] => Some("report_issue"),
        ["v1", "documents", _, "reports"] if post => Some("report_issue"),
        ["v1", "documents", _, "reports", _] => Some("report_read"),
        ["v1", "documents", _, "erase"] | ["v1", "subjects", _, "erase"] if post => Some("erasure"),
        ["v1", "documents", _, "lookup"] if post => Some("lookup_switch"),
        ["v1", "retention"] if post => Some("retention_change"),
        ["v1", "issuers", ..] | ["v1", "issuer-cas"] if post => Some("issuer_change"),
        ["v1", "tokens", ..] if post => Some("token_change"),
        ["v1", "access-log"] => Some("access_log_read"),
        ["v1", "access-log", "export"] => Some("access_log_export"),
        ["v1", "access-log", "trim"] if post => Some("access_log_trim"),
        ["v1", "witnesses" | "tsas", ..] | ["v1", "anchoring"] if *method != Method::GET => {
            Some("anchoring_change")
        }
        ["v1", "tenants", ..] if *method != Method::GET => Some("tenant_change"),
        ["v1", "integrations", _] if *method == Method::PUT || *method == Method::DELETE => {
            Some("integration_change")
        }
        _ => None,
    }
}

/// Before a privileged request of `tenant` runs: 429 when its trail is
/// full (nothing is evicted to make room).
/// Runs on the blocking pool (it may count the trail from the store).
pub(crate) fn check_room(
    state: &AppState,
    method: &Method,
    path: &str,
    tenant: &str,
) -> Result<(), ApiError> {
    if privileged(method, path).is_none() {
        return Ok(());
    }
    let max = state.admission.config().access_log_max_records;
    if count(&state.ledger, tenant) < max {
        return Ok(());
    }
    Err(ApiError::overloaded(
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "the tenant's access log holds {max} records; privileged requests wait until records \
             age out ({RETENTION_DAYS} days)"
        ),
        3600,
    ))
}

/// The tenant's record count, counted from the store on first use.
fn count(ledger: &Ledger, tenant: &str) -> usize {
    let mut counts = COUNTS.lock().unwrap_or_else(|p| p.into_inner());
    let map = counts.get_or_insert_with(HashMap::new);
    if let Some(n) = map.get(tenant) {
        return *n;
    }
    let n = ledger.aux_scan(&tenant_prefix(tenant)).map(|v| v.len()).unwrap_or(0);
    map.insert(tenant.to_owned(), n);
    n
}

/// Records the request if it is privileged or was refused with 403;
/// counts it if it failed authentication. Every other request returns at
/// once; a record is written on the blocking pool, attributed to the
/// caller the request authenticated as (no second token lookup), and
/// waited for at most [`super::AUTH_DEADLINE`] (a hung store delays no
/// answer further; the write still happens once the store answers).
pub(crate) async fn record(state: &Arc<AppState>, req: &Req, status: u16) {
    if status == 401 {
        state.metrics.auth_failures.inc();
        return;
    }
    let action = match privileged(&req.method, &req.path) {
        Some(a) => a,
        None if status == 403 => "forbidden",
        None => return,
    };
    // Only authenticated requests get here (every privileged route
    // authenticates first): no caller, nothing to attribute.
    let Some(caller) = req.caller.get() else { return };
    let mut value = json!({
        "time": ledger::now_rfc3339(),
        "action": action,
        "method": req.method.as_str(),
        "path": req.path,
        "status": status,
        "token_id": caller.token_id,
        "client": req.peer.map(|p| p.to_string()),
    });
    // An export or a trim says which part of the trail it took.
    if action.starts_with("access_log_") && !req.query.is_empty() {
        value["query"] = Value::from(req.query.as_str());
    }
    let (st, tenant) = (state.clone(), caller.tenant.clone());
    let write = tokio::task::spawn_blocking(move || write_record(&st, &tenant, &value));
    let _ = tokio::time::timeout(super::AUTH_DEADLINE, write).await;
}

fn write_record(state: &AppState, tenant: &str, value: &Value) {
    // A full trail takes nothing more (its privileged requests were
    // refused before they ran); nothing in it is evicted either.
    if count(&state.ledger, tenant) >= state.admission.config().access_log_max_records {
        return;
    }
    match write(&state.ledger, tenant, value) {
        Ok(()) => adjust_count(tenant, 1),
        Err(e) => tracing::error!("access log: {e}"),
    }
}

/// Adds `delta` to a tenant's counted records, if they were counted.
pub(super) fn adjust_count(tenant: &str, delta: i64) {
    let mut counts = COUNTS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(n) = counts.as_mut().and_then(|m| m.get_mut(tenant)) {
        *n = usize::try_from(*n as i64 + delta).unwrap_or(0);
    }
}

/// The tenants that have a trail, found with one read each (from the
/// greatest key down, skipping each tenant's records), not by reading
/// every record.
fn trail_tenants(ledger: &Ledger) -> Result<Vec<Vec<u8>>, ledger::LedgerError> {
    let mut out = Vec::new();
    let mut below: Option<Vec<u8>> = None;
    loop {
        let rows = ledger.aux_scan_rev(PREFIX, below.as_deref(), 1)?;
        let Some((key, _)) = rows.into_iter().next() else { break };
        let rest = &key[PREFIX.len()..];
        let Some(end) = rest.iter().position(|b| *b == 0) else { break };
        let tenant = rest[..end].to_vec();
        // Every key of this tenant is above `<prefix><tenant>\0`.
        below = Some([PREFIX, &tenant, b"\0"].concat());
        out.push(tenant);
    }
    Ok(out)
}

/// Deletes the records older than [`RETENTION_DAYS`] before `now_micros`,
/// every tenant's (the retention sweep calls it); failures are logged.
pub(crate) fn expire(ledger: &Ledger, now_micros: i64) {
    let cutoff = now_micros.saturating_sub(RETENTION_DAYS * 86_400_000_000).max(0) as u64;
    let tenants = match trail_tenants(ledger) {
        Ok(t) => t,
        Err(e) => return tracing::error!("access log expiry: {e}"),
    };
    for tenant in tenants {
        let prefix = [PREFIX, &tenant[..], b"\0"].concat();
        let end = [&prefix[..], &cutoff.to_be_bytes()].concat();
        if let Err(e) = ledger.aux_delete_range(&prefix, &end) {
            tracing::error!("access log expiry: {e}");
        }
    }
    // Recounted on next use.
    *COUNTS.lock().unwrap_or_else(|p| p.into_inner()) = None;
}

fn write(ledger: &Ledger, tenant: &str, value: &Value) -> Result<(), ledger::LedgerError> {
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let micros = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000;
    let mut key = tenant_prefix(tenant);
    key.extend_from_slice(&(micros as u64).to_be_bytes());
    key.extend_from_slice(&seq.to_be_bytes());
    let bytes = seal(ledger, tenant, value)?;
    ledger.aux_put_unsynced(&[(key, bytes)])
}

/// After an erasure: rewrites the tenant's access-log records whose path
/// names `document_id`, with `(erased)` in its place. Returns how many.
pub(crate) fn redact_document(
    ledger: &Ledger,
    tenant: &str,
    document_id: &str,
) -> Result<usize, ledger::LedgerError> {
    redact_path(ledger, tenant, "documents", document_id)
}

/// After a subject erasure: the same for paths naming the actor id.
pub(crate) fn redact_subject(
    ledger: &Ledger,
    tenant: &str,
    actor_id: &str,
) -> Result<usize, ledger::LedgerError> {
    redact_path(ledger, tenant, "subjects", actor_id)
}

/// The key prefixes of `tenant`'s and the platform's records: what a
/// redaction rewrites under (the purge after an erasure compacts them).
pub(crate) fn prefixes(tenant: &str) -> Vec<Vec<u8>> {
    vec![tenant_prefix(tenant), tenant_prefix(PLATFORM_TENANT)]
}

/// What marks a sealed record (clear JSON starts with `{`).
const SEALED: &[u8] = b"sealed/v1\0";
/// What an access-log record is sealed for.
const PURPOSE: &[u8] = b"access-log";

/// An access-log record as stored: sealed under the tenant's access-log key.
fn seal(ledger: &Ledger, tenant: &str, value: &Value) -> Result<Vec<u8>, ledger::LedgerError> {
    let plain = serde_json::to_vec(value).unwrap_or_default();
    let sealed = ledger.seal_service_blob(&[PURPOSE, tenant.as_bytes()], PURPOSE, &plain)?;
    Ok([SEALED, &sealed].concat())
}

/// A stored access-log record, opened (or read as the clear JSON records
/// written before sealing were); `None` if it does not open or parse.
pub(super) fn open(ledger: &Ledger, stored: &[u8]) -> Option<Value> {
    match stored.strip_prefix(SEALED) {
        Some(sealed) => {
            let plain = ledger.open_document_blob(PURPOSE, sealed).ok().flatten()?;
            serde_json::from_slice(&plain).ok()
        }
        None => serde_json::from_slice(stored).ok(),
    }
}

fn redact_path(
    ledger: &Ledger,
    tenant: &str,
    collection: &str,
    id: &str,
) -> Result<usize, ledger::LedgerError> {
    let needle = format!("/{collection}/{id}/");
    let replacement = format!("/{collection}/(erased)/");
    let mut rewritten = Vec::new();
    // The platform's records too: failed logins and unknown tokens are
    // kept under it, with the path they asked for.
    let mut records = ledger.aux_scan(&tenant_prefix(tenant))?;
    records.extend(ledger.aux_scan(&tenant_prefix(PLATFORM_TENANT))?);
    for (key, value) in records {
        let Some(mut v) = open(ledger, &value) else { continue };
        let Some(path) = v["path"].as_str() else { continue };
        if path.contains(&needle) {
            v["path"] = Value::from(path.replace(&needle, &replacement));
            let owner = key.get(PREFIX.len()..).and_then(|r| r.split(|b| *b == 0).next());
            let owner = String::from_utf8_lossy(owner.unwrap_or_default()).into_owned();
            rewritten.push((key, seal(ledger, &owner, &v)?));
        }
    }
    let n = rewritten.len();
    if n > 0 {
        ledger.aux_put_unsynced(&rewritten)?;
    }
    Ok(n)
}

/// `GET /v1/access-log[?tenant=T][&before=CURSOR]`: a tenant's admin reads
/// its own tenant's records, the platform any tenant's (its own without
/// `tenant`), newest first, [`PAGE`] at a time.
pub(crate) async fn list(state: &Arc<AppState>, req: &Req) -> Answer {
    let caller = caller(state, req).await?;
    require(&caller, &[Role::Admin, Role::Platform])?;
    let (mut tenant, mut before) = (None, None);
    for pair in req.query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("tenant", t)) if tenant.is_none() && ledger::check_id("tenant", t).is_ok() => {
                tenant = Some(t.to_string())
            }
            Some(("before", c)) if before.is_none() => before = Some(parse_cursor(c)?),
            _ => {
                return Err(ApiError::bad_request(
                    "bad_query",
                    "the parameters are tenant and before, each at most once",
                ))
            }
        }
    }
    let tenant = match (caller.role, tenant) {
        (Role::Platform, t) => t.unwrap_or(PLATFORM_TENANT.to_string()),
        (_, Some(t)) if t != caller.tenant => {
            return Err(super::admin::forbidden("another tenant's access log"))
        }
        _ => caller.tenant.clone(),
    };
    let st = state.clone();
    let page = tokio::task::spawn_blocking(move || {
        let prefix = tenant_prefix(&tenant);
        // The cursor is the time and sequence part of the last key seen.
        let before_key = before.map(|c: [u8; 16]| [&prefix[..], &c].concat());
        st.ledger.aux_scan_rev(&prefix, before_key.as_deref(), PAGE + 1).map(|v| (prefix, v))
    })
    .await
    .map_err(|e| ApiError::internal("access log", e))??;
    let (prefix, mut rows) = page;
    let more = rows.len() > PAGE;
    rows.truncate(PAGE);
    let next = if more {
        rows.last().and_then(|(k, _)| k.get(prefix.len()..)).map(hex::encode)
    } else {
        None
    };
    let records: Vec<Value> = rows.iter().filter_map(|(_, v)| open(&state.ledger, v)).collect();
    Ok(json(&json!({"records": records, "next_cursor": next})))
}

/// A page cursor: 32 lowercase hex digits (time and sequence of a record).
pub(super) fn parse_cursor(c: &str) -> Result<[u8; 16], ApiError> {
    let bad = || ApiError::bad_request("bad_query", "before: a next_cursor from a previous page");
    if c.len() != 32 || c.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(bad());
    }
    let v = hex::decode(c).map_err(|_| bad())?;
    <[u8; 16]>::try_from(v.as_slice()).map_err(|_| bad())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn records_leave_by_age_only() {
        let dir = tempfile::tempdir().unwrap();
        Ledger::init(dir.path(), "test/log").unwrap();
        let l = Ledger::open(dir.path(), ledger::LedgerOptions::default()).unwrap();
        for i in 0..300 {
            write(&l, "t", &json!({ "i": i })).unwrap();
        }
        write(&l, "u", &json!({ "i": 0 })).unwrap();
        write(&l, "t.x", &json!({ "i": 0 })).unwrap();
        assert!(
            l.aux_scan(&tenant_prefix("t")).unwrap()[0].1.starts_with(SEALED),
            "sealed at rest"
        );
        let found = trail_tenants(&l).unwrap();
        assert_eq!(found, [b"u".to_vec(), b"t.x".to_vec(), b"t".to_vec()]);
        let now = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64;
        // Nothing is old enough: a flood evicts nothing.
        expire(&l, now);
        assert_eq!(l.aux_scan(&tenant_prefix("t")).unwrap().len(), 300);
        assert_eq!(count(&l, "t"), 300);
        // A day past the retention, all of them go, every tenant's.
        expire(&l, now + (RETENTION_DAYS + 1) * 86_400_000_000);
        assert!(l.aux_scan(PREFIX).unwrap().is_empty());
        assert_eq!(count(&l, "t"), 0);
        assert!(parse_cursor(&"ab".repeat(16)).is_ok());
        assert!(parse_cursor(&"AB".repeat(16)).is_err());
        assert!(parse_cursor("ab").is_err());
    }

    #[test]
    fn privileged_paths() {
        let (get, post) = (Method::GET, Method::POST);
        assert_eq!(privileged(&get, "/v1/documents/d/bundle"), Some("bundle_read"));
        assert_eq!(privileged(&post, "/v1/documents/d/erase"), Some("erasure"));
        assert_eq!(privileged(&post, "/v1/subjects/a/erase"), Some("erasure"));
        assert_eq!(privileged(&post, "/v1/documents/d/lookup"), Some("lookup_switch"));
        assert_eq!(privileged(&post, "/v1/retention"), Some("retention_change"));
        assert_eq!(privileged(&get, "/v1/retention"), None);
        assert_eq!(privileged(&post, "/v1/tokens/x/revoke"), Some("token_change"));
        assert_eq!(privileged(&post, "/v1/events"), None);
        assert_eq!(privileged(&get, "/v1/lookup"), None);
    }
}
