//! Digests and signature checks for timestamp tokens and their certificates:
//! RSA PKCS#1 v1.5 (2048-4096 bits) and ECDSA P-256/P-384, each with
//! SHA-256, SHA-384 or SHA-512 (RFC 5754, RFC 5758). SHA-1 signatures and
//! RSA-PSS are refused.

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

/// Smallest RSA modulus accepted, in bits.
const MIN_RSA_BITS: usize = 2048;

/// A digest algorithm accepted in tokens and certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DigestAlg {
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlg {
    /// The algorithm named by a digest OID, if accepted.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<DigestAlg> {
        match *oid {
            ID_SHA_256 => Some(DigestAlg::Sha256),
            ID_SHA_384 => Some(DigestAlg::Sha384),
            ID_SHA_512 => Some(DigestAlg::Sha512),
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
        }
    }

    /// The algorithm's name ("SHA-256").
    pub fn name(self) -> &'static str {
        match self {
            DigestAlg::Sha256 => "SHA-256",
            DigestAlg::Sha384 => "SHA-384",
            DigestAlg::Sha512 => "SHA-512",
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            DigestAlg::Sha256 => Sha256::digest(data).to_vec(),
            DigestAlg::Sha384 => Sha384::digest(data).to_vec(),
            DigestAlg::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

/// A public-key signature family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyFamily {
    Rsa,
    Ecdsa,
}

/// The key family and digest a signature algorithm OID names. `digest_alg`
/// is the CMS SignerInfo digestAlgorithm (RFC 5652 §5.3), needed when the
/// signature OID is a bare key OID (rsaEncryption, id-ecPublicKey), and
/// which must agree with a combined OID.
pub(crate) fn signature_scheme(
    sig_oid: &ObjectIdentifier,
    digest_alg: Option<DigestAlg>,
) -> Option<(KeyFamily, DigestAlg)> {
    let (family, named) = match *sig_oid {
        RSA_ENCRYPTION => (KeyFamily::Rsa, None),
        ID_EC_PUBLIC_KEY => (KeyFamily::Ecdsa, None),
        SHA_256_WITH_RSA_ENCRYPTION => (KeyFamily::Rsa, Some(DigestAlg::Sha256)),
        SHA_384_WITH_RSA_ENCRYPTION => (KeyFamily::Rsa, Some(DigestAlg::Sha384)),
        SHA_512_WITH_RSA_ENCRYPTION => (KeyFamily::Rsa, Some(DigestAlg::Sha512)),
        ECDSA_WITH_SHA_256 => (KeyFamily::Ecdsa, Some(DigestAlg::Sha256)),
        ECDSA_WITH_SHA_384 => (KeyFamily::Ecdsa, Some(DigestAlg::Sha384)),
        ECDSA_WITH_SHA_512 => (KeyFamily::Ecdsa, Some(DigestAlg::Sha512)),
        _ => return None,
    };
    match (named, digest_alg) {
        (Some(n), Some(d)) if n != d => None,
        (Some(n), _) => Some((family, n)),
        (None, d) => d.map(|d| (family, d)),
    }
}

/// Whether `signature` over `message` verifies with the key in `spki` under
/// the given scheme. Any key or signature that does not parse is `false`.
pub(crate) fn verify_signature(
    spki: &SubjectPublicKeyInfoOwned,
    (family, digest): (KeyFamily, DigestAlg),
    message: &[u8],
    signature: &[u8],
) -> bool {
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
