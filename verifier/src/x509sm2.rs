//! SM2 issuers certified by X.509 (issue 26 item 3): a certificate chain of
//! the GM/T 0015 profile, checked up to a CA root that the trust policy
//! pins with a `ca NAME` line, at a given time, yielding the end
//! certificate's SM2 key and subject for an attestation check.
//!
//! The path rules are the ones RFC 3161 and PDF signer certificates use
//! ([`crate::tsa::chain`]: signatures link by link, validity at the time,
//! issuers are CAs allowed to sign certificates, no unprocessed critical
//! extension); this module adds the profile: every certificate of the chain
//! is signed SM2-with-SM3 (`1.2.156.10197.1.501`), the end certificate's
//! key is id-ecPublicKey on the SM2 curve (`1.2.156.10197.1.301`), it is not
//! a CA, and its key usage allows digital signatures. Signatures use the
//! default distinguishing identifier `1234567812345678` (GM/T 0009).
//!
//! Out of scope, as for the other paths: revocation (CRL/OCSP), name
//! constraints, policies and path-length constraints.

use const_oid::db::rfc5280::{ID_CE_BASIC_CONSTRAINTS, ID_CE_KEY_USAGE};
use der::Decode;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};
use x509_cert::Certificate;

use crate::policy::PolicyCa;
use crate::sm2sig::Sm2Key;
use crate::tsa::chain::{chain_to_roots, extension, PathWords};
use crate::tsa::crypto::SM2_WITH_SM3;
use crate::VerifyError;

/// Most certificates a chain may hold (end certificate included).
pub const MAX_CHAIN_CERTS: usize = 8;
/// Largest certificate accepted, in bytes of DER, checked before decoding.
pub const MAX_CERT_SIZE: usize = 16 * 1024;
/// The field the errors name.
const FIELD: &str = "certificate";
/// The words of the path check's failures.
const SM2_PATH: PathWords =
    PathWords { anchors: "a CA of your policy", at: "the time of the signature" };

/// An SM2 key that a chain certifies, and who it belongs to.
#[derive(Clone, Debug)]
pub struct CertifiedSm2Key {
    /// The end certificate's public key, under the default identifier.
    pub key: Sm2Key,
    /// The end certificate's subject (RFC 4514).
    pub subject: String,
    /// The subject's one commonName, if it has exactly one (UTF8String or
    /// PrintableString): the issuer name a certified attestation must give.
    pub common_name: Option<String>,
    /// The end certificate's serial number, lowercase hex.
    pub serial: String,
    /// The name of the policy's `ca` root the chain reached.
    pub ca: String,
    /// The end certificate's validity, unix seconds.
    pub not_before: i64,
    /// The end certificate's validity, unix seconds.
    pub not_after: i64,
    /// When every certificate given and the root reached are all valid
    /// (the latest notBefore, the earliest notAfter), unix seconds: the
    /// times at which this result holds again, for a cache of verified
    /// chains ([`crate::issuer::ChainCache`]). Conservative: certificates
    /// given but off the path narrow it too.
    pub path_valid: (i64, i64),
}

/// Verifies an SM2 certificate chain (DER, end certificate first, then any
/// intermediates in any order) up to one of `roots` (the policy's `ca`
/// lines), every certificate on the path valid at `at_unix`. Returns the
/// end certificate's key and subject. A chain that is sound but reaches no
/// root is [`VerifyError::UnknownKey`]; every other failure is
/// [`VerifyError::Invalid`] on `certificate`, naming the check.
pub fn verify_sm2_chain<C: AsRef<[u8]>>(
    chain: &[C],
    roots: &[PolicyCa],
    at_unix: i64,
) -> Result<CertifiedSm2Key, VerifyError> {
    let certs = decode_chain(chain)?;
    let leaf = &certs[0];
    for cert in &certs {
        check_gm_signature_algorithm(cert)?;
    }
    let key = Sm2Key::from_spki(&leaf.tbs_certificate.subject_public_key_info)
        .map_err(|e| fail(format!("the end certificate's key: {e}")))?;
    check_end_entity(leaf)?;
    let decoded: Vec<(&str, Certificate)> = roots
        .iter()
        .filter_map(|c| Certificate::from_der(&c.root_der).ok().map(|r| (c.name.as_str(), r)))
        .collect();
    let ca = chain_to_roots(leaf, &certs[1..], &decoded, at_unix, &SM2_PATH).map_err(|e| {
        if e.untrusted {
            VerifyError::UnknownKey(format!("SM2 certificate {}", e.reason))
        } else {
            fail(e.reason)
        }
    })?;
    let validity = &leaf.tbs_certificate.validity;
    let secs = |t: x509_cert::time::Time| t.to_unix_duration().as_secs() as i64;
    let reached = decoded.iter().filter(|(n, _)| *n == ca).map(|(_, r)| r);
    let path_valid = certs.iter().chain(reached).fold((i64::MIN, i64::MAX), |(lo, hi), c| {
        let v = &c.tbs_certificate.validity;
        (lo.max(secs(v.not_before)), hi.min(secs(v.not_after)))
    });
    Ok(CertifiedSm2Key {
        key,
        subject: leaf.tbs_certificate.subject.to_string(),
        common_name: common_name(&leaf.tbs_certificate.subject),
        serial: hex::encode(leaf.tbs_certificate.serial_number.as_bytes()),
        ca: ca.to_owned(),
        not_before: secs(validity.not_before),
        not_after: secs(validity.not_after),
        path_valid,
    })
}

/// Whether `der` can serve as a CA root for SM2 issuer certificates: an
/// X.509 certificate of the GM/T 0015 profile (signed SM2-with-SM3, an SM2
/// key) that is a CA (basicConstraints cA) and, if it has a key usage,
/// may sign certificates. What the ledger asks of a root before it
/// registers one; a policy's `ca` line takes any certificate.
pub fn check_sm2_ca_root(der: &[u8]) -> Result<(), VerifyError> {
    let cert = &decode_chain(&[der])?[0];
    check_gm_signature_algorithm(cert)?;
    Sm2Key::from_spki(&cert.tbs_certificate.subject_public_key_info)
        .map_err(|e| fail(format!("the root's key: {e}")))?;
    let subject = &cert.tbs_certificate.subject;
    let is_ca =
        extension::<BasicConstraints>(cert, ID_CE_BASIC_CONSTRAINTS).is_some_and(|(_, bc)| bc.ca);
    let can_sign =
        extension::<KeyUsage>(cert, ID_CE_KEY_USAGE).is_none_or(|(_, ku)| ku.key_cert_sign());
    if !is_ca || !can_sign {
        return Err(fail(format!(
            "certificate \"{subject}\" is not a CA that may sign certificates"
        )));
    }
    Ok(())
}

fn fail(reason: impl Into<String>) -> VerifyError {
    VerifyError::invalid(FIELD, reason)
}

/// Caps, then decodes every certificate; refuses an empty chain.
fn decode_chain<C: AsRef<[u8]>>(chain: &[C]) -> Result<Vec<Certificate>, VerifyError> {
    if chain.is_empty() {
        return Err(fail("no certificate"));
    }
    if chain.len() > MAX_CHAIN_CERTS {
        return Err(VerifyError::TooLarge {
            what: "certificate chain",
            size: chain.len(),
            limit: MAX_CHAIN_CERTS,
        });
    }
    chain
        .iter()
        .enumerate()
        .map(|(i, der)| {
            let der = der.as_ref();
            if der.len() > MAX_CERT_SIZE {
                return Err(VerifyError::TooLarge {
                    what: "certificate",
                    size: der.len(),
                    limit: MAX_CERT_SIZE,
                });
            }
            Certificate::from_der(der).map_err(|e| {
                fail(format!("certificate {i} of the chain is not a DER X.509 certificate ({e})"))
            })
        })
        .collect()
}

/// GM/T 0015: certificates are signed SM2-with-SM3, and say so twice
/// (the outer and the signed algorithm identifiers must agree).
fn check_gm_signature_algorithm(cert: &Certificate) -> Result<(), VerifyError> {
    let outer = cert.signature_algorithm.oid;
    if outer != SM2_WITH_SM3 || cert.tbs_certificate.signature.oid != outer {
        return Err(fail(format!(
            "certificate \"{}\" is signed with {outer}, not SM2-with-SM3 ({SM2_WITH_SM3})",
            cert.tbs_certificate.subject
        )));
    }
    Ok(())
}

/// The end certificate certifies a signing key: not a CA, and a key usage
/// (GM/T 0015 requires one) with digitalSignature (nonRepudiation alone
/// is a content-commitment key, not one that signs protocol messages).
fn check_end_entity(leaf: &Certificate) -> Result<(), VerifyError> {
    let subject = &leaf.tbs_certificate.subject;
    if extension::<BasicConstraints>(leaf, ID_CE_BASIC_CONSTRAINTS).is_some_and(|(_, bc)| bc.ca) {
        return Err(fail(format!(
            "certificate \"{subject}\" is a CA certificate, not an issuer's signing certificate"
        )));
    }
    match extension::<KeyUsage>(leaf, ID_CE_KEY_USAGE) {
        Some((_, ku)) if ku.digital_signature() => Ok(()),
        Some(_) => Err(fail(format!(
            "certificate \"{subject}\"'s key usage does not allow digital signatures"
        ))),
        None => Err(fail(format!(
            "certificate \"{subject}\" has no key usage (GM/T 0015 requires one)"
        ))),
    }
}

/// The one commonName (2.5.4.3) of `name`; `None` if it has none, several,
/// or one in a string type other than UTF8String and PrintableString.
fn common_name(name: &x509_cert::name::Name) -> Option<String> {
    let mut cns = name
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(|atv| atv.oid == const_oid::db::rfc4519::CN);
    let cn = cns.next()?;
    if cns.next().is_some() {
        return None;
    }
    cn.value.decode_as::<String>().ok().or_else(|| {
        cn.value.decode_as::<der::asn1::PrintableStringRef<'_>>().ok().map(|p| p.to_string())
    })
}
