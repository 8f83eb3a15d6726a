//! `POST /v1/verify` (public): the offline verifier's checks, run by the
//! service for those without the command (docs/api.md, "Verify bundles").
//!
//! The body is one bundle; or `{"bundle": B, "document_sha256"?, "policy"?,
//! "log_key"?, "witnesses"?, "witness_threshold"?}`; or `{"bundles": [item,
//! ...]}` with 1 to [`MAX_VERIFY_BUNDLES`] items of either form. The answer
//! is the verifier's report, or `{"reports": [...]}` in order.
//!
//! Trust: by default a bundle is checked against this service's own anchors
//! (its log key, configured witnesses and quorum, TSA roots), and the
//! report's `trust.source` says so. An item that carries `policy` (the text
//! of a trust policy file) or `log_key`/`witnesses`/`witness_threshold` is
//! checked against those alone (docs/trust-policy.md).
//!
//! A well-formed request is a 200 whatever the verdict: a bundle that is not
//! a valid bundle yields a report whose `bundle_format` check failed, as the
//! command does. Malformed envelopes and options are 400s.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Buf;
use futures_util::Stream;
use serde_json::{Map, Value};
use tokio::sync::Semaphore;
use verifier::bundle::{verify_bundle_bytes, verify_lookup_bytes, VerifyOptions, LOOKUP_FORMAT_V2};
use verifier::jcs::{self, Limits};
use verifier::policy::TrustPolicy;
use verifier::report::Report;
use verifier::Hash;
use warp::http::StatusCode;

use super::{json, read_body, Answer, AppState, Req};
use crate::error::ApiError;

/// Largest `POST /v1/verify` body.
pub const MAX_VERIFY_BODY_BYTES: usize = 16 << 20;
/// Most bundles in one `POST /v1/verify`.
pub const MAX_VERIFY_BUNDLES: usize = 100;
/// Most required witnesses in one item.
const MAX_REQUIRED_WITNESSES: usize = 100;
/// How reports checked against the service's own anchors name them.
pub(crate) const SERVICE_TRUST: &str = "this service's own configuration (its log key, witnesses \
     and quorum, and TSA roots): only as trustworthy as this server; supply your own policy to \
     check independently";
/// Verification is CPU work open to anyone: at most this many requests
/// verify at once (one per core), so it cannot starve ingest.
static VERIFY_SLOTS: Semaphore = Semaphore::const_new(2);

/// A bundle nests 3 deep (its `checkpoint_timestamp` up to 16); an item and
/// a batch add 2. The longest string is a leaf in base64 (1 MiB leaf).
const LIMITS: Limits =
    Limits { max_bytes: MAX_VERIFY_BODY_BYTES, max_depth: 18, max_string: 1_398_104 };

/// One bundle (or lookup answer) to verify, with what the caller trusts.
struct Item {
    bundle: Vec<u8>,
    options: VerifyOptions,
    /// `bundle` holds a `GET /v1/lookup` answer (`evidence-lookup/v2`).
    lookup: bool,
}

/// How long a request waits for a verification slot before a 503.
const SLOT_WAIT: Duration = Duration::from_secs(2);
/// Verifications one client address may have in flight (reading its body
/// or verifying) at once.
pub const MAX_VERIFY_PER_CLIENT: usize = 1;

/// Verifications in flight per client address.
static PER_CLIENT: Mutex<BTreeMap<IpAddr, usize>> = Mutex::new(BTreeMap::new());

/// One client's claim on verification; released when dropped.
struct ClientClaim(Option<IpAddr>);

impl ClientClaim {
    /// Claims a place for `peer`, or 429 when it has its share in flight.
    fn take(peer: Option<IpAddr>) -> Result<ClientClaim, ApiError> {
        let Some(ip) = peer else { return Ok(ClientClaim(None)) };
        let mut map = PER_CLIENT.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_insert(0);
        if *n >= MAX_VERIFY_PER_CLIENT {
            return Err(ApiError::overloaded(
                StatusCode::TOO_MANY_REQUESTS,
                format!("at most {MAX_VERIFY_PER_CLIENT} verification per client at once"),
                1,
            ));
        }
        *n += 1;
        Ok(ClientClaim(Some(ip)))
    }
}

impl Drop for ClientClaim {
    fn drop(&mut self) {
        let Some(ip) = self.0 else { return };
        let mut map = PER_CLIENT.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&ip);
            }
        }
    }
}

/// Handles `POST /v1/verify`: the client's share and a slot first, then
/// the body (within the body deadline), then the checks off the runtime.
/// A request that finds every slot taken for [`SLOT_WAIT`] gets a 503
/// with `Retry-After` before any of its body is read.
pub(crate) async fn post<S, B>(state: &Arc<AppState>, req: &Req, body: S) -> Answer
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let claim = ClientClaim::take(req.peer)?;
    let busy = || {
        ApiError::overloaded(StatusCode::SERVICE_UNAVAILABLE, "every verification slot is busy", 1)
    };
    let slot = tokio::time::timeout(SLOT_WAIT, VERIFY_SLOTS.acquire())
        .await
        .map_err(|_| busy())?
        .map_err(|e| ApiError::internal("verify slots", e))?;
    let bytes = read_body(body, MAX_VERIFY_BODY_BYTES).await?;
    let st = state.clone();
    let out = tokio::task::spawn_blocking(move || {
        // The slot and the client's share are held by the work itself:
        // hanging up after sending a body does not free them while it runs.
        let _held = (claim, slot);
        let _work = st.metrics.work("verify");
        run(&bytes, &st.trust_now())
    })
    .await
    .map_err(|e| ApiError::internal("verify task", e))??;
    Ok(json(&out))
}

/// Parses the request and verifies each bundle.
fn run(bytes: &[u8], trust: &TrustPolicy) -> Result<Value, ApiError> {
    let value = jcs::parse(bytes, &LIMITS).map_err(|e| ApiError::from_verify(None, &e))?;
    let Value::Object(mut map) = value else {
        return Err(bad("the body must be a JSON object"));
    };
    if !map.contains_key("bundles") {
        let item = item(map, "", trust)?;
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
            Value::Object(m) => item(m, &format!("bundles[{i}]: "), trust),
            _ => Err(bad(format!("bundles[{i}]: must be a JSON object"))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let reports: Vec<Value> = items.iter().map(|i| report_json(&verify(i))).collect();
    Ok(Value::Object(Map::from_iter([("reports".to_owned(), Value::Array(reports))])))
}

fn verify(item: &Item) -> Report {
    if item.lookup {
        verify_lookup_bytes(&item.bundle, &item.options)
    } else {
        verify_bundle_bytes(&item.bundle, &item.options)
    }
}

fn report_json(report: &Report) -> Value {
    serde_json::to_value(report).unwrap_or(Value::Null)
}

/// A bare bundle or lookup answer (it has `format`), or `{"bundle",
/// options...}`, or `{"lookup": <a GET /v1/lookup answer>, options...}`.
fn item(mut map: Map<String, Value>, at: &str, trust: &TrustPolicy) -> Result<Item, ApiError> {
    let service = || VerifyOptions::with_policy(trust.clone(), SERVICE_TRUST);
    let lookup = map.contains_key("lookup");
    if !map.contains_key("bundle") && !lookup {
        let lookup = map.get("format").and_then(Value::as_str) == Some(LOOKUP_FORMAT_V2);
        return Ok(Item { bundle: to_bytes(Value::Object(map)), options: service(), lookup });
    }
    if lookup && map.contains_key("bundle") {
        return Err(bad(format!("{at}an item holds a bundle or a lookup answer, not both")));
    }
    const FIELDS: &[&str] = &[
        "bundle",
        "lookup",
        "document_sha256",
        "policy",
        "log_key",
        "witnesses",
        "witness_threshold",
        "suite",
    ];
    if let Some(k) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(bad(format!("{at}unknown field {k:?}")));
    }
    let own = ["policy", "log_key", "witnesses", "witness_threshold", "suite"];
    let mut options = if own.iter().any(|k| map.contains_key(*k)) {
        VerifyOptions::with_policy(caller_policy(&mut map, at)?, "the policy given in the request")
    } else {
        service()
    };
    if let Some(v) = map.remove("document_sha256") {
        let hash = v.as_str().and_then(|s| Hash::from_hex(s).ok());
        options.document_hash =
            Some(hash.ok_or_else(|| {
                bad(format!("{at}document_sha256 must be 64 lowercase hex digits"))
            })?);
    }
    let bundle = map.remove(if lookup { "lookup" } else { "bundle" }).unwrap_or(Value::Null);
    Ok(Item { bundle: to_bytes(bundle), options, lookup })
}

/// The caller's own anchors: a policy file's text, plus the shortcut options
/// of the `verifier` command.
fn caller_policy(map: &mut Map<String, Value>, at: &str) -> Result<TrustPolicy, ApiError> {
    let has_file = map.contains_key("policy");
    let mut policy = match map.remove("policy") {
        None => TrustPolicy::default(),
        Some(Value::String(text)) => {
            TrustPolicy::parse(&text).map_err(|e| bad(format!("{at}policy: {e}")))?
        }
        Some(_) => return Err(bad(format!("{at}policy must be the text of a policy file"))),
    };
    if let Some(v) = map.remove("log_key") {
        let s = v.as_str().ok_or_else(|| bad(format!("{at}log_key must be a string")))?;
        policy.add_log(s).map_err(|e| bad(format!("{at}log_key: {e}")))?;
    }
    if let Some(v) = map.remove("witnesses") {
        let list = v.as_array().filter(|l| l.len() <= MAX_REQUIRED_WITNESSES).ok_or_else(|| {
            bad(format!("{at}witnesses must be an array of at most {MAX_REQUIRED_WITNESSES} vkeys"))
        })?;
        for (i, w) in list.iter().enumerate() {
            let s =
                w.as_str().ok_or_else(|| bad(format!("{at}witnesses[{i}] must be a string")))?;
            policy.add_witness(s).map_err(|e| bad(format!("{at}witnesses[{i}]: {e}")))?;
        }
    }
    if let Some(v) = map.remove("witness_threshold") {
        let k = v.as_u64().ok_or_else(|| bad(format!("{at}witness_threshold must be a number")))?;
        policy.quorum = Some(usize::try_from(k).unwrap_or(usize::MAX));
    }
    let named = match map.remove("suite") {
        None => None,
        Some(v) => Some(
            v.as_str()
                .and_then(|s| verifier::suite::Suite::parse(s).ok())
                .ok_or_else(|| bad(format!("{at}suite must be ed25519-sha256 or sm2-sm3")))?,
        ),
    };
    policy.settle_suite(named, has_file).map_err(|e| bad(format!("{at}{e}")))?;
    policy.check_quorum().map_err(|e| bad(format!("{at}{e}")))?;
    Ok(policy)
}

/// The bundle's JSON again, for the verifier's own strict parser.
fn to_bytes(v: Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap_or_default()
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("bad_request", message)
}
