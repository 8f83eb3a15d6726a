//! The log key, the master key and a witness key in a PKCS#11 token
//! (issue 27), on a real SoftHSM2 token made by `softhsm2-util` in a
//! temporary directory: the whole flow through a real server and a real
//! witness (anchored bundle verified), what the data directory holds
//! (no key file, no document key in clear), what the token says of its
//! keys, and a copy of the data directory without the token.
//!
//! The token is inspected with `cryptoki` directly, not through the
//! ledger's own PKCS#11 code, so that the checks do not trust it.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::witness::{cosigned_by, wait_checkpoint, Witness};
use common::{Server, TENANT};
use cryptoki::context::{CInitializeArgs, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use evidence_ledger::flows::contract_flow;
use serde_json::json;
use verifier::note::NoteVerifier;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const PIN: &str = "hsm-pin-7f3a9c";
const DOC: &str = "contract-hsm-1";

/// One SoftHSM2 configuration for the test process (the library reads
/// SOFTHSM2_CONF once, at C_Initialize); each test makes its own token.
struct Hsm {
    dir: PathBuf,
    pkcs11: Pkcs11,
}

fn hsm() -> &'static Hsm {
    static HSM: OnceLock<Hsm> = OnceLock::new();
    HSM.get_or_init(|| {
        // Kept for the life of the process: the servers' tokens live here.
        let dir = tempfile::tempdir().unwrap().keep();
        std::fs::create_dir(dir.join("tokens")).unwrap();
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                dir.join("tokens").display()
            ),
        )
        .unwrap();
        std::fs::write(dir.join("pin"), format!("{PIN}\n")).unwrap();
        let private = std::os::unix::fs::PermissionsExt::from_mode(0o600);
        std::fs::set_permissions(dir.join("pin"), private).unwrap();
        // Before any test spawns a process (each waits here first); the
        // servers and CLIs inherit it.
        std::env::set_var("SOFTHSM2_CONF", &conf);
        // Every test's token, before C_Initialize: SoftHSM2 reads its
        // token directory then, and sees no token made later.
        for label in TOKENS {
            make_token(label);
        }
        let pkcs11 = Pkcs11::new(MODULE).expect("SoftHSM2 (Debian softhsm2; scripts/env.sh)");
        match pkcs11.initialize(CInitializeArgs::OsThreads) {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => panic!("C_Initialize: {e}"),
        }
        Hsm { dir, pkcs11 }
    })
}

/// Held by the tests that run servers and CLIs against SoftHSM2: its
/// file-backed tokens answer `C_GetTokenInfo` with CKR_GENERAL_ERROR when
/// several processes open tokens while another writes objects, so these
/// run one at a time (the in-process test needs no lock).
fn one_flow_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// The tests' tokens, one each.
const TOKENS: [&str; 5] =
    ["ledger-flow", "ledger-pin", "ledger-keys", "ledger-sm", "ledger-rotate"];

/// A new token, initialised as an operator does it.
fn make_token(label: &str) {
    let out = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", "0815"])
        .output()
        .expect("softhsm2-util");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

impl Hsm {
    fn uri(&self, token: &str, object: &str) -> String {
        format!(
            "pkcs11:token={token};object={object}?module-path={MODULE}&pin-source={}",
            self.dir.join("pin").display()
        )
    }

    /// A logged-in session with the token (re-read: tokens made after
    /// C_Initialize appear in a new slot list).
    fn session(&self, label: &str) -> Session {
        let slot = self
            .pkcs11
            .get_slots_with_token()
            .unwrap()
            .into_iter()
            .find(|s| self.pkcs11.get_token_info(*s).unwrap().label().trim_end() == label)
            .expect("token");
        let s = self.pkcs11.open_rw_session(slot).unwrap();
        match s.login(UserType::User, Some(&AuthPin::new(PIN.into()))) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => panic!("login: {e}"),
        }
        s
    }
}

fn one(s: &Session, class: ObjectClass, label: &str) -> cryptoki::object::ObjectHandle {
    let found = s
        .find_objects(&[Attribute::Class(class), Attribute::Label(label.as_bytes().to_vec())])
        .unwrap();
    assert_eq!(found.len(), 1, "{label}: {found:?}");
    found[0]
}

/// The token's own word that a key never left it in clear: sensitive,
/// never extractable, always sensitive.
fn assert_kept_inside(s: &Session, class: ObjectClass, label: &str) {
    let key = one(s, class, label);
    let attrs = s
        .get_attributes(
            key,
            &[
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::AlwaysSensitive,
                AttributeType::NeverExtractable,
            ],
        )
        .unwrap();
    for a in attrs {
        match a {
            Attribute::Sensitive(v) => assert!(v, "{label}: CKA_SENSITIVE"),
            Attribute::Extractable(v) => assert!(!v, "{label}: CKA_EXTRACTABLE"),
            Attribute::AlwaysSensitive(v) => assert!(v, "{label}: CKA_ALWAYS_SENSITIVE"),
            Attribute::NeverExtractable(v) => assert!(v, "{label}: CKA_NEVER_EXTRACTABLE"),
            other => panic!("{other:?}"),
        }
    }
    // And it will not come out: reading its value is refused.
    assert!(s.get_attributes(key, &[AttributeType::Value]).map_or(true, |v| v.is_empty()));
}

/// Unwraps a key the way docs/architecture.md says a token master key
/// wraps one: `0x02 || 12-byte IV || AES-256-GCM(key, AAD) || tag`.
fn unwrap_in_token(s: &Session, label: &str, id: &[u8; 32], wrapped: &[u8]) -> Vec<u8> {
    assert_eq!(wrapped[0], 2, "layout of a token-wrapped key");
    let key = one(s, ObjectClass::SECRET_KEY, label);
    let aad = [b"evidence-ledger/document-key/v1\0".as_slice(), id].concat();
    let mut iv = wrapped[1..13].to_vec();
    let params = GcmParams::new(&mut iv, &aad, 128.into()).unwrap();
    s.decrypt(&Mechanism::AesGcm(params), key, &wrapped[13..]).unwrap()
}

fn files(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
}

/// The verifier CLI, built beside ours by `cargo test --workspace`.
fn verifier_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("verifier");
    assert!(bin.exists(), "{} missing: cargo build --release -p evidence-verifier", bin.display());
    bin
}

fn copy_dir(from: &Path, to: &Path) {
    let out = Command::new("cp").arg("-a").arg(from).arg(to).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_whole_flow_runs_with_the_log_master_and_witness_keys_in_the_token() {
    let _one = one_flow_at_a_time();
    let hsm = hsm();
    let token = TOKENS[0];
    let (log_uri, master_uri) = (hsm.uri(token, "log"), hsm.uri(token, "master"));
    let mut s = Server::prepare_with(&["--log-key", &log_uri, "--master-key", &master_uri]);
    // A witness whose cosigning key is in the token too.
    let d = s.data().to_str().unwrap().to_string();
    let status = common::cli(&["status", "--data", &d]);
    let log_vkey = status.lines().find_map(|l| l.strip_prefix("vkey: ")).unwrap().to_string();
    let witness_uri = hsm.uri(token, "witness");
    let mut w = Witness::start_with("court.example/w", &log_vkey, None, &["--key", &witness_uri]);
    common::cli(&["witness", "add", "--data", &d, "--vkey", &w.vkey, "--url", &w.url()]);
    common::cli(&["anchor", "policy", "--data", &d, "--interval", "1"]);
    assert!(!Path::new(&w.data()).join("witness.key").exists());
    s.spawn();
    let signers: Vec<_> = s.signers.iter().collect();
    let document = b"hardware-kept contract".to_vec();
    let (status, body) =
        s.submit(&json!({"events": contract_flow(&s.services, &signers, DOC, &document)}));
    assert_eq!(status, 200, "{body}");
    let first = body["receipts"][0]["index"].as_u64().unwrap();
    // The log attests its own report_issued event through the token too.
    let (status, report) = s.get(&format!("/v1/documents/{DOC}/report"), Some(&s.tokens.legal));
    assert_eq!(status, 200, "{report}");

    // The vkey the log serves is the token's public key (CKA_EC_POINT).
    let session = hsm.session(token);
    let point = session
        .get_attributes(one(&session, ObjectClass::PUBLIC_KEY, "log"), &[AttributeType::EcPoint])
        .unwrap();
    let Attribute::EcPoint(point) = &point[0] else { panic!("{point:?}") };
    let vkey = s.get_json("/v1/log")["vkey"].as_str().unwrap().to_string();
    let served = NoteVerifier::from_vkey(&vkey).unwrap();
    assert_eq!(point.as_slice(), [&[0x04, 0x20][..], served.key.as_bytes()].concat());

    // The witness cosigns through its token: the bundle's checkpoint is anchored.
    wait_checkpoint(&s, "the token witness's cosignature", |cp| {
        cp.checkpoint.size > first && cosigned_by(cp, &w)
    });

    // The bundle verifies with the verifier CLI under a policy naming those keys.
    let (status, bundle) = s.get(&format!("/v1/documents/{DOC}/bundle"), Some(&s.tokens.legal));
    assert_eq!(status, 200, "{bundle}");
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("bundle.json"), &bundle).unwrap();
    std::fs::write(work.path().join("doc"), &document).unwrap();
    let policy = format!("log {vkey}\nwitness {}\nquorum 1\n", w.vkey);
    std::fs::write(work.path().join("policy"), policy).unwrap();
    let out = Command::new(verifier_bin())
        .arg("verify")
        .arg(work.path().join("bundle.json"))
        .arg("--policy")
        .arg(work.path().join("policy"))
        .arg("--document")
        .arg(work.path().join("doc"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("court.example/w"), "the witness is named: {text}");
    // ... and under another key of the same name, it does not.
    let other = verifier::note::NoteSigner::new(
        &served.name,
        ed25519_dalek::SigningKey::from_bytes(&[5; 32]),
    )
    .unwrap();
    std::fs::write(work.path().join("policy"), format!("log {}\n", other.vkey())).unwrap();
    let out = Command::new(verifier_bin())
        .arg("verify")
        .arg(work.path().join("bundle.json"))
        .arg("--policy")
        .arg(work.path().join("policy"))
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(s.terminate(), "the server stops cleanly");

    // The keys never left the token: its own attributes say so.
    assert_kept_inside(&session, ObjectClass::PRIVATE_KEY, "log");
    assert_kept_inside(&session, ObjectClass::SECRET_KEY, "master");
    assert_kept_inside(&session, ObjectClass::PRIVATE_KEY, "witness");

    // No key file, and no document key in clear anywhere in the directory:
    // each wrapped key is unwrapped by the token (here, by the test) and
    // its 32 bytes searched for in every file.
    let data = s.data().to_path_buf();
    assert!(!data.join("log.key").exists());
    assert!(!data.join("keys/master.key").exists());
    let store = ledger::store::Store::open_read_only(&data.join("db")).unwrap();
    let wrapped = store.wrapped_keys().unwrap();
    assert!(wrapped.len() >= 2, "the index key and the contract's key: {}", wrapped.len());
    let keys: Vec<Vec<u8>> =
        wrapped.iter().map(|(id, w)| unwrap_in_token(&session, "master", id, w)).collect();
    drop(store);
    let mut all = Vec::new();
    files(&data, &mut all);
    for (path, bytes) in &all {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains("PRIVATE+KEY"), "{}", path.display());
        assert!(!text.contains(PIN), "no PIN in {}", path.display());
        for k in &keys {
            assert_eq!(k.len(), 32);
            assert!(!bytes.windows(32).any(|w| w == k.as_slice()), "{}", path.display());
        }
    }

    // A backup carries the token's URI and vkey, no key, and audits.
    let saved = tempfile::tempdir().unwrap();
    let backup = saved.path().join("backup");
    common::cli(&["backup", "--data", data.to_str().unwrap(), "--to", backup.to_str().unwrap()]);
    assert_eq!(
        std::fs::read(backup.join("log.pkcs11")).unwrap(),
        std::fs::read(data.join("log.pkcs11")).unwrap()
    );
    assert!(!backup.join("log.key").exists() && !backup.join("keys").exists());

    // A copy of the data directory on a machine without the token.
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join("data");
    copy_dir(&data, &copy);
    let empty_conf = elsewhere.path().join("softhsm2.conf");
    std::fs::create_dir(elsewhere.path().join("tokens")).unwrap();
    std::fs::write(
        &empty_conf,
        format!("directories.tokendir = {}\n", elsewhere.path().join("tokens").display()),
    )
    .unwrap();
    let out = Command::new(common::BIN)
        .args(["serve", "--data", copy.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .env("SOFTHSM2_CONF", &empty_conf)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("PKCS#11 token") && err.contains("no token"), "{err}");
    assert!(!copy.join("keys/master.key").exists(), "no file key is made in its place");
    // Nor does the witness cosign without its token.
    w.kill();
    let out = Command::new(common::witness::witness_bin())
        .args(["serve", "--data", &w.data(), "--listen", "127.0.0.1:0"])
        .env("SOFTHSM2_CONF", &empty_conf)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("witness key is in a PKCS#11 token"), "{err}");
    assert!(!Path::new(&w.data()).join("witness.key").exists());
    assert!(!copy.join("log.key").exists());
    // The audit still checks the copy's structure with the recorded vkey,
    // but opens no record.
    let out = Command::new(common::BIN)
        .args(["audit", "--data", copy.to_str().unwrap()])
        .env("SOFTHSM2_CONF", &empty_conf)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // With the log key reachable but the master key's token not, the
    // records stay closed (here: the copy names a token that is absent).
    let master_file = copy.join("keys/master.pkcs11");
    let recorded = std::fs::read_to_string(&master_file).unwrap();
    std::fs::write(&master_file, recorded.replace("token=ledger-flow", "token=not-here")).unwrap();
    let read = ledger::Ledger::open_read_only(&copy).unwrap();
    assert!(read.leaf(first).is_ok(), "public leaves stay readable");
    assert!(read.opening(first).is_err(), "a record does not open without the master key");
    drop(read);
    let out = Command::new(common::BIN)
        .args(["serve", "--data", copy.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("master key is in a PKCS#11 token"), "{err}");
    // And with the record of the master key gone, the store's wrapped keys
    // (layout 0x02) still say a token is needed: no file key is made.
    std::fs::remove_file(&master_file).unwrap();
    let out = Command::new(common::BIN)
        .args(["serve", "--data", copy.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("wrapped by a master key in a PKCS#11 token"), "{err}");
    assert!(!copy.join("keys/master.key").exists(), "no file key is made in its place");
    // The original, with its token, still opens its records.
    let back = ledger::Ledger::open_read_only(&data).unwrap();
    assert!(back.opening(first).is_ok());
    let _ = TENANT;
}

#[test]
fn init_refuses_a_wrong_pin_or_a_missing_token_and_writes_no_key() {
    let _one = one_flow_at_a_time();
    let hsm = hsm();
    let dir = tempfile::tempdir().unwrap();
    for (uri, why) in [
        (
            format!("pkcs11:token=ledger-pin;object=log?module-path={MODULE}&pin-value=0000"),
            "login",
        ),
        (hsm.uri("no-such-token", "log"), "no token"),
        ("pkcs11:token=ledger-pin;object=log?module-path=/nonexistent.so".to_string(), "module"),
        ("pkcs11:token=ledger-pin;object=log".to_string(), "module-path"),
    ] {
        let data = dir.path().join("d");
        let out = Command::new(common::BIN)
            .args(["init", "--data", data.to_str().unwrap(), "--origin", "t.example/log"])
            .args(["--log-key", &uri])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{uri}");
        assert!(err.contains(why), "{uri}: {err}");
        assert!(!err.contains("0000"), "the PIN is not echoed: {err}");
        assert!(!data.join("log.key").exists() && !data.join("log.pkcs11").exists(), "{uri}");
        let _ = std::fs::remove_dir_all(&data);
    }
}

/// The token keys through the ledger's own code, in this process: wraps
/// bound to their AAD and layout, deterministic pure Ed25519 signatures
/// that verify under the CKA_EC_POINT key, and a key the token would let
/// out refused.
#[test]
fn token_keys_wrap_bound_to_their_aad_sign_pure_ed25519_and_refuse_extractable_keys() {
    use ed25519_dalek::Verifier as _;
    use ledger::pkcs11::{Pkcs11Uri, TokenLogKey, TokenMasterKey};
    use ledger::vault::MasterKey as _;
    let hsm = hsm();
    let token = TOKENS[2];
    let uri = |object: &str| Pkcs11Uri::parse(&hsm.uri(token, object)).unwrap();

    assert!(TokenMasterKey::open(&uri("master")).is_err(), "open never generates");
    let master = TokenMasterKey::open_or_generate(&uri("master")).unwrap();
    let key = [7u8; 32];
    let wrapped = master.wrap(&key, b"aad-1").unwrap();
    assert_eq!((wrapped[0], wrapped.len()), (2, 1 + 12 + 32 + 16));
    assert_eq!(*master.unwrap(&wrapped, b"aad-1").unwrap(), key);
    assert!(master.unwrap(&wrapped, b"aad-2").is_err(), "bound to the AAD");
    let mut altered = wrapped.clone();
    altered[20] ^= 1;
    assert!(master.unwrap(&altered, b"aad-1").is_err(), "altered");
    let mut file_layout = wrapped.clone();
    file_layout[0] = 1;
    assert!(master.unwrap(&file_layout, b"aad-1").unwrap_err().to_string().contains("layout"));
    // The same key opened again (another process would) unwraps it.
    let again = TokenMasterKey::open(&uri("master")).unwrap();
    assert_eq!(*again.unwrap(&wrapped, b"aad-1").unwrap(), key);

    let log = TokenLogKey::open_or_generate(&uri("log")).unwrap();
    let msg = b"origin\n1\nroot\n";
    let sig = log.sign(msg).unwrap();
    assert_eq!(sig, log.sign(msg).unwrap(), "RFC 8032: deterministic");
    log.verifying_key().verify(msg, &sig).unwrap();
    let same = TokenLogKey::open_or_generate(&uri("log")).unwrap();
    assert_eq!(same.verifying_key(), log.verifying_key(), "the existing pair is taken");

    // A key made extractable and not sensitive, by someone else.
    let session = hsm.session(token);
    session
        .generate_key(
            &Mechanism::AesKeyGen,
            &[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::ValueLen(32.into()),
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(false),
                Attribute::Extractable(true),
                Attribute::Encrypt(true),
                Attribute::Decrypt(true),
                Attribute::Label(b"weak".to_vec()),
            ],
        )
        .unwrap();
    for e in [
        TokenMasterKey::open(&uri("weak")).err().unwrap(),
        TokenMasterKey::open_or_generate(&uri("weak")).err().unwrap(),
    ] {
        assert!(e.to_string().contains("can leave the token"), "{e}");
    }
}

/// An `sm2-sm3` log with its master key in a token: the token wraps the
/// document keys with AES-256-GCM (layout 2; SM4 in the token is not
/// built), and the records under them are SM4-GCM (layout 3).
#[test]
fn an_sm2_sm3_log_with_a_token_master_key_seals_its_records_with_sm4_gcm() {
    let _one = one_flow_at_a_time();
    use ledger::sealing::LAYOUT_SM4_GCM;
    use ledger::store::{Store, TAG_RECORD};
    let hsm = hsm();
    let master_uri = hsm.uri(TOKENS[3], "master");
    let mut s = Server::prepare_with(&["--suite", "sm2-sm3", "--master-key", &master_uri]);
    s.spawn_with(&["--suite", "sm2-sm3"]);
    let doc = "contract-hsm-sm";
    let signers: Vec<_> = s.signers.iter().collect();
    let (status, body) =
        s.submit(&json!({"events": contract_flow(&s.services, &signers, doc, doc.as_bytes())}));
    assert_eq!(status, 200, "{body}");
    let first = body["receipts"][0]["index"].as_u64().unwrap();
    let (status, bundle) = s.get(&format!("/v1/documents/{doc}/bundle"), Some(&s.tokens.legal));
    assert_eq!(status, 200, "{bundle}");
    let bundle = verifier::bundle::Bundle::parse(bundle.as_bytes()).unwrap();
    assert!(bundle.entries.iter().all(|e| e.record.is_some()), "records open");
    assert!(s.terminate());
    let store = Store::open_read_only(&s.data().join("db")).unwrap();
    assert_eq!(store.vault_suite().unwrap().as_deref(), Some(b"sm4-gcm/hmac-sm3".as_slice()));
    let sealed = store.private(first, TAG_RECORD).unwrap().expect("stored record");
    assert_eq!(sealed[32], LAYOUT_SM4_GCM);
    let key_id: [u8; 32] = sealed[..32].try_into().unwrap();
    let wrapped = store.wrapped_key(&key_id).unwrap().expect("its key");
    assert_eq!(wrapped[0], ledger::pkcs11::master::LAYOUT_PKCS11_GCM, "wrapped by the token");
}

/// Waits until the server's master key rotation is idle; returns its status.
fn rotation_idle(s: &Server) -> serde_json::Value {
    let start = std::time::Instant::now();
    loop {
        let (st, body) = s.get("/v1/admin/master-key/status", Some(&s.tokens.platform));
        assert_eq!(st, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        if v["phase"] == "idle" {
            return v;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(120), "{v}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn all_records_open(s: &Server, doc: &str) {
    let (status, bundle) = s.get(&format!("/v1/documents/{doc}/bundle"), Some(&s.tokens.legal));
    assert_eq!(status, 200, "{bundle}");
    let bundle = verifier::bundle::Bundle::parse(bundle.as_bytes()).unwrap();
    assert!(bundle.entries.iter().all(|e| e.record.is_some()), "{doc}: records open");
}

/// Issue 27 item 2: a master key in a token is rotated while the server
/// runs: the new key is generated in the token (sensitive, not
/// extractable) under a new label, every document key is re-wrapped under
/// it, and the old key object is destroyed; a file master key moves into
/// the token the same way.
#[test]
fn a_token_master_key_is_rotated_online_and_a_file_key_moves_into_the_token() {
    let _one = one_flow_at_a_time();
    let hsm = hsm();
    let token = TOKENS[4];
    let mut s = Server::prepare_with(&["--master-key", &hsm.uri(token, "master")]);
    s.spawn();
    let signers: Vec<_> = s.signers.iter().collect();
    let docs = ["contract-rot-1", "contract-rot-2"];
    for doc in docs {
        let (st, body) =
            s.submit(&json!({"events": contract_flow(&s.services, &signers, doc, doc.as_bytes())}));
        assert_eq!(st, 200, "{body}");
    }
    // Into the key it already uses: refused, nothing made.
    let same = serde_json::to_vec(&json!({ "to": hsm.uri(token, "master") })).unwrap();
    let (st, body) = s.post("/v1/admin/master-key/rotate", Some(&s.tokens.platform), same);
    assert_eq!((st, body["error"]["code"].as_str()), (400, Some("invalid_rotation")), "{body}");
    assert!(!s.data().join("keys/master.1.pkcs11").exists());
    let (st, body) = s.post("/v1/admin/master-key/rotate", Some(&s.tokens.platform), "{}");
    assert_eq!(st, 202, "{body}");
    let done = rotation_idle(&s);
    assert_eq!(
        (done["current_epoch"].as_u64(), done["current_in_token"].as_bool()),
        (Some(1), Some(true))
    );
    for doc in docs {
        all_records_open(&s, doc);
    }
    s.restart();
    for doc in docs {
        all_records_open(&s, doc);
    }
    assert!(s.terminate());
    assert!(!s.data().join("keys/master.pkcs11").exists());
    assert!(s.data().join("keys/master.1.pkcs11").exists());
    let session = hsm.session(token);
    let old = session
        .find_objects(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::Label(b"master".to_vec()),
        ])
        .unwrap();
    assert!(old.is_empty(), "the old key object is destroyed: {old:?}");
    assert_kept_inside(&session, ObjectClass::SECRET_KEY, "master.e1");
    drop(session);

    // A file master key moved into the token by a rotation.
    let mut f = Server::start();
    let doc = "contract-moved";
    let signers: Vec<_> = f.signers.iter().collect();
    let (st, body) =
        f.submit(&json!({"events": contract_flow(&f.services, &signers, doc, doc.as_bytes())}));
    assert_eq!(st, 200, "{body}");
    let to = hsm.uri(token, "moved-from-file");
    let (st, body) = f.post(
        "/v1/admin/master-key/rotate",
        Some(&f.tokens.platform),
        serde_json::to_vec(&json!({ "to": to })).unwrap(),
    );
    assert_eq!(st, 202, "{body}");
    let done = rotation_idle(&f);
    assert_eq!(done["current_in_token"], true, "{done}");
    assert!(!f.data().join("keys/master.key").exists(), "the file key is destroyed");
    f.restart();
    all_records_open(&f, doc);
    assert!(f.terminate());
    let store = ledger::store::Store::open_read_only(&f.data().join("db")).unwrap();
    for (_, w) in store.wrapped_keys().unwrap() {
        let (epoch, inner) = ledger::vault::split_wrapped(&w).unwrap();
        assert_eq!((epoch, inner[0]), (1, ledger::pkcs11::master::LAYOUT_PKCS11_GCM));
    }
    let session = hsm.session(token);
    assert_kept_inside(&session, ObjectClass::SECRET_KEY, "moved-from-file");
}

/// A server killed while it destroys a retired token key (its record
/// renamed `.retired`, the object not destroyed yet): the next start
/// destroys it, and every record opens under the new token key.
#[test]
fn a_token_key_retirement_cut_short_is_finished_at_the_next_start() {
    let _one = one_flow_at_a_time();
    let hsm = hsm();
    let token = TOKENS[4];
    let mut s = Server::prepare_with(&["--master-key", &hsm.uri(token, "cut")]);
    let mut child = Command::new(common::BIN)
        .args(["serve", "--data", s.data().to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "error")
        .env(ledger::fault::FAULT_ENV, "retire-token-renamed")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    s.url = evidence_ledger::load::read_listen_line(&mut child).unwrap();
    let doc = "contract-cut";
    let signers: Vec<_> = s.signers.iter().collect();
    let (st, body) =
        s.submit(&json!({"events": contract_flow(&s.services, &signers, doc, doc.as_bytes())}));
    assert_eq!(st, 200, "{body}");
    let (st, body) = s.post("/v1/admin/master-key/rotate", Some(&s.tokens.platform), "{}");
    assert_eq!(st, 202, "{body}");
    assert!(!child.wait().unwrap().success(), "killed while retiring");
    assert!(s.data().join("keys/master.pkcs11.retired").exists());
    s.spawn();
    let done = rotation_idle(&s);
    assert_eq!(done["current_epoch"], 1, "{done}");
    all_records_open(&s, doc);
    assert!(s.terminate());
    assert!(!s.data().join("keys/master.pkcs11.retired").exists(), "finished");
    let session = hsm.session(token);
    let old = session
        .find_objects(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::Label(b"cut".to_vec()),
        ])
        .unwrap();
    assert!(old.is_empty(), "the retired key object is destroyed: {old:?}");
    assert_kept_inside(&session, ObjectClass::SECRET_KEY, "cut.e1");
}
