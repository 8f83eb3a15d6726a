//! Durable anchoring state in the ledger's store: the checkpoints sent to
//! partners, their cosignatures, each partner's progress, and the latest
//! anchored checkpoint.
//!
//! Keys (in the ledger's auxiliary family; sizes big-endian):
//! `anchor/cp/<size>` -> the log-signed checkpoint note;
//! `anchor/cosig/<size>/<name>` -> a cosignature line;
//! `anchor/partner/<name>` -> [`PartnerState`] JSON;
//! `anchor/latest` -> size of the latest anchored checkpoint.

use std::collections::BTreeMap;

use ledger::Ledger;
use serde::{Deserialize, Serialize};
use verifier::anykey::AnyVerifier;
use verifier::checkpoint::SignedCheckpoint;
use verifier::note::{Note, NoteSignature};

use crate::config::AnchorConfig;
use crate::error::{AnchorError, Result};

const LATEST: &[u8] = b"anchor/latest";
const TSA_LATEST: &[u8] = b"anchor/tsa_latest";

fn tsa_key(size: u64) -> Vec<u8> {
    [b"anchor/tsa/".as_slice(), &size.to_be_bytes()].concat()
}

/// Prefix of the checkpoints sent to partners (`anchor/cp/<size>`), which
/// the store audit verifies and matches against the leaves.
pub const CHECKPOINT_PREFIX: &[u8] = b"anchor/cp/";

fn cp_key(size: u64) -> Vec<u8> {
    [CHECKPOINT_PREFIX, &size.to_be_bytes()].concat()
}

fn cosig_prefix(size: u64) -> Vec<u8> {
    [b"anchor/cosig/".as_slice(), &size.to_be_bytes(), b"/"].concat()
}

fn partner_key(name: &str) -> Vec<u8> {
    [b"anchor/partner/".as_slice(), name.as_bytes()].concat()
}

/// One partner's progress, persisted after every attempt.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerState {
    /// Size of the latest checkpoint it cosigned (0: none).
    pub last_size: u64,
    /// Unix time of its latest cosignature.
    pub last_cosigned_unix: u64,
    /// Unix time of the latest attempt.
    pub last_attempt_unix: u64,
    /// The latest error, cleared on success.
    pub last_error: Option<String>,
    /// Failures since the last success (drives the backoff).
    pub consecutive_failures: u32,
    /// Unix time before which a failing partner is not asked again
    /// (unless a round is requested on demand).
    #[serde(default)]
    pub retry_at_unix: u64,
    /// Cosignatures obtained, in all.
    pub successes: u64,
    /// Failures by kind (unreachable, refused, bad_proof, ...), in all.
    pub failures: BTreeMap<String, u64>,
    /// Set when the witness reported a fork or a rollback: it is not asked
    /// again until an operator clears it (`evidence-ledger witness
    /// clear-alarm`), having read the evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm: Option<Alarm>,
}

/// A witness's report that the log's history and its own disagree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alarm {
    /// `inconsistent` (422: our proof does not extend what it holds),
    /// `frozen` (it froze our log after seeing a fork), `rollback` (it
    /// reports a size below one it cosigned for us), `witness_ahead` (it
    /// holds a larger tree of our log than we have).
    pub kind: String,
    /// When (unix seconds).
    pub detected_unix: u64,
    /// The witness's words.
    pub message: String,
    /// The evidence file, relative to the ledger's data directory.
    pub evidence: Option<String>,
}

/// A checkpoint whose cosignatures meet the quorum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnchoredCheckpoint {
    /// Tree size.
    pub size: u64,
    /// The signed note: the log's signature, then every cosignature held.
    pub note: String,
    /// Who cosigned, and when (unix seconds).
    pub cosigners: Vec<(String, u64)>,
}

/// Records the checkpoint sent to partners for `size`.
pub fn record_checkpoint(ledger: &Ledger, size: u64, note: &[u8]) -> Result<()> {
    Ok(ledger.aux_put(&cp_key(size), note)?)
}

/// Records a partner's cosignature of the checkpoint of `size`.
pub fn record_cosignature(ledger: &Ledger, size: u64, sig: &NoteSignature) -> Result<()> {
    let key = [cosig_prefix(size), sig.name.as_bytes().to_vec()].concat();
    Ok(ledger.aux_put(&key, sig.to_line().as_bytes())?)
}

/// The cosignatures held for the checkpoint of `size`.
pub fn cosignatures(ledger: &Ledger, size: u64) -> Result<Vec<NoteSignature>> {
    ledger
        .aux_scan(&cosig_prefix(size))?
        .into_iter()
        .map(|(_, v)| {
            let line = String::from_utf8(v).map_err(|e| AnchorError::Corrupt(e.to_string()))?;
            NoteSignature::parse_line(line.trim_end_matches('\n'))
                .map_err(|e| AnchorError::Corrupt(e.to_string()))
        })
        .collect()
}

/// The checkpoint of `size` with every cosignature held for it, and who
/// cosigned when (each cosignature verified against the configured vkeys).
pub fn cosigned_checkpoint(
    ledger: &Ledger,
    config: &AnchorConfig,
    size: u64,
) -> Result<Option<AnchoredCheckpoint>> {
    let Some(bytes) = ledger.aux_get(&cp_key(size))? else {
        return Ok(None);
    };
    let mut note = Note::parse(&bytes).map_err(|e| AnchorError::Corrupt(e.to_string()))?;
    let mut cosigners = Vec::new();
    for sig in cosignatures(ledger, size)? {
        let Some(p) = config.partners.iter().find(|p| p.name == sig.name) else {
            continue;
        };
        let Ok(v) = AnyVerifier::from_vkey(&p.vkey) else {
            continue;
        };
        if let Ok(t) = v.verify_cosignature(&note.text, &sig) {
            cosigners.push((sig.name.clone(), t));
            note.signatures.push(sig);
        }
    }
    let note =
        String::from_utf8(note.to_bytes()).map_err(|e| AnchorError::Corrupt(e.to_string()))?;
    Ok(Some(AnchoredCheckpoint { size, note, cosigners }))
}

/// Marks `size` anchored if it is newer than the latest anchored size.
pub fn mark_anchored(ledger: &Ledger, size: u64) -> Result<()> {
    if latest_anchored_size(ledger)?.is_some_and(|s| s >= size) {
        return Ok(());
    }
    Ok(ledger.aux_put(LATEST, &size.to_be_bytes())?)
}

/// Size of the latest anchored checkpoint.
pub fn latest_anchored_size(ledger: &Ledger) -> Result<Option<u64>> {
    read_size(ledger, LATEST)
}

fn read_size(ledger: &Ledger, key: &[u8]) -> Result<Option<u64>> {
    let Some(b) = ledger.aux_get(key)? else {
        return Ok(None);
    };
    let arr: [u8; 8] = b.as_slice().try_into().map_err(|_| {
        AnchorError::Corrupt(format!("{} is not a size", String::from_utf8_lossy(key)))
    })?;
    Ok(Some(u64::from_be_bytes(arr)))
}

/// The latest anchored checkpoint with its cosignatures.
pub fn latest_anchored(
    ledger: &Ledger,
    config: &AnchorConfig,
) -> Result<Option<AnchoredCheckpoint>> {
    match latest_anchored_size(ledger)? {
        None => Ok(None),
        Some(size) => cosigned_checkpoint(ledger, config, size),
    }
}

/// A partner's stored progress.
pub fn partner_state(ledger: &Ledger, name: &str) -> Result<PartnerState> {
    match ledger.aux_get(&partner_key(name))? {
        None => Ok(PartnerState::default()),
        Some(b) => serde_json::from_slice(&b).map_err(|e| AnchorError::Corrupt(e.to_string())),
    }
}

/// Persists a partner's progress.
pub fn save_partner_state(ledger: &Ledger, name: &str, state: &PartnerState) -> Result<()> {
    let bytes = serde_json::to_vec(state).map_err(|e| AnchorError::Corrupt(e.to_string()))?;
    Ok(ledger.aux_put(&partner_key(name), &bytes)?)
}

/// Clears a witness's alarm so that it is asked again; returns the alarm.
pub fn clear_alarm(ledger: &Ledger, name: &str) -> Result<Option<Alarm>> {
    let mut state = partner_state(ledger, name)?;
    let alarm = state.alarm.take();
    if alarm.is_some() {
        state.consecutive_failures = 0;
        state.retry_at_unix = 0;
        save_partner_state(ledger, name, &state)?;
    }
    Ok(alarm)
}

/// Parses the ledger's latest checkpoint note.
pub(crate) fn parse_checkpoint(note: &str) -> Result<SignedCheckpoint> {
    SignedCheckpoint::parse(note.as_bytes()).map_err(|e| AnchorError::Corrupt(e.to_string()))
}

/// A TSA's token over the body of the checkpoint of `size`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointTimestamp {
    /// Tree size of the checkpoint.
    pub size: u64,
    /// The log-signed checkpoint note whose body was timestamped.
    pub checkpoint: String,
    /// Name of the TSA.
    pub tsa: String,
    /// DER RFC 3161 TimeStampToken over SHA-256 of the checkpoint body.
    pub token: Vec<u8>,
}

/// Records a TSA token over the checkpoint of `size`.
pub fn record_timestamp(ledger: &Ledger, size: u64, tsa: &str, token: &[u8]) -> Result<()> {
    let value = [&(tsa.len() as u16).to_be_bytes()[..], tsa.as_bytes(), token].concat();
    ledger.aux_put(&tsa_key(size), &value)?;
    if latest_timestamped_size(ledger)?.is_none_or(|s| s < size) {
        ledger.aux_put(TSA_LATEST, &size.to_be_bytes())?;
    }
    Ok(())
}

/// The TSA token over the checkpoint of `size`, if one was obtained.
pub fn checkpoint_timestamp(ledger: &Ledger, size: u64) -> Result<Option<CheckpointTimestamp>> {
    let Some(v) = ledger.aux_get(&tsa_key(size))? else {
        return Ok(None);
    };
    let bad = || AnchorError::Corrupt("checkpoint timestamp".into());
    let n = u16::from_be_bytes(v.get(..2).ok_or_else(bad)?.try_into().map_err(|_| bad())?) as usize;
    let tsa = String::from_utf8(v.get(2..2 + n).ok_or_else(bad)?.to_vec()).map_err(|_| bad())?;
    let token = v.get(2 + n..).ok_or_else(bad)?.to_vec();
    let checkpoint = ledger.aux_get(&cp_key(size))?.ok_or_else(bad)?;
    let checkpoint = String::from_utf8(checkpoint).map_err(|_| bad())?;
    Ok(Some(CheckpointTimestamp { size, checkpoint, tsa, token }))
}

/// Size of the newest checkpoint with a TSA token.
pub fn latest_timestamped_size(ledger: &Ledger) -> Result<Option<u64>> {
    read_size(ledger, TSA_LATEST)
}
