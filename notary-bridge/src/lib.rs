//! The partner side of anchoring: the c2sp.org/tlog-witness wire.
//!
//! In scope: the add-checkpoint wire format ([`protocol`]), a blocking
//! client that gets a checkpoint cosigned and re-syncs on 409
//! ([`client::WitnessClient`]), and the witness that notary offices and
//! courts run (`notary-witness` binary): its durable per-log state and fork
//! refusal ([`state`], [`store`]) and its HTTP server ([`server`]).
//!
//! Out of scope: when and whom to ask (the anchor crate), storing
//! cosignatures at the ledger, and the formats and checks themselves
//! (the verifier crate, used here as is).
#![forbid(unsafe_code)]

pub mod client;
pub mod error;
pub mod fork;
pub mod http;
pub mod protocol;
pub mod server;
pub mod signer;
pub mod state;
pub mod store;
pub mod testkit;
pub mod tls;

pub use client::WitnessClient;
pub use error::BridgeError;
pub use state::Witness;
