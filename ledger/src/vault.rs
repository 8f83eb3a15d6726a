//! Evidence v2 key management: one AES-256-GCM key per document (一文一密),
//! each stored wrapped under a master key, and keyed-hash index keys so
//! that nothing on disk spells a contract id, an event id or a document
//! hash (docs/evidence-v2.md, "Storage").
//!
//! - The master key is behind [`MasterKey`]: [`FileMasterKey`] reads a
//!   0600 file (`DATA/keys/master.key`, 32 random bytes); a KMS or HSM
//!   implements the same two calls (wrap, unwrap) and the ledger never
//!   sees its key.
//! - The index key (HMAC-SHA-256) is random, created at first open, and
//!   stored wrapped under the master key like a document key.
//! - A document key is created on the document's first event. Erasure
//!   deletes its wrapped form (and the ciphertexts); the key then exists
//!   nowhere, so a copy of a ciphertext left in an old backup cannot be
//!   read without an old copy of the wrapped key too.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{LedgerError, Result};

/// Bytes of a key id (HMAC-SHA-256 output).
pub const KEY_ID_BYTES: usize = 32;
/// A keyed-hash id: what the store keys documents, hashes, subjects and
/// event ids by.
pub type KeyId = [u8; KEY_ID_BYTES];

const NONCE_BYTES: usize = 12;
/// Version byte of a wrapped key and of a ciphertext layout.
const LAYOUT_V1: u8 = 1;
/// Most document keys kept unwrapped in memory; past it the cache is
/// emptied (and refilled from the store on use).
const MAX_CACHED_KEYS: usize = 100_000;

/// Holds the master key, or reaches the KMS/HSM that does.
pub trait MasterKey: Send + Sync {
    /// Wraps a 32-byte key, bound to `aad`.
    fn wrap(&self, key: &[u8; 32], aad: &[u8]) -> Result<Vec<u8>>;
    /// Unwraps what [`MasterKey::wrap`] made with the same `aad`.
    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<[u8; 32]>>;
}

/// The master key as a local file: 32 random bytes, mode 0600.
pub struct FileMasterKey {
    cipher: Aes256Gcm,
}

/// Where the master key file lives in a data directory.
pub fn master_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join("master.key")
}

impl FileMasterKey {
    /// Reads `path`, creating it (32 bytes from the OS CSPRNG, 0600) when
    /// missing.
    pub fn open_or_create(path: &Path) -> Result<FileMasterKey> {
        if !path.exists() {
            create_key_file(path)?;
        }
        FileMasterKey::open_existing(path)
    }

    /// Reads `path`; never creates it (read-only opens, audits). Refused
    /// when others may read it, as the log key is.
    pub fn open_existing(path: &Path) -> Result<FileMasterKey> {
        crate::keys::refuse_shared(path)?;
        let key = Zeroizing::new(std::fs::read(path)?);
        let key: &[u8; 32] = key.as_slice().try_into().map_err(|_| {
            LedgerError::Corrupt(format!("{}: a master key is 32 bytes", path.display()))
        })?;
        Ok(FileMasterKey { cipher: Aes256Gcm::new(key.into()) })
    }
}

fn create_key_file(path: &Path) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    }
    let mut key = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(key.as_mut());
    let tmp = path.with_extension("tmp");
    // Left by a crash before the rename: never used, so never needed.
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
    f.write_all(key.as_ref())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

impl MasterKey for FileMasterKey {
    fn wrap(&self, key: &[u8; 32], aad: &[u8]) -> Result<Vec<u8>> {
        seal(&self.cipher, key, aad)
    }

    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
        let plain = Zeroizing::new(open(&self.cipher, wrapped, aad)?);
        let key: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| LedgerError::Corrupt("a wrapped key is not 32 bytes".into()))?;
        Ok(Zeroizing::new(key))
    }
}

/// `version || nonce || AES-256-GCM(plain, aad)`, with a random nonce
/// (from the thread's CSPRNG: ChaCha12, reseeded from the OS; a document
/// key seals a few records, far from the 2^32 random nonces GCM allows).
fn seal(cipher: &Aes256Gcm, plain: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_BYTES];
    rand::thread_rng().fill_bytes(&mut nonce);
    let ct = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
        .map_err(|_| LedgerError::Corrupt("AES-GCM encryption failed".into()))?;
    let mut out = Vec::with_capacity(1 + NONCE_BYTES + ct.len());
    out.push(LAYOUT_V1);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

fn open(cipher: &Aes256Gcm, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    if sealed.len() < 1 + NONCE_BYTES + 16 || sealed[0] != LAYOUT_V1 {
        return Err(LedgerError::Corrupt("sealed value has a bad layout".into()));
    }
    let nonce = Nonce::from_slice(&sealed[1..1 + NONCE_BYTES]);
    cipher.decrypt(nonce, Payload { msg: &sealed[1 + NONCE_BYTES..], aad }).map_err(|_| {
        LedgerError::Corrupt("sealed value does not decrypt (wrong key or altered)".into())
    })
}

/// Where the vault keeps its wrapped keys (the store's `dockeys` family).
pub trait KeyStore: Send + Sync {
    /// The wrapped key of `id`, if any.
    fn wrapped_key(&self, id: &KeyId) -> Result<Option<Vec<u8>>>;
    /// Stores a wrapped key (durable with the next synced write).
    fn put_wrapped_key(&self, id: &KeyId, wrapped: &[u8]) -> Result<()>;
}

/// Per-document keys and keyed hashes.
pub struct Vault {
    master: Box<dyn MasterKey>,
    /// HMAC-SHA-256 keyed with the index key, its key schedule done once.
    mac: Hmac<Sha256>,
    inner: Mutex<VaultInner>,
}

#[derive(Default)]
struct VaultInner {
    keys: HashMap<KeyId, Cached>,
    /// Bumped each time the cache is emptied: a key read from the store
    /// without the lock is only used if no emptying happened meanwhile.
    generation: u64,
    erased: HashSet<KeyId>,
}

/// A document key in memory, and its wrapped form while no group commit
/// has written it yet.
struct Cached {
    key: Zeroizing<[u8; 32]>,
    pending: Option<Vec<u8>>,
}

/// A key to seal with, and its wrapped form when it is new: whoever uses
/// it writes the wrapped form in the same synced batch as what it sealed
/// (until [`Vault::mark_durable`]), so no record is ever durable without
/// its key.
pub struct WriteKey {
    /// The key.
    pub key: Zeroizing<[u8; 32]>,
    /// The wrapped key to store with the first write that uses it.
    pub new_wrapped: Option<Vec<u8>>,
}

/// The document key id under which the index key is stored (no HMAC can
/// produce it before the index key exists).
pub const INDEX_KEY_ID: KeyId = [0xff; KEY_ID_BYTES];

impl Vault {
    /// Opens the vault: unwraps the index key (creating it if the store
    /// has none) and takes the set of erased key ids.
    pub fn open(
        master: Box<dyn MasterKey>,
        keys: &dyn KeyStore,
        erased: HashSet<KeyId>,
    ) -> Result<Vault> {
        let aad = key_aad(&INDEX_KEY_ID);
        let index_key = match keys.wrapped_key(&INDEX_KEY_ID)? {
            Some(w) => master.unwrap(&w, &aad)?,
            None => {
                let mut k = Zeroizing::new([0u8; 32]);
                OsRng.fill_bytes(k.as_mut());
                keys.put_wrapped_key(&INDEX_KEY_ID, &master.wrap(&k, &aad)?)?;
                k
            }
        };
        #[allow(clippy::expect_used)] // HMAC takes keys of any length.
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(index_key.as_ref())
            .expect("HMAC key of any length");
        Ok(Vault { master, mac, inner: Mutex::new(VaultInner { erased, ..Default::default() }) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VaultInner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// HMAC-SHA-256 under the index key of `parts`, each length-prefixed
    /// (so that no two part lists give one input).
    pub fn keyed_hash(&self, domain: &str, parts: &[&[u8]]) -> KeyId {
        let mut mac = self.mac.clone();
        mac.update(domain.as_bytes());
        for p in parts {
            mac.update(&(p.len() as u32).to_be_bytes());
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }

    /// The key id of one tenant's document.
    pub fn document_id(&self, tenant: &str, document_id: &str) -> KeyId {
        self.keyed_hash("document", &[tenant.as_bytes(), document_id.as_bytes()])
    }

    /// The key id under which the records of a document's erasure entries
    /// are sealed (the document's own key is destroyed by them).
    pub fn erasure_key_id(&self, tenant: &str, document_id: &str) -> KeyId {
        self.keyed_hash("erasure", &[tenant.as_bytes(), document_id.as_bytes()])
    }

    /// The index id of a document hash (any tenant: the holder of the file
    /// looks it up).
    pub fn document_hash_id(&self, document_hash: &[u8; 32]) -> KeyId {
        self.keyed_hash("document-hash", &[document_hash])
    }

    /// The index id of a data subject (actor id) of a tenant.
    pub fn subject_id(&self, tenant: &str, actor_id: &str) -> KeyId {
        self.keyed_hash("subject", &[tenant.as_bytes(), actor_id.as_bytes()])
    }

    /// The idempotency id of an event id of a tenant.
    pub fn event_id(&self, tenant: &str, event_id: &str) -> KeyId {
        self.keyed_hash("event", &[tenant.as_bytes(), event_id.as_bytes()])
    }

    /// Whether the key `id` was erased.
    pub fn is_erased(&self, id: &KeyId) -> bool {
        self.lock().erased.contains(id)
    }

    /// The key of `id`, created (random, wrapped) if it has none; a new
    /// key comes with its wrapped form, to be written with what it seals.
    /// Refused once the key was erased. No store write happens here, so
    /// appenders never wait behind the sequencer's fsync for a key.
    ///
    /// The store is read without the vault's lock (on PostgreSQL a read is
    /// a round trip; under the lock every appender would wait for each
    /// other's). Two appenders of one new document still get one key: the
    /// second to take the lock finds the first's in the cache, and a read
    /// that raced with the cache being emptied is read again.
    pub fn key_for_writing(&self, id: &KeyId, store: &dyn KeyStore) -> Result<WriteKey> {
        loop {
            let generation = {
                let inner = self.lock();
                if inner.erased.contains(id) {
                    return Err(gone());
                }
                if let Some(c) = inner.keys.get(id) {
                    return Ok(WriteKey { key: c.key.clone(), new_wrapped: c.pending.clone() });
                }
                inner.generation
            };
            let stored = store.wrapped_key(id)?;
            let mut inner = self.lock();
            if inner.erased.contains(id) {
                return Err(gone());
            }
            if let Some(c) = inner.keys.get(id) {
                return Ok(WriteKey { key: c.key.clone(), new_wrapped: c.pending.clone() });
            }
            if inner.generation != generation {
                continue;
            }
            let aad = key_aad(id);
            let (key, pending) = match stored {
                Some(w) => (self.master.unwrap(&w, &aad)?, None),
                None => {
                    let mut k = Zeroizing::new([0u8; 32]);
                    OsRng.fill_bytes(k.as_mut());
                    let wrapped = self.master.wrap(&k, &aad)?;
                    (k, Some(wrapped))
                }
            };
            if inner.keys.len() >= MAX_CACHED_KEYS {
                // Keys not written yet (their first write may never commit)
                // are written now, unsynced: the WAL orders them before any
                // record a later synced group seals under them. Then all may go.
                // Each pending key is dropped only once written: a failed
                // write keeps it for the write of its group.
                for (kid, c) in inner.keys.iter_mut() {
                    if let Some(w) = &c.pending {
                        store.put_wrapped_key(kid, w)?;
                        c.pending = None;
                    }
                }
                inner.keys.clear();
                inner.generation += 1;
            }
            inner.keys.insert(*id, Cached { key: key.clone(), pending: pending.clone() });
            return Ok(WriteKey { key, new_wrapped: pending });
        }
    }

    /// The wrapped forms of these keys are durable (a synced write held
    /// them): later writes need not carry them.
    pub fn mark_durable(&self, ids: &[KeyId]) {
        let mut inner = self.lock();
        for id in ids {
            if let Some(c) = inner.keys.get_mut(id) {
                c.pending = None;
            }
        }
    }

    /// The key of `id` for reading, if it still exists.
    pub fn key_for_reading(
        &self,
        id: &KeyId,
        store: &dyn KeyStore,
    ) -> Result<Option<Zeroizing<[u8; 32]>>> {
        if let Some(c) = self.lock().keys.get(id) {
            return Ok(Some(c.key.clone()));
        }
        match store.wrapped_key(id)? {
            None => Ok(None),
            Some(w) => Ok(Some(self.master.unwrap(&w, &key_aad(id))?)),
        }
    }

    /// Marks `id` erased: no new writes under it, and its cached key is
    /// dropped (the caller deletes the wrapped key in the same batch).
    pub fn mark_erased(&self, id: &KeyId) {
        let mut inner = self.lock();
        inner.keys.remove(id);
        inner.erased.insert(*id);
        // A key read from the store before this must be read again.
        inner.generation += 1;
    }

    /// Takes back [`Vault::mark_erased`] (the erasure did not commit).
    pub fn unmark_erased(&self, id: &KeyId) {
        let mut inner = self.lock();
        inner.erased.remove(id);
        inner.generation += 1;
    }
}

fn gone() -> LedgerError {
    LedgerError::Gone("the document was erased; it takes no new events".into())
}

/// The AAD a key is wrapped under: its id.
pub(crate) fn key_aad(id: &KeyId) -> Vec<u8> {
    [b"evidence-ledger/document-key/v1\0".as_slice(), id].concat()
}

/// The AAD of a sealed private value: its kind (`r` record, `i` identity)
/// and the leaf commitment, so a ciphertext moved to another entry does
/// not decrypt.
pub fn private_aad(tag: u8, commitment: &verifier::Hash) -> Vec<u8> {
    [b"evidence-ledger/private/v2\0".as_slice(), &[tag], &commitment.0].concat()
}

/// Seals a private value (a record or an identity opening) under a
/// document key: `key id || version || nonce || ciphertext`, bound to the
/// leaf commitment and the value's kind by the AAD.
pub fn seal_private(key: &[u8; 32], key_id: &KeyId, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>> {
    use aes_gcm::aead::AeadInPlace as _;
    let cipher = Aes256Gcm::new(key.into());
    let mut nonce = [0u8; NONCE_BYTES];
    rand::thread_rng().fill_bytes(&mut nonce);
    // One allocation: key id, layout, nonce, then the text encrypted in place.
    let mut out = Vec::with_capacity(KEY_ID_BYTES + 1 + NONCE_BYTES + plain.len() + 16);
    out.extend_from_slice(key_id);
    out.push(LAYOUT_V1);
    out.extend_from_slice(&nonce);
    let start = out.len();
    out.extend_from_slice(plain);
    let tag = cipher
        .encrypt_in_place_detached(Nonce::from_slice(&nonce), aad, &mut out[start..])
        .map_err(|_| LedgerError::Corrupt("AES-GCM encryption failed".into()))?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// The key id a sealed private value names (never the index key's).
pub fn sealed_key_id(sealed: &[u8]) -> Result<KeyId> {
    let id: KeyId = sealed
        .get(..KEY_ID_BYTES)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| LedgerError::Corrupt("sealed record too short".into()))?;
    if id == INDEX_KEY_ID {
        return Err(LedgerError::Corrupt("a sealed record names the index key".into()));
    }
    Ok(id)
}

/// Opens what [`seal_private`] sealed.
pub fn open_private(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
    let cipher = Aes256Gcm::new(key.into());
    open(&cipher, &sealed[KEY_ID_BYTES.min(sealed.len())..], aad)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The master key file is refused when others may read it, as the log
    /// key is; made by us, it is 0600 in a 0700 directory.
    #[test]
    fn a_master_key_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = master_key_path(dir.path());
        FileMasterKey::open_or_create(&path).expect("created");
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().expect("keys dir")), 0o700);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = FileMasterKey::open_existing(&path).err().expect("refused");
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[derive(Default)]
    struct MemKeys(Mutex<HashMap<KeyId, Vec<u8>>>);
    impl KeyStore for MemKeys {
        fn wrapped_key(&self, id: &KeyId) -> Result<Option<Vec<u8>>> {
            Ok(self.0.lock().map_err(|_| LedgerError::Corrupt("poisoned".into()))?.get(id).cloned())
        }
        fn put_wrapped_key(&self, id: &KeyId, wrapped: &[u8]) -> Result<()> {
            self.0
                .lock()
                .map_err(|_| LedgerError::Corrupt("poisoned".into()))?
                .insert(*id, wrapped.to_vec());
            Ok(())
        }
    }

    #[test]
    fn keys_wrap_seal_and_shred() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = master_key_path(dir.path());
        let store = MemKeys::default();
        let vault = Vault::open(
            Box::new(FileMasterKey::open_or_create(&path).expect("master")),
            &store,
            HashSet::new(),
        )
        .expect("vault");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).expect("meta").permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        let id = vault.document_id("t", "c-1");
        assert_ne!(id, vault.document_id("t2", "c-1"));
        let key = vault.key_for_writing(&id, &store).expect("key");
        store.put_wrapped_key(&id, key.new_wrapped.as_deref().expect("new")).expect("put");
        vault.mark_durable(&[id]);
        let key = key.key;
        let sealed = seal_private(&key, &id, b"aad", b"secret record").expect("seal");
        assert_eq!(sealed_key_id(&sealed).expect("id"), id);
        // A second vault over the same store and master key reads it back.
        let again = Vault::open(
            Box::new(FileMasterKey::open_or_create(&path).expect("master")),
            &store,
            HashSet::new(),
        )
        .expect("vault");
        assert_eq!(again.document_id("t", "c-1"), id, "the index key is persisted");
        let k2 = again.key_for_reading(&id, &store).expect("read").expect("present");
        assert_eq!(open_private(&k2, b"aad", &sealed).expect("open"), b"secret record");
        assert!(open_private(&k2, b"other aad", &sealed).is_err());
        vault.mark_erased(&id);
        assert!(matches!(vault.key_for_writing(&id, &store), Err(LedgerError::Gone(_))));
    }
}
