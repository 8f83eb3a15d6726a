//! Export and trim of an access-log trail (issue 24): the one way records
//! leave before their age. A tenant's admin exports its tenant's trail,
//! the platform its own (`GET /v1/access-log/export`, JSON lines, oldest
//! first, records opened for the exporter), and may then drop what was
//! exported (`POST /v1/access-log/trim?through=CURSOR`).
//!
//! What keeps the trail's subjects from wiping it this way:
//! - a trim takes only what an export has streamed to its end: the
//!   service keeps the newest cursor an export reached, and `through`
//!   must not pass it; an export resumes only from that cursor or from
//!   the beginning, so no record is skipped on the way;
//! - a trim never removes the records of the trimming token itself, of
//!   the tokens that minted it, or of the tokens it minted (its lineage):
//!   those records are someone else's to drop;
//! - the export and the trim are privileged requests: each is recorded
//!   (with its query) after it ran, so the trail always says who exported
//!   and trimmed what.
//!
//! Memory: the export streams pages of [`EXPORT_PAGE`] records through a
//! channel of a few pages, read on the blocking pool; a client that stops
//! reading stops the reading. At most [`MAX_EXPORTS`] run at once.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use ledger::{Ledger, Role};
use serde_json::{json, Value};
use verifier::Hash;
use warp::http::{HeaderValue, StatusCode};
use warp::reply::Reply;

use super::access::{adjust_count, open, parse_cursor, tenant_prefix};
use super::admin::forbidden;
use super::{caller, json, Answer, AppState, Req};
use crate::auth::{require, Caller, MAX_TOKEN_DEPTH};
use crate::error::ApiError;

/// Records per page read and sent.
pub const EXPORT_PAGE: usize = 500;
/// Exports running at once, across tenants.
pub const MAX_EXPORTS: usize = 2;
/// Aux key prefix of the newest cursor an export of a tenant's trail
/// streamed to its end: `<it><tenant>` holds the 16-byte cursor.
const MARK_PREFIX: &[u8] = b"access-log-exported\0";

static EXPORTS: AtomicUsize = AtomicUsize::new(0);
/// One trim at a time (a trim reads the mark and deletes up to it).
static TRIMMING: Mutex<()> = Mutex::new(());

/// A running export's place among [`MAX_EXPORTS`].
struct ExportSlot;

impl ExportSlot {
    fn take() -> Result<ExportSlot, ApiError> {
        if EXPORTS.fetch_add(1, Ordering::SeqCst) >= MAX_EXPORTS {
            EXPORTS.fetch_sub(1, Ordering::SeqCst);
            let busy = "every access-log export slot is busy";
            return Err(ApiError::overloaded(StatusCode::SERVICE_UNAVAILABLE, busy, 5));
        }
        Ok(ExportSlot)
    }
}

impl Drop for ExportSlot {
    fn drop(&mut self) {
        EXPORTS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `tenant` (optional, the caller's own) and one cursor parameter.
struct Query {
    tenant: Option<String>,
    cursor: Option<[u8; 16]>,
}

fn parse_query(query: &str, cursor_name: &str) -> Result<Query, ApiError> {
    let mut q = Query { tenant: None, cursor: None };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("tenant", t)) if q.tenant.is_none() => q.tenant = Some(t.to_string()),
            Some((name, c)) if name == cursor_name && q.cursor.is_none() => {
                q.cursor = Some(parse_cursor(c).map_err(|_| {
                    ApiError::bad_request("bad_query", format!("{cursor_name}: a cursor (32 hex)"))
                })?)
            }
            _ => {
                return Err(ApiError::bad_request(
                    "bad_query",
                    format!("the parameters are tenant and {cursor_name}, each at most once"),
                ))
            }
        }
    }
    Ok(q)
}

/// The trail the caller may export and trim: its own tenant's (the
/// platform's own for the platform; another tenant's is that tenant's
/// admin's to export).
fn trail_of(caller: &Caller, tenant: Option<String>) -> Result<String, ApiError> {
    require(caller, &[Role::Admin, Role::Platform])?;
    match tenant {
        Some(t) if t != caller.tenant => Err(forbidden("another tenant's access-log export")),
        _ => Ok(caller.tenant.clone()),
    }
}

fn mark_key(tenant: &str) -> Vec<u8> {
    [MARK_PREFIX, tenant.as_bytes()].concat()
}

/// The newest cursor an export of `tenant`'s trail streamed to its end.
fn exported_mark(ledger: &Ledger, tenant: &str) -> Result<Option<[u8; 16]>, ApiError> {
    Ok(ledger.aux_get(&mark_key(tenant))?.and_then(|v| <[u8; 16]>::try_from(v.as_slice()).ok()))
}

/// `GET /v1/access-log/export[?after=CURSOR]`: the caller's trail as JSON
/// lines `{"cursor", "record"}`, oldest first, up to the newest record at
/// the start (`X-Export-Through`), then `{"end": {"cursor", "records"}}`.
pub(crate) async fn export(state: &Arc<AppState>, req: &Req) -> Answer {
    let caller = caller(state, req).await?;
    let q = parse_query(&req.query, "after")?;
    let tenant = trail_of(&caller, q.tenant)?;
    let slot = ExportSlot::take()?;
    let (st, t) = (state.clone(), tenant.clone());
    let start = tokio::task::spawn_blocking(move || {
        let mark = exported_mark(&st.ledger, &t)?;
        if q.cursor.is_some_and(|a| mark.is_none_or(|m| a > m)) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "not_exported",
                "after: resume from the last exported cursor, or export from the beginning",
            ));
        }
        let prefix = tenant_prefix(&t);
        let newest = st.ledger.aux_scan_rev(&prefix, None, 1)?;
        Ok(newest.into_iter().next().map(|(k, _)| k[prefix.len()..].to_vec()))
    })
    .await
    .map_err(|e| ApiError::internal("access-log export", e))??;
    let through = start.clone();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let _work = st.metrics.work("access_log_export");
        produce(&st.ledger, &tenant, q.cursor, through.as_deref(), &tx);
    });
    let body = futures_util::stream::poll_fn(move |cx| {
        rx.poll_recv(cx).map(|chunk| chunk.map(Ok::<_, std::convert::Infallible>))
    });
    let mut response = warp::reply::stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/x-ndjson"));
    let through = start.map(hex::encode).unwrap_or_default();
    if let Ok(v) = HeaderValue::from_str(&through) {
        headers.insert("x-export-through", v);
    }
    Ok(response)
}

/// Streams the records of `tenant` after `after` up to `through` (the
/// cursor part of a key), then the end line, and records the mark once
/// the end line is handed on. Stops when the client is gone.
fn produce(
    ledger: &Ledger,
    tenant: &str,
    after: Option<[u8; 16]>,
    through: Option<&[u8]>,
    tx: &tokio::sync::mpsc::Sender<Bytes>,
) {
    let prefix = tenant_prefix(tenant);
    let mut last: Option<Vec<u8>> = after.map(|c| [&prefix[..], &c].concat());
    let mut records = 0u64;
    if let Some(through) = through {
        let limit = [&prefix[..], through].concat();
        loop {
            let rows = match ledger.aux_scan_after(&prefix, last.as_deref(), EXPORT_PAGE) {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::error!("access-log export: {e}");
                    let line = json!({"error": {"code": "internal", "message": "export stopped; \
                        resume from the last cursor received"}});
                    let _ = tx.blocking_send(line_bytes(&line));
                    return;
                }
            };
            let mut chunk = Vec::new();
            let mut done = rows.len() < EXPORT_PAGE;
            for (k, v) in rows {
                if k > limit {
                    done = true;
                    break;
                }
                let cursor = hex::encode(&k[prefix.len()..]);
                let record = open(ledger, &v).unwrap_or(Value::Null);
                chunk.extend_from_slice(&line_bytes(&json!({"cursor": cursor, "record": record})));
                records += 1;
                last = Some(k);
            }
            if !chunk.is_empty() && tx.blocking_send(Bytes::from(chunk)).is_err() {
                return;
            }
            if done {
                break;
            }
        }
    }
    let cursor = last.as_ref().map(|k| hex::encode(&k[prefix.len()..]));
    let end = json!({"end": {"cursor": cursor, "records": records}});
    if tx.blocking_send(line_bytes(&end)).is_err() {
        return;
    }
    let Some(reached) = last.and_then(|k| <[u8; 16]>::try_from(&k[prefix.len()..]).ok()) else {
        return;
    };
    let _one = TRIMMING.lock().unwrap_or_else(|p| p.into_inner());
    let newer = exported_mark(ledger, tenant).ok().flatten().is_none_or(|m| reached > m);
    if newer {
        if let Err(e) = ledger.aux_put(&mark_key(tenant), &reached) {
            tracing::error!("access-log export mark: {e}");
        }
    }
}

fn line_bytes(v: &Value) -> Bytes {
    let mut out = serde_json::to_vec(v).unwrap_or_default();
    out.push(b'\n');
    Bytes::from(out)
}

/// `POST /v1/access-log/trim?through=CURSOR`: deletes the caller's
/// trail's records up to `through`, which an export must have reached,
/// except those of the caller's own lineage. Answers what it deleted.
pub(crate) async fn trim(state: &Arc<AppState>, req: &Req) -> Answer {
    let caller = caller(state, req).await?;
    let q = parse_query(&req.query, "through")?;
    let tenant = trail_of(&caller, q.tenant)?;
    let through =
        q.cursor.ok_or_else(|| ApiError::bad_request("bad_query", "through is required"))?;
    state.admission.charge_write(&caller.tenant, &req.headers, 4096)?;
    let st = state.clone();
    tokio::task::spawn_blocking(move || trim_blocking(&st.ledger, &caller, &tenant, through))
        .await
        .map_err(|e| ApiError::internal("access-log trim", e))?
}

fn trim_blocking(ledger: &Ledger, caller: &Caller, tenant: &str, through: [u8; 16]) -> Answer {
    let _one = TRIMMING.lock().unwrap_or_else(|p| p.into_inner());
    if exported_mark(ledger, tenant)?.is_none_or(|m| through > m) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_exported",
            "through: past what an export of this trail streamed to its end; export first",
        ));
    }
    let keep = lineage(ledger, caller, tenant)?;
    let prefix = tenant_prefix(tenant);
    let limit = [&prefix[..], &through].concat();
    let (mut deleted, mut kept) = (0i64, 0u64);
    // Runs of deletable records are deleted as key ranges.
    let mut run: Option<(Vec<u8>, Vec<u8>)> = None;
    let mut last: Option<Vec<u8>> = None;
    let flush = |run: &mut Option<(Vec<u8>, Vec<u8>)>| -> Result<(), ApiError> {
        if let Some((from, to)) = run.take() {
            ledger.aux_delete_range(&from, &[&to[..], &[0u8][..]].concat())?;
        }
        Ok(())
    };
    'pages: loop {
        let rows = ledger.aux_scan_after(&prefix, last.as_deref(), EXPORT_PAGE)?;
        if rows.is_empty() {
            break;
        }
        for (k, v) in rows {
            if k > limit {
                break 'pages;
            }
            // A record whose subject cannot be read is kept: a trim never
            // drops what it cannot attribute.
            let subject = open(ledger, &v).and_then(|r| r["token_id"].as_str().map(str::to_owned));
            if subject.is_none_or(|id| keep.contains(&id)) {
                flush(&mut run)?;
                kept += 1;
            } else {
                run = Some((run.map_or_else(|| k.clone(), |(from, _)| from), k.clone()));
                deleted += 1;
            }
            last = Some(k);
        }
    }
    flush(&mut run)?;
    adjust_count(tenant, -deleted);
    Ok(json(&json!({
        "tenant": tenant,
        "through": hex::encode(through),
        "deleted": deleted,
        "kept": kept,
    })))
}

/// The ids of the caller's token, the tokens above it, and the tokens it
/// minted (transitively, within the trail's tenant, whose tokens alone
/// have records in it).
fn lineage(ledger: &Ledger, caller: &Caller, tenant: &str) -> Result<HashSet<String>, ApiError> {
    let mut keep = HashSet::from([caller.token_id.clone()]);
    let mut parent = ledger.token(&caller.token_hash)?.and_then(|r| r.parent);
    for _ in 0..MAX_TOKEN_DEPTH {
        let Some(p) = parent.take() else { break };
        let Some(up) = Hash::from_hex(&p).ok().map(|h| ledger.token(&h)).transpose()?.flatten()
        else {
            break;
        };
        keep.insert(up.id);
        parent = up.parent;
    }
    let tokens = ledger.tenant_tokens(tenant)?;
    let mut frontier = vec![caller.token_hash.to_hex()];
    while let Some(h) = frontier.pop() {
        for (child, r) in &tokens {
            if r.parent.as_deref() == Some(h.as_str()) && keep.insert(r.id.clone()) {
                frontier.push(child.to_hex());
            }
        }
    }
    Ok(keep)
}
