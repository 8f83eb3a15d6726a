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

/// How fast a client must read an answer once it has fallen behind, on
/// average, bytes per second (see [`WriteDeadline`]).
pub const MIN_WRITE_RATE: u64 = 8 * 1024;

/// How many connections the accept loop serves.
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    /// Most connections served at once; further clients wait in the
    /// listen backlog.
    pub max_connections: usize,
    /// Most connections one address may hold at once; past it, the new
    /// connection is answered `429` with `Retry-After` and closed, so that
    /// one client cannot take every place.
    pub max_per_client: usize,
    /// Addresses not held to `max_per_client`: trusted reverse proxies,
    /// which carry many clients' connections.
    pub exempt: Vec<std::net::IpAddr>,
}

impl ConnectionLimits {
    /// `max` connections at once, any one address may take them all.
    pub fn total(max: usize) -> ConnectionLimits {
        ConnectionLimits { max_connections: max, max_per_client: max, exempt: Vec::new() }
    }
}

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
    let limits = ConnectionLimits::total(max_connections);
    serve_limited(listener, service, &limits, grace, shutdown, None).await;
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
    let limits = ConnectionLimits::total(max_connections);
    serve_limited(listener, service, &limits, grace, shutdown, tls).await;
}

/// Connections open per client address.
type PerClient = Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>;

/// One connection's place in its address's count; given back when dropped.
struct ClientSlot {
    ip: Option<std::net::IpAddr>,
    open: PerClient,
}

impl ClientSlot {
    /// A place for `ip`, or `None` when it holds `max` connections already.
    fn take(open: &PerClient, ip: std::net::IpAddr, limits: &ConnectionLimits) -> Option<Self> {
        if limits.exempt.contains(&ip) {
            return Some(ClientSlot { ip: None, open: open.clone() });
        }
        let mut map = open.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_insert(0);
        if *n >= limits.max_per_client.max(1) {
            return None;
        }
        *n += 1;
        Some(ClientSlot { ip: Some(ip), open: open.clone() })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let Some(ip) = self.ip else { return };
        let mut map = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&ip);
            }
        }
    }
}

/// The answer to a connection over its address's share, then closed.
const TOO_MANY: &[u8] = b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\n\
Content-Type: application/json\r\nConnection: close\r\nContent-Length: 84\r\n\r\n\
{\"error\":{\"code\":\"too_many_connections\",\"message\":\"too many connections from you\"}}\n";

/// The accept loop under `limits`, plain or (with `tls`) TLS.
pub async fn serve_limited<S, B>(
    listener: TcpListener,
    service: S,
    limits: &ConnectionLimits,
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
    let limit = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let open: PerClient = Arc::default();
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
        let Some(slot) = ClientSlot::take(&open, peer.ip(), limits) else {
            // A TLS client could not read a plain answer: it is only closed.
            if tls.is_none() {
                tokio::spawn(refuse(stream, permit));
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service =
            TowerToHyperService::new(WithPeer { inner: service.clone(), peer: PeerAddr(peer) });
        match &tls {
            None => {
                // A client that trickles its headers must not hold a permit forever.
                let io =
                    TokioIo::new(WriteDeadline::new(stream, WRITE_STALL_TIMEOUT, MIN_WRITE_RATE));
                let conn = http1_builder().serve_connection(io, service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                    drop((slot, permit));
                });
            }
            Some(acceptor) => {
                let (acceptor, watcher) = (acceptor.clone(), graceful.watcher());
                tokio::spawn(async move {
                    let handshake =
                        tokio::time::timeout(HEADER_READ_TIMEOUT, acceptor.accept(stream));
                    if let Ok(Ok(stream)) = handshake.await {
                        let io = TokioIo::new(WriteDeadline::new(
                            stream,
                            WRITE_STALL_TIMEOUT,
                            MIN_WRITE_RATE,
                        ));
                        let conn = http1_builder().serve_connection(io, service);
                        let _ = watcher.watch(conn).await;
                    }
                    drop((slot, permit));
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

/// Answers a connection over its address's share with [`TOO_MANY`] (within
/// a second: no client holds the permit longer) and closes it.
async fn refuse(mut stream: tokio::net::TcpStream, permit: tokio::sync::OwnedSemaphorePermit) {
    use tokio::io::AsyncWriteExt;
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(TOO_MANY).await;
        let _ = stream.shutdown().await;
    })
    .await;
    drop(permit);
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

/// A stream whose writes fail with `TimedOut` once the client reads its
/// answer too slowly: hyper's HTTP/1 server has no write timeout, and a
/// client that stops reading, or reads a byte now and then, would hold its
/// connection (and a connection permit) for as long as the kernel keeps
/// the socket.
///
/// The clock starts at the first write that cannot go out at once and
/// stops when a flush completes (hyper flushes once its buffer drained).
/// It allows `limit` of slack plus one second per `min_rate` bytes
/// delivered meanwhile, never more than `limit` ahead of now: a stalled
/// client is dropped after `limit`, a trickling one once it falls behind
/// `min_rate` on average.
struct WriteDeadline<T> {
    io: T,
    limit: Duration,
    min_rate: u64,
    deadline: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl<T> WriteDeadline<T> {
    fn new(io: T, limit: Duration, min_rate: u64) -> Self {
        WriteDeadline { io, limit, min_rate: min_rate.max(1), deadline: None }
    }

    /// After a pending write or flush: starts the clock, or fails once it ran out.
    fn pending<R>(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<R>> {
        let limit = self.limit;
        let sleep = self.deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match sleep.as_mut().poll(cx) {
            std::task::Poll::Ready(()) => std::task::Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "client reads its answer too slowly",
            ))),
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }

    /// `n` bytes went out while the clock runs: it grants their share of time.
    fn delivered(&mut self, n: usize) {
        let Some(sleep) = self.deadline.as_mut() else { return };
        let earned = Duration::from_secs_f64(n as f64 / self.min_rate as f64);
        let cap = tokio::time::Instant::now() + self.limit;
        let next = (sleep.deadline() + earned).min(cap);
        sleep.as_mut().reset(next);
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
        match std::pin::Pin::new(&mut self.io).poll_write(cx, buf) {
            std::task::Poll::Pending => self.pending(cx),
            std::task::Poll::Ready(Ok(n)) => {
                self.delivered(n);
                std::task::Poll::Ready(Ok(n))
            }
            done => done,
        }
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match std::pin::Pin::new(&mut self.io).poll_flush(cx) {
            std::task::Poll::Pending => self.pending(cx),
            done => {
                // Everything handed over: the client kept up.
                self.deadline = None;
                done
            }
        }
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::*;

    /// A peer that never reads: writes stall, then fail within the limit.
    #[tokio::test]
    async fn a_stalled_write_fails_after_the_limit() {
        let (a, _b) = tokio::io::duplex(64);
        let mut w = WriteDeadline::new(a, Duration::from_millis(200), 1024);
        let started = std::time::Instant::now();
        let big = vec![0u8; 4096];
        let r = tokio::time::timeout(Duration::from_secs(5), w.write_all(&big)).await;
        let Ok(r) = r else { panic!("the test timeout, not the deadline, ended it") };
        let Err(err) = r else { panic!("a write to a peer that never reads succeeded") };
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(200));
    }

    /// A peer that reads a few bytes now and then (below the minimum rate)
    /// is dropped too: each trickle of progress does not restart the clock.
    #[tokio::test]
    async fn a_trickling_reader_is_dropped() {
        use tokio::io::AsyncReadExt;
        let (a, mut b) = tokio::io::duplex(64);
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 8];
            let mut got = 0usize;
            while let Ok(n) = b.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                got += n;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            got
        });
        // 8 bytes per 20 ms is 400 B/s, under the 4 KiB/s asked for.
        let mut w = WriteDeadline::new(a, Duration::from_millis(300), 4096);
        let big = vec![0u8; 64 * 1024];
        let r = tokio::time::timeout(Duration::from_secs(20), w.write_all(&big)).await;
        let Ok(r) = r else { panic!("the test timeout, not the deadline, ended it") };
        let Err(err) = r else { panic!("a trickling reader took a 64 KiB answer") };
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        drop(w);
        assert!(reader.await.unwrap() < big.len());
    }

    /// A reader that keeps up gets the whole answer, however long it is.
    #[tokio::test]
    async fn a_reader_that_keeps_up_is_served() {
        use tokio::io::AsyncReadExt;
        let (a, mut b) = tokio::io::duplex(4096);
        let reader = tokio::spawn(async move {
            let mut v = Vec::new();
            b.read_to_end(&mut v).await.map(|_| v.len())
        });
        let mut w = WriteDeadline::new(a, Duration::from_millis(300), 4096);
        let big = vec![7u8; 4 << 20];
        w.write_all(&big).await.unwrap();
        w.flush().await.unwrap();
        w.shutdown().await.unwrap();
        drop(w);
        assert_eq!(reader.await.unwrap().unwrap(), big.len());
    }
}
