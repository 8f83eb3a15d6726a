//! The PostgreSQL synchronous-replication wait as Prometheus metrics: a
//! collector that reads the ledger's counters ([`ledger::pgstats`]) when
//! `/metrics` is gathered and shows them as
//! `evidence_pg_sync_commit_wait_seconds` (a histogram of each synced
//! commit's wait for the WAL flush and the synchronous standby) and
//! `evidence_pg_commit_outcome_unknown_total` (synced commits whose outcome
//! was unknown: nothing of them was acknowledged). On RocksDB both are
//! shown at zero, so alerts and dashboards name series that exist.

use std::sync::{Arc, Mutex};

use ledger::pgstats::{SyncWaitSnapshot, SYNC_WAIT_BUCKETS};
use prometheus::core::{Collector, Desc};
use prometheus::proto::{Bucket, Counter, Histogram, Metric, MetricFamily, MetricType};

/// Name of the wait histogram.
pub const WAIT: &str = "evidence_pg_sync_commit_wait_seconds";
/// Name of the unknown-outcome counter.
pub const UNKNOWN: &str = "evidence_pg_commit_outcome_unknown_total";

/// The collector; [`SyncWaitCollector::set`] gives it the latest reading.
#[derive(Clone)]
pub struct SyncWaitCollector {
    descs: Vec<Desc>,
    latest: Arc<Mutex<Option<SyncWaitSnapshot>>>,
}

impl SyncWaitCollector {
    /// A collector with nothing read yet.
    pub fn new() -> Result<SyncWaitCollector, prometheus::Error> {
        let wait = Desc::new(
            WAIT.into(),
            "PostgreSQL: seconds each synced commit waited for the WAL flush and the synchronous standby"
                .into(),
            vec![],
            Default::default(),
        )?;
        let unknown = Desc::new(
            UNKNOWN.into(),
            "PostgreSQL: synced commits of unknown outcome (cancelled standby wait, lost answer, \
             standby not confirming); nothing of them acknowledged"
                .into(),
            vec![],
            Default::default(),
        )?;
        Ok(SyncWaitCollector { descs: vec![wait, unknown], latest: Arc::default() })
    }

    /// Stores the ledger's reading (`None` on RocksDB).
    pub fn set(&self, reading: Option<SyncWaitSnapshot>) {
        *self.latest.lock().unwrap_or_else(|p| p.into_inner()) = reading;
    }
}

fn family(name: &str, help: &str, kind: MetricType, metric: Metric) -> MetricFamily {
    let mut f = MetricFamily::default();
    f.set_name(name.to_string());
    f.set_help(help.to_string());
    f.set_field_type(kind);
    f.set_metric(vec![metric]);
    f
}

impl Collector for SyncWaitCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let reading = self.latest.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let r = reading.unwrap_or_else(|| SyncWaitSnapshot {
            cumulative: SYNC_WAIT_BUCKETS.iter().map(|b| (*b, 0)).collect(),
            count: 0,
            sum_secs: 0.0,
            unknown: 0,
        });
        let mut h = Histogram::default();
        h.set_sample_count(r.count);
        h.set_sample_sum(r.sum_secs);
        h.set_bucket(
            r.cumulative
                .iter()
                .map(|(bound, n)| {
                    let mut b = Bucket::default();
                    b.set_upper_bound(*bound);
                    b.set_cumulative_count(*n);
                    b
                })
                .collect(),
        );
        let mut m = Metric::default();
        m.set_histogram(h);
        let mut c = Counter::default();
        c.set_value(r.unknown as f64);
        let mut mc = Metric::default();
        mc.set_counter(c);
        vec![
            family(WAIT, &self.descs[0].help, MetricType::HISTOGRAM, m),
            family(UNKNOWN, &self.descs[1].help, MetricType::COUNTER, mc),
        ]
    }
}
