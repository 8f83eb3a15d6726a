//! At take-over of a PostgreSQL log (docs/postgres.md, "Rollback and fork
//! detection across nodes"): the database's tree is compared with the
//! newest checkpoint each configured witness cosigned (read from the
//! witness, `GET <url>/<hex SHA-256(origin)>/checkpoint`). A database
//! behind such a checkpoint, or not consistent with it, lost or replaced
//! what the log handed out, and is not served.

use ledger::{Ledger, LedgerError};
use notary_bridge::WitnessClient;
use verifier::checkpoint::SignedCheckpoint;
use verifier::cosignature::verify_cosignature;
use verifier::note::NoteVerifier;
use verifier::proof::verify_consistency;

use crate::config::AnchorConfig;
use crate::error::Result;
use crate::runner::PARTNER_TIMEOUT;

/// Checks the ledger's head against every configured witness's newest
/// cosigned checkpoint of this log. Returns how many witnesses answered
/// with one (a witness that cannot be reached, or holds none, is logged
/// and skipped: its absence must not block a failover; the witnesses
/// still refuse a fork at the next checkpoint). Fails with
/// [`LedgerError::Rollback`] when the database is behind or beside one.
pub fn check_witnessed_head(ledger: &Ledger) -> Result<usize> {
    let config = AnchorConfig::load(ledger)?;
    let log = NoteVerifier::from_vkey(ledger.vkey())
        .map_err(|e| LedgerError::Corrupt(format!("log vkey: {e}")))?;
    let mut checked = 0;
    for p in &config.partners {
        let client =
            WitnessClient::with_options(&p.url, &p.vkey, PARTNER_TIMEOUT, p.ca_pem.as_deref());
        let note = match client.and_then(|c| c.latest_checkpoint(ledger.origin())) {
            Ok(note) => note,
            Err(e) => {
                tracing::warn!(witness = %p.name, "take-over: no cosigned checkpoint read: {e}");
                continue;
            }
        };
        let Some(cp) = cosigned(&note, &log, &p.vkey) else {
            tracing::warn!(witness = %p.name, "take-over: the witness's checkpoint does not verify");
            continue;
        };
        compare(ledger, &p.name, &cp)?;
        checked += 1;
    }
    Ok(checked)
}

/// `note` as a checkpoint signed by the log key and cosigned by `vkey`.
fn cosigned(note: &str, log: &NoteVerifier, vkey: &str) -> Option<SignedCheckpoint> {
    let cp = SignedCheckpoint::verify(note.as_bytes(), log).ok()?;
    let witness = NoteVerifier::from_vkey(vkey).ok()?;
    let ok =
        cp.note.signatures.iter().any(|s| {
            s.name == witness.name && verify_cosignature(&witness, &cp.note.text, s).is_ok()
        });
    ok.then_some(cp)
}

/// The ledger's head must extend `cp` (RFC 9162 §2.1.4 consistency proof
/// from the store, checked here).
fn compare(ledger: &Ledger, witness: &str, cp: &SignedCheckpoint) -> Result<()> {
    let head = ledger.status();
    let (m, n) = (cp.checkpoint.size, head.tree_size);
    if m > n {
        return Err(LedgerError::Rollback(format!(
            "the database holds {n} entries, but witness {witness} cosigned a checkpoint of size \
             {m}: the database lost what the log handed out (a failover to a stale standby or an \
             old backup?); serve it only on purpose, with --allow-rollback"
        ))
        .into());
    }
    let proof = ledger.consistency_proof(m, n)?;
    if verify_consistency(m, n, &cp.checkpoint.root, &head.root, &proof).is_err() {
        return Err(LedgerError::Rollback(format!(
            "the database's tree of size {n} is not consistent with the checkpoint of size {m} \
             that witness {witness} cosigned: it holds another history; serve it only on \
             purpose, with --allow-rollback"
        ))
        .into());
    }
    Ok(())
}
