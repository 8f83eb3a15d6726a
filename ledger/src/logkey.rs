//! The log's signing key wherever it lives: a key file (`DATA/log.key`,
//! [`crate::keys`]) or a PKCS#11 token (`DATA/log.pkcs11` records which
//! one, [`crate::pkcs11`]); and the signed notes it makes. Both sign the
//! same bytes with pure Ed25519, so a note or an attestation reads the
//! same whichever key made it.
//!
//! Owns `DATA/log.pkcs11` (origin, URI without PIN, vkey; 0600). Calls
//! the key file, the token and the verifier's note formats.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;
use std::sync::Arc;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use verifier::checkpoint::{Checkpoint, SignedCheckpoint};
use verifier::note::{is_valid_key_name, key_id, Note, NoteSignature, NoteVerifier, ALG_ED25519};
use verifier::sm2note::Sm2Signer;
use verifier::suite::Suite;

use crate::error::{LedgerError, Result};
use crate::keys::{create_key_file, create_sm2_key_file, read_key_file, KeyFile, LOG_KEY_FILE};
use crate::pkcs11::{Pkcs11Uri, TokenLogKey};

/// The file recording that a data directory's log key is in a token.
pub const LOG_TOKEN_FILE: &str = "log.pkcs11";

/// The log's key: Ed25519 in memory from a key file, or in a token; or,
/// for an `sm2-sm3` log, SM2 from a key file.
#[derive(Clone)]
pub enum LogKey {
    /// Read from `DATA/log.key` (boxed: zeroized on drop, and large).
    File(Box<SigningKey>),
    /// Held by a PKCS#11 token; only its public half is here.
    Token(Arc<TokenLogKey>),
    /// An `sm2-sm3` log's SM2 key, read from `DATA/log.key`.
    Sm2(Arc<Sm2Signer>),
}

impl LogKey {
    /// The suite this key signs for.
    pub fn suite(&self) -> Suite {
        match self {
            LogKey::File(_) | LogKey::Token(_) => Suite::Ed25519Sha256,
            LogKey::Sm2(_) => Suite::Sm2Sm3,
        }
    }

    /// The Ed25519 public key. An SM2 key has none: an error naming why.
    pub fn verifying_key(&self) -> Result<VerifyingKey> {
        match self {
            LogKey::File(k) => Ok(k.verifying_key()),
            LogKey::Token(t) => Ok(t.verifying_key()),
            LogKey::Sm2(_) => Err(sm2_no_ed25519()),
        }
    }

    /// Signs `msg` (pure Ed25519); a token may fail (removed, logged out).
    /// An SM2 key makes no Ed25519 signatures (an error).
    pub fn sign(&self, msg: &[u8]) -> Result<Signature> {
        match self {
            LogKey::File(k) => Ok(k.sign(msg)),
            LogKey::Token(t) => Ok(t.sign(msg)?),
            LogKey::Sm2(_) => Err(sm2_no_ed25519()),
        }
    }
}

impl LogKey {
    /// The 64 signature bytes of the log's own attestation over `msg`:
    /// Ed25519, or for an `sm2-sm3` log SM2 `r || s` (default identifier).
    pub fn sign_attestation(&self, msg: &[u8]) -> Result<[u8; 64]> {
        match self {
            LogKey::Sm2(k) => {
                let raw = k.sign_raw(msg);
                Ok(raw)
            }
            _ => Ok(self.sign(msg)?.to_bytes()),
        }
    }
}

fn sm2_no_ed25519() -> LedgerError {
    LedgerError::InvalidRequest(
        "this is an sm2-sm3 log: its key makes SM2 signatures, not the Ed25519 \
         attestations this statement needs (SM2 attestations are not implemented yet)"
            .into(),
    )
}

/// Signs notes with the log key under its name (the origin).
#[derive(Clone)]
pub struct LogSigner {
    name: String,
    key: LogKey,
}

impl LogSigner {
    /// Fails if `name` is not a valid key name.
    pub fn new(name: &str, key: LogKey) -> Result<LogSigner> {
        if !is_valid_key_name(name) {
            return Err(LedgerError::InvalidRequest(format!("{name:?} is not a valid key name")));
        }
        Ok(LogSigner { name: name.to_string(), key })
    }

    /// The key name (origin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key.
    pub fn key(&self) -> &LogKey {
        &self.key
    }

    /// The log's suite (from its key).
    pub fn suite(&self) -> Suite {
        self.key.suite()
    }

    /// The C2SP verifier key (for an SM2 key, docs/witness-protocol.md's form).
    pub fn vkey(&self) -> String {
        match &self.key {
            LogKey::Sm2(k) => k.vkey(),
            _ => self.ed25519_verifier().map(|v| v.to_vkey()).unwrap_or_default(),
        }
    }

    /// The matching Ed25519 verifier; an SM2 log has none (an error).
    pub fn verifier(&self) -> Result<NoteVerifier> {
        self.ed25519_verifier()
    }

    fn ed25519_verifier(&self) -> Result<NoteVerifier> {
        let key = self.key.verifying_key()?;
        Ok(NoteVerifier {
            name: self.name.clone(),
            key_id: key_id(&self.name, ALG_ED25519, key.as_bytes()),
            alg: ALG_ED25519,
            key,
        })
    }

    /// Signs a checkpoint (C2SP tlog-checkpoint, one note signature: Ed25519
    /// as [`SignedCheckpoint::sign`] makes with a key in memory, or SM2).
    pub fn sign_checkpoint(&self, checkpoint: Checkpoint) -> Result<SignedCheckpoint> {
        let text = checkpoint.body();
        let signature = match &self.key {
            LogKey::Sm2(k) => k.sign(&text).map_err(|e| LedgerError::Corrupt(e.to_string()))?,
            _ => {
                let v = self.ed25519_verifier()?;
                let sig = self.key.sign(text.as_bytes())?;
                NoteSignature { name: v.name, key_id: v.key_id, signature: sig.to_bytes().to_vec() }
            }
        };
        Ok(SignedCheckpoint { checkpoint, note: Note { text, signatures: vec![signature] } })
    }
}

/// The log key of the data directory `dir`: the token `log.pkcs11` names
/// (whose public key must be the one recorded there), else `log.key`.
pub fn load_log_signer(dir: &Path) -> Result<LogSigner> {
    let record = dir.join(LOG_TOKEN_FILE);
    if !record.exists() {
        let (name, key) = read_key_file(&dir.join(LOG_KEY_FILE))?;
        return LogSigner::new(&name, key.into());
    }
    let (origin, uri, vkey) = read_record(&record)?;
    let key = TokenLogKey::open(&uri).map_err(|e| {
        LedgerError::InvalidRequest(format!(
            "this data directory's log key is in a PKCS#11 token ({}), which is not usable \
             here: {e}",
            record.display()
        ))
    })?;
    let signer = LogSigner::new(&origin, LogKey::Token(Arc::new(key)))?;
    if signer.vkey() != vkey {
        return Err(LedgerError::InvalidRequest(format!(
            "the token's key {} is {}, but {} records the log's key {vkey}",
            uri.to_stored_string(),
            signer.vkey(),
            record.display()
        )));
    }
    Ok(signer)
}

/// The log's vkey as the data directory records it, without the token
/// (the audit checks signatures with it; a copy without the token still
/// audits).
pub fn recorded_vkey(dir: &Path) -> Result<String> {
    let record = dir.join(LOG_TOKEN_FILE);
    if record.exists() {
        return Ok(read_record(&record)?.2);
    }
    let (name, key) = read_key_file(&dir.join(LOG_KEY_FILE))?;
    Ok(LogSigner::new(&name, key.into())?.vkey())
}

/// Creates a new random key of `suite` for `origin` at `path`, mode 0600
/// (Ed25519, or SM2 for `sm2-sm3`); returns its signer.
pub fn create_suite_key_file(path: &Path, origin: &str, suite: Suite) -> Result<LogSigner> {
    match suite {
        Suite::Ed25519Sha256 => {
            create_key_file(path, origin)?;
            let (name, key) = read_key_file(path)?;
            LogSigner::new(&name, key.into())
        }
        Suite::Sm2Sm3 => {
            let key = create_sm2_key_file(path, origin)?;
            LogSigner::new(origin, LogKey::Sm2(Arc::new(key)))
        }
    }
}

impl From<KeyFile> for LogKey {
    fn from(k: KeyFile) -> LogKey {
        match k {
            KeyFile::Ed25519(k) => LogKey::File(Box::new(k)),
            KeyFile::Sm2(k) => LogKey::Sm2(Arc::new(k)),
        }
    }
}

/// Generates (or takes the existing) key pair the URI names in its token
/// for `origin`, and records it in `dir` (`log.pkcs11`, created new, 0600).
pub fn create_token_record(dir: &Path, origin: &str, uri: &Pkcs11Uri) -> Result<LogSigner> {
    // Checked before the token makes a key no record would name.
    if !is_valid_key_name(origin) {
        return Err(LedgerError::InvalidRequest(format!("{origin:?} is not a valid key name")));
    }
    let key = TokenLogKey::open_or_generate(uri)?;
    let signer = LogSigner::new(origin, LogKey::Token(Arc::new(key)))?;
    let path = dir.join(LOG_TOKEN_FILE);
    let mut file =
        fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).map_err(
            |e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    LedgerError::AlreadyExists(path.display().to_string())
                }
                _ => LedgerError::Io(e),
            },
        )?;
    let text = format!("origin {origin}\nuri {}\nvkey {}\n", uri.to_stored_string(), signer.vkey());
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(signer)
}

fn read_record(path: &Path) -> Result<(String, Pkcs11Uri, String)> {
    let text = fs::read_to_string(path)?;
    let bad = |why: &str| LedgerError::Corrupt(format!("{}: {why}", path.display()));
    let (mut origin, mut uri, mut vkey) = (None, None, None);
    for line in text.lines() {
        match line.split_once(' ') {
            Some(("origin", v)) => origin = Some(v.to_string()),
            Some(("uri", v)) => uri = Some(Pkcs11Uri::parse(v)?),
            Some(("vkey", v)) => vkey = Some(v.to_string()),
            _ => return Err(bad("expected lines origin, uri, vkey")),
        }
    }
    match (origin, uri, vkey) {
        (Some(o), Some(u), Some(v)) => Ok((o, u, v)),
        _ => Err(bad("expected lines origin, uri, vkey")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A note signed through [`LogSigner`] is byte for byte the one the
    /// verifier's own signer makes with the same key.
    #[test]
    fn checkpoint_bytes_match_the_verifiers_signer() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let cp = Checkpoint {
            origin: "example.com/log".into(),
            size: 3,
            root: verifier::Hash([7; 32]),
            extensions: Vec::new(),
        };
        let ours = LogSigner::new("example.com/log", LogKey::File(Box::new(key.clone())))
            .expect("signer")
            .sign_checkpoint(cp.clone())
            .expect("signed");
        let theirs = verifier::note::NoteSigner::new("example.com/log", key).expect("signer");
        assert_eq!(ours.to_bytes(), SignedCheckpoint::sign(cp, &theirs).to_bytes());
        assert_eq!(
            LogSigner::new(
                "example.com/log",
                LogKey::File(Box::new(SigningKey::from_bytes(&[9; 32])))
            )
            .expect("signer")
            .vkey(),
            theirs.vkey()
        );
    }
}
