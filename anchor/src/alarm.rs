//! A witness that reports a fork or a rollback is an alarm, not a network
//! error: it is not retried, it is logged at error level and counted, and
//! the evidence (our checkpoint, the witness's, and a consistency proof
//! between them from our store) is written under the data directory.
//!
//! `DATA/anchor-alarms/<unix time>-<witness>-<kind>.json`

use ledger::Ledger;
use notary_bridge::{BridgeError, WitnessClient};
use serde::Serialize;
use verifier::checkpoint::{Checkpoint, SignedCheckpoint};
use verifier::note::Note;
use verifier::Hash;

use crate::config::PartnerConfig;
use crate::store::Alarm;

/// Subdirectory of the ledger's data directory holding alarm evidence.
pub const ALARMS_DIR: &str = "anchor-alarms";

/// The alarm kind of a witness's answer, if it is one.
pub(crate) fn classify(err: &BridgeError, size: u64) -> Option<&'static str> {
    match err {
        // tlog-witness (C2SP #280): 422 = the request is inconsistent with
        // what the witness holds; our own proof from our own store failed.
        BridgeError::BadProof(_) => Some("inconsistent"),
        BridgeError::Equivocation { .. } | BridgeError::Frozen { .. } => Some("frozen"),
        // notary-witness answers 403 "log ... is frozen" once it froze us.
        BridgeError::BadLogSignature(m) if m.contains(" is frozen") => Some("frozen"),
        BridgeError::Rollback { .. } => Some("rollback"),
        BridgeError::Conflict { witness_size } if *witness_size > size => Some("witness_ahead"),
        // A witness of the text before C2SP #280 answers a same-size fork
        // with a 409 that carries no size.
        BridgeError::Refused { status: 409, .. } => Some("inconsistent"),
        _ => None,
    }
}

#[derive(Serialize)]
struct Evidence<'a> {
    witness: &'a str,
    url: &'a str,
    kind: &'a str,
    detected_unix: u64,
    message: String,
    /// Our checkpoint, as sent.
    our_checkpoint: &'a str,
    /// The witness's latest cosigned checkpoint of our log, as it serves it.
    witness_checkpoint: Option<String>,
    /// Whether our log key signed the witness's checkpoint (true: our key
    /// signed two histories).
    witness_checkpoint_signed_by_our_key: Option<bool>,
    /// RFC 9162 consistency proof, from our store, from the witness's size
    /// to ours: it does not connect the witness's root to ours.
    proof: Option<ProofRecord>,
    fetch_error: Option<String>,
}

#[derive(Serialize)]
struct ProofRecord {
    old: u64,
    new: u64,
    hashes: Vec<String>,
}

/// Records the alarm: error log line, evidence file. Returns the alarm to
/// store in the partner's state.
pub(crate) fn raise(
    ledger: &Ledger,
    partner: &PartnerConfig,
    client: &WitnessClient,
    ours: &SignedCheckpoint,
    kind: &str,
    err: &BridgeError,
    now: u64,
) -> Alarm {
    let message = err.to_string();
    let our_note = String::from_utf8_lossy(&ours.note.to_bytes()).into_owned();
    tracing::error!(witness = %partner.name, kind, size = ours.checkpoint.size, "ANCHORING ALARM: {message}");
    let mut evidence = Evidence {
        witness: &partner.name,
        url: &partner.url,
        kind,
        detected_unix: now,
        message: message.clone(),
        our_checkpoint: &our_note,
        witness_checkpoint: None,
        witness_checkpoint_signed_by_our_key: None,
        proof: None,
        fetch_error: None,
    };
    match client.latest_checkpoint(&ours.checkpoint.origin) {
        Ok(theirs) => {
            let parsed = Note::parse(theirs.as_bytes()).ok();
            let body = parsed.as_ref().and_then(|n| Checkpoint::parse_body(&n.text).ok());
            evidence.witness_checkpoint_signed_by_our_key = parsed.as_ref().map(|n| {
                verifier::anykey::AnyVerifier::from_vkey(ledger.vkey())
                    .is_ok_and(|v| v.verify_note(n).is_ok())
            });
            if let Some(b) = body.filter(|b| b.size > 0 && b.size < ours.checkpoint.size) {
                if let Ok(hashes) = ledger.consistency_proof(b.size, ours.checkpoint.size) {
                    let hashes = hashes.iter().map(Hash::to_base64).collect();
                    evidence.proof =
                        Some(ProofRecord { old: b.size, new: ours.checkpoint.size, hashes });
                }
            }
            evidence.witness_checkpoint = Some(theirs);
        }
        Err(e) => evidence.fetch_error = Some(e.to_string()),
    }
    let path = save(ledger, &partner.name, kind, now, &evidence);
    Alarm { kind: kind.to_string(), detected_unix: now, message, evidence: path }
}

fn save(ledger: &Ledger, witness: &str, kind: &str, now: u64, ev: &Evidence) -> Option<String> {
    let safe: String = witness
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '_' })
        .collect();
    let name = format!("{now}-{safe}-{kind}.json");
    let dir = ledger.dir().join(ALARMS_DIR);
    let written = std::fs::create_dir_all(&dir)
        .map_err(|e| BridgeError::storage(dir.display(), e))
        .and_then(|()| {
            let bytes =
                serde_json::to_vec_pretty(ev).map_err(|e| BridgeError::Storage(e.to_string()))?;
            notary_bridge::store::write_atomic(&dir, &name, &bytes)
        });
    match written {
        Ok(()) => Some(format!("{ALARMS_DIR}/{name}")),
        Err(e) => {
            tracing::error!(witness, "cannot write alarm evidence: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forks_and_rollbacks_are_alarms_and_network_trouble_is_not() {
        let size = 10;
        let alarm = |e: BridgeError| classify(&e, size);
        assert_eq!(alarm(BridgeError::BadProof("no".into())), Some("inconsistent"));
        assert_eq!(
            alarm(BridgeError::Refused { status: 409, message: String::new() }),
            Some("inconsistent")
        );
        let frozen = BridgeError::BadLogSignature("log o is frozen: two roots".into());
        assert_eq!(alarm(frozen), Some("frozen"));
        assert_eq!(alarm(BridgeError::Rollback { witness_size: 3, cosigned: 7 }), Some("rollback"));
        assert_eq!(alarm(BridgeError::Conflict { witness_size: 11 }), Some("witness_ahead"));
        for calm in [
            BridgeError::Conflict { witness_size: 9 },
            BridgeError::Transport("refused".into()),
            BridgeError::Unavailable { status: 503, message: String::new() },
            BridgeError::BadLogSignature("no signature by ...".into()),
            BridgeError::UnknownLog("o".into()),
        ] {
            assert_eq!(classify(&calm, size), None, "{calm}");
        }
    }
}
