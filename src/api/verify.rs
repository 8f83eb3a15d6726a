//! `POST /v1/verify` (public): the offline verifier's checks, run by the
//! service for those without the command (docs/api.md, "Verify bundles").
//!
//! The body is one bundle; or `{"bundle": B, "document_sha256"?, "log_key"?,
//! "witnesses"?}`; or `{"bundles": [item, ...]}` with 1 to
//! [`MAX_VERIFY_BUNDLES`] items of either form. The answer is the verifier's
//! report, or `{"reports": [...]}` in order. A well-formed request is a 200
//! whatever the verdict: a bundle that is not a valid bundle yields a report
//! whose `bundle_format` check failed, as the command does. Malformed
//! envelopes and options are 400s.

use std::sync::Arc;

use bytes::Buf;
use futures_util::Stream;
use serde_json::{Map, Value};
use tokio::sync::Semaphore;
use verifier::bundle::{verify_bundle_bytes, VerifyOptions};
use verifier::cosignature::ALG_COSIGNATURE_V1;
use verifier::jcs::{self, Limits};
use verifier::note::{NoteVerifier, ALG_ED25519};
use verifier::report::Report;
use verifier::Hash;
use warp::http::StatusCode;

use super::{json, read_body, Answer, AppState};
use crate::error::ApiError;

/// Largest `POST /v1/verify` body.
pub const MAX_VERIFY_BODY_BYTES: usize = 16 << 20;
/// Most bundles in one `POST /v1/verify`.
pub const MAX_VERIFY_BUNDLES: usize = 100;
/// Most required witnesses in one item.
const MAX_REQUIRED_WITNESSES: usize = 100;
/// Verification is CPU work open to anyone: at most this many requests
/// verify at once (one per core), so it cannot starve ingest.
static VERIFY_SLOTS: Semaphore = Semaphore::const_new(2);

/// A bundle nests 3 deep (its `checkpoint_timestamp` up to 16); an item and
/// a batch add 2. The longest string is a leaf in base64 (1 MiB leaf).
const LIMITS: Limits =
    Limits { max_bytes: MAX_VERIFY_BODY_BYTES, max_depth: 18, max_string: 1_398_104 };

/// One bundle to verify, with what the caller trusts.
struct Item {
    bundle: Vec<u8>,
    options: VerifyOptions,
}

/// Handles `POST /v1/verify`.
pub(crate) async fn post<S, B>(_state: &Arc<AppState>, body: S) -> Answer
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let bytes = read_body(body, MAX_VERIFY_BODY_BYTES).await?;
    let _slot = VERIFY_SLOTS.acquire().await.map_err(|e| ApiError::internal("verify slots", e))?;
    let out = tokio::task::spawn_blocking(move || run(&bytes))
        .await
        .map_err(|e| ApiError::internal("verify task", e))??;
    Ok(json(&out))
}

/// Parses the request and verifies each bundle.
fn run(bytes: &[u8]) -> Result<Value, ApiError> {
    let value = jcs::parse(bytes, &LIMITS).map_err(|e| ApiError::from_verify(None, &e))?;
    let Value::Object(mut map) = value else {
        return Err(bad("the body must be a JSON object"));
    };
    if !map.contains_key("bundles") {
        let item = item(map, "")?;
        return Ok(report_json(&verify(&item)));
    }
    if map.len() != 1 {
        return Err(bad("a batch holds \"bundles\" and nothing else"));
    }
    let Some(Value::Array(list)) = map.remove("bundles") else {
        return Err(bad("\"bundles\" must be an array"));
    };
    if list.is_empty() || list.len() > MAX_VERIFY_BUNDLES {
        return Err(ApiError::new(
            if list.is_empty() { StatusCode::BAD_REQUEST } else { StatusCode::PAYLOAD_TOO_LARGE },
            "bad_batch",
            format!("\"bundles\" must hold 1 to {MAX_VERIFY_BUNDLES} items"),
        ));
    }
    let items = list
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Object(m) => item(m, &format!("bundles[{i}]: ")),
            _ => Err(bad(format!("bundles[{i}]: must be a JSON object"))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let reports: Vec<Value> = items.iter().map(|i| report_json(&verify(i))).collect();
    Ok(Value::Object(Map::from_iter([("reports".to_owned(), Value::Array(reports))])))
}

fn verify(item: &Item) -> Report {
    verify_bundle_bytes(&item.bundle, &item.options)
}

fn report_json(report: &Report) -> Value {
    serde_json::to_value(report).unwrap_or(Value::Null)
}

/// A bare bundle (it has `format`), or `{"bundle", options...}`.
fn item(mut map: Map<String, Value>, at: &str) -> Result<Item, ApiError> {
    if !map.contains_key("bundle") {
        return Ok(Item {
            bundle: to_bytes(Value::Object(map)),
            options: VerifyOptions::default(),
        });
    }
    const FIELDS: &[&str] = &["bundle", "document_sha256", "log_key", "witnesses"];
    if let Some(k) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(bad(format!("{at}unknown field {k:?}")));
    }
    let mut options = VerifyOptions::default();
    if let Some(v) = map.remove("document_sha256") {
        let hash = v.as_str().and_then(|s| Hash::from_hex(s).ok());
        options.document_hash =
            Some(hash.ok_or_else(|| {
                bad(format!("{at}document_sha256 must be 64 lowercase hex digits"))
            })?);
    }
    if let Some(v) = map.remove("log_key") {
        options.log_key = Some(vkey(&v, ALG_ED25519, &format!("{at}log_key"))?);
    }
    if let Some(v) = map.remove("witnesses") {
        let list = v.as_array().filter(|l| l.len() <= MAX_REQUIRED_WITNESSES).ok_or_else(|| {
            bad(format!("{at}witnesses must be an array of at most {MAX_REQUIRED_WITNESSES} vkeys"))
        })?;
        options.witnesses = list
            .iter()
            .enumerate()
            .map(|(i, w)| vkey(w, ALG_COSIGNATURE_V1, &format!("{at}witnesses[{i}]")))
            .collect::<Result<_, _>>()?;
    }
    let bundle = map.remove("bundle").unwrap_or(Value::Null);
    Ok(Item { bundle: to_bytes(bundle), options })
}

/// A C2SP verifier key of type `alg`, as the command's `--log-key` and
/// `--witness` options take it.
fn vkey(v: &Value, alg: u8, path: &str) -> Result<String, ApiError> {
    let s = v.as_str().ok_or_else(|| bad(format!("{path} must be a string")))?;
    match NoteVerifier::from_vkey(s) {
        Ok(k) if k.alg == alg => Ok(s.to_owned()),
        Ok(_) => Err(bad(format!("{path}: a verifier key of the wrong type"))),
        Err(e) => Err(bad(format!("{path}: not a verifier key ({e})"))),
    }
}

/// The bundle's JSON again, for the verifier's own strict parser.
fn to_bytes(v: Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap_or_default()
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("bad_request", message)
}
