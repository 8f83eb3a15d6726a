//! One anchoring round: send the ledger's latest checkpoint to every
//! partner that is due, in parallel; store what comes back; mark the
//! checkpoint anchored once the quorum is met.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ledger::Ledger;
use notary_bridge::{BridgeError, WitnessClient};
use rand::Rng;

use crate::config::{AnchorConfig, PartnerConfig};
use crate::error::Result;
use crate::store::{self, PartnerState};
use crate::timestamp::TsaClient;
use verifier::checkpoint::SignedCheckpoint;

/// Longest wait between attempts at a failing partner.
const MAX_BACKOFF_SECS: u64 = 300;

/// What a round did.
#[derive(Debug, Default)]
pub(crate) struct RoundOutcome {
    pub size: u64,
    pub cosigned: Vec<String>,
    pub failed: Vec<(String, String)>,
    pub anchored: bool,
    pub timestamped: bool,
}

pub(crate) fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// When a partner with `failures` consecutive failures may be tried again:
/// exponential backoff with jitter, so partners recovering together are
/// not all hit at once.
pub(crate) fn retry_after(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let base = 1u64 << failures.min(9);
    let secs = base.min(MAX_BACKOFF_SECS) as f64 * rand::thread_rng().gen_range(0.5..1.5);
    Duration::from_secs_f64(secs)
}

/// Whether a partner behind `size` should be asked now. A partner with an
/// alarm is never asked until an operator clears it.
pub(crate) fn partner_due(state: &PartnerState, size: u64, ignore_backoff: bool) -> bool {
    state.alarm.is_none()
        && state.last_size < size
        && (ignore_backoff || now_unix() >= state.retry_at_unix)
}

fn failure_kind(e: &BridgeError) -> &'static str {
    match e {
        BridgeError::Transport(_) | BridgeError::Unavailable { .. } => "unreachable",
        BridgeError::Conflict { .. } => "conflict",
        BridgeError::UnknownLog(_) => "unknown_log",
        BridgeError::BadLogSignature(_) => "refused_signature",
        BridgeError::BadProof(_) => "bad_proof",
        BridgeError::Equivocation { .. } | BridgeError::Frozen { .. } => "frozen",
        BridgeError::Rollback { .. } => "rollback",
        BridgeError::Refused { .. } => "refused",
        BridgeError::BadResponse(_) => "bad_response",
        _ => "local",
    }
}

/// Runs one round for the partners `due` says may be asked, all at once.
/// Answers are stored as they arrive, and the checkpoint is marked
/// anchored as soon as they meet the quorum: a slow witness (bounded by
/// its request timeout) delays only itself, not the anchoring of others.
pub(crate) fn run_round(
    ledger: &Ledger,
    config: &AnchorConfig,
    clients: &[(PartnerConfig, WitnessClient)],
    tsa: Option<&TsaClient>,
    due: impl Fn(&PartnerState, u64) -> bool,
) -> Result<RoundOutcome> {
    let status = ledger.status();
    let size = status.tree_size;
    let mut out = RoundOutcome { size, ..RoundOutcome::default() };
    if size == 0 {
        return Ok(out);
    }
    let cp = store::parse_checkpoint(&status.checkpoint)?;
    store::record_checkpoint(ledger, size, status.checkpoint.as_bytes())?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| -> Result<()> {
        for (p, client) in clients {
            let state = store::partner_state(ledger, &p.name).unwrap_or_default();
            if !due(&state, size) {
                continue;
            }
            let (cp, tx) = (&cp, tx.clone());
            s.spawn(move || {
                let fetch =
                    |old: u64| ledger.consistency_proof(old, size).map_err(|e| e.to_string());
                let result = client.anchor_to(cp, state.last_size, fetch);
                let _ = tx.send((p, client, state, result));
            });
        }
        drop(tx);
        for (p, client, mut state, result) in rx {
            match result {
                Ok(sig) => {
                    store::record_cosignature(ledger, size, &sig)?;
                    succeeded(&mut state, size);
                    out.cosigned.push(p.name.clone());
                }
                Err(e) => {
                    failed(&mut state, failure_kind(&e), e.to_string());
                    match crate::alarm::classify(&e, size) {
                        Some(kind) => {
                            let now = now_unix();
                            state.alarm =
                                Some(crate::alarm::raise(ledger, p, client, &cp, kind, &e, now));
                        }
                        None => tracing::warn!(witness = %p.name, size, "anchoring failed: {e}"),
                    }
                    out.failed.push((p.name.clone(), e.to_string()));
                }
            }
            store::save_partner_state(ledger, &p.name, &state)?;
            if !out.anchored && quorum_held(ledger, config, size)? {
                store::mark_anchored(ledger, size)?;
                out.anchored = true;
            }
        }
        Ok(())
    })?;
    if let Some(t) = tsa {
        out.timestamped = timestamp_round(ledger, t, &cp, size, &due)?;
    }
    if !out.anchored && quorum_held(ledger, config, size)? {
        store::mark_anchored(ledger, size)?;
        out.anchored = true;
    }
    Ok(out)
}

/// Whether the cosignatures stored for `size` meet the quorum (each
/// verified against the configured keys, each key counted once).
fn quorum_held(ledger: &Ledger, config: &AnchorConfig, size: u64) -> Result<bool> {
    let Some(held) = store::cosigned_checkpoint(ledger, config, size)? else {
        return Ok(false);
    };
    Ok(config.quorum_met(held.cosigners.iter().map(|(n, _)| n.as_str())))
}

fn succeeded(state: &mut PartnerState, size: u64) {
    state.last_attempt_unix = now_unix();
    state.last_size = size;
    state.last_cosigned_unix = now_unix();
    state.last_error = None;
    state.consecutive_failures = 0;
    state.retry_at_unix = 0;
    state.successes += 1;
}

fn failed(state: &mut PartnerState, kind: &str, error: String) {
    state.last_attempt_unix = now_unix();
    *state.failures.entry(kind.to_string()).or_default() += 1;
    state.consecutive_failures = state.consecutive_failures.saturating_add(1);
    state.retry_at_unix = now_unix() + retry_after(state.consecutive_failures).as_secs();
    state.last_error = Some(error);
}

/// Timestamps the round's checkpoint with the TSA, when it is due; its
/// progress is kept like a witness's, under `tsa:<name>`.
fn timestamp_round(
    ledger: &Ledger,
    tsa: &TsaClient,
    cp: &SignedCheckpoint,
    size: u64,
    due: &impl Fn(&PartnerState, u64) -> bool,
) -> Result<bool> {
    let key = tsa_state_name(&tsa.partner.name);
    let mut state = store::partner_state(ledger, &key)?;
    if !due(&state, size) {
        return Ok(false);
    }
    let ok = match tsa.timestamp(ledger, cp) {
        Ok(token) => {
            store::record_timestamp(ledger, size, &tsa.partner.name, &token)?;
            succeeded(&mut state, size);
            true
        }
        Err(e) => {
            tracing::warn!(tsa = %tsa.partner.name, size, "timestamping failed: {}", e.message);
            failed(&mut state, e.kind, e.message);
            false
        }
    };
    store::save_partner_state(ledger, &key, &state)?;
    Ok(ok)
}

/// The name a TSA's progress is stored and reported under.
pub(crate) fn tsa_state_name(name: &str) -> String {
    format!("tsa:{name}")
}
