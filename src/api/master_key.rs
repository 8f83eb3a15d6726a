//! The master key rotation while the service runs (platform role):
//! `POST /v1/admin/master-key/rotate` begins one, `GET
//! /v1/admin/master-key/status` says where it is (docs/api.md, docs/long-term.md
//! "Master key rotation").

use std::sync::Arc;

use bytes::Buf;
use futures_util::Stream;
use ledger::{LedgerError, Role, RotationStatus};
use serde::Deserialize;
use verifier::jcs::{self, Limits};
use warp::http::StatusCode;
use warp::Reply as _;

use super::{caller, read_body, Answer, AppState, Req};
use crate::auth::require;
use crate::error::ApiError;

/// Largest rotate body (a `pkcs11:` URI).
const MAX_BODY: usize = 4096;

/// Body of `POST /v1/admin/master-key/rotate` (may be empty).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Rotate {
    /// `pkcs11:…`: the new key is generated in that token under that
    /// label; absent: where the current key is.
    #[serde(default)]
    to: Option<String>,
}

/// `POST /v1/admin/master-key/rotate` (platform): 202 with the status.
pub(crate) async fn rotate<S, B>(state: &Arc<AppState>, req: &Req, body: S) -> Answer
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let caller = caller(state, req).await?;
    require(&caller, &[Role::Platform])?;
    let bytes = read_body(body, MAX_BODY).await?;
    let rotate: Rotate = if bytes.iter().all(u8::is_ascii_whitespace) {
        Rotate::default()
    } else {
        let limits = Limits { max_bytes: MAX_BODY, max_depth: 2, max_string: MAX_BODY };
        let value = jcs::parse(&bytes, &limits).map_err(|e| ApiError::from_verify(None, &e))?;
        serde_json::from_value(value)
            .map_err(|e| ApiError::bad_request("invalid_rotation", e.to_string()))?
    };
    let to = match rotate.to.as_deref() {
        None => None,
        Some(uri) => Some(
            ledger::pkcs11::Pkcs11Uri::parse(uri)
                .map_err(|e| ApiError::bad_request("invalid_rotation", format!("to: {e}")))?,
        ),
    };
    let st = state.clone();
    // Key generation and fsyncs: off the async workers.
    let status = tokio::task::spawn_blocking(move || st.ledger.rotate_master_key(to))
        .await
        .map_err(|e| ApiError::internal("blocking task", e))?
        .map_err(|e| match e {
            LedgerError::AlreadyExists(m) => {
                ApiError::new(StatusCode::CONFLICT, "rotation_running", m)
            }
            LedgerError::InvalidRequest(m) => ApiError::bad_request("invalid_rotation", m),
            other => ApiError::from(other),
        })?;
    state.metrics.set_master_key(&status);
    Ok(warp::reply::with_status(warp::reply::json(&status), StatusCode::ACCEPTED).into_response())
}

/// `GET /v1/admin/master-key/status` (platform).
pub(crate) async fn status(state: &Arc<AppState>, req: &Req) -> Answer {
    super::with_caller(state, req, |state, caller| {
        require(caller, &[Role::Platform])?;
        let status: RotationStatus = state.ledger.master_key_status()?;
        state.metrics.set_master_key(&status);
        Ok(super::json(&status))
    })
    .await
}
