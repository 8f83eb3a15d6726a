//! Master key rotation while the ledger serves (docs/long-term.md,
//! "Master key rotation"): a new epoch key is made and used for new wraps
//! at once; a background thread re-wraps every stored document key in
//! bounded batches; once a full pass finds no wrap naming an older epoch,
//! one synced write makes the re-wraps durable and the older keys are
//! destroyed. The state is the key files themselves (an epoch key present
//! beside the current one is being retired), so a crash at any step is
//! resumed at the next writable open.
//!
//! Owns the rotation's thread and its progress. Calls the epoch ring, the
//! vault's re-wrap calls and the store's wrapped-key pages.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::epochs::{Epoch, MasterRing};
use crate::error::{LedgerError, Result};
use crate::pkcs11::Pkcs11Uri;
use crate::store::Store;
use crate::vault::Vault;

/// Wrapped keys read and re-wrapped per batch (one unsynced write each).
pub const REWRAP_BATCH: usize = 256;
/// Pause between batches, so that ingest keeps the store's attention.
const BATCH_PAUSE: Duration = Duration::from_millis(2);
/// Wait before a failed or held pass is tried again.
const RETRY: Duration = Duration::from_millis(500);

/// Where a rotation is.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationPhase {
    /// No rotation: one master key.
    Idle,
    /// Re-wrapping stored keys under the current epoch's key.
    Rewrapping,
    /// Every stored key is under the current key; the older ones are
    /// being destroyed.
    Retiring,
}

/// A rotation's progress (`GET /v1/admin/master-key/status`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct RotationStatus {
    /// Where it is.
    pub phase: RotationPhase,
    /// The epoch new wraps use.
    pub current_epoch: Epoch,
    /// Whether the current key is in a PKCS#11 token.
    pub current_in_token: bool,
    /// Epochs still held, to be destroyed once no wrap names them.
    pub retiring_epochs: Vec<Epoch>,
    /// Stored keys re-wrapped by this process's rotations.
    pub rewrapped: u64,
    /// Stored keys examined in the current pass.
    pub scanned: u64,
    /// Full passes over the stored keys.
    pub passes: u64,
    /// Epochs destroyed by this process's rotations.
    pub retired: u64,
    /// The last failure, retried (a store or token that failed).
    pub last_error: Option<String>,
}

/// The rotation driver of one writable ledger.
pub struct Rekey {
    ring: Arc<MasterRing>,
    vault: Arc<Vault>,
    store: Arc<Store>,
    running: AtomicBool,
    stop: Arc<AtomicBool>,
    rewrapped: AtomicU64,
    scanned: AtomicU64,
    passes: AtomicU64,
    retired: AtomicU64,
    retiring_now: AtomicBool,
    /// The last pass met keys an erasure in progress holds.
    held: AtomicBool,
    last_error: Mutex<Option<String>>,
    /// Serialises `begin` (check, then make a key).
    begin: Mutex<()>,
    /// The background thread, joined by [`Rekey::stop`].
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Rekey {
    /// The driver over a ledger's ring, vault and store.
    pub fn new(ring: Arc<MasterRing>, vault: Arc<Vault>, store: Arc<Store>) -> Arc<Rekey> {
        Arc::new(Rekey {
            ring,
            vault,
            store,
            running: AtomicBool::new(false),
            stop: Arc::new(AtomicBool::new(false)),
            rewrapped: AtomicU64::new(0),
            scanned: AtomicU64::new(0),
            passes: AtomicU64::new(0),
            retired: AtomicU64::new(0),
            retiring_now: AtomicBool::new(false),
            held: AtomicBool::new(false),
            last_error: Mutex::new(None),
            begin: Mutex::new(()),
            thread: Mutex::new(None),
        })
    }

    /// Starts a rotation: a new key (a file; or in the token `to` names;
    /// by default where the current key is, a token key under the label
    /// `<label>.e<epoch>`), used for new wraps at once, and the re-wrap in
    /// the background. Refused while one runs (nothing is changed).
    pub fn begin(self: &Arc<Self>, to: Option<Pkcs11Uri>) -> Result<RotationStatus> {
        self.begin_quiet(to)?;
        self.resume();
        Ok(self.status())
    }

    /// [`Rekey::begin`] without the background thread (the offline
    /// command runs the rotation on its own thread: [`Rekey::run_to_end`]).
    pub fn begin_quiet(&self, to: Option<Pkcs11Uri>) -> Result<Epoch> {
        let _one = self.begin.lock().map_err(|_| LedgerError::Corrupt("poisoned".into()))?;
        let retiring = self.ring.retiring();
        if !retiring.is_empty() || self.running.load(Ordering::SeqCst) {
            return Err(LedgerError::AlreadyExists(format!(
                "a master key rotation is running (epochs {retiring:?} are being retired): \
                 wait until GET /v1/admin/master-key/status says it is idle"
            )));
        }
        if let Some(cur) = self.ring.current_token_uri() {
            if cur.object.is_none() && cur.id.is_none() {
                return Err(LedgerError::InvalidRequest(
                    "the current master key's URI names no object= or id=: a second key in \
                     that token would make it ambiguous; record its label in the URI first"
                        .into(),
                ));
            }
        }
        let to = match to {
            Some(uri) => Some(self.check_target(uri)?),
            None => self.ring.current_token_uri().map(|u| self.next_label(u)),
        };
        let epoch = self.ring.add_epoch(to.as_ref())?;
        tracing::warn!("master key rotation: epoch {epoch} made; re-wrapping in the background");
        crate::fault::point("rotate-new-key");
        // A failure here is no loss: each such key is brought under the
        // new epoch when it is written (`Vault::current_wrap`).
        if let Err(e) = self.vault.rewrap_pending() {
            self.fail(&e);
        }
        Ok(epoch)
    }

    /// A token key to rotate into must be named by a label of its own.
    fn check_target(&self, uri: Pkcs11Uri) -> Result<Pkcs11Uri> {
        if uri.object.is_none() {
            return Err(LedgerError::InvalidRequest(
                "the new master key's URI names no object: give it a label of its own \
                 (object=…)"
                    .into(),
            ));
        }
        if self.ring.holds_token_label(&uri) {
            return Err(LedgerError::InvalidRequest(
                "that URI names a master key this ledger holds: a rotation needs a new key \
                 (another object=…)"
                    .into(),
            ));
        }
        Ok(uri)
    }

    /// The current token key's URI with the label `<label>.e<next epoch>`.
    fn next_label(&self, mut uri: Pkcs11Uri) -> Pkcs11Uri {
        let base = uri.object.clone().unwrap_or_else(|| "evidence-ledger-master".into());
        let base = match base.rsplit_once(".e") {
            Some((b, n)) if n.bytes().all(|c| c.is_ascii_digit()) && !n.is_empty() => b.into(),
            _ => base,
        };
        uri.object = Some(format!("{base}.e{}", self.ring.current() + 1));
        uri.id = None;
        uri
    }

    /// Starts the background thread if epochs are being retired and none
    /// runs (at open: a rotation cut short by a crash goes on).
    pub fn resume(self: &Arc<Self>) {
        if self.ring.retiring().is_empty() || self.running.swap(true, Ordering::SeqCst) {
            return;
        }
        let me = self.clone();
        let spawned =
            std::thread::Builder::new().name("master-key-rotation".into()).spawn(move || {
                me.run();
                me.running.store(false, Ordering::SeqCst);
            });
        match spawned {
            Ok(h) => {
                if let Ok(mut g) = self.thread.lock() {
                    // A finished thread's handle, if any, is simply dropped.
                    *g = Some(h);
                }
            }
            Err(e) => {
                self.running.store(false, Ordering::SeqCst);
                self.fail(&LedgerError::Io(e));
            }
        }
    }

    /// Stops the background thread at its next batch and joins it (at
    /// close: it holds the store).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let handle = self.thread.lock().ok().and_then(|mut g| g.take());
        if let Some(h) = handle {
            if h.thread().id() != std::thread::current().id() {
                let _ = h.join();
            }
        }
    }

    /// Stops the background thread and waits for it (the offline command
    /// then goes on with the rotation on its own thread).
    pub fn halt_background(&self) {
        self.stop();
        self.stop.store(false, Ordering::SeqCst);
    }

    fn fail(&self, e: &LedgerError) {
        tracing::error!("master key rotation: {e}; retrying");
        if let Ok(mut g) = self.last_error.lock() {
            *g = Some(e.to_string());
        }
    }

    fn run(&self) {
        while !self.stop.load(Ordering::SeqCst) {
            match self.step() {
                Ok(true) => return,
                // A pass that re-wrapped keys is checked by the next one at
                // once; one that met a key an erasure holds waits a little.
                Ok(false) if !self.held.load(Ordering::Relaxed) => {}
                Ok(false) => std::thread::sleep(RETRY),
                Err(e) => {
                    self.fail(&e);
                    std::thread::sleep(RETRY);
                }
            }
        }
    }

    /// One pass; `true` once the older epochs are destroyed.
    fn step(&self) -> Result<bool> {
        // Writes that took their ticket before the switch land first.
        self.vault.drain_writes();
        if !self.pass()? {
            return Ok(false);
        }
        self.retiring_now.store(true, Ordering::SeqCst);
        // One synced write: every re-wrap before it is durable (RocksDB's
        // WAL, PostgreSQL's commit order) before any key is destroyed.
        self.store.probe()?;
        crate::fault::point("rotate-before-retire");
        for epoch in self.ring.retiring() {
            self.ring.retire(epoch)?;
            self.retired.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("master key rotation: epoch {epoch}'s key destroyed");
        }
        self.retiring_now.store(false, Ordering::SeqCst);
        crate::fault::point("rotate-after-retire");
        if let Ok(mut g) = self.last_error.lock() {
            *g = None;
        }
        Ok(true)
    }

    /// Reads every stored key in pages and re-wraps those of an older
    /// epoch; `true` when the pass found none left to do.
    fn pass(&self) -> Result<bool> {
        self.scanned.store(0, Ordering::Relaxed);
        let mut after: Option<[u8; 32]> = None;
        let mut clean = true;
        self.held.store(false, Ordering::Relaxed);
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return Ok(false);
            }
            let page = self.store.wrapped_keys_page(after.as_ref(), REWRAP_BATCH)?;
            let Some((last, _)) = page.last() else { break };
            after = Some(*last);
            self.scanned.fetch_add(page.len() as u64, Ordering::Relaxed);
            let done = self.vault.rewrap_stored(self.store.as_ref(), &page)?;
            if done.rewrapped > 0 || done.held > 0 {
                clean = false;
            }
            if done.held > 0 {
                self.held.store(true, Ordering::Relaxed);
            }
            if done.rewrapped > 0 {
                self.rewrapped.fetch_add(done.rewrapped as u64, Ordering::Relaxed);
                crate::fault::point("rotate-mid-rewrap");
            }
            if page.len() < REWRAP_BATCH {
                break;
            }
            std::thread::sleep(BATCH_PAUSE);
        }
        self.passes.fetch_add(1, Ordering::Relaxed);
        Ok(clean)
    }

    /// Runs a rotation begun by [`Rekey::begin`] to its end on this
    /// thread (the offline `rotate-master-key`).
    pub fn run_to_end(&self) -> Result<()> {
        loop {
            if self.step()? {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Re-wraps every stored key under the current epoch, synced, and
    /// retires nothing; returns how many were re-wrapped.
    pub fn rewrap_all(&self) -> Result<usize> {
        let before = self.rewrapped.load(Ordering::Relaxed);
        self.vault.drain_writes();
        while !self.pass()? {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.store.probe()?;
        Ok((self.rewrapped.load(Ordering::Relaxed) - before) as usize)
    }

    /// Where the rotation is.
    pub fn status(&self) -> RotationStatus {
        let retiring = self.ring.retiring();
        let phase = if retiring.is_empty() {
            RotationPhase::Idle
        } else if self.retiring_now.load(Ordering::SeqCst) {
            RotationPhase::Retiring
        } else {
            RotationPhase::Rewrapping
        };
        RotationStatus {
            phase,
            current_epoch: self.ring.current(),
            current_in_token: self.ring.current_in_token(),
            retiring_epochs: retiring,
            rewrapped: self.rewrapped.load(Ordering::Relaxed),
            scanned: self.scanned.load(Ordering::Relaxed),
            passes: self.passes.load(Ordering::Relaxed),
            retired: self.retired.load(Ordering::Relaxed),
            last_error: self.last_error.lock().ok().and_then(|g| g.clone()),
        }
    }
}
