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

/// `GET /v1/checkpoint`: the latest signed checkpoint note.
pub(crate) fn checkpoint(state: &AppState) -> Answer {
    Ok(text(
        StatusCode::OK,
        state.ledger.status().checkpoint.to_string(),
    ))
}

/// `GET /v1/log`: origin, vkey and witnesses.
pub(crate) fn log_info(state: &AppState) -> Answer {
    let witnesses: Vec<Value> = state
        .witnesses
        .iter()
        .map(|(n, v)| json!({"name": n, "vkey": v}))
        .collect();
    Ok(json(&json!({
        "origin": state.ledger.origin(),
        "vkey": state.ledger.vkey(),
        "witnesses": witnesses,
    })))
}

/// `GET /v1/entries/{index}`.
pub(crate) fn entry(state: &AppState, index: &str) -> Answer {
    let index = parse_u64("index", index)?;
    let leaf = state.ledger.leaf(index)?;
    let entry: Value =
        serde_json::from_slice(&leaf).map_err(|e| ApiError::internal("stored leaf", e))?;
    Ok(json(
        &json!({"index": index, "leaf": b64(&leaf), "entry": entry}),
    ))
}

/// `GET /v1/proof/inclusion?index=I&tree_size=N`.
pub(crate) fn inclusion(state: &AppState, query: &str) -> Answer {
    let v = query_u64(query, &["index", "tree_size"])?;
    let (index, tree_size) = (v[0], v[1]);
    let hashes = state.ledger.inclusion_proof(index, tree_size)?;
    let hashes: Vec<String> = hashes.iter().map(|h| h.to_base64()).collect();
    Ok(json(
        &json!({"index": index, "tree_size": tree_size, "hashes": hashes}),
    ))
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
    if status.last_time_micros > 0 {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        state
            .metrics
            .checkpoint_age
            .set(now - status.last_time_micros / 1_000_000);
    }
    let r = text(StatusCode::OK, state.metrics.render());
    Ok(r)
}

/// `GET /readyz`: 200 while serving, 503 once shutdown began.
pub(crate) fn readyz(state: &AppState) -> Answer {
    if state.ready.load(Ordering::Relaxed) {
        Ok(text(StatusCode::OK, "ready\n"))
    } else {
        Ok(text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n"))
    }
}
