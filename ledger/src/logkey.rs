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

use crate::error::{LedgerError, Result};
use crate::keys::{read_key_file, LOG_KEY_FILE};
use crate::pkcs11::{Pkcs11Uri, TokenLogKey};

/// The file recording that a data directory's log key is in a token.
pub const LOG_TOKEN_FILE: &str = "log.pkcs11";

/// The log's Ed25519 key: in memory from a key file, or in a token.
#[derive(Clone)]
pub enum LogKey {
    /// Read from `DATA/log.key` (boxed: zeroized on drop, and large).
    File(Box<SigningKey>),
    /// Held by a PKCS#11 token; only its public half is here.
    Token(Arc<TokenLogKey>),
}

impl LogKey {
    /// The public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        match self {
            LogKey::File(k) => k.verifying_key(),
            LogKey::Token(t) => t.verifying_key(),
        }
    }

    /// Signs `msg` (pure Ed25519); a token may fail (removed, logged out).
    pub fn sign(&self, msg: &[u8]) -> Result<Signature> {
        match self {
            LogKey::File(k) => Ok(k.sign(msg)),
            LogKey::Token(t) => Ok(t.sign(msg)?),
        }
    }
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

    /// The C2SP verifier key.
    pub fn vkey(&self) -> String {
        self.verifier().to_vkey()
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        let key = self.key.verifying_key();
        NoteVerifier {
            name: self.name.clone(),
            key_id: key_id(&self.name, ALG_ED25519, key.as_bytes()),
            alg: ALG_ED25519,
            key,
        }
    }

    /// Signs a checkpoint (C2SP tlog-checkpoint, one Ed25519 note
    /// signature, as [`SignedCheckpoint::sign`] makes with a key in memory).
    pub fn sign_checkpoint(&self, checkpoint: Checkpoint) -> Result<SignedCheckpoint> {
        let text = checkpoint.body();
        let v = self.verifier();
        let sig = self.key.sign(text.as_bytes())?;
        let signature =
            NoteSignature { name: v.name, key_id: v.key_id, signature: sig.to_bytes().to_vec() };
        Ok(SignedCheckpoint { checkpoint, note: Note { text, signatures: vec![signature] } })
    }
}

/// The log key of the data directory `dir`: the token `log.pkcs11` names
/// (whose public key must be the one recorded there), else `log.key`.
pub fn load_log_signer(dir: &Path) -> Result<LogSigner> {
    let record = dir.join(LOG_TOKEN_FILE);
    if !record.exists() {
        let (name, key) = read_key_file(&dir.join(LOG_KEY_FILE))?;
        return LogSigner::new(&name, LogKey::File(Box::new(key)));
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
    Ok(LogSigner::new(&name, LogKey::File(Box::new(key)))?.vkey())
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
