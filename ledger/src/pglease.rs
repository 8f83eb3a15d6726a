//! The sequencer lease on PostgreSQL (docs/postgres.md, "One sequencer at
//! a time"): one row, `el_lease`, with the holder, its epoch and an
//! expiry on the database's clock. The holder renews the expiry from a
//! connection of its own; a standby takes over once the expiry passed or
//! the holder's lease session ended, by incrementing the epoch. Every
//! write transaction of the store reads the epoch first
//! ([`crate::pg`]'s fence) and aborts unless it is its own, so a holder
//! that was stopped (SIGSTOP, a hung host) and resumes after a take-over
//! cannot commit: the lease needs progress for liveness, and the epoch
//! alone gives safety.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use postgres::Client;

use crate::error::{LedgerError, Result};
use crate::pg::{
    connect_plain, db_err, schema_version, session_name, HANDED_OUT_KEY, SCHEMA_VERSION,
};

/// The default time a lease lasts without renewal.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(10);

/// How often a standby polls the lease row.
const POLL: Duration = Duration::from_millis(500);

/// Whether the holder's lease session still runs (its pid with the same
/// start time; a pid the server reused is another session).
const HOLDER_ALIVE: &str = "EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a \
     WHERE a.pid = el_lease.backend_pid \
     AND a.backend_start IS NOT DISTINCT FROM el_lease.backend_start)";

/// What a poll of the lease row found.
struct Row {
    epoch: i64,
    holder: String,
    /// Unexpired and its holder's session alive: not free.
    held: bool,
    /// The expiry passed (rather than the session ended).
    expired: bool,
}

fn read_row(client: &mut Client) -> Result<Row> {
    let sql = format!(
        "SELECT epoch, holder, expires > pg_catalog.clock_timestamp(), {HOLDER_ALIVE} \
         FROM el_lease WHERE id = 1"
    );
    let r = client.query_one(&sql, &[]).map_err(db_err)?;
    let (live, alive): (bool, bool) = (r.get(2), r.get(3));
    Ok(Row { epoch: r.get(0), holder: r.get(1), held: live && alive, expired: !live })
}

/// The sequencer lease this process holds: `epoch`, renewed by a thread
/// of its own every quarter of the lease's time. Once a renewal finds
/// another epoch or fails (the database went away, a failover, a
/// take-over after this process was stopped), [`Lease::lost`] says so:
/// the process must stop sequencing (its commits are fenced anyway).
pub struct Lease {
    epoch: i64,
    /// Tells the lease's thread to release the lease; it answers on the
    /// channel it is given.
    stop: Mutex<mpsc::Sender<mpsc::SyncSender<()>>>,
    lost: Arc<AtomicBool>,
}

impl Lease {
    /// Takes the sequencer lease of the database at `url` for `ttl`, with
    /// the next epoch. If another process holds it: with `wait`, waits (a
    /// standby) until its expiry passes or its lease session ends, else
    /// fails after a short grace (a process that just exited).
    ///
    /// `on_poll` is called at every poll while another process holds the
    /// lease, with that holder's name and the database's rollback marker
    /// ([`HANDED_OUT_KEY`], if written): a standby node copies it into its
    /// own handed-out mark, so that it knows what the sequencer handed out
    /// even if the database it later takes over lost it.
    pub fn acquire(
        url: &str,
        holder: &str,
        wait: bool,
        ttl: Duration,
        mut on_poll: impl FnMut(&str, Option<&[u8]>),
    ) -> Result<Lease> {
        let mut client = connect_plain(url, None)?;
        let version = schema_version(&mut client)?;
        if version != SCHEMA_VERSION {
            return Err(LedgerError::Database(format!(
                "the database is at schema version {version}, this build needs \
                 {SCHEMA_VERSION}: run `evidence-ledger migrate --store URL`"
            )));
        }
        let ttl_ms = ttl.as_millis().clamp(100, i32::MAX as u128) as i64;
        let grace = Instant::now() + Duration::from_secs(3);
        let epoch = loop {
            let row = read_row(&mut client)?;
            if !row.held {
                if let Some(epoch) = take_over(&mut client, &row, holder, ttl_ms)? {
                    break epoch;
                }
            }
            if !wait && Instant::now() >= grace {
                return Err(LedgerError::Unavailable(format!(
                    "another ledger process ({}) is the sequencer of this database",
                    row.holder
                )));
            }
            if wait {
                let marker = client
                    .query_opt("SELECT v FROM el_meta WHERE k = $1", &[&HANDED_OUT_KEY])
                    .map_err(db_err)?
                    .map(|r| r.get::<_, Vec<u8>>(0));
                on_poll(&row.holder, marker.as_deref());
            }
            std::thread::sleep(if wait { POLL } else { Duration::from_millis(100) });
        };
        warn_without_standby(&mut client);
        // Renewals need not survive a failover (a lost one only lets a
        // standby take over sooner), and must not wait for the standby.
        client.batch_execute("SET synchronous_commit = local").map_err(db_err)?;
        let (stop, stopped) = mpsc::channel::<mpsc::SyncSender<()>>();
        let lost = Arc::new(AtomicBool::new(false));
        let lose = lost.clone();
        let every = Duration::from_millis(ttl_ms as u64 / 4);
        std::thread::Builder::new()
            .name("pg-lease".into())
            .spawn(move || renew_loop(client, epoch, ttl_ms, every, &stopped, &lose))?;
        Ok(Lease { epoch, stop: Mutex::new(stop), lost })
    }

    /// The epoch this process took.
    pub fn epoch(&self) -> i64 {
        self.epoch
    }

    /// Whether the lease is lost: this process must stop sequencing.
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }
}

/// Takes the lease found free in `seen`: ends the sessions of its
/// previous holder (a stopped process's open transaction would hold the
/// row), then, in one transaction, locks the row FOR UPDATE (waiting for
/// every in-flight write, which holds it FOR KEY SHARE), checks that it
/// is still free and still at the epoch seen, and increments the epoch.
/// After this commits, no write of an earlier epoch can commit. `None`:
/// someone else renewed or took it meanwhile.
fn take_over(client: &mut Client, seen: &Row, holder: &str, ttl_ms: i64) -> Result<Option<i64>> {
    if seen.epoch > 0 {
        let ended: i64 = client
            .query_one(
                "SELECT count(pg_catalog.pg_terminate_backend(pid)) \
                 FROM pg_catalog.pg_stat_activity \
                 WHERE application_name = $1 AND pid <> pg_catalog.pg_backend_pid()",
                &[&session_name(seen.epoch)],
            )
            .map_err(db_err)?
            .get(0);
        if ended > 0 {
            tracing::warn!(
                "taking over the sequencer lease of {} (epoch {}, {}): ended its {ended} \
                 database session(s)",
                seen.holder,
                seen.epoch,
                if seen.expired { "expired" } else { "its lease session ended" }
            );
        }
    }
    let mut tx = client.transaction().map_err(db_err)?;
    // Synced whatever the role's default: a failover must not lose the
    // epoch that fences the predecessor.
    tx.batch_execute("SET LOCAL synchronous_commit = on; SET LOCAL lock_timeout = '10s'")
        .map_err(db_err)?;
    let sql = format!(
        "SELECT epoch = $1 AND (expires <= pg_catalog.clock_timestamp() OR NOT {HOLDER_ALIVE}) \
         FROM el_lease WHERE id = 1 FOR UPDATE"
    );
    let free: bool = match tx.query_one(&sql, &[&seen.epoch]) {
        Ok(r) => r.get(0),
        // In-flight writes still hold the row: poll again.
        Err(e) if e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) => false,
        Err(e) => return Err(db_err(e)),
    };
    if !free {
        return Ok(None);
    }
    let epoch: i64 = tx
        .query_one(
            "UPDATE el_lease SET epoch = epoch + 1, holder = $1, since = now(), \
             expires = pg_catalog.clock_timestamp() + $2 * interval '1 millisecond', \
             backend_pid = pg_catalog.pg_backend_pid(), \
             backend_start = (SELECT backend_start FROM pg_catalog.pg_stat_activity \
                              WHERE pid = pg_catalog.pg_backend_pid()) \
             WHERE id = 1 RETURNING epoch",
            &[&holder, &(ttl_ms as f64)],
        )
        .map_err(db_err)?
        .get(0);
    tx.commit().map_err(db_err)?;
    client
        .batch_execute(&format!("SET application_name = '{}'", session_name(epoch)))
        .map_err(db_err)?;
    Ok(Some(epoch))
}

fn warn_without_standby(client: &mut Client) {
    let standbys =
        client.query_one("SELECT pg_catalog.current_setting('synchronous_standby_names')", &[]);
    if standbys.map(|r| r.get::<_, String>(0).trim().is_empty()).unwrap_or(true) {
        tracing::warn!(
            "the database has no synchronous standby (synchronous_standby_names is empty): an \
             acknowledged event survives the loss of its server only through backups \
             (docs/postgres.md)"
        );
    }
}

/// The holder's thread: renews the expiry every `every` while the row
/// still carries `epoch`; marks the lease lost when it does not (a
/// take-over) or the renewal fails; releases it when told to stop.
fn renew_loop(
    mut client: Client,
    epoch: i64,
    ttl_ms: i64,
    every: Duration,
    stopped: &mpsc::Receiver<mpsc::SyncSender<()>>,
    lost: &AtomicBool,
) {
    let renew = "UPDATE el_lease SET expires = pg_catalog.clock_timestamp() \
                 + $2 * interval '1 millisecond' WHERE id = 1 AND epoch = $1";
    loop {
        match stopped.recv_timeout(every) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Ok(done) => {
                // Free now, not at the expiry.
                let _ = client.execute(
                    "UPDATE el_lease SET expires = '-infinity', backend_pid = NULL \
                     WHERE id = 1 AND epoch = $1",
                    &[&epoch],
                );
                drop(client);
                let _ = done.send(());
                return;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
        let why = match client.execute(renew, &[&epoch, &(ttl_ms as f64)]) {
            Ok(1) => continue,
            Ok(_) => format!("another ledger process took the lease over (after epoch {epoch})"),
            Err(e) => format!("its renewal failed: {}", db_err(e)),
        };
        tracing::error!("this process is no longer the sequencer: {why}; restart it to stand by");
        lost.store(true, Ordering::Relaxed);
        return;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let (done, wait) = mpsc::sync_channel(1);
        let sent = self.stop.lock().map(|s| s.send(done).is_ok()).unwrap_or(false);
        if sent {
            let _ = wait.recv_timeout(Duration::from_secs(2));
        }
    }
}
