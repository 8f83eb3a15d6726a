//! The client half of RFC 3161 §3.4 (time-stamp protocol via HTTP), pure:
//! building a TimeStampReq and reading a TimeStampResp. The anchoring code
//! POSTs the request (`application/timestamp-query`) and hands the body of
//! the answer (`application/timestamp-reply`) to [`parse_timestamp_response`].

use cmpv2::status::PkiStatus;
use const_oid::db::rfc5912::{ID_SHA_224, ID_SHA_256, ID_SHA_384, ID_SHA_512};
use const_oid::ObjectIdentifier;
use der::asn1::{Int, OctetString};
use der::{Any, Decode, Encode, Reader, SliceReader};
use spki::AlgorithmIdentifier;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion};

use crate::{Hash, VerifyError};

/// Largest TimeStampResp accepted, in bytes: a maximal token and its status.
pub const MAX_RESPONSE_SIZE: usize = super::MAX_TOKEN_SIZE + 1024;

const WHAT: &str = "timestamp response";

/// RFC 3161 §2.4.1 TimeStampReq over a SHA-256 document hash, with `nonce`
/// and `certReq` TRUE (so the token carries the TSA certificate that
/// [`super::verify_timestamp_token`] needs). DER.
pub fn timestamp_request_der(sha256: &Hash, nonce: u64) -> Vec<u8> {
    timestamp_request_der_for(ID_SHA_256, &sha256.0, nonce)
}

/// [`timestamp_request_der`] over `hashed`, a hash made with the algorithm
/// `algorithm` (RFC 4998 archive timestamps: SHA-512, SHA3-512, SM3, ...).
/// SHA-2 identifiers carry NULL parameters (RFC 5754 §2), others none.
pub fn timestamp_request_der_for(
    algorithm: ObjectIdentifier,
    hashed: &[u8],
    nonce: u64,
) -> Vec<u8> {
    let sha2 = [ID_SHA_224, ID_SHA_256, ID_SHA_384, ID_SHA_512].contains(&algorithm);
    let request = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifier {
                oid: algorithm,
                parameters: sha2.then(Any::null),
            },
            hashed_message: OctetString::new(hashed.to_vec()).expect("a hash fits an OCTET STRING"),
        },
        req_policy: None,
        nonce: Some(Int::new(&positive_int_bytes(nonce)).expect("at most 9 bytes fit an INTEGER")),
        cert_req: true,
        extensions: None,
    };
    request.to_der().expect("a TimeStampReq of fixed shape encodes")
}

/// Reads a TimeStampResp (RFC 3161 §2.4.2) and returns the token's exact
/// DER bytes if the status is granted or grantedWithMods. Rejections carry
/// the TSA's status text and failure bits in the error. The token itself is
/// not verified here: pass it to [`super::verify_timestamp_token`].
pub fn parse_timestamp_response(der: &[u8]) -> Result<Vec<u8>, VerifyError> {
    if der.len() > MAX_RESPONSE_SIZE {
        return Err(VerifyError::TooLarge {
            what: WHAT,
            size: der.len(),
            limit: MAX_RESPONSE_SIZE,
        });
    }
    let malformed =
        |e: der::Error| VerifyError::malformed(WHAT, format!("not a DER TimeStampResp ({e})"));
    let response = TimeStampResp::from_der(der).map_err(malformed)?;
    let status = &response.status;
    if !matches!(status.status, PkiStatus::Accepted | PkiStatus::GrantedWithMods) {
        let text = status
            .status_string
            .as_ref()
            .map(|s| s.iter().map(|t| t.as_str().to_owned()).collect::<Vec<_>>().join("; "))
            .unwrap_or_default();
        let bits = status.fail_info.map(|f| format!(" {f:?}")).unwrap_or_default();
        return Err(VerifyError::invalid(
            WHAT,
            format!("the TSA refused: {:?}{bits} {text}", status.status).trim_end().to_owned(),
        ));
    }
    if response.time_stamp_token.is_none() {
        return Err(VerifyError::invalid(WHAT, "granted but no token in the response"));
    }
    raw_token(der).map_err(malformed)
}

/// The token's bytes as sent: the second element of the outer SEQUENCE.
/// Returning them rather than a re-encoding keeps the evidence byte-exact.
fn raw_token(der: &[u8]) -> der::Result<Vec<u8>> {
    let mut reader = SliceReader::new(der)?;
    let token = reader.sequence(|seq| {
        seq.tlv_bytes()?; // PKIStatusInfo
        let token = seq.tlv_bytes()?;
        Ok(token.to_vec())
    })?;
    reader.finish(token)
}

/// The minimal two's-complement encoding of a non-negative integer.
fn positive_int_bytes(n: u64) -> Vec<u8> {
    let be = n.to_be_bytes();
    let first = be.iter().position(|&b| b != 0).unwrap_or(be.len() - 1);
    let mut out = Vec::with_capacity(9);
    if be[first] & 0x80 != 0 {
        out.push(0);
    }
    out.extend_from_slice(&be[first..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_bytes_are_minimal_and_positive() {
        assert_eq!(positive_int_bytes(0), [0]);
        assert_eq!(positive_int_bytes(0x7f), [0x7f]);
        assert_eq!(positive_int_bytes(0x80), [0, 0x80]);
        assert_eq!(positive_int_bytes(0x0100), [1, 0]);
        assert_eq!(positive_int_bytes(u64::MAX), [0, 255, 255, 255, 255, 255, 255, 255, 255]);
    }

    #[test]
    fn request_round_trips() {
        let hash = Hash::digest(b"doc");
        let der = timestamp_request_der(&hash, u64::MAX);
        let req = TimeStampReq::from_der(&der).expect("decodes");
        assert!(req.cert_req);
        assert_eq!(req.message_imprint.hashed_message.as_bytes(), hash.0);
        let nonce = req.nonce.expect("nonce");
        assert_eq!(nonce.as_bytes(), [0, 255, 255, 255, 255, 255, 255, 255, 255]);
    }

    #[test]
    fn garbage_response_is_malformed() {
        assert!(matches!(
            parse_timestamp_response(b"\x30\x03\x02\x01\x00"),
            Err(VerifyError::Malformed { .. })
        ));
        assert!(matches!(
            parse_timestamp_response(&[0u8; MAX_RESPONSE_SIZE + 1]),
            Err(VerifyError::TooLarge { .. })
        ));
    }
}
