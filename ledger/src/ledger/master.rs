//! The ledger's master key rotation calls (docs/long-term.md, "Master key
//! rotation"): begin one while serving, ask where it is, or run one to its
//! end (the offline `rotate-master-key`).

use std::path::Path;

use super::{Ledger, LedgerOptions};
use crate::error::{LedgerError, Result};
use crate::pkcs11::Pkcs11Uri;
use crate::rekey::{Rekey, RotationStatus};

impl Ledger {
    fn rekey(&self) -> Result<&std::sync::Arc<Rekey>> {
        self.inner.rekey.as_ref().ok_or_else(|| {
            LedgerError::InvalidRequest(
                "this ledger was opened read-only: it rotates no master key".into(),
            )
        })
    }

    /// Begins a master key rotation while serving: a new key (a file, or
    /// a token key: `to`, or by default a new label in the current key's
    /// token) wraps every new document key at once; the stored ones are
    /// re-wrapped in the background, and the older keys destroyed once no
    /// wrap names them. Refused while one runs (409), changing nothing.
    pub fn rotate_master_key(&self, to: Option<Pkcs11Uri>) -> Result<RotationStatus> {
        self.rekey()?.begin(to)
    }

    /// Where the master key rotation is (`Idle` when none runs).
    pub fn master_key_status(&self) -> Result<RotationStatus> {
        Ok(self.rekey()?.status())
    }
}

/// The offline `rotate-master-key` (server stopped; RocksDB or
/// PostgreSQL, file or token key): opens the ledger as its one writer,
/// finishes a rotation cut short or begins one (into the token `to`
/// names, if given), runs it to its end, and closes. Returns the status.
pub fn rotate_offline(dir: &Path, to: Option<Pkcs11Uri>) -> Result<RotationStatus> {
    let opts =
        LedgerOptions { store: crate::datadir::configured_store(dir)?, ..Default::default() };
    let ledger = Ledger::open(dir, opts)?;
    let rekey = ledger.rekey()?.clone();
    // A resumed rotation's thread is stopped; this thread finishes it.
    rekey.halt_background();
    if rekey.status().retiring_epochs.is_empty() {
        rekey.begin_quiet(to)?;
    }
    rekey.run_to_end()?;
    let status = rekey.status();
    ledger.close();
    Ok(status)
}

/// Rotates the master key of a stopped ledger ([`rotate_offline`], into a
/// new key where the current one is); returns how many stored keys were
/// re-wrapped.
pub fn rotate_master_key(dir: &Path) -> Result<usize> {
    Ok(rotate_offline(dir, None)?.rewrapped as usize)
}

/// The first half of [`rotate_master_key`]: a new key and every stored
/// key re-wrapped under it, the older key not yet destroyed (for the
/// crash-recovery tests; the next writable open finishes it).
pub fn rotate_master_key_prepare(dir: &Path) -> Result<usize> {
    let opts =
        LedgerOptions { store: crate::datadir::configured_store(dir)?, ..Default::default() };
    let ledger = Ledger::open(dir, opts)?;
    let rekey = ledger.rekey()?.clone();
    rekey.halt_background();
    if rekey.status().retiring_epochs.is_empty() {
        rekey.begin_quiet(None)?;
    }
    let n = rekey.rewrap_all()?;
    ledger.close();
    Ok(n)
}
