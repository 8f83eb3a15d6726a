//! The witness's state machine (c2sp.org/tlog-witness, add-checkpoint):
//! per log, the latest cosigned checkpoint, advanced only along a verified
//! consistency proof, persisted before the cosignature leaves.
//!
//! A log that provably equivocates (two roots for one size, or a proof
//! that its new tree extends a different history) is frozen: the evidence
//! is written under `forks/`, the freeze is persisted, and the witness
//! refuses that log from then on, across restarts.
//!
//! One process at a time: [`Witness::open`] takes the data directory's
//! exclusive lock, and every decision is made against the log's state as
//! re-read from disk under the log's mutex (compare-and-swap), so neither a
//! second process nor a stale memory can roll a log back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use crate::signer::WitnessSigner;
use verifier::anykey::AnyVerifier;
use verifier::checkpoint::Checkpoint;
use verifier::note::{Note, NoteSignature};
use verifier::suite::Suite;
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
    signer: WitnessSigner,
    /// Logs by origin; a log added with `log add` while serving is picked
    /// up on its first request.
    logs: RwLock<HashMap<String, Arc<LogSlot>>>,
    /// The data directory's exclusive lock, held as long as this lives.
    _lock: store::DirLock,
}

struct LogSlot {
    /// Held across re-read, check and persist, so two requests cannot
    /// both advance (c2sp.org/tlog-witness: check and persist atomically).
    record: Mutex<LogRecord>,
}

enum Verdict {
    Consistent,
    /// The checkpoint already cosigned, byte for byte: nothing changes.
    Replay,
    BadProof(String),
    Fork {
        reason: String,
        proof_failed: bool,
    },
}

/// Adds a trusted log by its vkey (an Ed25519 note key); its key name is
/// the origin. Returns the origin. Picked up by a running `serve` on the
/// log's first request.
pub fn add_log(dir: &Path, vkey: &str) -> Result<String, BridgeError> {
    add_log_as(dir, vkey, None)
}

/// As [`add_log`], for a log whose origin is `origin` when given: a key
/// name may differ from the checkpoint origin (c2sp.org/tlog-checkpoint
/// only recommends that they match).
pub fn add_log_as(dir: &Path, vkey: &str, origin: Option<&str>) -> Result<String, BridgeError> {
    let verifier = log_verifier(vkey)?;
    same_suite(dir, &verifier)?;
    let origin = origin.unwrap_or(verifier.name());
    if origin.is_empty() || origin.contains('\n') {
        return Err(BridgeError::Config(format!("origin {origin:?}: must be one non-empty line")));
    }
    if store::log_exists(dir, origin) {
        return Err(BridgeError::Config(format!(
            "log {origin} is already configured (to trust one more key for it, use `log add-key`)"
        )));
    }
    store::save_log(dir, &LogRecord::new(origin, vkey))?;
    Ok(origin.to_string())
}

/// Trusts one more key for a configured log (key rotation): checkpoints
/// signed by any trusted key are accepted. Needs the data directory's
/// lock, so the witness must be stopped; a running one would not see it.
pub fn add_log_key(dir: &Path, origin: &str, vkey: &str) -> Result<(), BridgeError> {
    log_verifier(vkey)?;
    let _lock = store::lock_dir(dir)?;
    let mut record = store::load_log(dir, origin)?
        .ok_or_else(|| BridgeError::Config(format!("log {origin} is not configured")))?;
    let new = log_verifier(vkey)?;
    same_suite(dir, &new)?;
    for known in record.vkeys() {
        let known = log_verifier(known)?;
        if key_material(&known) == key_material(&new) {
            return Err(BridgeError::Config(format!("log {origin} already trusts this key")));
        }
    }
    record.more_vkeys.push(vkey.to_string());
    store::save_log(dir, &record)
}

/// A witness cosigns logs of its own key's suite only.
fn same_suite(dir: &Path, log: &AnyVerifier) -> Result<(), BridgeError> {
    let mine = store::witness_suite(dir);
    if log.suite() != mine {
        return Err(BridgeError::Config(format!(
            "vkey: a {} log key, but this witness cosigns {mine} logs (notary-witness init \
             --suite {})",
            log.suite(),
            log.suite()
        )));
    }
    Ok(())
}

/// The public key part of a vkey (type and key, without name and ID).
fn key_material(v: &AnyVerifier) -> String {
    v.to_vkey().rsplit('+').next().unwrap_or_default().to_string()
}

fn log_verifier(vkey: &str) -> Result<AnyVerifier, BridgeError> {
    let verifier =
        AnyVerifier::from_vkey(vkey).map_err(|e| BridgeError::Config(format!("vkey: {e}")))?;
    if verifier.is_cosigner() {
        return Err(BridgeError::Config(
            "vkey: a log key must be a note key (Ed25519 type 0x01, or SM2 \
             evidence-ledger/sm2-note/v1), not a cosignature key"
                .into(),
        ));
    }
    Ok(verifier)
}

/// The suite of a log record (its keys': all of one suite, checked when
/// added).
fn record_suite(record: &LogRecord) -> Suite {
    trusted_verifiers(record).first().map_or(Suite::Ed25519Sha256, AnyVerifier::suite)
}

impl Witness {
    /// Opens a data directory made by [`store::init`] to cosign from it,
    /// taking its exclusive lock: a second `open` of the same directory,
    /// in this process or another, fails until this one is dropped.
    pub fn open(dir: &Path) -> Result<Witness, BridgeError> {
        let lock = store::lock_dir(dir)?;
        let (name, key) = store::load_identity(dir)?;
        let signer = WitnessSigner::new(&name, key)?;
        let mut logs = HashMap::new();
        for record in store::load_logs(dir)? {
            check_record(&record)?;
            logs.insert(record.origin.clone(), Arc::new(LogSlot { record: Mutex::new(record) }));
        }
        Ok(Witness { dir: dir.to_path_buf(), signer, logs: RwLock::new(logs), _lock: lock })
    }

    /// The slot of `origin`, loading it from disk if it was added since.
    fn slot(&self, origin: &str) -> Result<Arc<LogSlot>, BridgeError> {
        let known = self.logs.read().map_err(|_| poisoned())?.get(origin).cloned();
        if let Some(slot) = known {
            return Ok(slot);
        }
        let record = store::load_log(&self.dir, origin)?
            .ok_or_else(|| BridgeError::UnknownLog(origin.into()))?;
        check_record(&record)?;
        let mut logs = self.logs.write().map_err(|_| poisoned())?;
        let slot = logs
            .entry(origin.to_string())
            .or_insert_with(|| Arc::new(LogSlot { record: Mutex::new(record) }));
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

    /// The origin of a configured log whose SHA-256, in lowercase hex, is
    /// `hex` (the `/<hex>/checkpoint` path).
    /// Logs already in memory answer without reading the disk.
    pub fn origin_by_hash(&self, hex: &str) -> Result<String, BridgeError> {
        let matches = |o: &String| Hash::digest(o.as_bytes()).to_hex() == hex;
        let known = self.logs.read().map_err(|_| poisoned())?.keys().find(|o| matches(o)).cloned();
        if let Some(origin) = known {
            return Ok(origin);
        }
        store::load_logs(&self.dir)?
            .into_iter()
            .map(|r| r.origin)
            .find(|o| Hash::digest(o.as_bytes()).to_hex() == hex)
            .ok_or_else(|| BridgeError::UnknownLog(format!("no log whose origin hashes to {hex}")))
    }

    /// c2sp.org/tlog-witness add-checkpoint: checks the request against
    /// the state on disk, persists the new state and returns the
    /// cosignature (timestamp `now`, or the last one issued if the clock
    /// went back).
    pub fn add_checkpoint(
        &self,
        req: &AddCheckpointRequest,
        now: u64,
    ) -> Result<NoteSignature, BridgeError> {
        let checkpoint = Checkpoint::parse_body(&req.checkpoint.text)
            .map_err(|e| BridgeError::malformed("checkpoint", e.to_string()))?;
        let slot = self.slot(&checkpoint.origin)?;
        let mut record = lock(&slot)?;
        self.reload(&mut record)?;
        verify_log_signature(&record, &req.checkpoint)?;
        if req.old_size > checkpoint.size {
            return Err(BridgeError::malformed(
                "old line",
                "old size is larger than the checkpoint's",
            ));
        }
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
            Verdict::Replay => match self.cosignature_held(&record, req) {
                Some(sig) => Ok(sig),
                None => self.advance(&mut record, &checkpoint, req, now),
            },
            Verdict::Consistent => self.advance(&mut record, &checkpoint, req, now),
            Verdict::BadProof(reason) => {
                self.record_suspect(&record, req, now, &reason);
                Err(BridgeError::BadProof(reason))
            }
            Verdict::Fork { reason, proof_failed } => {
                Err(self.freeze(&mut record, req, now, reason, proof_failed))
            }
        }
    }

    /// Compare-and-swap against the disk: the record on disk is the truth.
    /// With the directory lock held nothing else should write it; if
    /// something did, memory is replaced, never the other way round.
    fn reload(&self, record: &mut LogRecord) -> Result<(), BridgeError> {
        let disk = store::load_log(&self.dir, &record.origin)?.ok_or_else(|| {
            BridgeError::Storage(format!("log {}: state file vanished", record.origin))
        })?;
        if disk != *record {
            tracing::warn!(origin = %record.origin, "log state on disk differs from memory; using the disk's");
            check_record(&disk)?;
            *record = disk;
        }
        Ok(())
    }

    /// For a replayed checkpoint: the cosignature already issued for it,
    /// so that nothing is written (no fsync) and no new time is signed.
    fn cosignature_held(
        &self,
        record: &LogRecord,
        req: &AddCheckpointRequest,
    ) -> Option<NoteSignature> {
        let held = Note::parse(record.checkpoint.as_deref()?.as_bytes()).ok()?;
        if held.text != req.checkpoint.text {
            return None;
        }
        let me = self.signer.verifier();
        held.signatures.into_iter().find(|s| me.matches(s))
    }

    /// Cosigns, persists the new record, then updates memory.
    fn advance(
        &self,
        record: &mut LogRecord,
        checkpoint: &Checkpoint,
        req: &AddCheckpointRequest,
        now: u64,
    ) -> Result<NoteSignature, BridgeError> {
        // c2sp.org/tlog-cosignature §Format: the time the cosignature was
        // made. Never 0 (a broken clock), never before one already issued.
        let timestamp = now.max(record.last_timestamp);
        if timestamp == 0 {
            return Err(BridgeError::Config(
                "the system clock reads the Unix epoch; refusing to cosign with time 0".into(),
            ));
        }
        let cosignature = self.signer.cosign(&req.checkpoint.text, timestamp)?;
        // Keep the log's signatures by trusted keys; drop anyone else's.
        let trusted = trusted_verifiers(record);
        let mut signatures: Vec<NoteSignature> = (req.checkpoint.signatures.iter())
            .filter(|s| trusted.iter().any(|v| v.matches(s)))
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
            last_timestamp: timestamp,
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
    // c2sp.org/tlog-witness add-checkpoint (as of C2SP #280): a size-0
    // checkpoint must have the empty tree's root, and a proof from size 0
    // (or between equal sizes) must be empty; otherwise 422.
    if checkpoint.size == 0 && checkpoint.root != Hash::empty_root() {
        return Ok(Verdict::BadProof("a size-0 checkpoint must have the empty tree's root".into()));
    }
    if (old == 0 || old == checkpoint.size) && !req.proof.is_empty() {
        return Ok(Verdict::BadProof(format!(
            "the consistency proof from size {old} to {} must be empty",
            checkpoint.size
        )));
    }
    let cosigned = record.root_hash()?;
    if old == 0 && (checkpoint.size > 0 || cosigned.is_none()) {
        return Ok(Verdict::Consistent);
    }
    let cosigned = cosigned
        .ok_or_else(|| BridgeError::Storage(format!("log {}: size without root", record.origin)))?;
    if old == checkpoint.size {
        // Same size, another root: 422 since C2SP #280 (was 409).
        return Ok(if checkpoint.root == cosigned {
            Verdict::Replay
        } else {
            Verdict::Fork {
                reason: format!("two different roots for tree size {old}"),
                proof_failed: false,
            }
        });
    }
    let suite = record_suite(record);
    Ok(
        match suite.verify_consistency(
            old,
            checkpoint.size,
            &cosigned,
            &checkpoint.root,
            &req.proof,
        ) {
            Ok(()) => Verdict::Consistent,
            Err(_)
                if fork::proves_fork(
                    suite,
                    old,
                    checkpoint.size,
                    &cosigned,
                    &checkpoint.root,
                    &req.proof,
                ) =>
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
        },
    )
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

/// Checks every key of a stored record parses as an Ed25519 note key.
fn check_record(record: &LogRecord) -> Result<(), BridgeError> {
    for vkey in record.vkeys() {
        log_verifier(vkey)
            .map_err(|e| BridgeError::Config(format!("log {}: {e}", record.origin)))?;
    }
    Ok(())
}

/// The log keys a record trusts (those that parse; [`check_record`] ran
/// when the record was loaded).
fn trusted_verifiers(record: &LogRecord) -> Vec<AnyVerifier> {
    record.vkeys().filter_map(|v| log_verifier(v).ok()).collect()
}

/// c2sp.org/tlog-witness add-checkpoint: some signature by a key trusted
/// for the origin verifies (signatures by unknown keys are ignored), else 403.
fn verify_log_signature(record: &LogRecord, note: &Note) -> Result<(), BridgeError> {
    let mut why = Vec::new();
    for verifier in trusted_verifiers(record) {
        match verifier.verify_note(note) {
            Ok(()) => return Ok(()),
            Err(e) => why.push(e.to_string()),
        }
    }
    Err(BridgeError::BadLogSignature(why.join("; ")))
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
