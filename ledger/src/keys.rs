//! The log's Ed25519 signing key, stored as a C2SP signed-note private key
//! (`PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>`) readable by the
//! owner only.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use verifier::note::{key_id, NoteSigner, ALG_ED25519};

use crate::error::{LedgerError, Result};

/// File name of the log key inside the data directory.
pub const LOG_KEY_FILE: &str = "log.key";

/// Creates a new random key for `origin` at `path`, mode 0600. Fails if the
/// file exists: a log key is never silently replaced.
pub fn create_key_file(path: &Path, origin: &str) -> Result<NoteSigner> {
    let key = SigningKey::generate(&mut rand_core::OsRng);
    let signer = NoteSigner::new(origin, key.clone())
        .map_err(|e| LedgerError::InvalidRequest(format!("origin: {e}")))?;
    let mut file =
        fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(
            |e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    LedgerError::AlreadyExists(format!("{}", path.display()))
                }
                _ => LedgerError::Io(e),
            },
        )?;
    file.write_all(encode_skey(origin, &key).as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    Ok(signer)
}

/// Loads the key at `path`, refusing a file others can read.
pub fn load_key_file(path: &Path) -> Result<NoteSigner> {
    let (name, key) = read_key_file(path)?;
    NoteSigner::new(&name, key).map_err(|e| LedgerError::Corrupt(format!("log key: {e}")))
}

/// The key name and raw Ed25519 key at `path`, refusing a file others can read.
pub(crate) fn read_key_file(path: &Path) -> Result<(String, SigningKey)> {
    refuse_shared(path)?;
    let text = fs::read_to_string(path)?;
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

fn decode_skey(text: &str) -> Result<(String, SigningKey)> {
    let bad = |why: &str| LedgerError::Corrupt(format!("log key: {why}"));
    let rest = text.strip_prefix("PRIVATE+KEY+").ok_or_else(|| bad("no PRIVATE+KEY+ prefix"))?;
    // Key names never contain '+'; base64 may, so split from the left.
    let mut parts = rest.splitn(3, '+');
    let (name, id_hex, b64) = match (parts.next(), parts.next(), parts.next()) {
        (Some(n), Some(i), Some(b)) => (n, i, b),
        _ => return Err(bad("expected name+id+key")),
    };
    let raw = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|_| bad("base64"))?;
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
    Ok((name.to_string(), key))
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
    fn refuses_world_readable_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(LOG_KEY_FILE);
        create_key_file(&path, "log").expect("create");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(matches!(load_key_file(&path), Err(LedgerError::Corrupt(_))));
    }
}
