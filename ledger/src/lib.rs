//! The evidence ledger's storage and sequencing.
//!
//! In scope: the store (one narrow module, [`store`], over RocksDB or
//! PostgreSQL, [`pg`]), the
//! group-commit sequencer (the log's one writer), the Merkle tree state kept
//! as RFC 9162 stored hashes (so any proof reads O(log n) hashes and memory
//! stays flat as the log grows), checkpoint signing with the log key, the
//! idempotency and document indexes, the trusted-issuer and token
//! registries, and what keeps the store trustworthy over years: the store
//! audit, backup and restore, and the high-water mark of checkpoints
//! handed out (docs/durability.md).
//!
//! Out of scope: HTTP, authentication policy, anchoring schedules, and every
//! check a court runs (those live in the `verifier` crate, which this crate
//! uses to validate what it writes).
#![forbid(unsafe_code)]

pub mod audit;
pub mod backup;
pub mod error;
pub mod fsutil;
pub mod highwater;
pub mod keys;
mod ledger;
pub mod pg;
pub mod registry;
mod sequencer;
pub use sequencer::GroupStats;
pub mod store;
pub mod tiles;
mod tree;
pub mod vault;

pub use error::LedgerError;
pub use ledger::{
    check_id, configured_store, now_rfc3339, rotate_master_key, rotate_master_key_prepare, Ledger,
    LedgerOptions, LedgerStatus, Opening, Receipt, LOG_ISSUER, MAX_NEW_ISSUER_NAME,
    MAX_REASON_CHARS, MAX_TIMESTAMP_SKEW_SECS, OPERATOR_ACTOR, STORE_FILE,
};
pub use registry::{
    IssuerRecord, Role, TokenRecord, TsaRecord, PLATFORM_TENANT, TENANT_ISSUER_PREFIX,
};
pub use store::StoreConfig;
