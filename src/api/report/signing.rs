//! How a report's `report_issued` event is signed, by suite: Ed25519 by
//! the log key on an `ed25519-sha256` log (the log key registered as the
//! issuer [`LOG_ISSUER`]), SM2 by the log's SM2 key on an `sm2-sm3` log
//! (GB/T 32918.2 with SM3 and the identifier `1234567812345678`, 64 bytes
//! `r ‖ s`, over the same attestation v2 message; docs/api.md, "Evidence
//! report"). An SM2 key is no Ed25519 issuer: ingest checks the log's own
//! attestations on an `sm2-sm3` log against the log key itself, and so do
//! both verifiers under a policy that pins it.

use ledger::{Ledger, LedgerError};
use verifier::note::NoteVerifier;
use verifier::suite::Suite;

use super::LOG_ISSUER;
use crate::error::ApiError;

/// `X-Report-Signature-Alg`: the form of `X-Report-Signature`.
pub(super) fn signature_alg(suite: Suite) -> &'static str {
    match suite {
        Suite::Ed25519Sha256 => "ed25519",
        Suite::Sm2Sm3 => "sm2-sm3",
    }
}

/// Registers the log key as the issuer [`LOG_ISSUER`] unless it is
/// already; nothing to register on an `sm2-sm3` log (see the module docs).
pub(super) fn ensure_log_issuer(ledger: &Ledger) -> Result<(), ApiError> {
    if ledger.suite() == Suite::Sm2Sm3 {
        return Ok(());
    }
    let key =
        NoteVerifier::from_vkey(ledger.vkey()).map_err(|e| ApiError::internal("log vkey", e))?.key;
    match ledger.add_issuer(LOG_ISSUER, key.as_bytes()) {
        Ok(_) => Ok(()),
        Err(LedgerError::AlreadyExists(_)) => Err(ApiError::internal(
            "report",
            format!("issuer {LOG_ISSUER} is registered with another key, or revoked"),
        )),
        Err(e) => Err(e.into()),
    }
}
