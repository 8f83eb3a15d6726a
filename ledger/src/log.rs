//! The log: the sequencer's front door and the committed tree behind it.
//! Appenders queue prepared batches here and wait for their receipts;
//! readers get the committed head, leaves, tiles and RFC 9162 proofs, only
//! ever for sizes at or below the head.
//!
//! Owns the published head, the queue into the sequencer thread, that
//! thread, the group-commit counters and (PostgreSQL) the sequencer lease.
//! Calls the sequencer (to start it), the tree and tile readers and the
//! store; never the vault or the registry.

use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use verifier::suite::Suite;
use verifier::Hash;

use crate::error::{LedgerError, Result};
use crate::pglease::Lease;
use crate::proofs::{CachedProver, UpperLevels};
use crate::sequencer::{GroupStats, Sequencer};
use crate::store::Store;
use crate::tree::StoreReader;
use crate::types::{Head, Prepared, Receipt, Request};
use crate::util::{lock, read_arc};

/// The committed log and the way into its one writer.
pub(crate) struct Log {
    store: Arc<Store>,
    head: Arc<RwLock<Arc<Head>>>,
    sender: RwLock<Option<SyncSender<Request>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    stats: Arc<GroupStats>,
    /// PostgreSQL: the sequencer lease this process holds.
    lease: Option<Lease>,
    /// The upper levels of the committed tree, for served proofs.
    upper: UpperLevels,
    /// The log's suite (its tree hash).
    suite: Suite,
}

impl Log {
    /// The log of `store` at `head`, read-only: no sequencer.
    pub(crate) fn read_only(store: Arc<Store>, head: Head, suite: Suite) -> Log {
        Log {
            store,
            head: Arc::new(RwLock::new(Arc::new(head))),
            sender: RwLock::new(None),
            thread: Mutex::new(None),
            stats: Arc::new(GroupStats::default()),
            lease: None,
            upper: UpperLevels::default(),
            suite,
        }
    }

    /// Starts `seq` on its own thread behind a queue of `queue_depth`
    /// requests. `seq` must publish to [`Log::shared_head`] and count in
    /// [`Log::stats_handle`].
    pub(crate) fn start(
        &mut self,
        seq: Sequencer,
        queue_depth: usize,
        lease: Option<Lease>,
    ) -> Result<()> {
        let (tx, rx) = mpsc::sync_channel(queue_depth);
        let thread =
            std::thread::Builder::new().name("sequencer".into()).spawn(move || seq.run(rx))?;
        self.sender = RwLock::new(Some(tx));
        self.thread = Mutex::new(Some(thread));
        self.lease = lease;
        Ok(())
    }

    /// The head the sequencer publishes to.
    pub(crate) fn shared_head(&self) -> Arc<RwLock<Arc<Head>>> {
        self.head.clone()
    }

    /// The counters the sequencer counts in.
    pub(crate) fn stats_handle(&self) -> Arc<GroupStats> {
        self.stats.clone()
    }

    /// The committed head.
    pub(crate) fn head(&self) -> Arc<Head> {
        read_arc(&self.head)
    }

    /// Counters of the group commits since open.
    pub(crate) fn stats(&self) -> &GroupStats {
        &self.stats
    }

    /// Whether appends can be taken: the sequencer runs and was not closed.
    pub(crate) fn is_accepting(&self) -> bool {
        let open = self.sender.read().map(|s| s.is_some()).unwrap_or(false);
        let running = lock(&self.thread).as_ref().is_some_and(|h| !h.is_finished());
        open && running
    }

    /// False from a failed synced write until one succeeds again, or once
    /// the lease is lost.
    pub(crate) fn storage_ok(&self) -> bool {
        !self.stats.storage_failing.load(std::sync::atomic::Ordering::Relaxed) && !self.lease_lost()
    }

    /// PostgreSQL: whether this process lost its sequencer lease.
    pub(crate) fn lease_lost(&self) -> bool {
        self.lease.as_ref().is_some_and(Lease::lost) || self.store.fenced()
    }

    /// Queues one appender's prepared batch and waits for its receipts.
    pub(crate) fn sequence(&self, tenant: &str, mut events: Vec<Prepared>) -> Result<Vec<Receipt>> {
        // The sequencer reads only an event's ids, kind and document hash
        // (content hashes and sealed records are prepared): its parsed
        // JSON and attestations are freed here, on the caller's thread,
        // not on the one sequencer thread (where dropping them cost ~7%).
        for p in &mut events {
            p.event.raw = serde_json::Value::Null;
            p.event.attestations = Vec::new();
        }
        let (reply, rx) = mpsc::sync_channel(1);
        let req = Request { tenant: tenant.to_string(), events, reply };
        {
            let guard = match self.sender.read() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            let tx = guard.as_ref().ok_or_else(|| LedgerError::Unavailable("closed".into()))?;
            tx.send(req).map_err(|_| LedgerError::Unavailable("sequencer stopped".into()))?;
        }
        rx.recv().map_err(|_| LedgerError::Unavailable("sequencer stopped".into()))?
    }

    /// Stops taking appends, lets queued batches commit, and joins the
    /// sequencer. Idempotent.
    pub(crate) fn close(&self) {
        match self.sender.write() {
            Ok(mut s) => drop(s.take()),
            Err(p) => drop(p.into_inner().take()),
        }
        let handle = lock(&self.thread).take();
        if let Some(h) = handle {
            let _ = h.join();
        }
    }

    /// The leaf bytes at `index`, if committed.
    pub(crate) fn leaf(&self, index: u64) -> Result<Vec<u8>> {
        if index >= self.head().size {
            return Err(LedgerError::NotFound(format!("entry {index}")));
        }
        self.store.leaf(index)?.ok_or_else(|| LedgerError::Corrupt(format!("leaf {index} missing")))
    }

    /// A C2SP tlog-tiles tile of the committed tree.
    pub(crate) fn tile(&self, id: &crate::tiles::TileId) -> Result<Vec<u8>> {
        crate::tiles::read_tile(&self.store, self.head().size, id)
    }

    /// RFC 9162 inclusion proof of `index` in the committed tree of `tree_size`.
    pub(crate) fn inclusion_proof(&self, index: u64, tree_size: u64) -> Result<Vec<Hash>> {
        let head = self.check_size(tree_size)?;
        let reader = StoreReader(&self.store);
        self.prover(&reader, &head).inclusion(index, tree_size)
    }

    /// RFC 9162 consistency proof between committed sizes `old` and `new`.
    pub(crate) fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        let head = self.check_size(new)?;
        let reader = StoreReader(&self.store);
        self.prover(&reader, &head).consistency(old, new)
    }

    /// The root of the committed tree of `size` leaves.
    pub(crate) fn root_at(&self, size: u64) -> Result<Hash> {
        let head = self.check_size(size)?;
        let reader = StoreReader(&self.store);
        self.prover(&reader, &head).root(size)
    }

    /// Proofs of trees at or below `head`, with the upper levels of its
    /// lineage from memory.
    fn prover<'a>(
        &'a self,
        reader: &'a StoreReader<'a>,
        head: &Head,
    ) -> CachedProver<'a, StoreReader<'a>> {
        CachedProver { reader, upper: &self.upper, lineage: head.lineage, suite: self.suite }
    }

    /// The committed head, if `size` is at or below it.
    fn check_size(&self, size: u64) -> Result<Arc<Head>> {
        let head = self.head();
        if size > head.size {
            return Err(LedgerError::InvalidRequest(format!(
                "tree size {size} > current size {}",
                head.size
            )));
        }
        Ok(head)
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        self.close();
    }
}
