//! Master-key epochs: the master keys a data directory holds (the current
//! one, and those being retired by a rotation), each a file or a key in a
//! PKCS#11 token, and the wrapped-key layout that names the epoch a
//! document key was wrapped under (docs/long-term.md, "Master key
//! rotation").
//!
//! - Epoch 0 is the key made at `init`: `keys/master.key` (file) or
//!   `keys/master.pkcs11` (token). Its wraps keep their old layouts
//!   (first byte 1 or 3: file AES-256-GCM or SM4-GCM; 2: token), so a log
//!   that never rotates writes what it always wrote.
//! - Epoch N >= 1 is `keys/master.N.key` or `keys/master.N.pkcs11`; its
//!   wraps are `0x04 || N (u32, big-endian) || the key's own wrap`.
//! - The current epoch is the highest one present; every other present
//!   one is being retired, and stays until no stored wrap names it.
//!
//! Owns the epoch key files and their destruction. Calls the vault's
//! [`MasterKey`] trait, the file master key and the token master key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use zeroize::Zeroizing;

use crate::error::{LedgerError, Result};
use crate::fsutil::sync_dir;
use crate::pkcs11::{Pkcs11Uri, TokenMasterKey};
use crate::sealing::Aead;
use crate::vault::{master_key_path, FileMasterKey, MasterKey};

pub use crate::vault::{split_wrapped, wrapped_aead, Epoch, LAYOUT_EPOCH};
const EPOCH_HEADER: usize = 1 + 4;

/// Where one epoch's key is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyPlace {
    /// A 32-byte file, mode 0600.
    File(PathBuf),
    /// A token key; the file records its URI (`uri pkcs11:…`, no PIN).
    Token(PathBuf),
}

impl KeyPlace {
    /// The file that holds the key (or names the token key).
    pub fn path(&self) -> &Path {
        match self {
            KeyPlace::File(p) | KeyPlace::Token(p) => p,
        }
    }
}

/// Every epoch key file in `dir/keys`, by epoch. Two kinds of key for
/// one epoch are refused (which would open the store's keys is unknown).
pub fn epoch_files(dir: &Path) -> Result<BTreeMap<Epoch, KeyPlace>> {
    let mut out = BTreeMap::new();
    let keys = master_key_path(dir).parent().map(Path::to_path_buf).unwrap_or_default();
    let entries = match std::fs::read_dir(&keys) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e.into()),
    };
    for entry in entries {
        let name = entry?.file_name();
        let Some((epoch, token)) = parse_name(&name.to_string_lossy()) else { continue };
        let path = keys.join(&name);
        let place = if token { KeyPlace::Token(path) } else { KeyPlace::File(path) };
        if let Some(other) = out.insert(epoch, place) {
            return Err(LedgerError::Corrupt(format!(
                "two master keys of epoch {epoch} in {} (and {}): keep the one the store's keys \
                 are wrapped under",
                keys.display(),
                other.path().display()
            )));
        }
    }
    Ok(out)
}

/// `master.key` (0, file), `master.pkcs11` (0, token), `master.N.key`,
/// `master.N.pkcs11`.
fn parse_name(name: &str) -> Option<(Epoch, bool)> {
    let rest = name.strip_prefix("master.")?;
    let (num, ext) = match rest.split_once('.') {
        Some((n, e)) => (Some(n), e),
        None => (None, rest),
    };
    let token = match ext {
        "key" => false,
        "pkcs11" => true,
        _ => return None,
    };
    match num {
        None => Some((0, token)),
        Some(n)
            if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && !n.starts_with('0') =>
        {
            Some((n.parse().ok()?, token))
        }
        Some(_) => None,
    }
}

/// Where epoch `epoch`'s key goes (a file key, or a token key's record).
pub fn epoch_path(dir: &Path, epoch: Epoch, token: bool) -> PathBuf {
    match (epoch, token) {
        (0, false) => master_key_path(dir),
        (0, true) => master_key_path(dir).with_file_name("master.pkcs11"),
        (n, false) => master_key_path(dir).with_file_name(format!("master.{n}.key")),
        (n, true) => master_key_path(dir).with_file_name(format!("master.{n}.pkcs11")),
    }
}

/// One epoch's key, opened.
pub(crate) enum HeldKey {
    File(FileMasterKey),
    Token(Box<TokenMasterKey>),
}

impl HeldKey {
    fn master(&self) -> &dyn MasterKey {
        match self {
            HeldKey::File(k) => k,
            HeldKey::Token(k) => k.as_ref(),
        }
    }

    /// Opens the key at `place`; never creates one.
    pub(crate) fn open(place: &KeyPlace) -> Result<HeldKey> {
        match place {
            KeyPlace::File(p) => Ok(HeldKey::File(FileMasterKey::open_existing(p)?)),
            KeyPlace::Token(p) => {
                Ok(HeldKey::Token(Box::new(TokenMasterKey::open(&read_token_record(p)?)?)))
            }
        }
    }
}

/// The URI a token key record names.
pub(crate) fn read_token_record(path: &Path) -> Result<Pkcs11Uri> {
    let text = std::fs::read_to_string(path)?;
    let uri = text
        .lines()
        .find_map(|l| l.strip_prefix("uri "))
        .ok_or_else(|| LedgerError::Corrupt(format!("{}: no `uri` line", path.display())))?;
    Ok(Pkcs11Uri::parse(uri)?)
}

/// Writes a token key record (`uri …`, 0600, fsync'd with its directory).
pub(crate) fn write_token_record(path: &Path, uri: &Pkcs11Uri) -> Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new();
    std::os::unix::fs::OpenOptionsExt::mode(f.create_new(true).write(true), 0o600);
    let mut f = f.open(&tmp)?;
    f.write_all(format!("uri {}\n", uri.to_stored_string()).as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

struct RingState {
    current: Epoch,
    keys: BTreeMap<Epoch, std::sync::Arc<HeldKey>>,
}

/// The master keys of a data directory: new wraps use the current epoch;
/// unwraps use the epoch the wrap names. Behind [`MasterKey`].
pub struct MasterRing {
    dir: PathBuf,
    state: RwLock<RingState>,
}

/// Where a token key record goes while its key object is destroyed.
fn retired_record(record: &Path) -> PathBuf {
    let mut name = record.file_name().unwrap_or_default().to_os_string();
    name.push(".retired");
    record.with_file_name(name)
}

/// Destroys the token key a `.retired` record names (if still there),
/// then removes the record.
fn destroy_retired(record: &Path) -> Result<()> {
    let uri = read_token_record(record)?;
    if uri.object.is_none() && uri.id.is_none() {
        // It could match another key of the token: never destroyed by
        // search; the operator removes it by the token's tools.
        return Err(LedgerError::InvalidRequest(format!(
            "{} names no object=/id=: destroy the retired key by the token's own tools",
            record.display()
        )));
    }
    let token = pkcs11_keys::Token::open(&uri)?;
    if token.find(cryptoki::object::ObjectClass::SECRET_KEY)?.is_some() {
        TokenMasterKey::open(&uri)?.destroy()?;
    }
    std::fs::remove_file(record)?;
    if let Some(parent) = record.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Finishes retirements of token keys cut short by a crash (writable
/// opens only: a read-only look changes nothing).
pub(crate) fn finish_retirements(dir: &Path) -> Result<()> {
    let keys = master_key_path(dir).parent().map(Path::to_path_buf).unwrap_or_default();
    let Ok(entries) = std::fs::read_dir(&keys) else { return Ok(()) };
    for entry in entries {
        let path = entry?.path();
        if path.to_string_lossy().ends_with(".pkcs11.retired") {
            tracing::warn!("destroying a retired master key left by a crash: {}", path.display());
            // No wrap names it: a token out of reach delays its destruction
            // (retried at the next open), not the service.
            if let Err(e) = destroy_retired(&path) {
                tracing::error!("{}: the retired key is not destroyed yet: {e}", path.display());
            }
        }
    }
    Ok(())
}

impl MasterRing {
    /// Opens every epoch key of `dir` (none: an error).
    pub fn open(dir: &Path) -> Result<MasterRing> {
        let files = epoch_files(dir)?;
        let mut keys = BTreeMap::new();
        for (epoch, place) in &files {
            keys.insert(*epoch, std::sync::Arc::new(HeldKey::open(place)?));
        }
        let current = *keys.keys().next_back().ok_or_else(|| {
            LedgerError::InvalidRequest(format!("{}: no master key", dir.display()))
        })?;
        Ok(MasterRing { dir: dir.to_path_buf(), state: RwLock::new(RingState { current, keys }) })
    }

    /// A ring of the one key `held` as epoch 0 (at `init`).
    pub(crate) fn single(dir: &Path, held: HeldKey) -> MasterRing {
        let keys = BTreeMap::from([(0, std::sync::Arc::new(held))]);
        MasterRing { dir: dir.to_path_buf(), state: RwLock::new(RingState { current: 0, keys }) }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, RingState> {
        match self.state.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, RingState> {
        match self.state.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The current epoch (new wraps).
    pub fn current(&self) -> Epoch {
        self.read().current
    }

    /// The epochs held but not current: being retired.
    pub fn retiring(&self) -> Vec<Epoch> {
        let s = self.read();
        s.keys.keys().copied().filter(|e| *e != s.current).collect()
    }

    /// Where the current key is: a token (`true`) or a file.
    pub fn current_in_token(&self) -> bool {
        let s = self.read();
        matches!(s.keys.get(&s.current).map(|k| k.as_ref()), Some(HeldKey::Token(_)))
    }

    /// The URI of the current key when it is in a token.
    pub fn current_token_uri(&self) -> Option<Pkcs11Uri> {
        let s = self.read();
        match s.keys.get(&s.current).map(|k| k.as_ref()) {
            Some(HeldKey::Token(t)) => Some(t.uri().clone()),
            _ => None,
        }
    }

    /// Whether a token key held (current or retiring) has the label `uri`
    /// names in the token it names: a new key must not be one of them.
    pub fn holds_token_label(&self, uri: &Pkcs11Uri) -> bool {
        self.read().keys.values().any(|k| match k.as_ref() {
            HeldKey::Token(t) => {
                let held = t.uri();
                held.object == uri.object && held.token == uri.token && held.serial == uri.serial
            }
            HeldKey::File(_) => false,
        })
    }

    /// Makes epoch `current + 1`'s key (a new file, or a new key in the
    /// token `to` names), durable before it is used, and makes it current.
    pub fn add_epoch(&self, to: Option<&Pkcs11Uri>) -> Result<Epoch> {
        let epoch = self.current() + 1;
        let held = match to {
            None => {
                // `epoch` is above every file present: this makes a new one.
                let path = epoch_path(&self.dir, epoch, false);
                HeldKey::File(FileMasterKey::open_or_create(&path)?)
            }
            Some(uri) => {
                let key = TokenMasterKey::open_or_generate(uri)?;
                write_token_record(&epoch_path(&self.dir, epoch, true), uri)?;
                HeldKey::Token(Box::new(key))
            }
        };
        let mut s = self.write();
        s.keys.insert(epoch, std::sync::Arc::new(held));
        s.current = epoch;
        Ok(epoch)
    }

    /// Destroys the key of a retiring epoch: a file is overwritten with
    /// zeros, synced and removed (and its directory synced); a token key
    /// object is destroyed in the token, then its record removed.
    pub fn retire(&self, epoch: Epoch) -> Result<()> {
        if epoch == self.current() {
            return Err(LedgerError::InvalidRequest(
                "the current master key is not retired".into(),
            ));
        }
        let files = epoch_files(&self.dir)?;
        match files.get(&epoch) {
            Some(KeyPlace::File(p)) => {
                overwrite(p)?;
                std::fs::remove_file(p)?;
                if let Some(parent) = p.parent() {
                    sync_dir(parent)?;
                }
            }
            Some(KeyPlace::Token(p)) => {
                // Renamed first: a crash before the object is destroyed
                // leaves a `.retired` record, finished at the next open.
                let retired = retired_record(p);
                std::fs::rename(p, &retired)?;
                if let Some(parent) = p.parent() {
                    sync_dir(parent)?;
                }
                crate::fault::point("retire-token-renamed");
                let held = self.read().keys.get(&epoch).cloned();
                match held.as_deref() {
                    // The very object this process used: no search by URI.
                    Some(HeldKey::Token(t)) => {
                        t.destroy()?;
                        std::fs::remove_file(&retired)?;
                        if let Some(parent) = retired.parent() {
                            sync_dir(parent)?;
                        }
                    }
                    _ => destroy_retired(&retired)?,
                }
            }
            None => {}
        }
        self.write().keys.remove(&epoch);
        Ok(())
    }

    fn key_of(&self, epoch: Epoch) -> Result<std::sync::Arc<HeldKey>> {
        self.read().keys.get(&epoch).cloned().ok_or_else(|| {
            LedgerError::Corrupt(format!(
                "a wrapped key names master key epoch {epoch}, which this data directory does \
                 not hold (retired, or its key file is missing)"
            ))
        })
    }
}

/// Overwrites a key file with zeros and syncs it (a copy-on-write or
/// flash medium may keep the old blocks: docs/long-term.md says so).
fn overwrite(path: &Path) -> Result<()> {
    use std::io::Write as _;
    let len = std::fs::metadata(path)?.len() as usize;
    let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.write_all(&vec![0u8; len])?;
    f.sync_all()?;
    Ok(())
}

impl MasterKey for MasterRing {
    fn wrap(&self, key: &[u8; 32], aad: &[u8]) -> Result<Vec<u8>> {
        self.wrap_with(Aead::Aes256Gcm, key, aad)
    }

    fn wrap_with(&self, aead: Aead, key: &[u8; 32], aad: &[u8]) -> Result<Vec<u8>> {
        let epoch = self.current();
        let inner = self.key_of(epoch)?.master().wrap_with(aead, key, aad)?;
        if epoch == 0 {
            return Ok(inner);
        }
        let mut out = Vec::with_capacity(EPOCH_HEADER + inner.len());
        out.push(LAYOUT_EPOCH);
        out.extend_from_slice(&epoch.to_be_bytes());
        out.extend_from_slice(&inner);
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
        let (epoch, inner) = split_wrapped(wrapped)?;
        self.key_of(epoch)?.master().unwrap(inner, aad)
    }

    fn is_current(&self, wrapped: &[u8]) -> bool {
        split_wrapped(wrapped).is_ok_and(|(e, _)| e == self.current())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_to_epochs() {
        assert_eq!(parse_name("master.key"), Some((0, false)));
        assert_eq!(parse_name("master.pkcs11"), Some((0, true)));
        assert_eq!(parse_name("master.7.key"), Some((7, false)));
        assert_eq!(parse_name("master.12.pkcs11"), Some((12, true)));
        for bad in ["master.new", "master.07.key", "master..key", "master.x.key", "master.tmp"] {
            assert_eq!(parse_name(bad), None, "{bad}");
        }
    }

    /// Epoch 0 keeps the old layout; a later epoch's wrap names it; a
    /// retired epoch's wraps no longer open, and its file is gone.
    #[test]
    fn epochs_wrap_unwrap_and_retire() {
        let dir = tempfile::tempdir().expect("tempdir");
        FileMasterKey::open_or_create(&master_key_path(dir.path())).expect("epoch 0");
        let ring = MasterRing::open(dir.path()).expect("ring");
        let key = [7u8; 32];
        let old = ring.wrap_with(Aead::Sm4Gcm, &key, b"aad").expect("wrap");
        assert_eq!(old[0], Aead::Sm4Gcm.layout(), "epoch 0 writes the old layout");
        assert_eq!(ring.add_epoch(None).expect("new"), 1);
        let new = ring.wrap_with(Aead::Sm4Gcm, &key, b"aad").expect("wrap");
        assert_eq!(&new[..5], &[LAYOUT_EPOCH, 0, 0, 0, 1]);
        assert_eq!(wrapped_aead(&new), Some(Aead::Sm4Gcm));
        assert!(ring.is_current(&new) && !ring.is_current(&old));
        assert_eq!(*ring.unwrap(&old, b"aad").expect("old opens"), key);
        assert_eq!(ring.retiring(), vec![0]);
        // Reopened from the files: the same epochs.
        let again = MasterRing::open(dir.path()).expect("reopen");
        assert_eq!((again.current(), again.retiring()), (1, vec![0]));
        ring.retire(0).expect("retire");
        assert!(!master_key_path(dir.path()).exists());
        assert!(ring.unwrap(&old, b"aad").is_err(), "a retired epoch opens nothing");
        assert_eq!(*ring.unwrap(&new, b"aad").expect("new opens"), key);
        assert!(ring.retire(1).is_err(), "the current key stays");
        assert_eq!(MasterRing::open(dir.path()).expect("reopen").retiring(), Vec::<Epoch>::new());
    }
}
