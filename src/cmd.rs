//! What every command of the operator CLI shares: the result a command
//! returns, the tokio runtime it runs async work on, and how it opens a
//! data directory.
//!
//! It sits below the argument parser (`cli`) and the commands it dispatches
//! to (`cli::*`, `demo`, `load`, `maint`, `remote`), so that none of them
//! imports the parser that calls it.

use std::path::Path;

use ledger::{Ledger, LedgerOptions};

/// A CLI failure, printed as `error: ...`.
pub type CliResult = Result<(), String>;

/// A tokio runtime for the server.
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())
}

/// Opens a data directory to look only; works beside a running server.
pub fn look(data: &Path) -> Result<Ledger, String> {
    Ledger::open_read_only(data).map_err(|e| e.to_string())
}

/// Opens a data directory for an offline command, with a clear word when a
/// running server holds it (its RocksDB lock, or its PostgreSQL store's
/// sequencer lease).
pub fn open(data: &Path) -> Result<Ledger, String> {
    let store = ledger::configured_store(data).map_err(|e| e.to_string())?;
    Ledger::open(data, LedgerOptions { store, ..LedgerOptions::default() }).map_err(|e| {
        let s = e.to_string();
        if s.contains("lock") || s.contains("is the sequencer") {
            format!(
                "{s}\nthe store is in use by a running server: stop it, or use the admin API \
                 (token, tenant, witness, tsa, anchor policy: --server URL with \
                 EVIDENCE_LEDGER_TOKEN set)"
            )
        } else {
            s
        }
    })
}

/// Reads a PEM CA bundle given with `--ca-cert`.
pub fn read_ca(path: Option<&Path>) -> Result<Option<String>, String> {
    path.map(|p| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display())))
        .transpose()
}
