//! `serve`: the HTTP API over a data directory, its per-tenant quotas and
//! admission control, the lease watch and the retention sweeps.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;

use ledger::{Ledger, LedgerOptions, StoreConfig};

use crate::cmd::{runtime, CliResult};
use crate::state::app_state_with;

/// Per-tenant quotas and admission control of `serve` (0 turns a limit off).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ServeLimits {
    /// Every tenant's average events/s (bursts of 2 s of it); 0: no limit.
    #[arg(long = "tenant-events-per-sec", default_value_t = crate::api::admission::DEFAULT_QUOTA.events_per_sec)]
    tenant_events_per_sec: f64,
    /// Every tenant's request bytes per UTC day; 0: no limit.
    #[arg(long = "tenant-bytes-per-day", default_value_t = crate::api::admission::DEFAULT_QUOTA.bytes_per_day)]
    tenant_bytes_per_day: u64,
    /// Every tenant's writes other than events per minute (reports,
    /// tokens, issuers, retention, erasures, lookup switches); 0: no limit.
    #[arg(long = "tenant-writes-per-min", default_value_t = crate::api::admission::DEFAULT_QUOTA.writes_per_min)]
    tenant_writes_per_min: f64,
    /// One tenant's own quota,
    /// TENANT=EVENTS_PER_SEC:BYTES_PER_DAY[:WRITES_PER_MIN] (repeatable).
    #[arg(long = "tenant-quota")]
    tenant_quota: Vec<String>,
    /// A reverse proxy (IP address) whose `Forwarded`/`X-Forwarded-For`
    /// names the client (repeatable): per-client limits and the access log
    /// then key on that client, and the proxy is not held to the
    /// per-client connection cap. Without it, the socket's peer is the client.
    #[arg(long = "trusted-proxy", value_parser = crate::api::client::parse_proxy)]
    trusted_proxy: Vec<std::net::IpAddr>,
    /// Failed authentications (401) one client address may have within
    /// --auth-failure-window-secs; past them its authenticated requests
    /// are answered 429 + Retry-After, before any token work, until the
    /// window ends (trusted proxies exempt; IPv6 by /64); 0: off.
    #[arg(long = "auth-failure-limit", default_value_t = crate::api::authlimit::DEFAULT_AUTH_FAILURES)]
    auth_failure_limit: u32,
    /// The window of --auth-failure-limit, seconds (at least 1).
    #[arg(long = "auth-failure-window-secs", default_value_t = crate::api::authlimit::DEFAULT_AUTH_FAILURE_WINDOW_SECS)]
    auth_failure_window_secs: u64,
    /// A network (CIDR, or one address) the Documenso/DocuSeal adapters may
    /// fetch documents from besides public addresses (repeatable): a
    /// platform on the operator's own network. Loopback, private,
    /// link-local and other inner addresses are refused otherwise.
    #[arg(long = "integration-allow-network", value_parser = crate::api::integrations::egress::parse_network)]
    integration_allow_network: Vec<crate::api::integrations::egress::Network>,
    /// Most connections one address holds at once; past it, 429 and close.
    #[arg(long = "max-connections-per-client", default_value_t = crate::api::admission::DEFAULT_MAX_CONNECTIONS_PER_CLIENT)]
    max_connections_per_client: usize,
    /// Shortest retention (`POST /v1/retention`) a tenant may set, days.
    #[arg(long = "retention-min-days", default_value_t = crate::api::erase::MIN_RETENTION_DAYS)]
    retention_min_days: u32,
    /// Days before a retention policy that erases sooner takes effect.
    #[arg(long = "retention-delay-days", default_value_t = crate::api::erase::RETENTION_DELAY_DAYS)]
    retention_delay_days: u32,
    /// Records one tenant's access log holds; at it, the tenant's
    /// privileged requests are refused (429) until records age out.
    #[arg(long = "access-log-max-records", default_value_t = crate::api::access::MAX_RECORDS_PER_TENANT)]
    access_log_max_records: usize,
    /// Most submitted events in the service at once; past it, 503 + Retry-After.
    #[arg(long = "max-in-flight-events", default_value_t = crate::api::admission::DEFAULT_MAX_IN_FLIGHT_EVENTS)]
    max_in_flight_events: usize,
    /// Most submission requests in the service at once; past it, 503 + Retry-After.
    #[arg(long = "max-in-flight-requests", default_value_t = crate::api::admission::DEFAULT_MAX_IN_FLIGHT_REQUESTS)]
    max_in_flight_requests: usize,
}

impl ServeLimits {
    /// The admission settings these flags describe.
    pub fn config(&self) -> Result<crate::api::admission::AdmissionConfig, String> {
        use crate::api::admission::{parse_override, AdmissionConfig, Quota};
        for (flag, v) in [
            ("--tenant-events-per-sec", self.tenant_events_per_sec),
            ("--tenant-writes-per-min", self.tenant_writes_per_min),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(format!("{flag}: a number >= 0"));
            }
        }
        let writes = self.tenant_writes_per_min;
        let overrides = self
            .tenant_quota
            .iter()
            .map(|s| parse_override(s, writes))
            .collect::<Result<_, _>>()?;
        Ok(AdmissionConfig {
            default_quota: Quota {
                events_per_sec: self.tenant_events_per_sec,
                bytes_per_day: self.tenant_bytes_per_day,
                writes_per_min: writes,
            },
            overrides,
            max_in_flight_events: self.max_in_flight_events.max(1),
            max_in_flight_requests: self.max_in_flight_requests.max(1),
            trusted_proxies: self.trusted_proxy.clone(),
            auth_failure_limit: self.auth_failure_limit,
            auth_failure_window: std::time::Duration::from_secs(
                self.auth_failure_window_secs.clamp(1, 86_400),
            ),
            max_connections_per_client: self.max_connections_per_client.max(1),
            retention_min_days: self.retention_min_days,
            retention_delay_days: self.retention_delay_days,
            access_log_max_records: self.access_log_max_records.max(1),
            ..AdmissionConfig::default()
        })
    }
}

/// `serve`'s settings of the PostgreSQL store (docs/postgres.md).
#[derive(clap::Args, Clone, Debug)]
pub struct PgServeOptions {
    /// PostgreSQL: the commit deadline in seconds. A group commit still
    /// waiting for the synchronous standby then is cancelled and fails
    /// (503 + Retry-After, nothing acknowledged; /readyz 503 until a
    /// synced write succeeds again).
    #[arg(long = "pg-commit-timeout", value_name = "SECONDS", default_value_t = 10.0)]
    pg_commit_timeout: f64,
    /// PostgreSQL: acknowledge a group only once at least N synchronous
    /// (or quorum) standbys have flushed its commit, as the primary's
    /// pg_stat_replication shows (checked after every synced commit,
    /// waiting up to the commit deadline). An emptied
    /// synchronous_standby_names releases commits without a warning; with
    /// this option such commits are not acknowledged (503 + Retry-After).
    /// 0 (the default, for a single server): trust the COMMIT. The role
    /// needs pg_read_all_stats (or pg_monitor).
    #[arg(long = "pg-require-sync-standby", value_name = "N", default_value_t = 0)]
    pg_require_sync_standby: u32,
    /// PostgreSQL: seconds the sequencer lease lasts without renewal (the
    /// sequencer renews it every quarter of that). A standby takes over
    /// from a sequencer that stopped renewing (SIGSTOP, a hung host) this
    /// long after its last renewal, plus up to half a second.
    #[arg(long = "pg-lease-ttl", value_name = "SECONDS", default_value_t = 10.0)]
    pg_lease_ttl: f64,
}

impl PgServeOptions {
    /// The commit deadline.
    pub fn commit_timeout(&self) -> Result<std::time::Duration, String> {
        let s = self.pg_commit_timeout;
        if !s.is_finite() || !(0.001..=86_400.0).contains(&s) {
            return Err("--pg-commit-timeout: seconds, from 0.001 to 86400".into());
        }
        Ok(std::time::Duration::from_secs_f64(s))
    }

    /// The lease's time without renewal.
    pub fn lease_ttl(&self) -> Result<std::time::Duration, String> {
        let s = self.pg_lease_ttl;
        if !s.is_finite() || !(0.4..=3_600.0).contains(&s) {
            return Err("--pg-lease-ttl: seconds, from 0.4 to 3600".into());
        }
        Ok(std::time::Duration::from_secs_f64(s))
    }
}

/// `serve --suite NAME`: refuses a data directory whose log `init` made
/// with another suite (the log key's recorded vkey says which).
pub(super) fn check_suite(data: &Path, want: Option<&str>) -> CliResult {
    let Some(want) = want else { return Ok(()) };
    let want = verifier::suite::Suite::parse(want).map_err(|e| format!("--suite: {e}"))?;
    let vkey = ledger::logkey::recorded_vkey(data).map_err(|e| e.to_string())?;
    let have = verifier::anykey::AnyVerifier::from_vkey(&vkey).map_err(|e| e.to_string())?.suite();
    if have != want {
        return Err(format!(
            "--suite {want}: the log in {} was initialised with suite {have}; a log's suite \
             never changes",
            data.display()
        ));
    }
    Ok(())
}

// One parameter per `serve` flag.
#[allow(clippy::too_many_arguments)]
pub(super) fn serve(
    data: &Path,
    listen: SocketAddr,
    allow_rollback: bool,
    accept_v1: Vec<String>,
    retention_sweep_secs: u64,
    store: Option<&str>,
    limits: &ServeLimits,
    pg: &PgServeOptions,
    public_url: Option<&str>,
    ers: super::ers::ErsServeOptions,
) -> CliResult {
    let mut admission = limits.config()?;
    crate::api::integrations::egress::configure(limits.integration_allow_network.clone());
    admission.max_connections = crate::server::connection_budget(crate::server::MAX_CONNECTIONS)?;
    let pg_commit_timeout = pg.commit_timeout()?;
    let public_url = public_url.map(crate::report::qr::check_public_url).transpose()?;
    if public_url.is_none() {
        tracing::info!(
            "no --public-url: evidence reports' QR codes hold the path /verify alone, not a full link"
        );
    }
    let store = match store {
        Some(s) => StoreConfig::parse(s),
        None => ledger::configured_store(data),
    }
    .map_err(|e| e.to_string())?;
    let opts = LedgerOptions {
        allow_rollback,
        accept_v1_attestations: accept_v1.into_iter().collect(),
        store,
        wait_for_lease: true,
        pg_commit_timeout,
        pg_require_sync_standby: pg.pg_require_sync_standby,
        pg_lease_ttl: pg.lease_ttl()?,
        ..LedgerOptions::default()
    };
    let on_postgres = opts.store.is_postgres();
    let ledger = Ledger::open(data, opts).map_err(|e| e.to_string())?;
    if on_postgres && !allow_rollback {
        // At take-over: the database must extend what the witnesses
        // cosigned (a stale standby or an old backup does not), which no
        // node's own mark may know (docs/postgres.md).
        let checked = anchor::check_witnessed_head(&ledger).map_err(|e| e.to_string())?;
        tracing::info!(
            "take-over: the database extends the cosigned checkpoints of {checked} witness(es)"
        );
    }
    {
        // A sequencer whose lease's session ended stops at once: another
        // process may be taking over (its writes are fenced anyway).
        // Restarted, it waits as a standby. Nothing acknowledged is lost:
        // receipts are only sent after the commit.
        let l = ledger.clone();
        std::thread::Builder::new()
            .name("lease-watch".into())
            .spawn(move || loop {
                std::thread::sleep(std::time::Duration::from_millis(200));
                if l.lease_lost() {
                    tracing::error!("sequencer lease lost: exiting");
                    std::process::exit(75);
                }
            })
            .map_err(|e| e.to_string())?;
    }
    // Erasures whose clean-up a crash or failure cut short: finished
    // before anyone is served, so that no stored report, report key or
    // access-log path of an erased document or subject is read again.
    {
        let done = crate::api::erase::resume_cleanups_now(&ledger);
        if !done.pending.is_empty() {
            return Err(format!(
                "erasure clean-up failed (pending: {:?}); see the log",
                done.pending
            ));
        }
    }
    let state = app_state_with(ledger.clone(), admission, public_url)?;
    let stop_sweeps = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sweeper = {
        let (state, stop) = (state.clone(), stop_sweeps.clone());
        std::thread::Builder::new()
            .name("retention".into())
            .spawn(move || retention_loop(&state, retention_sweep_secs.max(1), &stop))
            .map_err(|e| e.to_string())?
    };
    let renewer = {
        let (ledger, stop) = (ledger.clone(), stop_sweeps.clone());
        std::thread::Builder::new()
            .name("ers-renewal".into())
            .spawn(move || {
                crate::ers::renewal_loop(&ledger, ers.margin_secs, ers.interval_secs.max(1), &stop)
            })
            .map_err(|e| e.to_string())?
    };
    let rt = runtime()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!("listening on {addr}");
        let _ = std::io::stdout().flush();
        tracing::info!(
            origin = ledger.origin(),
            size = ledger.status().tree_size,
            "serving on {addr}"
        );
        crate::server::run(listener, state.clone(), crate::server::shutdown_signal()).await;
        Ok::<(), String>(())
    })?;
    if let Some(a) = &state.anchor {
        a.stop();
    }
    stop_sweeps.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = sweeper.join();
    let _ = renewer.join();
    // In-flight requests are done; let queued batches commit, then stop.
    ledger.close();
    tracing::info!("stopped cleanly at tree size {}", ledger.status().tree_size);
    Ok(())
}

/// Applies the tenants' retention policies every `secs` seconds until
/// `stop` (evidence v2: erasure N days after a contract completed).
fn retention_loop(state: &crate::api::AppState, secs: u64, stop: &std::sync::atomic::AtomicBool) {
    use std::sync::atomic::Ordering;
    let mut waited = 0;
    while !stop.load(Ordering::Relaxed) {
        if waited >= secs {
            waited = 0;
            match crate::api::erase::sweep_retention(state, stop) {
                Ok(0) => {}
                Ok(n) => tracing::info!("retention: erased {n} documents"),
                Err(e) => tracing::error!("retention sweep: {}", e.message),
            }
            let now = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64;
            match crate::api::report::expire_stored_reports(&state.ledger, now) {
                Ok(0) => {}
                Ok(n) => tracing::info!("retention: {n} stored reports expired"),
                Err(e) => tracing::error!("stored reports expiry: {}", e.message),
            }
            crate::api::access::expire(&state.ledger, now);
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
        waited += 1;
    }
}
