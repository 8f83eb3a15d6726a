//! The background anchorer: a thread that runs a round when the policy says
//! so (every interval while the log grows, after N new entries, or on
//! demand), retries failing partners with backoff, and reports status.
//! The configuration is reloaded from the store on [`Anchorer::reload`]
//! (an online change: `crate::manage`), and the next round uses it.

use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ledger::Ledger;
use notary_bridge::WitnessClient;

use crate::config::{AnchorConfig, PartnerConfig};
use crate::error::{AnchorError, Result};
use crate::round::{now_unix, partner_due, run_round, tsa_state_name};
use crate::store::{self, AnchoredCheckpoint, CheckpointTimestamp, PartnerState};
use crate::timestamp::TsaClient;

/// How long one witness or TSA call may take.
pub(crate) const PARTNER_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the thread wakes to look at the schedule.
const TICK: Duration = Duration::from_millis(250);

/// One partner's progress, as metrics and operators see it.
#[derive(Clone, Debug)]
pub struct PartnerStatus {
    /// Witness name, or `tsa:<name>` for the TSA.
    pub name: String,
    /// Its URL.
    pub url: String,
    /// Stored progress.
    pub state: PartnerState,
    /// Entries the log has that this partner has not cosigned (or timestamped).
    pub lag_entries: u64,
    /// Seconds since its latest success while it is behind (0 when current).
    pub lag_seconds: u64,
}

/// Anchoring as a whole.
#[derive(Clone, Debug)]
pub struct AnchorStatus {
    /// Size of the latest anchored checkpoint.
    pub latest_anchored: Option<u64>,
    /// Size of the newest checkpoint timestamped by the TSA.
    pub latest_timestamped: Option<u64>,
    /// Every partner; the TSA, if any, as `tsa:<name>`.
    pub partners: Vec<PartnerStatus>,
}

struct Shared {
    ledger: Ledger,
    /// The configuration in force and the clients made from it, swapped
    /// whole by [`Anchorer::reload`]: a round runs on one snapshot.
    current: RwLock<Arc<Current>>,
    wake: Mutex<Wake>,
    cond: Condvar,
}

/// One configuration and the clients made from it.
struct Current {
    config: Arc<AnchorConfig>,
    clients: Clients,
}

impl Shared {
    fn current(&self) -> Arc<Current> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[derive(Default)]
struct Wake {
    triggered: bool,
    stop: bool,
}

/// What the thread talks to.
struct Clients {
    witnesses: Vec<(PartnerConfig, WitnessClient)>,
    tsa: Option<TsaClient>,
}

/// The running anchorer. Dropping it stops the thread.
pub struct Anchorer {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Anchorer {
    /// Loads the configuration and starts the anchoring thread (which
    /// idles while there is no witness and no TSA).
    pub fn start(ledger: Ledger) -> Result<Anchorer> {
        let current = RwLock::new(Arc::new(load_current(&ledger)?));
        let shared =
            Arc::new(Shared { ledger, current, wake: Mutex::default(), cond: Condvar::new() });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("anchorer".into())
            .spawn(move || run(&s))
            .map_err(|e| AnchorError::InvalidConfig(format!("cannot start anchoring: {e}")))?;
        Ok(Anchorer { shared, thread: Mutex::new(Some(thread)) })
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<AnchorConfig> {
        self.shared.current().config.clone()
    }

    /// Whether there is anything to anchor with (a witness or a TSA).
    pub fn is_active(&self) -> bool {
        self.shared.current().config.is_active()
    }

    /// Reloads the configuration from the store (after an online change);
    /// the next round uses it. On error the configuration in force stays.
    pub fn reload(&self) -> Result<()> {
        let next = Arc::new(load_current(&self.shared.ledger)?);
        *self.shared.current.write().unwrap_or_else(|p| p.into_inner()) = next;
        self.shared.cond.notify_all();
        Ok(())
    }

    /// Asks for a round now (failing partners are asked too, backoff or not).
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
        store::latest_anchored(&self.shared.ledger, &self.config())
    }

    /// The TSA token over the checkpoint of `size`, if any.
    pub fn timestamp(&self, size: u64) -> Result<Option<CheckpointTimestamp>> {
        store::checkpoint_timestamp(&self.shared.ledger, size)
    }

    /// The newest checkpoint timestamped by the TSA.
    pub fn latest_timestamp(&self) -> Result<Option<CheckpointTimestamp>> {
        match store::latest_timestamped_size(&self.shared.ledger)? {
            None => Ok(None),
            Some(size) => store::checkpoint_timestamp(&self.shared.ledger, size),
        }
    }

    /// Progress of every partner.
    pub fn status(&self) -> Result<AnchorStatus> {
        let size = self.shared.ledger.status().tree_size;
        let now = now_unix();
        let config = self.config();
        let named = config
            .partners
            .iter()
            .map(|p| (p.name.clone(), p.url.clone()))
            .chain(config.tsa.iter().map(|t| (tsa_state_name(&t.name), t.url.clone())));
        let partners = named
            .map(|(name, url)| {
                let state = store::partner_state(&self.shared.ledger, &name)?;
                let behind = state.last_size < size;
                Ok(PartnerStatus {
                    name,
                    url,
                    lag_entries: size.saturating_sub(state.last_size),
                    lag_seconds: if behind {
                        now.saturating_sub(state.last_cosigned_unix)
                    } else {
                        0
                    },
                    state,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(AnchorStatus {
            latest_anchored: store::latest_anchored_size(&self.shared.ledger)?,
            latest_timestamped: store::latest_timestamped_size(&self.shared.ledger)?,
            partners,
        })
    }
}

impl Drop for Anchorer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn load_current(ledger: &Ledger) -> Result<Current> {
    let config = AnchorConfig::load(ledger)?;
    config.validate()?;
    let clients = clients(&config)?;
    Ok(Current { config: Arc::new(config), clients })
}

fn clients(config: &AnchorConfig) -> Result<Clients> {
    let witnesses = config
        .partners
        .iter()
        .map(|p| {
            WitnessClient::with_options(&p.url, &p.vkey, PARTNER_TIMEOUT, p.ca_pem.as_deref())
                .map(|c| (p.clone(), c))
                .map_err(|e| AnchorError::InvalidConfig(format!("witness {}: {e}", p.name)))
        })
        .collect::<Result<Vec<_>>>()?;
    let tsa = match &config.tsa {
        None => None,
        Some(t) => Some(
            TsaClient::new(t.clone(), PARTNER_TIMEOUT)
                .map_err(|e| AnchorError::InvalidConfig(format!("TSA {}: {e}", t.name)))?,
        ),
    };
    Ok(Clients { witnesses, tsa })
}

/// The thread: wake every tick or on trigger; run a round when due, with
/// the configuration in force at that moment.
fn run(shared: &Shared) {
    let mut last_round: Option<(Instant, u64)> = None;
    while let Some(triggered) = wait(shared) {
        let current = shared.current();
        let clients = &current.clients;
        if clients.witnesses.is_empty() && clients.tsa.is_none() {
            continue;
        }
        let policy = &current.config.policy;
        let size = shared.ledger.status().tree_size;
        let (since, last_size) =
            last_round.map(|(t, s)| (t.elapsed(), s)).unwrap_or((Duration::MAX, 0));
        let grown = size > last_size;
        let due = triggered
            || (grown && since >= policy.interval())
            || (grown && policy.every_entries > 0 && size - last_size >= policy.every_entries)
            || retry_due(shared, clients, size);
        if !due {
            continue;
        }
        let due_now = |st: &PartnerState, size| partner_due(st, size, triggered);
        let tsa = clients.tsa.as_ref();
        match run_round(&shared.ledger, &current.config, &clients.witnesses, tsa, due_now) {
            Ok(o) => {
                tracing::debug!(
                    size = o.size,
                    cosigned = ?o.cosigned,
                    failed = o.failed.len(),
                    anchored = o.anchored,
                    timestamped = o.timestamped,
                    "anchoring round"
                );
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
fn retry_due(shared: &Shared, clients: &Clients, size: u64) -> bool {
    let names = clients
        .witnesses
        .iter()
        .map(|(p, _)| p.name.clone())
        .chain(clients.tsa.iter().map(|t| tsa_state_name(&t.partner.name)));
    names.into_iter().any(|name| {
        store::partner_state(&shared.ledger, &name)
            .is_ok_and(|st| st.consecutive_failures > 0 && partner_due(&st, size, false))
    })
}

/// Waits one tick or for a trigger; `None` when asked to stop.
fn wait(shared: &Shared) -> Option<bool> {
    let guard = shared.wake.lock().ok()?;
    let (mut w, _) =
        shared.cond.wait_timeout_while(guard, TICK, |w| !w.triggered && !w.stop).ok()?;
    if w.stop {
        return None;
    }
    Some(std::mem::take(&mut w.triggered))
}
