//! Ids: the charset of tenants, issuer names and actor ids, and the
//! document ids of the ledger's own entries (registry changes, erasures,
//! retention), which submitters may not use. Owns no state; calls only
//! the error type.

use verifier::Hash;

use crate::error::{LedgerError, Result};

/// Document ids of the service's own entries; submitters cannot use them.
pub const RESERVED_DOCUMENT_PREFIXES: [&str; 12] = [
    "issuer:",
    "issuer-sha256:",
    "token:",
    "subject:",
    "subject-sha256:",
    "retention:",
    "witness:",
    "witness-sha256:",
    "tsa:",
    "tsa-sha256:",
    "anchoring:",
    "tenant:",
];

/// Longest id: a document id, so that `issuer:<name>` fits one.
const MAX_ID: usize = 128;

/// Ids (tenants, issuer names): 1-128 chars of `[A-Za-z0-9._:-]`.
pub fn check_id(what: &str, s: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= MAX_ID
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(LedgerError::InvalidRequest(format!("{what}: 1-128 chars of [A-Za-z0-9._:-]")))
    }
}

/// The document id of a subject erasure entry.
pub fn subject_document(actor_id: &str) -> String {
    reserved_document("subject", actor_id)
}

/// The document id of an issuer's `registry_changed` entries.
pub(crate) fn issuer_document(name: &str) -> String {
    // Names longer than new ones may be were registered before logging.
    reserved_document("issuer", name)
}

/// The document id of a platform record's `registry_changed` entries
/// (`witness`, `tsa`, `anchoring`, `tenant`): `<kind>:<id>`, or
/// `<kind>-sha256:<40 hex>` when that is not an id (a witness's key name
/// holds `/`).
pub fn service_document(kind: &str, id: &str) -> String {
    let doc = format!("{kind}:{id}");
    if check_id("document_id", &doc).is_ok() {
        doc
    } else {
        format!("{kind}-sha256:{}", &Hash::digest(id.as_bytes()).to_hex()[..40])
    }
}

/// `<kind>:<id>`, or `<kind>-sha256:<40 hex>` when that is not an id.
fn reserved_document(kind: &str, id: &str) -> String {
    let doc = format!("{kind}:{id}");
    if doc.len() <= MAX_ID {
        doc
    } else {
        format!("{kind}-sha256:{}", &Hash::digest(id.as_bytes()).to_hex()[..40])
    }
}
