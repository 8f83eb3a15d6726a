//! The PostgreSQL store (docs/postgres.md): the families of the RocksDB
//! store as tables with the same keys and values (`migrations/`), one
//! transaction per group commit, and the sequencer lease.
//!
//! The synchronous `postgres` client runs a runtime of its own per call,
//! which may not happen on a tokio worker (the HTTP handlers call the
//! store there). So each connection is owned by a worker thread of a
//! small pool, and callers hand it a closure and wait for the answer on a
//! channel — blocking, like a RocksDB read.
//!
//! Longer than 600 lines: the PostgreSQL backend's statements, connection
//! pool, lease and fencing share one connection discipline, kept together.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postgres::{Client, Statement};

use crate::error::{LedgerError, Result};
use crate::pgstats::SyncWaitStats;

/// The schema migrations, in order; version N is `MIGRATIONS[N - 1]`.
const MIGRATIONS: [&str; 2] = [
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_lease_expiry.sql"),
];

/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// Key of the transaction-scoped advisory lock of a migration.
const MIGRATE_LOCK: i64 = 0x6576_6964_6d69_6772;

/// Families whose rows are only ever inserted (leaves, stored hashes):
/// written with a plain `INSERT`, so a second write of a key is an error,
/// not an overwrite (and the schema's triggers refuse updates).
const APPEND_ONLY: [&str; 2] = ["leaves", "hashes"];

/// Connections of a read-write store (the sequencer, appenders' lookups,
/// the HTTP readers).
const POOL: usize = 6;
/// Rows per page when a whole family is walked (audit, rotation).
const PAGE: i64 = 10_000;
/// The default commit deadline ([`PgKv::set_commit_timeout`]).
pub const DEFAULT_COMMIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Key in `el_meta` of the rollback marker: the newest checkpoint any
/// node handed out, size(8) || root(32) (docs/postgres.md, "Rollback
/// and fork detection"). Standby nodes read it while they wait for the
/// lease ([`crate::pglease::Lease::acquire`]); the store writes it ([`crate::store`]).
pub const HANDED_OUT_KEY: &[u8] = b"handed-out";

/// A connection of the pool. Every statement the store runs is a lookup
/// or a range of a primary key, so sequential scans are off: a log's
/// tables grow faster than their statistics, and with statistics of a
/// near-empty table the planner joined the looked-up keys against a scan
/// of the whole table (8 ms per idempotency lookup at 200k rows, growing
/// with the log; with index lookups it stays flat).
///
/// The built-in functions the store calls are schema-qualified
/// (`pg_catalog.unnest`, …): a role with CREATE on a schema in the search
/// path cannot shadow them with a better-matching overload.
///
/// A writer's sessions carry its lease epoch in `application_name`
/// ([`session_name`]): a node taking over an expired
/// lease ends them, so a stopped sequencer's open transaction cannot
/// hold the lease row against it.
fn connect(url: &str, warnings: &Arc<AtomicU64>, epoch: Option<i64>) -> Result<Client> {
    let mut client = connect_plain(url, Some(warnings.clone()))?;
    client
        .batch_execute("SET enable_seqscan = off; SET plan_cache_mode = force_custom_plan")
        .map_err(db_err)?;
    if let Some(e) = epoch {
        let name = session_name(e);
        client.batch_execute(&format!("SET application_name = '{name}'")).map_err(db_err)?;
    }
    Ok(client)
}

/// The `application_name` of every session of the sequencer of `epoch`:
/// a node taking over an expired lease ([`crate::pglease`]) ends them
/// all, so that a stopped sequencer's open transaction (which holds the
/// lease row FOR KEY SHARE) does not hold off the take-over.
pub fn session_name(epoch: i64) -> String {
    format!("evidence-ledger epoch {epoch}")
}

/// A connection with timeouts and TCP keepalives (unless the URL sets
/// them): a half-open session to a dead server is noticed in seconds, not
/// after the kernel's two hours, so a lost lease is noticed too.
///
/// `warnings` counts the WARNING notices the server sends on it: a
/// `COMMIT` whose wait for the synchronous standby was cancelled
/// (`pg_cancel_backend`, our commit deadline)
/// returns success with such a warning, and is then *not* replicated.
/// The severity field is the unlocalised `V` field, so this holds
/// whatever the server's `lc_messages`; any warning during a synced
/// commit counts as an unconfirmed commit, never as a confirmed one.
pub(crate) fn connect_plain(url: &str, warnings: Option<Arc<AtomicU64>>) -> Result<Client> {
    let (mut config, tls) = crate::pgtls::parse(url)?;
    if let Some(count) = warnings {
        config.notice_callback(move |n| {
            if n.parsed_severity() == Some(postgres::error::Severity::Warning) {
                count.fetch_add(1, Ordering::SeqCst);
                tracing::warn!("database warning: {}", n.message());
            } else {
                tracing::info!("database notice: {}", n.message());
            }
        });
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    if config.get_tcp_user_timeout().is_none() {
        config.tcp_user_timeout(Duration::from_secs(15));
    }
    config.keepalives(true);
    if config.get_keepalives_idle() == Duration::from_secs(2 * 60 * 60) {
        config.keepalives_idle(Duration::from_secs(5));
    }
    if config.get_keepalives_interval().is_none() {
        config.keepalives_interval(Duration::from_secs(2));
    }
    if config.get_keepalives_retries().is_none() {
        config.keepalives_retries(3);
    }
    tls.connect(&config).map_err(db_err)
}

pub(crate) fn db_err(e: postgres::Error) -> LedgerError {
    // The server's message, not just "db error".
    match e.as_db_error() {
        Some(d) => LedgerError::Database(format!("{}: {}", d.code().code(), d.message())),
        None => {
            // With its causes: "error performing TLS handshake" alone
            // does not say that the certificate was refused.
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                text.push_str(&format!(": {c}"));
                cause = c.source();
            }
            LedgerError::Database(text)
        }
    }
}

/// One staged write: `value` `None` deletes. `fresh`: the key is new to
/// the database (an entry's rows under its new index, its new event id):
/// a plain `INSERT`, without `ON CONFLICT`'s second index search per row;
/// if the key were there after all, the write fails and nothing of it is
/// written or acknowledged, as for a leaf.
pub(crate) struct Op {
    pub cf: &'static str,
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
    pub fresh: bool,
}

type Job = Box<dyn FnOnce(&mut Conn) + Send>;

/// A worker's connection and its prepared statements.
pub(crate) struct Conn {
    url: String,
    client: Option<Client>,
    stmts: HashMap<String, Statement>,
    /// WARNING notices received on this worker's connections.
    warnings: Arc<AtomicU64>,
    /// The `synchronous_commit` level of a synced write: `on`, or the
    /// session's `remote_apply` when the role or database asks for more.
    sync_level: &'static str,
    /// A read-only view's one connection, inside its snapshot: never
    /// reconnected (a new session would read another instant).
    snapshot: bool,
    /// How this connection's cancel requests reach the server.
    tls: crate::pgtls::Tls,
    /// The writer's lease epoch, named in the session ([`connect`]).
    epoch: Option<i64>,
}

impl Conn {
    fn client(&mut self) -> Result<&mut Client> {
        if self.client.as_ref().is_some_and(Client::is_closed) {
            self.client = None;
        }
        if self.client.is_none() && self.snapshot {
            return Err(LedgerError::Database(
                "the read-only view's connection ended, and its snapshot with it; run the \
                 command again"
                    .into(),
            ));
        }
        if self.client.is_none() {
            self.stmts.clear();
            let mut client = connect(&self.url, &self.warnings, self.epoch)?;
            self.sync_level = sync_level(&mut client)?;
            self.client = Some(client);
        }
        self.client.as_mut().ok_or_else(|| LedgerError::Database("no connection".into()))
    }

    /// The client and a prepared statement of `sql` (cached per connection).
    fn prepared(&mut self, sql: &str) -> Result<(&mut Client, Statement)> {
        self.client()?;
        let Conn { client, stmts, .. } = self;
        let client =
            client.as_mut().ok_or_else(|| LedgerError::Database("no connection".into()))?;
        if let Some(s) = stmts.get(sql) {
            return Ok((client, s.clone()));
        }
        let s = client.prepare(sql).map_err(db_err)?;
        stmts.insert(sql.to_string(), s.clone());
        Ok((client, s))
    }

    /// A broken connection is dropped, so the next job reconnects.
    fn after(&mut self, r: &Result<impl Sized>) {
        if r.is_err() && self.client.as_ref().is_some_and(Client::is_closed) {
            self.client = None;
        }
    }
}

/// The store's view of one PostgreSQL database.
pub(crate) struct PgKv {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    /// The sequencer lease this process holds; every write checks it.
    /// `None`: a read-only view, which refuses every write.
    epoch: Option<i64>,
    /// Set when a write found another epoch: this process was deposed.
    fenced: Arc<AtomicBool>,
    /// The commit deadline, in milliseconds (`statement_timeout` of every
    /// statement of a write transaction, and [`Deadline`] of its `COMMIT`).
    commit_timeout_ms: Arc<AtomicU64>,
    /// Synchronous (or quorum) standbys that must have flushed a synced
    /// commit before it counts as done ([`PgKv::require_sync_standbys`]);
    /// 0: the `COMMIT`'s own answer is trusted.
    sync_standbys: Arc<AtomicU64>,
    /// Waits and unknown outcomes of synced commits (metrics).
    sync_stats: Arc<SyncWaitStats>,
}

fn table(cf: &str) -> String {
    format!("el_{cf}")
}

/// The first key after every key starting with `prefix` (`None`: no
/// bound, the prefix is all 0xFF).
pub(crate) fn successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut s = prefix.to_vec();
    while let Some(last) = s.pop() {
        if last < 0xFF {
            s.push(last + 1);
            return Some(s);
        }
    }
    None
}

impl PgKv {
    /// Connects a pool to `url` and checks the schema version. `epoch`:
    /// the lease this process holds, for a writer (`None` reads only).
    ///
    /// A read-only view (`None`) is one connection in one `REPEATABLE
    /// READ READ ONLY` transaction, held for the view's life: every read
    /// of it sees the database at one instant, so `status` pairs a tree
    /// size with that size's checkpoint, `audit` checks one state, and
    /// `tiles publish` uploads a checkpoint with its own tiles, however
    /// fast the sequencer appends meanwhile. (Views serve one-shot
    /// commands: a long one holds back `VACUUM` while it reads.)
    pub fn open(url: &str, epoch: Option<i64>) -> Result<PgKv> {
        let snapshot = epoch.is_none();
        let pool = if snapshot { 1 } else { POOL };
        let (_, tls) = crate::pgtls::parse(url)?;
        let warnings: Vec<Arc<AtomicU64>> = (0..pool).map(|_| Arc::default()).collect();
        let mut first = connect(url, &warnings[0], epoch)?;
        let first_level = sync_level(&mut first)?;
        let version = schema_version(&mut first)?;
        if version != SCHEMA_VERSION {
            return Err(LedgerError::Database(format!(
                "the database is at schema version {version}, this build needs \
                 {SCHEMA_VERSION}: run `evidence-ledger migrate --store URL`"
            )));
        }
        if snapshot {
            first
                .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .map_err(db_err)?;
        }
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let mut first = Some(first);
        for (i, warnings) in warnings.into_iter().enumerate() {
            let rx = rx.clone();
            let mut conn = Conn {
                url: url.to_string(),
                client: first.take(),
                stmts: HashMap::new(),
                warnings,
                sync_level: first_level,
                snapshot,
                tls: tls.clone(),
                epoch,
            };
            std::thread::Builder::new().name(format!("pg-{i}")).spawn(move || loop {
                let job = match rx.lock() {
                    Ok(r) => r.recv(),
                    Err(_) => return,
                };
                match job {
                    Ok(job) => job(&mut conn),
                    Err(_) => return,
                }
            })?;
        }
        Ok(PgKv {
            jobs: Mutex::new(Some(tx)),
            epoch,
            fenced: Arc::new(AtomicBool::new(false)),
            commit_timeout_ms: Arc::new(AtomicU64::new(DEFAULT_COMMIT_TIMEOUT.as_millis() as u64)),
            sync_standbys: Arc::default(),
            sync_stats: Arc::default(),
        })
    }

    /// The synced commits' waits and unknown outcomes so far.
    pub fn sync_stats(&self) -> Arc<SyncWaitStats> {
        self.sync_stats.clone()
    }

    /// Sets the commit deadline: a write transaction whose statement, or
    /// whose `COMMIT`'s wait for the synchronous standby, takes longer is
    /// cancelled (`statement_timeout`; a cancel request for the `COMMIT`,
    /// see [`Deadline`]), and the write fails
    /// (a cancelled wait is an unconfirmed commit, see [`PgKv::write`]).
    pub fn set_commit_timeout(&self, timeout: Duration) {
        let ms = timeout.as_millis().clamp(1, i32::MAX as u128) as u64;
        self.commit_timeout_ms.store(ms, Ordering::Relaxed);
    }

    /// Requires every synced write to be flushed by at least `n`
    /// synchronous or quorum standbys, as the primary's
    /// `pg_stat_replication` shows them, before it succeeds (see
    /// [`standbys_flushed`]). An emptied `synchronous_standby_names` (or
    /// Patroni's non-strict mode) releases commits without a warning;
    /// this check is what notices. Refuses a role that cannot read the
    /// standbys' positions (superuser or `pg_read_all_stats` needed):
    /// it would see none, and every write would fail.
    pub fn require_sync_standbys(&self, n: u32) -> Result<()> {
        if n > 0 {
            let sees: bool = self.run(|c| {
                let sql = "SELECT pg_catalog.pg_has_role('pg_read_all_stats', 'MEMBER') \
                           OR coalesce((SELECT rolsuper FROM pg_catalog.pg_roles \
                           WHERE rolname = current_user), false)";
                Ok(c.client()?.query_one(sql, &[]).map_err(db_err)?.get(0))
            })?;
            if !sees {
                return Err(LedgerError::Database(
                    "--pg-require-sync-standby needs the standbys' positions in \
                     pg_stat_replication: grant the ledger's role pg_read_all_stats (or \
                     pg_monitor)"
                        .into(),
                ));
            }
        }
        self.sync_standbys.store(u64::from(n), Ordering::Relaxed);
        Ok(())
    }

    fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let (tx, rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |c: &mut Conn| {
            let r = f(c);
            c.after(&r);
            let _ = tx.send(r);
        });
        let sent = match self.jobs.lock() {
            Ok(j) => j.as_ref().map(|s| s.send(job).is_ok()).unwrap_or(false),
            Err(_) => false,
        };
        if !sent {
            return Err(LedgerError::Unavailable("the database pool is closed".into()));
        }
        rx.recv().map_err(|_| LedgerError::Database("a database worker died".into()))?
    }

    /// The value of `key` in family `cf`.
    pub fn get(&self, cf: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let key = key.to_vec();
        self.run(move |c| {
            let sql = format!("SELECT v FROM {} WHERE k = $1", table(cf));
            let (client, st) = c.prepared(&sql)?;
            let row = client.query_opt(&st, &[&key]).map_err(db_err)?;
            Ok(row.map(|r| r.get::<_, Vec<u8>>(0)))
        })
    }

    /// The values of `keys` in family `cf`, in the order asked.
    pub fn multi_get(&self, cf: &'static str, keys: Vec<Vec<u8>>) -> Result<Vec<Option<Vec<u8>>>> {
        self.run(move |c| {
            // A join with the unnested keys (index lookups, see `connect`).
            let sql = format!(
                "SELECT t.k, t.v FROM pg_catalog.unnest($1::bytea[]) AS q(k) JOIN {} t ON t.k = q.k",
                table(cf)
            );
            let (client, st) = c.prepared(&sql)?;
            let rows = client.query(&st, &[&keys]).map_err(db_err)?;
            let found: HashMap<Vec<u8>, Vec<u8>> =
                rows.into_iter().map(|r| (r.get(0), r.get(1))).collect();
            // A key asked twice is answered twice (a group may ask for
            // one event id from two requests).
            Ok(keys.iter().map(|k| found.get(k).cloned()).collect())
        })
    }

    /// Rows of `cf` with `from <= k < to` (`to` `None`: no upper bound),
    /// ascending or (`rev`) descending, at most `limit`.
    pub fn range(
        &self,
        cf: &'static str,
        from: Vec<u8>,
        to: Option<Vec<u8>>,
        rev: bool,
        limit: Option<i64>,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.run(move |c| {
            let order = if rev { "DESC" } else { "ASC" };
            let limit = limit.unwrap_or(i64::MAX);
            let rows = match &to {
                Some(to) => {
                    let sql = format!(
                        "SELECT k, v FROM {} WHERE k >= $1 AND k < $2 ORDER BY k {order} LIMIT $3",
                        table(cf)
                    );
                    let (client, st) = c.prepared(&sql)?;
                    client.query(&st, &[&from, to, &limit]).map_err(db_err)?
                }
                None => {
                    let sql = format!(
                        "SELECT k, v FROM {} WHERE k >= $1 ORDER BY k {order} LIMIT $2",
                        table(cf)
                    );
                    let (client, st) = c.prepared(&sql)?;
                    client.query(&st, &[&from, &limit]).map_err(db_err)?
                }
            };
            Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    /// Rows whose key starts with `prefix`, in key order.
    pub fn prefix(&self, cf: &'static str, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut rows = self.range(cf, prefix.to_vec(), successor(prefix), false, None)?;
        rows.retain(|(k, _)| k.starts_with(prefix));
        Ok(rows)
    }

    /// Up to `limit` rows starting with `prefix` and before `before`,
    /// greatest key first.
    pub fn prefix_rev(
        &self,
        cf: &'static str,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let to = match (before, successor(prefix)) {
            (Some(b), Some(s)) => Some(if b < &s[..] { b.to_vec() } else { s }),
            (Some(b), None) => Some(b.to_vec()),
            (None, s) => s,
        };
        let mut rows = self.range(cf, prefix.to_vec(), to, true, Some(limit as i64))?;
        rows.retain(|(k, _)| k.starts_with(prefix));
        Ok(rows)
    }

    /// Every row of `cf`, in key order, read a page at a time.
    pub fn scan(&self, cf: &'static str) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + '_ {
        let mut next: Option<Vec<u8>> = Some(Vec::new());
        let mut page: std::vec::IntoIter<(Vec<u8>, Vec<u8>)> = Vec::new().into_iter();
        std::iter::from_fn(move || loop {
            if let Some(row) = page.next() {
                return Some(Ok(row));
            }
            let from = next.take()?;
            match self.range(cf, from, None, false, Some(PAGE)) {
                Ok(rows) => {
                    if rows.len() as i64 == PAGE {
                        // The next page starts just after the last key.
                        next = rows.last().map(|(k, _)| [&k[..], &[0u8]].concat());
                    }
                    page = rows.into_iter();
                }
                Err(e) => return Some(Err(e)),
            }
        })
    }

    /// Applies `ops` in one transaction (after the lease check, for a
    /// writer); with `sync` false the commit does not wait for the WAL
    /// flush (`synchronous_commit = off`: ordered, may be lost in a crash).
    ///
    /// A synced write succeeds only if its `COMMIT` returned without a
    /// warning: PostgreSQL answers a cancelled wait for the synchronous
    /// standby with success and the warning "canceling wait for
    /// synchronous replication" — committed on the primary, perhaps not
    /// on the standby. Such a commit, like one whose answer was lost, is
    /// [`LedgerError::Unavailable`] with an unknown outcome: the caller
    /// acknowledges nothing of it, and serves it only once a later synced
    /// write confirmed it (the sequencer's `confirm`).
    pub fn write(&self, ops: Vec<Op>, sync: bool) -> Result<()> {
        let epoch = self.writer_epoch()?;
        let fenced = self.fenced.clone();
        let timeout_ms = self.commit_timeout_ms.load(Ordering::Relaxed);
        let standbys = self.sync_standbys.load(Ordering::Relaxed);
        let stats = self.sync_stats.clone();
        self.run(move |c| {
            // Last write of a key wins, as in a RocksDB batch; after that
            // the writes of different keys commute.
            // A key's last write also says whether it is fresh.
            type Rows = BTreeMap<Vec<u8>, (Option<Vec<u8>>, bool)>;
            let mut by_cf: BTreeMap<&'static str, Rows> = BTreeMap::new();
            for op in ops {
                by_cf.entry(op.cf).or_default().insert(op.key, (op.value, op.fresh));
            }
            // All of the group's rows in one statement (one round trip;
            // data-modifying CTEs, one per table and kind), its arguments
            // two arrays per insert, one per delete.
            let mut parts = Vec::new();
            let mut args: Vec<Vec<&[u8]>> = Vec::new();
            for (cf, rows) in &by_cf {
                let t = table(cf);
                let deleted: Vec<&[u8]> =
                    rows.iter().filter(|(_, v)| v.0.is_none()).map(|(k, _)| &k[..]).collect();
                if !deleted.is_empty() {
                    args.push(deleted);
                    parts.push(format!("DELETE FROM {t} WHERE k = ANY(${}::bytea[])", args.len()));
                }
                // Leaves and stored hashes, and fresh keys: a second write
                // of a key is an error, never an overwrite. The others
                // overwrite (last write wins, as in RocksDB).
                for plain in [true, false] {
                    let (keys, values): (Vec<&[u8]>, Vec<&[u8]>) = rows
                        .iter()
                        .filter(|(_, (_, fresh))| (*fresh || APPEND_ONLY.contains(cf)) == plain)
                        .filter_map(|(k, (v, _))| v.as_ref().map(|v| (&k[..], &v[..])))
                        .unzip();
                    if keys.is_empty() {
                        continue;
                    }
                    args.push(keys);
                    args.push(values);
                    let (a, b) = (args.len() - 1, args.len());
                    let insert = format!(
                        "INSERT INTO {t} (k, v) SELECT * FROM ROWS FROM \
                         (pg_catalog.unnest(${a}::bytea[]), pg_catalog.unnest(${b}::bytea[]))"
                    );
                    parts.push(if plain {
                        insert
                    } else {
                        format!("{insert} ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v")
                    });
                }
            }
            let statement = (!parts.is_empty()).then(|| {
                let ctes: Vec<String> =
                    parts.iter().enumerate().map(|(i, p)| format!("w{i} AS ({p})")).collect();
                format!("WITH {} SELECT 1", ctes.join(", "))
            });
            let statement = match &statement {
                Some(sql) => Some(c.prepared(sql)?.1),
                None => None,
            };
            let level = c.sync_level;
            let warnings = c.warnings.clone();
            let tls = c.tls.clone();
            let client = c.client()?;
            let cancel = client.cancel_token();
            let mut tx = client.transaction().map_err(db_err)?;
            // A synced write waits for the WAL flush (and the synchronous
            // standbys) whatever the role's or database's default says;
            // and no longer than the commit deadline. In the same round
            // trip, the lease check ([`FENCE`]) before any row is written.
            let mode = if sync { level } else { "off" };
            let fence = tx
                .simple_query(&format!(
                    "SET LOCAL synchronous_commit = {mode}; \
                     SET LOCAL statement_timeout = {timeout_ms}; {FENCE}"
                ))
                .map_err(db_err)?;
            check_fence_rows(&fence, epoch, &fenced)?;
            if let Some(st) = statement {
                let params: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    args.iter().map(|a| a as &(dyn postgres::types::ToSql + Sync)).collect();
                tx.execute(&st, &params).map_err(db_err)?;
            }
            let before = warnings.load(Ordering::SeqCst);
            // Only a synced commit waits for the standby.
            let deadline =
                sync.then(|| Deadline::arm(cancel, tls, Duration::from_millis(timeout_ms)));
            let waited = std::time::Instant::now();
            let committed = tx.commit().map_err(|e| unknown_outcome(db_err(e)));
            if let Some(d) = deadline {
                d.disarm();
            }
            let confirmed = committed.and_then(|()| {
                if sync && warnings.load(Ordering::SeqCst) != before {
                    return Err(LedgerError::Unavailable(
                        "the commit was not confirmed by the synchronous standby (its wait was \
                         cancelled: the commit deadline or pg_cancel_backend); \
                         nothing of it is acknowledged until a later synced write confirms it"
                            .into(),
                    ));
                }
                if sync && standbys > 0 {
                    standbys_flushed(c.client()?, standbys, Duration::from_millis(timeout_ms))?;
                }
                Ok(())
            });
            if sync {
                stats.observe(waited.elapsed());
                if confirmed.is_err() {
                    stats.unknown_outcome();
                }
            }
            confirmed
        })
    }

    /// Deletes the rows of `cf` with `from <= k < to`.
    pub fn delete_range(&self, cf: &'static str, from: Vec<u8>, to: Vec<u8>) -> Result<()> {
        let epoch = self.writer_epoch()?;
        let fenced = self.fenced.clone();
        let timeout_ms = self.commit_timeout_ms.load(Ordering::Relaxed);
        self.run(move |c| {
            let sql = format!("DELETE FROM {} WHERE k >= $1 AND k < $2", table(cf));
            let st = c.prepared(&sql)?.1;
            let fence = c.prepared(FENCE)?.1;
            let client = c.client()?;
            let mut tx = client.transaction().map_err(db_err)?;
            tx.batch_execute(&format!("SET LOCAL statement_timeout = {timeout_ms}"))
                .map_err(db_err)?;
            check_fence(&mut tx, &fence, epoch, &fenced)?;
            tx.execute(&st, &[&from, &to]).map_err(db_err)?;
            tx.commit().map_err(|e| unknown_outcome(db_err(e)))
        })
    }

    /// The lease a write is made under; a read-only view has none.
    fn writer_epoch(&self) -> Result<i64> {
        self.epoch.ok_or_else(|| {
            LedgerError::InvalidRequest(
                "a read-only view of a PostgreSQL store takes no writes (they need the \
                 sequencer lease)"
                    .into(),
            )
        })
    }

    /// Whether a write found that another process took the lease.
    pub fn fenced(&self) -> bool {
        self.fenced.load(Ordering::Relaxed)
    }

    /// After an erasure: `VACUUM` of the families an erasure deletes
    /// from, so that the deleted rows' space is reclaimed and reused
    /// (docs/postgres.md says what this does not reach: WAL, replicas).
    pub fn vacuum(&self, cfs: &[&'static str]) -> Result<()> {
        let list = cfs.iter().map(|cf| table(cf)).collect::<Vec<_>>().join(", ");
        self.run(move |c| {
            // VACUUM runs outside a transaction block.
            c.client()?.batch_execute(&format!("VACUUM {list}")).map_err(db_err)
        })
    }
}

/// The commit deadline of one `COMMIT`: `statement_timeout` does not end
/// a wait for the synchronous standby (PostgreSQL 15 checked: it waits on),
/// so when the deadline passes the server gets a cancel request. The server
/// then ends the wait with its warning, and the write fails as unconfirmed
/// ([`PgKv::write`]). A cancel that arrives just after the commit returned
/// may cancel the connection's next statement: that one fails too, and
/// nothing is acknowledged from it either.
///
/// One long-lived watcher thread ([`watcher`]) serves every deadline of
/// the process: arming one is a message to it, not a thread of its own
/// per commit.
struct Deadline {
    done: Arc<AtomicBool>,
}

/// A deadline handed to the watcher: cancel `token` at `at` unless `done`.
struct Watch {
    at: std::time::Instant,
    after: Duration,
    done: Arc<AtomicBool>,
    token: postgres::CancelToken,
    tls: crate::pgtls::Tls,
}

/// The deadline watcher's queue; the thread starts with the first deadline.
fn watcher() -> Option<mpsc::Sender<Watch>> {
    static WATCHER: std::sync::OnceLock<Option<Mutex<mpsc::Sender<Watch>>>> =
        std::sync::OnceLock::new();
    let cell = WATCHER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Watch>();
        let spawned =
            std::thread::Builder::new().name("pg-deadline".into()).spawn(move || watch(rx));
        match spawned {
            Ok(_) => Some(Mutex::new(tx)),
            Err(e) => {
                // Without it a commit still has tcp_user_timeout.
                tracing::error!("no thread for the commit deadlines: {e}");
                None
            }
        }
    });
    cell.as_ref().and_then(|m| m.lock().ok().map(|s| s.clone()))
}

/// The watcher: holds the armed deadlines, and cancels each one's
/// statement when its time comes unless it was disarmed before.
fn watch(rx: mpsc::Receiver<Watch>) {
    let mut armed: Vec<Watch> = Vec::new();
    loop {
        armed.retain(|w| !w.done.load(Ordering::SeqCst));
        let now = std::time::Instant::now();
        let (due, waiting): (Vec<Watch>, Vec<Watch>) = armed.drain(..).partition(|w| w.at <= now);
        armed = waiting;
        for w in due {
            if w.done.load(Ordering::SeqCst) {
                continue;
            }
            tracing::warn!("commit deadline ({:?}) passed: cancelling the commit's wait", w.after);
            // The cancel request is a connection of its own, which a hung
            // server may hold for its connect timeout: on a thread of its
            // own (rare: only a deadline that passed), so that the other
            // deadlines are kept meanwhile.
            let cancel = move || {
                if let Err(e) = w.tls.cancel(&w.token) {
                    tracing::error!("cancelling a commit past its deadline: {e}");
                }
            };
            if let Err(e) = std::thread::Builder::new().name("pg-cancel".into()).spawn(cancel) {
                tracing::error!("no thread to cancel a commit past its deadline: {e}");
            }
        }
        let next = armed.iter().map(|w| w.at).min();
        let received = match next {
            Some(at) => rx.recv_timeout(at.saturating_duration_since(std::time::Instant::now())),
            None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        };
        match received {
            Ok(w) => armed.push(w),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

impl Deadline {
    fn arm(token: postgres::CancelToken, tls: crate::pgtls::Tls, after: Duration) -> Deadline {
        let done = Arc::new(AtomicBool::new(false));
        let at = std::time::Instant::now() + after;
        let watch = Watch { at, after, done: done.clone(), token, tls };
        if watcher().map(|w| w.send(watch).is_ok()) != Some(true) {
            tracing::error!("the commit deadline watcher is gone: this commit has none");
        }
        Deadline { done }
    }

    fn disarm(self) {
        self.done.store(true, Ordering::SeqCst);
    }
}

/// After a synced `COMMIT` returned without a warning, with
/// [`PgKv::require_sync_standbys`]: waits (at most `within`, the commit
/// deadline) until at least `need` standbys whose `sync_state` is `sync`
/// or `quorum` have flushed the primary's WAL up to its flush position
/// after the commit (which lies at or past the commit record: the commit
/// was flushed locally before it returned). With synchronous replication
/// working this holds at once — a standby's flush position is updated
/// before the commits waiting for it are released. When it does not hold
/// in time, the commit is one of unknown outcome: nothing of it is
/// acknowledged until a later synced write passes this check
/// (the sequencer's `confirm`).
fn standbys_flushed(client: &mut Client, need: u64, within: Duration) -> Result<()> {
    let until = std::time::Instant::now() + within;
    let lsn: String = client
        .query_one("SELECT pg_catalog.pg_current_wal_flush_lsn()::text", &[])
        .map_err(|e| unknown_outcome(db_err(e)))?
        .get(0);
    let sql = "SELECT count(*) FROM pg_catalog.pg_stat_replication \
               WHERE sync_state IN ('sync', 'quorum') AND flush_lsn >= $1::text::pg_lsn";
    let mut pause = Duration::from_millis(1);
    loop {
        let have: i64 =
            client.query_one(sql, &[&lsn]).map_err(|e| unknown_outcome(db_err(e)))?.get(0);
        if have >= need as i64 {
            return Ok(());
        }
        if std::time::Instant::now() >= until {
            return Err(LedgerError::Unavailable(format!(
                "the commit is not confirmed: {have} synchronous standby(s) flushed WAL {lsn}, \
                 --pg-require-sync-standby asks for {need} (is synchronous_standby_names \
                 empty, or the standby down?); nothing of it is acknowledged until a later \
                 synced write is confirmed"
            )));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// A `COMMIT` that failed: its answer may have been lost after the server
/// committed (connection lost, backend terminated during the wait for the
/// standby). Unavailable (503 + Retry-After), never acknowledged.
fn unknown_outcome(e: LedgerError) -> LedgerError {
    LedgerError::Unavailable(format!("commit outcome unknown ({e}); nothing acknowledged"))
}

/// The `synchronous_commit` level a synced write forces: `remote_apply`
/// when the session's default already asks for it (a standby that also
/// shows the write), else `on`.
fn sync_level(client: &mut Client) -> Result<&'static str> {
    let row = client
        .query_one("SELECT pg_catalog.current_setting('synchronous_commit')", &[])
        .map_err(db_err)?;
    Ok(if row.get::<_, String>(0) == "remote_apply" { "remote_apply" } else { "on" })
}

/// The lease row, FOR KEY SHARE: a successor's take-over (FOR UPDATE,
/// then the epoch increment) waits for the transaction that read it; the
/// holder's renewal (an UPDATE of `expires`, FOR NO KEY UPDATE) does not.
const FENCE: &str = "SELECT epoch FROM el_lease WHERE id = 1 FOR KEY SHARE";

/// The first statement of every write transaction: the lease row ([`FENCE`])
/// must still carry this process's epoch.
fn check_fence(
    tx: &mut postgres::Transaction<'_>,
    fence: &Statement,
    mine: i64,
    fenced: &AtomicBool,
) -> Result<()> {
    let now: i64 = tx.query_one(fence, &[]).map_err(db_err)?.get(0);
    same_epoch(now, mine, fenced)
}

/// Fails (and marks this process fenced) unless the lease row's epoch
/// `now` is this process's own.
fn same_epoch(now: i64, mine: i64, fenced: &AtomicBool) -> Result<()> {
    if now != mine {
        fenced.store(true, Ordering::Relaxed);
        return Err(LedgerError::Unavailable(format!(
            "this process lost the sequencer lease (epoch {mine}, now {now}): another ledger \
             process took over"
        )));
    }
    Ok(())
}

/// [`check_fence`] on the answer of a simple query that ended with [`FENCE`].
fn check_fence_rows(
    messages: &[postgres::SimpleQueryMessage],
    mine: i64,
    fenced: &AtomicBool,
) -> Result<()> {
    let epoch = messages.iter().find_map(|m| match m {
        postgres::SimpleQueryMessage::Row(r) => r.get(0),
        _ => None,
    });
    let now: i64 = epoch
        .and_then(|e| e.parse().ok())
        .ok_or_else(|| LedgerError::Database("the lease row is missing".into()))?;
    same_epoch(now, mine, fenced)
}

impl Drop for PgKv {
    fn drop(&mut self) {
        // Closing the channel ends the workers after their current job.
        if let Ok(mut j) = self.jobs.lock() {
            j.take();
        }
    }
}

pub(crate) fn schema_version(client: &mut Client) -> Result<i32> {
    let exists: bool = client
        .query_one("SELECT pg_catalog.to_regclass('el_schema') IS NOT NULL", &[])
        .map_err(db_err)?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let row = client.query_one("SELECT coalesce(max(version), 0) FROM el_schema", &[]);
    Ok(row.map_err(db_err)?.get(0))
}

/// Brings the database at `url` to this build's schema version; returns
/// (version before, version after). Safe to run twice or concurrently
/// (a transaction-scoped advisory lock serialises migrations, and each
/// version is applied in its own transaction with its record). Refuses a
/// database newer than this build.
pub fn migrate(url: &str) -> Result<(i32, i32)> {
    let mut client = connect(url, &Arc::default(), None)?;
    let before = schema_version(&mut client)?;
    if before > SCHEMA_VERSION {
        return Err(LedgerError::Database(format!(
            "the database is at schema version {before}, newer than this build's {SCHEMA_VERSION}"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let version = i as i32 + 1;
        let mut tx = client.transaction().map_err(db_err)?;
        tx.execute("SELECT pg_catalog.pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
            .map_err(db_err)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS el_schema (version int PRIMARY KEY, \
             applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .map_err(db_err)?;
        let done = tx
            .query_opt("SELECT 1 FROM el_schema WHERE version = $1", &[&version])
            .map_err(db_err)?
            .is_some();
        if done {
            continue;
        }
        tx.batch_execute(sql).map_err(db_err)?;
        tx.execute("INSERT INTO el_schema (version) VALUES ($1)", &[&version]).map_err(db_err)?;
        tx.commit().map_err(db_err)?;
    }
    Ok((before, schema_version(&mut client)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successor_is_the_first_key_after_a_prefix() {
        assert_eq!(successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(successor(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(successor(&[0xFF, 0xFF]), None);
        assert_eq!(successor(b""), None);
    }
}
