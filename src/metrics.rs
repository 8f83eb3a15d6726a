//! Prometheus metrics of the service.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The service's metrics, registered in their own registry.
pub struct Metrics {
    registry: Registry,
    /// The name of every registered metric family.
    names: Vec<String>,
    /// Events by outcome: accepted, replayed, rejected, conflict, error.
    pub events: IntCounterVec,
    /// Events per accepted `POST /v1/events` request.
    pub batch_size: Histogram,
    /// Seconds from a batch's arrival at the ledger to its durable receipts.
    pub commit_latency: Histogram,
    /// HTTP requests by route and status.
    pub http: IntCounterVec,
    /// HTTP request duration by route.
    pub http_latency: HistogramVec,
    /// Current tree size.
    pub tree_size: IntGauge,
    /// Seconds since the newest entry's ledger time (the latest checkpoint's age).
    pub checkpoint_age: IntGauge,
    /// Per witness: entries not yet cosigned by it.
    pub anchor_lag_entries: IntGaugeVec,
    /// Per witness: seconds since its latest cosignature while behind.
    pub anchor_lag_seconds: IntGaugeVec,
    /// Per witness: cosignatures obtained in all.
    pub anchor_successes: IntGaugeVec,
    /// Per witness and failure kind: failed attempts in all.
    pub anchor_failures: IntGaugeVec,
    /// Per witness and kind: 1 while the witness reports a fork or a
    /// rollback (anchoring alarm; evidence under `DATA/anchor-alarms/`).
    pub anchor_alarm: IntGaugeVec,
    /// Size of the latest anchored checkpoint.
    pub anchored_size: IntGauge,
    /// Group commits (one synced WriteBatch each) since start.
    pub groups: IntGauge,
    /// Events written by those group commits since start.
    pub group_events: IntGauge,
    /// Seconds spent in synced writes since start.
    pub group_write_seconds: prometheus::Gauge,
    /// Group commits that failed on storage since start.
    pub failed_groups: IntGauge,
    /// 1 while synced writes succeed, 0 from a storage failure until one does.
    pub storage_ok: IntGauge,
    /// Findings of the latest store audit (`POST /v1/audit`).
    pub audit_findings: IntGauge,
    /// Store audits that could not finish (an error, not a finding).
    pub audit_errors: IntCounter,
    /// Unix time of the latest store audit (0: none since start).
    pub audit_last_unix: IntGauge,
    /// Request work running now, by kind (verify, submit, report, lookup):
    /// counted where the work runs, so work whose client hung up still counts.
    pub work: IntGaugeVec,
    /// The most of each kind that ever ran at once since start.
    pub work_peak: IntGaugeVec,
    /// Requests refused with 401 (counted; not stored, so a flood of them
    /// costs no write).
    pub auth_failures: IntCounter,
    /// Entries the public lookup opened to apply their tenants' lookup
    /// switches (a listed hidden document's entries are never opened).
    pub lookup_opened: IntCounter,
    /// Per certificate the service relies on (kind, name): its `notAfter`,
    /// unix seconds (crate::certwatch).
    pub cert_not_after: IntGaugeVec,
    /// Most connections served at once, as set at start from the
    /// file-descriptor budget.
    pub max_connections: IntGauge,
    /// Platform webhook events (issue 28) by platform and outcome:
    /// `recorded`, `replayed` (already logged), `malformed`, `failed`.
    pub integration_events: IntCounterVec,
    /// Platform webhook deliveries acknowledged and not logged, by platform
    /// and reason: `unknown_event`, `no_kind`.
    pub integration_ignored: IntCounterVec,
    /// The master key epoch new wraps use.
    pub master_key_epoch: IntGauge,
    /// Master key epochs held while a rotation retires them.
    pub master_key_retiring: IntGauge,
    /// Stored document keys re-wrapped by rotations since start.
    pub master_key_rewrapped: IntGauge,
    /// Stored document keys examined by the rotation's current pass.
    pub master_key_scanned: IntGauge,
    work_counts: std::sync::Mutex<std::collections::HashMap<&'static str, (i64, i64)>>,
}

/// One piece of request work running; counted off when dropped.
pub struct Work<'a> {
    metrics: &'a Metrics,
    kind: &'static str,
}

impl Drop for Work<'_> {
    fn drop(&mut self) {
        let mut map = self.metrics.work_counts.lock().unwrap_or_else(|p| p.into_inner());
        let e = map.entry(self.kind).or_insert((0, 0));
        e.0 -= 1;
        self.metrics.work.with_label_values(&[self.kind]).set(e.0);
    }
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let mut names = Vec::new();
        let events = IntCounterVec::new(
            Opts::new("evidence_events_total", "Events by outcome"),
            &["outcome"],
        )?;
        let batch_size = Histogram::with_opts(
            HistogramOpts::new("evidence_batch_size", "Events per submitted batch")
                .buckets(vec![1.0, 2.0, 5.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0]),
        )?;
        let commit_latency = Histogram::with_opts(
            HistogramOpts::new("evidence_commit_latency_seconds", "Append to durable receipt")
                .buckets(prometheus::exponential_buckets(0.0005, 2.0, 14)?),
        )?;
        let http = IntCounterVec::new(
            Opts::new("evidence_http_requests_total", "HTTP requests"),
            &["route", "status"],
        )?;
        let http_latency = HistogramVec::new(
            HistogramOpts::new("evidence_http_request_seconds", "HTTP request duration")
                .buckets(prometheus::exponential_buckets(0.0005, 2.0, 14)?),
            &["route"],
        )?;
        let tree_size = IntGauge::new("evidence_tree_size", "Entries in the log")?;
        let checkpoint_age =
            IntGauge::new("evidence_checkpoint_age_seconds", "Age of the newest checkpoint")?;
        let w = &["witness"];
        let anchor_lag_entries = IntGaugeVec::new(
            Opts::new("evidence_anchor_lag_entries", "Entries not yet cosigned by the witness"),
            w,
        )?;
        let anchor_lag_seconds = IntGaugeVec::new(
            Opts::new("evidence_anchor_lag_seconds", "Seconds since the witness last cosigned"),
            w,
        )?;
        let anchor_successes = IntGaugeVec::new(
            Opts::new("evidence_anchor_cosignatures", "Cosignatures obtained from the witness"),
            w,
        )?;
        let anchor_failures = IntGaugeVec::new(
            Opts::new("evidence_anchor_failures", "Failed anchoring attempts by kind"),
            &["witness", "kind"],
        )?;
        let anchor_alarm = IntGaugeVec::new(
            Opts::new("evidence_anchor_alarm", "1 while a witness reports a fork or rollback"),
            &["witness", "kind"],
        )?;
        register(&registry, &mut names, Box::new(anchor_alarm.clone()))?;
        let anchored_size =
            IntGauge::new("evidence_anchored_tree_size", "Size of the latest anchored checkpoint")?;
        register(&registry, &mut names, Box::new(events.clone()))?;
        register(&registry, &mut names, Box::new(batch_size.clone()))?;
        register(&registry, &mut names, Box::new(commit_latency.clone()))?;
        register(&registry, &mut names, Box::new(http.clone()))?;
        register(&registry, &mut names, Box::new(http_latency.clone()))?;
        register(&registry, &mut names, Box::new(tree_size.clone()))?;
        register(&registry, &mut names, Box::new(checkpoint_age.clone()))?;
        register(&registry, &mut names, Box::new(anchor_lag_entries.clone()))?;
        register(&registry, &mut names, Box::new(anchor_lag_seconds.clone()))?;
        register(&registry, &mut names, Box::new(anchor_successes.clone()))?;
        register(&registry, &mut names, Box::new(anchor_failures.clone()))?;
        register(&registry, &mut names, Box::new(anchored_size.clone()))?;
        let groups = IntGauge::new("evidence_group_commits", "Group commits since start")?;
        let group_events =
            IntGauge::new("evidence_group_commit_events", "Events written by group commits")?;
        let group_write_seconds = prometheus::Gauge::new(
            "evidence_group_commit_write_seconds",
            "Seconds in synced RocksDB writes since start",
        )?;
        let failed_groups =
            IntGauge::new("evidence_group_commit_failures", "Group commits failed on storage")?;
        register(&registry, &mut names, Box::new(groups.clone()))?;
        register(&registry, &mut names, Box::new(group_events.clone()))?;
        register(&registry, &mut names, Box::new(group_write_seconds.clone()))?;
        register(&registry, &mut names, Box::new(failed_groups.clone()))?;
        let storage_ok = IntGauge::new(
            "evidence_storage_ok",
            "1 while synced writes succeed; 0 from a storage failure until one does",
        )?;
        register(&registry, &mut names, Box::new(storage_ok.clone()))?;
        storage_ok.set(1);
        let audit_findings =
            IntGauge::new("evidence_audit_findings", "Findings of the latest store audit")?;
        let audit_last_unix =
            IntGauge::new("evidence_audit_last_unix", "Unix time of the latest store audit")?;
        let audit_errors = IntCounter::new(
            "evidence_audit_errors_total",
            "Store audits that ended in an error instead of a report",
        )?;
        register(&registry, &mut names, Box::new(audit_findings.clone()))?;
        register(&registry, &mut names, Box::new(audit_last_unix.clone()))?;
        register(&registry, &mut names, Box::new(audit_errors.clone()))?;
        let work = IntGaugeVec::new(
            Opts::new("evidence_work_in_flight", "Request work running now, by kind"),
            &["kind"],
        )?;
        let work_peak = IntGaugeVec::new(
            Opts::new("evidence_work_in_flight_peak", "Most request work of a kind at once"),
            &["kind"],
        )?;
        let auth_failures = IntCounter::new(
            "evidence_auth_failures_total",
            "Requests refused for a missing, malformed, unknown, revoked or expired token",
        )?;
        let lookup_opened = IntCounter::new(
            "evidence_lookup_entries_opened_total",
            "Entries the public lookup opened to apply their tenants' lookup switches",
        )?;
        let cert_not_after = IntGaugeVec::new(
            Opts::new(
                "evidence_certificate_not_after_seconds",
                "Unix time a certificate the service relies on expires (TSA roots and signer, pinned HTTPS CAs)",
            ),
            &["kind", "name"],
        )?;
        let max_connections =
            IntGauge::new("evidence_max_connections", "Most connections served at once")?;
        register(&registry, &mut names, Box::new(work.clone()))?;
        register(&registry, &mut names, Box::new(work_peak.clone()))?;
        register(&registry, &mut names, Box::new(auth_failures.clone()))?;
        register(&registry, &mut names, Box::new(lookup_opened.clone()))?;
        register(&registry, &mut names, Box::new(cert_not_after.clone()))?;
        register(&registry, &mut names, Box::new(max_connections.clone()))?;
        let integration_events = IntCounterVec::new(
            Opts::new("evidence_integration_events_total", "Platform webhook events by outcome"),
            &["platform", "outcome"],
        )?;
        let integration_ignored = IntCounterVec::new(
            Opts::new(
                "evidence_integration_ignored_total",
                "Platform webhook deliveries acknowledged and not logged, by reason",
            ),
            &["platform", "reason"],
        )?;
        register(&registry, &mut names, Box::new(integration_events.clone()))?;
        register(&registry, &mut names, Box::new(integration_ignored.clone()))?;
        let master_key_epoch =
            IntGauge::new("evidence_master_key_epoch", "Master key epoch new wraps use")?;
        let master_key_retiring = IntGauge::new(
            "evidence_master_key_retiring_epochs",
            "Master key epochs held while a rotation retires them",
        )?;
        let master_key_rewrapped = IntGauge::new(
            "evidence_master_key_rewrapped",
            "Stored document keys re-wrapped by master key rotations since start",
        )?;
        let master_key_scanned = IntGauge::new(
            "evidence_master_key_rotation_scanned",
            "Stored document keys examined by the rotation's current pass",
        )?;
        for g in
            [&master_key_epoch, &master_key_retiring, &master_key_rewrapped, &master_key_scanned]
        {
            register(&registry, &mut names, Box::new(g.clone()))?;
        }
        Ok(Metrics {
            registry,
            names,
            events,
            batch_size,
            commit_latency,
            http,
            http_latency,
            tree_size,
            checkpoint_age,
            anchor_lag_entries,
            anchor_lag_seconds,
            anchor_successes,
            anchor_failures,
            anchor_alarm,
            anchored_size,
            groups,
            group_events,
            group_write_seconds,
            failed_groups,
            storage_ok,
            audit_findings,
            audit_errors,
            audit_last_unix,
            work,
            work_peak,
            auth_failures,
            lookup_opened,
            cert_not_after,
            max_connections,
            integration_events,
            integration_ignored,
            master_key_epoch,
            master_key_retiring,
            master_key_rewrapped,
            master_key_scanned,
            work_counts: std::sync::Mutex::default(),
        })
    }

    /// Counts one piece of `kind` work as running until the guard drops.
    /// Take it inside the closure that does the work (a blocking thread's),
    /// not in the request's future, which a client's hang-up drops early.
    pub fn work(&self, kind: &'static str) -> Work<'_> {
        let mut map = self.work_counts.lock().unwrap_or_else(|p| p.into_inner());
        let e = map.entry(kind).or_insert((0, 0));
        e.0 += 1;
        e.1 = e.1.max(e.0);
        self.work.with_label_values(&[kind]).set(e.0);
        self.work_peak.with_label_values(&[kind]).set(e.1);
        Work { metrics: self, kind }
    }

    /// Sets the group-commit gauges from the ledger's counters.
    pub fn set_groups(&self, st: &ledger::GroupStats) {
        use std::sync::atomic::Ordering::Relaxed;
        self.groups.set(st.groups.load(Relaxed) as i64);
        self.group_events.set(st.events.load(Relaxed) as i64);
        self.group_write_seconds.set(st.write_micros.load(Relaxed) as f64 / 1e6);
        self.failed_groups.set(st.failed_groups.load(Relaxed) as i64);
        self.storage_ok.set(i64::from(!st.storage_failing.load(Relaxed)));
    }

    /// Sets the master key gauges from a rotation status.
    pub fn set_master_key(&self, st: &ledger::RotationStatus) {
        self.master_key_epoch.set(i64::from(st.current_epoch));
        self.master_key_retiring.set(st.retiring_epochs.len() as i64);
        self.master_key_rewrapped.set(st.rewrapped as i64);
        self.master_key_scanned.set(st.scanned as i64);
    }

    /// Sets the anchoring gauges from a status snapshot.
    pub fn set_anchor(&self, st: &anchor::AnchorStatus) {
        self.anchored_size.set(st.latest_anchored.unwrap_or(0) as i64);
        for p in &st.partners {
            let n = [p.name.as_str()];
            self.anchor_lag_entries.with_label_values(&n).set(p.lag_entries as i64);
            self.anchor_lag_seconds.with_label_values(&n).set(p.lag_seconds as i64);
            self.anchor_successes.with_label_values(&n).set(p.state.successes as i64);
            for (kind, count) in &p.state.failures {
                self.anchor_failures.with_label_values(&[p.name.as_str(), kind]).set(*count as i64);
            }
            for kind in ["inconsistent", "frozen", "rollback", "witness_ahead"] {
                let on = p.state.alarm.as_ref().is_some_and(|a| a.kind == kind);
                self.anchor_alarm.with_label_values(&[p.name.as_str(), kind]).set(on as i64);
            }
        }
    }

    /// The name of every metric the service exports (a labelled family
    /// appears in [`Metrics::render`] only once it has a series; it is here
    /// from the start): what alert rules and dashboards may name.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        // Encoding into a Vec cannot fail for well-formed metrics.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// The `route` label `/metrics` (public, no token) shows for a route:
/// the privileged routes share one, `privileged`, so that an anonymous
/// reader cannot count, as they happen, a tenant's erasures, reports,
/// bundle reads, token, issuer and retention changes, or lookup switches
/// (each of which is also a service entry of the log at that moment).
/// Their per-request record is the access log, for the tenant's admin.
pub fn public_route(route: &'static str) -> &'static str {
    match route {
        "erase"
        | "retention"
        | "tokens"
        | "issuers"
        | "report"
        | "bundle"
        | "lookup_switch"
        | "access_log"
        | "audit"
        | "anchor"
        | "integrations"
        | "integration_webhook"
        | "evidence_record"
        | "master_key" => "privileged",
        other => other,
    }
}

/// Registers `c`, keeping its metric names.
fn register(
    registry: &Registry,
    names: &mut Vec<String>,
    c: Box<dyn prometheus::core::Collector>,
) -> Result<(), prometheus::Error> {
    names.extend(c.desc().iter().map(|d| d.fq_name.clone()));
    registry.register(c)
}
