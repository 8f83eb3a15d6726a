//! The vault's unit tests: key files, suites, wrapping and sealing.

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
    fn vault_suite(&self) -> Result<Option<Vec<u8>>> {
        self.wrapped_key(&[0xfe; KEY_ID_BYTES])
    }
    fn put_vault_suite(&self, name: &[u8]) -> Result<()> {
        self.put_wrapped_key(&[0xfe; KEY_ID_BYTES], name)
    }
}

/// An `sm2-sm3` log whose vault was made before SM4 (no suite
/// recorded) keeps AES-256-GCM and HMAC-SHA-256: its index ids and
/// wrapped keys stay what they were.
#[test]
fn a_vault_made_before_sm4_keeps_its_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = master_key_path(dir.path());
    let store = MemKeys::default();
    let open = |suite| {
        let master = FileMasterKey::open_or_create(&path).expect("master");
        Vault::open(Box::new(master), &store, HashSet::new(), suite).expect("vault")
    };
    let old = open(Suite::Ed25519Sha256);
    assert_eq!(store.vault_suite().expect("read"), None, "nothing new on disk");
    let again = open(Suite::Sm2Sm3);
    assert_eq!(again.suite(), VaultSuite::Aes256GcmHmacSha256);
    assert_eq!(again.document_id("t", "c"), old.document_id("t", "c"));
}

#[test]
fn keys_wrap_seal_and_shred() {
    keys_wrap_seal_and_shred_in(Suite::Ed25519Sha256, Aead::Aes256Gcm);
    keys_wrap_seal_and_shred_in(Suite::Sm2Sm3, Aead::Sm4Gcm);
}

fn keys_wrap_seal_and_shred_in(suite: Suite, aead: Aead) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = master_key_path(dir.path());
    let store = MemKeys::default();
    let vault = Vault::open(
        Box::new(FileMasterKey::open_or_create(&path).expect("master")),
        &store,
        HashSet::new(),
        suite,
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
    assert_eq!(vault.aead(), aead);
    let wrapped = store.wrapped_key(&id).expect("read").expect("stored");
    assert_eq!(wrapped[0], aead.layout(), "the wrapped key names its AEAD");
    let sealed = seal_private(vault.aead(), &key, &id, b"aad", b"secret record").expect("seal");
    assert_eq!(sealed[KEY_ID_BYTES], aead.layout(), "the record names its AEAD");
    assert_eq!(sealed_key_id(&sealed).expect("id"), id);
    // A second vault over the same store and master key reads it back.
    let again = Vault::open(
        Box::new(FileMasterKey::open_or_create(&path).expect("master")),
        &store,
        HashSet::new(),
        suite,
    )
    .expect("vault");
    assert_eq!(again.document_id("t", "c-1"), id, "the index key is persisted");
    let k2 = again.key_for_reading(&id, &store).expect("read").expect("present");
    assert_eq!(open_private(&k2, b"aad", &sealed).expect("open"), b"secret record");
    assert!(open_private(&k2, b"other aad", &sealed).is_err());
    // A value sealed with the other AEAD (before a log's suite changed)
    // still opens: the layout byte, not the vault, picks the AEAD.
    let other = if aead == Aead::Sm4Gcm { Aead::Aes256Gcm } else { Aead::Sm4Gcm };
    let old = seal_private(other, &key, &id, b"aad", b"older").expect("seal");
    assert_eq!(open_private(&k2, b"aad", &old).expect("open"), b"older");
    vault.mark_erased(&id);
    assert!(matches!(vault.key_for_writing(&id, &store), Err(LedgerError::Gone(_))));
}

/// A rotation's switch: a new key not yet written is re-wrapped under the
/// new epoch, stored keys are re-wrapped in a batch, and a key an erasure
/// holds is never written back.
#[test]
fn a_rotation_rewraps_pending_and_stored_keys_but_not_an_erased_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    FileMasterKey::open_or_create(&master_key_path(dir.path())).expect("epoch 0");
    let ring = std::sync::Arc::new(crate::epochs::MasterRing::open(dir.path()).expect("ring"));
    let store = MemKeys::default();
    let vault = Vault::open(Box::new(ring.clone()), &store, HashSet::new(), Suite::Ed25519Sha256)
        .expect("vault");
    let (stored, pending, erased) =
        (vault.document_id("t", "a"), vault.document_id("t", "b"), vault.document_id("t", "c"));
    for id in [stored, erased] {
        let k = vault.key_for_writing(&id, &store).expect("key");
        store.put_wrapped_key(&id, k.new_wrapped.as_deref().expect("new")).expect("put");
        vault.mark_durable(&[id]);
    }
    let in_flight = vault.key_for_writing(&pending, &store).expect("key");
    let old_wrap = in_flight.new_wrapped.clone().expect("new");
    vault.mark_erased(&erased);

    assert_eq!(ring.add_epoch(None).expect("epoch 1"), 1);
    vault.rewrap_pending().expect("pending");
    let again = vault.key_for_writing(&pending, &store).expect("cached");
    assert_eq!(split_wrapped(again.new_wrapped.as_deref().expect("pending")).expect("e").0, 1);
    // A clone taken before the switch is brought under epoch 1 when written.
    let now = vault.current_wrap(&pending, &old_wrap).expect("converted");
    assert_eq!(split_wrapped(&now).expect("e").0, 1);
    assert_eq!(*ring.unwrap(&now, &key_aad(&pending)).expect("opens"), *in_flight.key);

    let items: Vec<(KeyId, Vec<u8>)> =
        store.0.lock().expect("lock").iter().map(|(k, v)| (*k, v.clone())).collect();
    let done = vault.rewrap_stored(&store, &items).expect("rewrap");
    assert_eq!(done, Rewrapped { rewrapped: 2, held: 1 }, "the index key and `a`; `c` held");
    let epoch_of = |id: &KeyId| {
        let w = store.wrapped_key(id).expect("read").expect("stored");
        split_wrapped(&w).expect("layout").0
    };
    assert_eq!((epoch_of(&stored), epoch_of(&INDEX_KEY_ID), epoch_of(&erased)), (1, 1, 0));
    let again = vault.rewrap_stored(&store, &items[..0]).expect("nothing");
    assert_eq!(again, Rewrapped::default());
}

/// Counts the store's reads of wrapped keys: single and batched.
#[derive(Default)]
struct CountingKeys {
    keys: MemKeys,
    single: std::sync::atomic::AtomicUsize,
    batched: std::sync::atomic::AtomicUsize,
}
impl KeyStore for CountingKeys {
    fn wrapped_key(&self, id: &KeyId) -> Result<Option<Vec<u8>>> {
        self.single.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.keys.wrapped_key(id)
    }
    fn wrapped_keys_of(&self, ids: &[KeyId]) -> Result<Vec<Option<Vec<u8>>>> {
        self.batched.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ids.iter().map(|id| self.keys.wrapped_key(id)).collect()
    }
    fn put_wrapped_key(&self, id: &KeyId, wrapped: &[u8]) -> Result<()> {
        self.keys.put_wrapped_key(id, wrapped)
    }
    fn vault_suite(&self) -> Result<Option<Vec<u8>>> {
        self.keys.vault_suite()
    }
    fn put_vault_suite(&self, name: &[u8]) -> Result<()> {
        self.keys.put_vault_suite(name)
    }
}

/// A request's document keys come in one read: a stored key is the
/// stored one, a new document's key is new and pending (written with
/// its first record), an erased document gets none, and sealing then
/// reads nothing more.
#[test]
fn a_prefetch_reads_a_requests_keys_in_one_go() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = master_key_path(dir.path());
    let store = CountingKeys::default();
    let open = || {
        let master = FileMasterKey::open_or_create(&path).expect("master");
        Vault::open(Box::new(master), &store, HashSet::new(), Suite::Ed25519Sha256).expect("vault")
    };
    let (old, new, erased) = (
        open().document_id("t", "old"),
        open().document_id("t", "new"),
        open().document_id("t", "x"),
    );
    // `old` has a stored key, written by an earlier process.
    let first = open();
    let stored = first.key_for_writing(&old, &store).expect("key");
    store.put_wrapped_key(&old, stored.new_wrapped.as_deref().expect("new")).expect("put");
    let vault = open();
    vault.mark_erased(&erased);
    let reads = |s: &CountingKeys| {
        use std::sync::atomic::Ordering::Relaxed;
        (s.single.load(Relaxed), s.batched.load(Relaxed))
    };
    let before = reads(&store);
    vault.prefetch_for_writing(&[old, new, erased, new], &store).expect("prefetch");
    assert_eq!(reads(&store), (before.0, before.1 + 1), "one batched read");
    let k_old = vault.key_for_writing(&old, &store).expect("old");
    assert_eq!(*k_old.key, *stored.key, "the stored key, unwrapped");
    assert!(k_old.new_wrapped.is_none(), "already stored");
    let k_new = vault.key_for_writing(&new, &store).expect("new");
    assert!(k_new.new_wrapped.is_some(), "a new key, pending its first write");
    assert_eq!(*vault.key_for_writing(&new, &store).expect("again").key, *k_new.key);
    assert!(matches!(vault.key_for_writing(&erased, &store), Err(LedgerError::Gone(_))));
    assert_eq!(reads(&store), (before.0, before.1 + 1), "sealing read nothing more");
    // Everything cached: a second prefetch reads nothing.
    vault.prefetch_for_writing(&[old, new], &store).expect("prefetch");
    assert_eq!(reads(&store), (before.0, before.1 + 1));
}
