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
}
