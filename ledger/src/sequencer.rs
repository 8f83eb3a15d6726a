//! The sequencer: the log's one writer. It takes validated, verified
//! batches from many appenders, groups whatever is waiting into one synced
//! RocksDB `WriteBatch` (leaves, stored hashes, indexes, tree state and the
//! signed checkpoint), and answers each appender only once that is durable.
//!
//! Longer than 600 lines: the group commit is one state machine (stage,
//! commit, answer, recover) whose parts share the group in flight; its unit
//! tests (~150 lines) sit beside it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, RwLock};

use sha2::{Digest as _, Sha256};
use verifier::checkpoint::Checkpoint;
use verifier::entry::{self, Event};
use verifier::Hash;

use crate::attester::ServiceEvent;
use crate::error::{LedgerError, Result};
use crate::highwater::{HighWater, Mark};
use crate::logkey::LogSigner;
use crate::store::{DocIndexEntry, IdemRecord, PrivateEntry, Store, TreeState, TAG_CHAIN};
use crate::tree::{self, Overlay};
use crate::types::{Erasure, Head, Prepared, Receipt, Request};
use crate::vault::Vault;

/// How often the sequencer retries a synced write while storage fails.
const PROBE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);
/// PostgreSQL: how long the sequencer waits for the next request before it
/// writes the rollback marker of its newest head on its own (under load,
/// each group commit carries the marker of the head before it).
const MARKER_DELAY: std::time::Duration = std::time::Duration::from_millis(50);

/// Why a group failed: `NonFatal` fails one request and the group goes on;
/// `Fatal` means storage failed, every request of the group fails and the
/// head is reloaded from disk before the next group.
enum SequenceError {
    NonFatal(LedgerError),
    Fatal(LedgerError),
}

/// A receipt before the proof: what staging decided for one event.
struct Staged {
    event_id: String,
    index: u64,
    leaf_hash: Hash,
    ledger_time: Arc<str>,
    replayed: bool,
}

/// A new entry of the group in flight: index, content hash, leaf hash.
type PendingEntry = (u64, [u8; 32], Hash);

/// Per-group state: the batch being built and the tree overlay.
struct Group<'a> {
    batch: crate::store::Batch<'a>,
    overlay: Overlay<'a>,
    size: u64,
    time: Arc<str>,
    time_micros: i64,
    /// New entries of this group by tenant and event id: (index, content, leaf hash).
    pending: HashMap<String, HashMap<String, PendingEntry>>,
    /// New v2 entries of this group by document id.
    doc_pending: HashMap<[u8; 32], Vec<DocIndexEntry>>,
    /// New v2 entries of this group by subject id: (document id, entry).
    subject_pending: HashMap<[u8; 32], Vec<([u8; 32], DocIndexEntry)>>,
    /// Document keys this group writes (durable once it commits).
    new_keys: Vec<[u8; 32]>,
    /// Chain heads of the group's documents (leaf hash of the last entry,
    /// number of entries): read once per group, advanced by each entry.
    chains: HashMap<[u8; 32], Option<(Hash, u64)>>,
}

/// Counters of the group commits, for metrics.
#[derive(Debug, Default)]
pub struct GroupStats {
    /// Group commits that wrote leaves.
    pub groups: AtomicU64,
    /// Leaves written by them.
    pub events: AtomicU64,
    /// Microseconds spent in synced RocksDB writes, in all.
    pub write_micros: AtomicU64,
    /// Groups that failed on storage (nothing acknowledged).
    pub failed_groups: AtomicU64,
    /// True from a failed group commit until a synced write succeeds again
    /// (a later group, or the sequencer's probe every second while idle).
    pub storage_failing: AtomicBool,
    /// True from a failed group commit until the head was reloaded from
    /// the store and a synced write on top of it committed ([`Sequencer`]'s
    /// `confirm`). Meanwhile the last confirmed head is served and no
    /// request is answered, replays included: a commit whose outcome is
    /// unknown may be on the primary only (a cancelled or lost wait for
    /// the synchronous standby), and a failover would take it back.
    pub unconfirmed: AtomicBool,
}

pub(crate) struct Sequencer {
    pub stats: Arc<GroupStats>,
    pub store: Arc<Store>,
    pub signer: LogSigner,
    pub head: Arc<RwLock<Arc<Head>>>,
    pub sync: bool,
    pub max_group_events: usize,
    /// The newest checkpoint handed out, recorded before answering.
    pub high_water: std::cell::RefCell<HighWater>,
    /// Keys and keyed hashes (evidence v2).
    pub vault: Arc<Vault>,
    /// Whether the log holds v1 entries, whose idempotency keys are
    /// (tenant, event id) in clear.
    pub has_v1: bool,
    /// The log key, which attests the erasure entries it writes.
    pub log_key: crate::logkey::LogKey,
    /// The tree size from which contracts are chained (record v3): above
    /// 0, a contract without a chain head may have older entries.
    pub chain_since: u64,
}

/// Idempotency records of a request's events: by keyed id, and for a log
/// with v1 entries, by the v1 key where the keyed id has none.
pub(crate) fn idem_lookup(
    store: &Store,
    has_v1: bool,
    tenant: &str,
    events: &[(&str, [u8; 32])],
) -> Result<Vec<Option<(IdemRecord, bool)>>> {
    let ids: Vec<[u8; 32]> = events.iter().map(|e| e.1).collect();
    idem_lookup_with(store, has_v1, tenant, events, store.idempotency_v2(&ids)?)
}

/// [`idem_lookup`] with the keyed ids' records already read (`v2`, one
/// per event).
fn idem_lookup_with(
    store: &Store,
    has_v1: bool,
    tenant: &str,
    events: &[(&str, [u8; 32])],
    v2: Vec<Option<IdemRecord>>,
) -> Result<Vec<Option<(IdemRecord, bool)>>> {
    let mut found: Vec<Option<(IdemRecord, bool)>> =
        v2.into_iter().map(|r| r.map(|r| (r, false))).collect();
    if has_v1 && found.iter().any(Option::is_none) {
        let keys: Vec<(&str, &str)> = events.iter().map(|e| (tenant, e.0)).collect();
        for (f, old) in found.iter_mut().zip(store.idempotency(&keys)?) {
            if f.is_none() {
                *f = old.map(|r| (r, true));
            }
        }
    }
    Ok(found)
}

impl Sequencer {
    /// Runs until every sender is dropped; then drains and returns.
    pub(crate) fn run(self, rx: Receiver<Request>) {
        // PostgreSQL: the rollback marker lags the head (see `MARKER_DELAY`).
        let mut marker_behind = false;
        loop {
            let first = if self.stats.storage_failing.load(Ordering::Relaxed) {
                match rx.recv_timeout(PROBE_INTERVAL) {
                    Ok(r) => r,
                    Err(RecvTimeoutError::Timeout) => {
                        self.probe();
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            } else if marker_behind {
                match rx.recv_timeout(MARKER_DELAY) {
                    Ok(r) => r,
                    Err(RecvTimeoutError::Timeout) => {
                        // Written or not, the next group carries it.
                        self.write_marker();
                        marker_behind = false;
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            } else {
                match rx.recv() {
                    Ok(r) => r,
                    Err(_) => return,
                }
            };
            let mut n = first.events.len();
            let mut group = vec![first];
            while n < self.max_group_events {
                match rx.try_recv() {
                    Ok(r) => {
                        n += r.events.len();
                        group.push(r);
                    }
                    Err(_) => break,
                }
            }
            let before = self.current_head().size;
            self.commit_group(group);
            marker_behind |= self.store.is_postgres() && self.current_head().size > before;
        }
    }

    /// PostgreSQL, idle: writes the rollback marker of the served head
    /// (synced). A failure is a failed synced write like a group's (the
    /// standby is gone): `/readyz` answers 503 until a synced write (a
    /// group's, or the probe's every second) succeeds. The marker's own
    /// outcome does not matter: it never names more than was handed out.
    fn write_marker(&self) {
        if self.stats.unconfirmed.load(Ordering::Relaxed) {
            return;
        }
        let head = self.current_head();
        if let Err(e) = self.store.put_handed_out(&Mark { size: head.size, root: head.root }) {
            self.storage_result(Err(&e));
        }
    }

    /// While storage fails and no append comes: is a synced write
    /// possible again (disk space back, RocksDB resumed, the standby
    /// back)? After a failed group commit that write is [`Self::confirm`].
    fn probe(&self) {
        let r = if self.stats.unconfirmed.load(Ordering::Relaxed) {
            self.confirm()
        } else {
            self.store.probe()
        };
        match r {
            Ok(()) => self.storage_result(Ok(())),
            Err(e) => tracing::debug!("storage still failing: {e}"),
        }
    }

    /// After a failed group commit, whose outcome may be unknown: reloads
    /// the head from the store (it may hold that group, committed but not
    /// acknowledged), checks that it extends the head served so far, makes
    /// one synced write on top of it (which, once confirmed, confirms every
    /// commit before it: the WAL is one sequence), records the high-water
    /// mark, and only then serves the reloaded head. Until this succeeds
    /// nothing is answered and the old head is served.
    fn confirm(&self) -> Result<()> {
        let served = self.current_head();
        let head = load_head(&self.store, &self.signer)?;
        let extends = head.size >= served.size
            && tree::root(self.signer.suite(), served.size, &tree::StoreReader(&self.store))?
                == served.root;
        if !extends {
            return Err(LedgerError::Rollback(format!(
                "the store no longer holds the checkpoint of size {} this process served \
                 (it holds size {}): it was rolled back or replaced under the sequencer; \
                 refusing to serve it",
                served.size, head.size
            )));
        }
        self.store.probe()?;
        self.high_water.borrow_mut().record(Mark { size: head.size, root: head.root })?;
        if head.size != served.size {
            tracing::warn!(
                "a commit whose outcome was unknown had landed: serving size {} (was {})",
                head.size,
                served.size
            );
        }
        match self.head.write() {
            Ok(mut h) => *h = Arc::new(head),
            Err(p) => *p.into_inner() = Arc::new(head),
        }
        self.stats.unconfirmed.store(false, Ordering::Relaxed);
        Ok(())
    }

    /// Records the outcome of a synced write; logs the transitions.
    fn storage_result(&self, r: Result<(), &LedgerError>) {
        let was = self.stats.storage_failing.swap(r.is_err(), Ordering::Relaxed);
        match r {
            Err(e) if !was => tracing::error!(
                "storage failing ({e}); appends answer 503 and /readyz 503 until a synced write \
                 succeeds again; everything acknowledged before is on disk"
            ),
            Ok(()) if was => tracing::warn!("storage recovered; accepting appends again"),
            _ => {}
        }
    }

    fn current_head(&self) -> Arc<Head> {
        match self.head.read() {
            Ok(h) => h.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn commit_group(&self, requests: Vec<Request>) {
        if self.stats.unconfirmed.load(Ordering::Relaxed) {
            if let Err(e) = self.confirm() {
                self.storage_result(Err(&e));
                for req in requests {
                    fail(
                        req,
                        LedgerError::Unavailable(format!(
                            "an earlier commit is not confirmed yet ({e}); retry"
                        )),
                    );
                }
                return;
            }
            self.storage_result(Ok(()));
        }
        // New wrapped keys are brought under the current master key and
        // written under this ticket: a rotation waits for it (vault::rewrap).
        let _ticket = self.vault.write_ticket();
        let head = self.current_head();
        let time_micros = now_micros().max(head.last_time_micros);
        let mut g = Group {
            batch: self.store.batch(),
            overlay: Overlay::new(&self.store, self.signer.suite()),
            size: head.size,
            time: entry::format_ledger_time(time_micros).into(),
            time_micros,
            pending: HashMap::new(),
            doc_pending: HashMap::new(),
            subject_pending: HashMap::new(),
            new_keys: Vec::new(),
            chains: HashMap::new(),
        };
        let mut staged: Vec<(Request, Vec<Staged>)> = Vec::with_capacity(requests.len());
        let mut fatal = None;
        // The idempotency records of the whole group in one lookup (on
        // PostgreSQL one round trip instead of one per request).
        let ids: Vec<[u8; 32]> =
            requests.iter().flat_map(|r| r.events.iter().map(|p| p.idem_id)).collect();
        let mut prior = match self.store.idempotency_v2(&ids) {
            Ok(found) => found.into_iter(),
            Err(e) => {
                fatal = Some(e);
                Vec::new().into_iter()
            }
        };
        // The chain heads of the group's documents, likewise in one read.
        if fatal.is_none() {
            if let Err(e) = self.load_chains(&requests, &mut g) {
                fatal = Some(e);
            }
        }
        for req in requests {
            if fatal.is_some() {
                fail(req, LedgerError::Unavailable("storage failure in this group".into()));
                continue;
            }
            let v2: Vec<Option<IdemRecord>> = prior.by_ref().take(req.events.len()).collect();
            match self.stage(&req, &mut g, v2) {
                Ok(s) => staged.push((req, s)),
                Err(SequenceError::NonFatal(e)) => fail(req, e),
                Err(SequenceError::Fatal(e)) => {
                    fail(req, LedgerError::Unavailable(format!("storage failure: {e}")));
                    fatal = Some(e);
                }
            }
        }
        let result = match fatal {
            Some(e) => Err(e),
            None => self.commit(&head, &mut g),
        };
        match &result {
            Err(e) => self.storage_result(Err(e)),
            // A group of replays only wrote nothing: it proves nothing.
            Ok(h) if h.size > head.size => self.storage_result(Ok(())),
            Ok(_) => {}
        }
        match result {
            Ok(new_head) => {
                self.vault.mark_durable(&g.new_keys);
                if new_head.size > head.size {
                    self.stats.groups.fetch_add(1, Ordering::Relaxed);
                    self.stats.events.fetch_add(new_head.size - head.size, Ordering::Relaxed);
                }
                self.answer(staged, &new_head, &g.overlay)
            }
            Err(e) => {
                self.stats.failed_groups.fetch_add(1, Ordering::Relaxed);
                tracing::error!("group commit failed, nothing acknowledged: {e}");
                for (req, _) in staged {
                    fail(req, LedgerError::Unavailable(format!("commit failed: {e}")));
                }
                // The head served stays; `confirm` reloads it.
                self.stats.unconfirmed.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Reads the chain heads of every document the group's new events
    /// are about, in one round trip (PostgreSQL) or one multi-get.
    fn load_chains(&self, requests: &[Request], g: &mut Group<'_>) -> Result<()> {
        let mut ids: Vec<[u8; 32]> = requests
            .iter()
            .flat_map(|r| {
                r.events.iter().filter_map(|p| p.private.as_ref().map(|q| chain_id(p, &q.doc_id)))
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        for (id, head) in ids.iter().zip(self.store.chain_heads(&ids)?) {
            g.chains.insert(*id, head.map(|(h, n)| (Hash(h), n)));
        }
        Ok(())
    }

    /// The chain of the next entry of chain `id` ([`chain_id`]): after
    /// the last entry the log holds in it (this group's included). A
    /// contract of a log older than chains has no head for entries written
    /// before; its first chained entry follows the last of them. (A report
    /// chain of such a log starts at its first chained report entry.)
    fn next_chain(
        &self,
        g: &mut Group<'_>,
        id: &[u8; 32],
        doc_id: &[u8; 32],
    ) -> Result<verifier::v3::Chain> {
        let head = match g.chains.get(id) {
            Some(Some(h)) => Some(*h),
            Some(None) | None if self.chain_since == 0 || id != doc_id => None,
            _ => {
                // The document's entries without a chain: those written
                // before chains (a chained one here is a report entry, in
                // the report chain).
                let mut old = Vec::new();
                for e in self.store.doc_index(doc_id)? {
                    if self.store.private(e.index, TAG_CHAIN)?.is_none() {
                        old.push(e.index);
                    }
                }
                match old.iter().max().copied() {
                    None => None,
                    Some(last) => {
                        let leaf = self
                            .store
                            .leaf(last)?
                            .ok_or_else(|| LedgerError::Corrupt(format!("leaf {last} missing")))?;
                        Some((self.signer.suite().leaf_hash(&leaf), old.len() as u64))
                    }
                }
            }
        };
        Ok(match head {
            None => verifier::v3::Chain { prev: None, seq: 0 },
            Some((h, n)) => verifier::v3::Chain { prev: Some(h), seq: n },
        })
    }

    /// Decides every event of one request: replay, conflict, or new leaf.
    /// All-or-nothing: on a conflict nothing of the request is staged.
    /// `v2`: the records of the request's keyed idempotency ids, as the
    /// store held them before the group.
    fn stage(
        &self,
        req: &Request,
        g: &mut Group<'_>,
        v2: Vec<Option<IdemRecord>>,
    ) -> Result<Vec<Staged>, SequenceError> {
        let keys: Vec<(&str, [u8; 32])> =
            req.events.iter().map(|p| (p.event.event_id.as_str(), p.idem_id)).collect();
        let existing = idem_lookup_with(&self.store, self.has_v1, &req.tenant, &keys, v2)
            .map_err(SequenceError::Fatal)?;
        let mut plan = Vec::with_capacity(req.events.len());
        for (pos, (prepared, prior)) in req.events.iter().zip(existing).enumerate() {
            let (event, content) = (&prepared.event, prepared.content);
            let conflict = || {
                SequenceError::NonFatal(LedgerError::Conflict {
                    position: pos,
                    event_id: event.event_id.clone(),
                })
            };
            let pending = g.pending.get(&req.tenant).and_then(|m| m.get(&event.event_id));
            if let Some(&(index, c, leaf)) = pending {
                if c != content {
                    return Err(conflict());
                }
                plan.push(Ok(Staged {
                    event_id: event.event_id.clone(),
                    index,
                    leaf_hash: leaf,
                    ledger_time: g.time.clone(),
                    replayed: true,
                }));
            } else if let Some((rec, v1)) = prior {
                // An event of an erased document, or whose record an
                // erasure took, is answered alike whatever its content:
                // a 409 for another content would confirm a guess of
                // what the erased record held.
                let doc = self.vault.document_id(&req.tenant, &event.document_id);
                if rec.erased
                    || (!v1 && !event.kind.is_service_kind() && self.vault.is_erased(&doc))
                {
                    return Err(SequenceError::NonFatal(LedgerError::Gone(format!(
                        "event {pos}: its record was erased"
                    ))));
                }
                let same = if v1 {
                    prepared.content_v1 == Some(rec.content)
                } else {
                    rec.content == content
                };
                if !same {
                    return Err(conflict());
                }
                // Reading an old leaf failed: that fails this request
                // only; the group's own writes are not touched by it.
                plan.push(Ok(self
                    .replay(&event.event_id, rec)
                    .map_err(SequenceError::NonFatal)?));
            } else {
                plan.push(Err(content));
            }
        }
        // Refusals first, so that a refused request stages nothing.
        for (pos, (prepared, p)) in req.events.iter().zip(&plan).enumerate() {
            if p.is_err() {
                self.check_writable(prepared, pos)?;
            }
        }
        let mut out = Vec::with_capacity(plan.len());
        for (pos, (event, p)) in req.events.iter().zip(plan).enumerate() {
            match p {
                Ok(s) => out.push(s),
                Err(_) => out.push(self.stage_new(&req.tenant, event, g, pos)?),
            }
        }
        Ok(out)
    }

    /// Whether a new entry may be written: not for an erased document
    /// (service entries about it excepted), and not sealed under a key an
    /// erasure destroyed meanwhile.
    fn check_writable(&self, prepared: &Prepared, position: usize) -> Result<(), SequenceError> {
        let event = &prepared.event;
        let Some(p) = &prepared.private else {
            // Prepared as a replay, yet not logged: only a concurrent
            // erasure of the idempotency record could do that.
            return Err(SequenceError::NonFatal(LedgerError::Unavailable(format!(
                "event {position}: its idempotency record changed; retry"
            ))));
        };
        let refused = |what: &str| {
            SequenceError::NonFatal(LedgerError::Gone(format!(
                "event {position}: document {} was erased; {what}",
                event.document_id
            )))
        };
        if p.erasure.is_none() && !event.kind.is_service_kind() && self.vault.is_erased(&p.doc_id) {
            return Err(refused("it takes no new events"));
        }
        if self.vault.is_erased(&p.seal_id) {
            // Sealed under a key an erasure destroyed meanwhile: retry.
            return Err(refused("retry (sealed under a destroyed key)"));
        }
        Ok(())
    }

    fn stage_new(
        &self,
        tenant: &str,
        prepared: &Prepared,
        g: &mut Group<'_>,
        position: usize,
    ) -> Result<Staged, SequenceError> {
        let (event, content) = (&prepared.event, prepared.content);
        let index = g.size;
        let Some(p) = &prepared.private else {
            // Prepared as a replay, yet not logged: only a concurrent
            // erasure of the idempotency record could do that.
            return Err(SequenceError::NonFatal(LedgerError::Unavailable(format!(
                "event {position}: its idempotency record changed; retry"
            ))));
        };
        // Refusals were decided for the whole request before staging
        // (`check_writable`); an erasure marked since then is staged after
        // this entry and erases it with the rest of the document.
        // A document erasure: the entries it erases, and its own record,
        // whose claim names them (count and SHA-256 of their indices).
        let mut rebuilt = None;
        if let Some(Erasure::Document { by, reason, cleanup }) = &p.erasure {
            let mut entries: Vec<DocIndexEntry> =
                self.store.doc_index(&p.doc_id).map_err(SequenceError::Fatal)?;
            entries.extend(g.doc_pending.get(&p.doc_id).into_iter().flatten().copied());
            entries.retain(|e| !e.erased);
            entries.sort_by_key(|e| e.index);
            let mut h = Sha256::new();
            for e in &entries {
                h.update(e.index.to_be_bytes());
            }
            let digest: [u8; 32] = h.finalize().into();
            let claim = serde_json::json!({"erasure": {
                "scope": "document", "reason": reason, "entries": entries.len(),
                "entries_sha256": Hash(digest).to_base64(),
            }});
            let json = ServiceEvent {
                tenant,
                kind: entry::EventKind::Erased,
                event_id: &event.event_id,
                document_id: &event.document_id,
                document_hash_hex: &event.document_hash.to_hex(),
                by,
                display: "admin",
            }
            .json(&self.log_key, claim)
            .map_err(SequenceError::Fatal)?;
            let ev = Event::from_value(json, true).map_err(|source| {
                SequenceError::NonFatal(LedgerError::Rejected { position, source })
            })?;
            let sealed =
                crate::records::seal_record(&self.vault, &self.store, tenant, &ev, &p.seal_id)
                    .map_err(SequenceError::Fatal)?;
            for e in &entries {
                g.batch.erase_entry(&p.doc_id, e.index, e.hash_id.as_ref(), e.subject_id.as_ref());
                self.tombstone_idem(g, e.index, e.idem_id).map_err(SequenceError::Fatal)?;
            }
            let reason = crate::records::seal_reason(&self.vault, &self.store, &p.seal_id, reason)
                .map_err(SequenceError::Fatal)?;
            let rec = erasure_record("document", &g.time, by, &reason, index);
            g.batch.put_erasure(&p.doc_id, &rec, true);
            g.batch.put_cleanup(&p.seal_id, cleanup);
            if let Some(w) = &sealed.new_key {
                let w = self.vault.current_wrap(&p.seal_id, w).map_err(SequenceError::Fatal)?;
                g.batch.put_wrapped_key(&p.seal_id, &w);
                g.new_keys.push(p.seal_id);
            }
            rebuilt = Some(sealed);
        }
        let (sealing, record) = match &rebuilt {
            Some(r) => (&r.sealing, r.record.as_slice()),
            None => (&p.sealing, p.record.as_slice()),
        };
        if let (None, Some(w)) = (&rebuilt, &p.new_key) {
            // Under the current master key (a rotation may have begun
            // since the appender wrapped it); the group holds a ticket.
            let w = self.vault.current_wrap(&p.seal_id, w).map_err(SequenceError::Fatal)?;
            g.batch.put_wrapped_key(&p.seal_id, &w);
            g.new_keys.push(p.seal_id);
        }
        // The contract's chain, in log order: this group's earlier entries
        // of the document come first (sequencer order is log order).
        let id = chain_id(prepared, &p.doc_id);
        let chain = self.next_chain(g, &id, &p.doc_id).map_err(SequenceError::Fatal)?;
        if chain.seq == 0 && crate::records::opens_contract(event.kind) && p.erasure.is_none() {
            // The contract's first entry: it is open until its completion
            // (the retention sweep's index of contracts never completed).
            // The appender sealed its ids when it made the document key;
            // a first entry under an older key is sealed here.
            let ids = match &p.open_ids {
                Some(ids) => ids.clone(),
                None => crate::records::seal_open_ids(
                    &self.vault,
                    &self.store,
                    tenant,
                    &event.document_id,
                    &p.seal_id,
                )
                .map_err(SequenceError::Fatal)?,
            };
            g.batch.put_open_contract(&p.doc_id, &ids);
        }
        let chain_json = verifier::jcs::to_canonical(&chain.value());
        let commitment = sealing.commitment(&chain);
        let alg = verifier::v2::CommitmentAlg::v3(sealing.hash());
        let leaf = verifier::v2::leaf_bytes(&commitment, alg, &g.time);
        let lh = self.signer.suite().leaf_hash(&leaf);
        g.batch.put_chain_head(&id, &lh.0, chain.seq + 1);
        g.chains.insert(id, Some((lh, chain.seq + 1)));
        let hashes = g.overlay.append_leaf(index, &lh).map_err(SequenceError::Fatal)?;
        g.batch.put_leaf(index, &leaf);
        for (i, h) in &hashes {
            g.batch.put_hash(*i, &h.0);
        }
        if let Some(Erasure::Subject { subject, by, reason, cleanup }) = &p.erasure {
            self.stage_subject_erasure(g, subject).map_err(SequenceError::Fatal)?;
            let reason = crate::records::seal_reason(&self.vault, &self.store, &p.seal_id, reason)
                .map_err(SequenceError::Fatal)?;
            let rec = erasure_record("subject", &g.time, by, &reason, index);
            g.batch.put_erasure(subject, &rec, false);
            g.batch.put_cleanup(&p.seal_id, cleanup);
        }
        let private = PrivateEntry {
            idem_id: &prepared.idem_id,
            doc_id: &p.doc_id,
            hash_id: p.hash_id.as_ref(),
            subject_id: p.identity.is_some().then_some(&p.subject_id),
            record,
            identity: p.identity.as_deref(),
            chain: Some(&chain_json),
        };
        g.batch.put_private_entry(index, &private, &content);
        if let Some(c) = &p.completion {
            g.batch.put_completion(g.time_micros, &p.doc_id, c);
        }
        let subject = p.identity.is_some().then_some(p.subject_id);
        let entry = DocIndexEntry {
            index,
            hash_id: p.hash_id,
            subject_id: subject,
            erased: false,
            idem_id: Some(prepared.idem_id),
        };
        g.doc_pending.entry(p.doc_id).or_default().push(entry);
        if p.identity.is_some() {
            g.subject_pending.entry(p.subject_id).or_default().push((p.doc_id, entry));
        }
        g.pending
            .entry(tenant.to_string())
            .or_default()
            .insert(event.event_id.clone(), (index, content, lh));
        g.size += 1;
        Ok(Staged {
            event_id: event.event_id.clone(),
            index,
            leaf_hash: lh,
            ledger_time: g.time.clone(),
            replayed: false,
        })
    }

    /// Stages the tombstone of an erased entry's idempotency record; its
    /// keyed id is read from the entry's record when the caller has none
    /// (the record opens: its key is destroyed only by this batch).
    fn tombstone_idem(&self, g: &mut Group<'_>, index: u64, idem: Option<[u8; 32]>) -> Result<()> {
        let idem = match idem {
            Some(id) => Some(id),
            None => crate::records::stored_event(&self.vault, &self.store, index)?
                .map(|e| self.vault.event_id(&e.tenant, &e.event_id)),
        };
        if let Some(id) = idem {
            g.batch.tombstone_idem(&id, index);
        }
        Ok(())
    }

    /// Stages a subject erasure's deletions: each identity opening of the
    /// subject, its subject index record, the subject id in its document
    /// index record, and its idempotency record (replaced by a tombstone).
    fn stage_subject_erasure(&self, g: &mut Group<'_>, subject: &[u8; 32]) -> Result<()> {
        let mut entries: Vec<([u8; 32], DocIndexEntry)> = Vec::new();
        for i in self.store.subject_index(subject)? {
            let Some(e) = crate::records::stored_event(&self.vault, &self.store, i)? else {
                g.batch.erase_identity(i, subject); // its record is gone already
                continue;
            };
            let doc = self.vault.document_id(&e.tenant, &e.document_id);
            let idem = self.vault.event_id(&e.tenant, &e.event_id);
            match self.store.doc_index_entry(&doc, i)? {
                Some(mut d) => {
                    d.idem_id = Some(idem);
                    entries.push((doc, d));
                }
                // No document index record (none to clear): the rest goes.
                None => {
                    g.batch.erase_identity(i, subject);
                    g.batch.tombstone_idem(&idem, i);
                }
            }
        }
        entries.extend(g.subject_pending.get(subject).into_iter().flatten().copied());
        for (doc, e) in entries {
            g.batch.erase_identity(e.index, subject);
            if !e.erased {
                g.batch.clear_doc_subject(&doc, e.index, e.hash_id.as_ref());
            }
            self.tombstone_idem(g, e.index, e.idem_id)?;
        }
        Ok(())
    }

    fn replay(&self, event_id: &str, rec: IdemRecord) -> Result<Staged> {
        let leaf = self
            .store
            .leaf(rec.index)?
            .ok_or_else(|| LedgerError::Corrupt(format!("leaf {} missing", rec.index)))?;
        let parsed = verifier::v2::parse_any_leaf(&leaf)
            .map_err(|e| LedgerError::Corrupt(format!("leaf {}: {e}", rec.index)))?;
        Ok(Staged {
            event_id: event_id.to_string(),
            index: rec.index,
            leaf_hash: self.signer.suite().leaf_hash(&leaf),
            ledger_time: parsed.ledger_time().into(),
            replayed: true,
        })
    }

    /// Signs the new checkpoint into the batch and writes it, synced.
    fn commit<'s>(&'s self, head: &Head, g: &mut Group<'s>) -> Result<Arc<Head>> {
        if g.size == head.size {
            return Ok(Arc::new(head.clone()));
        }
        let root = tree::Prover::new(&g.overlay, g.size, self.signer.suite()).root()?;
        let cp = Checkpoint {
            origin: self.signer.name().to_string(),
            size: g.size,
            root,
            extensions: Vec::new(),
        };
        // A token that cannot sign fails the group: nothing is written.
        let note = self.signer.sign_checkpoint(cp)?.to_bytes();
        let state = TreeState { size: g.size, root: root.0, last_time_micros: g.time_micros };
        g.batch.put_tree(&state, &note);
        // The head before this group was handed out (and confirmed).
        g.batch.put_handed_out(&Mark { size: head.size, root: head.root });
        let batch = std::mem::replace(&mut g.batch, self.store.batch());
        let started = std::time::Instant::now();
        self.store.write(batch, self.sync)?;
        self.high_water.borrow_mut().record(Mark { size: g.size, root })?;
        let micros = started.elapsed().as_micros() as u64;
        self.stats.write_micros.fetch_add(micros, Ordering::Relaxed);
        let note = String::from_utf8(note)
            .map_err(|_| LedgerError::Corrupt("checkpoint note is not UTF-8".into()))?;
        let lineage = match self.head.read() {
            Ok(h) => h.lineage,
            Err(p) => p.into_inner().lineage,
        };
        let new_head = Arc::new(Head {
            size: g.size,
            root,
            note: note.into(),
            last_time_micros: g.time_micros,
            lineage,
        });
        match self.head.write() {
            Ok(mut h) => *h = new_head.clone(),
            Err(p) => *p.into_inner() = new_head.clone(),
        }
        Ok(new_head)
    }

    /// Proves each staged event against the new head and answers.
    fn answer(&self, staged: Vec<(Request, Vec<Staged>)>, head: &Head, overlay: &Overlay<'_>) {
        // One prover for the group: the right edge of the tree is hashed once.
        let prover = tree::Prover::new(overlay, head.size, self.signer.suite());
        for (req, items) in staged {
            let receipts: Result<Vec<Receipt>> = items
                .into_iter()
                .map(|s| {
                    let inclusion = prover.inclusion(s.index)?;
                    Ok(Receipt {
                        event_id: s.event_id,
                        index: s.index,
                        leaf_hash: s.leaf_hash,
                        ledger_time: s.ledger_time,
                        tree_size: head.size,
                        inclusion,
                        checkpoint: head.note.clone(),
                        replayed: s.replayed,
                    })
                })
                .collect();
            // An appender that gave up waiting is not an error of the log.
            let _ = req.reply.send(receipts);
        }
    }
}

/// The chain an entry of document `doc_id` joins: the document's own, or
/// for the service's `report_issued` entries the document's report chain
/// (a bundle carries only the newest report entries, so they cannot sit in
/// the contract's chain without making every such bundle incomplete).
fn chain_id(prepared: &Prepared, doc_id: &[u8; 32]) -> [u8; 32] {
    if prepared.event.kind != entry::EventKind::ReportIssued {
        return *doc_id;
    }
    let mut h = Sha256::new();
    h.update(b"evidence-ledger/report-chain\0");
    h.update(doc_id);
    h.finalize().into()
}

/// The erasure record kept under the erased key id: JSON {scope, at, by,
/// reason_sealed, entry}. No personal data: `by` is a token id or
/// "operator", and the reason (free text) is sealed under the erasure key.
fn erasure_record(scope: &str, at: &str, by: &str, reason_sealed: &str, entry: u64) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "scope": scope, "at": at, "by": by, "reason_sealed": reason_sealed, "entry": entry,
    }))
    .unwrap_or_default()
}

fn fail(req: Request, e: LedgerError) {
    let _ = req.reply.send(Err(e));
}

/// Reads the committed head from the store, checking that the stored hashes
/// reproduce the root of the last signed checkpoint.
pub(crate) fn load_head(store: &Store, signer: &LogSigner) -> Result<Head> {
    let state = store.tree_state()?;
    let Some(state) = state else {
        let cp = Checkpoint {
            origin: signer.name().to_string(),
            size: 0,
            root: signer.suite().empty_root(),
            extensions: Vec::new(),
        };
        let note = signer.sign_checkpoint(cp)?.to_bytes();
        let note = String::from_utf8(note)
            .map_err(|_| LedgerError::Corrupt("checkpoint note is not UTF-8".into()))?;
        return Ok(Head {
            size: 0,
            root: signer.suite().empty_root(),
            note: note.into(),
            last_time_micros: 0,
            lineage: crate::types::next_lineage(),
        });
    };
    let root = tree::root(signer.suite(), state.size, &tree::StoreReader(store))?;
    if root.0 != state.root {
        return Err(LedgerError::Corrupt(format!(
            "stored hashes give root {root} at size {}, tree state says {}",
            state.size,
            Hash(state.root)
        )));
    }
    let note = store.checkpoint()?.ok_or_else(|| LedgerError::Corrupt("no checkpoint".into()))?;
    let note =
        String::from_utf8(note).map_err(|_| LedgerError::Corrupt("checkpoint not UTF-8".into()))?;
    Ok(Head {
        size: state.size,
        root,
        note: note.into(),
        last_time_micros: state.last_time_micros,
        lineage: crate::types::next_lineage(),
    })
}

fn now_micros() -> i64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    d.as_micros() as i64
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use ed25519_dalek::SigningKey;
    use serde_json::json;

    use super::*;
    use crate::highwater::HighWater;
    use crate::types::PreparedPrivate;

    fn event(id: &str) -> Prepared {
        let v = json!({
            "event_id": id, "document_id": "doc", "kind": "registered",
            "document_hash": "ab".repeat(32),
            "actor": {"id": "u-1", "display": "王*", "commitment": "cd".repeat(32)},
            "attestations": [],
        });
        let event = Event::from_value(v, false).expect("event");
        let content = Hash::digest(&verifier::jcs::to_canonical(&event.raw)).0;
        let private = PreparedPrivate {
            doc_id: [1; 32],
            seal_id: [1; 32],
            hash_id: Some([2; 32]),
            subject_id: [3; 32],
            sealing: verifier::v3::Sealing::new(&event.raw, "t", &[5; 32], None),
            record: vec![0; 64],
            identity: None,
            new_key: None,
            completion: None,
            open_ids: None,
            erasure: None,
        };
        let mut idem_id = [0u8; 32];
        idem_id[..id.len()].copy_from_slice(id.as_bytes());
        Prepared { event, content, content_v1: None, idem_id, private: Some(private) }
    }

    fn request(id: &str) -> (Request, mpsc::Receiver<Result<Vec<Receipt>>>) {
        let (reply, rx) = mpsc::sync_channel(1);
        (Request { tenant: "t".into(), events: vec![event(id)], reply }, rx)
    }

    /// A sequencer over `store`, its head loaded from it.
    fn sequencer(dir: &std::path::Path, store: Arc<Store>, chain_since: u64) -> Sequencer {
        let log_key = crate::logkey::LogKey::File(Box::new(SigningKey::from_bytes(&[1; 32])));
        let signer = LogSigner::new("test/log", log_key.clone()).expect("key");
        let master =
            crate::vault::FileMasterKey::open_or_create(&dir.join("master.key")).expect("master");
        let vault = Arc::new(
            Vault::open(Box::new(master), store.as_ref(), Default::default(), Default::default())
                .expect("vault"),
        );
        let head = Arc::new(RwLock::new(Arc::new(load_head(&store, &signer).expect("head"))));
        Sequencer {
            stats: Arc::new(GroupStats::default()),
            store,
            signer,
            head,
            sync: false,
            max_group_events: 100,
            high_water: std::cell::RefCell::new(HighWater::open(dir, false).expect("mark").0),
            vault,
            has_v1: false,
            log_key,
            chain_since,
        }
    }

    fn chain_at(store: &Store, index: u64) -> verifier::v3::Chain {
        let raw = store.private(index, crate::store::TAG_CHAIN).expect("read").expect("a chain");
        let v: serde_json::Value = serde_json::from_slice(&raw).expect("json");
        verifier::v3::Chain::parse(&v).expect("chain")
    }

    fn leaf_hash_at(store: &Store, index: u64) -> Hash {
        verifier::hash::leaf_hash(&store.leaf(index).expect("read").expect("a leaf"))
    }

    #[test]
    fn chains_follow_log_order_and_an_upgraded_log_continues_after_older_entries() {
        use verifier::v3::Chain;
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(Store::open(&dir.path().join("db")).expect("store"));
        let seq = sequencer(dir.path(), store.clone(), 0);
        // Two requests about one document in one group: chained in the
        // order the group stages them, which is log order.
        let (a, a_rx) = request("a");
        let (b, b_rx) = request("b");
        seq.commit_group(vec![a, b]);
        a_rx.recv().expect("answered").expect("a logged");
        b_rx.recv().expect("answered").expect("b logged");
        assert_eq!(chain_at(&store, 0), Chain { prev: None, seq: 0 });
        assert_eq!(chain_at(&store, 1), Chain { prev: Some(leaf_hash_at(&store, 0)), seq: 1 });
        drop(seq);
        // A log upgraded with entries of the document written before
        // chains (here: the two entries without their chain, as an
        // erasure leaves them) and no chain head: the next entry follows
        // the last of them, numbered after them.
        let key = [b"chain-head\0".as_slice(), &[1u8; 32]].concat();
        store.delete_record_synced(crate::store::RecordFamily::Aux, &key).expect("delete");
        let mut unchain = store.batch();
        for i in [0, 1] {
            unchain.erase_entry(&[1; 32], i, None, None);
        }
        store.write(unchain, true).expect("write");
        let seq = sequencer(dir.path(), store.clone(), 2);
        let (c, c_rx) = request("c");
        seq.commit_group(vec![c]);
        c_rx.recv().expect("answered").expect("c logged");
        assert_eq!(chain_at(&store, 2), Chain { prev: Some(leaf_hash_at(&store, 1)), seq: 2 });
        // The head is back: the next one follows without the index.
        let (d, d_rx) = request("d");
        seq.commit_group(vec![d]);
        d_rx.recv().expect("answered").expect("d logged");
        assert_eq!(chain_at(&store, 3), Chain { prev: Some(leaf_hash_at(&store, 2)), seq: 3 });
    }

    #[test]
    fn a_failing_replay_fails_its_request_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(Store::open(&dir.path().join("db")).expect("store"));
        // An idempotency record whose leaf cannot be read.
        let ghost = event("ghost");
        let mut b = store.batch();
        let p = ghost.private.as_ref().expect("private");
        let private = PrivateEntry {
            idem_id: &ghost.idem_id,
            doc_id: &p.doc_id,
            hash_id: p.hash_id.as_ref(),
            subject_id: Some(&p.subject_id),
            record: &p.record,
            identity: None,
            chain: None,
        };
        b.put_private_entry(7, &private, &ghost.content);
        store.write(b, true).expect("write");
        let seq = sequencer(dir.path(), store, 0);
        let (replay, replay_rx) = request("ghost");
        let (fresh, fresh_rx) = request("fresh");
        seq.commit_group(vec![replay, fresh]);
        let failed = replay_rx.recv().expect("answered");
        assert!(matches!(failed, Err(LedgerError::Corrupt(_))), "{failed:?}");
        let ok = fresh_rx.recv().expect("answered").expect("the group went on");
        assert_eq!((ok[0].index, ok[0].tree_size), (0, 1));
        assert_eq!(seq.stats.failed_groups.load(Ordering::Relaxed), 0);
    }
}
