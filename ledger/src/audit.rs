//! The store audit: re-reads every leaf, recomputes every stored hash and
//! the root from the leaf bytes alone, matches them against the stored
//! hashes, the tree state and every signed checkpoint the store holds (the
//! head's, and those kept by other crates, e.g. the anchored ones), and
//! checks the idempotency and document indexes against the leaves, both
//! ways. RocksDB's block checksums catch a flipped bit on disk; this
//! catches a value that was rewritten through RocksDB, or written wrong.
//!
//! Memory stays O(log n): the tree is recomputed as a right edge of
//! complete subtrees, the way the stored hashes were written.

use std::fmt;
use std::path::Path;

use tlog_tiles::tlog;
use verifier::anykey::AnyVerifier;
use verifier::suite::Suite;
use verifier::Hash;

use crate::error::{LedgerError, Result};
use crate::store::{be_u64, LogFamily, RecordFamily, Store};

/// Findings kept in full; the rest are only counted.
const MAX_FINDINGS: usize = 100;

/// One inconsistency, naming the record it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// What kind: `leaf`, `stored_hash`, `checkpoint`, `tree_state`, `index`.
    pub kind: &'static str,
    /// In words, with the key or index.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

/// What an audit checked and found.
#[derive(Clone, Debug, Default)]
pub struct AuditReport {
    /// Tree size of the stored tree state.
    pub tree_size: u64,
    /// Root recomputed from the leaf bytes.
    pub root: Hash,
    /// Leaves read and hashed.
    pub leaves: u64,
    /// Stored hashes compared.
    pub stored_hashes: u64,
    /// Signed checkpoints whose root was matched (the head's included).
    pub checkpoints: u64,
    /// Index records checked (idempotency, documents, document hashes).
    pub index_records: u64,
    /// The first findings, in the order met (leaves in index order first).
    pub findings: Vec<Finding>,
    /// All findings, counted.
    pub findings_total: u64,
}

impl AuditReport {
    /// True when nothing was found.
    pub fn is_clean(&self) -> bool {
        self.findings_total == 0
    }

    fn find(&mut self, kind: &'static str, message: String) {
        self.findings_total += 1;
        if self.findings.len() < MAX_FINDINGS {
            self.findings.push(Finding { kind, message });
        }
    }
}

/// A signed checkpoint to match: where it came from, size, root.
struct Expected {
    label: String,
    size: u64,
    root: Hash,
}

/// Audits the store of the data directory `dir`, opened read-only (so it
/// also runs beside a serving ledger, on the state as of its start).
/// `aux_checkpoints` are prefixes of auxiliary records that hold signed
/// checkpoint notes (e.g. the anchoring crate's sent checkpoints); each is
/// verified with the log key and its root matched.
pub fn audit_dir(dir: &Path, aux_checkpoints: &[&[u8]]) -> Result<AuditReport> {
    // The vkey as recorded: a data directory whose log key is in a token
    // audits without that token.
    let log = AnyVerifier::from_vkey(&crate::logkey::recorded_vkey(dir)?)
        .map_err(|e| LedgerError::Corrupt(format!("log key: {e}")))?;
    let store = crate::datadir::open_store_read_only(dir)?;
    // With the master key at hand, v2 records are opened and checked
    // against their leaves too (a backup kept apart from its key is
    // checked structurally only).
    // A master key in a token that is not reachable here counts as absent.
    let vault = match crate::datadir::master_key_read_only(dir)? {
        Some(m) => {
            let erased = store.erasures()?.into_iter().map(|(id, _)| id).collect();
            crate::vault::Vault::open(m, &store, erased, log.suite()).ok()
        }
        None => None,
    };
    audit_store_with(&store, &log, aux_checkpoints, vault.as_ref())
}

/// Opens and checks the v2 or v3 record of leaf `index`, if it still exists.
fn check_record(
    store: &Store,
    vault: &crate::vault::Vault,
    report: &mut AuditReport,
    index: u64,
    leaf: &verifier::v2::LeafV2,
) -> Result<()> {
    use crate::records::{read_record, RecordRead};
    match read_record(store, vault, index, leaf)? {
        RecordRead::Absent => return Ok(()),
        RecordRead::KeyDestroyed => {
            report
                .find("record", format!("leaf {index}: a record is left whose key was destroyed"));
            return Ok(());
        }
        RecordRead::Bad(why) => report.find("record", format!("leaf {index}: {why}")),
        RecordRead::Opened(_) => {}
    }
    report.index_records += 1;
    Ok(())
}

/// [`audit_dir`] on an open store, with the log's verifier.
pub fn audit_store(
    store: &Store,
    log: &AnyVerifier,
    aux_checkpoints: &[&[u8]],
) -> Result<AuditReport> {
    audit_store_with(store, log, aux_checkpoints, None)
}

/// [`audit_store`], opening v2 records with `vault` when given.
pub fn audit_store_with(
    store: &Store,
    log: &AnyVerifier,
    aux_checkpoints: &[&[u8]],
    vault: Option<&crate::vault::Vault>,
) -> Result<AuditReport> {
    let mut report = AuditReport::default();
    let state = store.tree_state()?;
    report.tree_size = state.map_or(0, |s| s.size);
    let mut expected = signed_checkpoints(store, log, aux_checkpoints, &mut report)?;
    expected.sort_by_key(|e| e.size);
    let suite = log.suite();
    let mut walk =
        Walk { edge: Vec::new(), next: 0, last_time: String::new(), v2_leaves: 0, vault, suite };
    let mut pending = expected.iter().peekable();
    while pending.peek().is_some_and(|e| e.size == 0) {
        if let Some(e) = pending.next() {
            match_root(&mut report, e, &suite.empty_root());
        }
    }
    for item in store.scan_family(LogFamily::Leaves) {
        // A block that fails its checksum (or any failed read) is a
        // finding, not an error: the audit goes on with what it can read.
        let step = item.and_then(|(key, leaf)| walk.leaf(store, &mut report, &key, &leaf));
        let more = match step {
            Ok(more) => more,
            Err(e) if is_read_failure(&e) => {
                report.find(
                    "storage",
                    format!("the leaves cannot be read past entry {}: {e}", walk.next),
                );
                false
            }
            Err(e) => return Err(e),
        };
        if !more {
            break;
        }
        report.leaves += 1;
        while pending.peek().is_some_and(|e| e.size == walk.next) {
            if let Some(e) = pending.next() {
                match_root(&mut report, e, &walk.root());
            }
        }
    }
    for e in pending {
        report.find(
            "checkpoint",
            format!("{} is for tree size {}, but the leaves end at {}", e.label, e.size, walk.next),
        );
    }
    report.root = walk.root();
    check_tree_state(&mut report, state.map(|s| (s.size, Hash(s.root))), walk.next);
    check_counts(store, &mut report, walk.next, walk.v2_leaves)?;
    Ok(report)
}

/// The head's checkpoint and those under `prefixes`, each verified.
fn signed_checkpoints(
    store: &Store,
    log: &AnyVerifier,
    prefixes: &[&[u8]],
    report: &mut AuditReport,
) -> Result<Vec<Expected>> {
    let mut notes = Vec::new();
    if let Some(note) = store.checkpoint()? {
        notes.push(("the head's checkpoint (meta/checkpoint)".to_string(), note));
    } else if report.tree_size > 0 {
        report.find("checkpoint", "meta/checkpoint is missing".into());
    }
    for prefix in prefixes {
        for (key, note) in store.scan_records(RecordFamily::Aux, prefix)? {
            notes.push((format!("checkpoint at aux key {}", printable(&key)), note));
        }
    }
    let mut out = Vec::new();
    for (label, note) in notes {
        match log.verify_checkpoint(&note) {
            Ok(cp) => {
                out.push(Expected { label, size: cp.checkpoint.size, root: cp.checkpoint.root })
            }
            Err(e) => report.find("checkpoint", format!("{label}: not signed by the log key: {e}")),
        }
    }
    report.checkpoints = out.len() as u64;
    Ok(out)
}

fn match_root(report: &mut AuditReport, e: &Expected, root: &Hash) {
    if *root != e.root {
        report.find(
            "checkpoint",
            format!(
                "{} says the root of {} leaves is {}; the leaves hash to {root}",
                e.label, e.size, e.root
            ),
        );
    }
}

fn check_tree_state(report: &mut AuditReport, state: Option<(u64, Hash)>, leaves: u64) {
    let Some((size, root)) = state else {
        if leaves > 0 {
            report.find("tree_state", format!("meta/tree is missing, with {leaves} leaves"));
        }
        return;
    };
    if size != leaves {
        report.find("tree_state", format!("meta/tree says {size} leaves, the store has {leaves}"));
    } else if root != report.root {
        report.find(
            "tree_state",
            format!("meta/tree says root {root}; the leaves hash to {}", report.root),
        );
    }
}

/// The recomputation: the right edge of complete subtrees, each with a
/// taint bit (a mismatch below it was already reported, so its ancestors'
/// mismatches are consequences, not news).
struct Walk<'v> {
    edge: Vec<(Hash, bool)>,
    next: u64,
    last_time: String,
    /// Leaves in the v2 format (their indexes are keyed hashes).
    v2_leaves: u64,
    vault: Option<&'v crate::vault::Vault>,
    /// The log's suite (its tree hash).
    suite: Suite,
}

impl Walk<'_> {
    /// Checks one leaf record; false stops the walk (a gap: nothing after
    /// it can be placed in the tree).
    fn leaf(
        &mut self,
        store: &Store,
        report: &mut AuditReport,
        key: &[u8],
        leaf: &[u8],
    ) -> Result<bool> {
        if key.len() != 8 {
            report.find("leaf", format!("leaves key {} is not an index", printable(key)));
            return Ok(true);
        }
        let index = be_u64(key);
        if index != self.next {
            report.find(
                "leaf",
                format!("leaf {} is missing (the next leaf record is {index})", self.next),
            );
            return Ok(false);
        }
        self.push(store, report, index, self.suite.leaf_hash(leaf))?;
        self.check_entry(store, report, index, leaf)?;
        self.next += 1;
        Ok(true)
    }

    /// The leaf parses as a canonical leaf, its time does not go back, and
    /// its indexes point at it.
    fn check_entry(
        &mut self,
        store: &Store,
        report: &mut AuditReport,
        index: u64,
        leaf: &[u8],
    ) -> Result<()> {
        let entry = match verifier::v2::parse_any_leaf(leaf) {
            Ok(verifier::v2::Leaf::V1(e)) => e,
            Ok(verifier::v2::Leaf::V2(l)) => {
                if l.ledger_time < self.last_time {
                    report.find(
                        "leaf",
                        format!(
                            "leaf {index}: ledger time {} is before the previous leaf's {}",
                            l.ledger_time, self.last_time
                        ),
                    );
                }
                self.last_time = l.ledger_time.clone();
                self.v2_leaves += 1;
                if let Some(v) = self.vault {
                    check_record(store, v, report, index, &l)?;
                }
                return Ok(());
            }
            Err(e) => {
                report.find("leaf", format!("leaf {index} is not a canonical leaf: {e}"));
                return Ok(());
            }
        };
        if entry.ledger_time < self.last_time {
            report.find(
                "leaf",
                format!(
                    "leaf {index}: ledger time {} is before the previous leaf's {}",
                    entry.ledger_time, self.last_time
                ),
            );
        }
        self.last_time = entry.ledger_time.clone();
        let (tenant, ev) = (entry.tenant.as_str(), &entry.event);
        let content = Hash::digest(&verifier::jcs::to_canonical(&ev.raw)).0;
        let at = format!("leaf {index} ({tenant}/{})", ev.event_id);
        match store.idempotency(&[(tenant, ev.event_id.as_str())])?.pop().flatten() {
            None => report.find("index", format!("{at}: no idempotency record")),
            Some(r) if r.index != index => report
                .find("index", format!("{at}: idempotency record points at index {}", r.index)),
            Some(r) if r.content != content => report.find(
                "index",
                format!("{at}: idempotency record's content hash is not the leaf's event"),
            ),
            Some(_) => {}
        }
        let (doc, dochash) =
            store.entry_indexes_present(tenant, &ev.document_id, &ev.document_hash.0, index)?;
        if !doc {
            report.find("index", format!("{at}: no docs record for {}", ev.document_id));
        }
        if !dochash {
            report.find("index", format!("{at}: no dochash record for {}", ev.document_hash));
        }
        report.index_records += 3;
        Ok(())
    }

    /// Adds leaf `index` to the edge, comparing every stored hash it
    /// completes (RFC 9162 subtree hashes in the tlog stored-hash layout).
    fn push(
        &mut self,
        store: &Store,
        report: &mut AuditReport,
        index: u64,
        leaf: Hash,
    ) -> Result<()> {
        let mut level = 0u8;
        let mut node = index;
        let mut hash = leaf;
        let mut tainted = self.compare(store, report, level, node, &hash, false)?;
        while node & 1 == 1 {
            let Some((left, left_tainted)) = self.edge.pop() else {
                return Err(LedgerError::Corrupt("audit: right edge underflow".into()));
            };
            hash = self.suite.node_hash(&left, &hash);
            level += 1;
            node >>= 1;
            tainted = self.compare(store, report, level, node, &hash, tainted || left_tainted)?;
        }
        self.edge.push((hash, tainted));
        Ok(())
    }

    /// Compares one recomputed subtree hash with the stored one; returns
    /// the taint of the subtree.
    fn compare(
        &self,
        store: &Store,
        report: &mut AuditReport,
        level: u8,
        node: u64,
        recomputed: &Hash,
        tainted: bool,
    ) -> Result<bool> {
        let i = tlog::stored_hash_index(level, node);
        report.stored_hashes += 1;
        let stored = store.read_hashes_opt(&[i])?.pop().flatten();
        let what = if level == 0 {
            format!("stored hash {i} (the leaf hash of leaf {node})")
        } else {
            let (lo, hi) = (node << level, ((node + 1) << level) - 1);
            format!("stored hash {i} (level {level}, node {node}: leaves {lo}..={hi})")
        };
        let ok = match &stored {
            None => {
                report.find("stored_hash", format!("{what} is missing"));
                false
            }
            Some(b) if b.as_slice() == recomputed.0 => true,
            Some(b) => {
                if !tainted {
                    let shown =
                        Hash::from_slice(b).map_or_else(|_| hex::encode(b), |h| h.to_string());
                    let from = if level == 0 { "the leaf's bytes" } else { "its children" };
                    report.find(
                        "stored_hash",
                        format!("{what} is {shown}; recomputed from {from}: {recomputed}"),
                    );
                }
                false
            }
        };
        Ok(tainted || !ok)
    }

    /// RFC 9162 root of the leaves walked so far.
    fn root(&self) -> Hash {
        let mut it = self.edge.iter().rev();
        let Some((last, _)) = it.next() else {
            return self.suite.empty_root();
        };
        it.fold(*last, |acc, (left, _)| self.suite.node_hash(left, &acc))
    }
}

/// Every index record points below the tree size, and each family holds
/// exactly one record per leaf (with the per-leaf checks: a bijection), and
/// the hashes family exactly the stored hashes of the tree.
fn check_counts(store: &Store, report: &mut AuditReport, leaves: u64, v2: u64) -> Result<()> {
    let families = [
        (LogFamily::Idem, "idem"),
        (LogFamily::Docs, "docs"),
        (LogFamily::DocHash, "dochash"),
        (LogFamily::DocIdx, "docidx"),
        (LogFamily::Hashes, "hashes"),
    ];
    for (family, name) in families {
        let mut count = 0u64;
        for item in store.scan_family(family) {
            let (key, value) = match item {
                Ok(kv) => kv,
                Err(e) if is_read_failure(&e) => {
                    report.find(
                        "storage",
                        format!("{name} cannot be read past {count} records: {e}"),
                    );
                    break;
                }
                Err(e) => return Err(e),
            };
            count += 1;
            let index = match family {
                // 8 bytes: the tombstone of an erased entry's record.
                LogFamily::Idem if value.len() == 40 || value.len() == 8 => Some(be_u64(&value)),
                LogFamily::Idem => {
                    report.find("index", format!("idem {}: bad value length", printable(&key)));
                    None
                }
                LogFamily::Hashes => None,
                _ if key.len() >= 8 => Some(be_u64(&key[key.len() - 8..])),
                _ => None,
            };
            if index.is_some_and(|i| i >= leaves) {
                report.find(
                    "index",
                    format!("{name} {} points beyond the {leaves} leaves", printable(&key)),
                );
            }
        }
        // v1 leaves are indexed in docs/dochash, v2 leaves in docidx (and
        // hashidx, which erasures thin out); idem holds one record per leaf.
        let want = match family {
            LogFamily::Hashes => tlog::stored_hash_count(leaves),
            LogFamily::Idem => leaves,
            LogFamily::DocIdx => v2,
            _ => leaves - v2,
        };
        if count != want {
            report.find(
                "index",
                format!("{name} holds {count} records; {leaves} leaves need {want}"),
            );
        }
    }
    Ok(())
}

/// A key for a message: its printable head as text (0x00 separators as
/// `/`), the rest (big-endian indexes, hashes) in hex.
/// Whether an error is the store failing to read (a corrupt block, an I/O
/// error), which the audit reports as a finding, rather than a bug.
fn is_read_failure(e: &LedgerError) -> bool {
    matches!(e, LedgerError::Storage(_) | LedgerError::Io(_) | LedgerError::Database(_))
}

fn printable(key: &[u8]) -> String {
    let printable = |b: u8| (0x20..0x7f).contains(&b);
    let text = (0..key.len())
        .take_while(|&i| {
            printable(key[i]) || (key[i] == 0 && key.get(i + 1).is_some_and(|b| printable(*b)))
        })
        .count();
    let head = String::from_utf8_lossy(&key[..text]).replace('\0', "/");
    if text == key.len() {
        head
    } else {
        format!("{head}0x{}", hex::encode(&key[text..]))
    }
}
