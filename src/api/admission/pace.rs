//! How long admitted submissions take to be served, for admission's
//! bounds: while the service keeps pace, a tenant may hold many requests
//! in flight (a pause of the group commit is ridden out, not shed); once
//! it falls behind, the bounds tighten and the excess is refused at once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Service time (body read to answer) past which the service counts as
/// behind: twice the receipt p99 the platform's peak asks for (25 ms).
pub const BEHIND: Duration = Duration::from_millis(50);

/// A moving average of the service time of submissions, lock-free.
#[derive(Debug, Default)]
pub struct Pace {
    /// Exponentially weighted (1/8 per sample), in microseconds.
    avg_us: AtomicU64,
}

impl Pace {
    /// Records one submission's service time. Concurrent updates may lose
    /// a sample; the average only needs the trend.
    pub fn record(&self, took: Duration) {
        let sample = u64::try_from(took.as_micros()).unwrap_or(u64::MAX) / 8;
        let old = self.avg_us.load(Ordering::Relaxed);
        self.avg_us.store((old - old / 8).saturating_add(sample), Ordering::Relaxed);
    }

    /// Whether recent submissions took longer than [`BEHIND`].
    pub fn behind(&self) -> bool {
        Duration::from_micros(self.avg_us.load(Ordering::Relaxed)) > BEHIND
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_average_follows_the_service_time_both_ways() {
        let p = Pace::default();
        assert!(!p.behind());
        (0..100).for_each(|_| p.record(Duration::from_millis(3)));
        assert!(!p.behind(), "3 ms is keeping pace");
        // One slow answer (a 200 ms fsync) is ridden out...
        p.record(Duration::from_millis(200));
        assert!(!p.behind());
        // ...a service that stays slow is behind...
        (0..20).for_each(|_| p.record(Duration::from_millis(200)));
        assert!(p.behind());
        // ...until it keeps pace again.
        (0..40).for_each(|_| p.record(Duration::from_millis(3)));
        assert!(!p.behind());
    }
}
