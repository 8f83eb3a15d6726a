//! The one error type of the ledger crate.

use thiserror::Error;
use verifier::VerifyError;

/// Errors of the ledger, sorted by what the caller does next.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// An event in a submitted batch fails validation or an attestation
    /// check; nothing of the batch was written.
    #[error("event {position}: {source}")]
    Rejected {
        /// Zero-based position of the offending event in the batch.
        position: usize,
        /// The failed check.
        #[source]
        source: VerifyError,
    },
    /// The event id was used before, for different content; nothing of the
    /// batch was written.
    #[error("event {position}: event_id {event_id:?} already recorded with different content")]
    Conflict {
        /// Zero-based position of the offending event in the batch.
        position: usize,
        /// The event id.
        event_id: String,
    },
    /// A request that makes no sense (index beyond the tree, empty batch, ...).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// Something already exists (init on an initialised directory, issuer name taken).
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// Something requested is not there.
    #[error("not found: {0}")]
    NotFound(String),
    /// The document was erased (evidence v2): it takes no new events.
    #[error("gone: {0}")]
    Gone(String),
    /// The sequencer stopped (shutdown or a fatal storage error); retry later.
    #[error("ledger unavailable: {0}")]
    Unavailable(String),
    /// RocksDB failed. The batch in flight, if any, was not acknowledged.
    #[error("storage: {0}")]
    Storage(#[from] rocksdb::Error),
    /// PostgreSQL failed (connection, statement, commit). The batch in
    /// flight, if any, was not acknowledged; a commit whose answer was
    /// lost may still have happened (the sequencer reloads the head).
    #[error("database: {0}")]
    Database(String),
    /// Filesystem error (key files, directories).
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The store is older than (or forked from) a checkpoint this data
    /// directory already handed out; opening it needs `allow_rollback`.
    #[error("rollback refused: {0}")]
    Rollback(String),
    /// Stored data fails an integrity check; the store needs an operator.
    #[error("corrupt store: {0}")]
    Corrupt(String),
}

/// Result alias of the ledger crate.
pub type Result<T, E = LedgerError> = std::result::Result<T, E>;
