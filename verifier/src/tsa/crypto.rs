//! Digests and signature checks for timestamp tokens and their certificates:
//! RSA PKCS#1 v1.5 (2048-4096 bits) and ECDSA P-256/P-384, each with
//! SHA-256, SHA-384 or SHA-512 (RFC 5754, RFC 5758); and SM2 with SM3
//! (GM/T 0003, GM/T 0009 default distinguishing identifier, as GM/T 0010
//! CMS and GM/T 0015 certificates use them). SHA-1 signatures and RSA-PSS
//! are refused.

use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512, ID_EC_PUBLIC_KEY, ID_SHA_256,
    ID_SHA_384, ID_SHA_512, RSA_ENCRYPTION, SECP_256_R_1, SECP_384_R_1,
    SHA_256_WITH_RSA_ENCRYPTION, SHA_384_WITH_RSA_ENCRYPTION, SHA_512_WITH_RSA_ENCRYPTION,
};
use const_oid::ObjectIdentifier;
use der::Encode;
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256, Sha384, Sha512};
use spki::SubjectPublicKeyInfoOwned;

use crate::sm2sig::{sm2_verify_der, ID_SM2_CURVE};

/// SM3 (GB/T 32905), GM/T 0006 `1.2.156.10197.1.401`.
pub(crate) const ID_SM3: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.401");
/// sm2-1 (GM/T 0006): SM2 digital signatures.
const ID_SM2_1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301.1");
/// SM2-with-SM3 (GM/T 0006 `1.2.156.10197.1.501`), the signature algorithm
/// of GM/T 0015 certificates.
pub(crate) const SM2_WITH_SM3: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.156.10197.1.501");

/// Smallest RSA modulus accepted, in bits.
const MIN_RSA_BITS: usize = 2048;

/// A digest algorithm accepted in tokens and certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DigestAlg {
    Sha256,
    Sha384,
    Sha512,
    /// SM3 (GB/T 32905); only with SM2 signatures, and as an imprint.
    Sm3,
}

impl DigestAlg {
    /// The algorithm named by a digest OID, if accepted.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<DigestAlg> {
        match *oid {
            ID_SHA_256 => Some(DigestAlg::Sha256),
            ID_SHA_384 => Some(DigestAlg::Sha384),
            ID_SHA_512 => Some(DigestAlg::Sha512),
            ID_SM3 => Some(DigestAlg::Sm3),
            _ => None,
        }
    }

    /// The digest of `parts`, one after the other (the two ranges a PDF
    /// signature covers, without copying them).
    pub fn digest_parts(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut d = D::new();
            parts.iter().for_each(|p| d.update(p));
            d.finalize().to_vec()
        }
        match self {
            DigestAlg::Sha256 => run::<Sha256>(parts),
            DigestAlg::Sha384 => run::<Sha384>(parts),
            DigestAlg::Sha512 => run::<Sha512>(parts),
            DigestAlg::Sm3 => run::<sm3::Sm3>(parts),
        }
    }

    /// The algorithm's name ("SHA-256").
    pub fn name(self) -> &'static str {
        match self {
            DigestAlg::Sha256 => "SHA-256",
            DigestAlg::Sha384 => "SHA-384",
            DigestAlg::Sha512 => "SHA-512",
            DigestAlg::Sm3 => "SM3",
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            DigestAlg::Sha256 => Sha256::digest(data).to_vec(),
            DigestAlg::Sha384 => Sha384::digest(data).to_vec(),
            DigestAlg::Sha512 => Sha512::digest(data).to_vec(),
            DigestAlg::Sm3 => sm3::Sm3::digest(data).to_vec(),
        }
    }
}

/// A public-key signature family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyFamily {
    Rsa,
    Ecdsa,
    /// SM2 (GM/T 0003), always over SM3.
    Sm2,
}

/// The key family and digest a signature algorithm OID names. `digest_alg`
/// is the CMS SignerInfo digestAlgorithm (RFC 5652 §5.3), needed when the
/// signature OID is a bare key OID (rsaEncryption, id-ecPublicKey), and
/// which must agree with a combined OID. SM2 goes with SM3 only, and SM3
/// with SM2 only: a bare id-ecPublicKey with an SM3 digest is SM2.
pub(crate) fn signature_scheme(
    sig_oid: &ObjectIdentifier,
    digest_alg: Option<DigestAlg>,
) -> Option<(KeyFamily, DigestAlg)> {
    let (family, named) = match *sig_oid {
        RSA_ENCRYPTION => (KeyFamily::Rsa, None),
        ID_EC_PUBLIC_KEY if digest_alg == Some(DigestAlg::Sm3) => (KeyFamily::Sm2, None),
        ID_EC_PUBLIC_KEY => (KeyFamily::Ecdsa, None),
        // Some GM/T 0010 SignerInfos name the SM2 key (or sm2-1) here.
        ID_SM2_CURVE | ID_SM2_1 => (KeyFamily::Sm2, None),
        SM2_WITH_SM3 => (KeyFamily::Sm2, Some(DigestAlg::Sm3)),
        SHA_256_WITH_RSA_ENCRYPTION => (KeyFamily::Rsa, Some(DigestAlg::Sha256)),
        SHA_384_WITH_RSA_ENCRYPTION => (KeyFamily::Rsa, Some(DigestAlg::Sha384)),
        SHA_512_WITH_RSA_ENCRYPTION => (KeyFamily::Rsa, Some(DigestAlg::Sha512)),
        ECDSA_WITH_SHA_256 => (KeyFamily::Ecdsa, Some(DigestAlg::Sha256)),
        ECDSA_WITH_SHA_384 => (KeyFamily::Ecdsa, Some(DigestAlg::Sha384)),
        ECDSA_WITH_SHA_512 => (KeyFamily::Ecdsa, Some(DigestAlg::Sha512)),
        _ => return None,
    };
    let scheme = match (named, digest_alg) {
        (Some(n), Some(d)) if n != d => None,
        (Some(n), _) => Some((family, n)),
        (None, d) => d.map(|d| (family, d)),
    };
    scheme.filter(|(f, d)| (*f == KeyFamily::Sm2) == (*d == DigestAlg::Sm3))
}

/// Whether `signature` over `message` verifies with the key in `spki` under
/// the given scheme. Any key or signature that does not parse is `false`.
pub(crate) fn verify_signature(
    spki: &SubjectPublicKeyInfoOwned,
    (family, digest): (KeyFamily, DigestAlg),
    message: &[u8],
    signature: &[u8],
) -> bool {
    if family == KeyFamily::Sm2 {
        // SM2 hashes Z_A (from the key and identifier) before the message,
        // so it takes the message, not a prehash.
        return digest == DigestAlg::Sm3 && sm2_verify_der(spki, message, signature);
    }
    let prehash = digest.digest(message);
    match (family, spki.algorithm.oid) {
        (KeyFamily::Rsa, RSA_ENCRYPTION) => verify_rsa(spki, digest, &prehash, signature),
        (KeyFamily::Ecdsa, ID_EC_PUBLIC_KEY) => verify_ecdsa(spki, &prehash, signature),
        _ => false,
    }
}

fn verify_rsa(
    spki: &SubjectPublicKeyInfoOwned,
    digest: DigestAlg,
    prehash: &[u8],
    signature: &[u8],
) -> bool {
    let Ok(spki_der) = spki.to_der() else {
        return false;
    };
    let Ok(key) = rsa::RsaPublicKey::from_public_key_der(&spki_der) else {
        return false;
    };
    if key.size() * 8 < MIN_RSA_BITS {
        return false;
    }
    let scheme = match digest {
        DigestAlg::Sha256 => rsa::Pkcs1v15Sign::new::<Sha256>(),
        DigestAlg::Sha384 => rsa::Pkcs1v15Sign::new::<Sha384>(),
        DigestAlg::Sha512 => rsa::Pkcs1v15Sign::new::<Sha512>(),
        DigestAlg::Sm3 => return false,
    };
    key.verify(scheme, prehash, signature).is_ok()
}

fn verify_ecdsa(spki: &SubjectPublicKeyInfoOwned, prehash: &[u8], signature: &[u8]) -> bool {
    let curve =
        spki.algorithm.parameters.as_ref().and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    let point = spki.subject_public_key.raw_bytes();
    match curve {
        Some(SECP_256_R_1) => {
            let (Ok(key), Ok(sig)) = (
                p256::ecdsa::VerifyingKey::from_sec1_bytes(point),
                p256::ecdsa::Signature::from_der(signature),
            ) else {
                return false;
            };
            key.verify_prehash(prehash, &sig).is_ok()
        }
        Some(SECP_384_R_1) => {
            let (Ok(key), Ok(sig)) = (
                p384::ecdsa::VerifyingKey::from_sec1_bytes(point),
                p384::ecdsa::Signature::from_der(signature),
            ) else {
                return false;
            };
            key.verify_prehash(prehash, &sig).is_ok()
        }
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sm2_goes_with_sm3_only() {
        let sm2 = Some((KeyFamily::Sm2, DigestAlg::Sm3));
        assert_eq!(signature_scheme(&SM2_WITH_SM3, None), sm2);
        assert_eq!(signature_scheme(&SM2_WITH_SM3, Some(DigestAlg::Sm3)), sm2);
        assert_eq!(signature_scheme(&ID_EC_PUBLIC_KEY, Some(DigestAlg::Sm3)), sm2);
        assert_eq!(signature_scheme(&ID_SM2_CURVE, Some(DigestAlg::Sm3)), sm2);
        assert_eq!(signature_scheme(&ID_SM2_1, Some(DigestAlg::Sm3)), sm2);
        assert_eq!(signature_scheme(&SM2_WITH_SM3, Some(DigestAlg::Sha256)), None);
        assert_eq!(signature_scheme(&ID_SM2_CURVE, Some(DigestAlg::Sha256)), None);
        assert_eq!(signature_scheme(&ECDSA_WITH_SHA_256, Some(DigestAlg::Sm3)), None);
        assert_eq!(signature_scheme(&RSA_ENCRYPTION, Some(DigestAlg::Sm3)), None);
        assert_eq!(
            signature_scheme(&ID_EC_PUBLIC_KEY, Some(DigestAlg::Sha256)),
            Some((KeyFamily::Ecdsa, DigestAlg::Sha256))
        );
    }

    #[test]
    fn sm3_digest_known_answer() {
        // GB/T 32905-2016 Appendix A.1: SM3("abc").
        assert_eq!(
            hex::encode(DigestAlg::Sm3.digest(b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        assert_eq!(DigestAlg::from_oid(&ID_SM3), Some(DigestAlg::Sm3));
        assert_eq!(DigestAlg::Sm3.digest_parts(&[b"a", b"bc"]), DigestAlg::Sm3.digest(b"abc"));
    }
}
