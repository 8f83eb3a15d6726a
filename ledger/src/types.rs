//! The values that pass between the appenders, the sequencer and the
//! readers: what an appender prepares ([`Prepared`]), the request it
//! queues ([`Request`]), the committed head the sequencer publishes
//! ([`Head`]) and the receipt it answers ([`Receipt`]).
//!
//! Owns no state. Below every part that uses these types (the ingest
//! checks, the sealed records, the sequencer, the log), so none of them
//! imports another for a type.

use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use verifier::entry::Event;
use verifier::Hash;

use crate::error::Result;

/// What the log answers an appender for one event, once it is durable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The client's event id.
    pub event_id: String,
    /// Index of the leaf.
    pub index: u64,
    /// RFC 9162 leaf hash.
    pub leaf_hash: Hash,
    /// Ledger time of the leaf.
    pub ledger_time: Arc<str>,
    /// Size of the tree the proof and checkpoint are for.
    pub tree_size: u64,
    /// Inclusion proof of the leaf in that tree.
    pub inclusion: Vec<Hash>,
    /// The signed checkpoint note of that tree.
    pub checkpoint: Arc<str>,
    /// True when the event id was recorded before with the same content.
    pub replayed: bool,
}

/// An event made ready on the appender's thread: its content hash (for
/// idempotency), its keyed idempotency id, and, unless it is a replay, its
/// sealed v2 record (evidence v2: the sequencer writes only the
/// commitment in the leaf).
pub(crate) struct Prepared {
    pub event: Event,
    /// Keyed hash (HMAC under the index key) of the canonical event: what
    /// the v2 idempotency record keeps, so that no unsalted hash of an
    /// event (and of the identity in it) is stored.
    pub content: [u8; 32],
    /// SHA-256 of the canonical event, as v1 idempotency records keep it
    /// (only for logs that hold v1 entries).
    pub content_v1: Option<[u8; 32]>,
    pub idem_id: [u8; 32],
    pub private: Option<PreparedPrivate>,
}

/// The private part of a new v2 entry, sealed off the sequencer.
pub(crate) struct PreparedPrivate {
    pub doc_id: [u8; 32],
    /// The key the record is sealed under (the document's, or for entries
    /// about an erased document, its erasure key).
    pub seal_id: [u8; 32],
    pub hash_id: Option<[u8; 32]>,
    pub subject_id: [u8; 32],
    /// The record's digests but the chain's, which the sequencer adds.
    pub sealing: verifier::v3::Sealing,
    pub record: Vec<u8>,
    pub identity: Option<Vec<u8>>,
    /// The sealing key's wrapped form while no synced write holds it.
    pub new_key: Option<Vec<u8>>,
    /// For a `completed` event: (tenant, document id) sealed under the
    /// document key, kept in the retention index by ledger time.
    pub completion: Option<Vec<u8>>,
    /// For the first event of a contract (its document key is new):
    /// (tenant, document id) sealed under the document key for the
    /// open-contract index, sealed here so the sequencer need not.
    pub open_ids: Option<Vec<u8>>,
    pub erasure: Option<Erasure>,
}

/// What an `erased` entry destroys, in the same synced batch as the entry.
pub(crate) enum Erasure {
    /// Every record and identity opening of the document `doc_id` (the
    /// entry's own), and the document key. The sequencer writes the entry's
    /// claim itself, with the number and a hash of the entries it erases,
    /// so that verifiers can tell which leaves were erased.
    /// `cleanup`: what the service still has to delete, sealed under the
    /// erasure key, kept (in the same batch) until the clean-up is done.
    Document { by: String, reason: String, cleanup: Vec<u8> },
    /// The identity openings of one data subject.
    Subject { subject: [u8; 32], by: String, reason: String, cleanup: Vec<u8> },
}

/// One appender's batch, waiting for its receipts.
pub(crate) struct Request {
    pub tenant: String,
    pub events: Vec<Prepared>,
    pub reply: SyncSender<Result<Vec<Receipt>>>,
}

/// The committed head of the log, shared with readers.
#[derive(Clone, Debug)]
pub(crate) struct Head {
    pub size: u64,
    pub root: Hash,
    pub note: Arc<str>,
    pub last_time_micros: i64,
    /// Which reading of the store this head descends from: a fresh number
    /// each time a head is loaded from the store (at open, and after a
    /// commit of unknown outcome), kept by every append on top of it. Caches
    /// of stored hashes are valid for one lineage only.
    pub lineage: u64,
}

/// A lineage number no head has had before (see [`Head::lineage`]).
pub(crate) fn next_lineage() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}
