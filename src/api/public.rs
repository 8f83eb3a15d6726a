//! Public read endpoints: checkpoint, log info, entries, proofs, metrics.

use std::sync::atomic::Ordering;

use base64::Engine as _;
use serde_json::{json, Value};
use warp::http::StatusCode;

use super::{json, parse_u64, query_u64, text, Answer, AppState};
use crate::error::ApiError;

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Response header that says whether the checkpoint served meets the
/// anchoring quorum published at `GET /v1/log` (`true`) or is only signed
/// by the log (`false`): a client never takes one for the other.
pub(crate) const ANCHORED_HEADER: &str = "x-checkpoint-anchored";

/// `GET /v1/checkpoint`: the latest anchored checkpoint with every
/// cosignature held; without anchoring configured (or before the first
/// anchored checkpoint), the latest log-signed checkpoint, marked
/// `X-Checkpoint-Anchored: false`.
pub(crate) fn checkpoint(state: &AppState) -> Answer {
    if let Some(a) = anchored(state)? {
        return Ok(marked(text(StatusCode::OK, a.note), true));
    }
    latest_checkpoint(state)
}

/// `GET /v1/checkpoint/latest`: the newest log-signed checkpoint, with the
/// cosignatures held for it if it was anchored.
pub(crate) fn latest_checkpoint(state: &AppState) -> Answer {
    let status = state.ledger.status();
    if let Some(a) = anchored(state)?.filter(|a| a.size == status.tree_size) {
        return Ok(marked(text(StatusCode::OK, a.note), true));
    }
    Ok(marked(text(StatusCode::OK, status.checkpoint.to_string()), false))
}

fn marked(mut r: warp::reply::Response, anchored: bool) -> warp::reply::Response {
    let v = if anchored { "true" } else { "false" };
    r.headers_mut().insert(ANCHORED_HEADER, warp::http::HeaderValue::from_static(v));
    r
}

/// `GET /v1/checkpoint/timestamp`: the newest checkpoint a TSA timestamped,
/// with the RFC 3161 token over SHA-256 of its body.
pub(crate) fn checkpoint_timestamp(state: &AppState) -> Answer {
    let none = || {
        ApiError::not_found(
            "no checkpoint has been timestamped (evidence-ledger tsa add --anchor-url)",
        )
    };
    // The stored timestamp, even when no TSA timestamps checkpoints any
    // more (one retired): what was stamped stays served.
    let t = state
        .anchorer
        .latest_timestamp()
        .map_err(|e| ApiError::internal("checkpoint timestamp", e))?
        .ok_or_else(none)?;
    let roots = state.ledger.tsa_records()?;
    let root = roots.iter().find(|r| r.name == t.tsa).map(|r| r.root_pem.clone());
    let key = verifier::Hash::digest(&[t.checkpoint.as_bytes(), &t.token[..]].concat());
    let (gen_time, serial) = {
        let cached = TIMESTAMP_CHECKED.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match cached.filter(|(k, _, _)| *k == key) {
            Some((_, g, s)) => (g, s),
            None => {
                let (g, s) = check_checkpoint_timestamp(state, &t)?;
                *TIMESTAMP_CHECKED.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((key, g.clone(), s.clone()));
                (g, s)
            }
        }
    };
    Ok(json(&json!({
        "tree_size": t.size,
        "checkpoint": t.checkpoint,
        "tsa": t.tsa,
        "token": b64(&t.token),
        "gen_time": gen_time,
        "serial": serial,
        "tsa_root_pem": root,
    })))
}

/// The last checkpoint timestamp checked, by SHA-256 of (checkpoint ||
/// token), with its genTime and serial: a stored token does not change, so
/// it is verified once, not on every public request. (The TSA roots it was
/// checked under only grow; names are never reused.)
type CheckedTimestamp = (verifier::Hash, serde_json::Value, serde_json::Value);
static TIMESTAMP_CHECKED: std::sync::Mutex<Option<CheckedTimestamp>> = std::sync::Mutex::new(None);

fn check_checkpoint_timestamp(
    state: &AppState,
    t: &anchor::store::CheckpointTimestamp,
) -> Result<(serde_json::Value, serde_json::Value), ApiError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let cp = verifier::checkpoint::SignedCheckpoint::parse(t.checkpoint.as_bytes())
        .map_err(|e| ApiError::internal("stored checkpoint", e))?;
    // Every root on record, retired TSAs' too: their tokens from before
    // the retirement still verify (new event tokens use the ledger's
    // trusted_tsas, which leaves retired ones out).
    let trusted = state.trust().tsa_roots();
    let info = verifier::tsa::verify_timestamp_token(
        &t.token,
        &verifier::Hash::digest(cp.note.text.as_bytes()),
        &trusted,
        now,
        ledger::MAX_TIMESTAMP_SKEW_SECS,
    )
    .map_err(|e| ApiError::internal("stored checkpoint timestamp", e))?;
    Ok((json!(info.gen_time), json!(info.serial)))
}

/// The latest anchored checkpoint, if anchoring runs and one exists.
pub(crate) fn anchored(state: &AppState) -> Result<Option<anchor::AnchoredCheckpoint>, ApiError> {
    match state.anchor() {
        None => Ok(None),
        Some(a) => a.latest_anchored().map_err(|e| match e {
            // The database unavailable: 503 + Retry-After like any read.
            anchor::AnchorError::Ledger(e) => ApiError::from(e),
            e => ApiError::internal("anchored checkpoint", e),
        }),
    }
}

/// `GET /v1/log`: origin, vkey and witnesses; the anchoring policy:
/// `quorum` (null when no witness is configured: nothing is anchored) and
/// `anchored_tree_size` (null until a checkpoint meets the quorum); and the
/// TSA roots the log trusts (what `verifier policy fetch` writes into a
/// starting trust policy).
pub(crate) fn log_info(state: &AppState) -> Answer {
    let witnesses = state.witnesses_json();
    let config = state.anchorer.config();
    let quorum = if config.partners.is_empty() { Value::Null } else { config.quorum_json() };
    let tsas: Vec<Value> = state
        .trust()
        .tsas
        .iter()
        .map(|t| json!({"name": t.name, "root_pem": t.pem, "sha256": t.fingerprint()}))
        .collect();
    let issuer_cas: Vec<Value> = state
        .ledger
        .issuer_ca_records()?
        .iter()
        .map(|c| json!({"name": c.name, "root_pem": c.root_pem, "sha256": c.sha256}))
        .collect();
    Ok(json(&json!({
        "origin": state.ledger.origin(),
        "vkey": state.ledger.vkey(),
        "suite": state.ledger.suite().name(),
        "witnesses": witnesses,
        "quorum": quorum,
        "anchored_tree_size": anchored(state)?.map(|a| a.size),
        "timestamp_authorities": tsas,
        "issuer_cas": issuer_cas,
    })))
}

/// `GET /v1/entries/{index}`.
pub(crate) fn entry(state: &AppState, index: &str) -> Answer {
    let index = parse_u64("index", index)?;
    let leaf = state.ledger.leaf(index)?;
    let entry: Value =
        serde_json::from_slice(&leaf).map_err(|e| ApiError::internal("stored leaf", e))?;
    let mut out = json!({"index": index, "leaf": b64(&leaf), "entry": entry});
    // Which anchored checkpoint covers the entry (prove it with
    // /v1/proof/inclusion?index=I&tree_size=<its size>).
    if let Some(a) = anchored(state)?.filter(|a| a.size > index) {
        let cosigners: Vec<Value> =
            a.cosigners.iter().map(|(n, t)| json!({"name": n, "timestamp": t})).collect();
        out["anchored"] =
            json!({"tree_size": a.size, "checkpoint": a.note, "cosigners": cosigners});
    }
    Ok(json(&out))
}

/// `GET /v1/proof/inclusion?index=I&tree_size=N`.
pub(crate) fn inclusion(state: &AppState, query: &str) -> Answer {
    let v = query_u64(query, &["index", "tree_size"])?;
    let (index, tree_size) = (v[0], v[1]);
    let hashes = state.ledger.inclusion_proof(index, tree_size)?;
    let hashes: Vec<String> = hashes.iter().map(|h| h.to_base64()).collect();
    Ok(json(&json!({"index": index, "tree_size": tree_size, "hashes": hashes})))
}

/// `GET /v1/proof/consistency?old=M&new=N`.
pub(crate) fn consistency(state: &AppState, query: &str) -> Answer {
    let v = query_u64(query, &["old", "new"])?;
    let (old, new) = (v[0], v[1]);
    let hashes = state.ledger.consistency_proof(old, new)?;
    let hashes: Vec<String> = hashes.iter().map(|h| h.to_base64()).collect();
    Ok(json(&json!({"old": old, "new": new, "hashes": hashes})))
}

/// `GET /metrics`.
pub(crate) fn metrics(state: &AppState) -> Answer {
    let status = state.ledger.status();
    state.metrics.tree_size.set(status.tree_size as i64);
    state.metrics.set_groups(state.ledger.group_stats());
    if let Ok(mk) = state.ledger.master_key_status() {
        state.metrics.set_master_key(&mk);
    }
    state.metrics.pg_sync.set(state.ledger.sync_wait_stats());
    if let Some(a) = state.anchor() {
        match a.status() {
            Ok(st) => state.metrics.set_anchor(&st),
            Err(e) => tracing::warn!("anchor status: {e}"),
        }
    }
    crate::certwatch::refresh(&state.ledger, &state.metrics);
    if status.last_time_micros > 0 {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        state.metrics.checkpoint_age.set(now - status.last_time_micros / 1_000_000);
    }
    let r = text(StatusCode::OK, state.metrics.render());
    Ok(r)
}

/// `GET /readyz`: 200 while serving, 503 once shutdown began.
pub(crate) fn readyz(state: &AppState) -> Answer {
    if !state.ready.load(Ordering::Relaxed) {
        return Ok(text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n"));
    }
    if !state.ledger.is_accepting() {
        return Ok(text(StatusCode::SERVICE_UNAVAILABLE, "sequencer stopped; see the log\n"));
    }
    if !state.ledger.storage_ok() {
        return Ok(text(StatusCode::SERVICE_UNAVAILABLE, "storage failing; see the log\n"));
    }
    Ok(text(StatusCode::OK, "ready\n"))
}
