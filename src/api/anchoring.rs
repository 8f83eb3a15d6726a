//! Witnesses, TSAs and the anchoring policy while the service runs (the
//! platform role; issue 29): `GET`/`POST /v1/witnesses`, `PATCH`/`DELETE
//! /v1/witnesses/{name}`, `GET`/`POST /v1/tsas`, `DELETE /v1/tsas/{name}`,
//! `GET`/`PUT /v1/anchoring`. Each change goes through
//! [`anchor::manage`] (checked, logged as a `registry_changed` entry,
//! stored: the same records the offline CLI writes), then the anchoring
//! thread reloads and the service's trust policy is rebuilt, so the next
//! anchoring round and the next verification use it. A `DELETE` is a
//! retirement: the record and its log entries stay.

use std::sync::Arc;

use anchor::{AnchorConfig, AnchorError, Policy, Quorum};
use bytes::Buf;
use futures_util::Stream;
use ledger::{Ledger, Role, TsaRecord};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};
use verifier::jcs::{self, Limits};
use verifier::policy::TrustPolicy;

use super::{caller, json, read_body, Answer, AppState, Req};
use crate::auth::{require, Caller};
use crate::error::ApiError;

/// Largest body: a TSA's root and a CA bundle in PEM.
const BODY: usize = 64 * 1024;

/// The service's own trust anchors, as a policy: its log key, its
/// witnesses with the anchoring quorum, its TSA roots (retired ones too:
/// what they stamped before still verifies). `POST /v1/verify` and
/// reports check against it (docs/trust-policy.md §4).
pub fn service_policy(ledger: &Ledger, config: &AnchorConfig) -> Result<TrustPolicy, String> {
    let mut policy = TrustPolicy { suite: ledger.suite(), ..TrustPolicy::default() };
    policy.add_log(ledger.vkey())?;
    for p in &config.partners {
        // One key under two names is one witness (the policy counts keys).
        if let Err(e) = policy.add_witness(&p.vkey) {
            tracing::warn!("witness {} left out of the service's trust policy: {e}", p.name);
        }
    }
    let distinct = policy.distinct_witness_keys().len();
    policy.quorum =
        Some(if config.partners.is_empty() { 0 } else { config.threshold().min(distinct) });
    for t in ledger.tsa_records().map_err(|e| e.to_string())? {
        policy.add_tsa(&t.name, &t.root_pem)?;
    }
    Ok(policy)
}

/// After a change: the anchoring thread reloads its configuration (the
/// next round uses it) and the service's trust policy is rebuilt.
pub fn reload(state: &AppState) -> Result<(), ApiError> {
    state.anchorer.reload().map_err(anchor_error)?;
    let policy = service_policy(&state.ledger, &state.anchorer.config())
        .map_err(|e| ApiError::internal("trust policy", e))?;
    *state.trust.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(policy);
    Ok(())
}

fn anchor_error(e: AnchorError) -> ApiError {
    match e {
        AnchorError::InvalidConfig(m) => ApiError::bad_request("invalid_request", m),
        AnchorError::UnknownPartner(n) => ApiError::not_found(format!("witness {n:?}")),
        AnchorError::Ledger(e) => ApiError::from(e),
        e => ApiError::internal("anchoring", e),
    }
}

/// A member that is present, `null` or not.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewWitness {
    vkey: String,
    url: String,
    #[serde(default)]
    ca_pem: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WitnessPatch {
    #[serde(default)]
    url: Option<String>,
    #[serde(default, deserialize_with = "present")]
    ca_pem: Option<Option<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTsa {
    name: String,
    root_pem: String,
    #[serde(default)]
    anchor_url: Option<String>,
    #[serde(default)]
    ca_pem: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyBody {
    interval_secs: u64,
    every_entries: u64,
    required: Vec<String>,
    threshold: usize,
}

/// The platform, charged one write before the body is read.
async fn platform(state: &Arc<AppState>, req: &Req) -> Result<Caller, ApiError> {
    let caller = caller(state, req).await?;
    require(&caller, &[Role::Platform])?;
    state.admission.charge_write(&caller.tenant, &req.headers, BODY)?;
    Ok(caller)
}

async fn body_json<S, B, T>(body: S) -> Result<T, ApiError>
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
    T: serde::de::DeserializeOwned,
{
    let bytes = read_body(body, BODY).await?;
    let limits = Limits { max_bytes: BODY, max_depth: 3, max_string: BODY };
    let value = jcs::parse(&bytes, &limits).map_err(|e| ApiError::from_verify(None, &e))?;
    serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request("invalid_request", e.to_string()))
}

/// Runs a change on a blocking thread, then reloads anchoring.
async fn changed(
    state: &Arc<AppState>,
    f: impl FnOnce(&AppState) -> Result<Value, ApiError> + Send + 'static,
) -> Answer {
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        let out = f(&st)?;
        reload(&st)?;
        Ok(json(&out))
    })
    .await
    .map_err(|e| ApiError::internal("anchoring change", e))?
}

/// A path segment as a witness or TSA name (percent-decoded: a witness's
/// key name holds `/`, sent as `%2F`).
fn segment(name: &str) -> Result<String, ApiError> {
    percent_decode(name).ok_or_else(|| ApiError::bad_request("bad_query", "bad percent-encoding"))
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `GET /v1/witnesses` (platform).
pub(crate) fn list_witnesses(state: &AppState, caller: &Caller) -> Answer {
    require(caller, &[Role::Platform])?;
    let c = state.anchorer.config();
    let list: Vec<Value> = c.partners.iter().map(witness_json).collect();
    Ok(json(&json!({"witnesses": list, "quorum": c.quorum_json()})))
}

fn witness_json(p: &anchor::PartnerConfig) -> Value {
    json!({"name": p.name, "vkey": p.vkey, "url": p.url, "private_ca": p.ca_pem.is_some()})
}

/// `POST /v1/witnesses` (platform): `{"vkey", "url", "ca_pem"?}`.
pub(crate) async fn add_witness<S, B>(state: &Arc<AppState>, req: &Req, body: S) -> Answer
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let caller = platform(state, req).await?;
    let new: NewWitness = body_json(body).await?;
    changed(state, move |st| {
        let p = anchor::manage::add_witness(
            &st.ledger,
            &new.vkey,
            &new.url,
            new.ca_pem,
            &caller.token_id,
        )
        .map_err(anchor_error)?;
        Ok(witness_json(&p))
    })
    .await
}

/// `PATCH /v1/witnesses/{name}` (platform): `{"url"?, "ca_pem"?}`.
pub(crate) async fn change_witness<S, B>(
    state: &Arc<AppState>,
    req: &Req,
    name: &str,
    body: S,
) -> Answer
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let caller = platform(state, req).await?;
    let name = segment(name)?;
    let p: WitnessPatch = body_json(body).await?;
    if p.url.is_none() && p.ca_pem.is_none() {
        return Err(ApiError::bad_request("invalid_request", "nothing to change: url or ca_pem"));
    }
    changed(state, move |st| {
        let w = anchor::manage::change_witness(
            &st.ledger,
            &name,
            p.url.as_deref(),
            p.ca_pem,
            &caller.token_id,
        )
        .map_err(anchor_error)?;
        Ok(witness_json(&w))
    })
    .await
}

/// `DELETE /v1/witnesses/{name}` (platform): retires the witness.
pub(crate) async fn retire_witness(state: &Arc<AppState>, req: &Req, name: &str) -> Answer {
    let caller = platform(state, req).await?;
    let name = segment(name)?;
    changed(state, move |st| {
        let w = anchor::manage::retire_witness(&st.ledger, &name, &caller.token_id)
            .map_err(anchor_error)?;
        let mut v = witness_json(&w);
        v["retired"] = json!(true);
        Ok(v)
    })
    .await
}

/// `GET /v1/tsas` (platform): every trusted TSA, retired ones too.
pub(crate) fn list_tsas(state: &AppState, caller: &Caller) -> Answer {
    require(caller, &[Role::Platform])?;
    let anchoring = state.anchorer.config().tsa.clone();
    let list: Vec<Value> =
        state.ledger.tsa_records()?.iter().map(|r| tsa_json(r, anchoring.as_ref())).collect();
    Ok(json(&json!({"tsas": list})))
}

fn tsa_json(r: &TsaRecord, anchoring: Option<&anchor::TsaPartner>) -> Value {
    let url = anchoring.filter(|t| t.name == r.name).map(|t| t.url.clone());
    json!({
        "name": r.name,
        "root_sha256": verifier::Hash::digest(r.root_pem.trim().as_bytes()).to_hex(),
        "added_at": r.added_at,
        "added_entry": r.added_entry,
        "retired_at": r.retired_at,
        "retired_entry": r.retired_entry,
        "anchor_url": url,
    })
}

/// `POST /v1/tsas` (platform): `{"name", "root_pem", "anchor_url"?,
/// "ca_pem"?}`. The same name and root again changes the anchoring URL.
pub(crate) async fn add_tsa<S, B>(state: &Arc<AppState>, req: &Req, body: S) -> Answer
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let caller = platform(state, req).await?;
    let new: NewTsa = body_json(body).await?;
    changed(state, move |st| {
        let (rec, tsa) = anchor::manage::add_tsa(
            &st.ledger,
            &new.name,
            &new.root_pem,
            new.anchor_url.as_deref(),
            new.ca_pem,
            &caller.token_id,
        )
        .map_err(anchor_error)?;
        Ok(tsa_json(&rec, tsa.as_ref()))
    })
    .await
}

/// `DELETE /v1/tsas/{name}` (platform): retires the TSA.
pub(crate) async fn retire_tsa(state: &Arc<AppState>, req: &Req, name: &str) -> Answer {
    let caller = platform(state, req).await?;
    let name = segment(name)?;
    changed(state, move |st| {
        let rec = anchor::manage::retire_tsa(&st.ledger, &name, &caller.token_id)
            .map_err(anchor_error)?;
        Ok(tsa_json(&rec, None))
    })
    .await
}

/// `GET /v1/anchoring` (platform): the schedule, quorum, witnesses and TSA.
pub(crate) fn get_policy(state: &AppState, caller: &Caller) -> Answer {
    require(caller, &[Role::Platform])?;
    Ok(json(&policy_json(&state.anchorer.config())))
}

fn policy_json(c: &AnchorConfig) -> Value {
    json!({
        "interval_secs": c.policy.interval_secs,
        "every_entries": c.policy.every_entries,
        "required": c.policy.quorum.required,
        "threshold": c.policy.quorum.threshold,
        "quorum": c.quorum_json(),
        "witnesses": c.partners.iter().map(witness_json).collect::<Vec<_>>(),
        "tsa": c.tsa.as_ref().map(|t| json!({"name": t.name, "url": t.url})),
    })
}

/// `PUT /v1/anchoring` (platform): `{"interval_secs", "every_entries",
/// "required", "threshold"}`, all four (threshold 0: all witnesses).
pub(crate) async fn put_policy<S, B>(state: &Arc<AppState>, req: &Req, body: S) -> Answer
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let caller = platform(state, req).await?;
    let b: PolicyBody = body_json(body).await?;
    let policy = Policy {
        interval_secs: b.interval_secs,
        every_entries: b.every_entries,
        quorum: Quorum { required: b.required, threshold: b.threshold },
    };
    changed(state, move |st| {
        let c = anchor::manage::set_policy(&st.ledger, policy, &caller.token_id)
            .map_err(anchor_error)?;
        Ok(policy_json(&c))
    })
    .await
}
