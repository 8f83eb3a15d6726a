//! The HTTP API. One hand-written router over warp's raw request parts, so
//! that every failure — unknown path, wrong method, oversized body, bad
//! token — answers the same JSON error shape with the right status.

pub(crate) mod access;
mod access_export;
mod admin;
pub mod admission;
pub(crate) mod anchoring;
mod audit;
pub mod authlimit;
mod bundle;
pub mod client;
pub mod erase;
mod ers;
pub(crate) mod events;
mod hidden;
pub mod integrations;
mod issuer_cas;
mod lookup;
mod master_key;
mod public;
pub(crate) mod report;
mod signed_receipt;
pub(crate) mod tenant_records;
pub(crate) mod tenants;
pub(crate) mod tiles;
mod tokens;
mod verify;
mod web;

use std::sync::Arc;
use std::time::Instant;

use bytes::Buf;
use futures_util::{Stream, StreamExt};
use ledger::Ledger;
use notary_bridge::http::PeerAddr;
use warp::http::{HeaderMap, Method, StatusCode};
use warp::reply::{Reply, Response};
use warp::Filter;

use crate::auth::{self, Caller};
use crate::error::ApiError;
use crate::metrics::Metrics;

/// Largest request body accepted, checked while reading, before decoding.
pub const MAX_BODY_BYTES: usize = 4 << 20;
/// Most events in one `POST /v1/events`.
pub const MAX_BATCH_EVENTS: usize = 1000;

/// What every handler shares.
pub struct AppState {
    /// The ledger.
    pub ledger: Ledger,
    /// Metrics.
    pub metrics: Metrics,
    /// The service's own trust anchors (log key, witnesses and quorum, TSA
    /// roots): what `POST /v1/verify` and reports check against by
    /// default; rebuilt after each anchoring change
    /// ([`crate::state::reload_anchoring`]).
    pub trust: std::sync::RwLock<Arc<verifier::policy::TrustPolicy>>,
    /// The anchoring thread (idle while no witness and no TSA is
    /// configured); see [`AppState::anchor`].
    pub anchorer: anchor::Anchorer,
    /// False once shutdown began; `/readyz` then answers 503.
    pub ready: std::sync::atomic::AtomicBool,
    /// Per-tenant quotas and the bound on events in flight.
    pub admission: admission::Admission,
    /// The service's public base URL (`serve --public-url`), checked, with
    /// no trailing slash: reports link to `<it>/verify`.
    pub public_url: Option<String>,
    /// Failed authentications per client address (`serve
    /// --auth-failure-limit`).
    pub auth_failures: authlimit::AuthLimiter,
    /// The tenant records (quotas, lookup default, retention minimum).
    pub tenants: tenant_records::Tenants,
}

impl AppState {
    /// The anchoring thread while it has a witness or a TSA to anchor with.
    pub fn anchor(&self) -> Option<&anchor::Anchorer> {
        self.anchorer.is_active().then_some(&self.anchorer)
    }

    /// The service's own trust policy now.
    pub fn trust(&self) -> Arc<verifier::policy::TrustPolicy> {
        self.trust.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The configured witnesses: (name, vkey).
    pub fn witnesses(&self) -> Vec<(String, String)> {
        let config = self.anchorer.config();
        config.partners.iter().map(|p| (p.name.clone(), p.vkey.clone())).collect()
    }

    /// The witnesses as `/v1/log` and lookups list them: `[{name, vkey}]`.
    pub fn witnesses_json(&self) -> Vec<serde_json::Value> {
        let w = self.witnesses();
        w.iter().map(|(n, v)| serde_json::json!({"name": n, "vkey": v})).collect()
    }

    /// The service's own trust anchors with the issuer CAs registered so
    /// far (`POST /v1/issuer-cas` adds them while the service runs) as
    /// `ca` roots: what `POST /v1/verify` and reports check against.
    pub fn trust_now(&self) -> verifier::policy::TrustPolicy {
        let mut trust = (*self.trust()).clone();
        match self.ledger.issuer_ca_records() {
            Ok(cas) => {
                for c in cas {
                    if let Err(e) = trust.add_ca(&c.name, &c.root_pem) {
                        tracing::warn!("issuer CA {} left out of the service's trust: {e}", c.name);
                    }
                }
            }
            Err(e) => tracing::warn!("issuer CAs unreadable: {e}"),
        }
        trust
    }
}

/// The service's routes as one warp filter.
pub fn routes(
    state: Arc<AppState>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone + Send + Sync + 'static {
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    warp::method()
        .and(warp::path::full())
        .and(query)
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<PeerAddr>())
        .and(warp::body::stream())
        .then(
            move |method,
                  path: warp::path::FullPath,
                  query,
                  headers,
                  peer: Option<PeerAddr>,
                  body| {
                let state = state.clone();
                async move {
                    let proxies = &state.admission.config().trusted_proxies;
                    let peer = peer.map(|p| client::trusted_client(p.0.ip(), &headers, proxies));
                    let path = path.as_str().to_string();
                    let req =
                        Req { method, path, query, headers, peer, caller: Default::default() };
                    handle(state, req, body).await
                }
            },
        )
}

/// The parts of a request the handlers look at.
pub struct Req {
    /// HTTP method.
    pub method: Method,
    /// Path, without the query.
    pub path: String,
    /// Raw query string (may be empty).
    pub query: String,
    /// Headers.
    pub headers: HeaderMap,
    /// The client's address as the service trusts it (the socket's peer,
    /// or what a trusted proxy forwarded: [`client::trusted_client`]),
    /// when the accept loop knows it.
    pub peer: Option<std::net::IpAddr>,
    /// Who the request authenticated as, once it did: what its
    /// access-log record names (no second token lookup).
    pub caller: std::sync::OnceLock<Caller>,
}

async fn handle<S, B>(state: Arc<AppState>, req: Req, body: S) -> Response
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let started = Instant::now();
    let (route, result) = dispatch(&state, &req, body).await;
    let mut response = match result {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    security_headers(&req, response.headers_mut());
    access::record(&state, &req, response.status().as_u16()).await;
    let status = response.status().as_u16().to_string();
    let route = crate::metrics::public_route(route);
    state.metrics.http.with_label_values(&[route, &status]).inc();
    state.metrics.http_latency.with_label_values(&[route]).observe(started.elapsed().as_secs_f64());
    response
}

type Answer = Result<Response, ApiError>;

/// What every answer carries, unless its handler set a stricter value: no
/// MIME sniffing, no framing, no referrer; HSTS when the request came
/// through a TLS-terminating proxy (`X-Forwarded-Proto: https`), since
/// the service itself speaks plain HTTP behind it.
fn security_headers(req: &Req, h: &mut HeaderMap) {
    use warp::http::HeaderValue;
    let defaults = [
        ("x-content-type-options", "nosniff"),
        ("content-security-policy", "default-src 'none'; frame-ancestors 'none'"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
    ];
    for (name, value) in defaults {
        if !h.contains_key(name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    let tls = req
        .headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    if tls {
        h.insert("strict-transport-security", HeaderValue::from_static("max-age=31536000"));
    }
}

async fn dispatch<S, B>(state: &Arc<AppState>, req: &Req, body: S) -> (&'static str, Answer)
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let segments: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    let get = req.method == Method::GET;
    let post = req.method == Method::POST;
    let (put, delete) = (req.method == Method::PUT, req.method == Method::DELETE);
    let patch = req.method == Method::PATCH;
    match segments.as_slice() {
        // The public reads go to the store (PostgreSQL: a pool thread, and
        // the network): on the blocking pool, so that a hung database
        // holds no async worker (docs/postgres.md).
        ["v1", "checkpoint"] if get => ("checkpoint", blocking(state, public::checkpoint).await),
        ["v1", "checkpoint", "latest"] if get => {
            ("checkpoint", blocking(state, public::latest_checkpoint).await)
        }
        ["v1", "checkpoint", "timestamp"] if get => {
            ("checkpoint", blocking(state, public::checkpoint_timestamp).await)
        }
        ["v1", "anchor"] if post => {
            ("anchor", with_caller(state, req, admin::trigger_anchor).await)
        }
        ["v1", "anchor"] if get => ("anchor", with_caller(state, req, admin::anchor_status).await),
        ["v1", "log"] if get => ("log", public::log_info(state)),
        ["v1", "entries", index] if get => {
            let index = index.to_string();
            ("entries", blocking(state, move |st| public::entry(st, &index)).await)
        }
        ["v1", "proof", "inclusion"] if get => {
            let query = req.query.clone();
            ("inclusion", blocking(state, move |st| public::inclusion(st, &query)).await)
        }
        ["v1", "proof", "consistency"] if get => {
            let query = req.query.clone();
            ("consistency", blocking(state, move |st| public::consistency(st, &query)).await)
        }
        ["v1", "events"] if post => ("events", events::post(state, req, body).await),
        ["v1", "documents", doc, "bundle"] if get => ("bundle", bundle::get(state, req, doc).await),
        ["v1", "documents", doc, "report"] if get => ("report", report::get(state, req, doc).await),
        ["v1", "documents", doc, "evidence-record"] if post => {
            ("evidence_record", ers::post(state, req, doc).await)
        }
        ["v1", "documents", doc, "evidence-record"] if get => {
            ("evidence_record", ers::get(state, req, doc).await)
        }
        ["v1", "documents", doc, "reports"] if post => {
            ("report", report::post(state, req, doc).await)
        }
        ["v1", "documents", doc, "reports", id] if get => {
            ("report", report::read(state, req, doc, id).await)
        }
        ["v1", "documents", doc, "erase"] if post => {
            ("erase", erase::erase_document(state, req, doc, body).await)
        }
        ["v1", "documents", doc, "lookup"] if post => {
            ("lookup_switch", erase::set_lookup(state, req, doc, body).await)
        }
        ["v1", "retention"] if post => ("retention", erase::set_retention(state, req, body).await),
        ["v1", "retention"] if get => {
            ("retention", with_caller(state, req, erase::get_retention).await)
        }
        ["v1", "subjects", actor, "erase"] if post => {
            ("erase", erase::erase_subject(state, req, actor, body).await)
        }
        ["v1", "platform", "subjects", actor, "erase"] if post => {
            ("erase", erase::erase_subject_everywhere(state, req, actor, body).await)
        }
        ["v1", "verify"] if post => ("verify", verify::post(state, req, body).await),
        ["v1", "admin", "master-key", "rotate"] if post => {
            ("master_key", master_key::rotate(state, req, body).await)
        }
        ["v1", "admin", "master-key", "status"] if get => {
            ("master_key", master_key::status(state, req).await)
        }
        ["v1", "issuers"] if get => ("issuers", with_caller(state, req, admin::list_issuers).await),
        ["v1", "issuers"] if post => ("issuers", admin::add_issuer(state, req, body).await),
        ["v1", "issuer-cas"] if get => ("issuers", with_caller(state, req, issuer_cas::list).await),
        ["v1", "issuer-cas"] if post => ("issuers", issuer_cas::add(state, req, body).await),
        ["v1", "issuers", name, "revoke"] if post => {
            ("issuers", admin::revoke_issuer(state, req, name).await)
        }
        ["v1", "witnesses"] if get => {
            ("anchoring", with_caller(state, req, anchoring::list_witnesses).await)
        }
        ["v1", "witnesses"] if post => {
            ("anchoring", anchoring::add_witness(state, req, body).await)
        }
        ["v1", "witnesses", name] if patch => {
            ("anchoring", anchoring::change_witness(state, req, name, body).await)
        }
        ["v1", "witnesses", name] if delete => {
            ("anchoring", anchoring::retire_witness(state, req, name).await)
        }
        ["v1", "tsas"] if get => ("anchoring", with_caller(state, req, anchoring::list_tsas).await),
        ["v1", "tsas"] if post => ("anchoring", anchoring::add_tsa(state, req, body).await),
        ["v1", "tsas", name] if delete => {
            ("anchoring", anchoring::retire_tsa(state, req, name).await)
        }
        ["v1", "anchoring"] if get => {
            ("anchoring", with_caller(state, req, anchoring::get_policy).await)
        }
        ["v1", "anchoring"] if put => ("anchoring", anchoring::put_policy(state, req, body).await),
        ["v1", "tenants"] if get => ("tenants", with_caller(state, req, tenants::list).await),
        ["v1", "tenants"] if post => ("tenants", tenants::create(state, req, body).await),
        ["v1", "tenants", tenant] if get => {
            let tenant = tenant.to_string();
            ("tenants", with_caller(state, req, move |st, c| tenants::get(st, c, &tenant)).await)
        }
        ["v1", "tenants", tenant] if patch => {
            ("tenants", tenants::patch(state, req, tenant, body).await)
        }
        ["v1", "integrations", platform] if get => {
            ("integrations", integrations::admin(state, req, platform, body).await)
        }
        ["v1", "integrations", platform] if put => {
            ("integrations", integrations::admin(state, req, platform, body).await)
        }
        ["v1", "integrations", platform] if delete => {
            ("integrations", integrations::admin(state, req, platform, body).await)
        }
        ["v1", "integrations", platform, tenant] if post => {
            ("integration_webhook", integrations::webhook(state, req, platform, tenant, body).await)
        }
        ["v1", "access-log"] if get => ("access_log", access::list(state, req).await),
        ["v1", "access-log", "export"] if get => {
            ("access_log", access_export::export(state, req).await)
        }
        ["v1", "access-log", "trim"] if post => {
            ("access_log", access_export::trim(state, req).await)
        }
        ["v1", "tokens"] if post => ("tokens", tokens::issue(state, req, body).await),
        ["v1", "tokens"] if get => {
            let query = req.query.clone();
            ("tokens", with_caller(state, req, move |st, c| tokens::list(st, c, &query)).await)
        }
        ["v1", "tokens", id, "revoke"] if post => ("tokens", tokens::revoke(state, req, id).await),
        ["v1", "lookup"] if get => {
            let query = req.query.clone();
            let slot =
                match tokio::time::timeout(lookup::LOOKUP_WAIT, lookup::LOOKUP_SLOTS.acquire())
                    .await
                {
                    Ok(Ok(slot)) => slot,
                    _ => {
                        let busy = "every lookup slot is busy";
                        let e = ApiError::overloaded(StatusCode::SERVICE_UNAVAILABLE, busy, 1);
                        return ("lookup", Err(e));
                    }
                };
            let answer = blocking(state, move |st| {
                // Held by the work, not the connection (see verify).
                let _slot = slot;
                let _work = st.metrics.work("lookup");
                lookup::lookup(st, &query)
            });
            ("lookup", answer.await)
        }
        ["v1", "audit"] if post => match caller(state, req).await {
            Ok(c) => ("audit", audit::post(state, c).await),
            Err(e) => ("audit", Err(e)),
        },
        ["checkpoint"] if get => ("tlog_checkpoint", tiles::checkpoint(state)),
        ["tile", rest @ ..] if get => {
            let route = if rest.first() == Some(&"entries") { "tile_entries" } else { "tile" };
            match tiles::parse(rest) {
                Ok(id) => (route, blocking(state, move |st| tiles::get(st, id)).await),
                Err(e) => (route, Err(e)),
            }
        }
        ["verify"] if get => ("verify", web::page()),
        ["verify", name] if get => ("verify", web::asset(name)),
        ["verify", "verifier", module @ ..] if get => {
            ("verify", web::asset(&format!("verifier/{}", module.join("/"))))
        }
        ["verify", "vendor", file] if get => ("verify", web::asset(&format!("vendor/{file}"))),
        ["metrics"] if get => ("metrics", public::metrics(state)),
        ["healthz"] if get => ("healthz", Ok(text(StatusCode::OK, "ok\n"))),
        ["readyz"] if get => ("readyz", public::readyz(state)),
        _ => ("unknown", Err(no_route(req))),
    }
}

/// Runs a handler whose work blocks (RocksDB reads, proofs, signature
/// checks) on the blocking pool, so the two async workers stay free.
async fn blocking(
    state: &Arc<AppState>,
    f: impl FnOnce(&AppState) -> Answer + Send + 'static,
) -> Answer {
    let st = state.clone();
    tokio::task::spawn_blocking(move || f(&st))
        .await
        .map_err(|e| ApiError::internal("blocking task", e))?
}

fn no_route(req: &Req) -> ApiError {
    ApiError::not_found(format!("no route for {} {}", req.method, req.path))
}

/// Authenticates, then runs `f` with the caller on the blocking pool (it
/// reads the store).
pub(crate) async fn with_caller(
    state: &Arc<AppState>,
    req: &Req,
    f: impl FnOnce(&AppState, &Caller) -> Answer + Send + 'static,
) -> Answer {
    let caller = caller(state, req).await?;
    blocking(state, move |st| f(st, &caller)).await
}

/// How long a request waits for the store to answer its token lookup:
/// past it, 503 + `Retry-After` (a hung database holds a blocking thread,
/// never an async worker, and the client gets an answer).
pub const AUTH_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);

/// Authenticates the request: refused at once (429) while its client
/// address is over its failed authentications ([`authlimit`]), else the
/// token is looked up on the blocking pool within [`AUTH_DEADLINE`].
pub(crate) async fn caller(state: &Arc<AppState>, req: &Req) -> Result<Caller, ApiError> {
    let client = req.peer.filter(|ip| !state.admission.config().trusted_proxies.contains(ip));
    if let Some(wait) = client.and_then(|ip| state.auth_failures.check(ip).err()) {
        return Err(ApiError::overloaded(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed authentications from this address; try again later",
            u32::try_from(wait).unwrap_or(u32::MAX),
        ));
    }
    let header = req.headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (st, method, path) = (state.clone(), req.method.clone(), req.path.clone());
    let work = tokio::task::spawn_blocking(move || {
        let caller = auth::authenticate(&st.ledger, header.as_deref())?;
        access::check_room(&st, &method, &path, &caller.tenant)?;
        Ok(caller)
    });
    let result: Result<Caller, ApiError> = match tokio::time::timeout(AUTH_DEADLINE, work).await {
        Ok(joined) => joined.map_err(|e| ApiError::internal("authentication", e))?,
        Err(_) => {
            return Err(ApiError::overloaded(
                StatusCode::SERVICE_UNAVAILABLE,
                "the store did not answer the token lookup in time",
                5,
            ))
        }
    };
    match (&result, client) {
        (Err(e), Some(ip)) if e.status == StatusCode::UNAUTHORIZED => {
            state.auth_failures.failed(ip)
        }
        (Ok(c), _) => {
            let _ = req.caller.set(c.clone());
        }
        _ => {}
    }
    result
}

/// How long a client may take to send a request body, whole: a client
/// trickling its body holds a connection and, for `POST /v1/verify`, a
/// verification slot, so it gets this long and then a 408.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Reads a body within [`BODY_READ_TIMEOUT`], refusing it as soon as it
/// passes `cap` bytes.
pub(crate) async fn read_body<S, B>(body: S, cap: usize) -> Result<Vec<u8>, ApiError>
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    tokio::time::timeout(BODY_READ_TIMEOUT, read_body_capped(body, cap)).await.map_err(|_| {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            format!("request body not received within {} s", BODY_READ_TIMEOUT.as_secs()),
        )
    })?
}

async fn read_body_capped<S, B>(mut body: S, cap: usize) -> Result<Vec<u8>, ApiError>
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk.map_err(|e| ApiError::bad_request("bad_body", e.to_string()))?;
        if out.len() + chunk.remaining() > cap {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("request body over {cap} bytes"),
            ));
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            out.extend_from_slice(part);
            let n = part.len();
            chunk.advance(n);
        }
    }
    Ok(out)
}

/// A plain-text answer.
pub(crate) fn text(status: StatusCode, body: impl Into<String>) -> Response {
    let r = warp::reply::with_status(body.into(), status);
    warp::reply::with_header(r, "content-type", "text/plain; charset=utf-8").into_response()
}

/// A JSON answer with status 200.
pub(crate) fn json<T: serde::Serialize>(v: &T) -> Response {
    warp::reply::json(v).into_response()
}

/// Parses `key=value&...` into the named u64 parameters, strictly.
pub(crate) fn query_u64(query: &str, names: &[&str]) -> Result<Vec<u64>, ApiError> {
    let mut out = vec![None; names.len()];
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let Some(i) = names.iter().position(|n| *n == k) else {
            return Err(ApiError::bad_request("bad_query", format!("unknown parameter {k:?}")));
        };
        if out[i].is_some() {
            return Err(ApiError::bad_request("bad_query", format!("{k} given twice")));
        }
        out[i] = Some(parse_u64(k, v)?);
    }
    names
        .iter()
        .zip(out)
        .map(|(n, v)| {
            v.ok_or_else(|| ApiError::bad_request("bad_query", format!("{n} is required")))
        })
        .collect()
}

/// A decimal u64 with no sign, no leading zeros, at most 20 digits.
pub(crate) fn parse_u64(name: &str, v: &str) -> Result<u64, ApiError> {
    let ok = !v.is_empty()
        && v.len() <= 20
        && v.bytes().all(|b| b.is_ascii_digit())
        && (v == "0" || !v.starts_with('0'));
    let bad = || ApiError::bad_request("bad_query", format!("{name} must be a decimal integer"));
    if !ok {
        return Err(bad());
    }
    v.parse().map_err(|_| bad())
}
