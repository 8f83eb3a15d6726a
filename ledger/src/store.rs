//! The one module that knows how the log is stored. Everything else sees
//! typed operations; families, key layouts and options stay here. Two
//! backends keep the same families, keys and values: RocksDB (column
//! families, the embedded default) and PostgreSQL (one table per family,
//! [`crate::pg`], docs/postgres.md).
//!
//! Layout (all integers big-endian, so keys sort numerically):
//! - `leaves`:   index(8) -> leaf bytes (canonical JSON)
//! - `hashes`:   stored-hash index(8) -> 32 bytes (RFC 9162 stored hashes, in
//!   the sumdb/tlog layout of `tlog_tiles::stored_hash_index`)
//! - `idem`:     tenant 0x00 event_id -> index(8) || content hash(32)
//! - `docs`:     tenant 0x00 document_id 0x00 index(8) -> ()
//! - `dochash`:  document hash(32) index(8) -> ()
//! - `meta`:     "tree" -> size(8) || root(32) || last ledger time µs(8);
//!   "checkpoint" -> the latest signed checkpoint note;
//!   "probe" -> time of the last write probing storage after a failure;
//!   "handed-out" (PostgreSQL) -> size(8) || root(32) of the newest
//!   checkpoint any node handed out (the rollback marker, docs/postgres.md);
//!   "vault-suite" -> the vault's suite when not AES-256-GCM/HMAC-SHA-256
//! - `issuers`, `tokens`, `tsas`: registry records (JSON, operator-readable)
//! - `aux`:      namespaced records of other crates (anchoring state)
//!
//! Evidence v2 (docs/evidence-v2.md; every id below is a keyed hash, see
//! [`crate::vault`], so no key spells a tenant's contract or event ids):
//! - `records`:  index(8) 'r' -> sealed record; index(8) 'i' -> sealed
//!   identity opening (key id(32) || layout(1) || nonce || AEAD, the layout
//!   naming AES-256-GCM or SM4-GCM, see `vault::seal_private`)
//! - `dockeys`:  key id(32) -> document key wrapped under the master key
//! - `erased`:   key id(32) -> JSON erasure record {at, by, reason, entry}
//! - `docidx`:   document id(32) index(8) -> hash id(32) || subject id(32)
//! - `hashidx`:  document-hash id(32) index(8) -> ()
//! - `subjidx`:  subject id(32) index(8) -> ()
//! - `idem`:     0x02 event id(32) -> index(8) || content hash(32); once
//!   an erasure took the entry's record or identity: index(8) alone (the
//!   tombstone keeps the event id used, and keeps no trace of its content)
//! - `aux` `erasure-cleanup\0` erasure key id(32) -> what the service still
//!   has to delete after an erasure, sealed under the erasure key; written
//!   in the erasure's own batch, deleted when the clean-up is done
//!
//! Longer than 600 lines: it is the one module that sees families, key
//! layouts and both backends' primitives (STYLE.md item 2); split, the key
//! layout would be spread over files that could then disagree.

use std::path::Path;

use rocksdb::{
    BlockBasedIndexType, BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor,
    DBCompressionType, Direction, IteratorMode, Options, WriteBatch, WriteBufferManager,
    WriteOptions, DB,
};

use crate::error::{LedgerError, Result};
use crate::highwater::Mark;
use crate::pg::{Op, PgKv, HANDED_OUT_KEY};

const CF_LEAVES: &str = "leaves";
const CF_HASHES: &str = "hashes";
const CF_IDEM: &str = "idem";
const CF_DOCS: &str = "docs";
const CF_DOCHASH: &str = "dochash";
const CF_META: &str = "meta";
const CF_ISSUERS: &str = "issuers";
const CF_TOKENS: &str = "tokens";
const CF_AUX: &str = "aux";
const CF_TSAS: &str = "tsas";
const CF_RECORDS: &str = "records";
const CF_DOCKEYS: &str = "dockeys";
const CF_ERASED: &str = "erased";
const CF_DOCIDX: &str = "docidx";
const CF_HASHIDX: &str = "hashidx";
const CF_SUBJIDX: &str = "subjidx";
const ALL_CFS: [&str; 16] = [
    CF_LEAVES, CF_HASHES, CF_IDEM, CF_DOCS, CF_DOCHASH, CF_META, CF_ISSUERS, CF_TOKENS, CF_AUX,
    CF_TSAS, CF_RECORDS, CF_DOCKEYS, CF_ERASED, CF_DOCIDX, CF_HASHIDX, CF_SUBJIDX,
];
/// Families an erasure deletes from, compacted by [`Store::purge`].
const ERASURE_CFS: [&str; 6] = [CF_RECORDS, CF_DOCKEYS, CF_HASHIDX, CF_SUBJIDX, CF_AUX, CF_DOCIDX];
/// Aux prefix of the open-contract index (issue 25 item 8): `retention-
/// open\0` document id(32) -> its ids sealed under the document key,
/// written with a contract's first entry and deleted with its
/// completion, so that the retention sweep finds contracts that never
/// completed without reading every contract.
pub const OPEN_PREFIX: &[u8] = b"retention-open\0";
/// Aux prefix of the retention index: documents by completion time.
pub const RETENTION_PREFIX: &[u8] = b"retention-completed\0";
/// Aux prefix of the erasures whose clean-up is not done yet.
pub const CLEANUP_PREFIX: &[u8] = b"erasure-cleanup\0";
/// First byte of a v2 idempotency key (v1 keys start with a tenant's
/// first character, never 0x02).
const IDEM_V2: u8 = 0x02;
/// Tag of a sealed record under its index in `records`.
pub const TAG_RECORD: u8 = b'r';
/// Tag of a sealed identity opening under its index in `records`.
pub const TAG_IDENTITY: u8 = b'i';
/// Tag of an entry's place in its contract's chain (record v3): the
/// canonical JSON `{"prev", "seq"}`, not sealed (it names only a public
/// leaf hash and a count, as the document index already links them), and
/// erased with the record.
pub const TAG_CHAIN: u8 = b'c';
/// A contract's chain head: the leaf hash of its last entry and its
/// number of entries.
pub type ChainHead = ([u8; 32], u64);
/// Prefix of a contract's chain head in `aux`: document id (32) ->
/// leaf hash of its last entry (32) || number of its entries (8).
const CHAIN_HEAD_PREFIX: &[u8] = b"chain-head\0";
/// The tree size from which this log writes v3 records with their chain.
const META_CHAIN_SINCE: &[u8] = b"chain-since";
/// Meta key: an erasure was committed and the store not purged since
/// (stores of before [`META_PURGE_KEYS`]: the purge compacts the whole
/// of each family erasures touch).
const META_PURGE_PENDING: &[u8] = b"purge-pending";
/// Meta key prefix: `purge-keys\0` erasure key id(32) -> the keys one
/// erasure deleted or rewrote, (family index(1) || length(2) || key)*:
/// what the purge compacts, written in the erasure's batch.
const META_PURGE_KEYS: &[u8] = b"purge-keys\0";
/// Meta key prefix (then a family's name) marking a family to compact
/// after records were moved out of it ([`Store::replace_records`]).
const META_COMPACT_FAMILY: &[u8] = b"compact-family\0";
/// Meta key: the tree size at which this log began writing v2 leaves.
const META_V2_SINCE: &[u8] = b"v2-since";

const META_TREE: &[u8] = b"tree";
const META_CHECKPOINT: &[u8] = b"checkpoint";
const META_PROBE: &[u8] = b"probe";
/// Meta key: the C2SP verifier key of the log this store holds.
const META_LOG_VKEY: &[u8] = b"log-vkey";
/// The vault's suite (`vault::VaultSuite::name`), written with the index
/// key when it is not AES-256-GCM and HMAC-SHA-256.
const META_VAULT_SUITE: &[u8] = b"vault-suite";
const SEP: u8 = 0x00;

/// The durable tree state written with every group commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeState {
    /// Number of leaves.
    pub size: u64,
    /// RFC 9162 root of those leaves.
    pub root: [u8; 32],
    /// Ledger time of the last leaf, µs since the Unix epoch.
    pub last_time_micros: i64,
}

/// An idempotency record: where an event id was written, and what it held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdemRecord {
    /// Index of the leaf.
    pub index: u64,
    /// SHA-256 of the canonical submitted event (zero once erased).
    pub content: [u8; 32],
    /// An erasure took the entry's record or identity opening, and with
    /// it what the record said the event held: any resubmission of the
    /// event id is answered alike, whatever its content.
    pub erased: bool,
}

/// The store of one log.
pub struct Store {
    backend: Backend,
}

enum Backend {
    Rocks { db: DB, cache: Cache },
    Pg(PgKv),
}

/// Where a log's store is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum StoreConfig {
    /// RocksDB in the data directory's `db/` (the embedded default).
    #[default]
    RocksDb,
    /// A PostgreSQL database (`postgres://…`); keys stay in the data
    /// directory.
    Postgres {
        /// The connection URL.
        url: String,
        /// The sequencer lease this process holds ([`crate::pglease::Lease`]),
        /// checked by every write; `None` for read-only opens.
        epoch: Option<i64>,
    },
}

impl StoreConfig {
    /// Parses `--store`: `rocksdb` (or empty) or a `postgres://` /
    /// `postgresql://` URL.
    pub fn parse(s: &str) -> Result<StoreConfig> {
        if s.is_empty() || s == "rocksdb" {
            Ok(StoreConfig::RocksDb)
        } else if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(StoreConfig::Postgres { url: s.to_string(), epoch: None })
        } else {
            Err(LedgerError::InvalidRequest(format!(
                "--store: expected `rocksdb` or a postgres:// URL, not {s:?}"
            )))
        }
    }

    /// Whether this is the PostgreSQL store.
    pub fn is_postgres(&self) -> bool {
        matches!(self, StoreConfig::Postgres { .. })
    }
}

/// Where the store's memory is, in bytes (for the memory budget's checks).
#[derive(Clone, Copy, Debug, Default)]
pub struct MemoryReport {
    /// In the block cache: data, index and filter blocks, and the
    /// memtables charged to it.
    pub cache: u64,
    /// Of which pinned (L0 and top-level index and filter blocks, blocks in use).
    pub cache_pinned: u64,
    /// Memtables of all families.
    pub memtables: u64,
    /// Table readers outside the cache.
    pub table_readers: u64,
}

/// A set of writes applied atomically by [`Store::write`].
pub struct Batch<'a> {
    store: &'a Store,
    wb: Staged,
    /// Writes to the families keyed by random ids (`idem` v2, `docidx`,
    /// `hashidx`, `subjidx`), one list per family, added to `wb` in key
    /// order at [`Store::write`]: memtable inserts in key order walk the
    /// same skip-list nodes as the insert before, instead of a random
    /// path each (the cost of evidence v2 on the sequencer). The sort is
    /// stable, so two writes of one key keep their order; writes of
    /// different keys commute within one atomic batch.
    ordered: [Vec<Ordered>; 4],
    /// Keys an erasure staged in this batch deletes or rewrites, by
    /// family index in [`ALL_CFS`]: recorded by [`Batch::put_erasure`].
    purged: Vec<(u8, Vec<u8>)>,
}

/// The writes of a batch, as its backend takes them.
enum Staged {
    Rocks(WriteBatch),
    Pg(Vec<Op>),
}

/// A deferred write of an ordered family: a key of at most 40 bytes and a
/// value of at most 64 (`None`: a delete).
struct Ordered {
    key: [u8; 40],
    key_len: u8,
    value: Option<([u8; 64], u8)>,
    /// Written by [`Batch::ordered_put_new`].
    fresh: bool,
}

impl Ordered {
    fn key(&self) -> &[u8] {
        &self.key[..self.key_len as usize]
    }
}

/// Families of [`Batch::ordered`], by position.
const ORDERED_CFS: [&str; 4] = [CF_IDEM, CF_DOCIDX, CF_HASHIDX, CF_SUBJIDX];
const ORD_IDEM: usize = 0;
const ORD_DOCIDX: usize = 1;
const ORD_HASHIDX: usize = 2;
const ORD_SUBJIDX: usize = 3;

/// The memory budget of one open store (docs/performance.md, "Memory"):
/// one LRU block cache holds the data, index and filter blocks of every
/// family, and the memtables are charged against the same cache, so the
/// store's memory is about this much whatever the log's size. (Index and
/// filter blocks outside the cache grew ~80 MB per day of ingest.)
pub const BLOCK_CACHE_BYTES: usize = 256 << 20;
/// Memtables of all families together (charged to the block cache); past
/// it the largest is flushed.
pub const MEMTABLE_BYTES: usize = 128 << 20;
/// Open table files; each keeps a small reader (its index and filter
/// blocks live in the cache).
pub const MAX_OPEN_FILES: i32 = 1024;
/// Data blocks of the `hashes` family: a 256-leaf neighbourhood of stored
/// hashes (511 of them, ~19 KB on disk) spans one or two such blocks.
pub const HASH_BLOCK_BYTES: usize = 16 << 10;

fn cf_options(name: &str, cache: &Cache) -> Options {
    let mut opts = Options::default();
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(cache);
    // Index and filter blocks in the cache (bounded), partitioned so that
    // only the partitions in use are loaded, at high priority so data
    // blocks go first. Nothing is pinned: pinned blocks sit outside the
    // capacity, and pinning every file's top-level index grew with the
    // log (~9 MiB per million entries, measured).
    table.set_cache_index_and_filter_blocks(true);
    table.set_cache_index_and_filter_blocks_with_high_priority(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(false);
    table.set_index_type(BlockBasedIndexType::TwoLevelIndexSearch);
    table.set_partition_filters(true);
    table.set_pin_top_level_index_and_filter(false);
    table.set_metadata_block_size(4096);
    table.set_optimize_filters_for_memory(true);
    match name {
        CF_IDEM | CF_TOKENS | CF_ISSUERS | CF_TSAS | CF_DOCKEYS | CF_ERASED => {
            // Idempotency lookups are mostly misses: a bloom filter answers
            // them without touching data blocks, in the memtable too.
            table.set_bloom_filter(10.0, false);
            opts.set_memtable_prefix_bloom_ratio(0.1);
            opts.set_memtable_whole_key_filtering(true);
        }
        CF_HASHES => {
            // Stored hashes are written in key order (the big-endian stored
            // index) and never rewritten, so table files do not overlap and
            // a lookup finds its one file by key range: a bloom filter
            // (10 bits a hash: 25 MB at 10M entries, 250 MB at 100M) would
            // only crowd the cache. Larger blocks hold a proof's lower levels
            // (one 256-leaf neighbourhood, ~19 KB) in one or two blocks
            // instead of four or five (issue 29).
            table.set_block_size(HASH_BLOCK_BYTES);
        }
        _ => {}
    }
    // Stored hashes and sealed records (AES-256-GCM ciphertext) do not
    // compress: LZ4 would only be tried on every block and dropped.
    let compression = if name == CF_HASHES || name == CF_RECORDS {
        DBCompressionType::None
    } else {
        DBCompressionType::Lz4
    };
    opts.set_compression_type(compression);
    opts.set_block_based_table_factory(&table);
    opts
}

impl Store {
    /// Opens (creating if missing) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store> {
        let cache = Cache::new_lru_cache(BLOCK_CACHE_BYTES);
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.increase_parallelism(2);
        opts.set_max_background_jobs(2);
        opts.set_bytes_per_sync(1 << 20);
        opts.set_max_open_files(MAX_OPEN_FILES);
        opts.set_write_buffer_manager(&WriteBufferManager::new_write_buffer_manager_with_cache(
            MEMTABLE_BYTES,
            false,
            cache.clone(),
        ));
        let cfs = ALL_CFS.iter().map(|n| ColumnFamilyDescriptor::new(*n, cf_options(n, &cache)));
        let db = DB::open_cf_descriptors(&opts, dir, cfs)?;
        Ok(Store { backend: Backend::Rocks { db, cache } })
    }

    /// Opens the store `config` names: RocksDB in `dir` (creating it if
    /// missing), or a PostgreSQL database at its schema version.
    pub fn open_config(dir: &Path, config: &StoreConfig) -> Result<Store> {
        match config {
            StoreConfig::RocksDb => Store::open(dir),
            StoreConfig::Postgres { url, epoch } => {
                Ok(Store { backend: Backend::Pg(PgKv::open(url, *epoch)?) })
            }
        }
    }

    /// PostgreSQL: whether a write found another process's lease epoch
    /// (this process was deposed and must stop sequencing).
    pub fn fenced(&self) -> bool {
        matches!(&self.backend, Backend::Pg(p) if p.fenced())
    }

    /// Whether this is the PostgreSQL store.
    pub fn is_postgres(&self) -> bool {
        matches!(&self.backend, Backend::Pg(_))
    }

    /// PostgreSQL: the synced commits' waits and unknown outcomes
    /// (`None` for RocksDB, whose synced write is a local fsync).
    pub fn sync_wait_stats(&self) -> Option<std::sync::Arc<crate::pgstats::SyncWaitStats>> {
        match &self.backend {
            Backend::Pg(p) => Some(p.sync_stats()),
            _ => None,
        }
    }

    /// PostgreSQL: the commit deadline of every write ([`PgKv::set_commit_timeout`]).
    /// (RocksDB: nothing; a synced write there waits for the local disk.)
    pub fn set_commit_timeout(&self, timeout: std::time::Duration) {
        if let Backend::Pg(p) = &self.backend {
            p.set_commit_timeout(timeout);
        }
    }

    /// PostgreSQL: synced writes succeed only once `n` synchronous standbys
    /// flushed them ([`PgKv::require_sync_standbys`]). RocksDB: `n` must be 0.
    pub fn require_sync_standbys(&self, n: u32) -> Result<()> {
        match &self.backend {
            Backend::Pg(p) => p.require_sync_standbys(n),
            _ if n == 0 => Ok(()),
            _ => Err(LedgerError::InvalidRequest(
                "--pg-require-sync-standby applies to a PostgreSQL store only".into(),
            )),
        }
    }

    /// The database's rollback marker: the newest checkpoint any node of
    /// this log handed out (PostgreSQL; `None` before the first, and
    /// always on RocksDB, whose mark is the data directory's alone).
    pub fn handed_out(&self) -> Result<Option<Mark>> {
        if !self.is_postgres() {
            return Ok(None);
        }
        self.get(CF_META, HANDED_OUT_KEY)?.map(|v| decode_mark(&v)).transpose()
    }

    /// Writes the rollback marker, synced (PostgreSQL only).
    pub fn put_handed_out(&self, mark: &Mark) -> Result<()> {
        let mut b = self.batch();
        b.put_handed_out(mark);
        self.write(b, true)
    }

    fn rocks(&self) -> Result<&DB> {
        match &self.backend {
            Backend::Rocks { db, .. } => Ok(db),
            Backend::Pg(_) => Err(LedgerError::InvalidRequest(
                "not for a PostgreSQL store (docs/postgres.md: use the database's own tools)"
                    .into(),
            )),
        }
    }

    /// Opens the store read-only, beside a running writer (operator
    /// commands that only look: status, lists). Sees the state as of now.
    pub fn open_read_only(dir: &Path) -> Result<Store> {
        let cache = Cache::new_lru_cache(16 << 20);
        let cfs = ALL_CFS.iter().map(|n| ColumnFamilyDescriptor::new(*n, cf_options(n, &cache)));
        let db = DB::open_cf_descriptors_read_only(&Options::default(), dir, cfs, false)?;
        Ok(Store { backend: Backend::Rocks { db, cache } })
    }

    /// Opens read-only for a backup, beside a running writer: the state as
    /// of now, with every table file opened at once and held, so that the
    /// writer's compactions cannot delete a file before it is copied.
    pub fn open_for_backup(dir: &Path) -> Result<Store> {
        let cache = Cache::new_lru_cache(16 << 20);
        let mut opts = Options::default();
        opts.set_max_open_files(-1);
        let cfs = ALL_CFS.iter().map(|n| ColumnFamilyDescriptor::new(*n, cf_options(n, &cache)));
        let db = DB::open_cf_descriptors_read_only(&opts, dir, cfs, false)?;
        Ok(Store { backend: Backend::Rocks { db, cache } })
    }

    /// Copies every record of every family into `target` (a new, empty
    /// store), then flushes `target` to table files and syncs it. Returns
    /// the number of records.
    pub fn copy_into(&self, target: &Store) -> Result<u64> {
        const CHUNK: usize = 10_000;
        let (db, tdb) = (self.rocks()?, target.rocks()?);
        let mut records = 0u64;
        for name in ALL_CFS {
            let to = target.cf(name);
            let mut wb = WriteBatch::default();
            for item in db.iterator_cf(self.cf(name), IteratorMode::Start) {
                let (k, v) = item?;
                wb.put_cf(to, k, v);
                records += 1;
                if wb.len() >= CHUNK {
                    tdb.write(std::mem::take(&mut wb))?;
                }
            }
            tdb.write(wb)?;
            tdb.flush_cf(to)?;
        }
        tdb.flush_wal(true)?;
        Ok(records)
    }

    /// Where the store's memory is now.
    /// (The PostgreSQL store's memory is the server's: all zero here.)
    pub fn memory(&self) -> Result<MemoryReport> {
        let Backend::Rocks { db, cache } = &self.backend else {
            return Ok(MemoryReport::default());
        };
        let mut r = MemoryReport {
            cache: cache.get_usage() as u64,
            cache_pinned: cache.get_pinned_usage() as u64,
            ..MemoryReport::default()
        };
        for name in ALL_CFS {
            let cf = self.cf(name);
            let prop = |p: &str| db.property_int_value_cf(cf, p);
            r.memtables += prop("rocksdb.cur-size-all-mem-tables")?.unwrap_or(0);
            r.table_readers += prop("rocksdb.estimate-table-readers-mem")?.unwrap_or(0);
        }
        Ok(r)
    }

    /// A RocksDB column family (only called on the RocksDB backend).
    fn cf(&self, name: &str) -> &ColumnFamily {
        // All families are created at open; a missing one is a programming error.
        #[allow(clippy::expect_used, clippy::panic)]
        match &self.backend {
            Backend::Rocks { db, .. } => db.cf_handle(name).expect("column family created at open"),
            Backend::Pg(_) => panic!("RocksDB column family asked of a PostgreSQL store"),
        }
    }

    /// The value of `key` in family `cf`.
    fn get(&self, cf: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match &self.backend {
            Backend::Rocks { db, .. } => Ok(db.get_cf(self.cf(cf), key)?),
            Backend::Pg(p) => p.get(cf, key),
        }
    }

    /// The values of `keys` in family `cf`, in order (`sorted`: the keys
    /// are in key order, which RocksDB's batched lookup can use).
    fn multi_get<K: AsRef<[u8]>>(
        &self,
        cf: &'static str,
        keys: &[K],
        sorted: bool,
    ) -> Result<Vec<Option<Vec<u8>>>> {
        match &self.backend {
            Backend::Rocks { db, .. } => db
                .batched_multi_get_cf(self.cf(cf), keys.iter(), sorted)
                .into_iter()
                .map(|v| Ok(v?.map(|b| b.to_vec())))
                .collect(),
            Backend::Pg(p) => p.multi_get(cf, keys.iter().map(|k| k.as_ref().to_vec()).collect()),
        }
    }

    /// Every record of `cf` whose key starts with `prefix`, in key order.
    fn prefix(&self, cf: &'static str, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let db = match &self.backend {
            Backend::Rocks { db, .. } => db,
            Backend::Pg(p) => return p.prefix(cf, prefix),
        };
        let mut out = Vec::new();
        for item in db.iterator_cf(self.cf(cf), IteratorMode::From(prefix, Direction::Forward)) {
            let (k, v) = item?;
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    /// Every record of `cf` in key order.
    fn scan_all(&self, cf: &'static str) -> Box<dyn Iterator<Item = Result<RawRecord>> + '_> {
        match &self.backend {
            Backend::Rocks { db, .. } => Box::new(
                db.iterator_cf(self.cf(cf), IteratorMode::Start)
                    .map(|r| r.map_err(LedgerError::from)),
            ),
            Backend::Pg(p) => Box::new(
                p.scan(cf).map(|r| r.map(|(k, v)| (k.into_boxed_slice(), v.into_boxed_slice()))),
            ),
        }
    }

    /// Starts a batch of writes.
    pub fn batch(&self) -> Batch<'_> {
        let wb = match self.backend {
            Backend::Rocks { .. } => Staged::Rocks(WriteBatch::default()),
            Backend::Pg(_) => Staged::Pg(Vec::new()),
        };
        Batch { store: self, wb, ordered: Default::default(), purged: Vec::new() }
    }

    /// Applies a batch atomically; with `sync`, returns only after fsync
    /// (PostgreSQL: after the commit's WAL flush, and the synchronous
    /// standbys' where configured).
    pub fn write(&self, batch: Batch<'_>, sync: bool) -> Result<()> {
        let Batch { wb, mut ordered, .. } = batch;
        let mut wb = match (wb, &self.backend) {
            (Staged::Rocks(wb), Backend::Rocks { .. }) => wb,
            (Staged::Pg(mut ops), Backend::Pg(p)) => {
                for (name, list) in ORDERED_CFS.iter().zip(ordered) {
                    ops.extend(list.into_iter().map(|w| Op {
                        cf: name,
                        key: w.key().to_vec(),
                        fresh: w.fresh,
                        value: w.value.map(|(v, n)| v[..n as usize].to_vec()),
                    }));
                }
                return p.write(ops, sync);
            }
            _ => return Err(LedgerError::Corrupt("a batch of another store".into())),
        };
        for (name, list) in ORDERED_CFS.iter().zip(ordered.iter_mut()) {
            if list.is_empty() {
                continue;
            }
            let cf = self.cf(name);
            list.sort_by(|a, b| a.key().cmp(b.key()));
            for w in list.iter() {
                match &w.value {
                    Some((v, n)) => wb.put_cf(cf, w.key(), &v[..*n as usize]),
                    None => wb.delete_cf(cf, w.key()),
                }
            }
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(sync);
        self.rocks()?.write_opt(wb, &wo)?;
        Ok(())
    }

    /// A small synced write (`meta/probe`, the time): can storage take
    /// writes again after a failure?
    pub fn probe(&self) -> Result<()> {
        let mut b = self.batch();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        let micros = now.map(|d| d.as_micros() as u64).unwrap_or(0);
        b.put(CF_META, META_PROBE, &micros.to_be_bytes());
        self.write(b, true)
    }

    /// Reads stored hashes by stored-hash index; a missing one is corruption.
    pub fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<[u8; 32]>> {
        self.hashes_in_key_order(indexes)?
            .into_iter()
            .zip(indexes)
            .map(|(v, i)| match v {
                Some(bytes) => <[u8; 32]>::try_from(&bytes[..])
                    .map_err(|_| LedgerError::Corrupt(format!("stored hash {i} has bad length"))),
                None => Err(LedgerError::Corrupt(format!("stored hash {i} missing"))),
            })
            .collect()
    }

    /// The leaf bytes at `index`.
    pub fn leaf(&self, index: u64) -> Result<Option<Vec<u8>>> {
        self.get(CF_LEAVES, &index.to_be_bytes())
    }

    /// The leaf bytes at `from .. from + count`, in order, read in one
    /// batched lookup; a missing one is corruption.
    pub fn leaves(&self, from: u64, count: u64) -> Result<Vec<Vec<u8>>> {
        let keys: Vec<[u8; 8]> = (from..from + count).map(|i| i.to_be_bytes()).collect();
        let values = self.multi_get(CF_LEAVES, &keys, true)?;
        values
            .into_iter()
            .zip(from..)
            .map(|(v, i)| v.ok_or_else(|| LedgerError::Corrupt(format!("leaf {i} missing"))))
            .collect()
    }

    /// Looks up idempotency records for many (tenant, event id) pairs at once.
    pub fn idempotency(&self, keys: &[(&str, &str)]) -> Result<Vec<Option<IdemRecord>>> {
        let raw: Vec<Vec<u8>> = keys.iter().map(|(t, e)| idem_key(t, e)).collect();
        let values = self.multi_get(CF_IDEM, &raw, false)?;
        values.into_iter().map(|v| decode_idem(v.as_deref())).collect()
    }

    /// The durable tree state, if the log has one.
    pub fn tree_state(&self) -> Result<Option<TreeState>> {
        let Some(b) = self.get(CF_META, META_TREE)? else {
            return Ok(None);
        };
        if b.len() != 48 {
            return Err(LedgerError::Corrupt("tree state has bad length".into()));
        }
        let mut root = [0u8; 32];
        root.copy_from_slice(&b[8..40]);
        Ok(Some(TreeState {
            size: be_u64(&b[..8]),
            root,
            last_time_micros: be_u64(&b[40..]) as i64,
        }))
    }

    /// The latest signed checkpoint note.
    pub fn checkpoint(&self) -> Result<Option<Vec<u8>>> {
        self.get(CF_META, META_CHECKPOINT)
    }

    /// The verifier key of the log this store holds, once bound.
    pub fn log_vkey(&self) -> Result<Option<String>> {
        self.get(CF_META, META_LOG_VKEY)?
            .map(|v| String::from_utf8(v).map_err(|_| LedgerError::Corrupt("log-vkey".into())))
            .transpose()
    }

    /// Binds the store to the log of `vkey` (synced).
    pub fn bind_log_vkey(&self, vkey: &str) -> Result<()> {
        let mut b = self.batch();
        b.put(CF_META, META_LOG_VKEY, vkey.as_bytes());
        self.write(b, true)
    }

    /// Indices of the entries of one tenant's document, ascending.
    pub fn document_entries(&self, tenant: &str, document_id: &str) -> Result<Vec<u64>> {
        let mut prefix = Vec::with_capacity(tenant.len() + document_id.len() + 2);
        prefix.extend_from_slice(tenant.as_bytes());
        prefix.push(SEP);
        prefix.extend_from_slice(document_id.as_bytes());
        prefix.push(SEP);
        self.index_suffixes(CF_DOCS, &prefix)
    }

    /// Indices of the entries that carry `document_hash`, ascending.
    pub fn document_hash_entries(&self, document_hash: &[u8; 32]) -> Result<Vec<u64>> {
        self.index_suffixes(CF_DOCHASH, document_hash)
    }

    fn index_suffixes(&self, cf: &'static str, prefix: &[u8]) -> Result<Vec<u64>> {
        let mut out = Vec::new();
        for (key, _) in self.prefix(cf, prefix)? {
            if key.len() != prefix.len() + 8 {
                continue; // a longer id that shares this prefix
            }
            out.push(be_u64(&key[prefix.len()..]));
        }
        Ok(out)
    }

    /// A registry or auxiliary record.
    pub fn get_record(&self, family: RecordFamily, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get(family.cf(), key)
    }

    /// Writes one registry or auxiliary record, synced.
    pub fn put_record(&self, family: RecordFamily, key: &[u8], value: &[u8]) -> Result<()> {
        let mut b = self.batch();
        b.put(family.cf(), key, value);
        self.write(b, true)
    }

    /// Writes records without waiting for fsync (the WAL still orders
    /// them): for logs whose last moments may be lost in a crash, so that
    /// writing them cannot be made to cost an fsync per request.
    pub fn put_records_unsynced(
        &self,
        family: RecordFamily,
        records: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<()> {
        let mut b = self.batch();
        for (k, v) in records {
            b.put(family.cf(), k, v);
        }
        self.write(b, false)
    }

    /// Deletes one record, synced.
    pub fn delete_record_synced(&self, family: RecordFamily, key: &[u8]) -> Result<()> {
        let mut b = self.batch();
        b.delete(family.cf(), key);
        self.write(b, true)
    }

    /// Deletes the records of a family whose keys lie in `[from, to)`.
    pub fn delete_record_range(&self, family: RecordFamily, from: &[u8], to: &[u8]) -> Result<()> {
        if let Backend::Pg(p) = &self.backend {
            return p.delete_range(family.cf(), from.to_vec(), to.to_vec());
        }
        let mut b = self.batch();
        if let Staged::Rocks(wb) = &mut b.wb {
            wb.delete_range_cf(self.cf(family.cf()), from, to);
        }
        self.write(b, false)
    }

    /// Up to `limit` records whose key starts with `prefix` and sorts
    /// before `before` (all when `None`), newest (greatest key) first.
    pub fn scan_records_rev(
        &self,
        family: RecordFamily,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut upper = prefix.to_vec();
        upper.extend_from_slice(&[0xFF; 16]);
        let start = before.map(<[u8]>::to_vec).unwrap_or(upper);
        let db = match &self.backend {
            Backend::Rocks { db, .. } => db,
            Backend::Pg(p) => return p.prefix_rev(family.cf(), prefix, before, limit),
        };
        let cf = self.cf(family.cf());
        let mut out = Vec::new();
        for item in db.iterator_cf(cf, IteratorMode::From(&start, Direction::Reverse)) {
            let (k, v) = item?;
            if !k.starts_with(prefix) || out.len() >= limit {
                break;
            }
            if before.is_some_and(|b| &k[..] >= b) {
                continue;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    /// Up to `limit` records whose key starts with `prefix` and sorts
    /// after `after` (from the first when `None`), in key order: a page
    /// of a forward walk.
    pub fn scan_records_after(
        &self,
        family: RecordFamily,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        // The least key above `after` is `after` followed by a zero byte.
        let start = match after {
            Some(a) if a >= prefix => [a, &[0u8][..]].concat(),
            _ => prefix.to_vec(),
        };
        let db = match &self.backend {
            Backend::Rocks { db, .. } => db,
            Backend::Pg(p) => {
                let to = crate::pg::successor(prefix);
                let mut rows = p.range(family.cf(), start, to, false, Some(limit as i64))?;
                rows.retain(|(k, _)| k.starts_with(prefix));
                return Ok(rows);
            }
        };
        let cf = self.cf(family.cf());
        let mut out = Vec::new();
        for item in db.iterator_cf(cf, IteratorMode::From(&start, Direction::Forward)) {
            let (k, v) = item?;
            if !k.starts_with(prefix) || out.len() >= limit {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    /// Writes records of several families in one synced write: a record
    /// and its index rows land together or not at all.
    pub fn put_records_synced(&self, records: &[(RecordFamily, &[u8], &[u8])]) -> Result<()> {
        let mut b = self.batch();
        for (family, k, v) in records {
            b.put(family.cf(), k, v);
        }
        self.write(b, true)
    }

    /// All records of a family whose key starts with `prefix`, in key order.
    pub fn scan_records(
        &self,
        family: RecordFamily,
        prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.prefix(family.cf(), prefix)
    }
}

/// One entry of a document's v2 index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DocIndexEntry {
    /// The entry's index in the log.
    pub index: u64,
    /// Keyed hash of its document hash, while it is found by hash.
    pub hash_id: Option<[u8; 32]>,
    /// Keyed hash of its actor, when the entry holds an identity opening.
    pub subject_id: Option<[u8; 32]>,
    /// Whether a document erasure took its record.
    pub erased: bool,
    /// Keyed hash of (tenant, event id), when known without opening the
    /// record (entries of the group being staged; never stored here).
    pub idem_id: Option<[u8; 32]>,
}

/// One v2 entry's private part, staged by the sequencer.
pub struct PrivateEntry<'a> {
    /// Keyed hash of (tenant, event id).
    pub idem_id: &'a [u8; 32],
    /// Keyed hash of (tenant, document id).
    pub doc_id: &'a [u8; 32],
    /// Keyed hash of the document hash; `None` for entries not found by
    /// their document hash (the service's report and erasure entries).
    pub hash_id: Option<&'a [u8; 32]>,
    /// Keyed hash of (tenant, actor id), for entries with an identity
    /// opening (what a subject erasure destroys).
    pub subject_id: Option<&'a [u8; 32]>,
    /// The sealed record.
    pub record: &'a [u8],
    /// The sealed identity opening, if the event had an identity.
    pub identity: Option<&'a [u8]>,
    /// Record v3: the entry's chain, canonical JSON `{"prev", "seq"}`.
    pub chain: Option<&'a [u8]>,
}

impl Store {
    /// The tree size from which this log writes v2 leaves, recorded the
    /// first time it is asked (an existing v1 log starts v2 at its size).
    pub fn v2_since(&self) -> Result<u64> {
        if let Some(b) = self.get(CF_META, META_V2_SINCE)? {
            if b.len() == 8 {
                return Ok(be_u64(&b));
            }
            return Err(LedgerError::Corrupt("v2-since has bad length".into()));
        }
        let size = self.tree_state()?.map(|s| s.size).unwrap_or(0);
        let mut b = self.batch();
        b.put(CF_META, META_V2_SINCE, &size.to_be_bytes());
        self.write(b, true)?;
        Ok(size)
    }

    /// The tree size from which this log chains each contract's entries
    /// (record v3), recorded the first time it is asked: an older log's
    /// contracts may have entries from before, without a chain head.
    pub fn chain_since(&self) -> Result<u64> {
        if let Some(b) = self.get(CF_META, META_CHAIN_SINCE)? {
            if b.len() == 8 {
                return Ok(be_u64(&b));
            }
            return Err(LedgerError::Corrupt("chain-since has bad length".into()));
        }
        let size = self.tree_state()?.map(|s| s.size).unwrap_or(0);
        let mut b = self.batch();
        b.put(CF_META, META_CHAIN_SINCE, &size.to_be_bytes());
        self.write(b, true)?;
        Ok(size)
    }

    /// The chain heads of documents, in the order asked; one round trip.
    pub fn chain_heads(&self, doc_ids: &[[u8; 32]]) -> Result<Vec<Option<ChainHead>>> {
        let keys: Vec<Vec<u8>> = doc_ids.iter().map(chain_head_key).collect();
        self.multi_get(CF_AUX, &keys, false)?
            .into_iter()
            .map(|v| match v {
                None => Ok(None),
                Some(b) if b.len() == 40 => {
                    let mut h = [0u8; 32];
                    h.copy_from_slice(&b[..32]);
                    Ok(Some((h, be_u64(&b[32..]))))
                }
                Some(_) => Err(LedgerError::Corrupt("chain head has bad length".into())),
            })
            .collect()
    }

    /// Idempotency records by v2 id.
    pub fn idempotency_v2(&self, ids: &[[u8; 32]]) -> Result<Vec<Option<IdemRecord>>> {
        let raw: Vec<[u8; 33]> = ids.iter().map(idem_v2_key).collect();
        let values = self.multi_get(CF_IDEM, &raw, false)?;
        values.into_iter().map(|v| decode_idem(v.as_deref())).collect()
    }

    /// A sealed private value (`tag`: [`TAG_RECORD`] or [`TAG_IDENTITY`]).
    pub fn private(&self, index: u64, tag: u8) -> Result<Option<Vec<u8>>> {
        self.get(CF_RECORDS, &private_key(index, tag))
    }

    /// The wrapped key of `id`.
    pub fn wrapped_key(&self, id: &[u8; 32]) -> Result<Option<Vec<u8>>> {
        self.get(CF_DOCKEYS, id)
    }

    /// The wrapped keys of `ids`, in the order asked: one multi-get (on
    /// PostgreSQL one round trip for a whole request's documents).
    pub fn wrapped_keys_of(&self, ids: &[[u8; 32]]) -> Result<Vec<Option<Vec<u8>>>> {
        self.multi_get(CF_DOCKEYS, ids, false)
    }

    /// Stores a wrapped key without an fsync of its own: it is durable
    /// with the next synced write, which comes before any receipt that
    /// depends on it.
    pub fn put_wrapped_key(&self, id: &[u8; 32], wrapped: &[u8]) -> Result<()> {
        let mut b = self.batch();
        b.put(CF_DOCKEYS, id, wrapped);
        self.write(b, false)
    }

    /// Stores a wrapped key, synced (for sealed values written outside a
    /// group commit).
    pub fn put_wrapped_key_synced(&self, id: &[u8; 32], wrapped: &[u8]) -> Result<()> {
        let mut b = self.batch();
        b.put(CF_DOCKEYS, id, wrapped);
        self.write(b, true)
    }

    /// The vault suite recorded with the index key, if any.
    pub fn vault_suite(&self) -> Result<Option<Vec<u8>>> {
        self.get(CF_META, META_VAULT_SUITE)
    }

    /// Records the vault suite, as [`Store::put_wrapped_key`] stores a key
    /// (the index key's write comes after it).
    pub fn put_vault_suite(&self, name: &[u8]) -> Result<()> {
        let mut b = self.batch();
        b.put(CF_META, META_VAULT_SUITE, name);
        self.write(b, false)
    }

    /// Every wrapped key (for master key rotation).
    pub fn wrapped_keys(&self) -> Result<Vec<([u8; 32], Vec<u8>)>> {
        let mut out = Vec::new();
        for item in self.scan_all(CF_DOCKEYS) {
            let (k, v) = item?;
            let id = <[u8; 32]>::try_from(&k[..])
                .map_err(|_| LedgerError::Corrupt("dockeys key has bad length".into()))?;
            out.push((id, v.to_vec()));
        }
        Ok(out)
    }

    /// Up to `limit` wrapped keys whose ids sort after `after` (all from
    /// the first when `None`), in id order: a rotation's re-wrap pages.
    pub fn wrapped_keys_page(
        &self,
        after: Option<&[u8; 32]>,
        limit: usize,
    ) -> Result<Vec<([u8; 32], Vec<u8>)>> {
        let from = after.map(|a| [&a[..], &[0u8]].concat()).unwrap_or_default();
        let rows = match &self.backend {
            Backend::Pg(p) => p.range(CF_DOCKEYS, from, None, false, Some(limit as i64))?,
            Backend::Rocks { db, .. } => {
                let mode = IteratorMode::From(&from, Direction::Forward);
                let mut out = Vec::new();
                for item in db.iterator_cf(self.cf(CF_DOCKEYS), mode).take(limit) {
                    let (k, v) = item?;
                    out.push((k.to_vec(), v.to_vec()));
                }
                out
            }
        };
        rows.into_iter()
            .map(|(k, v)| {
                let id = <[u8; 32]>::try_from(&k[..])
                    .map_err(|_| LedgerError::Corrupt("dockeys key has bad length".into()))?;
                Ok((id, v))
            })
            .collect()
    }

    /// Every erased key id with its erasure record.
    pub fn erasures(&self) -> Result<Vec<([u8; 32], Vec<u8>)>> {
        let mut out = Vec::new();
        for item in self.scan_all(CF_ERASED) {
            let (k, v) = item?;
            let id = <[u8; 32]>::try_from(&k[..])
                .map_err(|_| LedgerError::Corrupt("erased key has bad length".into()))?;
            out.push((id, v.to_vec()));
        }
        Ok(out)
    }

    /// The erasure record of `id`, if it was erased.
    pub fn erasure(&self, id: &[u8; 32]) -> Result<Option<Vec<u8>>> {
        self.get(CF_ERASED, id)
    }

    /// The entries of a document (v2 index): (index, hash id, subject id);
    /// the ids are `None` once the entry was erased (or, for the hash id,
    /// when the entry is not found by hash).
    pub fn doc_index(&self, doc_id: &[u8; 32]) -> Result<Vec<DocIndexEntry>> {
        let mut out = Vec::new();
        for (k, v) in self.prefix(CF_DOCIDX, doc_id)? {
            if k.len() != 40 || (v.len() != 64 && !v.is_empty()) {
                return Err(LedgerError::Corrupt("docidx record has bad length".into()));
            }
            let index = be_u64(&k[32..]);
            if v.is_empty() {
                out.push(DocIndexEntry {
                    index,
                    hash_id: None,
                    subject_id: None,
                    erased: true,
                    idem_id: None,
                });
                continue;
            }
            let mut h = [0u8; 32];
            let mut s = [0u8; 32];
            h.copy_from_slice(&v[..32]);
            s.copy_from_slice(&v[32..]);
            let hash_id = (h != [0; 32]).then_some(h);
            let subject_id = (s != [0; 32]).then_some(s);
            out.push(DocIndexEntry { index, hash_id, subject_id, erased: false, idem_id: None });
        }
        Ok(out)
    }

    /// One entry of a document's v2 index, if it is there.
    pub fn doc_index_entry(&self, doc_id: &[u8; 32], index: u64) -> Result<Option<DocIndexEntry>> {
        let Some(v) = self.get(CF_DOCIDX, &id_index_key(doc_id, index))? else { return Ok(None) };
        let id = |b: &[u8]| {
            let mut a = [0u8; 32];
            a.copy_from_slice(b);
            (a != [0; 32]).then_some(a)
        };
        Ok(Some(match v.len() {
            0 => DocIndexEntry {
                index,
                hash_id: None,
                subject_id: None,
                erased: true,
                idem_id: None,
            },
            64 => DocIndexEntry {
                index,
                hash_id: id(&v[..32]),
                subject_id: id(&v[32..]),
                erased: false,
                idem_id: None,
            },
            _ => return Err(LedgerError::Corrupt("docidx record has bad length".into())),
        }))
    }

    /// The sealed clean-up records of erasures not cleaned up yet, by
    /// erasure key id.
    pub fn cleanups(&self) -> Result<Vec<([u8; 32], Vec<u8>)>> {
        let mut out = Vec::new();
        for (k, v) in self.prefix(CF_AUX, CLEANUP_PREFIX)? {
            if let Ok(id) = <[u8; 32]>::try_from(&k[CLEANUP_PREFIX.len()..]) {
                out.push((id, v));
            }
        }
        Ok(out)
    }

    /// Deletes an erasure's clean-up record (its clean-up is done), synced.
    pub fn delete_cleanup(&self, key_id: &[u8; 32]) -> Result<()> {
        let mut b = self.batch();
        b.delete(CF_AUX, &[CLEANUP_PREFIX, key_id].concat());
        self.write(b, true)
    }

    /// Indexes under a 32-byte id in `hashidx`.
    pub fn hash_index(&self, hash_id: &[u8; 32]) -> Result<Vec<u64>> {
        self.index_suffixes(CF_HASHIDX, hash_id)
    }

    /// Indexes under a 32-byte id in `subjidx`.
    pub fn subject_index(&self, subject_id: &[u8; 32]) -> Result<Vec<u64>> {
        self.index_suffixes(CF_SUBJIDX, subject_id)
    }

    /// After an erasure: flushes every family's memtable (so the WAL files
    /// that held the erased values become obsolete and are deleted: RocksDB
    /// keeps no WAL archive here), then compacts down to the bottommost
    /// level the table files that hold a key an erasure deleted or
    /// rewrote (recorded in its batch), and the `aux` ranges under
    /// `aux_prefixes` (the service's copies it deleted), so that no table
    /// file keeps a deleted value beside its tombstone. Only those files
    /// are rewritten (issue 24: a whole-store compaction per erasure cost
    /// twice the store in writes). A store whose erasure predates the key
    /// lists compacts the whole of each family erasures touch, as before.
    ///
    /// PostgreSQL: `VACUUM` of those tables (docs/postgres.md says what
    /// it does not reach).
    pub fn purge(&self, aux_prefixes: &[Vec<u8>]) -> Result<()> {
        let recorded = self.prefix(CF_META, META_PURGE_KEYS)?;
        let whole = self.get(CF_META, META_PURGE_PENDING)?.is_some();
        match &self.backend {
            Backend::Pg(p) => p.vacuum(&ERASURE_CFS)?,
            Backend::Rocks { db, .. } => {
                let all: Vec<&ColumnFamily> = ALL_CFS.iter().map(|n| self.cf(n)).collect();
                let mut fo = rocksdb::FlushOptions::default();
                fo.set_wait(true);
                db.flush_cfs_opt(&all, &fo)?;
                crate::fault::point("purge-flushed");
                let mut co = rocksdb::CompactOptions::default();
                co.set_exclusive_manual_compaction(true);
                co.set_bottommost_level_compaction(rocksdb::BottommostLevelCompaction::Force);
                if whole {
                    for name in ERASURE_CFS {
                        db.compact_range_cf_opt(self.cf(name), None::<&[u8]>, None::<&[u8]>, &co);
                    }
                }
                let keys: Vec<(u8, Vec<u8>)> =
                    recorded.iter().flat_map(|(_, v)| decode_purge_keys(v)).collect();
                for (cf, from, to) in files_holding(db, &keys, aux_prefixes)? {
                    db.compact_range_cf_opt(self.cf(cf), Some(&from), Some(&to), &co);
                }
            }
        }
        let mut b = self.batch();
        b.delete(CF_META, META_PURGE_PENDING);
        for (k, _) in &recorded {
            b.delete(CF_META, k);
        }
        self.write(b, true)?;
        Ok(())
    }

    /// Replaces the sealed records of entries in one synced batch (a
    /// subject erasure's redaction, after its commit), and lists their
    /// keys for the purge under `purge-keys\0` `list_id` (a list of its
    /// own, beside the erasure's), so that the old values are compacted
    /// away as an erasure's are.
    pub fn rewrite_records(&self, list_id: &[u8; 32], records: &[(u64, Vec<u8>)]) -> Result<()> {
        let mut b = self.batch();
        for (index, sealed) in records {
            b.put(CF_RECORDS, &private_key(*index, TAG_RECORD), sealed);
            b.note_purge(CF_RECORDS, &private_key(*index, TAG_RECORD));
        }
        let keys = encode_purge_keys(&std::mem::take(&mut b.purged));
        b.put(CF_META, &[META_PURGE_KEYS, list_id].concat(), &keys);
        self.write(b, true)
    }

    /// Writes the records `puts` and deletes the records `deletes` of one
    /// family in one synced batch, with a mark that the family is to be
    /// compacted ([`Store::compact_marked`]), so that the deleted values
    /// leave the files too (a migration of records to another form). The
    /// deleted keys are not listed anywhere: they may be what is moved away.
    pub fn replace_records(
        &self,
        family: RecordFamily,
        puts: &[(Vec<u8>, Vec<u8>)],
        deletes: &[Vec<u8>],
    ) -> Result<()> {
        let mut b = self.batch();
        for k in deletes {
            b.delete(family.cf(), k);
        }
        for (k, v) in puts {
            b.put(family.cf(), k, v);
        }
        b.put(CF_META, &[META_COMPACT_FAMILY, family.cf().as_bytes()].concat(), &[]);
        self.write(b, true)
    }

    /// Compacts every family marked by [`Store::replace_records`] (after
    /// flushing every family, so the write-ahead log of the deletions'
    /// values goes too; PostgreSQL: VACUUM), then clears the marks.
    /// Idempotent: a crash before the marks are cleared compacts again.
    pub fn compact_marked(&self) -> Result<usize> {
        let marks = self.prefix(CF_META, META_COMPACT_FAMILY)?;
        let names: Vec<&'static str> = marks
            .iter()
            .filter_map(|(k, _)| {
                let name = &k[META_COMPACT_FAMILY.len()..];
                ALL_CFS.iter().copied().find(|n| n.as_bytes() == name)
            })
            .collect();
        match &self.backend {
            Backend::Pg(p) if !names.is_empty() => p.vacuum(&names)?,
            Backend::Rocks { db, .. } if !names.is_empty() => {
                let all: Vec<&ColumnFamily> = ALL_CFS.iter().map(|n| self.cf(n)).collect();
                let mut fo = rocksdb::FlushOptions::default();
                fo.set_wait(true);
                db.flush_cfs_opt(&all, &fo)?;
                let mut co = rocksdb::CompactOptions::default();
                co.set_exclusive_manual_compaction(true);
                co.set_bottommost_level_compaction(rocksdb::BottommostLevelCompaction::Force);
                for name in &names {
                    db.compact_range_cf_opt(self.cf(name), None::<&[u8]>, None::<&[u8]>, &co);
                }
            }
            _ => {}
        }
        let mut b = self.batch();
        for (k, _) in &marks {
            b.delete(CF_META, k);
        }
        self.write(b, true)?;
        Ok(names.len())
    }

    /// Whether an erasure was committed and the store not purged since
    /// (a crash or failure between the two).
    pub fn purge_pending(&self) -> Result<bool> {
        Ok(self.get(CF_META, META_PURGE_PENDING)?.is_some()
            || !self.prefix(CF_META, META_PURGE_KEYS)?.is_empty())
    }
}

/// A key and value as RocksDB returns them.
pub type RawRecord = (Box<[u8]>, Box<[u8]>);

/// The families the audit walks whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFamily {
    /// index -> leaf bytes.
    Leaves,
    /// stored-hash index -> hash.
    Hashes,
    /// tenant 0x00 event_id -> index || content hash.
    Idem,
    /// tenant 0x00 document_id 0x00 index -> ().
    Docs,
    /// document hash || index -> ().
    DocHash,
    /// v2: document id(32) || index -> hash id || subject id.
    DocIdx,
}

impl LogFamily {
    fn cf(self) -> &'static str {
        match self {
            LogFamily::Leaves => CF_LEAVES,
            LogFamily::Hashes => CF_HASHES,
            LogFamily::Idem => CF_IDEM,
            LogFamily::Docs => CF_DOCS,
            LogFamily::DocHash => CF_DOCHASH,
            LogFamily::DocIdx => CF_DOCIDX,
        }
    }
}

impl Store {
    /// Every record of a log family in key order (big-endian indexes sort
    /// numerically), for the audit. Reads as of the call.
    pub fn scan_family(&self, family: LogFamily) -> impl Iterator<Item = Result<RawRecord>> + '_ {
        self.scan_all(family.cf())
    }

    /// Stored hashes by stored-hash index; `None` where one is missing.
    pub fn read_hashes_opt(&self, indexes: &[u64]) -> Result<Vec<Option<Vec<u8>>>> {
        self.hashes_in_key_order(indexes)
    }

    /// The stored hashes at `indexes` (in the caller's order), looked up in
    /// key order: callers ask in tree order (a proof's pieces by level), but
    /// RocksDB's batched lookup is told its keys are sorted, as its contract
    /// requires (checked only in a debug build); sorted, the keys of one
    /// data block are adjacent and share one block lookup.
    fn hashes_in_key_order(&self, indexes: &[u64]) -> Result<Vec<Option<Vec<u8>>>> {
        let mut order: Vec<usize> = (0..indexes.len()).collect();
        order.sort_unstable_by_key(|&i| indexes[i]);
        let keys: Vec<[u8; 8]> = order.iter().map(|&i| indexes[i].to_be_bytes()).collect();
        let mut out = vec![None; indexes.len()];
        for (&i, v) in order.iter().zip(self.multi_get(CF_HASHES, &keys, true)?) {
            out[i] = v;
        }
        Ok(out)
    }

    /// Whether the document indexes of the entry at `index` are there:
    /// (`docs` key, `dochash` key).
    pub fn entry_indexes_present(
        &self,
        tenant: &str,
        document_id: &str,
        document_hash: &[u8; 32],
        index: u64,
    ) -> Result<(bool, bool)> {
        let doc = doc_key(tenant, document_id, index);
        let dh = dochash_key(document_hash, index);
        let docs = self.get(CF_DOCS, &doc)?.is_some();
        let dochash = self.get(CF_DOCHASH, &dh)?.is_some();
        Ok((docs, dochash))
    }
}

/// Families of small records kept beside the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordFamily {
    /// Trusted issuers by name.
    Issuers,
    /// Bearer tokens by SHA-256 of the token.
    Tokens,
    /// Records of other crates, namespaced by key prefix.
    Aux,
    /// Trusted time-stamp authorities by name.
    Tsas,
}

impl RecordFamily {
    fn cf(self) -> &'static str {
        match self {
            RecordFamily::Issuers => CF_ISSUERS,
            RecordFamily::Tokens => CF_TOKENS,
            RecordFamily::Aux => CF_AUX,
            RecordFamily::Tsas => CF_TSAS,
        }
    }
}

impl Batch<'_> {
    /// Stages a leaf.
    pub fn put_leaf(&mut self, index: u64, leaf: &[u8]) {
        self.put(CF_LEAVES, &index.to_be_bytes(), leaf);
    }

    /// Stages a stored hash.
    pub fn put_hash(&mut self, stored_index: u64, hash: &[u8; 32]) {
        self.put(CF_HASHES, &stored_index.to_be_bytes(), hash);
    }

    /// Stages an idempotency record and the document indexes of one entry.
    pub fn put_entry_indexes(
        &mut self,
        tenant: &str,
        event_id: &str,
        document_id: &str,
        document_hash: &[u8; 32],
        record: IdemRecord,
    ) {
        let mut v = [0u8; 40];
        v[..8].copy_from_slice(&record.index.to_be_bytes());
        v[8..].copy_from_slice(&record.content);
        self.put(CF_IDEM, &idem_key(tenant, event_id), &v);

        let doc = doc_key(tenant, document_id, record.index);
        self.put(CF_DOCS, &doc, &[]);
        let dh = dochash_key(document_hash, record.index);
        self.put(CF_DOCHASH, &dh, &[]);
    }

    /// Stages the private part and v2 indexes of one new entry, appended
    /// at `index` in this batch. Its rows are new to the store
    /// ([`Batch::put_new`]): keyed by the new index, or by its event id,
    /// which the sequencer found unlogged (under the lease, so no other
    /// writer can have logged it since).
    pub fn put_private_entry(&mut self, index: u64, p: &PrivateEntry<'_>, content: &[u8; 32]) {
        let mut v = [0u8; 40];
        v[..8].copy_from_slice(&index.to_be_bytes());
        v[8..].copy_from_slice(content);
        self.ordered_put_new(ORD_IDEM, &idem_v2_key(p.idem_id), &v);
        self.put_new(CF_RECORDS, &private_key(index, TAG_RECORD), p.record);
        if let Some(i) = p.identity {
            self.put_new(CF_RECORDS, &private_key(index, TAG_IDENTITY), i);
        }
        if let Some(c) = p.chain {
            self.put_new(CF_RECORDS, &private_key(index, TAG_CHAIN), c);
        }
        let hash_id = p.hash_id.copied().unwrap_or([0; 32]);
        let subject_id = p.subject_id.copied().unwrap_or([0; 32]);
        let mut ids = [0u8; 64];
        ids[..32].copy_from_slice(&hash_id);
        ids[32..].copy_from_slice(&subject_id);
        self.ordered_put_new(ORD_DOCIDX, &id_index_key(p.doc_id, index), &ids);
        if let Some(h) = p.hash_id {
            self.ordered_put_new(ORD_HASHIDX, &id_index_key(h, index), &[]);
        }
        if let Some(s) = p.subject_id {
            self.ordered_put_new(ORD_SUBJIDX, &id_index_key(s, index), &[]);
        }
    }

    /// Stages the erasure of one entry's private part: its record and
    /// identity opening, its document-hash and subject index keys, and the
    /// ids its document index record held (the record stays, empty, so
    /// that bundles still list the erased entry).
    pub fn erase_entry(
        &mut self,
        doc_id: &[u8; 32],
        index: u64,
        hash_id: Option<&[u8; 32]>,
        subject_id: Option<&[u8; 32]>,
    ) {
        self.delete(CF_RECORDS, &private_key(index, TAG_RECORD));
        self.delete(CF_RECORDS, &private_key(index, TAG_IDENTITY));
        self.delete(CF_RECORDS, &private_key(index, TAG_CHAIN));
        self.note_purge(CF_RECORDS, &private_key(index, TAG_RECORD));
        self.note_purge(CF_RECORDS, &private_key(index, TAG_IDENTITY));
        self.note_purge(CF_RECORDS, &private_key(index, TAG_CHAIN));
        if let Some(h) = hash_id {
            self.ordered_delete(ORD_HASHIDX, &id_index_key(h, index));
            self.note_purge(CF_HASHIDX, &id_index_key(h, index));
        }
        if let Some(s) = subject_id {
            self.ordered_delete(ORD_SUBJIDX, &id_index_key(s, index));
            self.note_purge(CF_SUBJIDX, &id_index_key(s, index));
        }
        self.ordered_put(ORD_DOCIDX, &id_index_key(doc_id, index), &[]);
        self.note_purge(CF_DOCIDX, &id_index_key(doc_id, index));
    }

    /// Stages the erasure of one entry's identity opening.
    pub fn erase_identity(&mut self, index: u64, subject_id: &[u8; 32]) {
        self.delete(CF_RECORDS, &private_key(index, TAG_IDENTITY));
        self.ordered_delete(ORD_SUBJIDX, &id_index_key(subject_id, index));
        self.note_purge(CF_RECORDS, &private_key(index, TAG_IDENTITY));
        self.note_purge(CF_SUBJIDX, &id_index_key(subject_id, index));
    }

    /// Notes a key the erasure being staged deletes or rewrites, for the
    /// purge that follows it.
    fn note_purge(&mut self, cf: &'static str, key: &[u8]) {
        if let Some(i) = ALL_CFS.iter().position(|n| *n == cf) {
            self.purged.push((i as u8, key.to_vec()));
        }
    }

    /// Stages the removal of the subject id from one entry's document
    /// index record (after its identity opening was erased).
    pub fn clear_doc_subject(&mut self, doc_id: &[u8; 32], index: u64, hash_id: Option<&[u8; 32]>) {
        let mut ids = [0u8; 64];
        ids[..32].copy_from_slice(hash_id.unwrap_or(&[0; 32]));
        self.ordered_put(ORD_DOCIDX, &id_index_key(doc_id, index), &ids);
        self.note_purge(CF_DOCIDX, &id_index_key(doc_id, index));
    }

    /// Stages the replacement of an erased entry's idempotency record by
    /// its tombstone: the index alone, no content hash.
    pub fn tombstone_idem(&mut self, idem_id: &[u8; 32], index: u64) {
        self.ordered_put(ORD_IDEM, &idem_v2_key(idem_id), &index.to_be_bytes());
        self.note_purge(CF_IDEM, &idem_v2_key(idem_id));
    }

    /// Stages an erasure's clean-up record (sealed), in the erasure's batch.
    pub fn put_cleanup(&mut self, key_id: &[u8; 32], sealed: &[u8]) {
        self.put(CF_AUX, &[CLEANUP_PREFIX, key_id].concat(), sealed);
    }

    /// Stages a document's completion in the retention index (aux
    /// `retention-completed\0` time(8) document id(32) -> sealed ids).
    pub fn put_completion(&mut self, time_micros: i64, doc_id: &[u8; 32], sealed: &[u8]) {
        let key = [RETENTION_PREFIX, &(time_micros as u64).to_be_bytes()[..], doc_id].concat();
        self.put(CF_AUX, &key, sealed);
        // A completed contract is no longer open (staged after its first
        // entry's put when both are in one batch).
        self.delete(CF_AUX, &[OPEN_PREFIX, doc_id].concat());
    }

    /// Stages a contract's entry in the open-contract index (its first
    /// entry's batch): its ids, sealed under the document key.
    pub fn put_open_contract(&mut self, doc_id: &[u8; 32], sealed: &[u8]) {
        self.put(CF_AUX, &[OPEN_PREFIX, doc_id].concat(), sealed);
    }

    /// Stages a contract's new chain head: the leaf hash of its last
    /// entry and its number of entries.
    pub fn put_chain_head(&mut self, doc_id: &[u8; 32], last: &[u8; 32], count: u64) {
        let mut v = [0u8; 40];
        v[..32].copy_from_slice(last);
        v[32..].copy_from_slice(&count.to_be_bytes());
        self.put(CF_AUX, &chain_head_key(doc_id), &v);
    }

    /// Stages a new wrapped document key, written with the first record it
    /// seals.
    pub fn put_wrapped_key(&mut self, id: &[u8; 32], wrapped: &[u8]) {
        self.put(CF_DOCKEYS, id, wrapped);
    }

    /// Stages the destruction of a wrapped key and its erasure record.
    pub fn put_erasure(&mut self, key_id: &[u8; 32], record: &[u8], destroy_key: bool) {
        if destroy_key {
            self.delete(CF_DOCKEYS, key_id);
            self.note_purge(CF_DOCKEYS, key_id);
        }
        self.put(CF_ERASED, key_id, record);
        // What the purge compacts; cleared by `Store::purge`, and a crash
        // before that purges at the next open.
        let keys = encode_purge_keys(&std::mem::take(&mut self.purged));
        self.put(CF_META, &[META_PURGE_KEYS, key_id].concat(), &keys);
    }

    /// Stages the rollback marker (PostgreSQL; nothing on RocksDB): `mark`
    /// was handed out already, so the marker never names a checkpoint
    /// that a failed commit may take back.
    pub fn put_handed_out(&mut self, mark: &Mark) {
        if let Staged::Pg(_) = self.wb {
            let mut v = [0u8; 40];
            v[..8].copy_from_slice(&mark.size.to_be_bytes());
            v[8..].copy_from_slice(&mark.root.0);
            self.put(CF_META, HANDED_OUT_KEY, &v);
        }
    }

    /// Stages the new tree state and its signed checkpoint.
    pub fn put_tree(&mut self, state: &TreeState, checkpoint_note: &[u8]) {
        let mut v = [0u8; 48];
        v[..8].copy_from_slice(&state.size.to_be_bytes());
        v[8..40].copy_from_slice(&state.root);
        v[40..].copy_from_slice(&(state.last_time_micros as u64).to_be_bytes());
        self.put(CF_META, META_TREE, &v);
        self.put(CF_META, META_CHECKPOINT, checkpoint_note);
    }

    /// Stages a write of `key` in family `cf`.
    fn put(&mut self, cf: &'static str, key: &[u8], value: &[u8]) {
        self.write_one(cf, key, value, false)
    }

    /// [`Batch::put`] of a key no earlier batch wrote (a new entry's rows
    /// under its new index): on PostgreSQL a plain `INSERT` ([`Op`]).
    fn put_new(&mut self, cf: &'static str, key: &[u8], value: &[u8]) {
        self.write_one(cf, key, value, true)
    }

    fn write_one(&mut self, cf: &'static str, key: &[u8], value: &[u8], fresh: bool) {
        match &mut self.wb {
            Staged::Rocks(wb) => wb.put_cf(self.store.cf(cf), key, value),
            Staged::Pg(ops) => {
                ops.push(Op { cf, key: key.to_vec(), value: Some(value.to_vec()), fresh })
            }
        }
    }

    /// Stages a delete of `key` in family `cf`.
    fn delete(&mut self, cf: &'static str, key: &[u8]) {
        match &mut self.wb {
            Staged::Rocks(wb) => wb.delete_cf(self.store.cf(cf), key),
            Staged::Pg(ops) => ops.push(Op { cf, key: key.to_vec(), value: None, fresh: false }),
        }
    }

    /// Number of staged writes.
    pub fn len(&self) -> usize {
        let staged = match &self.wb {
            Staged::Rocks(wb) => wb.len(),
            Staged::Pg(ops) => ops.len(),
        };
        staged + self.ordered.iter().map(Vec::len).sum::<usize>()
    }

    /// True when nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn ordered_put(&mut self, family: usize, key: &[u8], value: &[u8]) {
        let mut v = [0u8; 64];
        v[..value.len()].copy_from_slice(value);
        self.ordered_write(family, key, Some((v, value.len() as u8)), false);
    }

    /// [`Batch::ordered_put`] of a key no earlier batch wrote ([`Batch::put_new`]).
    fn ordered_put_new(&mut self, family: usize, key: &[u8], value: &[u8]) {
        let mut v = [0u8; 64];
        v[..value.len()].copy_from_slice(value);
        self.ordered_write(family, key, Some((v, value.len() as u8)), true);
    }

    fn ordered_delete(&mut self, family: usize, key: &[u8]) {
        self.ordered_write(family, key, None, false);
    }

    fn ordered_write(
        &mut self,
        family: usize,
        key: &[u8],
        value: Option<([u8; 64], u8)>,
        fresh: bool,
    ) {
        let mut k = [0u8; 40];
        k[..key.len()].copy_from_slice(key);
        self.ordered[family].push(Ordered { key: k, key_len: key.len() as u8, value, fresh });
    }
}

/// The key ranges (family, smallest key, largest key) of the table files
/// that hold one of `keys` or a key under one of `aux_prefixes`, those of
/// overlapping files merged: what a purge compacts. Files are found by
/// their key bounds, so a file is compacted once however many of the
/// keys it holds.
#[allow(clippy::type_complexity)]
fn files_holding(
    db: &DB,
    keys: &[(u8, Vec<u8>)],
    aux_prefixes: &[Vec<u8>],
) -> Result<Vec<(&'static str, Vec<u8>, Vec<u8>)>> {
    let mut out: Vec<(&'static str, Vec<u8>, Vec<u8>)> = Vec::new();
    for f in db.live_files()? {
        let (Some(start), Some(end)) = (&f.start_key, &f.end_key) else { continue };
        let Some(&cf) = ALL_CFS.iter().find(|n| **n == f.column_family_name) else { continue };
        let holds = keys.iter().any(|(i, k)| {
            ALL_CFS.get(*i as usize) == Some(&cf) && start.as_slice() <= k.as_slice() && k <= end
        }) || (cf == CF_AUX
            && aux_prefixes.iter().any(|p| {
                // The file's range [start, end] meets the prefix's keys.
                end.as_slice() >= p.as_slice()
                    && (start.starts_with(p) || start.as_slice() < p.as_slice())
            }));
        if holds {
            out.push((cf, start.clone(), end.clone()));
        }
    }
    // One compaction per run of overlapping files: an L0 file spans the
    // key space of a random-keyed family, and compacting each file's
    // range alone would rewrite the files below it once per call.
    out.sort();
    let mut merged: Vec<(&'static str, Vec<u8>, Vec<u8>)> = Vec::new();
    for (cf, start, end) in out {
        match merged.last_mut() {
            Some((c, _, e)) if *c == cf && start <= *e => {
                if end > *e {
                    *e = end;
                }
            }
            _ => merged.push((cf, start, end)),
        }
    }
    Ok(merged)
}

fn encode_purge_keys(keys: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut v = Vec::new();
    for (cf, k) in keys {
        v.push(*cf);
        v.extend_from_slice(&(k.len() as u16).to_be_bytes());
        v.extend_from_slice(k);
    }
    v
}

fn decode_purge_keys(mut v: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while v.len() >= 3 {
        let n = u16::from_be_bytes([v[1], v[2]]) as usize;
        let Some(k) = v.get(3..3 + n) else { break };
        out.push((v[0], k.to_vec()));
        v = &v[3 + n..];
    }
    out
}

fn idem_key(tenant: &str, event_id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(tenant.len() + event_id.len() + 1);
    k.extend_from_slice(tenant.as_bytes());
    k.push(SEP);
    k.extend_from_slice(event_id.as_bytes());
    k
}

fn idem_v2_key(id: &[u8; 32]) -> [u8; 33] {
    let mut k = [0u8; 33];
    k[0] = IDEM_V2;
    k[1..].copy_from_slice(id);
    k
}

fn decode_idem(v: Option<&[u8]>) -> Result<Option<IdemRecord>> {
    match v {
        None => Ok(None),
        Some(b) if b.len() == 40 => {
            let mut content = [0u8; 32];
            content.copy_from_slice(&b[8..]);
            Ok(Some(IdemRecord { index: be_u64(&b[..8]), content, erased: false }))
        }
        Some(b) if b.len() == 8 => {
            Ok(Some(IdemRecord { index: be_u64(b), content: [0; 32], erased: true }))
        }
        Some(_) => Err(LedgerError::Corrupt("idempotency record has bad length".into())),
    }
}

fn chain_head_key(doc_id: &[u8; 32]) -> Vec<u8> {
    [CHAIN_HEAD_PREFIX, doc_id.as_slice()].concat()
}

fn private_key(index: u64, tag: u8) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[..8].copy_from_slice(&index.to_be_bytes());
    k[8] = tag;
    k
}

fn id_index_key(id: &[u8; 32], index: u64) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..32].copy_from_slice(id);
    k[32..].copy_from_slice(&index.to_be_bytes());
    k
}

fn doc_key(tenant: &str, document_id: &str, index: u64) -> Vec<u8> {
    let mut doc = Vec::with_capacity(tenant.len() + document_id.len() + 10);
    doc.extend_from_slice(tenant.as_bytes());
    doc.push(SEP);
    doc.extend_from_slice(document_id.as_bytes());
    doc.push(SEP);
    doc.extend_from_slice(&index.to_be_bytes());
    doc
}

fn dochash_key(document_hash: &[u8; 32], index: u64) -> [u8; 40] {
    let mut dh = [0u8; 40];
    dh[..32].copy_from_slice(document_hash);
    dh[32..].copy_from_slice(&index.to_be_bytes());
    dh
}

/// A rollback marker's value: size(8) || root(32).
pub(crate) fn decode_mark(v: &[u8]) -> Result<Mark> {
    if v.len() != 40 {
        return Err(LedgerError::Corrupt("the handed-out marker has a bad length".into()));
    }
    let root = verifier::Hash::from_slice(&v[8..])
        .map_err(|e| LedgerError::Corrupt(format!("the handed-out marker: {e}")))?;
    Ok(Mark { size: be_u64(&v[..8]), root })
}

/// Big-endian u64 of the first 8 bytes, for other crates reading keys
/// laid out here (`None`-free: callers check the length).
pub fn be_u64_pub(b: &[u8]) -> u64 {
    be_u64(b)
}

/// Big-endian u64 of the first 8 bytes (callers check the length).
pub(crate) fn be_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_be_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(i: u64) -> [u8; 32] {
        let mut h = [0xa5u8; 32];
        h[..8].copy_from_slice(&i.to_be_bytes());
        h
    }

    /// Stored hashes asked in tree order (not key order) across several
    /// table files come back right, each at its place: RocksDB's batched
    /// lookup is told the keys are sorted, so the store sorts them.
    #[test]
    fn hashes_read_in_any_order_across_table_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        for part in 0..3u64 {
            let mut b = store.batch();
            for i in part * 3000..(part + 1) * 3000 {
                b.put_hash(i, &stored(i));
            }
            store.write(b, false).expect("write");
            let Backend::Rocks { db, .. } = &store.backend else { unreachable!() };
            db.flush_cf(store.cf(CF_HASHES)).expect("flush");
        }
        let ask = [8999u64, 17, 4500, 8999, 0, 3000, 2999, 6001, 1];
        let got = store.read_hashes(&ask).expect("read");
        assert_eq!(got, ask.iter().map(|&i| stored(i)).collect::<Vec<_>>());
        let opt = store.read_hashes_opt(&[9000, 5, 12_000, 4]).expect("read");
        assert_eq!(opt, vec![None, Some(stored(5).to_vec()), None, Some(stored(4).to_vec())]);
        assert!(store.read_hashes(&[3, 9000]).is_err(), "a missing hash is an error");
    }

    /// The ordered families are written in key order at `write`, but two
    /// writes of one key in one batch keep their order: an entry staged and
    /// erased in the same group commit ends erased.
    #[test]
    fn ordered_writes_keep_the_order_of_one_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let (doc, hash, subject) = ([9u8; 32], [7u8; 32], [5u8; 32]);
        let mut b = store.batch();
        for (i, idem) in [[3u8; 32], [1u8; 32], [2u8; 32]].iter().enumerate() {
            let p = PrivateEntry {
                idem_id: idem,
                doc_id: &doc,
                hash_id: Some(&hash),
                subject_id: Some(&subject),
                record: b"sealed",
                identity: Some(b"opening"),
                chain: Some(b"{\"prev\":null,\"seq\":0}"),
            };
            b.put_private_entry(10 - i as u64, &p, &[i as u8; 32]);
        }
        b.erase_entry(&doc, 9, Some(&hash), Some(&subject));
        b.erase_identity(8, &subject);
        assert_eq!(b.len(), 3 * 7 + 6 + 2);
        store.write(b, true).expect("write");

        let docs = store.doc_index(&doc).expect("doc index");
        let erased: Vec<(u64, bool)> = docs.iter().map(|e| (e.index, e.erased)).collect();
        assert_eq!(erased, vec![(8, false), (9, true), (10, false)]);
        assert_eq!(store.hash_index(&hash).expect("hash index"), vec![8, 10]);
        assert_eq!(store.subject_index(&subject).expect("subject index"), vec![10]);
        let found = store.idempotency_v2(&[[1u8; 32], [2u8; 32], [3u8; 32], [4u8; 32]]);
        let found: Vec<Option<u64>> =
            found.expect("idem").into_iter().map(|r| r.map(|r| r.index)).collect();
        assert_eq!(found, vec![Some(9), Some(8), Some(10), None]);
        // An erased entry's chain goes with its record; the others' stay.
        assert_eq!(store.private(9, TAG_CHAIN).expect("read"), None);
        assert!(store.private(10, TAG_CHAIN).expect("read").is_some());
    }
}
