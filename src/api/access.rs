//! The access log: who read or changed what that is confidential or
//! privileged — bundle and report reads, report issues, issuer and token
//! changes, access-log reads — and every failed authentication. Kept per
//! tenant, apart from the public log (auxiliary records under
//! `access-log\0`, never leaves), bounded to the newest
//! [`MAX_RECORDS_PER_TENANT`] records of each tenant, and readable by that
//! tenant's admin (`GET /v1/access-log`) and by the platform administrator.
//!
//! Records are written without an fsync of their own (a failed-login flood
//! must not cost one fsync per request); a crash may lose the last moments.
//!
//! Values are sealed at the storage layer ([`seal`], [`open`]) under a key
//! per tenant's log, wrapped under the master key: paths name contracts and
//! actors, and client addresses are personal data, so the store and its
//! backups hold them only as ciphertext (issue 25). Records written before
//! in clear JSON are still read.

use std::sync::atomic::{AtomicU64, Ordering};

use ledger::{Ledger, Role, PLATFORM_TENANT};
use serde_json::{json, Value};

use super::{caller, json, Answer, AppState, Req};
use crate::auth::{self, require};
use crate::error::ApiError;

/// Records kept per tenant; older ones are pruned.
pub const MAX_RECORDS_PER_TENANT: usize = 10_000;
/// Records per page of `GET /v1/access-log`.
pub const PAGE: usize = 100;
const PREFIX: &[u8] = b"access-log\0";
/// Prune a tenant's records every this many writes (process-wide).
const PRUNE_EVERY: u64 = 256;

static SEQ: AtomicU64 = AtomicU64::new(0);

fn tenant_prefix(tenant: &str) -> Vec<u8> {
    [PREFIX, tenant.as_bytes(), b"\0"].concat()
}

/// Whether a request on `route` with `method` is logged whatever its outcome.
fn privileged(route: &str, post: bool, path: &str) -> Option<&'static str> {
    match (route, post) {
        ("bundle", _) => Some("bundle_read"),
        // The legacy GET .../report issues a report too.
        ("report", true) => Some("report_issue"),
        ("report", false) if path.ends_with("/report") => Some("report_issue"),
        ("report", false) => Some("report_read"),
        ("issuers", true) => Some("issuer_change"),
        ("tokens", true) => Some("token_change"),
        ("access_log", _) => Some("access_log_read"),
        _ => None,
    }
}

/// Records the request if it is privileged, or failed authentication.
pub(crate) fn record(state: &AppState, req: &Req, route: &str, status: u16) {
    let action = match privileged(route, req.method == warp::http::Method::POST, &req.path) {
        Some(a) => a,
        None if status == 401 => "auth_failed",
        None => return,
    };
    let header = req.headers.get("authorization").and_then(|v| v.to_str().ok());
    let token = header.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim);
    let rec = token.and_then(|t| state.ledger.token(&auth::token_hash(t)).ok().flatten());
    let tenant = rec.as_ref().map(|r| r.tenant.clone()).unwrap_or(PLATFORM_TENANT.to_string());
    let action = if status == 401 && action != "auth_failed" { "auth_failed" } else { action };
    let value = json!({
        "time": ledger::now_rfc3339(),
        "action": action,
        "method": req.method.as_str(),
        "path": req.path,
        "status": status,
        "token_id": rec.as_ref().map(|r| r.id.clone()),
        "client": req.peer.map(|p| p.to_string()),
    });
    if let Err(e) = write(&state.ledger, &tenant, &value) {
        tracing::error!("access log: {e}");
    }
}

fn write(ledger: &Ledger, tenant: &str, value: &Value) -> Result<(), ledger::LedgerError> {
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let micros = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000;
    let mut key = tenant_prefix(tenant);
    key.extend_from_slice(&(micros as u64).to_be_bytes());
    key.extend_from_slice(&seq.to_be_bytes());
    let bytes = seal(ledger, tenant, value)?;
    ledger.aux_put_unsynced(&[(key, bytes)])?;
    if seq.is_multiple_of(PRUNE_EVERY) {
        prune(ledger, tenant)?;
    }
    Ok(())
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
fn open(ledger: &Ledger, stored: &[u8]) -> Option<Value> {
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

/// Drops all but the newest [`MAX_RECORDS_PER_TENANT`] records of `tenant`.
fn prune(ledger: &Ledger, tenant: &str) -> Result<(), ledger::LedgerError> {
    let prefix = tenant_prefix(tenant);
    let kept = ledger.aux_scan_rev(&prefix, None, MAX_RECORDS_PER_TENANT + 1)?;
    if kept.len() > MAX_RECORDS_PER_TENANT {
        let oldest_kept = &kept[MAX_RECORDS_PER_TENANT - 1].0;
        ledger.aux_delete_range(&prefix, oldest_kept)?;
    }
    Ok(())
}

/// `GET /v1/access-log[?tenant=T][&before=CURSOR]`: a tenant's admin reads
/// its own tenant's records, the platform any tenant's (its own without
/// `tenant`), newest first, [`PAGE`] at a time.
pub(crate) async fn list(state: &std::sync::Arc<AppState>, req: &Req) -> Answer {
    let caller = caller(state, req)?;
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
fn parse_cursor(c: &str) -> Result<[u8; 16], ApiError> {
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
    fn each_tenant_keeps_only_its_newest_records() {
        let dir = tempfile::tempdir().unwrap();
        Ledger::init(dir.path(), "test/log").unwrap();
        let l = Ledger::open(dir.path(), ledger::LedgerOptions::default()).unwrap();
        for i in 0..(MAX_RECORDS_PER_TENANT + 600) {
            write(&l, "t", &json!({ "i": i })).unwrap();
        }
        write(&l, "u", &json!({ "i": 0 })).unwrap();
        prune(&l, "t").unwrap();
        let all = l.aux_scan(&tenant_prefix("t")).unwrap();
        assert_eq!(all.len(), MAX_RECORDS_PER_TENANT);
        let newest = open(&l, &all[all.len() - 1].1).unwrap();
        assert!(all[0].1.starts_with(SEALED), "sealed at rest");
        assert_eq!(newest["i"], MAX_RECORDS_PER_TENANT + 599);
        assert_eq!(l.aux_scan(&tenant_prefix("u")).unwrap().len(), 1);
        assert!(parse_cursor(&"ab".repeat(16)).is_ok());
        assert!(parse_cursor(&"AB".repeat(16)).is_err());
        assert!(parse_cursor("ab").is_err());
    }
}
