//! Backup and restore of a data directory: a consistent logical copy of
//! the store (every family, as of one moment) and the log key, audited
//! before it is called good.
//!
//! Why a logical copy through a read-only instance: a running server holds
//! RocksDB's lock, and RocksDB's checkpoints and BackupEngine need the
//! writer's own handle. A read-only instance may open beside the writer;
//! it reads the MANIFEST and replays the WAL up to the last complete
//! record, so it sees whole group commits only, and with every table file
//! opened at once it is immune to the writer deleting files meanwhile. The
//! copy is then written, flushed and synced into a fresh store.
//!
//! The high-water mark (`DATA/handed-out`, see [`crate::highwater`]) is
//! never part of a backup and never replaced by a restore: that is how a
//! restored store older than what was handed out is recognised.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use verifier::Hash;

use crate::audit::{audit_dir, AuditReport};
use crate::datadir::DB_DIR;
use crate::error::{LedgerError, Result};
use crate::fsutil::{create_dir_all_durable, sync_dir};
use crate::keys::LOG_KEY_FILE;
use crate::logkey::LOG_TOKEN_FILE;
use crate::store::Store;

/// What a backup or restore copied, and the audit of the result.
#[derive(Clone, Debug)]
pub struct CopyReport {
    /// Tree size of the copy.
    pub tree_size: u64,
    /// Its root.
    pub root: Hash,
    /// Records copied (all families).
    pub records: u64,
    /// The audit of the copy (clean, or the copy was refused).
    pub audit: AuditReport,
}

/// Copies the store and key of data directory `data` into the new
/// directory `to`, beside a running server or not, and audits the copy.
/// `aux_checkpoints` as for [`audit_dir`].
pub fn backup(data: &Path, to: &Path, aux_checkpoints: &[&[u8]]) -> Result<CopyReport> {
    refuse_postgres(data)?;
    if to.join(DB_DIR).exists()
        || to.join(LOG_KEY_FILE).exists()
        || to.join(LOG_TOKEN_FILE).exists()
    {
        return Err(LedgerError::AlreadyExists(format!("{} holds a store", to.display())));
    }
    create_dir_all_durable(to)?;
    let records = copy_store(&open_source(&data.join(DB_DIR))?, &to.join(DB_DIR))?;
    copy_key(data, to)?;
    sync_dir(to)?;
    audited(to, records, aux_checkpoints)
}

/// Restores the backup `from` into data directory `data`, whose store must
/// be gone (move a damaged one away first). The log key must be the same
/// if `data` still has one. The high-water mark in `data` is kept: the
/// ledger then refuses to serve a restored store older than what it handed
/// out, unless told `allow_rollback`.
pub fn restore(from: &Path, data: &Path, aux_checkpoints: &[&[u8]]) -> Result<CopyReport> {
    refuse_postgres(data)?;
    let checked = audit_dir(from, aux_checkpoints)?;
    if let Some(f) = checked.findings.first() {
        return Err(LedgerError::Corrupt(format!("the backup fails its audit: {f}")));
    }
    if data.join(DB_DIR).exists() {
        return Err(LedgerError::AlreadyExists(format!(
            "{} exists: move the store away before restoring over it",
            data.join(DB_DIR).display()
        )));
    }
    let key = data.join(log_key_file(from));
    if key.exists() && fs::read(&key)? != fs::read(from.join(log_key_file(from)))? {
        return Err(LedgerError::InvalidRequest(format!(
            "{} is another log's key than the backup's",
            key.display()
        )));
    }
    let source = Store::open_read_only(&from.join(DB_DIR))?;
    // The backup's sealed records open only under the master key they were
    // written with, which backups leave behind: without it in place, the
    // restored store would serve and then fail on its first private read.
    crate::datadir::check_master_key(data, &source).map_err(|e| match e {
        LedgerError::InvalidRequest(m) => LedgerError::InvalidRequest(format!(
            "{m}; nothing was restored (restore --from {} --data {} again once it is)",
            from.display(),
            data.display()
        )),
        other => other,
    })?;
    create_dir_all_durable(data)?;
    let records = copy_store(&source, &data.join(DB_DIR))?;
    if !key.exists() {
        copy_key(from, data)?;
    }
    sync_dir(data)?;
    audited(data, records, aux_checkpoints)
}

/// Backup and restore copy RocksDB stores; a PostgreSQL store is backed
/// up with the database's own tools (docs/postgres.md).
fn refuse_postgres(data: &Path) -> Result<()> {
    if crate::datadir::configured_store(data)?.is_postgres() {
        return Err(LedgerError::InvalidRequest(format!(
            "{} names a PostgreSQL store: back it up with pg_basebackup and WAL archiving, \
             and keep a synchronous standby (docs/postgres.md)",
            data.display()
        )));
    }
    Ok(())
}

/// The source store, retried: a compaction of the writer may delete a
/// file between reading the MANIFEST and opening it.
fn open_source(db: &Path) -> Result<Store> {
    let mut last = None;
    for _ in 0..5 {
        match Store::open_for_backup(db) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Err(last.unwrap_or_else(|| LedgerError::Unavailable("backup source".into())))
}

fn copy_store(source: &Store, to: &Path) -> Result<u64> {
    let target = Store::open(to)?;
    let records = source.copy_into(&target)?;
    drop(target);
    if let Some(parent) = to.parent() {
        sync_dir(parent)?;
    }
    Ok(records)
}

/// The file holding (or, for a key in a PKCS#11 token, naming) the log
/// key: a backup of a token's log carries the token's URI and vkey, never
/// a key; the token is backed up by its own means (docs/architecture.md).
fn log_key_file(dir: &Path) -> &'static str {
    if dir.join(LOG_TOKEN_FILE).exists() {
        LOG_TOKEN_FILE
    } else {
        LOG_KEY_FILE
    }
}

fn copy_key(from: &Path, to: &Path) -> Result<()> {
    let name = log_key_file(from);
    let bytes = fs::read(from.join(name))?;
    let path = to.join(name);
    let mut f = OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(&bytes)?;
    f.sync_all()?;
    Ok(())
}

fn audited(dir: &Path, records: u64, aux_checkpoints: &[&[u8]]) -> Result<CopyReport> {
    let audit = audit_dir(dir, aux_checkpoints)?;
    if let Some(f) = audit.findings.first() {
        return Err(LedgerError::Corrupt(format!(
            "the copy in {} fails its audit: {f}",
            dir.display()
        )));
    }
    Ok(CopyReport { tree_size: audit.tree_size, root: audit.root, records, audit })
}
