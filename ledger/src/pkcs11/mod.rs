//! Keys that never leave a hardware module, through PKCS#11 (issue 27):
//! the master key (AES-256, wraps document keys inside the token,
//! [`master`]) and the log key (Ed25519, signs checkpoints and the log's
//! attestations inside the token), named by RFC 7512 URIs. The URIs,
//! sessions and Ed25519 keys are the `evidence-pkcs11` crate's, shared
//! with the witness; docs/architecture.md ("Keys in a hardware module")
//! says what is promised.
//!
//! Owns the master key in a token and the mapping of token failures to
//! the ledger's errors. Calls the vault's [`crate::vault::MasterKey`]
//! trait.

pub mod master;

pub use master::TokenMasterKey;
pub use pkcs11_keys::{Pkcs11Error, Pkcs11Uri, TokenEd25519 as TokenLogKey, PIN_ENV};

use crate::error::LedgerError;

impl From<Pkcs11Error> for LedgerError {
    fn from(e: Pkcs11Error) -> LedgerError {
        match e {
            Pkcs11Error::Unavailable(m) => LedgerError::Unavailable(m),
            other => LedgerError::InvalidRequest(other.to_string()),
        }
    }
}
