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
/// How long a write to a client may make no progress (a client that stops
/// reading its answer) before the connection is dropped.
pub const WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The client's address, put into every request's extensions by [`serve`]
/// (read it with `warp::ext::optional::<PeerAddr>()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerAddr(pub std::net::SocketAddr);

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
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(pair) => pair,
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
        let service =
            TowerToHyperService::new(WithPeer { inner: service.clone(), peer: PeerAddr(peer) });
        match &tls {
            None => {
                // A client that trickles its headers must not hold a permit forever.
                let io = TokioIo::new(WriteDeadline::new(stream, WRITE_STALL_TIMEOUT));
                let conn = http1_builder().serve_connection(io, service);
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
                        let io = TokioIo::new(WriteDeadline::new(stream, WRITE_STALL_TIMEOUT));
                        let conn = http1_builder().serve_connection(io, service);
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

/// A service that tags each request with the connection's peer address.
#[derive(Clone)]
struct WithPeer<S> {
    inner: S,
    peer: PeerAddr,
}

impl<S, B> tower_service::Service<hyper::Request<Incoming>> for WithPeer<S>
where
    S: tower_service::Service<hyper::Request<Incoming>, Response = hyper::Response<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: hyper::Request<Incoming>) -> Self::Future {
        req.extensions_mut().insert(self.peer);
        self.inner.call(req)
    }
}

/// A stream whose writes fail with `TimedOut` once one has been pending,
/// without progress, for `limit`: hyper's HTTP/1 server has no write
/// timeout, and a client that stops reading would hold its connection (and
/// a connection permit) for as long as the kernel keeps the socket.
struct WriteDeadline<T> {
    io: T,
    limit: Duration,
    stalled: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl<T> WriteDeadline<T> {
    fn new(io: T, limit: Duration) -> Self {
        WriteDeadline { io, limit, stalled: None }
    }

    /// The outcome of one write or flush: progress disarms the deadline; a
    /// pending one arms it (see [`WriteDeadline::pending`]).
    fn progress<R>(
        &mut self,
        cx: &mut std::task::Context<'_>,
        outcome: std::task::Poll<std::io::Result<R>>,
    ) -> std::task::Poll<std::io::Result<R>> {
        match outcome {
            std::task::Poll::Pending => self.pending(cx),
            done => {
                self.stalled = None;
                done
            }
        }
    }

    /// After a pending write: arms the deadline, or fails once it passed.
    fn pending<R>(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<R>> {
        let limit = self.limit;
        let sleep = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match sleep.as_mut().poll(cx) {
            std::task::Poll::Ready(()) => std::task::Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "client stopped reading",
            ))),
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }
}

impl<T: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for WriteDeadline<T> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for WriteDeadline<T> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let outcome = std::pin::Pin::new(&mut self.io).poll_write(cx, buf);
        self.progress(cx, outcome)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let outcome = std::pin::Pin::new(&mut self.io).poll_flush(cx);
        self.progress(cx, outcome)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::*;

    /// A peer that never reads: writes stall, then fail within the limit.
    #[tokio::test]
    async fn a_stalled_write_fails_after_the_limit() {
        let (a, _b) = tokio::io::duplex(64);
        let mut w = WriteDeadline::new(a, Duration::from_millis(200));
        let started = std::time::Instant::now();
        let big = vec![0u8; 4096];
        let r = tokio::time::timeout(Duration::from_secs(5), w.write_all(&big)).await;
        let Ok(r) = r else { panic!("the test timeout, not the deadline, ended it") };
        let Err(err) = r else { panic!("a write to a peer that never reads succeeded") };
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(200));
    }
}
