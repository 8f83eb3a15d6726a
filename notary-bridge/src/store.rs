//! The witness's data directory: its key, one state file per log, and fork
//! evidence. Every write is atomic and durable (temp file, fsync, rename,
//! fsync of the directory), so a crash leaves the old or the new file.
//!
//! ```text
//! DIR/witness.json          {"name": ...}
//! DIR/witness.key           base64 Ed25519 seed, mode 0600
//! DIR/witness.pkcs11        or: `uri <RFC 7512 URI>` of a key in a token (no PIN)
//! DIR/logs/<id>.json        one LogRecord per trusted log
//! DIR/forks/<id>-<t>-<h>.json  evidence of a refused fork attempt
//! DIR/lock                  flock(2)'d by the one process that cosigns
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use verifier::Hash;

use crate::signer::WitnessKey;
use crate::BridgeError;
use verifier::sm2note::{Sm2KeyType, Sm2Signer};
use verifier::suite::Suite;

const CONFIG_FILE: &str = "witness.json";
const KEY_FILE: &str = "witness.key";
/// The SM2 cosignature key of a witness of `sm2-sm3` logs: base64 of the
/// 32-byte private scalar, mode 0600 (instead of [`KEY_FILE`]).
const SM2_KEY_FILE: &str = "witness-sm2.key";
/// Names the witness key in a PKCS#11 token, instead of [`KEY_FILE`].
pub const TOKEN_FILE: &str = "witness.pkcs11";
/// The lock file: held (flock, exclusive) by the process that cosigns.
pub const LOCK_FILE: &str = "lock";
/// Subdirectory of per-log state files.
pub const LOGS_DIR: &str = "logs";
/// Subdirectory of fork evidence.
pub const FORKS_DIR: &str = "forks";

/// What the witness knows of one log: its key and the latest checkpoint it
/// cosigned. Persisted as `logs/<id>.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    /// The log's origin (= its key name).
    pub origin: String,
    /// The log's verifier key.
    pub vkey: String,
    /// Size of the latest cosigned checkpoint (0: none yet).
    pub size: u64,
    /// Its root, base64 (None while size is 0).
    pub root: Option<String>,
    /// The latest cosigned checkpoint note: the log's signature and ours.
    pub checkpoint: Option<String>,
    /// Set once the log equivocated; the witness never cosigns for it again.
    pub frozen: Option<FrozenLog>,
    /// More trusted log keys (rotation): a checkpoint signed by any of
    /// `vkey` and these is accepted (c2sp.org/tlog-witness: "the public
    /// key(s) it trusts for the checkpoint origin").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more_vkeys: Vec<String>,
    /// The latest cosignature timestamp issued for this log: the next one
    /// is never smaller, even if the clock steps back.
    #[serde(default)]
    pub last_timestamp: u64,
}

/// Why a log is refused for good.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrozenLog {
    /// What was detected.
    pub reason: String,
    /// The evidence file, relative to the data directory.
    pub evidence: String,
    /// When (unix seconds).
    pub since: u64,
}

impl LogRecord {
    /// A log just added: nothing cosigned yet.
    pub fn new(origin: &str, vkey: &str) -> LogRecord {
        LogRecord {
            origin: origin.into(),
            vkey: vkey.into(),
            size: 0,
            root: None,
            checkpoint: None,
            frozen: None,
            more_vkeys: Vec::new(),
            last_timestamp: 0,
        }
    }

    /// Every trusted log key, the first one first.
    pub fn vkeys(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.vkey.as_str()).chain(self.more_vkeys.iter().map(String::as_str))
    }

    /// The recorded root, if any.
    pub fn root_hash(&self) -> Result<Option<Hash>, BridgeError> {
        self.root
            .as_deref()
            .map(Hash::from_base64)
            .transpose()
            .map_err(|e| BridgeError::Storage(format!("log {}: bad root: {e}", self.origin)))
    }
}

/// The evidence of a refused fork attempt: both checkpoints and the proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForkEvidence {
    /// The log's origin.
    pub origin: String,
    /// "equivocation" (proven) or "unverified_proof" (proof failed, cause unknown).
    pub kind: String,
    /// In words.
    pub reason: String,
    /// When the witness saw it (unix seconds).
    pub detected_at: u64,
    /// The checkpoint the witness had cosigned, with signatures.
    pub cosigned_checkpoint: Option<String>,
    /// The checkpoint offered, as received.
    pub offered_checkpoint: String,
    /// The `old` size of the request.
    pub old_size: u64,
    /// The consistency proof of the request, base64 lines.
    pub proof: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct WitnessConfig {
    name: String,
}

/// The file name of a log's state: a digest, since origins hold `/`.
pub fn log_id(origin: &str) -> String {
    Hash::digest(origin.as_bytes()).to_hex()[..32].to_string()
}

/// Creates the data directory with its key in the token `uri` names
/// (generated there, or the existing pair of that name taken), recording
/// the URI (never a PIN) in [`TOKEN_FILE`]; fails if a key exists.
/// Returns the key.
pub fn init_token(
    dir: &Path,
    name: &str,
    uri: &pkcs11_keys::Pkcs11Uri,
) -> Result<WitnessKey, BridgeError> {
    if dir.join(KEY_FILE).exists() {
        return Err(BridgeError::Config(format!("{} is already initialized", dir.display())));
    }
    let key = pkcs11_keys::TokenEd25519::open_or_generate(uri)
        .map_err(|e| BridgeError::Config(format!("witness key: {e}")))?;
    init_dir(dir, name, TOKEN_FILE, format!("uri {}\n", uri.to_stored_string()).as_bytes())?;
    Ok(WitnessKey::Token(std::sync::Arc::new(key)))
}

/// Creates the data directory with a fresh key; fails if one exists.
pub fn init(dir: &Path, name: &str, key: &SigningKey) -> Result<(), BridgeError> {
    if dir.join(TOKEN_FILE).exists() {
        return Err(BridgeError::Config(format!("{} is already initialized", dir.display())));
    }
    let seed = base64::engine::general_purpose::STANDARD.encode(key.to_bytes());
    init_dir(dir, name, KEY_FILE, format!("{seed}\n").as_bytes())
}

/// Creates the data directory of a witness of `sm2-sm3` logs with a fresh
/// SM2 key; fails if a key exists. Returns the key.
pub fn init_sm2(dir: &Path, name: &str) -> Result<WitnessKey, BridgeError> {
    if dir.join(TOKEN_FILE).exists() || dir.join(KEY_FILE).exists() {
        return Err(BridgeError::Config(format!("{} is already initialized", dir.display())));
    }
    let signer = loop {
        let mut secret = zeroize::Zeroizing::new([0u8; 32]);
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, secret.as_mut());
        // A scalar of 0 or beyond the group order: draw again.
        if let Ok(s) = Sm2Signer::from_secret(name, Sm2KeyType::Cosignature, &secret) {
            break s;
        }
        if !verifier::note::is_valid_key_name(name) {
            return Err(BridgeError::Config(format!("name: {name:?} is not a valid key name")));
        }
    };
    let secret = zeroize::Zeroizing::new(signer.secret_bytes());
    let text = zeroize::Zeroizing::new(format!(
        "{}\n",
        base64::engine::general_purpose::STANDARD.encode(secret.as_ref())
    ));
    init_dir(dir, name, SM2_KEY_FILE, text.as_bytes())?;
    Ok(WitnessKey::Sm2(std::sync::Arc::new(signer)))
}

/// The suite of the logs the witness in `dir` cosigns (from its key file).
pub fn witness_suite(dir: &Path) -> Suite {
    if dir.join(SM2_KEY_FILE).exists() {
        Suite::Sm2Sm3
    } else {
        Suite::Ed25519Sha256
    }
}

/// Makes the data directory: its subdirectories, `key_file` (the key, or
/// the token's URI) written once with mode 0600 and synced, then the
/// config. Fails if `key_file` exists.
fn init_dir(dir: &Path, name: &str, key_file: &str, contents: &[u8]) -> Result<(), BridgeError> {
    // Every directory made here, the data directory's own name included,
    // is durable before init returns (their parents are fsync'd): a witness
    // whose directory a power cut takes back forgets all it cosigned.
    for sub in [LOGS_DIR, FORKS_DIR] {
        create_dir_all_durable(&dir.join(sub))
            .map_err(|e| BridgeError::storage(dir.join(sub).display(), e))?;
    }
    let path = dir.join(key_file);
    let mut file =
        OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).map_err(
            |e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    BridgeError::Config(format!("{} is already initialized", dir.display()))
                }
                _ => BridgeError::storage(path.display(), e),
            },
        )?;
    file.write_all(contents).map_err(|e| BridgeError::storage(path.display(), e))?;
    file.sync_all().map_err(|e| BridgeError::storage(path.display(), e))?;
    let config = serde_json::to_vec_pretty(&WitnessConfig { name: name.into() })
        .map_err(|e| BridgeError::Storage(e.to_string()))?;
    write_atomic(dir, CONFIG_FILE, &config)
}

/// Loads the witness's key name and signing key: the token's when
/// [`TOKEN_FILE`] names one (an error, never a file key, when that token
/// is not reachable), else the key file's.
pub fn load_identity(dir: &Path) -> Result<(String, WitnessKey), BridgeError> {
    let config: WitnessConfig = read_json(&dir.join(CONFIG_FILE))?;
    let token = dir.join(TOKEN_FILE);
    if token.exists() {
        let text =
            fs::read_to_string(&token).map_err(|e| BridgeError::storage(token.display(), e))?;
        let uri = text
            .lines()
            .find_map(|l| l.strip_prefix("uri "))
            .ok_or_else(|| BridgeError::Config(format!("{}: no `uri` line", token.display())))?;
        let uri = pkcs11_keys::Pkcs11Uri::parse(uri)
            .map_err(|e| BridgeError::Config(format!("{}: {e}", token.display())))?;
        let key = pkcs11_keys::TokenEd25519::open(&uri).map_err(|e| {
            BridgeError::Config(format!(
                "the witness key is in a PKCS#11 token ({}), which is not usable here: {e}",
                token.display()
            ))
        })?;
        return Ok((config.name, WitnessKey::Token(std::sync::Arc::new(key))));
    }
    let sm2 = dir.join(SM2_KEY_FILE);
    if sm2.exists() {
        return Ok((config.name.clone(), load_sm2_key(&sm2, &config.name)?));
    }
    let path = dir.join(KEY_FILE);
    let text = fs::read_to_string(&path).map_err(|e| BridgeError::storage(path.display(), e))?;
    let seed = base64::engine::general_purpose::STANDARD
        .decode(text.trim_end())
        .map_err(|e| BridgeError::Config(format!("{}: {e}", path.display())))?;
    let seed: [u8; 32] = seed
        .try_into()
        .map_err(|_| BridgeError::Config(format!("{}: not a 32-byte seed", path.display())))?;
    Ok((config.name, WitnessKey::File(Box::new(SigningKey::from_bytes(&seed)))))
}

fn load_sm2_key(path: &Path, name: &str) -> Result<WitnessKey, BridgeError> {
    let text = zeroize::Zeroizing::new(
        fs::read_to_string(path).map_err(|e| BridgeError::storage(path.display(), e))?,
    );
    let secret = zeroize::Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(text.trim_end())
            .map_err(|e| BridgeError::Config(format!("{}: {e}", path.display())))?,
    );
    let secret: [u8; 32] = secret.as_slice().try_into().map_err(|_| {
        BridgeError::Config(format!("{}: not a 32-byte SM2 private key", path.display()))
    })?;
    let key = Sm2Signer::from_secret(name, Sm2KeyType::Cosignature, &secret)
        .map_err(|e| BridgeError::Config(format!("{}: {e}", path.display())))?;
    Ok(WitnessKey::Sm2(std::sync::Arc::new(key)))
}

/// Loads every log record.
pub fn load_logs(dir: &Path) -> Result<Vec<LogRecord>, BridgeError> {
    let logs = dir.join(LOGS_DIR);
    let entries = fs::read_dir(&logs).map_err(|e| BridgeError::storage(logs.display(), e))?;
    let mut records = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| BridgeError::storage(logs.display(), e))?.path();
        if path.extension().is_some_and(|ext| ext == "json") {
            records.push(read_json(&path)?);
        }
    }
    records.sort_by(|a: &LogRecord, b| a.origin.cmp(&b.origin));
    Ok(records)
}

/// Loads the record of `origin` from disk, if it exists.
pub fn load_log(dir: &Path, origin: &str) -> Result<Option<LogRecord>, BridgeError> {
    let path = log_path(dir, origin);
    if !path.exists() {
        return Ok(None);
    }
    let record: LogRecord = read_json(&path)?;
    if record.origin != origin {
        return Err(BridgeError::Storage(format!(
            "{}: holds log {}, not {origin}",
            path.display(),
            record.origin
        )));
    }
    Ok(Some(record))
}

fn log_path(dir: &Path, origin: &str) -> PathBuf {
    dir.join(LOGS_DIR).join(format!("{}.json", log_id(origin)))
}

/// The exclusive lock on a data directory, held while the value lives.
/// Two processes that both cosign from one state could each advance it
/// from the same old size and so cosign a fork; the lock refuses the second.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

/// Takes the exclusive lock on `dir` (flock(2) on `DIR/lock`, released by
/// the kernel when the process exits, even on SIGKILL); fails at once,
/// with a message naming the holder's pid, if another process holds it.
pub fn lock_dir(dir: &Path) -> Result<DirLock, BridgeError> {
    use rustix::fs::{flock, FlockOperation};
    use std::io::{Read as _, Seek as _};
    let path = dir.join(LOCK_FILE);
    if !dir.join(CONFIG_FILE).exists() {
        return Err(BridgeError::Config(format!(
            "{} is not a witness data directory (run notary-witness init)",
            dir.display()
        )));
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| BridgeError::storage(path.display(), e))?;
    if let Err(e) = flock(&file, FlockOperation::NonBlockingLockExclusive) {
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let holder = holder.trim();
        let holder =
            if holder.is_empty() { "another process".into() } else { format!("process {holder}") };
        return Err(BridgeError::Config(format!(
            "{} is in use by {holder} ({}: {e}); only one witness process may cosign from one data directory",
            dir.display(),
            path.display()
        )));
    }
    let io = |e| BridgeError::storage(path.display(), e);
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    file.write_all(format!("{}\n", std::process::id()).as_bytes()).map_err(io)?;
    Ok(DirLock { _file: file })
}

/// Persists a log record atomically.
pub fn save_log(dir: &Path, record: &LogRecord) -> Result<(), BridgeError> {
    let bytes =
        serde_json::to_vec_pretty(record).map_err(|e| BridgeError::Storage(e.to_string()))?;
    write_atomic(&dir.join(LOGS_DIR), &format!("{}.json", log_id(&record.origin)), &bytes)
}

/// True if a record for `origin` exists.
pub fn log_exists(dir: &Path, origin: &str) -> bool {
    log_path(dir, origin).exists()
}

/// Writes fork evidence durably; returns its path relative to `dir`.
pub fn save_evidence(dir: &Path, evidence: &ForkEvidence) -> Result<String, BridgeError> {
    let bytes =
        serde_json::to_vec_pretty(evidence).map_err(|e| BridgeError::Storage(e.to_string()))?;
    let digest = Hash::digest(&bytes).to_hex();
    let name =
        format!("{}-{}-{}.json", log_id(&evidence.origin), evidence.detected_at, &digest[..16]);
    let forks = dir.join(FORKS_DIR);
    create_dir_all_durable(&forks).map_err(|e| BridgeError::storage(forks.display(), e))?;
    write_atomic(&forks, &name, &bytes)?;
    Ok(format!("{FORKS_DIR}/{name}"))
}

/// Number of evidence files recorded for `origin`.
pub fn evidence_count(dir: &Path, origin: &str) -> usize {
    let prefix = format!("{}-", log_id(origin));
    fs::read_dir(dir.join(FORKS_DIR))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .count()
        })
        .unwrap_or(0)
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, BridgeError> {
    let bytes = fs::read(path).map_err(|e| BridgeError::storage(path.display(), e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| BridgeError::Storage(format!("{}: {e}", path.display())))
}

/// Temp file, fsync, rename over `name`, fsync of the directory.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), BridgeError> {
    let target: PathBuf = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp"));
    let io = |e| BridgeError::storage(target.display(), e);
    let mut file = File::create(&tmp).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    fs::rename(&tmp, &target).map_err(io)?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(io)
}

/// `create_dir_all`, then fsyncs the parent of every directory it created
/// (fsync(2) makes a name durable only through its directory).
fn create_dir_all_durable(dir: &Path) -> std::io::Result<()> {
    let missing: Vec<&Path> = dir.ancestors().take_while(|p| !p.exists()).collect();
    fs::create_dir_all(dir)?;
    for created in missing {
        if let Some(parent) = created.parent().filter(|p| !p.as_os_str().is_empty()) {
            File::open(parent)?.sync_all()?;
        }
    }
    Ok(())
}
