//! Erasure (crypto-shredding, PIPL art. 47 / GDPR art. 17): of one
//! tenant's document (its key, records and identity openings) or of one
//! data subject's identity openings across a tenant's documents. Each is
//! an `erased` entry the log attests, written by the sequencer in the same
//! synced batch as the deletions, the idempotency tombstones and a sealed
//! [`Cleanup`] record of what the service still has to delete; leaves,
//! proofs and checkpoints stay.
//!
//! Owns the erasure rules (what may be erased, the reason's form). Calls
//! the log (head, queue), the sealed records and the vault, the attester
//! and the store's erasure records; the caller holds the ledger's write
//! lock, so erasures and registry changes never interleave.

use verifier::entry::{Event, EventKind};
use verifier::Hash;

use crate::attester::Attester;
use crate::error::{LedgerError, Result};
use crate::ids::{check_id, subject_document, RESERVED_DOCUMENT_PREFIXES};
use crate::log::Log;
use crate::lookup::Lookup;
use crate::records::{seal_cleanup, Opening, Records, CLEANUP_PURPOSE};
use crate::store::Store;
use crate::types::{Erasure, Prepared, PreparedPrivate, Receipt};
use crate::util::parse_json;

/// Longest erasure reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// What the service still has to delete after an erasure committed: its
/// own copies of the erased data (stored reports, report idempotency
/// records, access-log paths naming the document or the subject), then
/// the store's purge. Written sealed under the erasure key in the
/// erasure's own batch, so that a crash at any point after the commit
/// leaves it behind to be resumed ([`crate::Ledger::pending_cleanups`]);
/// deleted by [`crate::Ledger::finish_cleanup`] once every step is done.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cleanup {
    /// The tenant whose erasure it was.
    pub tenant: String,
    /// `document`: the erased document; `subject`: the documents the
    /// subject had entries in, when it was erased.
    pub documents: Vec<String>,
    /// The erased subject's actor id (subject erasures only).
    pub actor_id: Option<String>,
    /// The erasure key id the record is kept under.
    #[serde(skip)]
    pub id: [u8; 32],
}

/// What an erasure uses.
pub(crate) struct Eraser<'a> {
    pub store: &'a Store,
    pub log: &'a Log,
    pub records: &'a Records,
    pub attester: &'a Attester,
}

impl Eraser<'_> {
    /// Erases one tenant's document: in one synced batch, destroys its key
    /// and every record and identity opening of it, and appends an
    /// `erased` entry (its record names the document and the reason, no
    /// personal data).
    pub(crate) fn document(
        &self,
        tenant: &str,
        document_id: &str,
        reason: &str,
        by: &str,
    ) -> Result<Receipt> {
        check_reason(reason)?;
        if RESERVED_DOCUMENT_PREFIXES.iter().any(|p| document_id.starts_with(p)) {
            // The ledger's own entries (registry, token and retention
            // changes, subject erasures) are the log's account of what
            // was done, not the tenant's data.
            return Err(LedgerError::InvalidRequest(format!(
                "{document_id}: the ledger's own entries cannot be erased"
            )));
        }
        let vault = self.records.vault()?.clone();
        let doc_id = vault.document_id(tenant, document_id);
        if let Some(rec) = self.store.erasure(&doc_id)? {
            let rec: serde_json::Value = parse_json(&rec)?;
            return Err(LedgerError::AlreadyExists(format!(
                "document {document_id} was erased by entry {}",
                rec["entry"]
            )));
        }
        let size = self.log.head().size;
        let entries: Vec<u64> = (self.store.doc_index(&doc_id)?.into_iter())
            .map(|e| e.index)
            .filter(|i| *i < size)
            .collect();
        let Some(&last) = entries.last() else {
            if !self.store.document_entries(tenant, document_id)?.is_empty() {
                return Err(LedgerError::InvalidRequest(
                    "this document's entries are v1 leaves, public in clear; they cannot be erased"
                        .into(),
                ));
            }
            return Err(LedgerError::NotFound(format!("document {document_id}")));
        };
        let lookup = Lookup { store: self.store, log: self.log, records: self.records };
        let document_hash = match lookup.opening(last)? {
            Opening::Record { record, .. } => {
                record["event"]["document_hash"].as_str().map(str::to_owned)
            }
            _ => None,
        }
        .unwrap_or_else(|| "00".repeat(32));
        let claim = serde_json::json!({"erasure": {"scope": "document", "reason": reason}});
        let event = self.attester.event(
            tenant,
            EventKind::Erased,
            document_id,
            &document_hash,
            claim,
            by,
        )?;
        let canonical = verifier::jcs::to_canonical(&event.raw);
        let seal_id = vault.erasure_key_id(tenant, document_id);
        let cleanup = Cleanup {
            tenant: tenant.to_owned(),
            documents: vec![document_id.to_owned()],
            actor_id: None,
            id: seal_id,
        };
        vault.mark_erased(&doc_id);
        let result = self
            .records
            .seal(
                tenant,
                &event,
                Some((
                    seal_id,
                    Erasure::Document {
                        by: by.to_owned(),
                        reason: reason.to_owned(),
                        cleanup: Vec::new(),
                    },
                )),
            )
            .and_then(|mut private| {
                let sealed = self.seal_cleanup(&seal_id, &cleanup)?;
                if let Some(Erasure::Document { cleanup, .. }) = &mut private.erasure {
                    *cleanup = sealed;
                }
                self.sequence_one(tenant, event, &canonical, private)
            });
        // Unmarked only if the erasure is not on disk: a failure after the
        // synced write (recording the high-water mark) leaves it erased.
        if result.is_err() && self.store.erasure(&doc_id).ok().flatten().is_none() {
            vault.unmark_erased(&doc_id);
        }
        result
    }

    /// Erases the identity openings of one data subject (actor id) across
    /// a tenant's documents; records stay, their identity commitment no
    /// longer opens. Appends an `erased` entry.
    pub(crate) fn subject(
        &self,
        tenant: &str,
        actor_id: &str,
        reason: &str,
        by: &str,
    ) -> Result<Receipt> {
        check_reason(reason)?;
        check_id("actor id", actor_id)?;
        let vault = self.records.vault()?.clone();
        let subject = vault.subject_id(tenant, actor_id);
        if self.store.subject_index(&subject)?.is_empty() {
            return Err(LedgerError::NotFound(format!(
                "no entry of actor {actor_id} holds personal data"
            )));
        }
        let lookup = Lookup { store: self.store, log: self.log, records: self.records };
        let documents = lookup.subject_documents(tenant, actor_id)?;
        let document_id = subject_document(actor_id);
        let hash = Hash::digest(format!("evidence-ledger subject {actor_id}").as_bytes()).to_hex();
        let claim = serde_json::json!({"erasure": {"scope": "subject", "actor_id": actor_id, "reason": reason}});
        let event =
            self.attester.event(tenant, EventKind::Erased, &document_id, &hash, claim, by)?;
        let canonical = verifier::jcs::to_canonical(&event.raw);
        let seal_id = vault.erasure_key_id(tenant, &document_id);
        let cleanup = Cleanup {
            tenant: tenant.to_owned(),
            documents,
            actor_id: Some(actor_id.to_owned()),
            id: seal_id,
        };
        let erasure = Erasure::Subject {
            subject,
            by: by.to_owned(),
            reason: reason.to_owned(),
            cleanup: Vec::new(),
        };
        let mut private = self.records.seal(tenant, &event, Some((seal_id, erasure)))?;
        let sealed = self.seal_cleanup(&seal_id, &cleanup)?;
        if let Some(Erasure::Subject { cleanup, .. }) = &mut private.erasure {
            *cleanup = sealed;
        }
        self.sequence_one(tenant, event, &canonical, private)
    }

    /// Seals `cleanup` under the erasure key `seal_id` (after the entry's
    /// record was sealed under it, so that both use the one key).
    fn seal_cleanup(&self, seal_id: &[u8; 32], cleanup: &Cleanup) -> Result<Vec<u8>> {
        let plain = serde_json::to_vec(cleanup)
            .map_err(|e| LedgerError::Corrupt(format!("clean-up record: {e}")))?;
        seal_cleanup(self.records.vault()?, self.store, seal_id, &plain)
    }

    /// The erasures whose clean-up is not done yet (after a crash, a
    /// failure, or while it runs). A record that no longer opens is
    /// skipped with a warning (it names nothing readable).
    pub(crate) fn pending_cleanups(&self) -> Result<Vec<Cleanup>> {
        let mut out = Vec::new();
        for (id, sealed) in self.store.cleanups()? {
            match self.records.open_document_blob(CLEANUP_PURPOSE, &sealed)? {
                Some(plain) => {
                    let mut c: Cleanup = parse_json(&plain)?;
                    c.id = id;
                    out.push(c);
                }
                None => tracing::warn!("an erasure clean-up record no longer opens"),
            }
        }
        Ok(out)
    }

    fn sequence_one(
        &self,
        tenant: &str,
        event: Event,
        canonical: &[u8],
        private: PreparedPrivate,
    ) -> Result<Receipt> {
        let vault = self.records.vault()?;
        let idem_id = vault.event_id(tenant, &event.event_id);
        let content = vault.keyed_hash("content", &[tenant.as_bytes(), canonical]);
        let prepared =
            Prepared { event, content, content_v1: None, idem_id, private: Some(private) };
        self.log
            .sequence(tenant, vec![prepared])?
            .into_iter()
            .next()
            .ok_or_else(|| LedgerError::Corrupt("no receipt".into()))
    }
}

fn check_reason(reason: &str) -> Result<()> {
    let n = reason.chars().count();
    if n == 0 || n > MAX_REASON_CHARS || reason.chars().any(char::is_control) {
        return Err(LedgerError::InvalidRequest(format!(
            "reason: 1-{MAX_REASON_CHARS} characters, no control characters"
        )));
    }
    Ok(())
}
