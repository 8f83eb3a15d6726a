//! Counters of the PostgreSQL store's synchronous commits: how long each
//! synced `COMMIT` waited (the local WAL flush and, with
//! `synchronous_standby_names`, the synchronous standby's flush, plus the
//! `--pg-require-sync-standby` check), and how many ended with an unknown
//! outcome (a cancelled wait, a lost answer, a standby that did not
//! confirm in time). Plain atomics: the service turns them into a
//! Prometheus histogram and counter when `/metrics` is read, and this
//! crate stays free of a metrics dependency.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds, in seconds, of the wait histogram's buckets (the last,
/// `+Inf`, is implied). The commit deadline defaults to 10 s.
pub const SYNC_WAIT_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The counters; shared by the store's connections.
#[derive(Debug, Default)]
pub struct SyncWaitStats {
    /// Observations per bucket (not cumulative); the last is `+Inf`.
    buckets: [AtomicU64; SYNC_WAIT_BUCKETS.len() + 1],
    count: AtomicU64,
    sum_micros: AtomicU64,
    unknown: AtomicU64,
}

/// A reading of [`SyncWaitStats`].
#[derive(Clone, Debug, PartialEq)]
pub struct SyncWaitSnapshot {
    /// Cumulative counts at each bound of [`SYNC_WAIT_BUCKETS`].
    pub cumulative: Vec<(f64, u64)>,
    /// Synced commits observed.
    pub count: u64,
    /// Seconds they waited in all.
    pub sum_secs: f64,
    /// Synced commits whose outcome was unknown (nothing acknowledged).
    pub unknown: u64,
}

impl SyncWaitStats {
    /// Records one synced commit's wait.
    pub fn observe(&self, wait: Duration) {
        let secs = wait.as_secs_f64();
        let i =
            SYNC_WAIT_BUCKETS.iter().position(|b| secs <= *b).unwrap_or(SYNC_WAIT_BUCKETS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(wait.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Records one synced commit of unknown outcome.
    pub fn unknown_outcome(&self) {
        self.unknown.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> SyncWaitSnapshot {
        let mut total = 0;
        let cumulative = SYNC_WAIT_BUCKETS
            .iter()
            .zip(&self.buckets)
            .map(|(b, n)| {
                total += n.load(Ordering::Relaxed);
                (*b, total)
            })
            .collect();
        SyncWaitSnapshot {
            cumulative,
            count: self.count.load(Ordering::Relaxed),
            sum_secs: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
            unknown: self.unknown.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_the_sum_adds_up() {
        let s = SyncWaitStats::default();
        s.observe(Duration::from_micros(300));
        s.observe(Duration::from_millis(3));
        s.observe(Duration::from_secs(30));
        s.unknown_outcome();
        let r = s.snapshot();
        assert_eq!(r.count, 3);
        assert_eq!(r.unknown, 1);
        assert_eq!(r.cumulative[0], (0.0005, 1));
        assert_eq!(r.cumulative[3], (0.005, 2));
        assert_eq!(r.cumulative.last(), Some(&(10.0, 2)), "30 s is only in +Inf");
        assert!((r.sum_secs - 30.0033).abs() < 1e-9, "{}", r.sum_secs);
    }
}
