//! The TSA's certificates: finding the signer, its key-usage profile (RFC 3161
//! §2.3), and the path from it to a root the operator trusts (RFC 5280 §6,
//! reduced to what a TSA path needs: signatures, validity at `genTime`,
//! CA flags, and refusal of critical extensions we do not process).

use cms::cert::IssuerAndSerialNumber;
use cms::signed_data::SignerIdentifier;
use const_oid::db::rfc5280::{
    ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS, ID_CE_EXT_KEY_USAGE, ID_CE_KEY_USAGE,
    ID_CE_SUBJECT_ALT_NAME, ID_CE_SUBJECT_KEY_IDENTIFIER, ID_KP_TIME_STAMPING,
};
use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier};
use x509_cert::ext::Extension;
use x509_cert::Certificate;

use super::crypto::{signature_scheme, verify_signature};
use super::{fail, TrustedTsa};
use crate::VerifyError;

/// Longest path walked from the signer to a root, in certificates.
const MAX_PATH_LEN: usize = 6;

/// Critical extensions this module processes; any other critical one
/// makes a certificate unusable (RFC 5280 §4.2).
const UNDERSTOOD_CRITICAL: [ObjectIdentifier; 6] = [
    ID_CE_BASIC_CONSTRAINTS,
    ID_CE_KEY_USAGE,
    ID_CE_EXT_KEY_USAGE,
    ID_CE_SUBJECT_ALT_NAME,
    ID_CE_SUBJECT_KEY_IDENTIFIER,
    ID_CE_AUTHORITY_KEY_IDENTIFIER,
];

/// The certificate in `certs` that `sid` names (RFC 5652 §5.3).
pub(crate) fn find_signer<'c>(
    sid: &SignerIdentifier,
    certs: &'c [Certificate],
) -> Result<&'c Certificate, VerifyError> {
    let found = certs.iter().find(|c| match sid {
        SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer,
            serial_number,
        }) => {
            c.tbs_certificate.issuer == *issuer && c.tbs_certificate.serial_number == *serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            extension::<SubjectKeyIdentifier>(c, ID_CE_SUBJECT_KEY_IDENTIFIER)
                .is_some_and(|(_, found)| found == *ski)
        }
    });
    found
        .ok_or_else(|| fail("the signer certificate is not in the token (request it with certReq)"))
}

/// RFC 3161 §2.3: the TSA certificate has exactly one extended key usage,
/// id-kp-timeStamping, in an extension marked critical; a key usage, if
/// present, allows digital signatures.
pub(crate) fn check_tsa_profile(signer: &Certificate) -> Result<(), VerifyError> {
    let eku = extension::<ExtendedKeyUsage>(signer, ID_CE_EXT_KEY_USAGE);
    match eku {
        Some((true, ExtendedKeyUsage(usages))) if usages == [ID_KP_TIME_STAMPING] => {}
        _ => {
            return Err(fail(
                "the signer certificate lacks the critical timeStamping extended key usage \
                 (RFC 3161 §2.3: it must be the only one, marked critical)",
            ))
        }
    }
    let ku = extension::<KeyUsage>(signer, ID_CE_KEY_USAGE);
    if ku.is_some_and(|(_, ku)| !ku.digital_signature() && !ku.non_repudiation()) {
        return Err(fail("the signer certificate's key usage does not allow signing"));
    }
    Ok(())
}

/// Walks from `signer` through `certs` to a root in `trusted`, checking each
/// signature, each validity period against `at` (unix seconds), CA flags and
/// critical extensions. Returns the name of the trusted root reached.
pub(crate) fn chain_to_trusted<'t>(
    signer: &Certificate,
    certs: &[Certificate],
    trusted: &'t [TrustedTsa],
    at: i64,
) -> Result<&'t str, VerifyError> {
    let roots: Vec<(&str, Certificate)> = trusted
        .iter()
        .filter_map(|t| Certificate::from_der(&t.root_der).ok().map(|c| (t.name.as_str(), c)))
        .collect();
    chain_to_roots(signer, certs, &roots, at, &TSA_PATH).map_err(|e| fail(e.reason))
}

/// The words a path check uses in its failures: who the roots are and
/// what moment validity is judged at.
pub(crate) struct PathWords {
    /// Who the trusted roots belong to: "a trusted TSA".
    pub anchors: &'static str,
    /// The moment validity is judged at: "genTime".
    pub at: &'static str,
}

/// A TSA's path: to a TSA root of the operator's, valid at `genTime`.
const TSA_PATH: PathWords = PathWords { anchors: "a trusted TSA", at: "genTime" };

/// Why a path did not check out.
#[derive(Debug)]
pub(crate) struct PathError {
    /// The path is sound as far as it goes but reaches no trusted root
    /// (rather than a certificate that fails a check).
    pub untrusted: bool,
    /// In words.
    pub reason: String,
}

/// [`chain_to_trusted`] over decoded roots `(name, certificate)`, with its
/// failures in `words`. Shared with PDF signer certificates
/// ([`crate::pdf`]), whose roots are the policy's `ca` lines.
pub(crate) fn chain_to_roots<'t>(
    signer: &Certificate,
    certs: &[Certificate],
    roots: &[(&'t str, Certificate)],
    at: i64,
    words: &PathWords,
) -> Result<&'t str, PathError> {
    let bad = |reason: String| PathError { untrusted: false, reason };
    let mut current = signer;
    for _ in 0..MAX_PATH_LEN {
        check_usable(current, at, words).map_err(bad)?;
        // The operator may pin the end certificate itself.
        if let Some((name, _)) = roots.iter().find(|(_, r)| r == current) {
            return Ok(name);
        }
        if let Some((name, root)) = roots.iter().find(|(_, r)| issued(r, current)) {
            check_usable(root, at, words).map_err(bad)?;
            check_ca(root).map_err(bad)?;
            return Ok(name);
        }
        let Some(next) = certs.iter().find(|c| *c != current && issued(c, current)) else {
            return Err(untrusted(current, words));
        };
        check_ca(next).map_err(bad)?;
        current = next;
    }
    Err(untrusted(current, words))
}

fn untrusted(last: &Certificate, words: &PathWords) -> PathError {
    PathError {
        untrusted: true,
        reason: format!(
            "not issued by {} (no trusted root issued \"{}\")",
            words.anchors, last.tbs_certificate.issuer
        ),
    }
}

/// Whether `issuer` names and signed `child`.
fn issued(issuer: &Certificate, child: &Certificate) -> bool {
    if issuer.tbs_certificate.subject != child.tbs_certificate.issuer
        || child.signature_algorithm.oid != child.tbs_certificate.signature.oid
    {
        return false;
    }
    let Some(scheme) = signature_scheme(&child.signature_algorithm.oid, None) else {
        return false;
    };
    let (Ok(tbs), Some(sig)) = (child.tbs_certificate.to_der(), child.signature.as_bytes()) else {
        return false;
    };
    verify_signature(&issuer.tbs_certificate.subject_public_key_info, scheme, &tbs, sig)
}

/// Validity covers `at`, and every critical extension is one we process.
fn check_usable(cert: &Certificate, at: i64, words: &PathWords) -> Result<(), String> {
    let subject = &cert.tbs_certificate.subject;
    let validity = &cert.tbs_certificate.validity;
    let secs = |t: x509_cert::time::Time| i64::try_from(t.to_unix_duration().as_secs());
    let (Ok(not_before), Ok(not_after)) = (secs(validity.not_before), secs(validity.not_after))
    else {
        return Err(format!("certificate \"{subject}\" has an unusable validity"));
    };
    if at < not_before || at > not_after {
        return Err(format!(
            "certificate \"{subject}\" was not valid at {} (valid {} to {})",
            words.at, validity.not_before, validity.not_after
        ));
    }
    let extensions = cert.tbs_certificate.extensions.as_deref().unwrap_or_default();
    if let Some(e) =
        extensions.iter().find(|e| e.critical && !UNDERSTOOD_CRITICAL.contains(&e.extn_id))
    {
        return Err(format!(
            "certificate \"{subject}\" has an unsupported critical extension {}",
            e.extn_id
        ));
    }
    Ok(())
}

/// An issuing certificate must be a CA (RFC 5280 §4.2.1.9) and, if it has a
/// key usage, one that allows signing certificates.
fn check_ca(cert: &Certificate) -> Result<(), String> {
    let is_ca =
        extension::<BasicConstraints>(cert, ID_CE_BASIC_CONSTRAINTS).is_some_and(|(_, bc)| bc.ca);
    let can_sign =
        extension::<KeyUsage>(cert, ID_CE_KEY_USAGE).is_none_or(|(_, ku)| ku.key_cert_sign());
    if !is_ca || !can_sign {
        return Err(format!(
            "certificate \"{}\" issued another but is not a CA",
            cert.tbs_certificate.subject
        ));
    }
    Ok(())
}

/// The decoded extension `oid` of `cert` with its critical flag; `None` if
/// absent or undecodable (both fail the checks that look for it).
pub(crate) fn extension<'a, T: Decode<'a>>(
    cert: &'a Certificate,
    oid: ObjectIdentifier,
) -> Option<(bool, T)> {
    let ext: &Extension =
        cert.tbs_certificate.extensions.as_ref()?.iter().find(|e| e.extn_id == oid)?;
    T::from_der(ext.extn_value.as_bytes()).ok().map(|v| (ext.critical, v))
}
