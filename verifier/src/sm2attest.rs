//! The own attestations of an `sm2-sm3` log (issue 26): the events the
//! log writes itself (registry changes, erasures) carry an attestation by
//! the reserved issuer `evidence-ledger` whose 64 signature bytes are SM2
//! `r || s` under the log's SM2 key (default distinguishing identifier)
//! over the same v2 attestation message an Ed25519 issuer signs.
//!
//! Owns only that dispatch; the message is [`crate::entry`]'s and the
//! algorithm [`crate::sm2note`]'s.

use crate::entry::{verify_attestations, Event, IssuerKeys};
use crate::sm2note::Sm2Verifier;
use crate::VerifyError;

/// [`verify_attestations`], with the attestations by `log_issuer` checked
/// as SM2 under `log_key` and every other one as Ed25519 under `keys`.
pub fn verify_attestations_sm2_log(
    tenant: &str,
    events: &[Event],
    keys: &IssuerKeys,
    log_issuer: &str,
    log_key: &Sm2Verifier,
) -> Result<(), (usize, VerifyError)> {
    for (pos, event) in events.iter().enumerate() {
        for (j, a) in event.attestations.iter().enumerate().filter(|(_, a)| a.issuer == log_issuer)
        {
            log_key.verify_raw(&event.attestation_message(j, tenant), &a.signature).map_err(
                |e| {
                    (
                        pos,
                        VerifyError::BadSignature(format!(
                            "attestations[{j}] by {log_issuer}: {e}"
                        )),
                    )
                },
            )?;
        }
        let mut others = event.clone();
        others.attestations.retain(|a| a.issuer != log_issuer);
        verify_attestations(tenant, std::slice::from_ref(&others), keys)
            .map_err(|(_, e)| (pos, e))?;
    }
    Ok(())
}
