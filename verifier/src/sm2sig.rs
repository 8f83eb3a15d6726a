//! SM2 signature verification (GB/T 32918.2 / GM/T 0003.2) over raw
//! message bytes, with the SM3 digest and a distinguishing identifier
//! (GM/T 0009 default `1234567812345678`): the key type that X.509
//! certificates ([`crate::x509sm2`]) and RFC 3161 tokens ([`crate::tsa`])
//! carry, decoded from a SubjectPublicKeyInfo or a SEC1 point.
//!
//! The curve arithmetic and `Z_A` are RustCrypto's `sm2` crate; this module
//! owns only the encodings: SPKI (id-ecPublicKey with the SM2 curve, GM/T
//! 0015), signatures as DER `SEQUENCE { r, s }` (GM/T 0009, what OpenSSL
//! writes) or the fixed 64-byte `r ‖ s`.

use const_oid::db::rfc5912::ID_EC_PUBLIC_KEY;
use const_oid::ObjectIdentifier;
use der::asn1::UintRef;
use der::{Decode, Sequence};
use sm2::dsa::signature::Verifier as _;
use spki::SubjectPublicKeyInfoOwned;

use crate::VerifyError;

/// GM/T 0009 §10's default distinguishing identifier, the one OpenSSL,
/// GmSSL and sm-crypto use unless told otherwise.
pub const DEFAULT_DISTID: &str = "1234567812345678";
/// The SM2 curve (GM/T 0006 `sm2p256v1`), the parameter of an
/// id-ecPublicKey SM2 key.
pub const ID_SM2_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301");
/// Length of an uncompressed SEC1 point on the SM2 curve: `0x04 ‖ X ‖ Y`.
pub const SEC1_POINT_LEN: usize = 65;
/// Length of a fixed-width `r ‖ s` signature.
pub const RAW_SIGNATURE_LEN: usize = 64;
/// Longest distinguishing identifier accepted: ENTL is 16 bits of bits.
const MAX_DISTID_LEN: usize = 8191;

/// An SM2 public key with the distinguishing identifier its signatures
/// are made under.
#[derive(Clone, Debug)]
pub struct Sm2Key {
    key: sm2::dsa::VerifyingKey,
}

/// GM/T 0009 `SM2Signature ::= SEQUENCE { R INTEGER, S INTEGER }`.
#[derive(Sequence)]
struct DerSignature<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

impl Sm2Key {
    /// The key in a SEC1 point (uncompressed `0x04 ‖ X ‖ Y`, 65 bytes, or
    /// compressed), signing under `distid`. Refuses a point not on the curve.
    pub fn from_sec1(point: &[u8], distid: &str) -> Result<Sm2Key, VerifyError> {
        if distid.is_empty() || distid.len() > MAX_DISTID_LEN {
            return Err(VerifyError::malformed(
                "SM2 key",
                "the distinguishing identifier must be 1 to 8191 bytes",
            ));
        }
        let key = sm2::dsa::VerifyingKey::from_sec1_bytes(distid, point)
            .map_err(|_| VerifyError::malformed("SM2 key", "not a point on the SM2 curve"))?;
        Ok(Sm2Key { key })
    }

    /// The key of a certificate's SubjectPublicKeyInfo: id-ecPublicKey with
    /// the SM2 curve as its parameter (GM/T 0015 §7), under the default
    /// identifier.
    pub fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<Sm2Key, VerifyError> {
        let curve =
            spki.algorithm.parameters.as_ref().and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        if spki.algorithm.oid != ID_EC_PUBLIC_KEY || curve != Some(ID_SM2_CURVE) {
            return Err(VerifyError::malformed(
                "SM2 key",
                format!(
                    "the public key is {} on {}, not id-ecPublicKey on the SM2 curve {ID_SM2_CURVE}",
                    spki.algorithm.oid,
                    curve.map_or_else(|| "no named curve".to_owned(), |c| c.to_string())
                ),
            ));
        }
        Sm2Key::from_sec1(spki.subject_public_key.raw_bytes(), DEFAULT_DISTID)
    }

    /// The 65-byte uncompressed SEC1 point `0x04 ‖ X ‖ Y`.
    pub fn to_sec1_uncompressed(&self) -> Vec<u8> {
        self.key.to_sec1_bytes().into_vec()
    }

    /// The distinguishing identifier signatures are checked under.
    pub fn distid(&self) -> &str {
        self.key.distid()
    }

    /// Whether `signature` (DER `SEQUENCE { r, s }`, or the fixed 64-byte
    /// `r ‖ s`) is this key's SM2 signature over `message`:
    /// `e = SM3(Z_A ‖ message)`. 64 bytes are tried as `r ‖ s`, and bytes
    /// that parse as DER as DER (a 64-byte `r ‖ s` may start with 0x30);
    /// web/verifier/sm.js does the same. Never panics; anything
    /// unparsable is `false`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let raw = (signature.len() == RAW_SIGNATURE_LEN)
            .then(|| sm2::dsa::Signature::from_slice(signature).ok())
            .flatten();
        let der = (signature.first() == Some(&0x30)).then(|| parse_der(signature)).flatten();
        [raw, der].into_iter().flatten().any(|sig| self.key.verify(message, &sig).is_ok())
    }
}

/// A DER `SEQUENCE { r, s }`; `None` if it is not one, or if r or s is
/// zero or not below the group order.
fn parse_der(bytes: &[u8]) -> Option<sm2::dsa::Signature> {
    let der = DerSignature::from_der(bytes).ok()?;
    let (r, s) = (pad32(der.r.as_bytes())?, pad32(der.s.as_bytes())?);
    sm2::dsa::Signature::from_scalars(r, s).ok()
}

/// A big-endian integer of at most 32 bytes, left-padded to 32.
fn pad32(bytes: &[u8]) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    let start = 32usize.checked_sub(bytes.len())?;
    out[start..].copy_from_slice(bytes);
    Some(out)
}

/// Whether `signature` (DER) over `message` verifies under the SM2 key in
/// `spki` with the default identifier: the certificate and CMS case.
pub(crate) fn sm2_verify_der(
    spki: &SubjectPublicKeyInfoOwned,
    message: &[u8],
    signature: &[u8],
) -> bool {
    Sm2Key::from_spki(spki).is_ok_and(|k| k.verify(message, signature))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sm2::dsa::signature::Signer as _;

    fn pair() -> (sm2::dsa::SigningKey, Sm2Key) {
        let secret = sm2::SecretKey::from_slice(&[7u8; 32]).unwrap();
        let signing = sm2::dsa::SigningKey::new(DEFAULT_DISTID, &secret).unwrap();
        let point = signing.verifying_key().to_sec1_bytes();
        (signing, Sm2Key::from_sec1(&point, DEFAULT_DISTID).unwrap())
    }

    #[test]
    fn raw_and_der_signatures_verify_and_tampering_fails() {
        let (signing, key) = pair();
        let sig: sm2::dsa::Signature = signing.sign(b"checkpoint");
        let raw = sig.to_bytes();
        assert!(key.verify(b"checkpoint", &raw));
        let der = der::Encode::to_der(&DerSignature {
            r: UintRef::new(&sig.r_bytes()).unwrap(),
            s: UintRef::new(&sig.s_bytes()).unwrap(),
        })
        .unwrap();
        assert!(key.verify(b"checkpoint", &der));
        assert!(!key.verify(b"checkpoinT", &der));
        let mut bad = raw.to_vec();
        bad[40] ^= 1;
        assert!(!key.verify(b"checkpoint", &bad));
        assert!(!key.verify(b"checkpoint", &raw[..63]));
        let other_id = Sm2Key::from_sec1(&key.to_sec1_uncompressed(), "alice").unwrap();
        assert!(!other_id.verify(b"checkpoint", &raw), "Z_A binds the identifier");
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(Sm2Key::from_sec1(&[4u8; 65], DEFAULT_DISTID).is_err());
        let (_, key) = pair();
        assert!(Sm2Key::from_sec1(&key.to_sec1_uncompressed(), "").is_err());
    }
}
