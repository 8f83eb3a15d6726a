//! The CMS SignedData in one PDF signature's `/Contents` (ISO 32000-1
//! §12.8.3.3 `adbe.pkcs7.detached`; ETSI EN 319 142-1 PAdES baseline B-B
//! and B-T, `ETSI.CAdES.detached`), checked with the same RustCrypto code
//! and rules as RFC 3161 tokens ([`crate::tsa`]): digests, signature
//! algorithms, ESS binding, certificate paths.

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use const_oid::db::rfc5280::{ID_CE_KEY_USAGE, ID_CE_SUBJECT_KEY_IDENTIFIER};
use const_oid::db::rfc5911::{
    ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNED_DATA, ID_SIGNING_TIME,
};
use const_oid::ObjectIdentifier;
use der::asn1::OctetString;
use der::{Decode, Encode, Header, Reader, SliceReader};
use x509_cert::ext::pkix::{KeyUsage, SubjectKeyIdentifier};
use x509_cert::Certificate;

use super::{SignerFact, SigningTime, TimeSource};
use crate::policy::TrustPolicy;
use crate::text::unix_to_rfc3339;
use crate::tsa::chain::{chain_to_roots, extension, PathWords};
use crate::tsa::crypto::{signature_scheme, verify_signature, DigestAlg};
use crate::tsa::{ess_names, single_value, verify_timestamp_token, TrustedTsa};
use crate::Hash;

/// id-aa-signatureTimeStampToken, RFC 3161 Appendix A.
const ID_AA_SIGNATURE_TIME_STAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
/// Most certificates a signature may carry.
const MAX_CERTS: usize = 16;
/// Clock skew allowed for a timestamp's genTime, as for bundles.
const MAX_SKEW_SECS: i64 = 300;
/// The name under which a timestamp's own certificates are tried, to tell
/// a token that only lacks a trusted root from a broken one.
const OWN_CERTS: &str = "the token's own certificates";

/// What the CMS checks found for one signature.
#[derive(Debug, Default)]
pub(crate) struct Checked {
    pub signer: Option<SignerFact>,
    pub signing_time: Option<SigningTime>,
    pub digest_algorithm: Option<String>,
    /// Checks that failed: the signature does not hold.
    pub problems: Vec<String>,
    /// What holds but does not rest on the policy.
    pub untrusted: Vec<String>,
}

/// Checks the CMS object `contents` (trailing zero padding allowed) over
/// the `covered` bytes, against `policy`, as of `now` (unix seconds).
pub(crate) fn check(
    contents: &[u8],
    covered: [&[u8]; 2],
    sub_filter: &str,
    policy: &TrustPolicy,
    now: i64,
) -> Checked {
    let mut out = Checked::default();
    if let Err(e) = run(contents, covered, sub_filter, policy, now, &mut out) {
        out.problems.push(e);
    }
    out
}

fn run(
    contents: &[u8],
    covered: [&[u8]; 2],
    sub_filter: &str,
    policy: &TrustPolicy,
    now: i64,
    out: &mut Checked,
) -> Result<(), String> {
    let signed = decode(contents)?;
    let certs = certificates(&signed)?;
    let info = match signed.signer_infos.0.as_slice() {
        [one] => one,
        other => return Err(format!("{} signers; a PDF signature has exactly one", other.len())),
    };
    let signer = find_signer(&info.sid, &certs)?;
    out.signer = Some(signer_fact(signer));
    // SM3 and SM2 (GM/T 0031 seals) are not taken here yet, as on the page
    // (docs/pdf-signatures.md §9), although the shared code knows them.
    let alg = DigestAlg::from_oid(&info.digest_alg.oid)
        .filter(|a| *a != DigestAlg::Sm3)
        .ok_or_else(|| {
            format!("digest algorithm {} is not SHA-256, SHA-384 or SHA-512", info.digest_alg.oid)
        })?;
    out.digest_algorithm = Some(alg.name().to_owned());
    let digest = alg.digest_parts(&covered);
    let cades = sub_filter == "ETSI.CAdES.detached";
    check_signature(info, signer, alg, &digest, covered, cades)?;
    key_usage(signer)?;
    let claimed = signing_time_attribute(info);
    let trusted_time = signature_timestamp(info, policy, now, out);
    out.signing_time = trusted_time.clone().or(claimed);
    let at = match trusted_time {
        Some(t) if t.source == TimeSource::Timestamp => (t.unix, PDF_AT_GEN_TIME),
        _ => (now, PDF_AT_NOW),
    };
    let roots: Vec<(&str, Certificate)> = policy
        .cas
        .iter()
        .filter_map(|c| Certificate::from_der(&c.root_der).ok().map(|r| (c.name.as_str(), r)))
        .collect();
    match chain_to_roots(signer, &certs, &roots, at.0, &at.1) {
        Ok(root) => {
            if let Some(s) = out.signer.as_mut() {
                s.trusted_root = Some(root.to_owned());
            }
        }
        Err(e) if e.untrusted => out.untrusted.push(format!("signer certificate {}", e.reason)),
        Err(e) => out.problems.push(format!("signer certificate path: {}", e.reason)),
    }
    Ok(())
}

const PDF_AT_GEN_TIME: PathWords =
    PathWords { anchors: "a CA of your policy", at: "the signing time (the timestamp's genTime)" };
const PDF_AT_NOW: PathWords = PathWords {
    anchors: "a CA of your policy",
    at: "the time of this check (no trusted signature timestamp proves an earlier signing time)",
};

/// `/Contents` → SignedData: one DER ContentInfo, then only zero padding
/// (the placeholder is reserved before the signature is known).
fn decode(contents: &[u8]) -> Result<SignedData, String> {
    let not_cms = |e: der::Error| format!("/Contents is not a DER CMS ContentInfo ({e})");
    let mut reader = SliceReader::new(contents).map_err(not_cms)?;
    let header = Header::decode(&mut reader).map_err(not_cms)?;
    let total = (reader.position() + header.length).map_err(not_cms)?;
    let total = usize::try_from(total).map_err(not_cms)?;
    let (der, padding) = contents.split_at_checked(total).ok_or("/Contents is truncated")?;
    if padding.iter().any(|b| *b != 0) {
        return Err("/Contents holds bytes after the CMS object that are not zero padding".into());
    }
    let info = ContentInfo::from_der(der).map_err(not_cms)?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(format!("/Contents holds CMS {}, not SignedData", info.content_type));
    }
    let signed = info.content.decode_as::<SignedData>().map_err(not_cms)?;
    let encap = &signed.encap_content_info;
    if encap.econtent_type != ID_DATA || encap.econtent.is_some() {
        return Err("the CMS signature is not detached id-data (ISO 32000-1 §12.8.3.3)".into());
    }
    Ok(signed)
}

fn certificates(signed: &SignedData) -> Result<Vec<Certificate>, String> {
    let certs: Vec<Certificate> = signed
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            cms::cert::CertificateChoices::Certificate(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    if certs.len() > MAX_CERTS {
        return Err(format!("more than {MAX_CERTS} certificates in the signature"));
    }
    Ok(certs)
}

/// The certificate that `sid` names (RFC 5652 §5.3).
fn find_signer<'c>(
    sid: &SignerIdentifier,
    certs: &'c [Certificate],
) -> Result<&'c Certificate, String> {
    certs
        .iter()
        .find(|c| match sid {
            SignerIdentifier::IssuerAndSerialNumber(id) => {
                c.tbs_certificate.issuer == id.issuer
                    && c.tbs_certificate.serial_number == id.serial_number
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => {
                extension::<SubjectKeyIdentifier>(c, ID_CE_SUBJECT_KEY_IDENTIFIER)
                    .is_some_and(|(_, found)| found == *ski)
            }
        })
        .ok_or_else(|| "the signer certificate is not in the signature".to_owned())
}

/// RFC 5652 §5.4 and §11: with signed attributes, content type id-data,
/// message digest of the covered bytes, ESS signing certificate (required
/// by PAdES), and the signature over the DER SET OF attributes; without
/// them (`adbe.pkcs7.detached` only), the signature over the bytes.
fn check_signature(
    info: &SignerInfo,
    signer: &Certificate,
    alg: DigestAlg,
    digest: &[u8],
    covered: [&[u8]; 2],
    cades: bool,
) -> Result<(), String> {
    let scheme = signature_scheme(&info.signature_algorithm.oid, Some(alg)).ok_or_else(|| {
        format!("signature algorithm {} is not supported", info.signature_algorithm.oid)
    })?;
    let spki = &signer.tbs_certificate.subject_public_key_info;
    let Some(attrs) = info.signed_attrs.as_ref() else {
        if cades {
            return Err("a PAdES signature must have signed attributes".into());
        }
        let message = [covered[0], covered[1]].concat();
        return match verify_signature(spki, scheme, &message, info.signature.as_bytes()) {
            true => Ok(()),
            false => Err("the signature does not verify with the signer certificate's key".into()),
        };
    };
    let content_type =
        single_value(attrs, ID_CONTENT_TYPE).and_then(|v| v.decode_as::<ObjectIdentifier>().ok());
    if content_type != Some(ID_DATA) {
        return Err("the signed content-type attribute is not id-data".into());
    }
    let message_digest =
        single_value(attrs, ID_MESSAGE_DIGEST).and_then(|v| v.decode_as::<OctetString>().ok());
    if message_digest.as_ref().map(OctetString::as_bytes) != Some(digest) {
        return Err("the signed message digest does not match the signed bytes: \
                    the document was changed after it was signed"
            .into());
    }
    ess_binding(attrs, signer, cades)?;
    let der = attrs.to_der().map_err(|e| format!("the signed attributes do not encode ({e})"))?;
    if !verify_signature(spki, scheme, &der, info.signature.as_bytes()) {
        return Err("the signature does not verify with the signer certificate's key".into());
    }
    Ok(())
}

/// RFC 5035 / ETSI EN 319 122-1: the ESS signing-certificate attribute, if
/// present (and it must be, for PAdES), names the signer certificate.
fn ess_binding(
    attrs: &cms::signed_data::SignedAttributes,
    signer: &Certificate,
    required: bool,
) -> Result<(), String> {
    let der =
        signer.to_der().map_err(|e| format!("the signer certificate does not encode ({e})"))?;
    match ess_names(attrs, &der) {
        None if required => {
            Err("a PAdES signature lacks the ESS signing-certificate attribute".into())
        }
        Some(false) => {
            Err("the ESS signing-certificate attribute does not name the signer certificate".into())
        }
        _ => Ok(()),
    }
}

/// A key usage, if present, allows digital signatures or non-repudiation.
fn key_usage(signer: &Certificate) -> Result<(), String> {
    let ku = extension::<KeyUsage>(signer, ID_CE_KEY_USAGE);
    if ku.is_some_and(|(_, ku)| !ku.digital_signature() && !ku.non_repudiation()) {
        return Err("the signer certificate's key usage allows neither digitalSignature \
                    nor nonRepudiation"
            .into());
    }
    Ok(())
}

/// The signed `signingTime` attribute: the signer's own claim.
fn signing_time_attribute(info: &SignerInfo) -> Option<SigningTime> {
    let attrs = info.signed_attrs.as_ref()?;
    let value = single_value(attrs, ID_SIGNING_TIME)?.to_der().ok()?;
    let time = x509_cert::time::Time::from_der(&value).ok()?;
    let unix = i64::try_from(time.to_unix_duration().as_secs()).ok()?;
    Some(SigningTime {
        time: unix_to_rfc3339(time.to_unix_duration().as_secs()),
        unix,
        source: TimeSource::SigningTimeAttribute,
        tsa: None,
        serial: None,
    })
}

/// The unsigned id-aa-signatureTimeStampToken: an RFC 3161 token over the
/// signature value, verified as [`crate::tsa`] verifies any token, against
/// the policy's `tsa` roots. A token that verifies only under its own
/// certificates gives a claimed time; one that does not verify at all is a
/// failure of the signature.
fn signature_timestamp(
    info: &SignerInfo,
    policy: &TrustPolicy,
    now: i64,
    out: &mut Checked,
) -> Option<SigningTime> {
    let attrs = info.unsigned_attrs.as_ref()?;
    let Some(value) = single_value(attrs, ID_AA_SIGNATURE_TIME_STAMP_TOKEN) else {
        if attrs.iter().any(|a| a.oid == ID_AA_SIGNATURE_TIME_STAMP_TOKEN) {
            out.problems.push("more than one signature timestamp".into());
        }
        return None;
    };
    let Ok(token) = value.to_der() else {
        out.problems.push("the signature timestamp does not encode".into());
        return None;
    };
    let imprint = Hash::digest(info.signature.as_bytes());
    let fact = |t: crate::tsa::TimestampInfo, source| SigningTime {
        time: t.gen_time,
        unix: t.gen_time_unix,
        source,
        tsa: Some(t.tsa),
        serial: Some(t.serial),
    };
    match verify_timestamp_token(&token, &imprint, &policy.tsa_roots(), now, MAX_SKEW_SECS) {
        Ok(t) => Some(fact(t, TimeSource::Timestamp)),
        Err(e) => {
            match verify_timestamp_token(&token, &imprint, &own_certs(&token), now, MAX_SKEW_SECS) {
                Ok(t) => {
                    out.untrusted.push(format!(
                    "the signature timestamp is not from a TSA of your policy ({e}); its time is a claim"
                ));
                    Some(fact(t, TimeSource::UntrustedTimestamp))
                }
                Err(_) => {
                    out.problems.push(format!("the signature timestamp does not hold: {e}"));
                    None
                }
            }
        }
    }
}

/// Each certificate a token carries, as a root: the token checked against
/// itself, to tell "no trusted root" from "broken".
fn own_certs(token: &[u8]) -> Vec<TrustedTsa> {
    let certs = ContentInfo::from_der(token)
        .ok()
        .and_then(|i| i.content.decode_as::<SignedData>().ok())
        .and_then(|s| certificates(&s).ok())
        .unwrap_or_default();
    certs
        .iter()
        .filter_map(|c| c.to_der().ok())
        .map(|root_der| TrustedTsa { name: OWN_CERTS.to_owned(), root_der })
        .collect()
}

/// Subject, issuer, serial and validity of the signer certificate.
fn signer_fact(cert: &Certificate) -> SignerFact {
    let tbs = &cert.tbs_certificate;
    let time = |t: x509_cert::time::Time| unix_to_rfc3339(t.to_unix_duration().as_secs());
    let serial = tbs.serial_number.as_bytes();
    let serial = match serial {
        [0, rest @ ..] if !rest.is_empty() => rest,
        s => s,
    };
    SignerFact {
        subject: tbs.subject.to_string(),
        issuer: tbs.issuer.to_string(),
        serial: hex::encode(serial),
        not_before: time(tbs.validity.not_before),
        not_after: time(tbs.validity.not_after),
        trusted_root: None,
    }
}
