//! The evidence ledger's storage and sequencing.
//!
//! In scope: the store (one narrow module, [`store`], over RocksDB or
//! PostgreSQL, [`pg`]), the
//! group-commit sequencer (the log's one writer), the Merkle tree state kept
//! as RFC 9162 stored hashes (so any proof reads O(log n) hashes and memory
//! stays flat as the log grows), checkpoint signing with the log key (a
//! file, or a PKCS#11 token: [`pkcs11`], [`logkey`]), the
//! idempotency and document indexes, the trusted-issuer and token
//! registries, and what keeps the store trustworthy over years: the store
//! audit, backup and restore, and the high-water mark of checkpoints
//! handed out (docs/durability.md).
//!
//! Out of scope: HTTP, authentication policy, anchoring schedules, and every
//! check a court runs (those live in the `verifier` crate, which this crate
//! uses to validate what it writes).
#![forbid(unsafe_code)]

mod attester;
pub mod audit;
pub mod backup;
mod datadir;
pub mod epochs;
mod erase;
pub mod error;
pub mod fault;
pub mod fsutil;
pub mod highwater;
mod ids;
mod ingest;
pub mod issuer_cas;
pub mod keys;
mod ledger;
mod log;
pub mod logkey;
mod lookup;
pub mod pg;
pub mod pglease;
pub mod pgstats;
mod pgtls;
pub mod pkcs11;
mod proofs;
mod records;
mod redact;
pub mod registry;
mod rekey;
mod rotation;
pub mod sealing;
mod sequencer;
pub mod store;
pub mod tiles;
mod tree;
mod types;
mod util;
pub mod vault;

pub use attester::{LOG_ISSUER, OPERATOR_ACTOR};
pub use datadir::{configured_store, InitKeys, STORE_FILE};
pub use erase::{Cleanup, MAX_REASON_CHARS};
pub use error::LedgerError;
pub use ids::{check_id, service_document, subject_document, RESERVED_DOCUMENT_PREFIXES};
pub use ingest::MAX_TIMESTAMP_SKEW_SECS;
pub use ledger::master::{rotate_master_key, rotate_master_key_prepare, rotate_offline};
pub use ledger::{Ledger, LedgerOptions, LedgerStatus};
pub use records::Opening;
pub use redact::Redacted;
pub use registry::{
    IssuerRecord, Role, TokenRecord, TsaRecord, INTEGRATION_ISSUER_PREFIX, MAX_NEW_ISSUER_NAME,
    PLATFORM_TENANT, TENANT_ISSUER_PREFIX,
};
pub use rekey::{RotationPhase, RotationStatus};
pub use sequencer::GroupStats;
pub use store::StoreConfig;
pub use types::Receipt;
pub use util::now_rfc3339;
