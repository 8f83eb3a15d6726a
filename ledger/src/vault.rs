//! Evidence v2 key management: one key per document (一文一密), each
//! stored wrapped under a master key, and keyed-hash index keys so that
//! nothing on disk spells a contract id, an event id or a document hash
//! (docs/evidence-v2.md, "Storage"). The AEAD and the keyed hash are the
//! log's [`VaultSuite`] (AES-256-GCM and HMAC-SHA-256, or SM4-GCM and
//! HMAC-SM3 for `sm2-sm3` logs; [`crate::sealing`]).
//!
//! - The master key is behind [`MasterKey`]: [`FileMasterKey`] reads a
//!   0600 file (`DATA/keys/master.key`, 32 random bytes); a KMS or HSM
//!   implements the same two calls (wrap, unwrap) and the ledger never
//!   sees its key.
//! - The index key is random, created at first open, and stored wrapped
//!   under the master key like a document key; the suite is recorded with
//!   it, and read back from the store at every later open.
//! - A document key is created on the document's first event. Erasure
//!   deletes its wrapped form (and the ciphertexts); the key then exists
//!   nowhere, so a copy of a ciphertext left in an old backup cannot be
//!   read without an old copy of the wrapped key too.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rand_core::{OsRng, RngCore};
use verifier::suite::Suite;
use zeroize::Zeroizing;

use crate::error::{LedgerError, Result};
pub use crate::sealing::{Aead, VaultSuite};
use crate::sealing::{IndexMac, NONCE_BYTES, TAG_BYTES};

mod rewrap;
pub use rewrap::{split_wrapped, wrapped_aead, Epoch, Rewrapped, WriteTicket, LAYOUT_EPOCH};

/// Bytes of a key id (HMAC-SHA-256 or HMAC-SM3 output).
pub const KEY_ID_BYTES: usize = 32;
/// A keyed-hash id: what the store keys documents, hashes, subjects and
/// event ids by.
pub type KeyId = [u8; KEY_ID_BYTES];

/// Most document keys kept unwrapped in memory; past it the cache is
/// emptied (and refilled from the store on use).
const MAX_CACHED_KEYS: usize = 100_000;

/// Holds the master key, or reaches the KMS/HSM that does.
pub trait MasterKey: Send + Sync {
    /// Wraps a 32-byte key, bound to `aad`.
    fn wrap(&self, key: &[u8; 32], aad: &[u8]) -> Result<Vec<u8>>;
    /// Unwraps what [`MasterKey::wrap`] made with the same `aad`.
    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<[u8; 32]>>;
    /// Wraps with `aead` where this master key offers it; one that offers
    /// a single AEAD (a PKCS#11 token's AES-256-GCM) wraps with that, its
    /// layout byte saying so.
    fn wrap_with(&self, aead: Aead, key: &[u8; 32], aad: &[u8]) -> Result<Vec<u8>> {
        let _ = aead;
        self.wrap(key, aad)
    }
    /// Whether `wrapped` names this master key's current epoch (a key
    /// being retired answers false: [`crate::epochs`]). One key: always.
    fn is_current(&self, wrapped: &[u8]) -> bool {
        let _ = wrapped;
        true
    }
}

/// The ring of epochs is shared by the vault and the rotation driver.
impl<T: MasterKey + ?Sized> MasterKey for std::sync::Arc<T> {
    fn wrap(&self, key: &[u8; 32], aad: &[u8]) -> Result<Vec<u8>> {
        (**self).wrap(key, aad)
    }
    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
        (**self).unwrap(wrapped, aad)
    }
    fn wrap_with(&self, aead: Aead, key: &[u8; 32], aad: &[u8]) -> Result<Vec<u8>> {
        (**self).wrap_with(aead, key, aad)
    }
    fn is_current(&self, wrapped: &[u8]) -> bool {
        (**self).is_current(wrapped)
    }
}

/// The master key as a local file: 32 random bytes, mode 0600. It wraps
/// with AES-256-GCM or SM4-GCM (its first 16 bytes), as the vault asks.
pub struct FileMasterKey {
    key: Zeroizing<[u8; 32]>,
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
        Ok(FileMasterKey { key: Zeroizing::new(*key) })
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
        seal(Aead::Aes256Gcm, &self.key, key, aad)
    }

    fn wrap_with(&self, aead: Aead, key: &[u8; 32], aad: &[u8]) -> Result<Vec<u8>> {
        seal(aead, &self.key, key, aad)
    }

    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
        let plain = Zeroizing::new(open(&self.key, wrapped, aad)?);
        let key: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| LedgerError::Corrupt("a wrapped key is not 32 bytes".into()))?;
        Ok(Zeroizing::new(key))
    }
}

/// `layout || nonce || AEAD(plain, aad) || tag`, the layout byte naming
/// the AEAD, with a random nonce (from the thread's CSPRNG: ChaCha12,
/// reseeded from the OS; a document key seals a few records, far from
/// the 2^32 random nonces GCM allows).
fn seal(aead: Aead, key: &[u8; 32], plain: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_BYTES];
    rand::thread_rng().fill_bytes(&mut nonce);
    // One allocation: layout, nonce, then the text encrypted in place.
    let mut out = Vec::with_capacity(1 + NONCE_BYTES + plain.len() + TAG_BYTES);
    out.push(aead.layout());
    out.extend_from_slice(&nonce);
    let start = out.len();
    out.extend_from_slice(plain);
    let tag = aead.encrypt_in_place(key, &nonce, aad, &mut out[start..])?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Opens what [`seal`] made, with the AEAD its layout byte names.
fn open(key: &[u8; 32], sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    if sealed.len() < 1 + NONCE_BYTES + TAG_BYTES {
        return Err(LedgerError::Corrupt("sealed value has a bad layout".into()));
    }
    let aead = Aead::from_layout(sealed[0])?;
    let nonce: &[u8; NONCE_BYTES] = sealed[1..1 + NONCE_BYTES]
        .try_into()
        .map_err(|_| LedgerError::Corrupt("sealed value has a bad layout".into()))?;
    aead.decrypt(key, nonce, aad, &sealed[1 + NONCE_BYTES..])
}

/// Where the vault keeps its wrapped keys (the store's `dockeys` family).
pub trait KeyStore: Send + Sync {
    /// The wrapped key of `id`, if any.
    fn wrapped_key(&self, id: &KeyId) -> Result<Option<Vec<u8>>>;
    /// The wrapped keys of `ids`, in the order asked ([`Vault::prefetch_for_writing`]).
    fn wrapped_keys_of(&self, ids: &[KeyId]) -> Result<Vec<Option<Vec<u8>>>> {
        ids.iter().map(|id| self.wrapped_key(id)).collect()
    }
    /// Stores a wrapped key (durable with the next synced write).
    fn put_wrapped_key(&self, id: &KeyId, wrapped: &[u8]) -> Result<()>;
    /// The vault suite recorded with the index key (`None`: a store made
    /// before suites were recorded, so AES-256-GCM and HMAC-SHA-256).
    fn vault_suite(&self) -> Result<Option<Vec<u8>>>;
    /// Records the vault suite (durable with the next synced write, and
    /// written before the index key, so never durable after it).
    fn put_vault_suite(&self, name: &[u8]) -> Result<()>;
    /// Stores several wrapped keys (a rotation's batch), unsynced.
    fn put_wrapped_keys(&self, items: &[(KeyId, Vec<u8>)]) -> Result<()> {
        for (id, w) in items {
            self.put_wrapped_key(id, w)?;
        }
        Ok(())
    }
}

/// Per-document keys and keyed hashes.
pub struct Vault {
    master: Box<dyn MasterKey>,
    /// The log's AEAD and index MAC.
    suite: VaultSuite,
    /// The log's suite (what new record commitments are hashed with).
    log_suite: Suite,
    /// The index MAC keyed with the index key, its key schedule done once.
    mac: IndexMac,
    inner: Mutex<VaultInner>,
    /// Wrapped-key writes in flight, drained by a master key rotation.
    gate: rewrap::Gate,
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
    /// Opens the vault of a log of `log_suite`: unwraps the index key and
    /// reads the vault suite recorded with it, or, when the store has no
    /// index key yet, creates one and records the suite of `log_suite`.
    /// Takes the set of erased key ids.
    pub fn open(
        master: Box<dyn MasterKey>,
        keys: &dyn KeyStore,
        erased: HashSet<KeyId>,
        log_suite: Suite,
    ) -> Result<Vault> {
        let aad = key_aad(&INDEX_KEY_ID);
        let (suite, index_key) = match keys.wrapped_key(&INDEX_KEY_ID)? {
            Some(w) => {
                let suite = match keys.vault_suite()? {
                    Some(name) => VaultSuite::from_name(&name)?,
                    None => VaultSuite::Aes256GcmHmacSha256,
                };
                (suite, master.unwrap(&w, &aad)?)
            }
            None => {
                let suite = VaultSuite::for_log(log_suite);
                let mut k = Zeroizing::new([0u8; 32]);
                OsRng.fill_bytes(k.as_mut());
                if suite != VaultSuite::Aes256GcmHmacSha256 {
                    keys.put_vault_suite(suite.name().as_bytes())?;
                }
                keys.put_wrapped_key(&INDEX_KEY_ID, &master.wrap_with(suite.aead(), &k, &aad)?)?;
                (suite, k)
            }
        };
        let mac = IndexMac::new(suite, &index_key);
        let inner = Mutex::new(VaultInner { erased, ..Default::default() });
        Ok(Vault { master, suite, log_suite, mac, inner, gate: Default::default() })
    }

    /// The vault's suite.
    pub fn suite(&self) -> VaultSuite {
        self.suite
    }

    /// The suite of the log this vault belongs to: new records are
    /// committed with its hash (`sm3-jcs-sd/v3` on an `sm2-sm3` log), even
    /// when the vault itself was made before SM4.
    pub fn log_suite(&self) -> Suite {
        self.log_suite
    }

    /// The AEAD new values are sealed with.
    pub fn aead(&self) -> Aead {
        self.suite.aead()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VaultInner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The index MAC (HMAC-SHA-256 or HMAC-SM3) under the index key of
    /// `domain` and `parts`, each length-prefixed (so that no two part
    /// lists give one input).
    pub fn keyed_hash(&self, domain: &str, parts: &[&[u8]]) -> KeyId {
        self.mac.keyed_hash(domain, parts)
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
            return self.admit(&mut inner, id, stored, store);
        }
    }

    /// Brings the keys of `ids` (a request's documents) into the cache in
    /// one store read, so that sealing the request's events finds them
    /// there: on PostgreSQL one round trip instead of one per new
    /// document. What [`Vault::key_for_writing`] would do for each id, in
    /// one go; erased ids are skipped (sealing refuses them). If the
    /// cache was emptied meanwhile (an erasure, or full) nothing is
    /// cached, and each seal reads its key itself.
    pub fn prefetch_for_writing(&self, ids: &[KeyId], store: &dyn KeyStore) -> Result<()> {
        let (generation, mut missing) = {
            let inner = self.lock();
            let missing: Vec<KeyId> = ids
                .iter()
                .filter(|id| !inner.erased.contains(*id) && !inner.keys.contains_key(*id))
                .copied()
                .collect();
            (inner.generation, missing)
        };
        missing.sort_unstable();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        let stored = store.wrapped_keys_of(&missing)?;
        let mut inner = self.lock();
        if inner.generation != generation {
            return Ok(());
        }
        for (id, stored) in missing.iter().zip(stored) {
            if inner.erased.contains(id) || inner.keys.contains_key(id) {
                continue;
            }
            self.admit(&mut inner, id, stored, store)?;
            if inner.generation != generation {
                // The cache was full and emptied: the rest of the read
                // may predate keys just written from it.
                break;
            }
        }
        Ok(())
    }

    /// Caches the key of `id` as read from the store (`stored`, its
    /// wrapped form) or, when it has none, a new random one whose wrapped
    /// form is pending (written with what it seals). Called under the
    /// lock, with a read made at the lock's current generation.
    fn admit(
        &self,
        inner: &mut VaultInner,
        id: &KeyId,
        stored: Option<Vec<u8>>,
        store: &dyn KeyStore,
    ) -> Result<WriteKey> {
        let aad = key_aad(id);
        let (key, pending) = match stored {
            Some(w) => (self.master.unwrap(&w, &aad)?, None),
            None => {
                let mut k = Zeroizing::new([0u8; 32]);
                OsRng.fill_bytes(k.as_mut());
                let wrapped = self.master.wrap_with(self.aead(), &k, &aad)?;
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
                    // Under the current master key (a rotation may
                    // have begun since it was wrapped).
                    let w = self.current_form(kid, w, &c.key)?;
                    store.put_wrapped_key(kid, &w)?;
                    c.pending = None;
                }
            }
            inner.keys.clear();
            inner.generation += 1;
        }
        inner.keys.insert(*id, Cached { key: key.clone(), pending: pending.clone() });
        Ok(WriteKey { key, new_wrapped: pending })
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
pub fn key_aad(id: &KeyId) -> Vec<u8> {
    [b"evidence-ledger/document-key/v1\0".as_slice(), id].concat()
}

/// The AAD of a sealed private value: its kind (`r` record, `i` identity)
/// and the leaf commitment, so a ciphertext moved to another entry does
/// not decrypt.
pub fn private_aad(tag: u8, commitment: &verifier::Hash) -> Vec<u8> {
    [b"evidence-ledger/private/v2\0".as_slice(), &[tag], &commitment.0].concat()
}

/// Seals a private value (a record or an identity opening) under a
/// document key with `aead`: `key id || layout || nonce || ciphertext ||
/// tag`, the layout byte naming the AEAD, bound to the leaf commitment
/// and the value's kind by the AAD.
pub fn seal_private(
    aead: Aead,
    key: &[u8; 32],
    key_id: &KeyId,
    aad: &[u8],
    plain: &[u8],
) -> Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_BYTES];
    rand::thread_rng().fill_bytes(&mut nonce);
    // One allocation: key id, layout, nonce, then the text encrypted in place.
    let mut out = Vec::with_capacity(KEY_ID_BYTES + 1 + NONCE_BYTES + plain.len() + TAG_BYTES);
    out.extend_from_slice(key_id);
    out.push(aead.layout());
    out.extend_from_slice(&nonce);
    let start = out.len();
    out.extend_from_slice(plain);
    let tag = aead.encrypt_in_place(key, &nonce, aad, &mut out[start..])?;
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

/// Opens what [`seal_private`] sealed, with the AEAD its layout byte
/// names (values sealed before a log's suite changed keep theirs).
pub fn open_private(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
    open(key, &sealed[KEY_ID_BYTES.min(sealed.len())..], aad)
}

#[cfg(test)]
mod tests;
