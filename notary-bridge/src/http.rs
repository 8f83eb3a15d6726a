//! The HTTP accept loop the witness and the ledger service share: a limit
//! on connections served at once (further clients wait in the listen
//! backlog), graceful shutdown (stop accepting, let requests in flight
//! finish, within a grace period), and optionally TLS (rustls).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

/// How long a connection may take to send a request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Boxed error of a service or body.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serves `service` on `listener` with at most `max_connections` at once
/// until `shutdown` completes, then waits up to `grace` for connections in
/// flight.
pub async fn serve<S, B>(
    listener: TcpListener,
    service: S,
    max_connections: usize,
    grace: Duration,
    shutdown: impl Future<Output = ()>,
) where
    S: tower_service::Service<hyper::Request<Incoming>, Response = hyper::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    serve_with_tls(listener, service, max_connections, grace, shutdown, None).await;
}

/// As [`serve`]; with `tls`, every connection first completes a TLS
/// handshake (within [`HEADER_READ_TIMEOUT`]) and HTTP runs inside it.
pub async fn serve_with_tls<S, B>(
    listener: TcpListener,
    service: S,
    max_connections: usize,
    grace: Duration,
    shutdown: impl Future<Output = ()>,
    tls: Option<TlsAcceptor>,
) where
    S: tower_service::Service<hyper::Request<Incoming>, Response = hyper::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let limit = Arc::new(Semaphore::new(max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = limit.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = &mut shutdown => break,
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    // Out of file descriptors and the like: back off, don't spin.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(service.clone());
        match &tls {
            None => {
                // A client that trickles its headers must not hold a permit forever.
                let conn = http1_builder().serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                    drop(permit);
                });
            }
            Some(acceptor) => {
                let (acceptor, watcher) = (acceptor.clone(), graceful.watcher());
                tokio::spawn(async move {
                    let handshake =
                        tokio::time::timeout(HEADER_READ_TIMEOUT, acceptor.accept(stream));
                    if let Ok(Ok(stream)) = handshake.await {
                        let conn = http1_builder().serve_connection(TokioIo::new(stream), service);
                        let _ = watcher.watch(conn).await;
                    }
                    drop(permit);
                });
            }
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(grace) => tracing::warn!("shutdown grace period over"),
    }
}

fn http1_builder() -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
    builder
}
