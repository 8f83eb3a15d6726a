//! The log's signing key, stored as a C2SP signed-note private key
//! (`PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>`) readable by the
//! owner only. An `sm2-sm3` log's SM2 key has the same form with its
//! signature type (docs/witness-protocol.md):
//! `PRIVATE+KEY+<name>+<hex id>+<base64(0xff "evidence-ledger/sm2-note/v1" || 32-byte scalar)>`.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use verifier::note::{key_id, NoteSigner, ALG_ED25519};
use verifier::sm2note::{Sm2KeyType, Sm2Signer, SM2_NOTE_TYPE};

use crate::error::{LedgerError, Result};

/// What a key file holds: an Ed25519 key, or an `sm2-sm3` log's SM2 key.
pub enum KeyFile {
    /// Ed25519 (type 0x01).
    Ed25519(SigningKey),
    /// SM2 (type `0xff "evidence-ledger/sm2-note/v1"`).
    Sm2(Sm2Signer),
}

/// An `sm2-sm3` log's new SM2 key for `origin`.
pub fn new_sm2_key(origin: &str) -> Result<Sm2Signer> {
    let mut secret = zeroize::Zeroizing::new([0u8; 32]);
    loop {
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, secret.as_mut());
        // A scalar of 0 or at least the group order is refused: draw again.
        match Sm2Signer::from_secret(origin, Sm2KeyType::Note, &secret) {
            Ok(k) => return Ok(k),
            Err(verifier::VerifyError::Invalid { field, .. }) if field == "SM2 key" => continue,
            Err(e) => return Err(LedgerError::InvalidRequest(format!("origin: {e}"))),
        }
    }
}

/// File name of the log key inside the data directory.
pub const LOG_KEY_FILE: &str = "log.key";

/// Creates a new random key for `origin` at `path`, mode 0600. Fails if the
/// file exists: a log key is never silently replaced.
pub fn create_key_file(path: &Path, origin: &str) -> Result<NoteSigner> {
    let key = SigningKey::generate(&mut rand_core::OsRng);
    let signer = NoteSigner::new(origin, key.clone())
        .map_err(|e| LedgerError::InvalidRequest(format!("origin: {e}")))?;
    let text = zeroize::Zeroizing::new(format!("{}\n", encode_skey(origin, &key)));
    write_new(path, text.as_bytes())?;
    Ok(signer)
}

/// Creates a new random SM2 key for `origin` at `path`, mode 0600.
pub fn create_sm2_key_file(path: &Path, origin: &str) -> Result<Sm2Signer> {
    let key = new_sm2_key(origin)?;
    let secret = zeroize::Zeroizing::new(key.secret_bytes());
    let mut raw = zeroize::Zeroizing::new(SM2_NOTE_TYPE.to_vec());
    raw.extend_from_slice(secret.as_ref());
    let id = key.verifier().key_id;
    let text = zeroize::Zeroizing::new(format!(
        "PRIVATE+KEY+{origin}+{}+{}\n",
        hex::encode(id),
        base64::engine::general_purpose::STANDARD.encode(raw.as_slice())
    ));
    write_new(path, text.as_bytes())?;
    Ok(key)
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file =
        fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(
            |e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    LedgerError::AlreadyExists(format!("{}", path.display()))
                }
                _ => LedgerError::Io(e),
            },
        )?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// Loads the Ed25519 key at `path`, refusing a file others can read.
pub fn load_key_file(path: &Path) -> Result<NoteSigner> {
    let (name, key) = read_key_file(path)?;
    let KeyFile::Ed25519(key) = key else {
        return Err(LedgerError::InvalidRequest(format!(
            "{} is not an Ed25519 key",
            path.display()
        )));
    };
    NoteSigner::new(&name, key).map_err(|e| LedgerError::Corrupt(format!("log key: {e}")))
}

/// The key name and key (Ed25519 or SM2) at `path`, refusing a file
/// others can read.
pub(crate) fn read_key_file(path: &Path) -> Result<(String, KeyFile)> {
    refuse_shared(path)?;
    let text = zeroize::Zeroizing::new(fs::read_to_string(path)?);
    decode_skey(text.trim())
}

/// Refuses a key file that anyone but its owner may read or write (the log
/// key, the master key).
pub(crate) fn refuse_shared(path: &Path) -> Result<()> {
    let mode = fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(LedgerError::Corrupt(format!(
            "{} is readable by others (mode {:o}); chmod 600 it",
            path.display(),
            mode & 0o777
        )));
    }
    Ok(())
}

fn encode_skey(name: &str, key: &SigningKey) -> String {
    let id = key_id(name, ALG_ED25519, key.verifying_key().as_bytes());
    let mut raw = vec![ALG_ED25519];
    raw.extend_from_slice(key.as_bytes());
    format!(
        "PRIVATE+KEY+{name}+{}+{}",
        hex::encode(id),
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

fn decode_skey(text: &str) -> Result<(String, KeyFile)> {
    let bad = |why: &str| LedgerError::Corrupt(format!("log key: {why}"));
    let rest = text.strip_prefix("PRIVATE+KEY+").ok_or_else(|| bad("no PRIVATE+KEY+ prefix"))?;
    // Key names never contain '+'; base64 may, so split from the left.
    let mut parts = rest.splitn(3, '+');
    let (name, id_hex, b64) = match (parts.next(), parts.next(), parts.next()) {
        (Some(n), Some(i), Some(b)) => (n, i, b),
        _ => return Err(bad("expected name+id+key")),
    };
    let raw = zeroize::Zeroizing::new(
        base64::engine::general_purpose::STANDARD.decode(b64).map_err(|_| bad("base64"))?,
    );
    if let Some(secret) = raw.strip_prefix(SM2_NOTE_TYPE) {
        let secret = <[u8; 32]>::try_from(secret).map_err(|_| bad("SM2 key is not 32 bytes"))?;
        let key = Sm2Signer::from_secret(name, Sm2KeyType::Note, &secret)
            .map_err(|e| bad(&e.to_string()))?;
        if hex::encode(key.verifier().key_id) != id_hex {
            return Err(bad("key id does not match"));
        }
        return Ok((name.to_string(), KeyFile::Sm2(key)));
    }
    if raw.len() != 33 || raw[0] != ALG_ED25519 {
        return Err(bad("not an Ed25519 key"));
    }
    let mut seed = [0u8; 32];
    seed.copy_from_slice(&raw[1..]);
    let key = SigningKey::from_bytes(&seed);
    let id = key_id(name, ALG_ED25519, key.verifying_key().as_bytes());
    if hex::encode(id) != id_hex {
        return Err(bad("key id does not match"));
    }
    Ok((name.to_string(), KeyFile::Ed25519(key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_round_trips_and_is_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(LOG_KEY_FILE);
        let made = create_key_file(&path, "example.com/log").expect("create");
        let mode = fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let loaded = load_key_file(&path).expect("load");
        assert_eq!(made.vkey(), loaded.vkey());
        assert!(matches!(
            create_key_file(&path, "example.com/log"),
            Err(LedgerError::AlreadyExists(_))
        ));
    }

    #[test]
    fn sm2_key_file_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(LOG_KEY_FILE);
        let made = create_sm2_key_file(&path, "example.com/sm").expect("create");
        let (name, key) = read_key_file(&path).expect("read");
        let KeyFile::Sm2(loaded) = key else { panic!("not SM2") };
        assert_eq!((name.as_str(), loaded.vkey()), ("example.com/sm", made.vkey()));
        assert!(verifier::sm2note::Sm2Verifier::from_vkey(&made.vkey()).is_ok());
        assert!(load_key_file(&path).is_err());
    }

    #[test]
    fn refuses_world_readable_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(LOG_KEY_FILE);
        create_key_file(&path, "log").expect("create");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(matches!(load_key_file(&path), Err(LedgerError::Corrupt(_))));
    }
}
