//! ASN.1 types of RFC 3161 and RFC 5035 that the ecosystem crates lack or
//! model too narrowly, and the object identifiers the checks name.
//!
//! `x509_tsp::TstInfo` holds `genTime` as `der::asn1::GeneralizedTime`, which
//! refuses fractional seconds; RFC 3161 §2.4.2 allows them and real TSAs send
//! them, so [`TstInfo`] mirrors it with a [`GenTime`] that accepts them.

use const_oid::ObjectIdentifier;
use der::asn1::{Int, OctetString};
use der::{DecodeValue, EncodeValue, FixedTag, Header, Length, Reader, Sequence, Tag, Writer};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::Extensions;
use x509_tsp::{Accuracy, MessageImprint, TsaPolicyId, TspVersion};

/// id-ct-TSTInfo, RFC 3161 §2.4.2.
pub(crate) const ID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// id-aa-signingCertificate, RFC 2634 §5.4 (ESSCertID, SHA-1).
pub(crate) const ID_AA_SIGNING_CERTIFICATE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.12");
/// id-aa-signingCertificateV2, RFC 5035 §3 (ESSCertIDv2).
pub(crate) const ID_AA_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");

/// TSTInfo, RFC 3161 §2.4.2, with a `genTime` that keeps fractional seconds.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct TstInfo {
    pub version: TspVersion,
    pub policy: TsaPolicyId,
    pub message_imprint: MessageImprint,
    pub serial_number: Int,
    pub gen_time: GenTime,
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    #[asn1(default = "Default::default")]
    pub ordering: bool,
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<GeneralName>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// ESSCertID, RFC 2634 §5.4.1: `certHash` is SHA-1 of the certificate.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct EssCertId {
    pub cert_hash: OctetString,
    #[asn1(optional = "true")]
    pub issuer_serial: Option<der::Any>,
}

/// SigningCertificate, RFC 2634 §5.4.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct SigningCertificate {
    pub certs: Vec<EssCertId>,
    #[asn1(optional = "true")]
    pub policies: Option<der::Any>,
}

/// ESSCertIDv2, RFC 5035 §4: `hashAlgorithm` defaults to SHA-256.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct EssCertIdV2 {
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    pub cert_hash: OctetString,
    #[asn1(optional = "true")]
    pub issuer_serial: Option<der::Any>,
}

/// SigningCertificateV2, RFC 5035 §3.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct SigningCertificateV2 {
    pub certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    pub policies: Option<der::Any>,
}

/// Longest `genTime` accepted: 14 digits, a point, 9 fraction digits, `Z`.
const GEN_TIME_MAX_LEN: usize = 25;

/// A `genTime` (RFC 3161 §2.4.2): `YYYYMMDDhhmmss[.s...]Z`, UTC, no trailing
/// zeros in the fraction, no decimal point without a fraction.
#[derive(Clone, Debug, Eq, PartialEq)]
pub(crate) struct GenTime {
    raw: Vec<u8>,
    /// Unix seconds (the fraction dropped).
    pub unix: i64,
    /// RFC 3339, UTC, with the token's fraction if it has one.
    pub rfc3339: String,
}

impl FixedTag for GenTime {
    const TAG: Tag = Tag::GeneralizedTime;
}

impl<'a> DecodeValue<'a> for GenTime {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let len = usize::try_from(header.length)?;
        if len > GEN_TIME_MAX_LEN {
            return Err(Tag::GeneralizedTime.length_error());
        }
        let mut buf = [0u8; GEN_TIME_MAX_LEN];
        let raw = reader.read_into(&mut buf[..len])?;
        parse_gen_time(raw).ok_or_else(|| Tag::GeneralizedTime.value_error())
    }
}

impl EncodeValue for GenTime {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.raw.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(&self.raw)
    }
}

/// Parses the value bytes of a `genTime`; `None` if not of the RFC 3161 form.
fn parse_gen_time(raw: &[u8]) -> Option<GenTime> {
    let text = std::str::from_utf8(raw).ok()?;
    let body = text.strip_suffix('Z')?;
    let (whole, fraction) = match body.split_once('.') {
        Some((w, f)) if !f.is_empty() && !f.ends_with('0') => (w, Some(f)),
        Some(_) => return None,
        None => (body, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if whole.len() != 14 || !digits(whole) || !fraction.is_none_or(digits) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| whole[r].parse::<u16>().ok();
    let month = time::Month::try_from(u8::try_from(num(4..6)?).ok()?).ok()?;
    let date =
        time::Date::from_calendar_date(i32::from(num(0..4)?), month, num(6..8)? as u8).ok()?;
    let clock =
        time::Time::from_hms(num(8..10)? as u8, num(10..12)? as u8, num(12..14)? as u8).ok()?;
    let unix = time::PrimitiveDateTime::new(date, clock).assume_utc().unix_timestamp();
    let fraction = fraction.map(|f| format!(".{f}")).unwrap_or_default();
    let rfc3339 = format!(
        "{}-{}-{}T{}:{}:{}{fraction}Z",
        &whole[0..4],
        &whole[4..6],
        &whole[6..8],
        &whole[8..10],
        &whole[10..12],
        &whole[12..14]
    );
    Some(GenTime { raw: raw.to_vec(), unix, rfc3339 })
}

#[cfg(test)]
mod tests {
    use super::parse_gen_time;

    #[test]
    fn gen_time_forms() {
        let t = parse_gen_time(b"20261128161740Z").expect("plain");
        assert_eq!(t.rfc3339, "2026-11-28T16:17:40Z");
        assert_eq!(t.unix, 1_795_882_660);
        let t = parse_gen_time(b"20261128161740.42Z").expect("fraction");
        assert_eq!(t.rfc3339, "2026-11-28T16:17:40.42Z");
        assert_eq!(t.unix, 1_795_882_660);
        for bad in [
            &b"20261128161740.420Z"[..],
            b"20261128161740.Z",
            b"20261128161740",
            b"2026112816174Z",
            b"20261328161740Z",
            b"20261128246000Z",
            b"2026112816174aZ",
            b"20261128161740+0800",
        ] {
            assert!(parse_gen_time(bad).is_none(), "{bad:?}");
        }
    }
}
