//! The witness's state machine (c2sp.org/tlog-witness, add-checkpoint):
//! per log, the latest cosigned checkpoint, advanced only along a verified
//! consistency proof, persisted before the cosignature leaves.
//!
//! A log that provably equivocates (two roots for one size, or a proof
//! that its new tree extends a different history) is frozen: the evidence
//! is written under `forks/`, the freeze is persisted, and the witness
//! refuses that log from then on, across restarts.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use verifier::checkpoint::Checkpoint;
use verifier::cosignature::CosignatureSigner;
use verifier::note::{Note, NoteSignature, NoteVerifier, ALG_ED25519};
use verifier::proof::verify_consistency;
use verifier::Hash;

use crate::protocol::AddCheckpointRequest;
use crate::store::{self, FrozenLog, LogRecord};
use crate::{fork, BridgeError};

/// At most this many unexplained bad-proof requests are kept per log:
/// anyone can replay a signed checkpoint with a garbage proof.
const MAX_SUSPECT_RECORDS: usize = 64;

/// A witness: its cosigning key and the logs it trusts.
pub struct Witness {
    dir: PathBuf,
    signer: CosignatureSigner,
    /// Logs by origin; a log added with `log add` while serving is picked
    /// up on its first request.
    logs: RwLock<HashMap<String, Arc<LogSlot>>>,
}

struct LogSlot {
    verifier: NoteVerifier,
    /// Held across check and persist, so two requests cannot both advance.
    record: Mutex<LogRecord>,
}

enum Verdict {
    Consistent,
    BadProof(String),
    Fork { reason: String, proof_failed: bool },
}

/// Adds a trusted log by its vkey (an Ed25519 note key); its key name is
/// the origin. Returns the origin. Takes effect at the next `serve`.
pub fn add_log(dir: &Path, vkey: &str) -> Result<String, BridgeError> {
    let verifier =
        NoteVerifier::from_vkey(vkey).map_err(|e| BridgeError::Config(format!("vkey: {e}")))?;
    if verifier.alg != ALG_ED25519 {
        return Err(BridgeError::Config(
            "vkey: a log key must be an Ed25519 note key (type 0x01)".into(),
        ));
    }
    if store::log_exists(dir, &verifier.name) {
        return Err(BridgeError::Config(format!("log {} is already configured", verifier.name)));
    }
    store::save_log(dir, &LogRecord::new(&verifier.name, vkey))?;
    Ok(verifier.name)
}

impl Witness {
    /// Opens a data directory made by [`store::init`].
    pub fn open(dir: &Path) -> Result<Witness, BridgeError> {
        let (name, key) = store::load_identity(dir)?;
        let signer = CosignatureSigner::new(&name, key)
            .map_err(|e| BridgeError::Config(format!("name: {e}")))?;
        let mut logs = HashMap::new();
        for record in store::load_logs(dir)? {
            logs.insert(record.origin.clone(), Arc::new(slot_of(record)?));
        }
        Ok(Witness { dir: dir.to_path_buf(), signer, logs: RwLock::new(logs) })
    }

    /// The slot of `origin`, loading it from disk if it was added since.
    fn slot(&self, origin: &str) -> Result<Arc<LogSlot>, BridgeError> {
        let known = self.logs.read().map_err(|_| poisoned())?.get(origin).cloned();
        if let Some(slot) = known {
            return Ok(slot);
        }
        let record = store::load_logs(&self.dir)?
            .into_iter()
            .find(|r| r.origin == origin)
            .ok_or_else(|| BridgeError::UnknownLog(origin.into()))?;
        let mut logs = self.logs.write().map_err(|_| poisoned())?;
        let slot = logs.entry(origin.to_string()).or_insert(Arc::new(slot_of(record)?));
        Ok(slot.clone())
    }

    /// The witness's key name.
    pub fn name(&self) -> &str {
        self.signer.name()
    }

    /// The witness's cosignature/v1 verifier key.
    pub fn vkey(&self) -> String {
        self.signer.vkey()
    }

    /// A snapshot of every log's record, sorted by origin.
    pub fn records(&self) -> Result<Vec<LogRecord>, BridgeError> {
        let mut out = Vec::new();
        for slot in self.logs.read().map_err(|_| poisoned())?.values() {
            out.push(lock(slot)?.clone());
        }
        out.sort_by(|a, b| a.origin.cmp(&b.origin));
        Ok(out)
    }

    /// The latest cosigned checkpoint of `origin`, with the log's
    /// signature and this witness's cosignature.
    pub fn latest_checkpoint(&self, origin: &str) -> Result<String, BridgeError> {
        let slot = self.slot(origin)?;
        let record = lock(&slot)?;
        record
            .checkpoint
            .clone()
            .ok_or_else(|| BridgeError::UnknownLog(format!("{origin}: nothing cosigned yet")))
    }

    /// c2sp.org/tlog-witness add-checkpoint: checks the request, persists
    /// the new state and returns the cosignature (timestamp `now`).
    pub fn add_checkpoint(
        &self,
        req: &AddCheckpointRequest,
        now: u64,
    ) -> Result<NoteSignature, BridgeError> {
        let checkpoint = Checkpoint::parse_body(&req.checkpoint.text)
            .map_err(|e| BridgeError::malformed("checkpoint", e.to_string()))?;
        let slot = self.slot(&checkpoint.origin)?;
        slot.verifier
            .verify_note(&req.checkpoint)
            .map_err(|e| BridgeError::BadLogSignature(e.to_string()))?;
        if req.old_size > checkpoint.size {
            return Err(BridgeError::malformed(
                "old line",
                "old size is larger than the checkpoint's",
            ));
        }
        let mut record = lock(&slot)?;
        if let Some(frozen) = &record.frozen {
            return Err(BridgeError::Frozen {
                origin: record.origin.clone(),
                reason: frozen.reason.clone(),
            });
        }
        if req.old_size != record.size {
            return Err(BridgeError::Conflict { witness_size: record.size });
        }
        match judge(&record, &checkpoint, req)? {
            Verdict::Consistent => self.advance(&mut record, &slot, &checkpoint, req, now),
            Verdict::BadProof(reason) => {
                self.record_suspect(&record, req, now, &reason);
                Err(BridgeError::BadProof(reason))
            }
            Verdict::Fork { reason, proof_failed } => {
                Err(self.freeze(&mut record, req, now, reason, proof_failed))
            }
        }
    }

    /// Cosigns, persists the new record, then updates memory.
    fn advance(
        &self,
        record: &mut LogRecord,
        slot: &LogSlot,
        checkpoint: &Checkpoint,
        req: &AddCheckpointRequest,
        now: u64,
    ) -> Result<NoteSignature, BridgeError> {
        let cosignature = self.signer.cosign(&req.checkpoint.text, now);
        let mut signatures: Vec<NoteSignature> = (req.checkpoint.signatures.iter())
            .filter(|s| s.name == slot.verifier.name && s.key_id == slot.verifier.key_id)
            .cloned()
            .collect();
        signatures.push(cosignature.clone());
        let note = Note { text: req.checkpoint.text.clone(), signatures };
        let note =
            String::from_utf8(note.to_bytes()).map_err(|e| BridgeError::Storage(e.to_string()))?;
        let next = LogRecord {
            size: checkpoint.size,
            root: Some(checkpoint.root.to_base64()),
            checkpoint: Some(note),
            ..record.clone()
        };
        store::save_log(&self.dir, &next)?;
        *record = next;
        Ok(cosignature)
    }

    /// Writes the evidence, persists the freeze, and returns the refusal.
    fn freeze(
        &self,
        record: &mut LogRecord,
        req: &AddCheckpointRequest,
        now: u64,
        reason: String,
        proof_failed: bool,
    ) -> BridgeError {
        tracing::error!(origin = %record.origin, %reason, "log equivocated; freezing it");
        let evidence = match store::save_evidence(
            &self.dir,
            &evidence(record, req, now, "equivocation", &reason),
        ) {
            Ok(path) => path,
            Err(e) => return e,
        };
        let frozen = FrozenLog { reason: reason.clone(), evidence: evidence.clone(), since: now };
        let next = LogRecord { frozen: Some(frozen), ..record.clone() };
        if let Err(e) = store::save_log(&self.dir, &next) {
            return e;
        }
        *record = next;
        BridgeError::Equivocation { origin: record.origin.clone(), proof_failed, reason, evidence }
    }

    /// Keeps a failed proof as possible evidence, within a cap; best effort.
    fn record_suspect(
        &self,
        record: &LogRecord,
        req: &AddCheckpointRequest,
        now: u64,
        reason: &str,
    ) {
        tracing::warn!(origin = %record.origin, %reason, "consistency proof failed");
        if store::evidence_count(&self.dir, &record.origin) >= MAX_SUSPECT_RECORDS {
            return;
        }
        if let Err(e) =
            store::save_evidence(&self.dir, &evidence(record, req, now, "unverified_proof", reason))
        {
            tracing::warn!(origin = %record.origin, error = %e, "could not record failed proof");
        }
    }
}

/// Decides whether the offered checkpoint extends the cosigned one.
fn judge(
    record: &LogRecord,
    checkpoint: &Checkpoint,
    req: &AddCheckpointRequest,
) -> Result<Verdict, BridgeError> {
    let old = req.old_size;
    if (old == 0 || old == checkpoint.size) && !req.proof.is_empty() {
        return Err(BridgeError::malformed(
            "consistency proof",
            "must be empty when old is 0 or the size",
        ));
    }
    if old == 0 {
        let empty_ok = checkpoint.size > 0 || checkpoint.root == Hash::empty_root();
        return Ok(if empty_ok {
            Verdict::Consistent
        } else {
            Verdict::BadProof("wrong root for the empty tree".into())
        });
    }
    let cosigned = record
        .root_hash()?
        .ok_or_else(|| BridgeError::Storage(format!("log {}: size without root", record.origin)))?;
    if old == checkpoint.size {
        return Ok(if checkpoint.root == cosigned {
            Verdict::Consistent
        } else {
            Verdict::Fork {
                reason: format!("two different roots for tree size {old}"),
                proof_failed: false,
            }
        });
    }
    Ok(match verify_consistency(old, checkpoint.size, &cosigned, &checkpoint.root, &req.proof) {
        Ok(()) => Verdict::Consistent,
        Err(_)
            if fork::proves_fork(old, checkpoint.size, &cosigned, &checkpoint.root, &req.proof) =>
        {
            Verdict::Fork {
                reason: format!(
                    "tree size {} extends a history other than the cosigned size {old}",
                    checkpoint.size
                ),
                proof_failed: true,
            }
        }
        Err(e) => Verdict::BadProof(e.to_string()),
    })
}

fn evidence(
    record: &LogRecord,
    req: &AddCheckpointRequest,
    now: u64,
    kind: &str,
    reason: &str,
) -> store::ForkEvidence {
    store::ForkEvidence {
        origin: record.origin.clone(),
        kind: kind.into(),
        reason: reason.into(),
        detected_at: now,
        cosigned_checkpoint: record.checkpoint.clone(),
        offered_checkpoint: String::from_utf8_lossy(&req.checkpoint.to_bytes()).into_owned(),
        old_size: req.old_size,
        proof: req.proof.iter().map(Hash::to_base64).collect(),
    }
}

/// A log's slot from its stored record, checking its vkey names it.
fn slot_of(record: LogRecord) -> Result<LogSlot, BridgeError> {
    let verifier = NoteVerifier::from_vkey(&record.vkey)
        .map_err(|e| BridgeError::Config(format!("log {}: {e}", record.origin)))?;
    if verifier.name != record.origin {
        return Err(BridgeError::Config(format!(
            "log {}: vkey names {}",
            record.origin, verifier.name
        )));
    }
    Ok(LogSlot { verifier, record: Mutex::new(record) })
}

fn poisoned() -> BridgeError {
    BridgeError::Storage("log table lock poisoned; restart the witness".into())
}

fn lock(slot: &LogSlot) -> Result<MutexGuard<'_, LogRecord>, BridgeError> {
    // A panic while holding the lock may have left memory ahead of disk;
    // refuse until a restart reloads the persisted state.
    slot.record
        .lock()
        .map_err(|_| BridgeError::Storage("log state lock poisoned; restart the witness".into()))
}

/// Seconds since the Unix epoch, for cosignature timestamps.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
