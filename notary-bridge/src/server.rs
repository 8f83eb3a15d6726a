//! The witness's HTTP server (warp): `POST /add-checkpoint`
//! (c2sp.org/tlog-witness), the latest cosigned checkpoint at
//! `GET /<lowercase hex SHA-256 of the origin>/checkpoint`, and (older
//! aliases) `GET /checkpoint/<origin>` and `GET /checkpoint?origin=<origin>`,
//! and `GET /healthz`. Plain HTTP, or TLS with [`run_tls`]. Shaped like tokio-rs/mini-redis: `run(listener, ...)`
//! with a shutdown future, so tests can bind 127.0.0.1:0.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use futures_util::{Stream, StreamExt as _};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use warp::http::{header, StatusCode};
use warp::hyper::body::Bytes;
use warp::reply::{Reply, Response};
use warp::{Filter, Rejection};

use crate::protocol::{self, CONTENT_TYPE_TLOG_SIZE, MAX_REQUEST_BODY};
use crate::state::{unix_now, Witness};
use crate::BridgeError;

/// Serves `witness` on `listener` until `shutdown` completes; in-flight
/// requests finish first.
pub async fn run(
    listener: TcpListener,
    witness: Arc<Witness>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    run_tls(listener, witness, None, shutdown).await;
}

/// As [`run`], terminating TLS with `tls` when given.
pub async fn run_tls(
    listener: TcpListener,
    witness: Arc<Witness>,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let service = warp::service(routes(witness));
    let limits = crate::http::ConnectionLimits {
        max_connections: MAX_CONNECTIONS,
        max_per_client: MAX_CONNECTIONS_PER_CLIENT,
        exempt: Vec::new(),
    };
    crate::http::serve_limited(listener, service, &limits, SHUTDOWN_GRACE, shutdown, tls).await;
}

/// How long a client may take to send a whole request body once its
/// headers are in: a slow sender cannot hold a connection permit longer.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Most connections served at once; further clients wait in the backlog.
pub const MAX_CONNECTIONS: usize = 256;
/// Most connections one address holds at once: a witness's clients are a
/// few logs, so one address flooding it cannot take all [`MAX_CONNECTIONS`].
pub const MAX_CONNECTIONS_PER_CLIENT: usize = 32;
/// How long shutdown waits for requests in flight.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// All routes, with refusals turned into plain-text 4xx answers.
pub fn routes(
    witness: Arc<Witness>,
) -> impl Filter<Extract = (Response,), Error = Infallible> + Clone + Send + Sync + 'static {
    let with_witness = warp::any().map(move || witness.clone());
    // Path before method, so an unknown path is a 404, not a 405.
    let add = warp::path!("add-checkpoint")
        .and(warp::post())
        .and(warp::header::optional::<u64>("content-length"))
        .and(warp::body::stream())
        .and(with_witness.clone())
        .then(|length: Option<u64>, body, witness| async move {
            match read_body(length, body).await {
                Ok(body) => add_checkpoint(body, witness).await,
                Err(refusal) => refusal,
            }
        });
    let by_hash = warp::path!(String / "checkpoint")
        .and(warp::get())
        .and(with_witness.clone())
        .then(|hex: String, w: Arc<Witness>| {
            off_worker(move || match w.origin_by_hash(&hex) {
                Ok(origin) => latest(&w, &origin),
                Err(err) => error_reply(&err),
            })
        });
    let by_path = warp::path("checkpoint")
        .and(warp::get())
        .and(warp::path::tail())
        .and(with_witness.clone())
        .then(|tail: warp::path::Tail, w: Arc<Witness>| {
            let origin = tail.as_str().to_string();
            off_worker(move || latest(&w, &origin))
        });
    let by_query = warp::path!("checkpoint")
        .and(warp::get())
        .and(warp::query::<HashMap<String, String>>())
        .and(with_witness)
        .then(|q: HashMap<String, String>, w: Arc<Witness>| {
            let origin = q.get("origin").cloned().unwrap_or_default();
            off_worker(move || latest(&w, &origin))
        });
    let health =
        warp::path!("healthz").and(warp::get()).map(|| text(StatusCode::OK, "ok\n".into()));
    add.or(by_hash)
        .unify()
        .or(by_query)
        .unify()
        .or(by_path)
        .unify()
        .or(health)
        .unify()
        .recover(rejection)
        .unify()
}

/// Reads a request body of at most [`MAX_REQUEST_BODY`] bytes, with or
/// without `Content-Length` (chunked), within [`BODY_READ_TIMEOUT`].
async fn read_body<S, B>(length: Option<u64>, body: S) -> Result<Bytes, Response>
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin,
    B: bytes::Buf,
{
    let too_large = || text(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n".into());
    if length.is_some_and(|n| n > MAX_REQUEST_BODY as u64) {
        return Err(too_large());
    }
    let read = async {
        let mut body = body;
        let mut out = Vec::with_capacity(length.unwrap_or(0) as usize);
        while let Some(chunk) = body.next().await {
            let mut chunk =
                chunk.map_err(|_| text(StatusCode::BAD_REQUEST, "bad body\n".into()))?;
            if out.len() + chunk.remaining() > MAX_REQUEST_BODY {
                return Err(too_large());
            }
            while chunk.has_remaining() {
                let part = chunk.chunk();
                out.extend_from_slice(part);
                let n = part.len();
                chunk.advance(n);
            }
        }
        Ok(Bytes::from(out))
    };
    match tokio::time::timeout(BODY_READ_TIMEOUT, read).await {
        Ok(result) => result,
        Err(_) => Err(text(StatusCode::REQUEST_TIMEOUT, "request body too slow\n".into())),
    }
}

async fn add_checkpoint(body: Bytes, witness: Arc<Witness>) -> Response {
    // Parsing, verification and the fsync of the new state block: keep
    // them off the async workers.
    let result = tokio::task::spawn_blocking(move || {
        let request = protocol::parse_add_checkpoint(&body)?;
        witness.add_checkpoint(&request, unix_now())
    })
    .await;
    match result {
        Ok(Ok(cosignature)) => text(StatusCode::OK, protocol::format_signature_line(&cosignature)),
        Ok(Err(err)) => error_reply(&err),
        Err(join) => {
            tracing::error!(error = %join, "add-checkpoint task failed");
            text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n".into())
        }
    }
}

/// Runs a read of the witness's state (its log files on disk, on first
/// use of a log) on the blocking pool, never on an async worker.
async fn off_worker(f: impl FnOnce() -> Response + Send + 'static) -> Response {
    match tokio::task::spawn_blocking(f).await {
        Ok(response) => response,
        Err(join) => {
            tracing::error!(error = %join, "checkpoint read task failed");
            text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n".into())
        }
    }
}

fn latest(witness: &Witness, origin: &str) -> Response {
    match witness.latest_checkpoint(origin) {
        Ok(note) => text(StatusCode::OK, note),
        Err(err) => error_reply(&err),
    }
}

/// The answer for an error: 409 conflicts carry the size as
/// `text/x.tlog.size`; the rest carry the reason in words.
fn error_reply(err: &BridgeError) -> Response {
    let status =
        StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let BridgeError::Conflict { witness_size } = err {
        let mut reply = text(status, protocol::format_size_body(*witness_size));
        reply
            .headers_mut()
            .insert(header::CONTENT_TYPE, header::HeaderValue::from_static(CONTENT_TYPE_TLOG_SIZE));
        return reply;
    }
    if status.is_server_error() {
        tracing::error!(error = %err, "witness error");
        return text(status, "internal error\n".into());
    }
    text(status, format!("{err}\n"))
}

async fn rejection(rejection: Rejection) -> Result<Response, Infallible> {
    let status = if rejection.is_not_found() {
        StatusCode::NOT_FOUND
    } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        StatusCode::PAYLOAD_TOO_LARGE
    } else if rejection.find::<warp::reject::LengthRequired>().is_some() {
        StatusCode::LENGTH_REQUIRED
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        StatusCode::METHOD_NOT_ALLOWED
    } else {
        StatusCode::BAD_REQUEST
    };
    let reason = status.canonical_reason().unwrap_or("error");
    Ok(text(status, format!("{reason}\n")))
}

fn text(status: StatusCode, body: String) -> Response {
    warp::reply::with_status(
        warp::reply::with_header(body, header::CONTENT_TYPE, "text/plain; charset=utf-8"),
        status,
    )
    .into_response()
}
