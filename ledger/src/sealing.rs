//! The vault's cipher suites: which AEAD seals private values and wraps
//! document keys, and which keyed hash makes the index ids. A log's vault
//! uses one suite, chosen when its index key is made and recorded beside
//! it; every sealed value and wrapped key also names its AEAD in its
//! layout byte, so values sealed before a log's suite changed, or wrapped
//! by a master key that offers only AES (a PKCS#11 token), still open.
//!
//! - `aes-256-gcm/hmac-sha-256`: every `ed25519-sha256` log, and `sm2-sm3`
//!   logs whose vault was made before SM4 was used.
//! - `sm4-gcm/hmac-sm3`: `sm2-sm3` logs. SM4-GCM is GCM (NIST SP 800-38D)
//!   over the SM4 block cipher (GB/T 32907), as RFC 8998 names it: a
//!   128-bit key, a 12-byte nonce and a 16-byte tag. Vault keys are 32
//!   random bytes whatever the suite; SM4 keys with their first 16.
//!   HMAC-SM3 (RFC 2104 over GB/T 32905) gives 32 bytes, as HMAC-SHA-256.
//!
//! RustCrypto's generic GCM (the `aes-gcm` crate's `AesGcm<Cipher, U12>`)
//! over its `sm4` crate, and its `hmac` over `sm3`: no primitive by hand.

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::{Aead as _, AeadInPlace, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, AesGcm};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sm3::Sm3;
use verifier::suite::Suite;

use crate::error::{LedgerError, Result};

/// SM4-GCM with a 96-bit nonce and a 128-bit tag (RFC 8998, §2).
type Sm4Gcm = AesGcm<sm4::Sm4, U12>;

/// Bytes of a GCM nonce (both AEADs).
pub const NONCE_BYTES: usize = 12;
/// Bytes of a GCM tag (both AEADs).
pub const TAG_BYTES: usize = 16;
/// Bytes of an SM4 key: the first ones of a 32-byte vault key.
pub const SM4_KEY_BYTES: usize = 16;

/// Layout byte of a value sealed with AES-256-GCM (every value sealed
/// before suites, so its number is 1).
pub const LAYOUT_AES_256_GCM: u8 = 1;
/// Layout byte of a value sealed with SM4-GCM (2 is a PKCS#11 token's
/// AES-256-GCM wrapping, `pkcs11::master::LAYOUT_PKCS11_GCM`).
pub const LAYOUT_SM4_GCM: u8 = 3;

/// An AEAD of the vault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aead {
    /// AES-256-GCM.
    Aes256Gcm,
    /// SM4-GCM (GB/T 32907; RFC 8998 `AEAD_SM4_GCM`).
    Sm4Gcm,
}

impl Aead {
    /// The layout byte a value sealed with it starts with.
    pub const fn layout(self) -> u8 {
        match self {
            Aead::Aes256Gcm => LAYOUT_AES_256_GCM,
            Aead::Sm4Gcm => LAYOUT_SM4_GCM,
        }
    }

    /// The AEAD a layout byte names.
    pub fn from_layout(layout: u8) -> Result<Aead> {
        match layout {
            LAYOUT_AES_256_GCM => Ok(Aead::Aes256Gcm),
            LAYOUT_SM4_GCM => Ok(Aead::Sm4Gcm),
            b => Err(LedgerError::Corrupt(format!("sealed value has unknown layout {b}"))),
        }
    }

    /// Encrypts `buf` in place under `key`; returns the tag.
    pub(crate) fn encrypt_in_place(
        self,
        key: &[u8; 32],
        nonce: &[u8; NONCE_BYTES],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_BYTES]> {
        match self {
            Aead::Aes256Gcm => encrypt(&Aes256Gcm::new(key.into()), nonce, aad, buf),
            Aead::Sm4Gcm => encrypt(&sm4_gcm(key), nonce, aad, buf),
        }
    }

    /// Decrypts `ciphertext || tag` under `key`.
    pub(crate) fn decrypt(
        self,
        key: &[u8; 32],
        nonce: &[u8; NONCE_BYTES],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Vec<u8>> {
        let payload = Payload { msg: sealed, aad };
        let nonce = GenericArray::from_slice(nonce);
        match self {
            Aead::Aes256Gcm => Aes256Gcm::new(key.into()).decrypt(nonce, payload),
            Aead::Sm4Gcm => sm4_gcm(key).decrypt(nonce, payload),
        }
        .map_err(|_| {
            LedgerError::Corrupt("sealed value does not decrypt (wrong key or altered)".into())
        })
    }
}

fn sm4_gcm(key: &[u8; 32]) -> Sm4Gcm {
    Sm4Gcm::new(GenericArray::from_slice(&key[..SM4_KEY_BYTES]))
}

fn encrypt<C: AeadInPlace<NonceSize = U12>>(
    cipher: &C,
    nonce: &[u8; NONCE_BYTES],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; TAG_BYTES]> {
    let tag = cipher
        .encrypt_in_place_detached(GenericArray::from_slice(nonce), aad, buf)
        .map_err(|_| LedgerError::Corrupt("GCM encryption failed".into()))?;
    tag.as_slice().try_into().map_err(|_| LedgerError::Corrupt("GCM tag is not 16 bytes".into()))
}

/// The keyed hash of the vault's index ids, keyed with its index key.
#[derive(Clone)]
pub(crate) enum IndexMac {
    /// HMAC-SHA-256.
    Sha256(Hmac<Sha256>),
    /// HMAC-SM3.
    Sm3(Hmac<Sm3>),
}

impl IndexMac {
    /// The MAC of `suite` keyed with `key` (its key schedule done once).
    pub(crate) fn new(suite: VaultSuite, key: &[u8; 32]) -> IndexMac {
        #[allow(clippy::expect_used)] // HMAC takes keys of any length.
        match suite {
            VaultSuite::Aes256GcmHmacSha256 => IndexMac::Sha256(
                <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC key of any length"),
            ),
            VaultSuite::Sm4GcmHmacSm3 => IndexMac::Sm3(
                <Hmac<Sm3> as Mac>::new_from_slice(key).expect("HMAC key of any length"),
            ),
        }
    }

    /// The MAC of `domain` then `parts`, each length-prefixed (so that no
    /// two part lists give one input).
    pub(crate) fn keyed_hash(&self, domain: &str, parts: &[&[u8]]) -> [u8; 32] {
        match self {
            IndexMac::Sha256(m) => keyed(m.clone(), domain, parts),
            IndexMac::Sm3(m) => keyed(m.clone(), domain, parts),
        }
    }
}

fn keyed<M: Mac>(mut mac: M, domain: &str, parts: &[&[u8]]) -> [u8; 32] {
    mac.update(domain.as_bytes());
    for p in parts {
        mac.update(&(p.len() as u32).to_be_bytes());
        mac.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(&mac.finalize().into_bytes()[..32]);
    out
}

/// A vault's suite: its AEAD and its index MAC, chosen once per log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VaultSuite {
    /// AES-256-GCM and HMAC-SHA-256.
    Aes256GcmHmacSha256,
    /// SM4-GCM and HMAC-SM3.
    Sm4GcmHmacSm3,
}

impl VaultSuite {
    /// The suite a new vault of a log of `suite` uses.
    pub fn for_log(suite: Suite) -> VaultSuite {
        match suite {
            Suite::Ed25519Sha256 => VaultSuite::Aes256GcmHmacSha256,
            Suite::Sm2Sm3 => VaultSuite::Sm4GcmHmacSm3,
        }
    }

    /// The AEAD it seals and wraps with.
    pub fn aead(self) -> Aead {
        match self {
            VaultSuite::Aes256GcmHmacSha256 => Aead::Aes256Gcm,
            VaultSuite::Sm4GcmHmacSm3 => Aead::Sm4Gcm,
        }
    }

    /// Its name as the store records it.
    pub fn name(self) -> &'static str {
        match self {
            VaultSuite::Aes256GcmHmacSha256 => "aes-256-gcm/hmac-sha-256",
            VaultSuite::Sm4GcmHmacSm3 => "sm4-gcm/hmac-sm3",
        }
    }

    /// The suite a recorded name names.
    pub fn from_name(name: &[u8]) -> Result<VaultSuite> {
        [VaultSuite::Aes256GcmHmacSha256, VaultSuite::Sm4GcmHmacSm3]
            .into_iter()
            .find(|s| s.name().as_bytes() == name)
            .ok_or_else(|| {
                LedgerError::Corrupt(format!(
                    "unknown vault suite {:?}",
                    String::from_utf8_lossy(name)
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GCM over SM4 from RFC 8998, Appendix A.1 (the AEAD_SM4_GCM example).
    #[test]
    fn sm4_gcm_matches_rfc_8998_example() {
        let hex = |s: &str| hex::decode(s.replace(' ', "")).expect("hex");
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(&hex("0123456789ABCDEFFEDCBA9876543210"));
        let nonce: [u8; 12] = hex("00001234567800000000ABCD").try_into().expect("12");
        let aad = hex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2");
        let plain = hex("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD\
             EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA");
        let mut buf = plain.clone();
        let tag = Aead::Sm4Gcm.encrypt_in_place(&key, &nonce, &aad, &mut buf).expect("seal");
        assert_eq!(
            buf,
            hex("17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735\
                 D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D")
        );
        assert_eq!(tag.to_vec(), hex("83DE3541E4C2B58177E065A9BF7B62EC"));
        buf.extend_from_slice(&tag);
        assert_eq!(Aead::Sm4Gcm.decrypt(&key, &nonce, &aad, &buf).expect("open"), plain);
        assert!(Aead::Aes256Gcm.decrypt(&key, &nonce, &aad, &buf).is_err());
    }

    /// The SM4-GCM record vector of docs/formats.md §13 (made by
    /// tests/fixtures/sm4_gcm.py, gmssl's SM4 under a GCM written apart):
    /// a v3 record sealed under document key 00..1f (SM4 key 00..0f).
    const KAT_SEALED: &str = "1111111111111111111111111111111111111111111111111111111111111111\
        03000102030405060708090a0b\
        ec64bb8dac04f122c5e75628a7de97127efe65e90b2b70dac6cabf6020aaebbf\
        ea8c2a9f554e59ab5793991e5eb110761f620fa2486bb1a533";
    const KAT_PLAIN: &[u8] = br#"{"event":{"event_id":"e-1"},"tenant":"t"}"#;
    const KAT_AAD: &[u8] = b"evidence-ledger/private/v3\0r";

    #[test]
    fn the_documented_sm4_gcm_record_vector_opens() {
        let key: [u8; 32] = std::array::from_fn(|i| i as u8);
        let sealed = hex::decode(KAT_SEALED).expect("hex");
        assert_eq!(crate::vault::sealed_key_id(&sealed).expect("id"), [0x11; 32]);
        assert_eq!(crate::vault::open_private(&key, KAT_AAD, &sealed).expect("open"), KAT_PLAIN);
        let nonce: [u8; 12] = sealed[33..45].try_into().expect("12");
        let mut buf = KAT_PLAIN.to_vec();
        let tag = Aead::Sm4Gcm.encrypt_in_place(&key, &nonce, KAT_AAD, &mut buf).expect("seal");
        buf.extend_from_slice(&tag);
        assert_eq!(buf, sealed[45..], "sealing gives the vector too");
        let documented = include_str!("../../docs/formats.md").replace(char::is_whitespace, "");
        assert!(documented.contains(&KAT_SEALED.replace(char::is_whitespace, "")), "in §13");
    }

    const GMSSL_PYTHON: &str = "/var/cache/evidence-ledger/gmssl-venv/bin/python";

    /// Independent SM4-GCM (tests/fixtures/sm4_gcm.py) of hex arguments.
    fn independent(op: &str, key: &[u8], nonce: &[u8], aad: &[u8], data: &[u8]) -> Vec<u8> {
        assert!(
            std::path::Path::new(GMSSL_PYTHON).exists(),
            "{GMSSL_PYTHON} missing: run scripts/env.sh (it makes the gmssl venv)"
        );
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/sm4_gcm.py");
        let out = std::process::Command::new(GMSSL_PYTHON)
            .arg(script)
            .arg(op)
            .args([key, nonce, aad, data].map(hex::encode))
            .output()
            .expect("python");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        hex::decode(String::from_utf8_lossy(&out.stdout).trim()).expect("hex out")
    }

    /// An `sm2-sm3` log's vault, over a RocksDB store: the document key as
    /// stored (wrapped under the master key file) and a record sealed
    /// under it both open with an independent SM4-GCM, and the index key
    /// is an HMAC-SM3 key.
    #[test]
    fn an_sm_logs_stored_key_and_record_open_with_independent_sm4_gcm() {
        use crate::vault::{key_aad, master_key_path, seal_private, FileMasterKey, Vault};
        let dir = tempfile::tempdir().expect("tempdir");
        let store = crate::store::Store::open(&dir.path().join("db")).expect("store");
        let path = master_key_path(dir.path());
        let master = FileMasterKey::open_or_create(&path).expect("master");
        let vault = Vault::open(Box::new(master), &store, Default::default(), Suite::Sm2Sm3)
            .expect("vault");
        assert_eq!(vault.suite(), VaultSuite::Sm4GcmHmacSm3);
        assert_eq!(store.vault_suite().expect("meta"), Some(b"sm4-gcm/hmac-sm3".to_vec()));
        let id = vault.document_id("t", "c-1");
        let key = vault.key_for_writing(&id, &store).expect("key");
        store.put_wrapped_key(&id, key.new_wrapped.as_deref().expect("new")).expect("put");
        let sealed = seal_private(vault.aead(), &key.key, &id, KAT_AAD, KAT_PLAIN).expect("seal");

        // Unwrap the stored key with the master key file's first 16 bytes.
        let master_bytes = std::fs::read(&path).expect("master key");
        let wrapped = store.wrapped_key(&id).expect("read").expect("stored");
        assert_eq!(wrapped[0], LAYOUT_SM4_GCM);
        let (nonce, ct) = wrapped[1..].split_at(NONCE_BYTES);
        let doc_key = independent("open", &master_bytes[..16], nonce, &key_aad(&id), ct);
        assert_eq!(doc_key, key.key.as_slice());
        // Then the record, under the document key's first 16 bytes.
        assert_eq!(sealed[32], LAYOUT_SM4_GCM);
        let (nonce, ct) = sealed[33..].split_at(NONCE_BYTES);
        assert_eq!(independent("open", &doc_key[..16], nonce, KAT_AAD, ct), KAT_PLAIN);

        // The index MAC is HMAC-SM3 under the (wrapped) index key.
        let wrapped = store.wrapped_key(&crate::vault::INDEX_KEY_ID).expect("read").expect("idx");
        let (nonce, ct) = wrapped[1..].split_at(NONCE_BYTES);
        let index_key = independent(
            "open",
            &master_bytes[..16],
            nonce,
            &key_aad(&crate::vault::INDEX_KEY_ID),
            ct,
        );
        let mut mac = <Hmac<Sm3> as Mac>::new_from_slice(&index_key).expect("hmac");
        mac.update(b"document");
        for p in [b"t".as_slice(), b"c-1"] {
            mac.update(&(p.len() as u32).to_be_bytes());
            mac.update(p);
        }
        assert_eq!(mac.finalize().into_bytes().as_slice(), id);
    }
}
