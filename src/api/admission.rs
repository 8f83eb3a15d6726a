//! Admission control in front of the sequencer, and per-tenant quotas.
//!
//! - Quotas, on by default ([`DEFAULT_QUOTA`]): each tenant may submit at
//!   most `events_per_sec` events per second on average (a token bucket
//!   holding `burst_secs` seconds of them), make `writes_per_min` other
//!   writes a minute (reports, tokens, issuers, retention, erasures,
//!   lookup switches; a bucket holding a minute of them) and send
//!   `bytes_per_day` request bytes per UTC day. Bytes are charged from
//!   `Content-Length` before the body is read (a body without one is
//!   charged the route's cap, the unused part given back once it is in),
//!   and stay charged whatever the outcome: a request that fails still
//!   cost its bytes. Over any: 429 with `Retry-After`, before any checking
//!   work is spent. One tenant's flood thus cannot take the others' share
//!   of the one sequencer and disk.
//! - Admission: at most `max_in_flight_events` submitted events may be in
//!   the service at once (parsed, being checked, queued for or inside a
//!   group commit). Past that, new submissions get a 503 with `Retry-After`
//!   at once instead of waiting in an unbounded pile whose every request
//!   times out (the collapse the load tool showed under overload).
//!
//! Counters are in memory, per server process: a restart refills every
//! bucket and resets the day's bytes. A tenant's quota is its record's
//! (`POST`/`PATCH /v1/tenants`, [`super::tenant_records`]) when it has one, else
//! its `serve --tenant-quota`, else the default.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use warp::http::StatusCode;

use crate::error::ApiError;

pub mod pace;
use pace::Pace;

/// One tenant's limits; 0 turns a limit off.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quota {
    /// Average events per second.
    pub events_per_sec: f64,
    /// Request bytes per UTC day.
    pub bytes_per_day: u64,
    /// Average writes other than events per minute (reports, tokens,
    /// issuers, retention, erasures, lookup switches).
    pub writes_per_min: f64,
}

/// Every tenant's quota unless the operator sets another: 5,000 events/s
/// (above the platform's whole 4,000/s peak, so one tenant alone is never
/// refused at it), 64 GiB a day (21 million signings of ~1.5 KiB each
/// come to ~32 GiB), 120 other writes a minute.
pub const DEFAULT_QUOTA: Quota =
    Quota { events_per_sec: 5_000.0, bytes_per_day: 64 << 30, writes_per_min: 120.0 };

/// The service's admission settings.
#[derive(Clone, Debug)]
pub struct AdmissionConfig {
    /// Every tenant's quota unless overridden.
    pub default_quota: Quota,
    /// Per-tenant quotas.
    pub overrides: HashMap<String, Quota>,
    /// Seconds of `events_per_sec` a tenant may spend at once.
    pub burst_secs: f64,
    /// Most submitted events in the service at once.
    pub max_in_flight_events: usize,
    /// Most submission requests in the service at once (reading their
    /// body, parsing, checking, waiting for their group commit).
    pub max_in_flight_requests: usize,
    /// Reverse proxies whose `Forwarded`/`X-Forwarded-For` names the
    /// client (`serve --trusted-proxy`; [`super::client`]).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Failed authentications of one client address within
    /// `auth_failure_window` before its requests are refused (429); 0: off.
    pub auth_failure_limit: u32,
    /// The window of `auth_failure_limit`.
    pub auth_failure_window: std::time::Duration,
    /// Most connections served at once (below the file-descriptor budget).
    pub max_connections: usize,
    /// Most connections one address holds at once (trusted proxies exempt).
    pub max_connections_per_client: usize,
    /// Shortest retention policy a tenant may set, days.
    pub retention_min_days: u32,
    /// Days before a policy that erases sooner takes effect.
    pub retention_delay_days: u32,
    /// Days of grace, beyond the retention, before a contract that never
    /// completed is erased (counted from its last entry).
    pub retention_open_grace_days: u32,
    /// Records one tenant's access-log trail holds at most.
    pub access_log_max_records: usize,
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        AdmissionConfig {
            default_quota: DEFAULT_QUOTA,
            overrides: HashMap::new(),
            burst_secs: 2.0,
            max_in_flight_events: DEFAULT_MAX_IN_FLIGHT_EVENTS,
            max_in_flight_requests: DEFAULT_MAX_IN_FLIGHT_REQUESTS,
            trusted_proxies: Vec::new(),
            auth_failure_limit: super::authlimit::DEFAULT_AUTH_FAILURES,
            auth_failure_window: std::time::Duration::from_secs(
                super::authlimit::DEFAULT_AUTH_FAILURE_WINDOW_SECS,
            ),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_client: DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
            retention_min_days: super::erase::MIN_RETENTION_DAYS,
            retention_delay_days: super::erase::RETENTION_DELAY_DAYS,
            retention_open_grace_days: super::erase::RETENTION_OPEN_GRACE_DAYS,
            access_log_max_records: super::access::MAX_RECORDS_PER_TENANT,
        }
    }
}

/// Default admission bound: about half a second of the sequencer's
/// measured throughput on these machines.
pub const DEFAULT_MAX_IN_FLIGHT_EVENTS: usize = 20_000;

/// Default bound on submission requests in flight: each holds a blocking
/// thread while it is checked and waits for its fsync; more than this only
/// queue on the two cores and time out together.
///
/// Sized by Little's law for the platform's peak: 4,000 single-event
/// requests/s from one tenant hold 4,000 × the receipt latency in flight,
/// and a tenant may hold half the places. At 256 (a tenant's 128) a 32 ms
/// pause of the group commit already shed at a rate the machine carries
/// (docs/performance.md, "Peak latency and the admission bound"). While
/// submissions are served within [`pace::BEHIND`] the whole bound applies
/// (a tenant rides out 64 ms); once they are not, half of it, the old 256
/// ([`Admission::admit_request`]). It stays well under
/// [`DEFAULT_MAX_CONNECTIONS`]: a refused request holds a connection too,
/// and a server out of connections stops accepting (clients then wait
/// seconds in the listen backlog, outside every bound).
pub const DEFAULT_MAX_IN_FLIGHT_REQUESTS: usize = 512;

/// Most connections served at once, before the file-descriptor budget
/// lowers it (`crate::server::connection_budget`).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Default bound on one address's connections: a few dozen keep-alive
/// connections is what a busy back end opens; one client cannot take all
/// [`DEFAULT_MAX_CONNECTIONS`].
pub const DEFAULT_MAX_CONNECTIONS_PER_CLIENT: usize = 64;

/// A tenant's buckets and day counter.
struct Usage {
    tokens: f64,
    refilled: Instant,
    writes: f64,
    writes_refilled: Instant,
    day: i64,
    bytes: u64,
}

/// Quota state and the in-flight count.
pub struct Admission {
    config: AdmissionConfig,
    /// Quotas of tenant records, set while the service runs.
    records: std::sync::RwLock<HashMap<String, Quota>>,
    usage: Mutex<HashMap<String, Usage>>,
    in_flight: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    tenant_requests: Arc<Mutex<HashMap<String, usize>>>,
    pace: Pace,
}

/// One submission request admitted (globally and in its tenant's share);
/// released when dropped.
#[derive(Debug)]
pub struct AdmittedRequest {
    _global: Admitted,
    tenant: String,
    per_tenant: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for AdmittedRequest {
    fn drop(&mut self) {
        let mut map = self.per_tenant.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.tenant) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.tenant);
            }
        }
    }
}

/// Events admitted; released when dropped.
#[derive(Debug)]
pub struct Admitted {
    n: usize,
    in_flight: Arc<AtomicUsize>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(self.n, Ordering::AcqRel);
    }
}

impl Admission {
    /// Admission with `config`.
    pub fn new(config: AdmissionConfig) -> Admission {
        Admission {
            config,
            records: std::sync::RwLock::default(),
            usage: Mutex::new(HashMap::new()),
            in_flight: Arc::new(AtomicUsize::new(0)),
            requests: Arc::new(AtomicUsize::new(0)),
            tenant_requests: Arc::new(Mutex::new(HashMap::new())),
            pace: Pace::default(),
        }
    }

    /// Records how long an admitted submission took from its body read to
    /// its answer (checks, queue, group commit).
    pub fn record_service(&self, took: std::time::Duration) {
        self.pace.record(took);
    }

    /// A guard that records the service time since `since` when dropped,
    /// on every exit path: taken once a submission has passed its quota
    /// and reaches the ledger, so fast refusals (a bad body, a quota 429,
    /// a full room) do not dilute the average, and held by the blocking
    /// task, so a client that hangs up is counted all the same.
    pub fn pace_sample(&self, since: std::time::Instant) -> PaceSample<'_> {
        PaceSample { admission: self, since }
    }

    /// The request bounds now: the configured one while submissions keep
    /// pace, half of it while they fall behind.
    fn request_bound(&self) -> usize {
        let max = self.config.max_in_flight_requests;
        if self.pace.behind() {
            (max / 2).max(1)
        } else {
            max
        }
    }

    /// A tenant's share of the submission requests in flight: half, so
    /// that one tenant's slow or stuck clients cannot take every place.
    pub fn max_tenant_requests(&self) -> usize {
        (self.request_bound() / 2).max(1)
    }

    /// Admits one submission request of `tenant` before its body is read:
    /// 429 + `Retry-After` when the tenant has its share
    /// ([`Admission::max_tenant_requests`]) in flight, 503 + `Retry-After`
    /// when [`AdmissionConfig::max_in_flight_requests`] are in (half of
    /// each while submissions are behind, [`pace::BEHIND`]).
    pub fn admit_request(&self, tenant: &str) -> Result<AdmittedRequest, ApiError> {
        let share = self.max_tenant_requests();
        {
            let mut map = self.tenant_requests.lock().unwrap_or_else(|p| p.into_inner());
            let n = map.entry(tenant.to_string()).or_insert(0);
            if *n >= share {
                return Err(ApiError::overloaded(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("the tenant has {share} submissions in flight; retry"),
                    1,
                ));
            }
            *n += 1;
        }
        let per_tenant = self.tenant_requests.clone();
        let claim = |global| AdmittedRequest {
            _global: global,
            tenant: tenant.to_string(),
            per_tenant: per_tenant.clone(),
        };
        self.admit_global().map(claim).inspect_err(|_| {
            // Not admitted: give the tenant's place back.
            drop(claim(Admitted { n: 0, in_flight: self.requests.clone() }));
        })
    }

    fn admit_global(&self) -> Result<Admitted, ApiError> {
        let max = self.request_bound();
        let before = self.requests.fetch_add(1, Ordering::AcqRel);
        let admitted = Admitted { n: 1, in_flight: self.requests.clone() };
        if before >= max {
            drop(admitted);
            return Err(ApiError::overloaded(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{max} submissions in flight; retry"),
                1,
            ));
        }
        Ok(admitted)
    }

    /// Events in the service now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Admits `events` events from `tenant` (whose bytes were charged
    /// before its body was read, [`Admission::charge_body`]), or refuses
    /// them: 429 over the tenant's quota, 503 when the service is full.
    pub fn admit(&self, tenant: &str, events: usize) -> Result<Admitted, ApiError> {
        self.charge(tenant, events, 0, Instant::now(), unix_day())?;
        let max = self.config.max_in_flight_events;
        let before = self.in_flight.fetch_add(events, Ordering::AcqRel);
        let admitted = Admitted { n: events, in_flight: self.in_flight.clone() };
        if before + events > max && before > 0 {
            drop(admitted);
            return Err(ApiError::overloaded(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the service holds {before} events in flight (at most {max}); retry"),
                1,
            ));
        }
        Ok(admitted)
    }

    /// The settings.
    pub fn config(&self) -> &AdmissionConfig {
        &self.config
    }

    /// Charges a request body to `tenant`'s bytes of the day before it is
    /// read: its `Content-Length` (at most `cap`, all that will be read:
    /// the reader answers 413 at it), or `cap` when it has none (give the
    /// unused part back with [`Admission::refund_bytes`]). 429 over the
    /// quota. Returns what was charged.
    pub fn charge_body(
        &self,
        tenant: &str,
        headers: &warp::http::HeaderMap,
        cap: usize,
    ) -> Result<usize, ApiError> {
        // A body over the cap is still read up to it before its 413: an
        // answer before the client finished sending breaks common clients.
        let declared = content_length(headers)?;
        let n = declared.map_or(cap, |n| usize::try_from(n).unwrap_or(usize::MAX).min(cap));
        self.charge(tenant, 0, n, Instant::now(), unix_day())?;
        Ok(n)
    }

    /// Gives back bytes charged for a body that turned out shorter.
    pub fn refund_bytes(&self, tenant: &str, bytes: usize) {
        let mut map = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(u) = map.get_mut(tenant) {
            u.bytes = u.bytes.saturating_sub(bytes as u64);
        }
    }

    /// Charges one write other than events (a report, a token, an issuer,
    /// a retention change, an erasure, a lookup switch) and its body's
    /// bytes, before the body is read: 429 over the tenant's writes per
    /// minute or bytes per day. The body is at most `cap` bytes.
    pub fn charge_write(
        &self,
        tenant: &str,
        headers: &warp::http::HeaderMap,
        cap: usize,
    ) -> Result<(), ApiError> {
        self.take_write(tenant, Instant::now())?;
        self.charge_body(tenant, headers, cap).map(|_| ())
    }

    fn take_write(&self, tenant: &str, now: Instant) -> Result<(), ApiError> {
        let q = self.quota(tenant);
        if q.writes_per_min <= 0.0 {
            return Ok(());
        }
        let mut map = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        let u = map.entry(tenant.to_string()).or_insert_with(|| self.fresh(now, unix_day()));
        let per_sec = q.writes_per_min / 60.0;
        let elapsed = now.saturating_duration_since(u.writes_refilled).as_secs_f64();
        u.writes = (u.writes + elapsed * per_sec).min(q.writes_per_min.max(1.0));
        u.writes_refilled = now;
        if u.writes < 1.0 {
            let wait = ((1.0 - u.writes) / per_sec).ceil().max(1.0);
            return Err(over_quota(
                format!("tenant over its {} writes a minute", q.writes_per_min),
                wait.min(3600.0) as u32,
            ));
        }
        u.writes -= 1.0;
        Ok(())
    }

    fn fresh(&self, now: Instant, day: i64) -> Usage {
        Usage {
            tokens: f64::INFINITY,
            refilled: now,
            writes: f64::INFINITY,
            writes_refilled: now,
            day,
            bytes: 0,
        }
    }

    /// Sets (or with `None` clears) the quota of a tenant's record; the
    /// tenant's next request is counted against it.
    pub fn set_tenant_quota(&self, tenant: &str, quota: Option<Quota>) {
        let mut map = self.records.write().unwrap_or_else(|p| p.into_inner());
        match quota {
            Some(q) => map.insert(tenant.to_string(), q),
            None => map.remove(tenant),
        };
    }

    fn quota(&self, tenant: &str) -> Quota {
        let records = self.records.read().unwrap_or_else(|p| p.into_inner());
        records
            .get(tenant)
            .or_else(|| self.config.overrides.get(tenant))
            .copied()
            .unwrap_or(self.config.default_quota)
    }

    /// Takes `events` from the tenant's bucket and `bytes` from its day.
    fn charge(
        &self,
        tenant: &str,
        events: usize,
        bytes: usize,
        now: Instant,
        day: i64,
    ) -> Result<(), ApiError> {
        let q = self.quota(tenant);
        if q.events_per_sec <= 0.0 && q.bytes_per_day == 0 {
            return Ok(());
        }
        let burst = (q.events_per_sec * self.config.burst_secs).max(1.0);
        let mut map = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        let u = map.entry(tenant.to_string()).or_insert_with(|| self.fresh(now, day));
        if u.day != day {
            u.day = day;
            u.bytes = 0;
        }
        if q.bytes_per_day > 0 && u.bytes + bytes as u64 > q.bytes_per_day {
            let secs_left = 86_400 - unix_secs().rem_euclid(86_400);
            return Err(over_quota(
                format!("tenant's {} bytes for today are spent", q.bytes_per_day),
                secs_left as u32,
            ));
        }
        if q.events_per_sec > 0.0 && events > 0 {
            let elapsed = now.saturating_duration_since(u.refilled).as_secs_f64();
            u.tokens = (u.tokens + elapsed * q.events_per_sec).min(burst);
            u.refilled = now;
            let need = events as f64;
            if need > u.tokens {
                let wait = ((need - u.tokens) / q.events_per_sec).ceil().max(1.0);
                return Err(over_quota(
                    format!("tenant over its {} events/s", q.events_per_sec),
                    wait.min(3600.0) as u32,
                ));
            }
            u.tokens -= need;
        }
        u.bytes += bytes as u64;
        Ok(())
    }
}

/// See [`Admission::pace_sample`].
pub struct PaceSample<'a> {
    admission: &'a Admission,
    since: std::time::Instant,
}

impl Drop for PaceSample<'_> {
    fn drop(&mut self) {
        self.admission.record_service(self.since.elapsed());
    }
}

/// The request's `Content-Length`, if it has one; 400 when it is not a number.
fn content_length(headers: &warp::http::HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(v) = headers.get("content-length") else { return Ok(None) };
    v.to_str()
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .map(Some)
        .ok_or_else(|| ApiError::bad_request("bad_length", "Content-Length is not a number"))
}

fn over_quota(message: String, retry_after: u32) -> ApiError {
    ApiError::overloaded(StatusCode::TOO_MANY_REQUESTS, message, retry_after)
}

fn unix_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn unix_day() -> i64 {
    unix_secs().div_euclid(86_400)
}

/// Parses `TENANT=EVENTS_PER_SEC:BYTES_PER_DAY[:WRITES_PER_MIN]` (a `serve
/// --tenant-quota`); without the third, `default_writes`.
pub fn parse_override(s: &str, default_writes: f64) -> Result<(String, Quota), String> {
    let bad = || format!("{s:?}: expected TENANT=EVENTS_PER_SEC:BYTES_PER_DAY[:WRITES_PER_MIN]");
    let (tenant, rest) = s.split_once('=').ok_or_else(bad)?;
    let mut parts = rest.split(':');
    let rate = |v: Option<&str>| -> Result<f64, String> {
        let r: f64 = v.ok_or_else(bad)?.parse().map_err(|_| bad())?;
        if r.is_finite() && r >= 0.0 {
            Ok(r)
        } else {
            Err(bad())
        }
    };
    let events_per_sec = rate(parts.next())?;
    let bytes_per_day = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
    let writes_per_min = match parts.next() {
        Some(w) => rate(Some(w))?,
        None => default_writes,
    };
    if parts.next().is_some() {
        return Err(bad());
    }
    Ok((tenant.to_string(), Quota { events_per_sec, bytes_per_day, writes_per_min }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
