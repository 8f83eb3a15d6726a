//! `GET /v1/documents/{id}/report` (role legal): the evidence report of one
//! contract, HTML or PDF, signed by the log key and itself written to the
//! ledger as a `report_issued` event, so the report is evidence too.
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
use verifier::attest::attestation_message;
use verifier::bundle::{verify_bundle, VerifyOptions};
use verifier::entry::Event;
use verifier::note::NoteVerifier;
use verifier::Hash;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};

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

/// A rendered, logged report.
struct Issued {
    body: Vec<u8>,
    format: Format,
    sha256: Hash,
    index: u64,
    event_id: String,
    signature: String,
}

/// Handles `GET /v1/documents/{id}/report[?format=html|pdf]`.
pub(crate) async fn get(state: &Arc<AppState>, req: &Req, document_id: &str) -> Answer {
    let caller = caller(state, req)?;
    require(&caller, &[Role::Legal])?;
    let format = format(req)?;
    let (st, doc) = (state.clone(), document_id.to_owned());
    let issued = tokio::task::spawn_blocking(move || issue(&st, &caller, &doc, format))
        .await
        .map_err(|e| ApiError::internal("report task", e))??;
    Ok(respond(issued))
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

/// Builds the bundle, verifies it, renders the report, and logs its issue.
/// Nothing is written unless the report rendered.
fn issue(
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
    });
    let body = match format {
        Format::Html => html::render(&doc).into_bytes(),
        Format::Pdf => render_pdf(&doc)?,
    };
    let sha256 = Hash::digest(&body);
    let claim = json!({"format": format.as_str(), "report_sha256": sha256.to_hex()});
    let message =
        attestation_message(&claim, &document_hash, &event_id, LOG_ISSUER, "report_issued");
    let signature = base64::engine::general_purpose::STANDARD
        .encode(state.ledger.sign_with_log_key(&message).to_bytes());
    let event = json!({
        "event_id": event_id,
        "document_id": document_id,
        "kind": "report_issued",
        "document_hash": document_hash,
        "actor": {
            "id": caller.token_id,
            "display": LEGAL_DISPLAY,
            "commitment": Hash::digest(format!("evidence-ledger token {}", caller.token_id).as_bytes()).to_hex(),
        },
        "attestations": [{"issuer": LOG_ISSUER, "claim": claim, "signature": signature}],
    });
    let event =
        Event::from_value(event, true).map_err(|e| ApiError::internal("report event", e))?;
    ensure_log_issuer(&state.ledger)?;
    let receipts = state.ledger.append(&caller.tenant, vec![event])?;
    let index = receipts
        .first()
        .map(|r| r.index)
        .ok_or_else(|| ApiError::internal("report", "no receipt"))?;
    Ok(Issued { body, format, sha256, index, event_id, signature })
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

fn respond(issued: Issued) -> Response {
    let (content_type, ext) = match issued.format {
        Format::Html => ("text/html; charset=utf-8", "html"),
        Format::Pdf => ("application/pdf", "pdf"),
    };
    let mut r = warp::reply::with_status(issued.body, StatusCode::OK).into_response();
    let disposition = format!("inline; filename=\"evidence-report-{}.{ext}\"", issued.event_id);
    let headers = [
        ("content-type", content_type.to_owned()),
        ("content-disposition", disposition),
        ("cache-control", "no-store".to_owned()),
        ("x-content-type-options", "nosniff".to_owned()),
        ("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'".to_owned()),
        ("x-report-sha256", issued.sha256.to_hex()),
        ("x-report-entry-index", issued.index.to_string()),
        ("x-report-event-id", issued.event_id),
        ("x-report-issuer", LOG_ISSUER.to_owned()),
        ("x-report-signature", issued.signature),
    ];
    for (name, value) in headers {
        if let Ok(v) = warp::http::HeaderValue::from_str(&value) {
            r.headers_mut().insert(name, v);
        }
    }
    r
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
