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
pub const MAX_CONNECTIONS: usize = crate::api::admission::DEFAULT_MAX_CONNECTIONS;
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
    let config = state.admission.config();
    let limits = notary_bridge::http::ConnectionLimits {
        max_connections: config.max_connections,
        max_per_client: config.max_connections_per_client,
        exempt: config.trusted_proxies.clone(),
    };
    state.metrics.max_connections.set(limits.max_connections as i64);
    notary_bridge::http::serve_limited(listener, service, &limits, SHUTDOWN_GRACE, stopping, None)
        .await;
}

/// File descriptors kept for everything but client connections: RocksDB's
/// open table files ([`ledger::store::MAX_OPEN_FILES`]), its WAL and
/// manifest, the log key, witnesses' and partners' sockets, PostgreSQL.
pub const FD_RESERVE: u64 = ledger::store::MAX_OPEN_FILES as u64 + 256;
/// Fewest connections the service agrees to start with.
pub const MIN_CONNECTIONS: usize = 64;

/// Raises the process's soft `RLIMIT_NOFILE` to its hard limit and returns
/// how many connections fit below it beside [`FD_RESERVE`]: at most
/// `wanted`. Refuses to start (an error naming the limit) when fewer than
/// [`MIN_CONNECTIONS`] fit: a service that runs out of descriptors fails
/// its store's file opens and answers 500s while it still says ready.
pub fn connection_budget(wanted: usize) -> Result<usize, String> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let mut lim = getrlimit(Resource::Nofile);
    let below_hard = match (lim.current, lim.maximum) {
        (Some(soft), Some(hard)) => soft < hard,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if below_hard {
        let raised = Rlimit { current: lim.maximum, maximum: lim.maximum };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => lim.current = lim.maximum,
            Err(e) => tracing::warn!("setrlimit(NOFILE): {e}"),
        }
    }
    let soft = lim.current.unwrap_or(u64::MAX);
    let budget = soft.saturating_sub(FD_RESERVE);
    let fits = usize::try_from(budget).unwrap_or(usize::MAX).min(wanted);
    if fits < MIN_CONNECTIONS {
        return Err(format!(
            "open-file limit {} leaves room for {budget} connections beside the store's {FD_RESERVE} \
             descriptors (at least {MIN_CONNECTIONS} needed): raise LimitNOFILE / ulimit -n",
            soft
        ));
    }
    Ok(fits)
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
