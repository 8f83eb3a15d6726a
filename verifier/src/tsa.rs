//! RFC 3161 trusted timestamps: verifying a `timestamp_token` against the
//! event's document hash and the TSA roots the operator trusts, and the pure
//! request/response halves of asking a TSA for one.
//!
//! A token is a CMS SignedData (RFC 5652) over a TSTInfo (RFC 3161 §2.4.2).
//! [`verify_timestamp_token`] runs every check a court would, in order, and
//! names the first that fails: size, structure, message imprint, `genTime`
//! not in the future, signer certificate present and profiled for
//! timestamping (§2.3), signed attributes (content type, message digest,
//! ESS signing certificate, RFC 5035), the signature, and the certificate
//! path to a trusted root at `genTime`. GB/T 20520 (the Chinese national
//! profile of RFC 3161) tokens are the same structure and pass the same
//! checks when signed with RSA or ECDSA; GM/T 0033 tokens, signed SM2 over
//! SM3 with SM2 certificates, pass them too, and their imprint may be SM3
//! where the caller knows the imprinted bytes or their SM3 digest
//! ([`verify_timestamp_token_over`]).
//!
//! Out of scope: revocation (CRL/OCSP), which needs the network; fetching
//! tokens, which the anchoring code does over HTTP with [`request`].

pub(crate) mod asn1;
pub(crate) mod chain;
pub(crate) mod crypto;
pub mod request;

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedAttributes, SignedData, SignerInfo};
use const_oid::db::rfc5911::{ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, ID_SIGNED_DATA};
use const_oid::db::rfc5912::ID_SHA_256;
use const_oid::ObjectIdentifier;
use der::asn1::{Int, OctetString};
use der::{Decode, Encode, Tag, Tagged};
use x509_cert::attr::AttributeValue;
use x509_cert::Certificate;

use self::asn1::{
    SigningCertificate, SigningCertificateV2, TstInfo, ID_AA_SIGNING_CERTIFICATE,
    ID_AA_SIGNING_CERTIFICATE_V2, ID_CT_TST_INFO,
};
use self::crypto::{signature_scheme, verify_signature, DigestAlg, ID_SM3};
use crate::{Hash, VerifyError};

pub use self::request::{
    parse_timestamp_response, timestamp_request_der, timestamp_request_der_for,
};

/// Largest token accepted, in bytes, checked before decoding. Same cap as
/// the event model's `timestamp_token` (a token with a 3-certificate chain
/// is about 5 KiB).
pub const MAX_TOKEN_SIZE: usize = 16 * 1024;
/// Largest PEM root certificate accepted by [`parse_root_pem`].
pub const MAX_ROOT_PEM_SIZE: usize = 64 * 1024;
/// Most certificates a token may carry.
const MAX_TOKEN_CERTS: usize = 8;
/// The JSON field the errors name.
const FIELD: &str = "timestamp_token";

/// A TSA root certificate the operator trusts, under the name it was added
/// with (`evidence-ledger tsa add --name NAME --root-cert PEM`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedTsa {
    /// The operator's name for this TSA; reported as [`TimestampInfo::tsa`].
    pub name: String,
    /// The root certificate, DER. May also be the TSA certificate itself.
    pub root_der: Vec<u8>,
}

impl TrustedTsa {
    /// A trusted TSA from a PEM root certificate (see [`parse_root_pem`]).
    pub fn from_pem(name: impl Into<String>, pem: &str) -> Result<TrustedTsa, VerifyError> {
        Ok(TrustedTsa { name: name.into(), root_der: parse_root_pem(pem)? })
    }
}

/// What a valid token attests: reported by the verifier and the evidence
/// report next to the event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimestampInfo {
    /// Name of the trusted root the signer's certificate chains to.
    pub tsa: String,
    /// `genTime`, RFC 3339 UTC (`Z`), with the token's fraction if any.
    pub gen_time: String,
    /// `genTime` in unix seconds (fraction dropped).
    pub gen_time_unix: i64,
    /// `serialNumber`, lowercase hex of its big-endian bytes.
    pub serial: String,
    /// `policy`, dotted OID.
    pub policy: String,
    /// `nonce` if present, lowercase hex of its big-endian bytes.
    pub nonce: Option<String>,
    /// Subject of the TSA's signing certificate (RFC 4514).
    pub signer_subject: String,
}

/// Parses one PEM `CERTIFICATE` and returns its DER, for
/// [`TrustedTsa::root_der`]. The certificate must decode as X.509.
pub fn parse_root_pem(pem: &str) -> Result<Vec<u8>, VerifyError> {
    const WHAT: &str = "TSA root certificate";
    if pem.len() > MAX_ROOT_PEM_SIZE {
        return Err(VerifyError::TooLarge {
            what: WHAT,
            size: pem.len(),
            limit: MAX_ROOT_PEM_SIZE,
        });
    }
    let (label, der) = der::pem::decode_vec(pem.trim().as_bytes())
        .map_err(|e| VerifyError::malformed(WHAT, format!("not one PEM block: {e}")))?;
    if label != "CERTIFICATE" {
        return Err(VerifyError::malformed(
            WHAT,
            format!("PEM label {label}, expected CERTIFICATE"),
        ));
    }
    Certificate::from_der(&der)
        .map_err(|e| VerifyError::malformed(WHAT, format!("not an X.509 certificate: {e}")))?;
    Ok(der)
}

/// What a token must be over: the caller's knowledge of the timestamped
/// data, which decides the imprint algorithms it can check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Imprinted<'a> {
    /// Only the data's SHA-256 is known (an event's `document_hash`): the
    /// imprint must be SHA-256.
    Sha256(&'a Hash),
    /// Only the data's SM3 (GB/T 32905) is known: the imprint must be SM3.
    Sm3(&'a Hash),
    /// The data itself (a checkpoint body, an event's canonical JSON): the
    /// imprint may be SHA-256 or SM3 of it (GM/T 0033 TSAs imprint SM3).
    Bytes(&'a [u8]),
}

/// Verifies an RFC 3161 TimeStampToken (DER) over `expected_sha256` against
/// the `trusted` TSA roots, as of `now_unix` with `max_skew_secs` of clock
/// skew allowed for `genTime`. Never panics; every failure is
/// [`VerifyError::Invalid`] on `timestamp_token`, naming the failed check.
/// The same as [`verify_timestamp_token_over`] with [`Imprinted::Sha256`].
pub fn verify_timestamp_token(
    token_der: &[u8],
    expected_sha256: &Hash,
    trusted: &[TrustedTsa],
    now_unix: i64,
    max_skew_secs: i64,
) -> Result<TimestampInfo, VerifyError> {
    let over = Imprinted::Sha256(expected_sha256);
    verify_timestamp_token_over(token_der, over, trusted, now_unix, max_skew_secs)
}

/// Verifies an RFC 3161 TimeStampToken (DER) over the data `over`
/// describes, as [`verify_timestamp_token`] does; the imprint may be SM3
/// when `over` allows it. Tokens signed with RSA, ECDSA or SM2 (GM/T 0033)
/// all go through here.
pub fn verify_timestamp_token_over(
    token_der: &[u8],
    over: Imprinted<'_>,
    trusted: &[TrustedTsa],
    now_unix: i64,
    max_skew_secs: i64,
) -> Result<TimestampInfo, VerifyError> {
    let imprint = |tst: &TstInfo| check_imprint(tst, over);
    verify_token_with(token_der, imprint, trusted, now_unix, max_skew_secs).map(|(info, _)| info)
}

/// [`verify_timestamp_token`] for a token whose message imprint is
/// `hashed` under the hash algorithm `algorithm` (any algorithm: RFC 4998
/// archive timestamps use the hash of their tree). Also returns the end of
/// the signer certificate's validity (unix seconds): until when the token
/// can be renewed.
pub fn verify_timestamp_token_imprint(
    token_der: &[u8],
    algorithm: ObjectIdentifier,
    hashed: &[u8],
    trusted: &[TrustedTsa],
    now_unix: i64,
    max_skew_secs: i64,
) -> Result<(TimestampInfo, i64), VerifyError> {
    let imprint = |tst: &TstInfo| {
        let found = &tst.message_imprint;
        if found.hash_algorithm.oid != algorithm {
            return Err(fail(format!(
                "message imprint uses hash algorithm {}, not {algorithm}",
                found.hash_algorithm.oid
            )));
        }
        if found.hashed_message.as_bytes() != hashed {
            return Err(fail("message imprint does not match the hash it must cover"));
        }
        Ok(())
    };
    verify_token_with(token_der, imprint, trusted, now_unix, max_skew_secs)
}

/// The checks of [`verify_timestamp_token`] in their order, with the
/// imprint check given; returns the signer certificate's `notAfter` too.
fn verify_token_with(
    token_der: &[u8],
    check_imprint: impl Fn(&TstInfo) -> Result<(), VerifyError>,
    trusted: &[TrustedTsa],
    now_unix: i64,
    max_skew_secs: i64,
) -> Result<(TimestampInfo, i64), VerifyError> {
    if token_der.len() > MAX_TOKEN_SIZE {
        return Err(fail(format!(
            "{} bytes, more than the {MAX_TOKEN_SIZE} allowed",
            token_der.len()
        )));
    }
    let signed = decode_signed_data(token_der)?;
    let (tst_der, tst) = decode_tst_info(&signed)?;
    check_imprint(&tst)?;
    if tst.gen_time.unix > now_unix.saturating_add(max_skew_secs) {
        return Err(fail(format!(
            "genTime {} is in the future (more than {max_skew_secs} s ahead of this clock)",
            tst.gen_time.rfc3339
        )));
    }
    let certs = token_certificates(&signed)?;
    let signer_info = only_signer(&signed)?;
    let signer = chain::find_signer(&signer_info.sid, &certs)?;
    chain::check_tsa_profile(signer)?;
    check_signed_attributes(signer_info, tst_der, signer)?;
    check_signature(signer_info, signer)?;
    let tsa = chain::chain_to_trusted(signer, &certs, trusted, tst.gen_time.unix)?;
    let not_after = signer.tbs_certificate.validity.not_after.to_unix_duration().as_secs();
    let info = TimestampInfo {
        tsa: tsa.to_owned(),
        gen_time: tst.gen_time.rfc3339.clone(),
        gen_time_unix: tst.gen_time.unix,
        serial: int_hex(&tst.serial_number),
        policy: tst.policy.to_string(),
        nonce: tst.nonce.as_ref().map(int_hex),
        signer_subject: signer.tbs_certificate.subject.to_string(),
    };
    Ok((info, i64::try_from(not_after).unwrap_or(i64::MAX)))
}

/// The hash algorithm of a token's message imprint, read without checking
/// anything else (RFC 4998 §4.1: an archive timestamp without its own
/// `digestAlgorithm` uses its timestamp's). `None` if it does not decode.
pub fn token_imprint_algorithm(token_der: &[u8]) -> Option<ObjectIdentifier> {
    if token_der.len() > MAX_TOKEN_SIZE {
        return None;
    }
    let signed = decode_signed_data(token_der).ok()?;
    let (_, tst) = decode_tst_info(&signed).ok()?;
    Some(tst.message_imprint.hash_algorithm.oid)
}

/// When the certificate that signed a token expires (unix seconds), read
/// without checking anything: for the service's renewal schedule over
/// tokens it verified when it got them. `None` if it does not decode.
pub fn token_signer_not_after(token_der: &[u8]) -> Option<i64> {
    if token_der.len() > MAX_TOKEN_SIZE {
        return None;
    }
    let signed = decode_signed_data(token_der).ok()?;
    let certs = token_certificates(&signed).ok()?;
    let signer = chain::find_signer(&only_signer(&signed).ok()?.sid, &certs).ok()?;
    i64::try_from(signer.tbs_certificate.validity.not_after.to_unix_duration().as_secs()).ok()
}

/// A failed token check, named in `reason`.
fn fail(reason: impl Into<String>) -> VerifyError {
    VerifyError::invalid(FIELD, reason)
}

/// ContentInfo → SignedData (RFC 3161 §2.4.2, RFC 5652 §3, §5.1).
fn decode_signed_data(token_der: &[u8]) -> Result<SignedData, VerifyError> {
    let not_token = |e: der::Error| fail(format!("not a DER TimeStampToken ({e})"));
    let info = ContentInfo::from_der(token_der).map_err(not_token)?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(fail(format!(
            "not a TimeStampToken: content type {} is not CMS SignedData",
            info.content_type
        )));
    }
    info.content.decode_as::<SignedData>().map_err(not_token)
}

/// The eContent bytes (the DER TSTInfo) and their decoding.
fn decode_tst_info(signed: &SignedData) -> Result<(&[u8], TstInfo), VerifyError> {
    let encap = &signed.encap_content_info;
    if encap.econtent_type != ID_CT_TST_INFO {
        return Err(fail(format!(
            "the signed content type {} is not id-ct-TSTInfo",
            encap.econtent_type
        )));
    }
    let content = encap
        .econtent
        .as_ref()
        .filter(|c| c.tag() == Tag::OctetString)
        .ok_or_else(|| fail("the TSTInfo is missing (detached content)"))?;
    let tst = TstInfo::from_der(content.value())
        .map_err(|e| fail(format!("the TSTInfo does not parse ({e})")))?;
    Ok((content.value(), tst))
}

/// RFC 3161 §2.4.2 messageImprint: the digest of the data, by an algorithm
/// the caller can check (SHA-256 of the document, as the event says).
fn check_imprint(tst: &TstInfo, over: Imprinted<'_>) -> Result<(), VerifyError> {
    let imprint = &tst.message_imprint;
    let oid = imprint.hash_algorithm.oid;
    let expected: Vec<u8> = match (over, oid) {
        (Imprinted::Sha256(h), ID_SHA_256) | (Imprinted::Sm3(h), ID_SM3) => h.0.to_vec(),
        (Imprinted::Bytes(data), ID_SHA_256) => DigestAlg::Sha256.digest(data),
        (Imprinted::Bytes(data), ID_SM3) => DigestAlg::Sm3.digest(data),
        (Imprinted::Sha256(_), _) => {
            return Err(fail(format!("message imprint uses hash algorithm {oid}, not SHA-256")))
        }
        (Imprinted::Sm3(_), _) => {
            return Err(fail(format!("message imprint uses hash algorithm {oid}, not SM3")))
        }
        (Imprinted::Bytes(_), _) => {
            return Err(fail(format!(
                "message imprint uses hash algorithm {oid}, not SHA-256 or SM3"
            )))
        }
    };
    if imprint.hashed_message.as_bytes() != expected.as_slice() {
        return Err(fail("message imprint does not match the document hash"));
    }
    Ok(())
}

fn token_certificates(signed: &SignedData) -> Result<Vec<Certificate>, VerifyError> {
    let certs: Vec<Certificate> = signed
        .certificates
        .as_ref()
        .map(|set| {
            set.0
                .iter()
                .filter_map(|c| match c {
                    cms::cert::CertificateChoices::Certificate(c) => Some(c.clone()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    if certs.len() > MAX_TOKEN_CERTS {
        return Err(fail(format!("more than {MAX_TOKEN_CERTS} certificates")));
    }
    Ok(certs)
}

/// RFC 3161 §2.4.2: the token carries the TSA's signature and no other.
fn only_signer(signed: &SignedData) -> Result<&SignerInfo, VerifyError> {
    match signed.signer_infos.0.as_slice() {
        [one] => Ok(one),
        other => Err(fail(format!("{} signatures, a TimeStampToken has exactly one", other.len()))),
    }
}

/// RFC 5652 §5.3/§11: content-type is id-ct-TSTInfo, message-digest is the
/// digest of the TSTInfo; then the ESS binding to the signer certificate.
fn check_signed_attributes(
    info: &SignerInfo,
    tst_der: &[u8],
    signer: &Certificate,
) -> Result<(), VerifyError> {
    let attrs =
        info.signed_attrs.as_ref().ok_or_else(|| fail("the signature has no signed attributes"))?;
    let content_type =
        single_value(attrs, ID_CONTENT_TYPE).and_then(|v| v.decode_as::<ObjectIdentifier>().ok());
    if content_type != Some(ID_CT_TST_INFO) {
        return Err(fail("the signed content-type attribute is not id-ct-TSTInfo"));
    }
    let expected = signer_digest(info)?.digest(tst_der);
    let message_digest =
        single_value(attrs, ID_MESSAGE_DIGEST).and_then(|v| v.decode_as::<OctetString>().ok());
    if message_digest.as_ref().map(OctetString::as_bytes) != Some(expected.as_slice()) {
        return Err(fail(
            "the signed message-digest attribute does not match the TSTInfo (content altered)",
        ));
    }
    check_ess_binding(attrs, signer)
}

/// RFC 3161 §2.4.1, RFC 5035: the signing-certificate attribute (v2, or v1
/// with SHA-1) must be present and its first certificate hash must be the
/// signer certificate's.
fn check_ess_binding(attrs: &SignedAttributes, signer: &Certificate) -> Result<(), VerifyError> {
    let signer_der = signer
        .to_der()
        .map_err(|e| fail(format!("the signer certificate does not encode ({e})")))?;
    match ess_names(attrs, &signer_der) {
        None => {
            Err(fail("the signature lacks the ESS signing-certificate attribute (RFC 3161 §2.4.1)"))
        }
        Some(false) => {
            Err(fail("the ESS signing-certificate attribute does not name the signer certificate"))
        }
        Some(true) => Ok(()),
    }
}

/// Whether the ESS signing-certificate attribute (RFC 5035 v2, else RFC
/// 2634 v1) names the certificate `signer_der` by its first `ESSCertID`:
/// `None` when neither attribute is there. Shared by RFC 3161 tokens and
/// PDF signatures (CAdES).
pub(crate) fn ess_names(attrs: &SignedAttributes, signer_der: &[u8]) -> Option<bool> {
    use sha1::Digest as _;
    if let Some(v2) = single_value(attrs, ID_AA_SIGNING_CERTIFICATE_V2) {
        let first =
            v2.decode_as::<SigningCertificateV2>().ok().and_then(|s| s.certs.into_iter().next());
        return Some(first.is_some_and(|id| {
            let alg =
                id.hash_algorithm.map_or(Some(DigestAlg::Sha256), |a| DigestAlg::from_oid(&a.oid));
            alg.is_some_and(|alg| id.cert_hash.as_bytes() == alg.digest(signer_der))
        }));
    }
    let v1 = single_value(attrs, ID_AA_SIGNING_CERTIFICATE)?;
    let first = v1.decode_as::<SigningCertificate>().ok().and_then(|s| s.certs.into_iter().next());
    Some(
        first
            .is_some_and(|id| id.cert_hash.as_bytes() == sha1::Sha1::digest(signer_der).as_slice()),
    )
}

/// The value of attribute `oid` if it occurs once with one value; a missing,
/// repeated or multi-valued attribute fails the check that needs it.
pub(crate) fn single_value(
    attrs: &SignedAttributes,
    oid: ObjectIdentifier,
) -> Option<&AttributeValue> {
    let mut found = attrs.iter().filter(|a| a.oid == oid);
    match (found.next(), found.next()) {
        (Some(a), None) if a.values.len() == 1 => a.values.get(0),
        _ => None,
    }
}

/// The SignerInfo digest algorithm, if one we accept.
fn signer_digest(info: &SignerInfo) -> Result<DigestAlg, VerifyError> {
    DigestAlg::from_oid(&info.digest_alg.oid).ok_or_else(|| {
        fail(format!(
            "digest algorithm {} is not SHA-256, SHA-384, SHA-512 or SM3",
            info.digest_alg.oid
        ))
    })
}

/// RFC 5652 §5.4: the signature is over the DER SET OF signed attributes.
fn check_signature(info: &SignerInfo, signer: &Certificate) -> Result<(), VerifyError> {
    let digest = signer_digest(info)?;
    let scheme =
        signature_scheme(&info.signature_algorithm.oid, Some(digest)).ok_or_else(|| {
            fail(format!("signature algorithm {} is not supported", info.signature_algorithm.oid))
        })?;
    let signed_attrs = info
        .signed_attrs
        .as_ref()
        .map(Encode::to_der)
        .and_then(Result::ok)
        .ok_or_else(|| fail("the signed attributes do not encode"))?;
    let spki = &signer.tbs_certificate.subject_public_key_info;
    if !verify_signature(spki, scheme, &signed_attrs, info.signature.as_bytes()) {
        return Err(fail("signature does not verify with the signer certificate's key"));
    }
    Ok(())
}

/// Lowercase hex of an INTEGER's big-endian bytes, a leading 0x00 sign
/// byte dropped.
pub(crate) fn int_hex(i: &Int) -> String {
    let bytes = i.as_bytes();
    let bytes = match bytes {
        [0, rest @ ..] if !rest.is_empty() => rest,
        b => b,
    };
    hex::encode(bytes)
}
