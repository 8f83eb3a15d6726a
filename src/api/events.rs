//! `POST /v1/events`: parse and validate the whole batch, check its
//! attestations, and answer once the ledger made it durable.

use std::sync::Arc;
use std::time::Instant;

use bytes::Buf;
use futures_util::Stream;
use ledger::{LedgerError, Receipt, Role};
use serde::Serialize;
use serde_json::Value;
use verifier::entry::Event;
use verifier::jcs::{self, Limits};
use warp::http::StatusCode;

use super::{
    caller, json, read_body, signed_receipt, Answer, AppState, Req, MAX_BATCH_EVENTS,
    MAX_BODY_BYTES,
};
use crate::auth::require;
use crate::error::ApiError;

/// Limits on the JSON of a submission. A claim sits at level 4 of an event
/// and may nest 8 deep (checked by the event model); a batch adds 2 levels,
/// so 14 lets the same claims through alone or in a batch.
const LIMITS: Limits = Limits { max_bytes: MAX_BODY_BYTES, max_depth: 14, max_string: 64 * 1024 };

#[derive(Serialize)]
struct ReceiptOut<'a> {
    event_id: &'a str,
    index: u64,
    leaf_hash: String,
    ledger_time: &'a str,
    tree_size: u64,
    inclusion: Vec<String>,
    checkpoint: &'a str,
    /// Only with `?receipt=signed` (formats.md §8.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    signed_receipt: Option<String>,
}

#[derive(Serialize)]
struct ReceiptsOut<'a> {
    receipts: Vec<ReceiptOut<'a>>,
}

/// Handles `POST /v1/events` (role submitter).
pub(crate) async fn post<S, B>(state: &Arc<AppState>, req: &Req, body: S) -> Answer
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let caller = caller(state, req).await?;
    require(&caller, &[Role::Submitter])?;
    let signed = signed_receipt::wanted(&req.query)?;
    let request = state.admission.admit_request(&caller.tenant)?;
    // Bytes are charged before they are read, and stay charged.
    let charged = state.admission.charge_body(&caller.tenant, &req.headers, MAX_BODY_BYTES)?;
    let bytes = read_body(body, MAX_BODY_BYTES).await?;
    state.admission.refund_bytes(&caller.tenant, charged.saturating_sub(bytes.len()));
    let st = state.clone();
    // The service time admission paces itself by: from the body read to
    // the answer, blocking-pool queue included, the client's sending not.
    let read = Instant::now();
    let receipts = tokio::task::spawn_blocking(move || {
        // The request's place goes with the work, not with the connection:
        // a client that hangs up does not free it while its batch is checked.
        let _request = request;
        let _work = st.metrics.work("submit");
        let events = parse_batch(&bytes).inspect_err(|_| {
            st.metrics.events.with_label_values(&["rejected"]).inc();
        })?;
        // Quota and room, before any signature is checked.
        let _admitted = st.admission.admit(&caller.tenant, events.len())?;
        let _paced = st.admission.pace_sample(read);
        let contents = signed.then(|| signed_receipt::content_hashes(&events));
        let receipts = submit(&st, &caller.tenant, events)?;
        let notes = match contents {
            Some(c) => Some(signed_receipt::sign(&st, &caller.tenant, &c, &receipts)?),
            None => None,
        };
        Ok::<_, ApiError>((receipts, notes))
    })
    .await
    .map_err(|e| ApiError::internal("submit task", e));
    let (receipts, notes) = receipts??;
    let mut notes = notes.map(Vec::into_iter);
    let receipts = receipts
        .iter()
        .map(|r| ReceiptOut {
            signed_receipt: notes.as_mut().and_then(Iterator::next),
            ..receipt_out(r)
        })
        .collect();
    Ok(json(&ReceiptsOut { receipts }))
}

/// Appends and records metrics; runs on a blocking thread because
/// attestation checks are CPU work and the append waits for an fsync.
fn submit(state: &AppState, tenant: &str, events: Vec<Event>) -> Result<Vec<Receipt>, ApiError> {
    let n = events.len();
    let started = Instant::now();
    match state.ledger.append(tenant, events) {
        Ok(receipts) => {
            state.metrics.commit_latency.observe(started.elapsed().as_secs_f64());
            state.metrics.batch_size.observe(n as f64);
            let replayed = receipts.iter().filter(|r| r.replayed).count() as u64;
            state.metrics.events.with_label_values(&["replayed"]).inc_by(replayed);
            state.metrics.events.with_label_values(&["accepted"]).inc_by(n as u64 - replayed);
            Ok(receipts)
        }
        Err(e) => {
            let outcome = match &e {
                LedgerError::Rejected { .. } | LedgerError::InvalidRequest(_) => "rejected",
                LedgerError::Conflict { .. } => "conflict",
                _ => "error",
            };
            state.metrics.events.with_label_values(&[outcome]).inc_by(n as u64);
            Err(e.into())
        }
    }
}

/// One event, or `{"events": [...]}` with 1 to 1,000 events, each validated.
pub(crate) fn parse_batch(bytes: &[u8]) -> Result<Vec<Event>, ApiError> {
    let value = jcs::parse(bytes, &LIMITS).map_err(|e| ApiError::from_verify(None, &e))?;
    let Value::Object(mut map) = value else {
        return Err(ApiError::bad_request("invalid_event", "body must be a JSON object"));
    };
    if !map.contains_key("events") {
        let event = Event::from_value(Value::Object(map), false)
            .map_err(|e| ApiError::from_verify(Some(0), &e))?;
        return Ok(vec![event]);
    }
    if map.len() != 1 {
        return Err(ApiError::bad_request(
            "invalid_event",
            "a batch object holds \"events\" and nothing else",
        ));
    }
    let Some(Value::Array(items)) = map.remove("events") else {
        return Err(ApiError::bad_request("invalid_event", "\"events\" must be an array"));
    };
    if items.is_empty() {
        return Err(ApiError::bad_request("empty_batch", "\"events\" is empty"));
    }
    if items.len() > MAX_BATCH_EVENTS {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_events",
            format!("{} events; at most {MAX_BATCH_EVENTS} per request", items.len()),
        ));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| Event::from_value(v, false).map_err(|e| ApiError::from_verify(Some(i), &e)))
        .collect()
}

fn receipt_out(r: &Receipt) -> ReceiptOut<'_> {
    ReceiptOut {
        event_id: &r.event_id,
        index: r.index,
        leaf_hash: r.leaf_hash.to_base64(),
        ledger_time: &r.ledger_time,
        tree_size: r.tree_size,
        inclusion: r.inclusion.iter().map(|h| h.to_base64()).collect(),
        checkpoint: &r.checkpoint,
        signed_receipt: None,
    }
}
