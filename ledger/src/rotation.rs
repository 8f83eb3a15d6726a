//! The recovery, at open, of an offline master key rotation cut short by
//! a version before master-key epochs (which wrote `keys/master.new` and
//! renamed it over `keys/master.key`). Rotations now make epoch keys
//! ([`crate::epochs`], [`crate::rekey`]).
//!
//! Owns `keys/master.new`. Calls the store's wrapped keys and the vault's
//! master key files.

use std::path::Path;

use crate::error::Result;
use crate::fsutil::sync_dir;
use crate::store::Store;
use crate::vault::{master_key_path, FileMasterKey};

/// After a crash inside an old-style offline rotation: if the store's keys are
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
