//! A bundle's fields as decoded: what every check reads. Decoding fills it
//! (v1 entries in `decode`, v2 entries and their openings in
//! `commitments`); both build on the helpers here.

use base64::Engine as _;

use super::{BundleEntry, BundleErased, MAX_LEAF_B64};
use crate::anykey::AnyVerifier;
use crate::checkpoint::SignedCheckpoint;
use crate::entry::{Identity, LeafEntry};
use crate::hash::leaf_hash;
use crate::issuer::IssuerKeys;
use crate::Hash;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The bundle's fields, decoded; what failed is in `problems`.
pub(super) struct Decoded {
    pub(super) problems: Vec<String>,
    pub(super) log_key: Result<AnyVerifier, String>,
    pub(super) checkpoint: Result<SignedCheckpoint, String>,
    pub(super) issuers: IssuerKeys,
    pub(super) witnesses: Vec<AnyVerifier>,
    pub(super) entries: Vec<DecodedEntry>,
}

/// One entry, decoded as far as it goes.
pub(super) struct DecodedEntry {
    pub(super) index: u64,
    pub(super) leaf_hash: Option<Hash>,
    /// The entry's content: a v1 leaf, or a v2 leaf opened by its record
    /// (with the record's event and tenant and the leaf's time).
    pub(super) leaf: Result<LeafEntry, String>,
    pub(super) proof: Option<Vec<Hash>>,
    /// Bundle v2: what the `commitments` check found (None in a v1 bundle).
    pub(super) opening: Option<Opening>,
    /// Bundle v2: the entry's erased marker (checked by `commitments`).
    pub(super) erased: Option<BundleErased>,
    /// The leaf's `ledger_time`, whenever the leaf bytes decode.
    pub(super) leaf_time: Option<String>,
    /// The real identity, when an identity opening opened the record.
    pub(super) identity: Option<Identity>,
    /// Whether the record commits to an identity.
    pub(super) identity_committed: bool,
    /// A v3 record's place in its contract's chain, once it opened the leaf.
    pub(super) chain: Option<crate::v3::Chain>,
    /// A record a subject erasure redacted (its actor and attestations
    /// gone, their digests left): it opens the leaf, and says the tenant,
    /// contract, document hash, kind and time; the actor and attestations
    /// are stand-ins, so the entry is not `leaf` (no attestation or
    /// timeline rule reads it), and not unreadable either.
    pub(super) redacted: Option<(LeafEntry, Vec<String>)>,
}

/// What the `commitments` check found for one entry.
#[derive(Default)]
pub(super) struct Opening {
    /// What failed to open, in words.
    pub(super) problems: Vec<String>,
    /// What opened, in words.
    pub(super) found: Vec<String>,
    /// Whether the leaf is v2 and its record opened it.
    pub(super) opened_v2: bool,
}

/// The leaf bytes of an entry, if its `leaf` is base64 of at most 1 MiB.
pub(super) fn leaf_bytes(e: &BundleEntry) -> Option<Vec<u8>> {
    if e.leaf.len() > MAX_LEAF_B64 {
        None
    } else {
        B64.decode(&e.leaf).ok()
    }
}

/// An entry with its leaf hash and proof decoded, its content not yet.
pub(super) fn undecoded(e: &BundleEntry, bytes: Option<&[u8]>) -> DecodedEntry {
    DecodedEntry {
        index: e.index,
        leaf_hash: bytes.map(leaf_hash),
        leaf: Err("the leaf is not standard base64 (or too large)".to_owned()),
        proof: e.inclusion.iter().map(|h| Hash::from_base64(h).ok()).collect(),
        opening: None,
        erased: None,
        leaf_time: None,
        identity: None,
        identity_committed: false,
        chain: None,
        redacted: None,
    }
}

impl DecodedEntry {
    /// Whether the entry's content is gone by an erasure that the bundle
    /// accounts for: an erased marker, or a record a subject erasure
    /// redacted (which still opens the leaf).
    pub(super) fn accounted(&self) -> bool {
        self.erased.is_some() || self.redacted.is_some()
    }
}

impl Decoded {
    /// The entries whose content can be read (v1 leaves, opened v2
    /// leaves), with their index.
    pub(super) fn readable(&self) -> Vec<(u64, &LeafEntry)> {
        self.entries.iter().filter_map(|e| e.leaf.as_ref().ok().map(|l| (e.index, l))).collect()
    }

    /// How many entries can be read neither as content nor as erased
    /// or redacted.
    pub(super) fn unreadable(&self) -> usize {
        self.entries.iter().filter(|e| e.leaf.is_err() && !e.accounted()).count()
    }

    /// The entries whose records a subject erasure redacted, with their
    /// index: what they still say (tenant, contract, hash, kind, time).
    pub(super) fn redacted(&self) -> Vec<(u64, &LeafEntry)> {
        self.entries.iter().filter_map(|e| e.redacted.as_ref().map(|(l, _)| (e.index, l))).collect()
    }

    /// How many entries carry an erased marker.
    pub(super) fn erased(&self) -> usize {
        self.entries.iter().filter(|e| e.erased.is_some()).count()
    }

    /// The leaf time of every readable or erased entry, in bundle order.
    pub(super) fn times(&self) -> Vec<(u64, &str)> {
        self.entries
            .iter()
            .filter(|e| e.leaf.is_ok() || e.accounted())
            .filter_map(|e| e.leaf_time.as_deref().map(|t| (e.index, t)))
            .collect()
    }
}
