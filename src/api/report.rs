//! Evidence reports (role legal): the report of one contract, HTML or PDF,
//! signed by the log key and itself written to the ledger as a
//! `report_issued` event, so the report is evidence too.
//!
//! - `POST /v1/documents/{id}/reports` with an `Idempotency-Key` header
//!   issues one: the same key (per tenant and contract) answers the same
//!   report again and appends nothing.
//! - `GET /v1/documents/{id}/reports/{report_id}` reads an issued report
//!   back, without side effects.
//! - `GET /v1/documents/{id}/report` (legacy, pinned) issues a new report on
//!   every call, as before.
//!
//! Issuing is crash-safe exactly once per key: the rendered report and its
//! event are stored before the event is appended, and a retry re-appends the
//! stored event, which the ledger's event-id idempotency answers with the
//! original receipt.
//!
//! The signature is the attestation of that event by the log key as the
//! issuer [`LOG_ISSUER`] (Ed25519, or SM2 on an `sm2-sm3` log: [`signing`]), over the canonical JSON of
//! {"claim": {"format", "report_sha256"}, "document_hash", "event_id",
//! "issuer", "kind": "report_issued"}. Anyone holding the file can recompute
//! its SHA-256, find the entry, and check it like any other attestation;
//! every bundle of the contract fetched afterwards carries it.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use ledger::{Ledger, Role};
use rand_core::{OsRng, RngCore};
use serde_json::json;
use verifier::bundle::{verify_bundle, VerifyOptions};
use verifier::entry::Event;
use verifier::suite::Suite;
use verifier::Hash;
use warp::http::StatusCode;
use warp::reply::Reply;

use super::verify::SERVICE_TRUST;
use super::{bundle, caller, Answer, AppState, Req};
use crate::auth::{require, Caller};
use crate::error::ApiError;
use crate::report::{self, html, pdf, Issue};

mod signing;
mod stored;
use signing::ensure_log_issuer;
pub(crate) use stored::erase_document_reports;
use stored::{check_room, now_micros, stored_index_prefix};
pub use stored::{expire_stored_reports, STORED_REPORT_DAYS};

/// The issuer name under which the log attests the reports it issues.
pub const LOG_ISSUER: &str = ledger::LOG_ISSUER;
/// The display name of the legal caller in `report_issued` events.
const LEGAL_DISPLAY: &str = "法务 legal";

/// The two renderings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Html,
    Pdf,
}

impl Format {
    fn as_str(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Pdf => "pdf",
        }
    }
}

/// A rendered report, stored (aux records) so that it can be read back and
/// an interrupted issue finished.
#[derive(serde::Serialize, serde::Deserialize)]
struct Issued {
    /// The report id, also the `report_issued` event's id.
    event_id: String,
    document_id: String,
    format: String,
    sha256: String,
    signature: String,
    /// The `report_issued` event, as appended.
    event: serde_json::Value,
    /// Index of the entry; `None` until the append returned.
    index: Option<u64>,
    /// Standard base64 of the report file.
    body: String,
}

/// Idempotency keys and report ids: 1-128 chars of `[A-Za-z0-9._:-]`.
const REPORT_IDEM_PREFIX: &[u8] = b"report-idem\0";
/// Report idempotency records since they are keyed: `report-idem2\0`
/// document key id(32) || keyed hash of the Idempotency-Key(32) -> report
/// id. No key spells a tenant, a contract or a client's key (which may
/// name the contract), not even in a table file's boundaries after the
/// erasure deleted it.
const REPORT_IDEM2_PREFIX: &[u8] = b"report-idem2\0";
const REPORT_PREFIX: &[u8] = b"report\0";

/// Reports are issued one at a time per tenant (a key's check-then-issue
/// is atomic, and an erasure of the tenant's document waits for it); one
/// tenant's queue holds at most [`MAX_REPORTS_QUEUED_PER_TENANT`] (past it,
/// 429), and at most [`RENDER_SLOTS`] render at once across tenants, so
/// that rendering (CPU-heavy) cannot crowd out the ingest path. No tenant
/// can hold more than one slot: another tenant's reports and every
/// tenant's receipts keep flowing beside one tenant's flood.
static ISSUING: std::sync::Mutex<Option<HashMap<String, TenantQueue>>> =
    std::sync::Mutex::new(None);
/// Reports rendering at once, across tenants (one per core).
pub const RENDER_SLOTS: usize = 2;
static RENDERING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(RENDER_SLOTS);
/// Report requests one tenant may have waiting or running.
pub const MAX_REPORTS_QUEUED_PER_TENANT: usize = 4;
/// How long an issue waits for a render slot before a 503.
const RENDER_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// One tenant's issuing lock and how many of its requests hold or await it.
#[derive(Default)]
struct TenantQueue {
    lock: Arc<tokio::sync::Mutex<()>>,
    queued: usize,
}

/// A report request's (or an erasure's or lookup switch's) place in its
/// tenant's queue; given back when dropped (by the work, not the
/// connection: see [`run`]).
pub(crate) struct QueuePlace {
    tenant: String,
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl QueuePlace {
    /// A place in the tenant's queue, or 429 when the tenant already has
    /// [`MAX_REPORTS_QUEUED_PER_TENANT`] reports, erasures or lookup
    /// switches waiting or running: one tenant's flood of them holds at
    /// most that many blocking threads.
    pub(crate) fn take(tenant: &str) -> Result<QueuePlace, ApiError> {
        let mut map = ISSUING.lock().unwrap_or_else(|p| p.into_inner());
        let q = map.get_or_insert_with(HashMap::new).entry(tenant.to_owned()).or_default();
        if q.queued >= MAX_REPORTS_QUEUED_PER_TENANT {
            return Err(ApiError::overloaded(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "the tenant has {MAX_REPORTS_QUEUED_PER_TENANT} reports, erasures or lookup \
                     switches waiting or running; retry"
                ),
                1,
            ));
        }
        q.queued += 1;
        Ok(QueuePlace { tenant: tenant.to_owned(), lock: q.lock.clone() })
    }
}

impl Drop for QueuePlace {
    fn drop(&mut self) {
        let mut map = ISSUING.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(q) = map.as_mut().and_then(|m| m.get_mut(&self.tenant)) {
            q.queued = q.queued.saturating_sub(1);
        }
    }
}

/// The tenant's issuing lock (shared by its queue and its erasures).
fn tenant_lock(tenant: &str) -> Arc<tokio::sync::Mutex<()>> {
    let mut map = ISSUING.lock().unwrap_or_else(|p| p.into_inner());
    map.get_or_insert_with(HashMap::new).entry(tenant.to_owned()).or_default().lock.clone()
}

/// `GET /v1/documents/{id}/report[?format=html|pdf]` (legacy): a new report
/// on every call.
pub(crate) async fn get(state: &Arc<AppState>, req: &Req, document_id: &str) -> Answer {
    let caller = caller(state, req).await?;
    require(&caller, &[Role::Legal])?;
    let format = format(req)?;
    state.admission.charge_write(&caller.tenant, &req.headers, 4096)?;
    let key = format!("legacy-{}", random_hex());
    run(state, caller, document_id, format, key).await
}

/// `POST /v1/documents/{id}/reports[?format=html|pdf]` with `Idempotency-Key`.
pub(crate) async fn post(state: &Arc<AppState>, req: &Req, document_id: &str) -> Answer {
    let caller = caller(state, req).await?;
    require(&caller, &[Role::Legal])?;
    let format = format(req)?;
    let key = req
        .headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| ledger::check_id("Idempotency-Key", k).is_ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "idempotency_key",
                "Idempotency-Key header required: 1-128 chars of [A-Za-z0-9._:-]",
            )
        })?
        .to_string();
    state.admission.charge_write(&caller.tenant, &req.headers, 4096)?;
    run(state, caller, document_id, format, key).await
}

async fn run(
    state: &Arc<AppState>,
    caller: Caller,
    document_id: &str,
    format: Format,
    key: String,
) -> Answer {
    let place = QueuePlace::take(&caller.tenant)?;
    let (st, doc) = (state.clone(), document_id.to_owned());
    let rt = tokio::runtime::Handle::current();
    let issued = tokio::task::spawn_blocking(move || {
        // Held by the work until it ends, whether or not its client waits.
        let _one = place.lock.clone().blocking_lock_owned();
        let _place = place;
        let _slot = rt
            .block_on(tokio::time::timeout(RENDER_WAIT, RENDERING.acquire()))
            .map_err(|_| {
                ApiError::overloaded(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "every report render slot is busy",
                    5,
                )
            })?
            .map_err(|e| ApiError::internal("render slots", e))?;
        let _work = st.metrics.work("report");
        issue_once(&st, &caller, &doc, format, &key)
    })
    .await
    .map_err(|e| ApiError::internal("report task", e))??;
    respond(&issued, state.ledger.suite())
}

/// `GET /v1/documents/{id}/reports/{report_id}`: an issued report, as issued.
pub(crate) async fn read(
    state: &Arc<AppState>,
    req: &Req,
    document_id: &str,
    report_id: &str,
) -> Answer {
    let caller = caller(state, req).await?;
    require(&caller, &[Role::Legal])?;
    let not_found = || ApiError::not_found(format!("report {report_id:?}"));
    if ledger::check_id("report id", report_id).is_err() {
        return Err(not_found());
    }
    let (st, id) = (state.clone(), report_id.to_owned());
    let tenant = caller.tenant.clone();
    let stored = tokio::task::spawn_blocking(move || load(&st.ledger, &tenant, &id))
        .await
        .map_err(|e| ApiError::internal("report task", e))??
        .filter(|r| r.document_id == document_id && r.index.is_some())
        .ok_or_else(not_found)?;
    respond(&stored, state.ledger.suite())
}

/// `?format=pdf|html`, else `Accept: application/pdf`, else HTML.
fn format(req: &Req) -> Result<Format, ApiError> {
    let mut chosen = None;
    for pair in req.query.split('&').filter(|p| !p.is_empty()) {
        let f = match pair.split_once('=') {
            Some(("format", "html")) => Format::Html,
            Some(("format", "pdf")) => Format::Pdf,
            _ => {
                return Err(ApiError::bad_request(
                    "bad_query",
                    "the only parameter is format=html or format=pdf",
                ))
            }
        };
        if chosen.replace(f).is_some() {
            return Err(ApiError::bad_request("bad_query", "format given twice"));
        }
    }
    let accept_pdf = req
        .headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/pdf"));
    Ok(chosen.unwrap_or(if accept_pdf { Format::Pdf } else { Format::Html }))
}

/// The key prefixes a document's stored reports and report idempotency
/// records live under (the purge after an erasure compacts them).
pub(crate) fn prefixes(
    ledger: &Ledger,
    tenant: &str,
    document_id: &str,
) -> Result<Vec<Vec<u8>>, ApiError> {
    let doc = ledger.document_key_id(tenant, document_id)?;
    Ok(vec![
        [REPORT_PREFIX, tenant.as_bytes(), b"\0"].concat(),
        [REPORT_IDEM2_PREFIX, &doc].concat(),
        [REPORT_IDEM_PREFIX, tenant.as_bytes(), b"\0", document_id.as_bytes(), b"\0"].concat(),
    ])
}

/// The key of a report idempotency record as written before it was keyed
/// (still read and deleted).
fn idem_key_v1(tenant: &str, document_id: &str, key: &str) -> Vec<u8> {
    [REPORT_IDEM_PREFIX, tenant.as_bytes(), b"\0", document_id.as_bytes(), b"\0", key.as_bytes()]
        .concat()
}

fn idem_key(
    ledger: &Ledger,
    tenant: &str,
    document_id: &str,
    key: &str,
) -> Result<Vec<u8>, ApiError> {
    let doc = ledger.document_key_id(tenant, document_id)?;
    let k = ledger.keyed_id("report-idempotency-key", &[&doc, key.as_bytes()])?;
    Ok([REPORT_IDEM2_PREFIX, &doc, &k].concat())
}

fn report_key(tenant: &str, report_id: &str) -> Vec<u8> {
    [REPORT_PREFIX, tenant.as_bytes(), b"\0", report_id.as_bytes()].concat()
}

/// How a report is kept: sealed under its document's key (evidence v2), so
/// that an erasure of the document shreds the stored copy too, beside the
/// keyed hash of the document it is about.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredReport {
    /// Hex of the keyed hash of (tenant, document id).
    document_key_id: String,
    /// Standard base64 of the sealed [`Issued`] JSON.
    sealed: String,
}

fn load(ledger: &Ledger, tenant: &str, report_id: &str) -> Result<Option<Issued>, ApiError> {
    let key = report_key(tenant, report_id);
    let Some(v) = ledger.aux_get(&key)? else { return Ok(None) };
    let stored: StoredReport =
        serde_json::from_slice(&v).map_err(|e| ApiError::internal("stored report", e))?;
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(&stored.sealed)
        .map_err(|e| ApiError::internal("stored report", e))?;
    // None: the document was erased, and the report with it.
    let Some(plain) = ledger.open_document_blob(&key, &sealed)? else { return Ok(None) };
    serde_json::from_slice(&plain).map(Some).map_err(|e| ApiError::internal("stored report", e))
}

fn store(ledger: &Ledger, tenant: &str, issued: &Issued) -> Result<(), ApiError> {
    let key = report_key(tenant, &issued.event_id);
    let plain = serde_json::to_vec(issued).map_err(|e| ApiError::internal("report", e))?;
    let sealed = ledger.seal_document_blob(tenant, &issued.document_id, &key, &plain)?;
    let stored = StoredReport {
        document_key_id: hex::encode(ledger.document_key_id(tenant, &issued.document_id)?),
        sealed: base64::engine::general_purpose::STANDARD.encode(sealed),
    };
    let v = serde_json::to_vec(&stored).map_err(|e| ApiError::internal("report", e))?;
    Ok(ledger.aux_put(&key, &v)?)
}

/// Holds the tenant's report issuance still: an erasure takes it, so that
/// no report is rendered from records being erased and stored after the
/// erasure. Call it from a blocking thread, never on the runtime.
pub(crate) fn issuing_lock(tenant: &str) -> tokio::sync::OwnedMutexGuard<()> {
    tenant_lock(tenant).blocking_lock_owned()
}

/// [`issuing_lock`] if it is free now: for a caller that holds another
/// tenant's lock already (two such callers waiting on each other's
/// tenant would wait for ever).
pub(crate) fn try_issuing_lock(tenant: &str) -> Option<tokio::sync::OwnedMutexGuard<()>> {
    tenant_lock(tenant).try_lock_owned().ok()
}

/// The report of `key`: the one issued before under it (finishing its
/// append if that was interrupted), else a new one.
fn issue_once(
    state: &AppState,
    caller: &Caller,
    document_id: &str,
    format: Format,
    key: &str,
) -> Result<Issued, ApiError> {
    let ledger = &state.ledger;
    let idem = idem_key(ledger, &caller.tenant, document_id, key)?;
    let before = match ledger.aux_get(&idem)? {
        Some(id) => Some(id),
        None => ledger.aux_get(&idem_key_v1(&caller.tenant, document_id, key))?,
    };
    let mut issued = match before {
        Some(id) => {
            let id = String::from_utf8_lossy(&id).into_owned();
            load(ledger, &caller.tenant, &id)?.ok_or_else(|| {
                ApiError::new(
                    StatusCode::GONE,
                    "report_expired",
                    format!(
                        "the report issued under this Idempotency-Key is no longer stored \
                         (kept {STORED_REPORT_DAYS} days); use a new key for a new report"
                    ),
                )
            })?
        }
        None => {
            let now = now_micros();
            check_room(ledger, &caller.tenant, now)?;
            let issued = render(state, caller, document_id, format)?;
            store(ledger, &caller.tenant, &issued)?;
            let index_key = [
                &stored_index_prefix(&caller.tenant)[..],
                &now.to_be_bytes(),
                issued.event_id.as_bytes(),
            ]
            .concat();
            ledger.aux_put(&index_key, &(issued.body.len() as u64).to_be_bytes())?;
            ledger.aux_put(&idem, issued.event_id.as_bytes())?;
            issued
        }
    };
    if issued.format != format.as_str() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_conflict",
            "this Idempotency-Key was used for a report in another format",
        ));
    }
    if issued.index.is_none() {
        let event = Event::from_value(issued.event.clone(), true)
            .map_err(|e| ApiError::internal("report event", e))?;
        ensure_log_issuer(ledger)?;
        let receipts = ledger.append(&caller.tenant, vec![event])?;
        issued.index = Some(
            receipts
                .first()
                .map(|r| r.index)
                .ok_or_else(|| ApiError::internal("report", "no receipt"))?,
        );
        store(ledger, &caller.tenant, &issued)?;
    }
    Ok(issued)
}

/// Builds the bundle, verifies it, renders the report and signs its
/// `report_issued` event. Writes nothing.
fn render(
    state: &AppState,
    caller: &Caller,
    document_id: &str,
    format: Format,
) -> Result<Issued, ApiError> {
    let b = bundle::build(state, &caller.tenant, document_id)?;
    let options = VerifyOptions::with_policy(state.trust_now(), SERVICE_TRUST);
    let verified = verify_bundle(&b, &options);
    let document_hash = verified
        .document_hash
        .clone()
        .ok_or_else(|| ApiError::internal("report", "no readable entry in the bundle"))?;
    let event_id = format!("report-{}", random_hex());
    let issued_at = now_rfc3339();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let tsas = state.trust().tsa_roots();
    let evidence_record =
        crate::ers::report_line(&state.ledger, &caller.tenant, document_id, &tsas, now);
    let doc = report::compose(&Issue {
        report: &verified,
        log_vkey: state.ledger.vkey(),
        report_id: &event_id,
        issued_at: &issued_at,
        requested_by: &caller.token_id,
        log_issuer: LOG_ISSUER,
        public_url: state.public_url.as_deref(),
        evidence_record: evidence_record.as_deref(),
    });
    let body = match format {
        Format::Html => html::render(&doc).into_bytes(),
        Format::Pdf => render_pdf(&doc)?,
    };
    let sha256 = Hash::digest(&body);
    let claim = json!({"format": format.as_str(), "report_sha256": sha256.to_hex()});
    let event = state.ledger.signed_log_event(
        &caller.tenant,
        verifier::entry::EventKind::ReportIssued,
        &event_id,
        document_id,
        &document_hash,
        claim,
        &caller.token_id,
        LEGAL_DISPLAY,
    )?;
    let signature = event["attestations"][0]["signature"].as_str().unwrap_or_default().to_owned();
    Ok(Issued {
        event_id,
        document_id: document_id.to_owned(),
        format: format.as_str().to_owned(),
        sha256: sha256.to_hex(),
        signature,
        event,
        index: None,
        body: base64::engine::general_purpose::STANDARD.encode(&body),
    })
}

fn render_pdf(doc: &report::Document) -> Result<Vec<u8>, ApiError> {
    let unavailable = |e: pdf::PdfError| {
        tracing::error!("report PDF: {e}");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "pdf_unavailable",
            // The cause (a font file's path, say) goes to the server's log,
            // not to the client.
            "the PDF report cannot be made on this server; the HTML report can",
        )
    };
    let font = pdf::Font::load().map_err(unavailable)?;
    pdf::render(doc, &font).map_err(unavailable)
}

fn respond(issued: &Issued, suite: Suite) -> Answer {
    let (content_type, ext) = match issued.format.as_str() {
        "pdf" => ("application/pdf", "pdf"),
        _ => ("text/html; charset=utf-8", "html"),
    };
    let body = base64::engine::general_purpose::STANDARD
        .decode(&issued.body)
        .map_err(|e| ApiError::internal("stored report", e))?;
    let mut r = warp::reply::with_status(body, StatusCode::OK).into_response();
    let disposition = format!("inline; filename=\"evidence-report-{}.{ext}\"", issued.event_id);
    let location = format!("/v1/documents/{}/reports/{}", issued.document_id, issued.event_id);
    let headers = [
        ("content-type", content_type.to_owned()),
        ("content-disposition", disposition),
        ("cache-control", "no-store".to_owned()),
        ("x-content-type-options", "nosniff".to_owned()),
        ("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'".to_owned()),
        ("x-report-sha256", issued.sha256.clone()),
        ("x-report-entry-index", issued.index.map(|i| i.to_string()).unwrap_or_default()),
        ("x-report-event-id", issued.event_id.clone()),
        ("x-report-issuer", LOG_ISSUER.to_owned()),
        ("x-report-signature", issued.signature.clone()),
        ("x-report-signature-alg", signing::signature_alg(suite).to_owned()),
        ("location", location),
    ];
    for (name, value) in headers {
        if let Ok(v) = warp::http::HeaderValue::from_str(&value) {
            r.headers_mut().insert(name, v);
        }
    }
    Ok(r)
}

fn random_hex() -> String {
    let mut b = [0u8; 16];
    OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    verifier::report::unix_to_rfc3339(u64::try_from(now).unwrap_or(0))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_tenants_queue_is_bounded_and_given_back() {
        let held: Vec<_> = (0..MAX_REPORTS_QUEUED_PER_TENANT)
            .map(|_| QueuePlace::take("queue-test-a").unwrap())
            .collect();
        let e = QueuePlace::take("queue-test-a").err().unwrap();
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        // Another tenant is not behind it.
        let other = QueuePlace::take("queue-test-b").unwrap();
        drop(held);
        let again = QueuePlace::take("queue-test-a").unwrap();
        assert!(Arc::ptr_eq(&again.lock, &other_lock("queue-test-a")));
        assert!(!Arc::ptr_eq(&again.lock, &other.lock), "one lock per tenant");
    }

    fn other_lock(tenant: &str) -> Arc<tokio::sync::Mutex<()>> {
        tenant_lock(tenant)
    }
}
