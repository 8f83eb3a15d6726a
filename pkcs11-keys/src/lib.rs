//! Keys that never leave a hardware module, through PKCS#11 (issue 27),
//! shared by the ledger (log key, master key) and the witness (its
//! cosigning key).
//!
//! In scope: RFC 7512 `pkcs11:` URIs ([`uri`]), loading a module once
//! per process, finding the one token and object a URI names, logged-in
//! sessions ([`Token`]), and Ed25519 key pairs that sign inside the token
//! ([`TokenEd25519`]). Out of scope: what the keys sign or wrap (the
//! ledger's master key, `ledger::pkcs11::TokenMasterKey`, is built on
//! [`Token`]), and files: the callers record URIs, never PINs.
#![forbid(unsafe_code)]

mod ed25519;
mod token;
pub mod uri;

pub use ed25519::TokenEd25519;
pub use token::Token;
pub use uri::{Pkcs11Uri, PIN_ENV};

/// What went wrong with a token key, sorted by what the caller does next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Pkcs11Error {
    /// Fix the configuration: a bad URI, no PIN, a wrong PIN, no such
    /// token or key, a key that could leave the token.
    #[error("{0}")]
    Config(String),
    /// Retry later: the token failed while in use (removed, logged out).
    #[error("{0}")]
    Unavailable(String),
}

/// This crate's result.
pub type Result<T> = std::result::Result<T, Pkcs11Error>;
