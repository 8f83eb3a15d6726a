//! The token records of the registry: one keyed read of the token's
//! hash per request, a per-tenant index for listing, and its build at
//! open for stores written before it (docs/tenancy.md, "Finding and
//! listing tokens").

use verifier::Hash;

use super::{Registry, TokenRecord, SEP};
use crate::error::{LedgerError, Result};
use crate::store::RecordFamily;
use crate::util::parse_json;

impl Registry {
    /// Stores a token record under the SHA-256 of the token, with its row
    /// in its tenant's index (one synced write).
    pub(crate) fn put_token(&self, token_hash: &Hash, rec: &TokenRecord) -> Result<()> {
        let bytes = serde_json::to_vec(rec).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
        let index = token_index_key(&rec.tenant, &rec.id);
        self.store.put_records_synced(&[
            (RecordFamily::Tokens, &token_hash.0, &bytes),
            (RecordFamily::Aux, &index, &token_hash.0),
        ])
    }

    /// The token record stored under `token_hash`: one keyed read.
    pub(crate) fn token(&self, token_hash: &Hash) -> Result<Option<TokenRecord>> {
        self.get_json(RecordFamily::Tokens, &token_hash.0)
    }

    /// The token record whose public id is `id` (the first 12 hex digits
    /// of its hash), with its hash: a range read of the keys that start
    /// with those 6 bytes, whatever the tenant.
    pub(crate) fn token_by_id(&self, id: &str) -> Result<Option<(Hash, TokenRecord)>> {
        let Some(prefix) = id_prefix(id) else { return Ok(None) };
        for (k, v) in self.store.scan_records(RecordFamily::Tokens, &prefix)? {
            let Ok(h) = Hash::from_slice(&k) else { continue };
            let rec: TokenRecord = parse_json(&v)?;
            if rec.id == id {
                return Ok(Some((h, rec)));
            }
        }
        Ok(None)
    }

    /// One tenant's token records, with their hashes, read through the
    /// tenant's index: no other tenant's record is read.
    pub(crate) fn tenant_tokens(&self, tenant: &str) -> Result<Vec<(Hash, TokenRecord)>> {
        if self.store.get_record(RecordFamily::Aux, TOKEN_INDEX_BUILT)?.is_none() {
            // A read-only view of a store whose index was never built.
            let all = self.tokens()?;
            return Ok(all.into_iter().filter(|(_, r)| r.tenant == tenant).collect());
        }
        let mut out = Vec::new();
        let rows = self.store.scan_records(RecordFamily::Aux, &token_index_prefix(tenant))?;
        for (_, h) in rows {
            let h = Hash::from_slice(&h).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
            if let Some(rec) = self.token(&h)? {
                out.push((h, rec));
            }
        }
        Ok(out)
    }

    /// Builds the per-tenant token index of a store written before it
    /// existed (once: a marker records that it is complete). Returns how
    /// many tokens it indexed.
    pub(crate) fn build_token_index(&self) -> Result<usize> {
        if self.store.get_record(RecordFamily::Aux, TOKEN_INDEX_BUILT)?.is_some() {
            return Ok(0);
        }
        let tokens = self.tokens()?;
        let rows: Vec<(Vec<u8>, Vec<u8>)> =
            tokens.iter().map(|(h, r)| (token_index_key(&r.tenant, &r.id), h.0.to_vec())).collect();
        for chunk in rows.chunks(1000) {
            self.store.put_records_unsynced(RecordFamily::Aux, chunk)?;
        }
        self.store.put_record(RecordFamily::Aux, TOKEN_INDEX_BUILT, b"1")?;
        Ok(tokens.len())
    }

    /// Every token record with the hash it is stored under.
    pub(crate) fn tokens(&self) -> Result<Vec<(Hash, TokenRecord)>> {
        let raw = self.store.scan_records(RecordFamily::Tokens, b"")?;
        raw.into_iter()
            .map(|(k, v)| {
                let h = Hash::from_slice(&k).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
                Ok((h, parse_json(&v)?))
            })
            .collect()
    }
}

/// Aux key prefix of the per-tenant token index: `<it><tenant>\0<id>`
/// holds the token's stored hash.
const TOKEN_INDEX: &[u8] = b"token-index\0";
/// Aux key whose presence says the token index covers every token.
const TOKEN_INDEX_BUILT: &[u8] = b"token-index-built";

fn token_index_prefix(tenant: &str) -> Vec<u8> {
    [TOKEN_INDEX, tenant.as_bytes(), &[SEP]].concat()
}

fn token_index_key(tenant: &str, id: &str) -> Vec<u8> {
    [&token_index_prefix(tenant)[..], id.as_bytes()].concat()
}

/// The hash bytes a public token id names: 12 lowercase hex digits.
fn id_prefix(id: &str) -> Option<Vec<u8>> {
    if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    hex::decode(id).ok()
}
