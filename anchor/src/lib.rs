//! Anchoring: independent partners (notary offices, courts) countersign the
//! log's checkpoints after checking that each extends the last they saw.
//!
//! In scope: the anchoring configuration (partners, schedule, quorum), kept
//! in the ledger's store; per-partner progress with retries, backoff and
//! jitter; the cosignature store and the latest anchored checkpoint; the
//! background [`Anchorer`] that runs rounds on schedule or on demand.
//!
//! Out of scope: the wire (the `notary-bridge` crate speaks c2sp.org
//! tlog-witness), checking cosignatures as a court does (`verifier`), and
//! serving them over HTTP (the service). Anchoring never sits on the ingest
//! path: a round reads the latest checkpoint and consistency proofs from
//! the ledger, and an unavailable partner only delays its own progress.
#![forbid(unsafe_code)]

mod alarm;
pub mod config;
pub mod error;
pub mod manage;
mod round;
mod runner;
pub mod store;
mod takeover;
mod timestamp;

pub use config::{
    check_policy, AnchorConfig, PartnerConfig, Policy, PolicyCheck, Quorum, TsaPartner,
};
pub use error::AnchorError;
pub use runner::{AnchorStatus, Anchorer, PartnerStatus};
pub use store::{Alarm, AnchoredCheckpoint};
pub use takeover::check_witnessed_head;
pub use timestamp::{TsaClient, TsaError};
