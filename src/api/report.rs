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
//! The signature is the attestation of that event: Ed25519 by the log key,
//! registered as the issuer [`LOG_ISSUER`], over the canonical JSON of
//! {"claim": {"format", "report_sha256"}, "document_hash", "event_id",
//! "issuer", "kind": "report_issued"}. Anyone holding the file can recompute
//! its SHA-256, find the entry, and check it like any other attestation;
//! every bundle of the contract fetched afterwards carries it.

use std::sync::Arc;

use base64::Engine as _;
use ledger::{Ledger, LedgerError, Role};
use rand_core::{OsRng, RngCore};
use serde_json::json;
use verifier::bundle::{verify_bundle, VerifyOptions};
use verifier::entry::Event;
use verifier::note::NoteVerifier;
use verifier::Hash;
use warp::http::StatusCode;
use warp::reply::Reply;

use super::verify::SERVICE_TRUST;
use super::{bundle, caller, Answer, AppState, Req};
use crate::auth::{require, Caller};
use crate::error::ApiError;
use crate::report::{self, html, pdf, Issue};

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
const REPORT_PREFIX: &[u8] = b"report\0";

/// Reports are issued one at a time: a key's check-then-issue is atomic,
/// and rendering (CPU-heavy) cannot crowd out the ingest path.
static ISSUING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `GET /v1/documents/{id}/report[?format=html|pdf]` (legacy): a new report
/// on every call.
pub(crate) async fn get(state: &Arc<AppState>, req: &Req, document_id: &str) -> Answer {
    let caller = caller(state, req)?;
    require(&caller, &[Role::Legal])?;
    let format = format(req)?;
    let key = format!("legacy-{}", random_hex());
    run(state, caller, document_id, format, key).await
}

/// `POST /v1/documents/{id}/reports[?format=html|pdf]` with `Idempotency-Key`.
pub(crate) async fn post(state: &Arc<AppState>, req: &Req, document_id: &str) -> Answer {
    let caller = caller(state, req)?;
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
    run(state, caller, document_id, format, key).await
}

async fn run(
    state: &Arc<AppState>,
    caller: Caller,
    document_id: &str,
    format: Format,
    key: String,
) -> Answer {
    let (st, doc) = (state.clone(), document_id.to_owned());
    let issued = tokio::task::spawn_blocking(move || {
        let _one = ISSUING.lock().unwrap_or_else(|p| p.into_inner());
        issue_once(&st, &caller, &doc, format, &key)
    })
    .await
    .map_err(|e| ApiError::internal("report task", e))??;
    respond(&issued)
}

/// `GET /v1/documents/{id}/reports/{report_id}`: an issued report, as issued.
pub(crate) async fn read(
    state: &Arc<AppState>,
    req: &Req,
    document_id: &str,
    report_id: &str,
) -> Answer {
    let caller = caller(state, req)?;
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
    respond(&stored)
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

fn idem_key(tenant: &str, document_id: &str, key: &str) -> Vec<u8> {
    [REPORT_IDEM_PREFIX, tenant.as_bytes(), b"\0", document_id.as_bytes(), b"\0", key.as_bytes()]
        .concat()
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

/// Holds report issuance still: an erasure takes it, so that no report is
/// rendered from records being erased and stored after the erasure.
pub(crate) fn issuing_lock() -> std::sync::MutexGuard<'static, ()> {
    ISSUING.lock().unwrap_or_else(|p| p.into_inner())
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
    let idem = idem_key(&caller.tenant, document_id, key);
    let mut issued = match ledger.aux_get(&idem)? {
        Some(id) => {
            let id = String::from_utf8_lossy(&id).into_owned();
            load(ledger, &caller.tenant, &id)?
                .ok_or_else(|| ApiError::internal("report", "idempotency record without report"))?
        }
        None => {
            let issued = render(state, caller, document_id, format)?;
            store(ledger, &caller.tenant, &issued)?;
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
    let options = VerifyOptions::with_policy(state.trust.clone(), SERVICE_TRUST);
    let verified = verify_bundle(&b, &options);
    let document_hash = verified
        .document_hash
        .clone()
        .ok_or_else(|| ApiError::internal("report", "no readable entry in the bundle"))?;
    let event_id = format!("report-{}", random_hex());
    let issued_at = now_rfc3339();
    let doc = report::compose(&Issue {
        report: &verified,
        log_vkey: state.ledger.vkey(),
        report_id: &event_id,
        issued_at: &issued_at,
        requested_by: &caller.token_id,
        log_issuer: LOG_ISSUER,
        public_url: state.public_url.as_deref(),
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
            format!("the PDF report cannot be made on this server ({e}); the HTML report can"),
        )
    };
    let font = pdf::Font::load().map_err(unavailable)?;
    pdf::render(doc, &font).map_err(unavailable)
}

/// Registers the log key as the issuer [`LOG_ISSUER`] unless it is already.
fn ensure_log_issuer(ledger: &Ledger) -> Result<(), ApiError> {
    let key =
        NoteVerifier::from_vkey(ledger.vkey()).map_err(|e| ApiError::internal("log vkey", e))?.key;
    match ledger.add_issuer(LOG_ISSUER, key.as_bytes()) {
        Ok(_) => Ok(()),
        Err(LedgerError::AlreadyExists(_)) => Err(ApiError::internal(
            "report",
            format!("issuer {LOG_ISSUER} is registered with another key, or revoked"),
        )),
        Err(e) => Err(e.into()),
    }
}

fn respond(issued: &Issued) -> Answer {
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

/// Deletes every report the tenant was issued about `document_id` (the
/// stored files and their idempotency keys): erasure leaves no rendered
/// copy of the document's records behind. Returns how many.
pub(crate) fn erase_document_reports(
    ledger: &Ledger,
    tenant: &str,
    document_id: &str,
) -> Result<usize, ApiError> {
    let mut deleted = 0;
    let prefix = [REPORT_PREFIX, tenant.as_bytes(), b"\0"].concat();
    let id = hex::encode(ledger.document_key_id(tenant, document_id)?);
    for (key, value) in ledger.aux_scan(&prefix)? {
        let about = serde_json::from_slice::<StoredReport>(&value).ok().map(|r| r.document_key_id);
        if about.as_deref() == Some(id.as_str()) {
            ledger.aux_delete_synced(&key)?;
            deleted += 1;
        }
    }
    let idem =
        [REPORT_IDEM_PREFIX, tenant.as_bytes(), b"\0", document_id.as_bytes(), b"\0"].concat();
    let mut end = idem.clone();
    if let Some(last) = end.last_mut() {
        *last = 1;
    }
    ledger.aux_delete_range(&idem, &end)?;
    Ok(deleted)
}
