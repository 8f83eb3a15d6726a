//! The master key in a token: an AES-256 secret key generated there,
//! sensitive and non-extractable; document keys are wrapped and unwrapped
//! by the token with CKM_AES_GCM, the vault's AAD as GCM's additional
//! data. The layout, `0x02 || 12-byte IV || ciphertext || 16-byte tag`,
//! differs from a file key's (`0x01 || …`) in its first byte only, so a
//! store says which kind of master key its keys need.

use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use cryptoki::error::Error as CkError;
use pkcs11_keys::{Pkcs11Uri, Token};

use crate::error::{LedgerError, Result};
use crate::vault::MasterKey;

/// First byte of a key wrapped by a token master key.
pub const LAYOUT_PKCS11_GCM: u8 = 2;
const IV_BYTES: usize = 12;
const TAG_BITS: u64 = 128;

/// A master key that lives in a PKCS#11 token.
pub struct TokenMasterKey {
    token: Token,
    key: ObjectHandle,
}

fn ck(what: &str, e: CkError) -> LedgerError {
    LedgerError::InvalidRequest(format!("PKCS#11 {what}: {e}"))
}

/// A failure while serving: refused, nothing written; the caller may retry.
fn ck_unavailable(what: &str, e: CkError) -> LedgerError {
    LedgerError::Unavailable(format!("PKCS#11 {what}: {e}"))
}

impl TokenMasterKey {
    /// Opens the AES key the URI names; never creates one (serve, audit).
    pub fn open(uri: &Pkcs11Uri) -> Result<TokenMasterKey> {
        let token = Token::open(uri)?;
        let key = token.find(ObjectClass::SECRET_KEY)?.ok_or_else(|| {
            LedgerError::InvalidRequest(format!(
                "no master key {} in the token: this data directory's document keys are \
                 wrapped under it, and no other key opens them",
                uri.to_stored_string()
            ))
        })?;
        token.check_kept_inside(key, "master key")?;
        Ok(TokenMasterKey { token, key })
    }

    /// Opens the key the URI names, or generates it in the token (AES-256,
    /// CKA_TOKEN, CKA_SENSITIVE, not CKA_EXTRACTABLE) when there is none.
    pub fn open_or_generate(uri: &Pkcs11Uri) -> Result<TokenMasterKey> {
        let token = Token::open(uri)?;
        let key = match token.find(ObjectClass::SECRET_KEY)? {
            Some(k) => k,
            None => {
                let mut template = vec![
                    Attribute::Class(ObjectClass::SECRET_KEY),
                    Attribute::KeyType(KeyType::AES),
                    Attribute::ValueLen(32.into()),
                    Attribute::Token(true),
                    Attribute::Private(true),
                    Attribute::Sensitive(true),
                    Attribute::Extractable(false),
                    Attribute::Encrypt(true),
                    Attribute::Decrypt(true),
                ];
                template.extend(token.naming());
                token.with(|s| {
                    s.generate_key(&Mechanism::AesKeyGen, &template)
                        .map_err(|e| ck("generating the master key (CKM_AES_KEY_GEN)", e))
                })?
            }
        };
        token.check_kept_inside(key, "master key")?;
        Ok(TokenMasterKey { token, key })
    }

    /// Destroys the key object in the token (a retired master key: no
    /// wrap names it any more).
    pub fn destroy(&self) -> Result<()> {
        self.token.with(|s| {
            s.destroy_object(self.key)
                .map_err(|e| ck_unavailable("destroying a retired master key (C_DestroyObject)", e))
        })
    }

    /// The URI of the key (no PIN).
    pub fn uri(&self) -> &Pkcs11Uri {
        self.token.uri()
    }
}

impl MasterKey for TokenMasterKey {
    fn wrap(&self, key: &[u8; 32], aad: &[u8]) -> Result<Vec<u8>> {
        let mut iv = [0u8; IV_BYTES];
        OsRng.fill_bytes(&mut iv);
        let mut out = vec![LAYOUT_PKCS11_GCM];
        out.extend_from_slice(&iv);
        let ct = self.token.with(|s| {
            let params = GcmParams::new(&mut iv, aad, TAG_BITS.into())
                .map_err(|e| ck("GCM parameters", e))?;
            s.encrypt(&Mechanism::AesGcm(params), self.key, key.as_slice())
                .map_err(|e| ck_unavailable("wrapping a document key (CKM_AES_GCM)", e))
        })?;
        out.extend_from_slice(&ct);
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
        if wrapped.len() != 1 + IV_BYTES + 32 + 16 || wrapped[0] != LAYOUT_PKCS11_GCM {
            return Err(LedgerError::Corrupt(
                "a wrapped key is not one a token master key made (layout 2)".into(),
            ));
        }
        let mut iv: [u8; IV_BYTES] = [0; IV_BYTES];
        iv.copy_from_slice(&wrapped[1..1 + IV_BYTES]);
        let plain = Zeroizing::new(self.token.with(|s| {
            let params = GcmParams::new(&mut iv, aad, TAG_BITS.into())
                .map_err(|e| ck("GCM parameters", e))?;
            // A wrong key or an altered wrap fails GCM's tag check in the token.
            s.decrypt(&Mechanism::AesGcm(params), self.key, &wrapped[1 + IV_BYTES..]).map_err(|e| {
                LedgerError::Corrupt(format!(
                    "a wrapped key does not unwrap in the token (wrong key or altered): {e}"
                ))
            })
        })?);
        let key: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| LedgerError::Corrupt("a wrapped key is not 32 bytes".into()))?;
        Ok(Zeroizing::new(key))
    }
}
