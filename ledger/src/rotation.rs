//! Master key rotation of a stopped ledger: every wrapped key re-wrapped
//! under a new master key in one synced batch, then the old key destroyed;
//! and the recovery of a rotation cut short, at the next open.
//!
//! Owns `keys/master.new` and the rename over `keys/master.key`. Calls the
//! data directory's store choice, the store's wrapped keys and the vault's
//! master key files.

use std::path::Path;

use crate::datadir::{configured_store, DB_DIR};
use crate::error::{LedgerError, Result};
use crate::fsutil::sync_dir;
use crate::store::Store;
use crate::vault::{master_key_path, FileMasterKey};

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
    if crate::datadir::token_master_path(dir).exists() {
        // Nothing is changed: re-wrapping under a second token key is not
        // built yet (docs/architecture.md, "Key ceremony").
        return Err(LedgerError::InvalidRequest(format!(
            "{}'s master key is in a PKCS#11 token: rotate-master-key rotates file master keys \
             only (docs/architecture.md, \"Key ceremony\")",
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
        // Each key keeps the AEAD it was wrapped with (its layout byte):
        // an `sm2-sm3` log's SM4-GCM, or AES-256-GCM.
        let aead = crate::vault::Aead::from_layout(wrapped.first().copied().unwrap_or(0))?;
        batch.put_wrapped_key(id, &crate::vault::MasterKey::wrap_with(&new, aead, &key, &aad)?);
    }
    store.write(batch, true)?;
    Ok(keys.len())
}

/// After a crash inside [`rotate_master_key`]: if the store's keys are
/// wrapped under `master.new`, it becomes `master.key`; if they are
/// still under `master.key`, the unused new key is removed.
pub(crate) fn finish_master_rotation(dir: &Path, store: &Store) -> Result<()> {
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
