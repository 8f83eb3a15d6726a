//! The ledger: a thin composition of its parts, and the crate's API.
//!
//! | part | owns |
//! |---|---|
//! | [`crate::log`] | the committed head, the sequencer's queue and thread, proofs, tiles |
//! | [`crate::ingest`] | the appenders' checks before sequencing |
//! | [`crate::records`] | sealed v2 records, identity openings and blobs, through the vault |
//! | [`crate::registry`] | trusted issuers, TSAs and tokens |
//! | [`crate::lookup`] | the indexes by document, document hash, subject and completion |
//! | [`crate::erase`] | document and subject erasure |
//! | [`crate::datadir`] | the data directory: init, store choice, high-water mark |
//! | [`crate::attester`] | the log key as the issuer of the ledger's own events |
//!
//! Each method here picks the part that does the work; the one rule kept
//! here is the ledger's write lock, which serialises registry changes and
//! erasures. Calls every part; no part calls it.
//!
//! Longer than 600 lines: it is the crate's API, one documented method per
//! operation, each a line or two handing the work to its part.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ed25519_dalek::Signature;
use verifier::entry::{Event, EventKind};
use verifier::issuer::IssuerKeys;
use verifier::tsa::TrustedTsa;
use verifier::Hash;

use crate::attester::{Attester, ServiceEvent, LOG_ISSUER, OPERATOR_ACTOR};
use crate::datadir::{
    check_high_water, lease_holder, master_key_for, master_key_read_only, open_store_read_only,
    InitKeys, MarkMirror, DB_DIR,
};
use crate::erase::Eraser;
use crate::error::{LedgerError, Result};
use crate::ingest::Ingest;
use crate::issuer_cas::{IssuerCaRecord, IssuerCas};
use crate::log::Log;
use crate::logkey::load_log_signer;
use crate::lookup::Lookup;
use crate::pglease::Lease;
use crate::records::{Opening, Records};
use crate::registry::{IssuerRecord, Registry, TokenRecord, TsaRecord};
use crate::rekey::Rekey;
use crate::rotation::finish_master_rotation;

pub(crate) mod master;
use crate::sequencer::{load_head, GroupStats, Sequencer};
use crate::store::{RecordFamily, Store, StoreConfig};
use crate::types::Receipt;
use crate::util::lock;
use crate::vault::{KeyId, Vault};

/// Tuning of an opened ledger.
#[derive(Clone, Debug)]
pub struct LedgerOptions {
    /// Most events the sequencer puts in one group commit.
    pub max_group_events: usize,
    /// fsync each group commit. Only tests of non-durable paths turn it off.
    pub sync: bool,
    /// Requests that may wait for the sequencer before appenders block.
    pub queue_depth: usize,
    /// Tenants whose submitters may still send v1 attestations (which do
    /// not bind tenant, contract or actor): a migration aid. Every other
    /// tenant's v1 attestations are refused on ingest, so a copied v1
    /// attestation cannot be replayed into it.
    pub accept_v1_attestations: HashSet<String>,
    /// Serve a store older than (or forked from) the newest checkpoint this
    /// data directory handed out (`DATA/handed-out`), e.g. after restoring
    /// a backup on purpose. Clients and witnesses holding newer receipts
    /// will see a fork; the mark is reset to the store's head.
    pub allow_rollback: bool,
    /// Where the store is: RocksDB in `DIR/db` or a PostgreSQL database.
    pub store: StoreConfig,
    /// PostgreSQL: wait as a standby while another process holds the
    /// sequencer lease (`serve`), instead of failing (one-shot commands).
    pub wait_for_lease: bool,
    /// PostgreSQL: the commit deadline. A write (a group commit's wait for
    /// the synchronous standby included) that takes longer is cancelled
    /// and fails: appends answer 503 and `/readyz` 503 meanwhile.
    pub pg_commit_timeout: std::time::Duration,
    /// PostgreSQL: synchronous (or quorum) standbys that must have flushed
    /// a synced write, as the primary's `pg_stat_replication` shows, before
    /// it counts as done (0: trust the `COMMIT`). Catches an emptied
    /// `synchronous_standby_names`, which releases commits silently.
    pub pg_require_sync_standby: u32,
    /// PostgreSQL: how long the sequencer lease lasts without renewal (it
    /// is renewed every quarter of it); a standby takes over a sequencer
    /// that stopped renewing once it passed.
    pub pg_lease_ttl: std::time::Duration,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        LedgerOptions {
            max_group_events: 8192,
            sync: true,
            queue_depth: 4096,
            accept_v1_attestations: HashSet::new(),
            allow_rollback: false,
            store: StoreConfig::RocksDb,
            wait_for_lease: false,
            pg_commit_timeout: crate::pg::DEFAULT_COMMIT_TIMEOUT,
            pg_require_sync_standby: 0,
            pg_lease_ttl: crate::pglease::DEFAULT_LEASE_TTL,
        }
    }
}

/// A snapshot of the log's head.
#[derive(Clone, Debug)]
pub struct LedgerStatus {
    /// The log's origin (its key name).
    pub origin: String,
    /// The log's C2SP verifier key.
    pub vkey: String,
    /// Entries in the log.
    pub tree_size: u64,
    /// Root of those entries.
    pub root: Hash,
    /// The latest signed checkpoint note.
    pub checkpoint: Arc<str>,
    /// Ledger time of the newest entry, µs since the epoch (0 when empty).
    pub last_time_micros: i64,
}

/// An open ledger. Cheap to clone; all clones share one sequencer.
#[derive(Clone)]
pub struct Ledger {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    store: Arc<Store>,
    origin: String,
    vkey: String,
    log: Log,
    ingest: Ingest,
    records: Records,
    registry: Registry,
    /// CA roots trusted for SM2 issuer certificates.
    issuer_cas: IssuerCas,
    attester: Attester,
    /// Serialises registry writes (check-then-put is put-if-absent) and
    /// erasures.
    writes: Mutex<()>,
    /// The master key rotation driver (writable opens).
    rekey: Option<Arc<Rekey>>,
}

impl Ledger {
    /// Creates the log key and an empty store in `dir`; returns the vkey.
    pub fn init(dir: &Path, origin: &str) -> Result<String> {
        Ledger::init_with(dir, origin, &StoreConfig::RocksDb)
    }

    /// [`Ledger::init`] with the store `config` names. For PostgreSQL the
    /// schema is migrated first, and a database that already holds a log
    /// is refused (a second node of that log copies its key files).
    pub fn init_with(dir: &Path, origin: &str, config: &StoreConfig) -> Result<String> {
        crate::datadir::init(dir, origin, config, &InitKeys::default())
    }

    /// [`Ledger::init_with`], with the log key and/or the master key in
    /// the PKCS#11 tokens `keys` names (generated there, or the existing
    /// key of that name taken); the data directory records their URIs
    /// (never a PIN) and holds no key file for them.
    pub fn init_with_keys(
        dir: &Path,
        origin: &str,
        config: &StoreConfig,
        keys: &InitKeys,
    ) -> Result<String> {
        crate::datadir::init(dir, origin, config, keys)
    }

    /// Opens an initialised data directory and starts the sequencer.
    ///
    /// On PostgreSQL it first takes the sequencer lease (waiting as a
    /// standby with `wait_for_lease`): one sequencer per database.
    pub fn open(dir: &Path, mut opts: LedgerOptions) -> Result<Ledger> {
        let mut lease = None;
        if let StoreConfig::Postgres { url, epoch } = &mut opts.store {
            let mut mirror = MarkMirror::new(dir, opts.sync);
            let l = Lease::acquire(
                url,
                &lease_holder(),
                opts.wait_for_lease,
                opts.pg_lease_ttl,
                |current, marker| {
                    if mirror.first_poll() {
                        tracing::warn!(
                        "standby: {current} is the sequencer of this database; waiting for its \
                         lease"
                    );
                    }
                    mirror.observe(marker);
                },
            )?;
            tracing::info!("sequencer lease taken (epoch {})", l.epoch());
            *epoch = Some(l.epoch());
            lease = Some(l);
        }
        let store = Store::open_config(&dir.join(DB_DIR), &opts.store)?;
        store.set_commit_timeout(opts.pg_commit_timeout);
        store.require_sync_standbys(opts.pg_require_sync_standby)?;
        let ledger = Ledger::assemble(dir, store, Some((opts, lease)))?;
        // An erasure whose purge did not happen (crash, failure): now,
        // unless its clean-up is pending too: the service's clean-up
        // purges after it (a purge before would be undone by the
        // clean-up's own deletions and rewrites).
        if ledger.inner.store.purge_pending()? && ledger.inner.store.cleanups()?.is_empty() {
            tracing::warn!("purging the store after an erasure that was not purged");
            ledger.inner.store.purge(&[])?;
        }
        // Stores written before issuer records were keyed and sealed get
        // them moved now; the old clear values then leave the files (a
        // crash in between compacts at the next open).
        let moved = ledger.inner.registry.migrate_issuers()?;
        if moved > 0 {
            tracing::info!("moved {moved} issuer records to the keyed, sealed form");
        }
        ledger.inner.store.compact_marked()?;
        // Stores written before the per-tenant token index get it now.
        let indexed = ledger.inner.registry.build_token_index()?;
        if indexed > 0 {
            tracing::info!("indexed {indexed} tokens by tenant");
        }
        // The log attests its own statements (report issuance) as an issuer.
        // (An sm2-sm3 log's key is SM2: it is no Ed25519 issuer.)
        if let Ok(own) = ledger.inner.attester.key().verifying_key() {
            ledger.add_issuer_scoped(None, LOG_ISSUER, own.as_bytes(), OPERATOR_ACTOR)?;
        }
        Ok(ledger)
    }

    /// Opens a data directory to look only, even while a server holds it:
    /// the state as of now, no sequencer; every write fails.
    pub fn open_read_only(dir: &Path) -> Result<Ledger> {
        Ledger::assemble(dir, open_store_read_only(dir)?, None)
    }

    /// The parts over `store`; with options (and the lease), writable: the
    /// vault is opened (or created) and the sequencer started.
    fn assemble(
        dir: &Path,
        store: Store,
        writable: Option<(LedgerOptions, Option<Lease>)>,
    ) -> Result<Ledger> {
        let signer = load_log_signer(dir)?;
        let log_key = signer.key().clone();
        // A store holds the log of one key: another's key would sign
        // checkpoints of a tree it never saw.
        match store.log_vkey()? {
            Some(v) if v != signer.vkey() => {
                return Err(LedgerError::Corrupt(format!(
                    "the store holds the log of {v}, not of this data directory's key {}",
                    signer.vkey()
                )))
            }
            None if writable.is_some() => store.bind_log_vkey(&signer.vkey())?,
            _ => {}
        }
        let store = Arc::new(store);
        let mut log = Log::read_only(store.clone(), load_head(&store, &signer)?, signer.suite());
        let store_for_cas = store.clone();
        let (origin, vkey) = (signer.name().to_string(), signer.vkey());
        let suite = signer.suite();
        let sm2_log = match &log_key {
            crate::logkey::LogKey::Sm2(k) => Some(k.verifier()),
            _ => None,
        };
        let erased = store.erasures()?.into_iter().map(|(id, _)| id).collect();
        let mut rekey = None;
        let vault = match &writable {
            Some(_) => {
                finish_master_rotation(dir, &store)?;
                let ring = master_key_for(dir, &store)?;
                let vault = Arc::new(Vault::open(
                    Box::new(ring.clone()),
                    store.as_ref(),
                    erased,
                    signer.suite(),
                )?);
                rekey = Some(Rekey::new(ring, vault.clone(), store.clone()));
                Some(vault)
            }
            None => match master_key_read_only(dir).ok().flatten() {
                Some(master) => {
                    Vault::open(master, store.as_ref(), erased, signer.suite()).ok().map(Arc::new)
                }
                None => None,
            },
        };
        let registry = Registry::load(store.clone(), vault.clone(), log_key.verifying_key().ok())?;
        let has_v1 = if writable.is_some() { store.v2_since()? > 0 } else { log.head().size > 0 };
        let accept_v1 = match &writable {
            Some((opts, _)) => opts.accept_v1_attestations.clone(),
            None => HashSet::new(),
        };
        if let Some((opts, lease)) = writable {
            let high_water = check_high_water(
                dir,
                &store,
                &log.head(),
                signer.suite(),
                opts.sync,
                opts.allow_rollback,
            )?;
            let seq = Sequencer {
                stats: log.stats_handle(),
                store: store.clone(),
                signer,
                head: log.shared_head(),
                sync: opts.sync,
                max_group_events: opts.max_group_events,
                high_water: std::cell::RefCell::new(high_water),
                vault: vault.clone().ok_or_else(|| LedgerError::Corrupt("no vault".into()))?,
                has_v1,
                log_key: log_key.clone(),
                chain_since: store.chain_since()?,
            };
            log.start(seq, opts.queue_depth, lease)?;
        }
        if let Some(r) = &rekey {
            // A rotation cut short (crash, restart) goes on.
            r.resume();
        }
        let ingest =
            Ingest::new(has_v1, accept_v1).with_sm2_log_key(sm2_log).with_log(&origin, suite);
        Ok(Ledger {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                records: Records::new(store.clone(), vault),
                store,
                origin,
                vkey,
                log,
                ingest,
                registry,
                issuer_cas: IssuerCas::load(store_for_cas)?,
                attester: Attester::new(log_key),
                writes: Mutex::new(()),
                rekey,
            }),
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The log's origin.
    pub fn origin(&self) -> &str {
        &self.inner.origin
    }

    /// The log's suite, chosen at `init` (its key's type records it).
    pub fn suite(&self) -> verifier::suite::Suite {
        self.inner.attester.key().suite()
    }

    /// The log's C2SP verifier key.
    pub fn vkey(&self) -> &str {
        &self.inner.vkey
    }

    /// Signs `msg` with the log's Ed25519 key, for statements the log makes
    /// as an issuer (the attestation of a `report_issued` event), and for
    /// the service's signed receipts. The first are canonical JSON objects
    /// and the second start `evidence-ledger/receipt/v1\n<origin>\n`, so
    /// neither reads as a checkpoint body (whose second line is a decimal
    /// size) nor as the other.
    pub fn sign_with_log_key(&self, msg: &[u8]) -> Result<Signature> {
        self.inner.attester.sign(msg)
    }

    /// Whether appends can be taken: the sequencer runs and was not closed.
    pub fn is_accepting(&self) -> bool {
        self.inner.log.is_accepting()
    }

    /// False from a failed synced write until one succeeds again: the
    /// disk is full or failing, appends are refused (nothing acknowledged
    /// is lost). A full disk recovers in place once space is freed; after
    /// an I/O error RocksDB stays read-only until the process restarts.
    pub fn storage_ok(&self) -> bool {
        self.inner.log.storage_ok()
    }

    /// PostgreSQL: whether this process lost its sequencer lease (its
    /// lock's session ended). It can no longer commit once another
    /// process takes over; `serve` exits, to be restarted as a standby.
    pub fn lease_lost(&self) -> bool {
        self.inner.log.lease_lost()
    }

    /// Where the store's memory is (block cache, memtables, table readers).
    pub fn memory(&self) -> Result<crate::store::MemoryReport> {
        self.inner.store.memory()
    }

    /// Counters of the group commits since open.
    pub fn group_stats(&self) -> &GroupStats {
        self.inner.log.stats()
    }

    /// The committed head.
    pub fn status(&self) -> LedgerStatus {
        let h = self.inner.log.head();
        LedgerStatus {
            origin: self.inner.origin.clone(),
            vkey: self.inner.vkey.clone(),
            tree_size: h.size,
            root: h.root,
            checkpoint: h.note.clone(),
            last_time_micros: h.last_time_micros,
        }
    }

    /// Appends a batch for `tenant`: checks ids and attestations, then waits
    /// until the sequencer has made it durable. All or nothing.
    ///
    /// Idempotency comes before the attestation and timestamp checks: an
    /// event id already logged is answered by the sequencer with its
    /// original receipt (same content) or a conflict (other content), even
    /// if its issuer was revoked or its TSA dropped since; only events not
    /// logged yet are checked.
    pub fn append(&self, tenant: &str, events: Vec<Event>) -> Result<Vec<Receipt>> {
        let i = &self.inner;
        let prepared =
            i.ingest.prepare(&i.store, &i.registry, &i.issuer_cas, &i.records, tenant, events)?;
        i.log.sequence(tenant, prepared)
    }

    /// Whether each of `tenant`'s event ids is already in the log: what
    /// an adapter that derives event ids from a platform's ids asks before
    /// it fetches a document to hash (a replay must not refetch a file that
    /// changed since, and then conflict with the entry already written).
    pub fn logged_event_ids(&self, tenant: &str, event_ids: &[&str]) -> Result<Vec<bool>> {
        let i = &self.inner;
        i.ingest.logged(&i.store, &i.records, tenant, event_ids)
    }

    fn lookup(&self) -> Lookup<'_> {
        Lookup { store: &self.inner.store, log: &self.inner.log, records: &self.inner.records }
    }

    /// The private opening of the entry at `index` (evidence v2): its
    /// record and identity opening, checked against the leaf's commitment.
    pub fn opening(&self, index: u64) -> Result<Opening> {
        self.lookup().opening(index)
    }

    /// The erasure of one tenant's document, if it was erased: JSON
    /// {scope, at, by, reason, entry}.
    pub fn document_erasure(
        &self,
        tenant: &str,
        document_id: &str,
    ) -> Result<Option<serde_json::Value>> {
        self.inner.records.document_erasure(tenant, document_id)
    }

    /// The sealed (encrypted) private value of an entry as stored, `tag`
    /// [`crate::store::TAG_RECORD`] or [`crate::store::TAG_IDENTITY`]: for
    /// audits and for the erasure tests, which look for these bytes on
    /// disk after an erasure.
    pub fn sealed_private(&self, index: u64, tag: u8) -> Result<Option<Vec<u8>>> {
        self.inner.store.private(index, tag)
    }

    /// A document's key as stored, wrapped under the master key (same use).
    pub fn wrapped_document_key(&self, tenant: &str, document_id: &str) -> Result<Option<Vec<u8>>> {
        self.inner.records.wrapped_document_key(tenant, document_id)
    }

    /// Seals a private value about one tenant's document (a stored report)
    /// under the document's key, or under its erasure key once the
    /// document was erased, so that the document's erasure shreds it too.
    /// `purpose` binds it to where it is kept.
    pub fn seal_document_blob(
        &self,
        tenant: &str,
        document_id: &str,
        purpose: &[u8],
        plain: &[u8],
    ) -> Result<Vec<u8>> {
        self.inner.records.seal_document_blob(tenant, document_id, purpose, plain)
    }

    /// Seals a value the service keeps about no one document (an
    /// access-log record) under the key of `scope` (wrapped under the
    /// master key like a document's), so that the store and its backups
    /// hold only its ciphertext. Opened by [`Ledger::open_document_blob`].
    pub fn seal_service_blob(
        &self,
        scope: &[&[u8]],
        purpose: &[u8],
        plain: &[u8],
    ) -> Result<Vec<u8>> {
        self.inner.records.seal_service_blob(scope, purpose, plain)
    }

    /// Opens what [`Ledger::seal_document_blob`] sealed; `None` once its
    /// key was destroyed by an erasure.
    pub fn open_document_blob(&self, purpose: &[u8], sealed: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner.records.open_document_blob(purpose, sealed)
    }

    /// The documents (ids) in which the tenant's actor has entries that
    /// still hold a record: what a subject erasure touches.
    pub fn subject_documents(&self, tenant: &str, actor_id: &str) -> Result<Vec<String>> {
        self.lookup().subject_documents(tenant, actor_id)
    }

    /// How many of a tenant's document's entries are v1 leaves (public in
    /// clear, written before evidence v2; no erasure can take them back).
    pub fn v1_document_entries(&self, tenant: &str, document_id: &str) -> Result<usize> {
        Ok(self.inner.store.document_entries(tenant, document_id)?.len())
    }

    /// A keyed hash of (tenant, document id): what private per-document
    /// settings are keyed by, so no key spells a contract id.
    pub fn document_key_id(&self, tenant: &str, document_id: &str) -> Result<KeyId> {
        Ok(self.inner.records.vault()?.document_id(tenant, document_id))
    }

    /// A keyed hash (HMAC under the index key) of `parts` in `domain`:
    /// what the service keys its own records by, so that no key or value
    /// spells what it is about.
    pub fn keyed_id(&self, domain: &str, parts: &[&[u8]]) -> Result<KeyId> {
        Ok(self.inner.records.vault()?.keyed_hash(domain, parts))
    }

    fn eraser(&self) -> Eraser<'_> {
        let i = &self.inner;
        Eraser { store: &i.store, log: &i.log, records: &i.records, attester: &i.attester }
    }

    /// Erases one tenant's document (crypto-shredding): in one synced
    /// batch, destroys its key and every record and identity opening of
    /// it, and appends an `erased` entry (its record names the document
    /// and the reason, no personal data). Leaves, proofs and checkpoints
    /// stay. Call [`Ledger::purge`] afterwards to rewrite the files that
    /// still hold the deleted values.
    pub fn erase_document(
        &self,
        tenant: &str,
        document_id: &str,
        reason: &str,
        by: &str,
    ) -> Result<Receipt> {
        let _serial = lock(&self.inner.writes);
        self.eraser().document(tenant, document_id, reason, by)
    }

    /// Erases the identity openings of one data subject (actor id) across
    /// a tenant's documents (PIPL art. 47); records stay, their identity
    /// commitment no longer opens. Appends an `erased` entry.
    pub fn erase_subject(
        &self,
        tenant: &str,
        actor_id: &str,
        reason: &str,
        by: &str,
    ) -> Result<Receipt> {
        let _serial = lock(&self.inner.writes);
        self.eraser().subject(tenant, actor_id, reason, by)
    }

    /// A subject erasure's clean-up step: re-seals the records of the
    /// subject's entries in the documents that survive without the actor
    /// (id, masked name, commitment) and the attestations, whose digests
    /// stay so that each record still opens its leaf (docs/evidence-v2.md,
    /// "Erasure"). Idempotent; a document erasure's clean-up has nothing
    /// to redact. Serialized with erasures (a document erased meanwhile
    /// is not written back).
    pub fn redact_subject_records(
        &self,
        cleanup: &crate::erase::Cleanup,
    ) -> Result<crate::redact::Redacted> {
        let Some(actor) = &cleanup.actor_id else { return Ok(Default::default()) };
        let _serial = lock(&self.inner.writes);
        let vault = self.inner.records.vault()?;
        let list_id = |doc: &[u8; 32]| {
            Hash::digest(&[b"evidence-ledger/redact-purge\0".as_slice(), &cleanup.id, doc].concat())
                .0
        };
        crate::redact::redact_subject(
            &self.inner.store,
            vault,
            &cleanup.tenant,
            &cleanup.documents,
            actor,
            list_id,
        )
    }

    /// The erasures whose clean-up (the service's copies, the purge) is
    /// not done yet: written with each erasure, in its commit.
    pub fn pending_cleanups(&self) -> Result<Vec<crate::erase::Cleanup>> {
        self.eraser().pending_cleanups()
    }

    /// Marks an erasure's clean-up done (synced): after its steps and the
    /// purge that follows them (until then, [`Ledger::open`] leaves the
    /// purge to the clean-up, which purges after its own deletions).
    pub fn finish_cleanup(&self, cleanup: &crate::erase::Cleanup) -> Result<()> {
        self.inner.store.delete_cleanup(&cleanup.id)
    }

    /// The retention index: documents completed before `before_micros`,
    /// oldest first, as (index key, (tenant, document id)); the ids are
    /// `None` once the document was erased (its key destroyed).
    #[allow(clippy::type_complexity)]
    pub fn completions_before(
        &self,
        before_micros: i64,
    ) -> Result<Vec<(Vec<u8>, Option<(String, String)>)>> {
        self.lookup().completions_before(before_micros)
    }

    /// The open-contract index: contracts with no `completed` entry, as
    /// (index key, (tenant, document id), time of their last entry in
    /// micros); ids `None` once the document was erased. For the
    /// retention sweep (contracts that never completed).
    #[allow(clippy::type_complexity)]
    pub fn open_contracts(&self) -> Result<Vec<(Vec<u8>, Option<(String, String)>, Option<i64>)>> {
        self.lookup().open_contracts()
    }

    /// Whether an erasure was committed and the store not purged since
    /// (redone by the next [`Ledger::open`]).
    pub fn purge_pending(&self) -> Result<bool> {
        self.inner.store.purge_pending()
    }

    /// Rewrites what still holds erased values on disk: flushes every
    /// memtable (the WAL files behind them are then deleted) and compacts
    /// the table files holding a key an erasure deleted or rewrote, and
    /// those holding `aux` keys under `aux_prefixes` (what the caller
    /// deleted or rewrote after it). After erasures only.
    pub fn purge(&self, aux_prefixes: &[Vec<u8>]) -> Result<()> {
        self.inner.store.purge(aux_prefixes)
    }

    /// The JSON of an event attested (v2) by the log key as the issuer
    /// [`LOG_ISSUER`]: for service-written entries (registry changes,
    /// erasures, report issuance). `by` is the acting token's id or
    /// `operator`; the actor's commitment is SHA-256 of
    /// "evidence-ledger actor " || by.
    #[allow(clippy::too_many_arguments)]
    pub fn signed_log_event(
        &self,
        tenant: &str,
        kind: EventKind,
        event_id: &str,
        document_id: &str,
        document_hash_hex: &str,
        claim: serde_json::Value,
        by: &str,
        display: &str,
    ) -> Result<serde_json::Value> {
        let event =
            ServiceEvent { tenant, kind, event_id, document_id, document_hash_hex, by, display };
        event.json(self.inner.attester.key(), claim)
    }

    /// Stops taking appends, lets queued batches commit, and joins the
    /// sequencer. Idempotent.
    pub fn close(&self) {
        if let Some(r) = &self.inner.rekey {
            r.stop();
        }
        self.inner.log.close()
    }

    /// The leaf bytes at `index`, if committed.
    pub fn leaf(&self, index: u64) -> Result<Vec<u8>> {
        self.inner.log.leaf(index)
    }

    /// A C2SP tlog-tiles tile of the committed tree: hash tile or entry
    /// bundle, read from the stored hashes or leaves (`W` records). Only
    /// tiles the committed tree holds whole are served: `NotFound` beyond
    /// its right edge (a full tile before it completes, a partial tile
    /// wider than the tree), `InvalidRequest` for a width or level out of
    /// range.
    pub fn tile(&self, id: &crate::tiles::TileId) -> Result<Vec<u8>> {
        self.inner.log.tile(id)
    }

    /// RFC 9162 inclusion proof of `index` in the committed tree of `tree_size`.
    pub fn inclusion_proof(&self, index: u64, tree_size: u64) -> Result<Vec<Hash>> {
        self.inner.log.inclusion_proof(index, tree_size)
    }

    /// RFC 9162 consistency proof between committed sizes `old` and `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        self.inner.log.consistency_proof(old, new)
    }

    /// The root of the committed tree of `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash> {
        self.inner.log.root_at(size)
    }

    /// Indices of one tenant's document entries, ascending.
    pub fn document_entries(&self, tenant: &str, document_id: &str) -> Result<Vec<u64>> {
        self.lookup().document_entries(tenant, document_id)
    }

    /// Indices of the entries carrying `document_hash`, any tenant, ascending.
    pub fn entries_by_document_hash(&self, document_hash: &Hash) -> Result<Vec<u64>> {
        self.lookup().entries_by_document_hash(document_hash)
    }

    /// The keys of the issuers `events` cite, each resolved for `tenant`:
    /// the tenant's own issuer of that name, else the platform-wide one.
    /// Unrevoked only; a name neither scope holds is left out (and the
    /// attestation check then refuses it as unknown).
    pub fn issuer_keys_for(&self, tenant: &str, events: &[Event]) -> IssuerKeys {
        self.inner.registry.issuer_keys_for(tenant, events)
    }

    /// Registers a platform-wide issuer as the operator (CLI).
    pub fn add_issuer(&self, name: &str, public_key: &[u8]) -> Result<IssuerRecord> {
        self.add_issuer_scoped(None, name, public_key, OPERATOR_ACTOR)
    }

    /// Registers a trusted issuer, platform-wide (`tenant` None) or for one
    /// tenant, and writes the change to the log as a `registry_changed`
    /// entry (actor `by`) before the key is trusted. Put-if-absent: a name is
    /// never reused for another key, in its scope, and never held by both
    /// scopes for one tenant. Adding the same key again is a no-op.
    pub fn add_issuer_scoped(
        &self,
        tenant: Option<&str>,
        name: &str,
        public_key: &[u8],
        by: &str,
    ) -> Result<IssuerRecord> {
        let _serial = lock(&self.inner.writes);
        let log = |t: &str, doc: &str, hash: &Hash, claim| {
            self.log_registry_change(t, doc, hash, claim, by)
        };
        self.inner.registry.add_issuer(tenant, name, public_key, &log)
    }

    /// Revokes a platform-wide issuer as the operator (CLI).
    pub fn revoke_issuer(&self, name: &str) -> Result<IssuerRecord> {
        self.revoke_issuer_scoped(None, name, OPERATOR_ACTOR)
    }

    /// Revokes an issuer of one scope: later attestations by it are refused;
    /// entries written before stay valid evidence. The revocation is written
    /// to the log first (actor `by`).
    pub fn revoke_issuer_scoped(
        &self,
        tenant: Option<&str>,
        name: &str,
        by: &str,
    ) -> Result<IssuerRecord> {
        let _serial = lock(&self.inner.writes);
        let log = |t: &str, doc: &str, hash: &Hash, claim| {
            self.log_registry_change(t, doc, hash, claim, by)
        };
        self.inner.registry.revoke_issuer(tenant, name, &log)
    }

    /// The platform-wide issuer record of `name`, revoked or not.
    pub fn issuer(&self, name: &str) -> Result<Option<IssuerRecord>> {
        self.inner.registry.issuer_in(None, name)
    }

    /// The issuer record of `name` in exactly one scope, revoked or not.
    pub fn issuer_in(&self, tenant: Option<&str>, name: &str) -> Result<Option<IssuerRecord>> {
        self.inner.registry.issuer_in(tenant, name)
    }

    /// The record `name` means in `tenant`'s events: the tenant's own, else
    /// the platform-wide one; revoked ones too (bundles need old keys).
    pub fn resolve_issuer(&self, tenant: &str, name: &str) -> Result<Option<IssuerRecord>> {
        self.inner.registry.resolve_issuer(tenant, name)
    }

    /// Every issuer record of every scope, revoked ones included.
    pub fn issuers(&self) -> Result<Vec<IssuerRecord>> {
        self.inner.registry.issuers()
    }

    /// Writes a registry change (issuer or token added or revoked) to the
    /// log as a `registry_changed` entry of `tenant`, attested by the log key
    /// as the issuer [`LOG_ISSUER`]; returns its index once durable.
    /// `document_id` names the thing changed (`issuer:<name>`,
    /// `token:<id>`), `document_hash` is the SHA-256 of its public part (the
    /// issuer's key; `SHA-256("evidence-ledger token " || id)` for tokens),
    /// `by` the acting token's id or `operator`.
    pub fn log_registry_change(
        &self,
        tenant: &str,
        document_id: &str,
        document_hash: &Hash,
        claim: serde_json::Value,
        by: &str,
    ) -> Result<u64> {
        let event = self.inner.attester.event(
            tenant,
            EventKind::RegistryChanged,
            document_id,
            &document_hash.to_hex(),
            claim,
            by,
        )?;
        let receipts = self.append(tenant, vec![event])?;
        receipts
            .first()
            .map(|r| r.index)
            .ok_or_else(|| LedgerError::Corrupt("no receipt for a registry change".into()))
    }

    /// Trusts an SM2 CA root (PEM) for issuer certificates (issue 26 item
    /// 3): attestations may then carry a certificate chain up to it. The
    /// registration is written to the log first, as a `registry_changed`
    /// entry of the platform (actor `by`). A name is never reused for
    /// another root; the same root again is a no-op.
    pub fn add_issuer_ca(&self, name: &str, root_pem: &str, by: &str) -> Result<IssuerCaRecord> {
        let _serial = lock(&self.inner.writes);
        let log = |t: &str, doc: &str, hash: &Hash, claim| {
            self.log_registry_change(t, doc, hash, claim, by)
        };
        self.inner.issuer_cas.add(name, root_pem, &log)
    }

    /// Every registered issuer CA.
    pub fn issuer_ca_records(&self) -> Result<Vec<IssuerCaRecord>> {
        self.inner.issuer_cas.records()
    }

    /// Trusts a time-stamp authority's root certificate (PEM) as the
    /// operator (CLI). A name is never reused for another certificate.
    pub fn add_tsa(&self, name: &str, root_pem: &str) -> Result<TsaRecord> {
        self.add_tsa_by(name, root_pem, OPERATOR_ACTOR)
    }

    /// Trusts a TSA's root certificate, writing the change to the log as
    /// a `registry_changed` entry of the platform (actor `by`) first.
    pub fn add_tsa_by(&self, name: &str, root_pem: &str, by: &str) -> Result<TsaRecord> {
        let _serial = lock(&self.inner.writes);
        let log = |t: &str, doc: &str, hash: &Hash, claim| {
            self.log_registry_change(t, doc, hash, claim, by)
        };
        self.inner.registry.add_tsa(name, root_pem, &log)
    }

    /// Retires a trusted TSA (actor `by`), logged first: its tokens are
    /// refused on new events; what it stamped before stays evidence.
    pub fn retire_tsa(&self, name: &str, by: &str) -> Result<TsaRecord> {
        let _serial = lock(&self.inner.writes);
        let log = |t: &str, doc: &str, hash: &Hash, claim| {
            self.log_registry_change(t, doc, hash, claim, by)
        };
        self.inner.registry.retire_tsa(name, &log)
    }

    /// Every trusted TSA record, retired ones included.
    pub fn tsa_records(&self) -> Result<Vec<TsaRecord>> {
        self.inner.registry.tsa_records()
    }

    /// The roots of the TSAs not retired, parsed.
    pub fn trusted_tsas(&self) -> Arc<Vec<TrustedTsa>> {
        self.inner.registry.trusted_tsas()
    }

    /// Stores a token record under the SHA-256 of the token.
    pub fn put_token(&self, token_hash: &Hash, rec: &TokenRecord) -> Result<()> {
        self.inner.registry.put_token(token_hash, rec)
    }

    /// The token record stored under `token_hash`.
    pub fn token(&self, token_hash: &Hash) -> Result<Option<TokenRecord>> {
        self.inner.registry.token(token_hash)
    }

    /// Every token record with the hash it is stored under (every
    /// tenant's: for the offline CLI and migrations, not requests).
    pub fn tokens(&self) -> Result<Vec<(Hash, TokenRecord)>> {
        self.inner.registry.tokens()
    }

    /// One tenant's token records, through the per-tenant index.
    pub fn tenant_tokens(&self, tenant: &str) -> Result<Vec<(Hash, TokenRecord)>> {
        self.inner.registry.tenant_tokens(tenant)
    }

    /// The token record whose public id is `id`, with its stored hash.
    pub fn token_by_id(&self, id: &str) -> Result<Option<(Hash, TokenRecord)>> {
        self.inner.registry.token_by_id(id)
    }

    /// Up to `limit` auxiliary records under `prefix` with keys above
    /// `after`, in key order.
    pub fn aux_scan_after(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.inner.store.scan_records_after(RecordFamily::Aux, prefix, after, limit)
    }

    /// PostgreSQL: the synced commits' waits for the WAL flush and the
    /// synchronous standby, and their unknown outcomes; `None` on RocksDB.
    pub fn sync_wait_stats(&self) -> Option<crate::pgstats::SyncWaitSnapshot> {
        self.inner.store.sync_wait_stats().map(|s| s.snapshot())
    }

    /// Writes an auxiliary record (other crates' durable state), synced.
    pub fn aux_put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.inner.store.put_record(RecordFamily::Aux, key, value)
    }

    /// Reads an auxiliary record.
    pub fn aux_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner.store.get_record(RecordFamily::Aux, key)
    }

    /// Writes auxiliary records without waiting for fsync (access logs).
    pub fn aux_put_unsynced(&self, records: &[(Vec<u8>, Vec<u8>)]) -> Result<()> {
        self.inner.store.put_records_unsynced(RecordFamily::Aux, records)
    }

    /// Deletes the auxiliary records with keys in `[from, to)`.
    pub fn aux_delete_range(&self, from: &[u8], to: &[u8]) -> Result<()> {
        self.inner.store.delete_record_range(RecordFamily::Aux, from, to)
    }

    /// Deletes one auxiliary record, synced.
    pub fn aux_delete_synced(&self, key: &[u8]) -> Result<()> {
        self.inner.store.delete_record_synced(RecordFamily::Aux, key)
    }

    /// Up to `limit` auxiliary records under `prefix`, keys below `before`,
    /// greatest key first.
    pub fn aux_scan_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.inner.store.scan_records_rev(RecordFamily::Aux, prefix, before, limit)
    }

    /// Auxiliary records whose key starts with `prefix`, in key order.
    pub fn aux_scan(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.inner.store.scan_records(RecordFamily::Aux, prefix)
    }
}
