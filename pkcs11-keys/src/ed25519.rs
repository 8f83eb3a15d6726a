//! An Ed25519 key in a token (the log key, a witness key): a key pair
//! made by CKM_EC_EDWARDS_KEY_PAIR_GEN on curve edwards25519, signing with
//! CKM_EDDSA (pure Ed25519, RFC 8032), so its signatures are the bytes a
//! file key's would be for the same key. The public key comes from the
//! token's CKA_EC_POINT, and is checked against a signature the token
//! makes at open.

use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};

use crate::token::{ck, ck_unavailable};
use crate::{Pkcs11Error, Pkcs11Uri, Result, Token};

/// DER of the OID of Ed25519 (1.3.101.112, RFC 8410), CKA_EC_PARAMS.
const ED25519_OID_DER: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];

/// An Ed25519 signing key that lives in a PKCS#11 token.
pub struct TokenEd25519 {
    token: Token,
    private: ObjectHandle,
    public: VerifyingKey,
}

impl std::fmt::Debug for TokenEd25519 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenEd25519({:?})", self.token.uri())
    }
}

impl TokenEd25519 {
    /// Opens the key pair the URI names; never generates one.
    pub fn open(uri: &Pkcs11Uri) -> Result<TokenEd25519> {
        let token = Token::open(uri)?;
        let private = token.find(ObjectClass::PRIVATE_KEY)?.ok_or_else(|| {
            Pkcs11Error::Config(format!(
                "no Ed25519 private key {} in the token",
                uri.to_stored_string()
            ))
        })?;
        TokenEd25519::checked(token, private)
    }

    /// Opens the key pair the URI names, or generates it in the token
    /// (private half CKA_SENSITIVE, not CKA_EXTRACTABLE) when there is none.
    pub fn open_or_generate(uri: &Pkcs11Uri) -> Result<TokenEd25519> {
        let token = Token::open(uri)?;
        let private = match token.find(ObjectClass::PRIVATE_KEY)? {
            Some(k) => k,
            None => generate(&token)?,
        };
        TokenEd25519::checked(token, private)
    }

    fn checked(token: Token, private: ObjectHandle) -> Result<TokenEd25519> {
        token.check_kept_inside(private, "Ed25519 key")?;
        let public_handle = token.find(ObjectClass::PUBLIC_KEY)?.ok_or_else(|| {
            Pkcs11Error::Config(format!(
                "the token holds the private key {} but no public key of that name (its \
                 CKA_EC_POINT is the key's public half)",
                token.uri().to_stored_string()
            ))
        })?;
        let point = token.with(|s| {
            s.get_attributes(public_handle, &[AttributeType::EcPoint])
                .map_err(|e| ck("reading CKA_EC_POINT", e))
        })?;
        let point = point.into_iter().find_map(|a| match a {
            Attribute::EcPoint(p) => Some(p),
            _ => None,
        });
        let public = point.as_deref().and_then(ec_point_key).ok_or_else(|| {
            Pkcs11Error::Config(format!(
                "the public key {} is not an Ed25519 key (CKA_EC_POINT)",
                token.uri().to_stored_string()
            ))
        })?;
        let key = TokenEd25519 { token, private, public };
        // The pair must be one: a private key that does not sign for the
        // public key would hand out signatures no verifier accepts.
        let probe = b"evidence-ledger/pkcs11-key-check/v1";
        if key.public.verify(probe, &key.sign(probe)?).is_err() {
            return Err(Pkcs11Error::Config(format!(
                "the token's private and public keys {} are not one Ed25519 pair",
                key.token.uri().to_stored_string()
            )));
        }
        Ok(key)
    }

    /// The public key (from CKA_EC_POINT).
    pub fn verifying_key(&self) -> VerifyingKey {
        self.public
    }

    /// Signs `msg` in the token: pure Ed25519 (CKM_EDDSA, no parameters).
    pub fn sign(&self, msg: &[u8]) -> Result<Signature> {
        let sig = self.token.with(|s| {
            let mech = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
            s.sign(&mech, self.private, msg).map_err(|e| ck_unavailable("signing (CKM_EDDSA)", e))
        })?;
        let bytes: [u8; 64] = sig.as_slice().try_into().map_err(|_| {
            Pkcs11Error::Config(format!(
                "the token returned a {}-byte signature, not Ed25519's 64",
                sig.len()
            ))
        })?;
        Ok(Signature::from_bytes(&bytes))
    }
}

fn generate(token: &Token) -> Result<ObjectHandle> {
    let mut public = vec![
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Verify(true),
        Attribute::KeyType(KeyType::EC_EDWARDS),
        Attribute::EcParams(ED25519_OID_DER.to_vec()),
    ];
    let mut private = vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::KeyType(KeyType::EC_EDWARDS),
    ];
    public.extend(token.naming());
    private.extend(token.naming());
    let (_, private) = token.with(|s| {
        s.generate_key_pair(&Mechanism::EccEdwardsKeyPairGen, &public, &private)
            .map_err(|e| ck("generating an Ed25519 key (CKM_EC_EDWARDS_KEY_PAIR_GEN)", e))
    })?;
    Ok(private)
}

/// The 32-byte Ed25519 key in a CKA_EC_POINT: a DER OCTET STRING around
/// it (what PKCS#11 3.0 specifies and SoftHSM2 returns), or the raw 32
/// bytes (some tokens).
fn ec_point_key(point: &[u8]) -> Option<VerifyingKey> {
    let raw: &[u8; 32] = match point {
        [0x04, 0x20, rest @ ..] if rest.len() == 32 => rest.try_into().ok()?,
        _ if point.len() == 32 => point.try_into().ok()?,
        _ => return None,
    };
    VerifyingKey::from_bytes(raw).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec_point_forms() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]).verifying_key();
        let raw = key.to_bytes();
        let der = [&[0x04, 0x20][..], &raw].concat();
        assert_eq!(ec_point_key(&der), Some(key));
        assert_eq!(ec_point_key(&raw), Some(key));
        assert_eq!(ec_point_key(&der[..33]), None);
        assert_eq!(ec_point_key(&[0x04, 0x21, 0]), None);
    }
}
