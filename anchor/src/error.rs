//! The one error type of the anchor crate.

use thiserror::Error;

/// Errors of anchoring configuration and state.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AnchorError {
    /// A configuration value that makes no sense; nothing was changed.
    #[error("invalid anchoring configuration: {0}")]
    InvalidConfig(String),
    /// The named partner is not configured.
    #[error("unknown partner {0}")]
    UnknownPartner(String),
    /// The ledger's store failed.
    #[error(transparent)]
    Ledger(#[from] ledger::LedgerError),
    /// A stored anchoring record does not decode.
    #[error("corrupt anchoring record: {0}")]
    Corrupt(String),
}

/// Result alias of the anchor crate.
pub type Result<T, E = AnchorError> = std::result::Result<T, E>;
