//! The server: the API on the shared accept loop (`notary_bridge::http`),
//! with a connection limit and graceful shutdown (stop accepting, let
//! in-flight requests and batches finish).

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::api::{self, AppState};

/// Most connections served at once; further clients wait in the backlog.
pub const MAX_CONNECTIONS: usize = 1024;
/// How long shutdown waits for in-flight requests.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Serves the API on `listener` until `shutdown` completes, then drains.
/// The ledger is closed by the caller after this returns.
pub async fn run(listener: TcpListener, state: Arc<AppState>, shutdown: impl Future<Output = ()>) {
    let service = warp::service(api::routes(state.clone()));
    let stopping = async {
        shutdown.await;
        // Readiness goes first, so load balancers stop sending.
        state.ready.store(false, Ordering::Relaxed);
    };
    notary_bridge::http::serve(listener, service, MAX_CONNECTIONS, SHUTDOWN_GRACE, stopping).await;
}

/// Completes on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        tracing::error!("cannot install signal handlers");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
