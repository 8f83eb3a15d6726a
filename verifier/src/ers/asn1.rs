//! The ASN.1 of RFC 4998 (Appendix A, module ERS, IMPLICIT TAGS), as
//! RustCrypto `der` types: DER in, DER out, nothing parsed by hand.

use cms::content_info::ContentInfo;
use const_oid::ObjectIdentifier;
use der::asn1::OctetString;
use der::{Any, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::{Attribute, Attributes};

/// `EvidenceRecord`, RFC 4998 §3.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EvidenceRecord {
    /// `version INTEGER { v1(1) }`.
    pub version: u8,
    /// Every hash algorithm used in the record (§3: "all the hash algorithms
    /// used to hash the data object over the archival period").
    pub digest_algorithms: Vec<AlgorithmIdentifierOwned>,
    /// `cryptoInfos [0] CryptoInfos OPTIONAL`: kept, not interpreted.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub crypto_infos: Option<Vec<Attribute>>,
    /// `encryptionInfo [1] EncryptionInfo OPTIONAL`: we never encrypt, and
    /// refuse to verify a record that says its data was encrypted.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub encryption_info: Option<EncryptionInfo>,
    /// The chains, oldest first.
    pub archive_time_stamp_sequence: ArchiveTimeStampSequence,
}

/// `EncryptionInfo`, RFC 4998 §3.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EncryptionInfo {
    /// `encryptionInfoType`.
    pub encryption_info_type: ObjectIdentifier,
    /// `encryptionInfoValue`.
    pub encryption_info_value: Any,
}

/// `ArchiveTimeStampSequence ::= SEQUENCE OF ArchiveTimeStampChain`.
pub type ArchiveTimeStampSequence = Vec<ArchiveTimeStampChain>;

/// `ArchiveTimeStampChain ::= SEQUENCE OF ArchiveTimeStamp`.
pub type ArchiveTimeStampChain = Vec<ArchiveTimeStamp>;

/// `PartialHashtree ::= SEQUENCE OF OCTET STRING`.
pub type PartialHashtree = Vec<OctetString>;

/// `ArchiveTimeStamp`, RFC 4998 §4.1.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct ArchiveTimeStamp {
    /// The hash algorithm of the reduced hash tree; absent means the
    /// timestamp's imprint algorithm. We always write it.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub digest_algorithm: Option<AlgorithmIdentifierOwned>,
    /// `attributes [1] Attributes OPTIONAL`: kept, not interpreted.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub attributes: Option<Attributes>,
    /// The reduced hash tree (§4.2), lists from the leaves to the root;
    /// absent when the timestamp is over the one covered hash itself.
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT", optional = "true")]
    pub reduced_hashtree: Option<Vec<PartialHashtree>>,
    /// The RFC 3161 TimeStampToken over the root (a CMS ContentInfo).
    pub time_stamp: ContentInfo,
}
