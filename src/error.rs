//! API errors: every failure becomes `{"error": {"code", "message"}}` with
//! the status a client can act on. Bad input is never a 5xx.

use ledger::LedgerError;
use serde_json::json;
use verifier::VerifyError;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};

/// An error answered to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
    /// Seconds after which a retry may succeed (`Retry-After`), for 429
    /// and 503 answers to load.
    pub retry_after: Option<u32>,
}

impl ApiError {
    /// Builds an error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), retry_after: None }
    }
    /// 503 (`busy`) or 429 (`rate_limited`) with `Retry-After`.
    pub fn overloaded(status: StatusCode, message: impl Into<String>, retry_after: u32) -> Self {
        let code = if status == StatusCode::TOO_MANY_REQUESTS { "rate_limited" } else { "busy" };
        ApiError { retry_after: Some(retry_after), ..Self::new(status, code, message) }
    }
    /// 400.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    /// 500, for faults of ours; the details go to the log, not the client.
    pub fn internal(context: &str, e: impl std::fmt::Display) -> Self {
        tracing::error!("{context}: {e}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; see server log")
    }

    /// Maps a verifier error about the event at `position` of a batch.
    pub fn from_verify(position: Option<usize>, e: &VerifyError) -> Self {
        let at = position.map(|p| format!("events[{p}]: ")).unwrap_or_default();
        match e {
            VerifyError::BadSignature(_) | VerifyError::UnknownKey(_) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "attestation_failed",
                format!("{at}{e}"),
            ),
            VerifyError::InvalidProof { .. } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "check_failed", format!("{at}{e}"))
            }
            VerifyError::TooLarge { .. } => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", format!("{at}{e}"))
            }
            VerifyError::Malformed { .. } => Self::bad_request("malformed", format!("{at}{e}")),
            _ => Self::bad_request("invalid_event", format!("{at}{e}")),
        }
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        match e {
            // The ledger checks tokens against the trusted TSAs; a token that
            // is well-formed but fails a check is evidence that does not hold.
            LedgerError::Rejected { position, source: VerifyError::Invalid { field, reason } }
                if field == "timestamp_token" || field == "event_timestamp_token" =>
            {
                Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "timestamp_failed",
                    format!("events[{position}]: invalid {field}: {reason}"),
                )
            }
            // An SM2 issuer's certificate chain that fails (no trusted CA,
            // validity at the event's time, profile, name): issue 26 item 3.
            LedgerError::Rejected { position, source: VerifyError::Invalid { field, reason } }
                if field.ends_with(".certificate") =>
            {
                Self::bad_request(
                    "certificate_rejected",
                    format!("events[{position}]: invalid {field}: {reason}"),
                )
            }
            LedgerError::Rejected { position, source } => {
                Self::from_verify(Some(position), &source)
            }
            LedgerError::Conflict { position, event_id } => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                format!(
                    "events[{position}]: event_id {event_id:?} was recorded with different content"
                ),
            ),
            LedgerError::InvalidRequest(m) => Self::bad_request("invalid_request", m),
            LedgerError::AlreadyExists(m) => Self::new(StatusCode::CONFLICT, "already_exists", m),
            LedgerError::NotFound(m) => Self::not_found(m),
            LedgerError::Gone(m) => Self::new(StatusCode::GONE, "erased", m),
            // Its text may carry a storage error's file path: the client
            // gets it without paths, the server's log in full.
            LedgerError::Unavailable(m) => {
                let clean = without_paths(&m);
                if clean != m {
                    tracing::error!("unavailable: {m}");
                }
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", clean)
            }
            // PostgreSQL unreachable, failing over, or a statement cut by
            // the commit deadline: worth retrying (503 + Retry-After),
            // and its text (server, role) stays in the server's log.
            LedgerError::Database(m) => {
                tracing::error!("database: {m}");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is unavailable; retry",
                )
            }
            other => Self::internal("ledger", other),
        }
    }
}

/// `m` with every absolute path (a word from `/` with another `/` in it)
/// replaced by `<path>`: server paths are for the server's log.
pub fn without_paths(m: &str) -> String {
    let mut out = String::with_capacity(m.len());
    let mut rest = m;
    while let Some(start) = rest.find('/') {
        let (before, from) = rest.split_at(start);
        out.push_str(before);
        let end = from
            .find(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ')' | '"' | '\''))
            .unwrap_or(from.len());
        let word = &from[..end];
        let after_word = before.chars().last().is_none_or(|c| !c.is_alphanumeric());
        if after_word && word[1..].contains('/') {
            out.push_str("<path>");
        } else {
            out.push_str(word);
        }
        rest = &from[end..];
    }
    out.push_str(rest);
    out
}

impl Reply for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        let mut r = warp::reply::with_status(warp::reply::json(&body), self.status).into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut().insert("retry-after", warp::http::HeaderValue::from(s));
        } else if self.status == StatusCode::SERVICE_UNAVAILABLE {
            // Storage failing or shutting down: worth retrying, not at once.
            r.headers_mut().insert("retry-after", warp::http::HeaderValue::from_static("1"));
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::without_paths;

    #[test]
    fn server_paths_leave_error_texts() {
        let m = "storage failure: IO error: No space left on device: While appending to file: \
                 /var/lib/evidence/db/000123.log (retry)";
        let clean = without_paths(m);
        assert!(!clean.contains("/var"), "{clean}");
        assert!(clean.ends_with("file: <path> (retry)"), "{clean}");
        assert_eq!(without_paths("3/4 standbys; a/b"), "3/4 standbys; a/b");
        assert_eq!(without_paths("no path here"), "no path here");
    }
}
