//! The background anchorer: a thread that runs a round when the policy says
//! so (every interval while the log grows, after N new entries, or on
//! demand), retries failing partners with backoff, and reports status.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ledger::Ledger;
use notary_bridge::WitnessClient;

use crate::config::{AnchorConfig, PartnerConfig};
use crate::error::{AnchorError, Result};
use crate::round::{now_unix, partner_due, run_round};
use crate::store::{self, AnchoredCheckpoint, PartnerState};

/// How long one witness call may take.
const WITNESS_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the thread wakes to look at the schedule.
const TICK: Duration = Duration::from_millis(250);

/// One partner's progress, as metrics and operators see it.
#[derive(Clone, Debug)]
pub struct PartnerStatus {
    /// Witness name.
    pub name: String,
    /// Its URL.
    pub url: String,
    /// Stored progress.
    pub state: PartnerState,
    /// Entries the log has that this partner has not cosigned.
    pub lag_entries: u64,
    /// Seconds since its latest cosignature (since ever: u64::MAX... reported as now).
    pub lag_seconds: u64,
}

/// Anchoring as a whole.
#[derive(Clone, Debug)]
pub struct AnchorStatus {
    /// Size of the latest anchored checkpoint.
    pub latest_anchored: Option<u64>,
    /// Every partner.
    pub partners: Vec<PartnerStatus>,
}

struct Shared {
    ledger: Ledger,
    config: AnchorConfig,
    wake: Mutex<Wake>,
    cond: Condvar,
}

#[derive(Default)]
struct Wake {
    triggered: bool,
    stop: bool,
}

/// The running anchorer. Dropping it stops the thread.
pub struct Anchorer {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Anchorer {
    /// Loads the configuration and starts the anchoring thread.
    pub fn start(ledger: Ledger) -> Result<Anchorer> {
        let config = AnchorConfig::load(&ledger)?;
        config.validate()?;
        let clients = config
            .partners
            .iter()
            .map(|p| {
                WitnessClient::with_timeout(&p.url, &p.vkey, WITNESS_TIMEOUT)
                    .map(|c| (p.clone(), c))
                    .map_err(|e| AnchorError::InvalidConfig(format!("witness {}: {e}", p.name)))
            })
            .collect::<Result<Vec<_>>>()?;
        let shared = Arc::new(Shared {
            ledger,
            config,
            wake: Mutex::default(),
            cond: Condvar::new(),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("anchorer".into())
            .spawn(move || run(&s, &clients))
            .map_err(|e| {
                AnchorError::InvalidConfig(format!("cannot start anchoring thread: {e}"))
            })?;
        Ok(Anchorer {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &AnchorConfig {
        &self.shared.config
    }

    /// Asks for a round now.
    pub fn trigger(&self) {
        self.set(|w| w.triggered = true);
    }

    /// Stops the thread after the round in progress, if any.
    pub fn stop(&self) {
        self.set(|w| w.stop = true);
        let handle = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(h) = handle {
            let _ = h.join();
        }
    }

    fn set(&self, f: impl FnOnce(&mut Wake)) {
        if let Ok(mut w) = self.shared.wake.lock() {
            f(&mut w);
        }
        self.shared.cond.notify_all();
    }

    /// The latest anchored checkpoint with its cosignatures.
    pub fn latest_anchored(&self) -> Result<Option<AnchoredCheckpoint>> {
        store::latest_anchored(&self.shared.ledger, &self.shared.config)
    }

    /// Progress of every partner.
    pub fn status(&self) -> Result<AnchorStatus> {
        let size = self.shared.ledger.status().tree_size;
        let now = now_unix();
        let partners = self
            .shared
            .config
            .partners
            .iter()
            .map(|p| {
                let state = store::partner_state(&self.shared.ledger, &p.name)?;
                Ok(PartnerStatus {
                    name: p.name.clone(),
                    url: p.url.clone(),
                    lag_entries: size.saturating_sub(state.last_size),
                    lag_seconds: if state.last_size >= size {
                        0
                    } else {
                        now.saturating_sub(state.last_cosigned_unix)
                    },
                    state,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(AnchorStatus {
            latest_anchored: store::latest_anchored_size(&self.shared.ledger)?,
            partners,
        })
    }
}

impl Drop for Anchorer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The thread: wake every tick or on trigger; run a round when due.
fn run(shared: &Shared, clients: &[(PartnerConfig, WitnessClient)]) {
    if clients.is_empty() {
        return;
    }
    let policy = shared.config.policy.clone();
    let mut last_round: Option<(Instant, u64)> = None;
    loop {
        let triggered = match wait(shared) {
            None => return,
            Some(t) => t,
        };
        let size = shared.ledger.status().tree_size;
        let (since, last_size) = last_round
            .map(|(t, s)| (t.elapsed(), s))
            .unwrap_or((Duration::MAX, 0));
        let grown = size > last_size;
        let due = triggered
            || (grown && since >= policy.interval())
            || (grown && policy.every_entries > 0 && size - last_size >= policy.every_entries)
            || retry_due(shared, clients, size);
        if !due {
            continue;
        }
        let due_now = |st: &PartnerState, size| partner_due(st, size, triggered);
        match run_round(&shared.ledger, &shared.config, clients, due_now) {
            Ok(o) => {
                tracing::debug!(size = o.size, cosigned = ?o.cosigned, failed = o.failed.len(), anchored = o.anchored, "anchoring round");
                last_round = Some((Instant::now(), o.size));
            }
            Err(e) => {
                // Not a partner's fault: wait a full interval before the next try.
                tracing::error!("anchoring round failed: {e}");
                last_round = Some((Instant::now(), size));
            }
        }
    }
}

/// A partner behind the last round whose backoff has run out.
fn retry_due(shared: &Shared, clients: &[(PartnerConfig, WitnessClient)], size: u64) -> bool {
    clients.iter().any(|(p, _)| {
        store::partner_state(&shared.ledger, &p.name)
            .is_ok_and(|st| st.consecutive_failures > 0 && partner_due(&st, size, false))
    })
}

/// Waits one tick or for a trigger; `None` when asked to stop.
fn wait(shared: &Shared) -> Option<bool> {
    let guard = shared.wake.lock().ok()?;
    let (mut w, _) = shared
        .cond
        .wait_timeout_while(guard, TICK, |w| !w.triggered && !w.stop)
        .ok()?;
    if w.stop {
        return None;
    }
    Some(std::mem::take(&mut w.triggered))
}
