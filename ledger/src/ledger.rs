//! The ledger facade: open a data directory, append, read, prove.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rand_core::{OsRng, RngCore};
use verifier::entry::{verify_attestations, Event, EventKind, IssuerKeys};
use verifier::note::NoteSigner;
use verifier::tsa::{verify_timestamp_token, TrustedTsa};
use verifier::{Hash, VerifyError};

use crate::error::{LedgerError, Result};
use crate::fsutil::{create_dir_all_durable, sync_dir};
use crate::highwater::{HighWater, Mark, HIGH_WATER_FILE};
use crate::keys::{create_key_file, read_key_file, LOG_KEY_FILE};
use crate::pg::Lease;
use crate::registry::{
    IssuerRecord, TokenRecord, TsaRecord, PLATFORM_TENANT, TENANT_ISSUER_PREFIX,
};
use crate::sequencer::{
    idem_lookup, load_head, Erasure, GroupStats, Head, Prepared, PreparedPrivate, Request,
    Sequencer,
};
use crate::store::{RecordFamily, Store, StoreConfig, TAG_IDENTITY, TAG_RECORD};
use crate::tree::{self, StoreReader};
use crate::vault::{
    master_key_path, open_private, private_aad, seal_private, sealed_key_id, FileMasterKey, KeyId,
    KeyStore, Vault, WriteKey,
};
use verifier::v2;

/// How far in the future a token's genTime may be (clock skew between the
/// TSA and us).
pub const MAX_TIMESTAMP_SKEW_SECS: i64 = 300;

/// The issuer name under which the log's own key attests what the log
/// states as an issuer (the `report_issued` events). Reserved: no other key
/// may take it, and it cannot be revoked.
pub const LOG_ISSUER: &str = "evidence-ledger";

/// The actor id of registry changes made by the operator's CLI on a
/// stopped server.
pub const OPERATOR_ACTOR: &str = "operator";

/// Longest name of a newly registered issuer, so that `issuer:<name>` is a
/// document id.
pub const MAX_NEW_ISSUER_NAME: usize = 120;

/// Separator of composite registry keys.
const SEP: u8 = 0x00;

/// Sub-directory of the data directory holding RocksDB.
pub(crate) const DB_DIR: &str = "db";

/// File in the data directory naming a PostgreSQL store (its URL, 0600);
/// absent: RocksDB in `DIR/db`.
pub const STORE_FILE: &str = "store";

/// The store a data directory names: `DIR/store` holds a PostgreSQL URL
/// (written by `init --store`), else RocksDB in `DIR/db`.
pub fn configured_store(dir: &Path) -> Result<StoreConfig> {
    match std::fs::read_to_string(dir.join(STORE_FILE)) {
        Ok(s) => StoreConfig::parse(s.trim()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StoreConfig::RocksDb),
        Err(e) => Err(e.into()),
    }
}

/// Who holds a sequencer lease: "host pid N".
fn lease_holder() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname");
    format!("{} pid {}", host.map(|h| h.trim().to_string()).unwrap_or_default(), std::process::id())
}

/// Opens the store a data directory names to look only.
pub(crate) fn open_store_read_only(dir: &Path) -> Result<Store> {
    match configured_store(dir)? {
        StoreConfig::RocksDb => Store::open_read_only(&dir.join(DB_DIR)),
        pg => Store::open_config(&dir.join(DB_DIR), &pg),
    }
}

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
        }
    }
}

/// What the log answers an appender for one event, once it is durable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The client's event id.
    pub event_id: String,
    /// Index of the leaf.
    pub index: u64,
    /// RFC 9162 leaf hash.
    pub leaf_hash: Hash,
    /// Ledger time of the leaf.
    pub ledger_time: Arc<str>,
    /// Size of the tree the proof and checkpoint are for.
    pub tree_size: u64,
    /// Inclusion proof of the leaf in that tree.
    pub inclusion: Vec<Hash>,
    /// The signed checkpoint note of that tree.
    pub checkpoint: Arc<str>,
    /// True when the event id was recorded before with the same content.
    pub replayed: bool,
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
    log_key: SigningKey,
    head: Arc<RwLock<Arc<Head>>>,
    issuers: RwLock<Arc<IssuerIndex>>,
    /// Serialises registry writes: check-then-put is put-if-absent.
    registry_lock: Mutex<()>,
    tsas: RwLock<Arc<Vec<TrustedTsa>>>,
    sender: RwLock<Option<SyncSender<Request>>>,
    checkers: Permits,
    stats: Arc<GroupStats>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Document keys and keyed hashes (evidence v2); `None` when a
    /// read-only open found no index key yet.
    vault: Option<Arc<Vault>>,
    /// Whether the log holds v1 entries (written before evidence v2).
    has_v1: bool,
    /// Tenants allowed to submit v1 attestations.
    accept_v1: HashSet<String>,
    /// PostgreSQL: the sequencer lease this process holds.
    lease: Option<Lease>,
}

impl KeyStore for Store {
    fn wrapped_key(&self, id: &KeyId) -> Result<Option<Vec<u8>>> {
        Store::wrapped_key(self, id)
    }
    fn put_wrapped_key(&self, id: &KeyId, wrapped: &[u8]) -> Result<()> {
        Store::put_wrapped_key(self, id, wrapped)
    }
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
        // PostgreSQL: init writes under the sequencer lease, like any writer.
        let mut lease = None;
        let mut config = config.clone();
        if let StoreConfig::Postgres { url, epoch } = &mut config {
            crate::pg::migrate(url)?;
            let l = Lease::acquire(url, &lease_holder(), false, |_| {})?;
            *epoch = Some(l.epoch());
            lease = Some(l);
            let store = Store::open_config(&dir.join(DB_DIR), &config)?;
            if let Some(vkey) = store.log_vkey()? {
                return Err(LedgerError::AlreadyExists(format!(
                    "the database already holds the log of {vkey}; another node of that log \
                     copies its data directory's key files instead of init"
                )));
            }
        }
        // Every name made here is fsync'd through its directory before
        // init returns: a key file or store that a power cut takes back
        // would leave a log whose checkpoints no key can sign again.
        create_dir_all_durable(dir)?;
        // The store holds tokens' hashes and the registry; the key file is
        // 0600 already. Only the service's user enters the directory.
        let private = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700);
        std::fs::set_permissions(dir, private)?;
        let key_path = dir.join(LOG_KEY_FILE);
        if key_path.exists() {
            return Err(LedgerError::AlreadyExists(format!("{}", key_path.display())));
        }
        let signer = create_key_file(&key_path, origin)?;
        sync_dir(dir)?;
        let master = FileMasterKey::open_or_create(&master_key_path(dir))?;
        let store = Store::open_config(&dir.join(DB_DIR), &config)?;
        store.bind_log_vkey(&signer.vkey())?;
        if lease.is_some() {
            // The index key, now: a read-only open never creates it.
            Vault::open(Box::new(master), &store, HashSet::new())?;
        }
        drop(store);
        drop(lease);
        if let StoreConfig::Postgres { url, .. } = &config {
            // The URL may hold a password: 0600, like the key files.
            let path = dir.join(STORE_FILE);
            let mut f = std::fs::OpenOptions::new();
            std::os::unix::fs::OpenOptionsExt::mode(f.create_new(true).write(true), 0o600);
            let mut f = f.open(&path)?;
            std::io::Write::write_all(&mut f, format!("{url}\n").as_bytes())?;
            f.sync_all()?;
        }
        sync_dir(dir)?;
        Ok(signer.vkey())
    }

    /// Opens an initialised data directory and starts the sequencer.
    ///
    /// On PostgreSQL it first takes the sequencer lease (waiting as a
    /// standby with `wait_for_lease`): one sequencer per database.
    pub fn open(dir: &Path, mut opts: LedgerOptions) -> Result<Ledger> {
        let mut lease = None;
        if let StoreConfig::Postgres { url, epoch } = &mut opts.store {
            let l = Lease::acquire(url, &lease_holder(), opts.wait_for_lease, |current| {
                tracing::warn!(
                    "standby: {current} is the sequencer of this database; waiting for its lease"
                )
            })?;
            tracing::info!("sequencer lease taken (epoch {})", l.epoch());
            *epoch = Some(l.epoch());
            lease = Some(l);
        }
        let store = Store::open_config(&dir.join(DB_DIR), &opts.store)?;
        let ledger = Ledger::assemble(dir, store, Some(opts), lease)?;
        // An erasure whose purge did not happen (crash, failure): now.
        if ledger.inner.store.purge_pending()? {
            tracing::warn!("purging the store after an erasure that was not purged");
            ledger.inner.store.purge()?;
        }
        // The log attests its own statements (report issuance) as an issuer.
        let own = ledger.inner.log_key.verifying_key();
        ledger.add_issuer_scoped(None, LOG_ISSUER, own.as_bytes(), OPERATOR_ACTOR)?;
        Ok(ledger)
    }

    /// Opens a data directory to look only, even while a server holds it:
    /// the state as of now, no sequencer; every write fails.
    pub fn open_read_only(dir: &Path) -> Result<Ledger> {
        Ledger::assemble(dir, open_store_read_only(dir)?, None, None)
    }

    fn assemble(
        dir: &Path,
        store: Store,
        opts: Option<LedgerOptions>,
        lease: Option<Lease>,
    ) -> Result<Ledger> {
        let (name, log_key) = read_key_file(&dir.join(LOG_KEY_FILE))?;
        let signer = NoteSigner::new(&name, log_key.clone())
            .map_err(|e| LedgerError::Corrupt(format!("log key: {e}")))?;
        // A store holds the log of one key: another's key would sign
        // checkpoints of a tree it never saw.
        match store.log_vkey()? {
            Some(v) if v != signer.vkey() => {
                return Err(LedgerError::Corrupt(format!(
                    "the store holds the log of {v}, not of this data directory's key {}",
                    signer.vkey()
                )))
            }
            None if opts.is_some() => store.bind_log_vkey(&signer.vkey())?,
            _ => {}
        }
        let store = Arc::new(store);
        let head = Arc::new(RwLock::new(Arc::new(load_head(&store, &signer)?)));
        let issuers = RwLock::new(Arc::new(load_issuer_keys(&store)?));
        let tsas = RwLock::new(Arc::new(load_tsas(&store)?));
        let (origin, vkey) = (signer.name().to_string(), signer.vkey());
        let stats = Arc::new(GroupStats::default());
        let writable = opts.is_some();
        let erased = store.erasures()?.into_iter().map(|(id, _)| id).collect();
        let vault = if writable {
            finish_master_rotation(dir, &store)?;
            let master = FileMasterKey::open_or_create(&master_key_path(dir))?;
            Some(Arc::new(Vault::open(Box::new(master), store.as_ref(), erased)?))
        } else {
            match FileMasterKey::open_existing(&master_key_path(dir)) {
                Ok(master) => {
                    Vault::open(Box::new(master), store.as_ref(), erased).ok().map(Arc::new)
                }
                Err(_) => None,
            }
        };
        let accept_v1 = opts.as_ref().map(|o| o.accept_v1_attestations.clone()).unwrap_or_default();
        let has_v1 = if writable { store.v2_since()? > 0 } else { head_of(&head).size > 0 };
        let (sender, thread) = match opts {
            None => (None, None),
            Some(opts) => {
                let high_water = check_high_water(dir, &store, &head_of(&head), &opts)?;
                let (tx, rx) = mpsc::sync_channel(opts.queue_depth);
                let seq = Sequencer {
                    stats: stats.clone(),
                    store: store.clone(),
                    signer,
                    head: head.clone(),
                    sync: opts.sync,
                    max_group_events: opts.max_group_events,
                    high_water: std::cell::RefCell::new(high_water),
                    vault: vault.clone().ok_or_else(|| LedgerError::Corrupt("no vault".into()))?,
                    has_v1,
                    log_key: log_key.clone(),
                };
                let thread = std::thread::Builder::new()
                    .name("sequencer".into())
                    .spawn(move || seq.run(rx))?;
                (Some(tx), Some(thread))
            }
        };
        Ok(Ledger {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                store,
                origin,
                vkey,
                log_key,
                head,
                issuers,
                registry_lock: Mutex::new(()),
                tsas,
                sender: RwLock::new(sender),
                stats,
                checkers: Permits::new(
                    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
                ),
                thread: Mutex::new(thread),
                vault,
                has_v1,
                accept_v1,
                lease,
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

    /// The log's C2SP verifier key.
    pub fn vkey(&self) -> &str {
        &self.inner.vkey
    }

    /// Signs `msg` with the log's Ed25519 key, for statements the log makes
    /// as an issuer (the attestation of a `report_issued` event). Such
    /// messages are canonical JSON objects, so they never read as the
    /// checkpoint bodies the same key signs.
    pub fn sign_with_log_key(&self, msg: &[u8]) -> Signature {
        self.inner.log_key.sign(msg)
    }

    fn head(&self) -> Arc<Head> {
        match self.inner.head.read() {
            Ok(h) => h.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Whether appends can be taken: the sequencer runs and was not closed.
    pub fn is_accepting(&self) -> bool {
        let open = self.inner.sender.read().map(|s| s.is_some()).unwrap_or(false);
        let running = self
            .inner
            .thread
            .lock()
            .map(|t| t.as_ref().is_some_and(|h| !h.is_finished()))
            .unwrap_or(false);
        open && running
    }

    /// False from a failed synced write until one succeeds again: the
    /// disk is full or failing, appends are refused (nothing acknowledged
    /// is lost). A full disk recovers in place once space is freed; after
    /// an I/O error RocksDB stays read-only until the process restarts.
    pub fn storage_ok(&self) -> bool {
        !self.inner.stats.storage_failing.load(std::sync::atomic::Ordering::Relaxed)
            && !self.lease_lost()
    }

    /// PostgreSQL: whether this process lost its sequencer lease (its
    /// lock's session ended). It can no longer commit once another
    /// process takes over; `serve` exits, to be restarted as a standby.
    pub fn lease_lost(&self) -> bool {
        self.inner.lease.as_ref().is_some_and(Lease::lost) || self.inner.store.fenced()
    }

    /// Where the store's memory is (block cache, memtables, table readers).
    pub fn memory(&self) -> Result<crate::store::MemoryReport> {
        self.inner.store.memory()
    }

    /// Counters of the group commits since open.
    pub fn group_stats(&self) -> &GroupStats {
        &self.inner.stats
    }

    /// The committed head.
    pub fn status(&self) -> LedgerStatus {
        let h = self.head();
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
        check_batch(tenant, &events)?;
        let vault = self.vault()?;
        let ids: Vec<(&str, KeyId)> = events
            .iter()
            .map(|e| (e.event_id.as_str(), vault.event_id(tenant, &e.event_id)))
            .collect();
        let logged: Vec<bool> = idem_lookup(&self.inner.store, self.inner.has_v1, tenant, &ids)?
            .iter()
            .map(Option::is_some)
            .collect();
        let prepared = {
            // As many checkers at once as cores: more only starve the
            // sequencer thread, which the OS shares with them per thread.
            let _permit = self.inner.checkers.acquire();
            self.check_new_events(tenant, &events, &logged)?;
            let idem: Vec<KeyId> = ids.iter().map(|i| i.1).collect();
            events
                .into_iter()
                .zip(idem)
                .enumerate()
                .map(|(pos, (event, idem_id))| {
                    let canonical = verifier::jcs::to_canonical(&event.raw);
                    let content = vault.keyed_hash("content", &[tenant.as_bytes(), &canonical]);
                    let content_v1 = self.inner.has_v1.then(|| Hash::digest(&canonical).0);
                    let private = if logged[pos] {
                        None
                    } else {
                        let sealed = self.seal(tenant, &event, &canonical, None);
                        Some(sealed.map_err(|e| at_position(pos, e))?)
                    };
                    Ok(Prepared { event, content, content_v1, idem_id, private })
                })
                .collect::<Result<Vec<_>>>()?
        };
        self.sequence(tenant, prepared)
    }

    fn vault(&self) -> Result<&Arc<Vault>> {
        self.inner
            .vault
            .as_ref()
            .ok_or_else(|| LedgerError::Unavailable("the key vault is not open (read-only)".into()))
    }

    /// Builds and seals an event's v2 record (and identity opening) under
    /// its document key, or under `erasure`'s own key for an erasure entry.
    fn seal(
        &self,
        tenant: &str,
        event: &Event,
        canonical: &[u8],
        erasure: Option<(KeyId, Erasure)>,
    ) -> Result<PreparedPrivate> {
        let vault = self.vault()?;
        let store = self.inner.store.as_ref();
        let doc_id = vault.document_id(tenant, &event.document_id);
        let (seal_id, erasure) = match erasure {
            Some((id, e)) => (id, Some(e)),
            // After an erasure the service still writes about the document
            // (reports that say what was erased), under the erasure's key.
            None if event.kind.is_service_kind() && vault.is_erased(&doc_id) => {
                (vault.erasure_key_id(tenant, &event.document_id), None)
            }
            None => (doc_id, None),
        };
        let SealedRecord { commitment, record, identity, new_key } =
            seal_record(vault, store, tenant, event, canonical, &seal_id)?;
        // A completed contract enters the retention index, its ids sealed
        // under the document key (an erasure shreds them too).
        let completion = if event.kind == EventKind::Completed && erasure.is_none() {
            let ids = serde_json::json!({"tenant": tenant, "document_id": event.document_id});
            let key = vault.key_for_writing(&seal_id, store)?.key;
            Some(seal_private(
                &key,
                &seal_id,
                &blob_aad(b"completion"),
                ids.to_string().as_bytes(),
            )?)
        } else {
            None
        };
        Ok(PreparedPrivate {
            doc_id,
            seal_id,
            hash_id: hash_indexed(event).then(|| vault.document_hash_id(&event.document_hash.0)),
            subject_id: vault.subject_id(tenant, &event.actor.id),
            commitment,
            record,
            identity,
            new_key,
            completion,
            erasure,
        })
    }

    /// The private opening of the entry at `index` (evidence v2): its
    /// record and identity opening, checked against the leaf's commitment.
    pub fn opening(&self, index: u64) -> Result<Opening> {
        let leaf = self.leaf(index)?;
        let parsed = v2::parse_any_leaf(&leaf)
            .map_err(|e| LedgerError::Corrupt(format!("leaf {index}: {e}")))?;
        let v2::Leaf::V2(leaf) = parsed else { return Ok(Opening::V1) };
        let Some(record) = self.open_private(index, TAG_RECORD, &leaf.commitment)? else {
            return Ok(Opening::Erased);
        };
        if v2::record_commitment(&record) != leaf.commitment {
            return Err(LedgerError::Corrupt(format!(
                "entry {index}: record does not open the leaf"
            )));
        }
        let identity = self.open_private(index, TAG_IDENTITY, &leaf.commitment)?;
        Ok(Opening::Record { record, identity })
    }

    fn open_private(
        &self,
        index: u64,
        tag: u8,
        commitment: &Hash,
    ) -> Result<Option<serde_json::Value>> {
        let Some(sealed) = self.inner.store.private(index, tag)? else { return Ok(None) };
        let vault = self.vault()?;
        let key_id = sealed_key_id(&sealed)?;
        let Some(key) = vault.key_for_reading(&key_id, self.inner.store.as_ref())? else {
            return Ok(None);
        };
        let plain = open_private(&key, &private_aad(tag, commitment), &sealed)
            .map_err(|e| LedgerError::Corrupt(format!("entry {index}: {e}")))?;
        let value = verifier::jcs::parse(&plain, &verifier::entry::LEAF_LIMITS)
            .map_err(|e| LedgerError::Corrupt(format!("entry {index}: sealed value: {e}")))?;
        Ok(Some(value))
    }

    /// The erasure of one tenant's document, if it was erased: JSON
    /// {scope, at, by, reason, entry}.
    pub fn document_erasure(
        &self,
        tenant: &str,
        document_id: &str,
    ) -> Result<Option<serde_json::Value>> {
        let id = self.vault()?.document_id(tenant, document_id);
        self.inner.store.erasure(&id)?.map(|b| parse_json(&b)).transpose()
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
        let id = self.vault()?.document_id(tenant, document_id);
        self.inner.store.wrapped_key(&id)
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
        let vault = self.vault()?;
        let doc_id = vault.document_id(tenant, document_id);
        let seal_id = if vault.is_erased(&doc_id) {
            vault.erasure_key_id(tenant, document_id)
        } else {
            doc_id
        };
        let key = vault.key_for_writing(&seal_id, self.inner.store.as_ref())?;
        if let Some(w) = &key.new_wrapped {
            // Synced before the sealed value is stored.
            self.inner.store.put_wrapped_key_synced(&seal_id, w)?;
            vault.mark_durable(&[seal_id]);
        }
        seal_private(&key.key, &seal_id, &blob_aad(purpose), plain)
    }

    /// Opens what [`Ledger::seal_document_blob`] sealed; `None` once its
    /// key was destroyed by an erasure.
    pub fn open_document_blob(&self, purpose: &[u8], sealed: &[u8]) -> Result<Option<Vec<u8>>> {
        let vault = self.vault()?;
        let key_id = sealed_key_id(sealed)?;
        let Some(key) = vault.key_for_reading(&key_id, self.inner.store.as_ref())? else {
            return Ok(None);
        };
        open_private(&key, &blob_aad(purpose), sealed).map(Some)
    }

    /// The documents (ids) in which the tenant's actor has entries that
    /// still hold a record: what a subject erasure touches.
    pub fn subject_documents(&self, tenant: &str, actor_id: &str) -> Result<Vec<String>> {
        let vault = self.vault()?;
        let subject = vault.subject_id(tenant, actor_id);
        let mut docs = std::collections::BTreeSet::new();
        for i in self.inner.store.subject_index(&subject)? {
            if let Opening::Record { record, .. } = self.opening(i)? {
                if let Some(d) = record["event"]["document_id"].as_str() {
                    docs.insert(d.to_owned());
                }
            }
        }
        Ok(docs.into_iter().collect())
    }

    /// How many of a tenant's document's entries are v1 leaves (public in
    /// clear, written before evidence v2; no erasure can take them back).
    pub fn v1_document_entries(&self, tenant: &str, document_id: &str) -> Result<usize> {
        Ok(self.inner.store.document_entries(tenant, document_id)?.len())
    }

    /// A keyed hash of (tenant, document id): what private per-document
    /// settings are keyed by, so no key spells a contract id.
    pub fn document_key_id(&self, tenant: &str, document_id: &str) -> Result<KeyId> {
        Ok(self.vault()?.document_id(tenant, document_id))
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
        check_reason(reason)?;
        let _serial = lock(&self.inner.registry_lock);
        let vault = self.vault()?.clone();
        let doc_id = vault.document_id(tenant, document_id);
        if let Some(rec) = self.inner.store.erasure(&doc_id)? {
            let rec: serde_json::Value = parse_json(&rec)?;
            return Err(LedgerError::AlreadyExists(format!(
                "document {document_id} was erased by entry {}",
                rec["entry"]
            )));
        }
        let size = self.head().size;
        let entries: Vec<u64> = self
            .inner
            .store
            .doc_index(&doc_id)?
            .into_iter()
            .map(|e| e.index)
            .filter(|i| *i < size)
            .collect();
        let Some(&last) = entries.last() else {
            if !self.inner.store.document_entries(tenant, document_id)?.is_empty() {
                return Err(LedgerError::InvalidRequest(
                    "this document's entries are v1 leaves, public in clear; they cannot be erased"
                        .into(),
                ));
            }
            return Err(LedgerError::NotFound(format!("document {document_id}")));
        };
        let document_hash = match self.opening(last)? {
            Opening::Record { record, .. } => {
                record["event"]["document_hash"].as_str().map(str::to_owned)
            }
            _ => None,
        }
        .unwrap_or_else(|| "00".repeat(32));
        let claim = serde_json::json!({"erasure": {"scope": "document", "reason": reason}});
        let event =
            self.log_event(tenant, EventKind::Erased, document_id, &document_hash, claim, by)?;
        let canonical = verifier::jcs::to_canonical(&event.raw);
        let erasure = (
            vault.erasure_key_id(tenant, document_id),
            Erasure::Document { by: by.to_owned(), reason: reason.to_owned() },
        );
        vault.mark_erased(&doc_id);
        let result = self
            .seal(tenant, &event, &canonical, Some(erasure))
            .and_then(|private| self.sequence_one(tenant, event, &canonical, private));
        // Unmarked only if the erasure is not on disk: a failure after the
        // synced write (recording the high-water mark) leaves it erased.
        if result.is_err() && self.inner.store.erasure(&doc_id).ok().flatten().is_none() {
            vault.unmark_erased(&doc_id);
        }
        result
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
        check_reason(reason)?;
        check_id("actor id", actor_id)?;
        let _serial = lock(&self.inner.registry_lock);
        let vault = self.vault()?.clone();
        let subject = vault.subject_id(tenant, actor_id);
        if self.inner.store.subject_index(&subject)?.is_empty() {
            return Err(LedgerError::NotFound(format!(
                "no entry of actor {actor_id} holds personal data"
            )));
        }
        let document_id = subject_document(actor_id);
        let hash = Hash::digest(format!("evidence-ledger subject {actor_id}").as_bytes()).to_hex();
        let claim = serde_json::json!({"erasure": {"scope": "subject", "actor_id": actor_id, "reason": reason}});
        let event = self.log_event(tenant, EventKind::Erased, &document_id, &hash, claim, by)?;
        let canonical = verifier::jcs::to_canonical(&event.raw);
        let erasure = (
            vault.erasure_key_id(tenant, &document_id),
            Erasure::Subject { subject, by: by.to_owned(), reason: reason.to_owned() },
        );
        let private = self.seal(tenant, &event, &canonical, Some(erasure))?;
        self.sequence_one(tenant, event, &canonical, private)
    }

    /// The retention index: documents completed before `before_micros`,
    /// oldest first, as (index key, (tenant, document id)); the ids are
    /// `None` once the document was erased (its key destroyed).
    #[allow(clippy::type_complexity)]
    pub fn completions_before(
        &self,
        before_micros: i64,
    ) -> Result<Vec<(Vec<u8>, Option<(String, String)>)>> {
        let mut out = Vec::new();
        for (key, sealed) in self.aux_scan(crate::store::RETENTION_PREFIX)? {
            let at = key
                .get(crate::store::RETENTION_PREFIX.len()..)
                .filter(|r| r.len() == 40)
                .map(|r| crate::store::be_u64(r) as i64);
            match at {
                Some(t) if t < before_micros => {}
                Some(_) => break,
                None => continue,
            }
            let ids = self.open_document_blob(b"completion", &sealed)?.and_then(|b| {
                let v: serde_json::Value = serde_json::from_slice(&b).ok()?;
                Some((v["tenant"].as_str()?.to_owned(), v["document_id"].as_str()?.to_owned()))
            });
            out.push((key, ids));
        }
        Ok(out)
    }

    /// Whether an erasure was committed and the store not purged since
    /// (redone by the next [`Ledger::open`]).
    pub fn purge_pending(&self) -> Result<bool> {
        self.inner.store.purge_pending()
    }

    /// Rewrites what still holds erased values on disk: flushes every
    /// memtable (the WAL files behind them are then deleted) and compacts
    /// the families erasures delete from. Slow; after erasures only.
    pub fn purge(&self) -> Result<()> {
        self.inner.store.purge()
    }

    fn sequence_one(
        &self,
        tenant: &str,
        event: Event,
        canonical: &[u8],
        private: PreparedPrivate,
    ) -> Result<Receipt> {
        let vault = self.vault()?;
        let idem_id = vault.event_id(tenant, &event.event_id);
        let content = vault.keyed_hash("content", &[tenant.as_bytes(), canonical]);
        let prepared =
            Prepared { event, content, content_v1: None, idem_id, private: Some(private) };
        self.sequence(tenant, vec![prepared])?
            .into_iter()
            .next()
            .ok_or_else(|| LedgerError::Corrupt("no receipt".into()))
    }

    /// A service-written event attested (v2) by the log key, with a
    /// random event id `<kind>-<24 hex>`.
    fn log_event(
        &self,
        tenant: &str,
        kind: EventKind,
        document_id: &str,
        document_hash_hex: &str,
        claim: serde_json::Value,
        by: &str,
    ) -> Result<Event> {
        let mut rnd = [0u8; 12];
        OsRng.fill_bytes(&mut rnd);
        let prefix = match kind {
            EventKind::RegistryChanged => "registry",
            EventKind::Erased => "erased",
            EventKind::ReportIssued => "report",
            _ => "event",
        };
        let event_id = format!("{prefix}-{}", hex::encode(rnd));
        let display = match kind {
            EventKind::RegistryChanged => "registry",
            EventKind::Erased => "admin",
            _ => "evidence-ledger",
        };
        let value = self.signed_log_event(
            tenant,
            kind,
            &event_id,
            document_id,
            document_hash_hex,
            claim,
            by,
            display,
        );
        Event::from_value(value, true)
            .map_err(|source| LedgerError::Rejected { position: 0, source })
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
    ) -> serde_json::Value {
        log_event_json(
            &self.inner.log_key,
            tenant,
            kind,
            event_id,
            document_id,
            document_hash_hex,
            claim,
            by,
            display,
        )
    }

    /// Attestations and timestamp tokens of the events not `logged` yet;
    /// an error names the event's position in the whole batch.
    fn check_new_events(&self, tenant: &str, events: &[Event], logged: &[bool]) -> Result<()> {
        let keys = self.issuer_keys_for(tenant, events);
        let rejected = |position, source| LedgerError::Rejected { position, source };
        if !self.inner.accept_v1.contains(tenant) {
            for (pos, e) in events.iter().enumerate().filter(|(i, _)| !logged[*i]) {
                if let Some(j) = e.attestations.iter().position(|a| a.version != 2) {
                    return Err(rejected(
                        pos,
                        VerifyError::BadSignature(format!(
                            "attestations[{j}]: v1 attestations are refused (they bind neither \
                             tenant, contract nor actor): sign the v2 message and add \"v\": 2 \
                             (docs/formats.md)"
                        )),
                    ));
                }
            }
        }
        if !logged.contains(&true) {
            verify_attestations(tenant, events, &keys).map_err(|(p, e)| rejected(p, e))?;
            return self.verify_timestamps(events.iter().enumerate());
        }
        // Replays in the batch: check the others only (a rare path; clones).
        let (positions, fresh): (Vec<usize>, Vec<Event>) = (events.iter().enumerate())
            .filter(|(i, _)| !logged[*i])
            .map(|(i, e)| (i, e.clone()))
            .unzip();
        verify_attestations(tenant, &fresh, &keys).map_err(|(p, e)| rejected(positions[p], e))?;
        self.verify_timestamps(positions.iter().copied().zip(&fresh))
    }

    /// Checks every `timestamp_token` (RFC 3161) against the event's
    /// document hash, and every `event_timestamp_token` against the event's
    /// content imprint, both under the trusted TSA roots.
    fn verify_timestamps<'e>(
        &self,
        events: impl Iterator<Item = (usize, &'e Event)> + Clone,
    ) -> Result<()> {
        if events
            .clone()
            .all(|(_, e)| e.timestamp_token.is_none() && e.event_timestamp_token.is_none())
        {
            return Ok(());
        }
        let tsas = self.trusted_tsas();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let check = |token: &[u8], imprint: &Hash| {
            verify_timestamp_token(token, imprint, &tsas, now, MAX_TIMESTAMP_SKEW_SECS)
        };
        for (position, e) in events {
            if let Some(token) = &e.timestamp_token {
                check(token, &e.document_hash)
                    .map_err(|source| LedgerError::Rejected { position, source })?;
            }
            if let Some(token) = &e.event_timestamp_token {
                check(token, &e.content_imprint()).map_err(|source| LedgerError::Rejected {
                    position,
                    source: match source {
                        VerifyError::Invalid { reason, .. } => {
                            VerifyError::invalid("event_timestamp_token", reason)
                        }
                        other => other,
                    },
                })?;
            }
        }
        Ok(())
    }

    fn sequence(&self, tenant: &str, mut events: Vec<Prepared>) -> Result<Vec<Receipt>> {
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
            let guard = match self.inner.sender.read() {
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
    pub fn close(&self) {
        match self.inner.sender.write() {
            Ok(mut s) => drop(s.take()),
            Err(p) => drop(p.into_inner().take()),
        }
        let handle = match self.inner.thread.lock() {
            Ok(mut t) => t.take(),
            Err(p) => p.into_inner().take(),
        };
        if let Some(h) = handle {
            let _ = h.join();
        }
    }

    /// The leaf bytes at `index`, if committed.
    pub fn leaf(&self, index: u64) -> Result<Vec<u8>> {
        if index >= self.head().size {
            return Err(LedgerError::NotFound(format!("entry {index}")));
        }
        self.inner
            .store
            .leaf(index)?
            .ok_or_else(|| LedgerError::Corrupt(format!("leaf {index} missing")))
    }

    /// A C2SP tlog-tiles tile of the committed tree: hash tile or entry
    /// bundle, read from the stored hashes or leaves (`W` records). Only
    /// tiles the committed tree holds whole are served: `NotFound` beyond
    /// its right edge (a full tile before it completes, a partial tile
    /// wider than the tree), `InvalidRequest` for a width or level out of
    /// range.
    pub fn tile(&self, id: &crate::tiles::TileId) -> Result<Vec<u8>> {
        crate::tiles::read_tile(&self.inner.store, self.head().size, id)
    }

    /// RFC 9162 inclusion proof of `index` in the committed tree of `tree_size`.
    pub fn inclusion_proof(&self, index: u64, tree_size: u64) -> Result<Vec<Hash>> {
        self.check_size(tree_size)?;
        tree::inclusion_proof(index, tree_size, &StoreReader(&self.inner.store))
    }

    /// RFC 9162 consistency proof between committed sizes `old` and `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        self.check_size(new)?;
        tree::consistency_proof(old, new, &StoreReader(&self.inner.store))
    }

    /// The root of the committed tree of `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash> {
        self.check_size(size)?;
        tree::root(size, &StoreReader(&self.inner.store))
    }

    fn check_size(&self, size: u64) -> Result<()> {
        let committed = self.head().size;
        if size > committed {
            return Err(LedgerError::InvalidRequest(format!(
                "tree size {size} > current size {committed}"
            )));
        }
        Ok(())
    }

    /// Indices of one tenant's document entries, ascending.
    pub fn document_entries(&self, tenant: &str, document_id: &str) -> Result<Vec<u64>> {
        let size = self.head().size;
        let mut v = self.inner.store.document_entries(tenant, document_id)?;
        if let Some(vault) = &self.inner.vault {
            let id = vault.document_id(tenant, document_id);
            v.extend(self.inner.store.doc_index(&id)?.into_iter().map(|e| e.index));
            v.sort_unstable();
            v.dedup();
        }
        v.retain(|i| *i < size);
        Ok(v)
    }

    /// Indices of the entries carrying `document_hash`, any tenant, ascending.
    pub fn entries_by_document_hash(&self, document_hash: &Hash) -> Result<Vec<u64>> {
        let size = self.head().size;
        let mut v = self.inner.store.document_hash_entries(&document_hash.0)?;
        if let Some(vault) = &self.inner.vault {
            let id = vault.document_hash_id(&document_hash.0);
            v.extend(self.inner.store.hash_index(&id)?);
            v.sort_unstable();
            v.dedup();
        }
        v.retain(|i| *i < size);
        Ok(v)
    }

    /// The keys of the issuers `events` cite, each resolved for `tenant`:
    /// the tenant's own issuer of that name, else the platform-wide one.
    /// Unrevoked only; a name neither scope holds is left out (and the
    /// attestation check then refuses it as unknown).
    pub fn issuer_keys_for(&self, tenant: &str, events: &[Event]) -> IssuerKeys {
        let index = match self.inner.issuers.read() {
            Ok(k) => k.clone(),
            Err(p) => p.into_inner().clone(),
        };
        let mut keys = IssuerKeys::new();
        for a in events.iter().flat_map(|e| e.attestations.iter()) {
            if keys.contains_key(&a.issuer) {
                continue;
            }
            if let Some(k) = index.resolve(tenant, &a.issuer) {
                keys.insert(a.issuer.clone(), *k);
            }
        }
        keys
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
        check_id("issuer name", name)?;
        let key = evidence_key(public_key)?;
        let _guard = self.inner.registry_lock.lock().unwrap_or_else(|p| p.into_inner());
        if name == LOG_ISSUER {
            return self.add_log_issuer(tenant, &key);
        }
        if let Some(existing) = self.issuer_in(tenant, name)? {
            if existing.public_key == b64(key.as_bytes()) && existing.revoked_at.is_none() {
                return Ok(existing);
            }
            return Err(LedgerError::AlreadyExists(format!("issuer {name}")));
        }
        self.check_new_issuer(tenant, name)?;
        let scope_tenant = tenant.unwrap_or(PLATFORM_TENANT);
        let claim = serde_json::json!({
            "action": "issuer_added",
            "name": name,
            "public_key": b64(key.as_bytes()),
            "scope": if tenant.is_some() { "tenant" } else { "platform" },
        });
        let hash = Hash::digest(key.as_bytes());
        let index =
            self.log_registry_change(scope_tenant, &issuer_document(name), &hash, claim, by)?;
        let rec = IssuerRecord {
            name: name.to_string(),
            tenant: tenant.map(str::to_string),
            public_key: b64(key.as_bytes()),
            added_at: now_rfc3339(),
            revoked_at: None,
            added_entry: Some(index),
            revoked_entry: None,
        };
        self.put_json(RecordFamily::Issuers, &issuer_key(tenant, name), &rec)?;
        self.reload_issuers()?;
        Ok(rec)
    }

    /// The log's own key as the platform issuer [`LOG_ISSUER`]; it is the
    /// log's published vkey, so its registration is not itself logged.
    fn add_log_issuer(&self, tenant: Option<&str>, key: &VerifyingKey) -> Result<IssuerRecord> {
        if tenant.is_some() || key != &self.inner.log_key.verifying_key() {
            return Err(LedgerError::AlreadyExists(format!(
                "issuer {LOG_ISSUER} is reserved for the log's own key"
            )));
        }
        if let Some(existing) = self.issuer_in(None, LOG_ISSUER)? {
            return Ok(existing);
        }
        let rec = IssuerRecord {
            name: LOG_ISSUER.to_string(),
            tenant: None,
            public_key: b64(key.as_bytes()),
            added_at: now_rfc3339(),
            revoked_at: None,
            added_entry: None,
            revoked_entry: None,
        };
        self.put_json(RecordFamily::Issuers, LOG_ISSUER.as_bytes(), &rec)?;
        self.reload_issuers()?;
        Ok(rec)
    }

    /// The scope rules for a name not yet held in its scope.
    fn check_new_issuer(&self, tenant: Option<&str>, name: &str) -> Result<()> {
        if name.len() > MAX_NEW_ISSUER_NAME {
            return Err(LedgerError::InvalidRequest(format!(
                "issuer name: at most {MAX_NEW_ISSUER_NAME} characters"
            )));
        }
        match tenant {
            Some(t) => {
                check_id("tenant", t)?;
                if t == PLATFORM_TENANT {
                    return Err(LedgerError::InvalidRequest(format!(
                        "tenant {PLATFORM_TENANT} is reserved; omit the tenant for a platform-wide issuer"
                    )));
                }
                if !name.starts_with(TENANT_ISSUER_PREFIX) {
                    return Err(LedgerError::InvalidRequest(format!(
                        "a tenant's issuer is one of its signers' keys, named {TENANT_ISSUER_PREFIX}<actor id>"
                    )));
                }
                if self.issuer_in(None, name)?.is_some() {
                    return Err(LedgerError::AlreadyExists(format!(
                        "issuer {name} is platform-wide"
                    )));
                }
            }
            None => {
                let mut prefix = name.as_bytes().to_vec();
                prefix.push(SEP);
                if !self.inner.store.scan_records(RecordFamily::Issuers, &prefix)?.is_empty() {
                    return Err(LedgerError::AlreadyExists(format!(
                        "issuer {name} is held by a tenant"
                    )));
                }
            }
        }
        Ok(())
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
        if name == LOG_ISSUER {
            return Err(LedgerError::InvalidRequest(format!(
                "issuer {LOG_ISSUER} is the log's own key and cannot be revoked"
            )));
        }
        let _guard = self.inner.registry_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut rec =
            self.issuer_in(tenant, name)?.ok_or_else(|| LedgerError::NotFound(name.into()))?;
        if rec.revoked_at.is_some() {
            return Ok(rec);
        }
        let claim = serde_json::json!({
            "action": "issuer_revoked",
            "name": name,
            "public_key": rec.public_key,
            "scope": if tenant.is_some() { "tenant" } else { "platform" },
        });
        let key = base64::engine::general_purpose::STANDARD
            .decode(&rec.public_key)
            .map_err(|e| LedgerError::Corrupt(format!("issuer {name}: {e}")))?;
        let scope_tenant = tenant.unwrap_or(PLATFORM_TENANT);
        let index = self.log_registry_change(
            scope_tenant,
            &issuer_document(name),
            &Hash::digest(&key),
            claim,
            by,
        )?;
        rec.revoked_at = Some(now_rfc3339());
        rec.revoked_entry = Some(index);
        self.put_json(RecordFamily::Issuers, &issuer_key(tenant, name), &rec)?;
        self.reload_issuers()?;
        Ok(rec)
    }

    /// The platform-wide issuer record of `name`, revoked or not.
    pub fn issuer(&self, name: &str) -> Result<Option<IssuerRecord>> {
        self.issuer_in(None, name)
    }

    /// The issuer record of `name` in exactly one scope, revoked or not.
    pub fn issuer_in(&self, tenant: Option<&str>, name: &str) -> Result<Option<IssuerRecord>> {
        self.get_json(RecordFamily::Issuers, &issuer_key(tenant, name))
    }

    /// The record `name` means in `tenant`'s events: the tenant's own, else
    /// the platform-wide one; revoked ones too (bundles need old keys).
    pub fn resolve_issuer(&self, tenant: &str, name: &str) -> Result<Option<IssuerRecord>> {
        match self.issuer_in(Some(tenant), name)? {
            Some(r) => Ok(Some(r)),
            None => self.issuer_in(None, name),
        }
    }

    /// Every issuer record of every scope, revoked ones included.
    pub fn issuers(&self) -> Result<Vec<IssuerRecord>> {
        self.scan_json(RecordFamily::Issuers, b"")
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
        let event = self.log_event(
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

    fn reload_issuers(&self) -> Result<()> {
        let keys = Arc::new(load_issuer_keys(&self.inner.store)?);
        match self.inner.issuers.write() {
            Ok(mut k) => *k = keys,
            Err(p) => *p.into_inner() = keys,
        }
        Ok(())
    }

    /// Trusts a time-stamp authority's root certificate (PEM). A name is
    /// never reused for another certificate.
    pub fn add_tsa(&self, name: &str, root_pem: &str) -> Result<TsaRecord> {
        check_id("TSA name", name)?;
        TrustedTsa::from_pem(name, root_pem)
            .map_err(|e| LedgerError::InvalidRequest(format!("root certificate: {e}")))?;
        if let Some(existing) = self.get_json::<TsaRecord>(RecordFamily::Tsas, name.as_bytes())? {
            if existing.root_pem.trim() == root_pem.trim() {
                return Ok(existing);
            }
            return Err(LedgerError::AlreadyExists(format!("TSA {name}")));
        }
        let rec = TsaRecord {
            name: name.to_string(),
            root_pem: root_pem.to_string(),
            added_at: now_rfc3339(),
        };
        self.put_json(RecordFamily::Tsas, name.as_bytes(), &rec)?;
        let tsas = Arc::new(load_tsas(&self.inner.store)?);
        match self.inner.tsas.write() {
            Ok(mut t) => *t = tsas,
            Err(p) => *p.into_inner() = tsas,
        }
        Ok(rec)
    }

    /// Every trusted TSA record.
    pub fn tsa_records(&self) -> Result<Vec<TsaRecord>> {
        self.scan_json(RecordFamily::Tsas, b"")
    }

    /// The trusted TSA roots, parsed.
    pub fn trusted_tsas(&self) -> Arc<Vec<TrustedTsa>> {
        match self.inner.tsas.read() {
            Ok(t) => t.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Stores a token record under the SHA-256 of the token.
    pub fn put_token(&self, token_hash: &Hash, rec: &TokenRecord) -> Result<()> {
        self.put_json(RecordFamily::Tokens, &token_hash.0, rec)
    }

    /// The token record stored under `token_hash`.
    pub fn token(&self, token_hash: &Hash) -> Result<Option<TokenRecord>> {
        self.get_json(RecordFamily::Tokens, &token_hash.0)
    }

    /// Every token record with the hash it is stored under.
    pub fn tokens(&self) -> Result<Vec<(Hash, TokenRecord)>> {
        let raw = self.inner.store.scan_records(RecordFamily::Tokens, b"")?;
        raw.into_iter()
            .map(|(k, v)| {
                let h = Hash::from_slice(&k).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
                Ok((h, parse_json(&v)?))
            })
            .collect()
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

    fn put_json<T: serde::Serialize>(&self, f: RecordFamily, key: &[u8], v: &T) -> Result<()> {
        let bytes = serde_json::to_vec(v).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
        self.inner.store.put_record(f, key, &bytes)
    }

    fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        f: RecordFamily,
        key: &[u8],
    ) -> Result<Option<T>> {
        self.inner.store.get_record(f, key)?.map(|v| parse_json(&v)).transpose()
    }

    fn scan_json<T: serde::de::DeserializeOwned>(
        &self,
        f: RecordFamily,
        prefix: &[u8],
    ) -> Result<Vec<T>> {
        let raw = self.inner.store.scan_records(f, prefix)?;
        raw.iter().map(|(_, v)| parse_json(v)).collect()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(mut s) = self.sender.write() {
            s.take();
        }
        if let Ok(mut t) = self.thread.lock() {
            if let Some(h) = t.take() {
                let _ = h.join();
            }
        }
    }
}

/// Builds an entry's v2 record (salt, identity sub-commitment) and seals
/// it, and its identity opening, under the key `seal_id` (created if it
/// has none); returns the record commitment and the two sealed values.
pub(crate) fn seal_record(
    vault: &Vault,
    store: &Store,
    tenant: &str,
    event: &Event,
    canonical: &[u8],
    seal_id: &KeyId,
) -> Result<SealedRecord> {
    let WriteKey { key, new_wrapped } = vault.key_for_writing(seal_id, store)?;
    // Salts from the thread's CSPRNG (ChaCha12, reseeded from the OS).
    let mut rng = rand::thread_rng();
    let mut salt = [0u8; v2::SALT_BYTES];
    rng.fill_bytes(&mut salt);
    let (identity_plain, identity_commitment) = match &event.identity {
        None => (None, None),
        Some(id) => {
            let mut isalt = [0u8; v2::SALT_BYTES];
            rng.fill_bytes(&mut isalt);
            let opening = v2::identity_value(id, &isalt);
            let c = v2::identity_commitment(&opening);
            (Some(verifier::jcs::to_canonical(&opening)), Some(c))
        }
    };
    let record = if event.identity.is_some() {
        let without = verifier::jcs::to_canonical(&event.raw_without_identity());
        v2::record_canonical(&without, tenant, &salt, identity_commitment.as_ref())
    } else {
        v2::record_canonical(canonical, tenant, &salt, None)
    };
    let commitment = v2::record_commitment_of_canonical(&record);
    let record = seal_private(&key, seal_id, &private_aad(TAG_RECORD, &commitment), &record)?;
    let identity = identity_plain
        .map(|p| seal_private(&key, seal_id, &private_aad(TAG_IDENTITY, &commitment), &p))
        .transpose()?;
    Ok(SealedRecord { commitment, record, identity, new_key: new_wrapped })
}

/// What [`seal_record`] makes.
pub(crate) struct SealedRecord {
    pub commitment: Hash,
    pub record: Vec<u8>,
    pub identity: Option<Vec<u8>>,
    /// The sealing key's wrapped form, when no synced write holds it yet.
    pub new_key: Option<Vec<u8>>,
}

/// Whether the entry is found by its document hash (`GET /v1/lookup`):
/// not the service's own report and erasure entries, which would tell a
/// guesser that a report was issued or a person was erased.
fn hash_indexed(event: &Event) -> bool {
    !matches!(event.kind, EventKind::ReportIssued | EventKind::Erased)
}

/// The JSON of an event attested (v2) by the log key as [`LOG_ISSUER`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn log_event_json(
    log_key: &SigningKey,
    tenant: &str,
    kind: EventKind,
    event_id: &str,
    document_id: &str,
    document_hash_hex: &str,
    claim: serde_json::Value,
    by: &str,
    display: &str,
) -> serde_json::Value {
    let message = verifier::attest::attestation_message_v2(&verifier::attest::AttestationV2 {
        tenant,
        document_id,
        document_hash_hex,
        event_id,
        kind: kind.as_str(),
        actor_id: by,
        issuer: LOG_ISSUER,
        claim: &claim,
    });
    let signature = b64(&log_key.sign(&message).to_bytes());
    let commitment = Hash::digest(format!("evidence-ledger actor {by}").as_bytes()).to_hex();
    serde_json::json!({
        "event_id": event_id,
        "document_id": document_id,
        "kind": kind.as_str(),
        "document_hash": document_hash_hex,
        "actor": {"id": by, "display": display, "commitment": commitment},
        "attestations": [{"issuer": LOG_ISSUER, "v": 2, "claim": claim, "signature": signature}],
    })
}

/// The private opening of an entry.
#[derive(Clone, Debug, PartialEq)]
pub enum Opening {
    /// A v1 leaf: the event is in the leaf, in clear.
    V1,
    /// A v2 record (and the identity opening, when it exists).
    Record {
        /// The record object; it opens the leaf's commitment.
        record: serde_json::Value,
        /// The identity opening, unless there was none or it was erased.
        identity: Option<serde_json::Value>,
    },
    /// The record was erased (its document key and ciphertexts destroyed).
    Erased,
}

/// Document ids of the service's own entries; submitters cannot use them.
pub const RESERVED_DOCUMENT_PREFIXES: [&str; 6] =
    ["issuer:", "issuer-sha256:", "token:", "subject:", "subject-sha256:", "retention:"];

/// Rotates the master key of a stopped ledger's data directory: a new
/// random key in `keys/master.new`, every wrapped key (the index key
/// and each document key) re-wrapped under it in one synced batch, then
/// the new file renamed over the old one, which destroys the old key.
/// Backups taken before cannot be opened with the new key: rotating on a
/// schedule shorter than the erasure deadline puts erased documents out
/// of reach in old backups too (docs/durability.md). A crash between the
/// batch and the rename is finished by the next open. Returns how many
/// keys were re-wrapped.
pub fn rotate_master_key(dir: &Path) -> Result<usize> {
    let n = rotate_master_key_prepare(dir)?;
    let path = master_key_path(dir);
    std::fs::rename(path.with_extension("new"), &path)?;
    if let Some(parent) = path.parent() {
        sync_dir(parent)?;
    }
    Ok(n)
}

/// The first half of [`rotate_master_key`]: everything but the rename
/// (for the crash-recovery test; the next open finishes it).
pub fn rotate_master_key_prepare(dir: &Path) -> Result<usize> {
    if configured_store(dir)?.is_postgres() {
        // It would re-wrap nothing there and then destroy the old key.
        return Err(LedgerError::InvalidRequest(format!(
            "{} names a PostgreSQL store: master key rotation is RocksDB-only for now \
             (docs/postgres.md)",
            dir.display()
        )));
    }
    let store = Store::open(&dir.join(DB_DIR))?;
    finish_master_rotation(dir, &store)?;
    let path = master_key_path(dir);
    let old = FileMasterKey::open_existing(&path)?;
    let new_path = path.with_extension("new");
    let _ = std::fs::remove_file(&new_path);
    let new = FileMasterKey::open_or_create(&new_path)?;
    let keys = store.wrapped_keys()?;
    let mut batch = store.batch();
    for (id, wrapped) in &keys {
        let aad = crate::vault::key_aad(id);
        let key = crate::vault::MasterKey::unwrap(&old, wrapped, &aad)?;
        batch.put_wrapped_key(id, &crate::vault::MasterKey::wrap(&new, &key, &aad)?);
    }
    store.write(batch, true)?;
    Ok(keys.len())
}

/// After a crash inside [`rotate_master_key`]: if the store's keys are
/// wrapped under `master.new`, it becomes `master.key`; if they are
/// still under `master.key`, the unused new key is removed.
fn finish_master_rotation(dir: &Path, store: &Store) -> Result<()> {
    let path = master_key_path(dir);
    let new_path = path.with_extension("new");
    if !new_path.exists() {
        return Ok(());
    }
    let Some(index_key) = store.wrapped_key(&crate::vault::INDEX_KEY_ID)? else {
        std::fs::remove_file(&new_path)?;
        return Ok(());
    };
    let aad = crate::vault::key_aad(&crate::vault::INDEX_KEY_ID);
    let new = FileMasterKey::open_existing(&new_path)?;
    if crate::vault::MasterKey::unwrap(&new, &index_key, &aad).is_ok() {
        tracing::warn!("finishing a master key rotation cut short");
        std::fs::rename(&new_path, &path)?;
    } else {
        std::fs::remove_file(&new_path)?;
    }
    if let Some(parent) = path.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Longest erasure reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

fn check_reason(reason: &str) -> Result<()> {
    let n = reason.chars().count();
    if n == 0 || n > MAX_REASON_CHARS || reason.chars().any(char::is_control) {
        return Err(LedgerError::InvalidRequest(format!(
            "reason: 1-{MAX_REASON_CHARS} characters, no control characters"
        )));
    }
    Ok(())
}

/// The document id of a subject erasure entry.
fn subject_document(actor_id: &str) -> String {
    let id = format!("subject:{actor_id}");
    if id.len() <= 128 {
        id
    } else {
        format!("subject-sha256:{}", &Hash::digest(actor_id.as_bytes()).to_hex()[..40])
    }
}

/// Names the event's position in a sealing error.
fn at_position(pos: usize, e: LedgerError) -> LedgerError {
    match e {
        LedgerError::Gone(m) => LedgerError::Gone(format!("event {pos}: {m}")),
        other => other,
    }
}

fn blob_aad(purpose: &[u8]) -> Vec<u8> {
    [b"evidence-ledger/blob/v1\0".as_slice(), purpose].concat()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

fn head_of(head: &RwLock<Arc<Head>>) -> Arc<Head> {
    match head.read() {
        Ok(h) => h.clone(),
        Err(p) => p.into_inner().clone(),
    }
}

/// Refuses a store behind, or beside, the newest checkpoint this data
/// directory handed out, unless `allow_rollback`; returns the open mark,
/// brought up to the head.
fn check_high_water(
    dir: &Path,
    store: &Store,
    head: &Head,
    opts: &LedgerOptions,
) -> Result<HighWater> {
    let (mut hw, mark) = HighWater::open(dir, opts.sync)?;
    if let Some(mark) = mark {
        let problem = if mark.size > head.size {
            Some(format!(
                "the store holds {} entries, but a checkpoint of size {} was handed out",
                head.size, mark.size
            ))
        } else if tree::root(mark.size, &StoreReader(store))? != mark.root {
            Some(format!(
                "the store's first {} entries are not those of the checkpoint handed out",
                mark.size
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            if !opts.allow_rollback {
                return Err(LedgerError::Rollback(format!(
                    "{problem} ({}/{HIGH_WATER_FILE}): this store was restored from an older \
                     backup or lost writes; serving it would fork the log for every client and \
                     witness holding newer receipts. Serve it only on purpose, with \
                     --allow-rollback",
                    dir.display()
                )));
            }
            tracing::warn!("{problem}; serving anyway (allow_rollback)");
        } else if mark.size == head.size {
            return Ok(hw);
        }
    }
    hw.record(Mark { size: head.size, root: head.root })?;
    Ok(hw)
}

/// A counting semaphore for CPU-bound checks on appenders' threads.
struct Permits {
    free: Mutex<usize>,
    cond: std::sync::Condvar,
}

/// Gives its permit back when dropped.
struct Permit<'a>(&'a Permits);

impl Permits {
    fn new(n: usize) -> Permits {
        Permits { free: Mutex::new(n.max(1)), cond: std::sync::Condvar::new() }
    }

    fn acquire(&self) -> Permit<'_> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.cond.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        Permit(self)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.0.cond.notify_one();
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(v: &[u8]) -> Result<T> {
    serde_json::from_slice(v).map_err(|e| LedgerError::Corrupt(format!("record: {e}")))
}

fn load_tsas(store: &Store) -> Result<Vec<TrustedTsa>> {
    store
        .scan_records(RecordFamily::Tsas, b"")?
        .iter()
        .map(|(_, v)| {
            let rec: TsaRecord = parse_json(v)?;
            TrustedTsa::from_pem(rec.name.clone(), &rec.root_pem)
                .map_err(|e| LedgerError::Corrupt(format!("TSA {}: {e}", rec.name)))
        })
        .collect()
}

/// The unrevoked issuer keys of both scopes, in memory.
#[derive(Default)]
struct IssuerIndex {
    platform: IssuerKeys,
    tenants: HashMap<String, IssuerKeys>,
}

impl IssuerIndex {
    /// The tenant's own key of `name`, else the platform-wide one.
    fn resolve(&self, tenant: &str, name: &str) -> Option<&VerifyingKey> {
        self.tenants.get(tenant).and_then(|m| m.get(name)).or_else(|| self.platform.get(name))
    }
}

/// The registry key of an issuer: its name for a platform-wide one,
/// `name 0x00 tenant` for a tenant's (so every scope of a name is one
/// prefix scan away).
fn issuer_key(tenant: Option<&str>, name: &str) -> Vec<u8> {
    let mut k = name.as_bytes().to_vec();
    if let Some(t) = tenant {
        k.push(SEP);
        k.extend_from_slice(t.as_bytes());
    }
    k
}

/// The document id of an issuer's `registry_changed` entries.
fn issuer_document(name: &str) -> String {
    let id = format!("issuer:{name}");
    if id.len() <= 128 {
        id
    } else {
        // Names longer than new ones may be (registered before logging).
        format!("issuer-sha256:{}", &Hash::digest(name.as_bytes()).to_hex()[..40])
    }
}

/// An Ed25519 key usable for evidence.
fn evidence_key(public_key: &[u8]) -> Result<VerifyingKey> {
    let key = <[u8; 32]>::try_from(public_key)
        .ok()
        .and_then(|b| VerifyingKey::from_bytes(&b).ok())
        .ok_or_else(|| LedgerError::InvalidRequest("public key: not an Ed25519 key".into()))?;
    // Batch verification on ingest is cofactored, the offline verifiers'
    // strict check is not: they agree only for keys without a small-order
    // component, so no other key may become an issuer.
    if key.is_weak() || !key.to_edwards().is_torsion_free() {
        return Err(LedgerError::InvalidRequest(
            "public key: has a small-order component; not usable for evidence".into(),
        ));
    }
    Ok(key)
}

fn load_issuer_keys(store: &Store) -> Result<IssuerIndex> {
    let mut keys = IssuerIndex::default();
    for (_, v) in store.scan_records(RecordFamily::Issuers, b"")? {
        let rec: IssuerRecord = parse_json(&v)?;
        if rec.revoked_at.is_some() {
            continue;
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&rec.public_key)
            .map_err(|e| LedgerError::Corrupt(format!("issuer {}: {e}", rec.name)))?;
        let key = <[u8; 32]>::try_from(raw.as_slice())
            .ok()
            .and_then(|b| VerifyingKey::from_bytes(&b).ok())
            .ok_or_else(|| LedgerError::Corrupt(format!("issuer {}: bad key", rec.name)))?;
        match rec.tenant {
            None => keys.platform.insert(rec.name, key),
            Some(t) => keys.tenants.entry(t).or_default().insert(rec.name, key),
        };
    }
    Ok(keys)
}

/// Checks what the sequencer relies on: a valid tenant, a non-empty batch
/// and no event id twice in one batch.
fn check_batch(tenant: &str, events: &[Event]) -> Result<()> {
    check_id("tenant", tenant)?;
    if events.is_empty() {
        return Err(LedgerError::InvalidRequest("empty batch".into()));
    }
    let mut seen = HashSet::with_capacity(events.len());
    for (position, e) in events.iter().enumerate() {
        let reserved = RESERVED_DOCUMENT_PREFIXES.iter().find(|p| e.document_id.starts_with(*p));
        if let (Some(p), false) = (reserved, e.kind.is_service_kind()) {
            return Err(LedgerError::Rejected {
                position,
                source: VerifyError::invalid(
                    "document_id",
                    format!("{p}... names the ledger's own records (registry, erasures)"),
                ),
            });
        }
        if !seen.insert(e.event_id.as_str()) {
            return Err(LedgerError::Rejected {
                position,
                source: VerifyError::invalid("event_id", "repeated within the batch"),
            });
        }
    }
    Ok(())
}

/// Ids (tenants, issuer names): 1-128 chars of `[A-Za-z0-9._:-]`.
pub fn check_id(what: &str, s: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(LedgerError::InvalidRequest(format!("{what}: 1-128 chars of [A-Za-z0-9._:-]")))
    }
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// The current time, RFC 3339 UTC (for registry records).
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
