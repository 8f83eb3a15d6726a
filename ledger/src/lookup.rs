//! Finding entries: a tenant's document's entries, the entries carrying a
//! document hash (`/v1/lookup`), the documents a data subject appears in,
//! and the retention index of completed contracts.
//!
//! Owns no state: it reads the index families (`docidx`, `hashidx`,
//! `subjidx`, the v1 `docs`/`dochash`, the retention index in `aux`) by
//! the vault's keyed ids, and answers only for committed entries. Calls
//! the log (head, leaves) and the sealed records (openings, blobs).

use verifier::Hash;

use crate::error::Result;
use crate::log::Log;
use crate::records::{Opening, Records};
use crate::store::{RecordFamily, Store};

/// The indexes, as of the log's committed head.
pub(crate) struct Lookup<'a> {
    pub store: &'a Store,
    pub log: &'a Log,
    pub records: &'a Records,
}

impl Lookup<'_> {
    /// The private opening of the committed entry at `index`.
    pub(crate) fn opening(&self, index: u64) -> Result<Opening> {
        self.records.opening(index, &self.log.leaf(index)?)
    }

    /// Indices of one tenant's document entries, ascending.
    pub(crate) fn document_entries(&self, tenant: &str, document_id: &str) -> Result<Vec<u64>> {
        let size = self.log.head().size;
        let mut v = self.store.document_entries(tenant, document_id)?;
        if let Some(vault) = self.records.vault_if_open() {
            let id = vault.document_id(tenant, document_id);
            v.extend(self.store.doc_index(&id)?.into_iter().map(|e| e.index));
            v.sort_unstable();
            v.dedup();
        }
        v.retain(|i| *i < size);
        Ok(v)
    }

    /// Indices of the entries carrying `document_hash`, any tenant, ascending.
    pub(crate) fn entries_by_document_hash(&self, document_hash: &Hash) -> Result<Vec<u64>> {
        let size = self.log.head().size;
        let mut v = self.store.document_hash_entries(&document_hash.0)?;
        if let Some(vault) = self.records.vault_if_open() {
            let id = vault.document_hash_id(&document_hash.0);
            v.extend(self.store.hash_index(&id)?);
            v.sort_unstable();
            v.dedup();
        }
        v.retain(|i| *i < size);
        Ok(v)
    }

    /// The documents (ids) in which the tenant's actor has entries that
    /// still hold a record: what a subject erasure touches.
    pub(crate) fn subject_documents(&self, tenant: &str, actor_id: &str) -> Result<Vec<String>> {
        let subject = self.records.vault()?.subject_id(tenant, actor_id);
        let mut docs = std::collections::BTreeSet::new();
        for i in self.store.subject_index(&subject)? {
            if let Opening::Record { record, .. } = self.opening(i)? {
                if let Some(d) = record["event"]["document_id"].as_str() {
                    docs.insert(d.to_owned());
                }
            }
        }
        Ok(docs.into_iter().collect())
    }

    /// The retention index: documents completed before `before_micros`,
    /// oldest first, as (index key, (tenant, document id)); the ids are
    /// `None` once the document was erased (its key destroyed).
    #[allow(clippy::type_complexity)]
    pub(crate) fn completions_before(
        &self,
        before_micros: i64,
    ) -> Result<Vec<(Vec<u8>, Option<(String, String)>)>> {
        let prefix = crate::store::RETENTION_PREFIX;
        let mut out = Vec::new();
        for (key, sealed) in self.store.scan_records(RecordFamily::Aux, prefix)? {
            let at = key
                .get(prefix.len()..)
                .filter(|r| r.len() == 40)
                .map(|r| crate::store::be_u64(r) as i64);
            match at {
                Some(t) if t < before_micros => {}
                Some(_) => break,
                None => continue,
            }
            let ids = self.records.open_document_blob(b"completion", &sealed)?.and_then(|b| {
                let v: serde_json::Value = serde_json::from_slice(&b).ok()?;
                Some((v["tenant"].as_str()?.to_owned(), v["document_id"].as_str()?.to_owned()))
            });
            out.push((key, ids));
        }
        Ok(out)
    }

    /// The open-contract index: contracts with no `completed` entry, as
    /// (index key, (tenant, document id), time of the last entry in
    /// micros); the ids are `None` once the document was erased (its key
    /// destroyed), the time `None` when no entry of it is in the tree.
    #[allow(clippy::type_complexity)]
    pub(crate) fn open_contracts(
        &self,
    ) -> Result<Vec<(Vec<u8>, Option<(String, String)>, Option<i64>)>> {
        let prefix = crate::store::OPEN_PREFIX;
        let size = self.log.head().size;
        let mut out = Vec::new();
        for (key, sealed) in self.store.scan_records(RecordFamily::Aux, prefix)? {
            let Some(doc_id) = key.get(prefix.len()..).and_then(|r| <[u8; 32]>::try_from(r).ok())
            else {
                continue;
            };
            let purpose = crate::records::OPEN_PURPOSE;
            let ids = self.records.open_document_blob(purpose, &sealed)?.and_then(|b| {
                let v: serde_json::Value = serde_json::from_slice(&b).ok()?;
                Some((v["tenant"].as_str()?.to_owned(), v["document_id"].as_str()?.to_owned()))
            });
            let last = self
                .store
                .doc_index(&doc_id)?
                .into_iter()
                .map(|e| e.index)
                .filter(|i| *i < size)
                .max();
            let at = match last {
                Some(i) => self.store.leaf(i)?.and_then(|l| {
                    let leaf = verifier::v2::parse_any_leaf(&l).ok()?;
                    verifier::entry::parse_ledger_time(leaf.ledger_time()).ok()
                }),
                None => None,
            };
            out.push((key, ids, at));
        }
        Ok(out)
    }
}
