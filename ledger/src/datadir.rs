//! The data directory: the log key file, the master key, the store it
//! names (RocksDB in `DIR/db`, or a PostgreSQL URL in `DIR/store`), and
//! the high-water mark of the newest checkpoint handed out.
//!
//! Owns the directory's layout and its creation (`init`), and the checks
//! made when it is opened: which store, and whether that store is behind
//! what was handed out. Calls the store, the key files, the vault (to
//! create the index key) and the tree (the root of the mark's size).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::epochs::{epoch_files, HeldKey, MasterRing};
use crate::error::{LedgerError, Result};
use crate::fsutil::{create_dir_all_durable, sync_dir};
use crate::highwater::{HighWater, Mark, HIGH_WATER_FILE};
use crate::keys::LOG_KEY_FILE;
use crate::logkey::{create_suite_key_file, create_token_record, LOG_TOKEN_FILE};
use crate::pglease::Lease;
use crate::pkcs11::master::LAYOUT_PKCS11_GCM;
use crate::pkcs11::{Pkcs11Uri, TokenMasterKey};
use crate::store::{Store, StoreConfig};
use crate::tree::{self, StoreReader};
use crate::types::Head;
use crate::vault::{
    key_aad, master_key_path, FileMasterKey, MasterKey, Vault, INDEX_KEY_ID, LAYOUT_EPOCH,
};
use std::sync::Arc;
use verifier::suite::Suite;

/// Where `init` puts the log key and the master key: files (the
/// default) or the PKCS#11 tokens these URIs name.
#[derive(Clone, Debug, Default)]
pub struct InitKeys {
    /// `--log-key pkcs11:…`: the log's Ed25519 key in a token.
    pub log_key: Option<Pkcs11Uri>,
    /// `--master-key pkcs11:…`: the master key (AES-256) in a token.
    pub master_key: Option<Pkcs11Uri>,
    /// `--suite`: the log's cryptographic suite, chosen once (the log key's
    /// type records it; its vkey, bound in the store, too).
    pub suite: Suite,
}

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
pub(crate) fn lease_holder() -> String {
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

/// Creates the log key and an empty store in `dir` (the store `config`
/// names); returns the vkey. For PostgreSQL the
/// schema is migrated first, and a database that already holds a log
/// is refused (a second node of that log copies its key files).
pub(crate) fn init(
    dir: &Path,
    origin: &str,
    config: &StoreConfig,
    keys: &InitKeys,
) -> Result<String> {
    if keys.suite == Suite::Sm2Sm3 && keys.log_key.is_some() {
        // Refused before anything is made.
        refuse_sm2_token()?;
    }
    // PostgreSQL: init writes under the sequencer lease, like any writer.
    let mut lease = None;
    let mut config = config.clone();
    if let StoreConfig::Postgres { url, epoch } = &mut config {
        crate::pg::migrate(url)?;
        let l = Lease::acquire(
            url,
            &lease_holder(),
            false,
            crate::pglease::DEFAULT_LEASE_TTL,
            |_, _| {},
        )?;
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
    for p in [key_path.clone(), dir.join(LOG_TOKEN_FILE)] {
        if p.exists() {
            return Err(LedgerError::AlreadyExists(format!("{}", p.display())));
        }
    }
    let vkey = match (&keys.log_key, keys.suite) {
        (None, suite) => create_suite_key_file(&key_path, origin, suite)?.vkey(),
        (Some(uri), Suite::Ed25519Sha256) => create_token_record(dir, origin, uri)?.vkey(),
        (Some(_), Suite::Sm2Sm3) => refuse_sm2_token()?,
    };
    sync_dir(dir)?;
    let master: Box<dyn MasterKey> = match &keys.master_key {
        None => Box::new(FileMasterKey::open_or_create(&master_key_path(dir))?),
        Some(uri) => Box::new(record_token_master(dir, uri)?),
    };
    let store = Store::open_config(&dir.join(DB_DIR), &config)?;
    store.bind_log_vkey(&vkey)?;
    if lease.is_some() || keys.master_key.is_some() {
        // The index key, now: a read-only open never creates it. With a
        // token master key, the store then says from init on that its
        // keys need that token (layout 2), even if the record is lost.
        Vault::open(master, &store, HashSet::new(), keys.suite)?;
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
    Ok(vkey)
}

/// The refusal of an SM2 log key in a token (checked first thing in init).
fn refuse_sm2_token() -> Result<String> {
    Err(LedgerError::InvalidRequest(
        "--suite sm2-sm3 keeps its SM2 log key in DATA/log.key; a PKCS#11 log key \
         (--log-key) is Ed25519 only"
            .into(),
    ))
}

/// Refuses a store behind, or beside, the newest checkpoint this data
/// directory handed out, unless `allow_rollback`; returns the open mark,
/// brought up to the head.
///
/// PostgreSQL: also behind, or beside, the database's rollback marker
/// (the newest checkpoint any node handed out, as far as it was written),
/// and then writes the marker of `head`, synced: the one synced write
/// before serving, which confirms a head that a predecessor's
/// unconfirmed commit may have left (see the sequencer's `confirm`).
pub(crate) fn check_high_water(
    dir: &Path,
    store: &Store,
    head: &Head,
    suite: Suite,
    sync: bool,
    allow_rollback: bool,
) -> Result<HighWater> {
    let (mut hw, mark) = HighWater::open(dir, sync)?;
    let marker = store.handed_out()?;
    let checks = [(mark, format!("{}/{HIGH_WATER_FILE}", dir.display())), (marker, marker_place())];
    for (m, place) in checks {
        let Some(m) = m else { continue };
        let Some(problem) = mark_problem(store, head, suite, &m)? else { continue };
        if !allow_rollback {
            return Err(LedgerError::Rollback(format!(
                "{problem} ({place}): this store was restored from an older backup or lost \
                 writes; serving it would fork the log for every client and witness holding \
                 newer receipts. Serve it only on purpose, with --allow-rollback"
            )));
        }
        tracing::warn!("{problem} ({place}); serving anyway (allow_rollback)");
    }
    let now = Mark { size: head.size, root: head.root };
    if store.is_postgres() {
        store.put_handed_out(&now)?;
    }
    if mark != Some(now) {
        hw.record(now)?;
    }
    Ok(hw)
}

fn marker_place() -> String {
    "the database's rollback marker, el_meta 'handed-out'".into()
}

/// Why `store` at `head` cannot be served after `mark` was handed out.
fn mark_problem(store: &Store, head: &Head, suite: Suite, mark: &Mark) -> Result<Option<String>> {
    Ok(if mark.size > head.size {
        Some(format!(
            "the store holds {} entries, but a checkpoint of size {} was handed out",
            head.size, mark.size
        ))
    } else if tree::root(suite, mark.size, &StoreReader(store))? != mark.root {
        Some(format!(
            "the store's first {} entries are not those of the checkpoint handed out",
            mark.size
        ))
    } else {
        None
    })
}

/// A standby node's copy of the database's rollback marker: while it
/// waits for the lease it records each newer marker in its own
/// handed-out mark, so that a database that later lost what the
/// sequencer handed out (a promoted standby that lacks it, a restored
/// backup) is refused by this node too, not only by the one that handed
/// it out. Failures are logged, not fatal: the copy only adds a check.
pub(crate) struct MarkMirror {
    dir: std::path::PathBuf,
    sync: bool,
    polls: u64,
    last: Option<Vec<u8>>,
}

impl MarkMirror {
    pub(crate) fn new(dir: &Path, sync: bool) -> MarkMirror {
        MarkMirror { dir: dir.to_path_buf(), sync, polls: 0, last: None }
    }

    /// True at the first poll (to log the wait once).
    pub(crate) fn first_poll(&mut self) -> bool {
        self.polls += 1;
        self.polls == 1
    }

    /// Records `marker` in the data directory's mark if it is newer.
    pub(crate) fn observe(&mut self, marker: Option<&[u8]>) {
        let Some(v) = marker else { return };
        if self.last.as_deref() == Some(v) {
            return;
        }
        match self.copy(v) {
            Ok(()) => self.last = Some(v.to_vec()),
            Err(e) => tracing::error!("copying the database's rollback marker: {e}"),
        }
    }

    fn copy(&self, v: &[u8]) -> Result<()> {
        let marker = crate::store::decode_mark(v)?;
        let (mut hw, mine) = HighWater::open(&self.dir, self.sync)?;
        match mine {
            Some(m) if m.size > marker.size => Ok(()),
            Some(m) if m.size == marker.size && m.root != marker.root => {
                Err(LedgerError::Rollback(format!(
                    "the database's marker names another root at size {} than this node's \
                     handed-out mark: a fork; the check at take-over will refuse it",
                    m.size
                )))
            }
            Some(m) if m == marker => Ok(()),
            _ => hw.record(marker),
        }
    }
}

/// The master key of `dir` for writing `store`: the token's when the
/// directory records one (`keys/master.pkcs11`); a file key created only
/// for a store that holds no key wrapped under one yet (a new log, or one
/// older than evidence v2); otherwise [`check_master_key`].
pub(crate) fn master_key_for(dir: &Path, store: &Store) -> Result<Arc<MasterRing>> {
    // A token key's destruction cut short by a crash is finished first.
    crate::epochs::finish_retirements(dir)?;
    match check_master_key(dir, store)? {
        Some(master) => Ok(master),
        None if has_later_epochs(dir)? => Ok(Arc::new(MasterRing::open(dir)?)),
        None if token_master_path(dir).exists() => {
            Ok(Arc::new(MasterRing::single(dir, HeldKey::Token(Box::new(open_token_master(dir)?)))))
        }
        None => {
            let file = FileMasterKey::open_or_create(&master_key_path(dir))?;
            Ok(Arc::new(MasterRing::single(dir, HeldKey::File(file))))
        }
    }
}

/// Whether `dir/keys` holds a master key of an epoch after the first (a
/// rotation made it: [`crate::epochs`]).
fn has_later_epochs(dir: &Path) -> Result<bool> {
    Ok(epoch_files(dir)?.keys().any(|e| *e > 0))
}

/// The master key for reading only: the token's when recorded (`None`
/// when the token is not reachable: no private record is opened), else
/// the file's (`None` when there is no file; an error when it is unsafe).
/// With several epochs, all of them.
pub(crate) fn master_key_read_only(dir: &Path) -> Result<Option<Box<dyn MasterKey>>> {
    if has_later_epochs(dir)? {
        return match MasterRing::open(dir) {
            Ok(r) => Ok(Some(Box::new(r))),
            Err(e @ LedgerError::Corrupt(_)) => Err(e),
            Err(e) => {
                tracing::warn!("no private record can be read: {e}");
                Ok(None)
            }
        };
    }
    if token_master_path(dir).exists() {
        return match open_token_master(dir) {
            Ok(m) => Ok(Some(Box::new(m))),
            Err(e) => {
                tracing::warn!("no private record can be read: {e}");
                Ok(None)
            }
        };
    }
    let path = master_key_path(dir);
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(Box::new(FileMasterKey::open_existing(&path)?)))
}

/// Where a data directory records that its master key is in a token.
pub fn token_master_path(dir: &Path) -> PathBuf {
    dir.join("keys").join(MASTER_TOKEN_FILE)
}

/// File (under `keys/`) naming the token master key: `uri <URI>`.
pub const MASTER_TOKEN_FILE: &str = "master.pkcs11";

fn record_token_master(dir: &Path, uri: &Pkcs11Uri) -> Result<TokenMasterKey> {
    let path = token_master_path(dir);
    if path.exists() || master_key_path(dir).exists() {
        return Err(LedgerError::AlreadyExists(format!(
            "{} already has a master key",
            dir.display()
        )));
    }
    let master = TokenMasterKey::open_or_generate(uri)?;
    let keys = path.parent().unwrap_or(dir);
    create_dir_all_durable(keys)?;
    std::fs::set_permissions(
        keys,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700),
    )?;
    let mut f = std::fs::OpenOptions::new();
    std::os::unix::fs::OpenOptionsExt::mode(f.create_new(true).write(true), 0o600);
    let mut f = f.open(&path)?;
    std::io::Write::write_all(&mut f, format!("uri {}\n", uri.to_stored_string()).as_bytes())?;
    f.sync_all()?;
    sync_dir(keys)?;
    Ok(master)
}

fn open_token_master(dir: &Path) -> Result<TokenMasterKey> {
    let path = token_master_path(dir);
    let text = std::fs::read_to_string(&path)?;
    let uri = text
        .lines()
        .find_map(|l| l.strip_prefix("uri "))
        .ok_or_else(|| LedgerError::Corrupt(format!("{}: no `uri` line", path.display())))?;
    TokenMasterKey::open(&Pkcs11Uri::parse(uri)?).map_err(|e| {
        LedgerError::InvalidRequest(format!(
            "this data directory's master key is in a PKCS#11 token ({}), which is not usable \
             here, so no document key can be unwrapped: {e}",
            path.display()
        ))
    })
}

/// For a store whose keys are wrapped under a master key: that key, which
/// must be in `dir` and open them (a new random key would open nothing,
/// and the store's private records would read as corrupt). `None` for a
/// store with no wrapped key. Creates nothing.
pub(crate) fn check_master_key(dir: &Path, store: &Store) -> Result<Option<Arc<MasterRing>>> {
    let path = master_key_path(dir);
    let Some(wrapped) = store.wrapped_key(&INDEX_KEY_ID)? else { return Ok(None) };
    if has_later_epochs(dir)? || wrapped.first() == Some(&LAYOUT_EPOCH) {
        return check_ring(dir, &wrapped).map(Some);
    }
    let in_token = wrapped.first() == Some(&LAYOUT_PKCS11_GCM);
    if in_token || token_master_path(dir).exists() {
        if !token_master_path(dir).exists() {
            return Err(LedgerError::InvalidRequest(format!(
                "the store's keys are wrapped by a master key in a PKCS#11 token, but {} is \
                 missing: put back the file naming that token's key (`uri pkcs11:…`). A file \
                 master key would open none of the store's private records",
                token_master_path(dir).display()
            )));
        }
        let master = open_token_master(dir)?;
        if master.unwrap(&wrapped, &key_aad(&INDEX_KEY_ID)).is_err() {
            return Err(LedgerError::InvalidRequest(format!(
                "the token key {} is not the master key this store's keys are wrapped under",
                master.uri().to_stored_string()
            )));
        }
        return Ok(Some(Arc::new(MasterRing::single(dir, HeldKey::Token(Box::new(master))))));
    }
    if !path.exists() {
        return Err(LedgerError::InvalidRequest(format!(
            "the store holds keys wrapped under a master key, but {} is missing: put the master \
             key this store was written with there (mode 0600; backups leave it behind on \
             purpose, docs/durability.md), then start again. A new key would open none of the \
             store's private records",
            path.display()
        )));
    }
    let master = FileMasterKey::open_existing(&path)?;
    if master.unwrap(&wrapped, &key_aad(&INDEX_KEY_ID)).is_err() {
        return Err(LedgerError::InvalidRequest(format!(
            "{} is not the master key this store's keys are wrapped under (another data \
             directory's, or one from before a rotation): put the right one there",
            path.display()
        )));
    }
    Ok(Some(Arc::new(MasterRing::single(dir, HeldKey::File(master)))))
}

/// [`check_master_key`] for a directory that holds keys of several epochs
/// (a rotation): the store's index key must open under one of them.
fn check_ring(dir: &Path, wrapped: &[u8]) -> Result<Arc<MasterRing>> {
    let ring = MasterRing::open(dir)?;
    if let Err(e) = ring.unwrap(wrapped, &key_aad(&INDEX_KEY_ID)) {
        return Err(LedgerError::InvalidRequest(format!(
            "the master keys in {} do not open this store's keys ({e}): a store (or backup) \
             wrapped under a master key since retired by a rotation cannot be opened with the \
             keys that replaced it (docs/long-term.md, \"Master key rotation\")",
            master_key_path(dir).parent().unwrap_or(dir).display()
        )));
    }
    Ok(Arc::new(ring))
}
