//! The evidence-ledger service: the HTTP API over the ledger, the operator
//! CLI, the newcomer's demo and the HTTP load tool.
//!
//! In scope: authentication (bearer tokens bound to a tenant and a role),
//! input limits, mapping every error to a JSON answer with the right status,
//! metrics, graceful shutdown. The formats and checks themselves live in the
//! `verifier` crate; storage and sequencing in `ledger`.
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod certwatch;
pub mod cli;
pub mod cmd;
pub mod demo;
pub mod error;
pub mod ers;
pub mod flows;
pub mod load;
pub mod maint;
pub mod metrics;
pub mod pgmetrics;
pub mod publish;
pub mod remote;
pub mod report;
pub mod server;
pub mod state;
