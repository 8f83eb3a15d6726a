//! Signed receipts (`POST /v1/events?receipt=signed`, formats.md §8.2):
//! per event, the log's signed statement that it logged the event whose
//! canonical JSON hashes to `content` at `index`, with `leaf_hash`, at
//! `ledger_time`. Since evidence v2 a leaf is a salted commitment that the
//! submitter cannot recompute (the salt is the ledger's), so this is how
//! it holds the log to its event without holding any secret: a C2SP
//! signed note by the log key, checked with the log's vkey.
//!
//! The note's first line, [`RECEIPT_HEADER`], keeps it apart from the
//! other texts the log key signs: a checkpoint's second line is a decimal
//! tree size (here it is the origin) and attestation messages are JSON
//! objects (here the text starts with a letter).

use ledger::Receipt;
use verifier::entry::Event;
use verifier::jcs;
use verifier::note::{Note, NoteSignature, NoteVerifier};
use verifier::Hash;

use super::AppState;
use crate::error::ApiError;

/// First line of a signed receipt's text.
pub(crate) const RECEIPT_HEADER: &str = "evidence-ledger/receipt/v1";

/// Whether the query asks for signed receipts: `receipt=signed`, at most
/// once. Other parameters are ignored, as `POST /v1/events` always did.
pub(crate) fn wanted(query: &str) -> Result<bool, ApiError> {
    let mut wanted = false;
    for pair in query.split('&').filter(|p| p.starts_with("receipt=") || *p == "receipt") {
        if pair != "receipt=signed" || wanted {
            let m = "receipt: the only value is receipt=signed, given once";
            return Err(ApiError::bad_request("bad_query", m));
        }
        wanted = true;
    }
    Ok(wanted)
}

/// SHA-256 of the RFC 8785 canonical JSON of each event exactly as
/// submitted (`identity` and tokens included): what the submitter
/// recomputes from the event it sent, and what idempotency compares.
pub(crate) fn content_hashes(events: &[Event]) -> Vec<Hash> {
    events.iter().map(|e| Hash::digest(&jcs::to_canonical(&e.raw))).collect()
}

/// The text the log signs for one receipt (formats.md §8.2).
pub(crate) fn text(origin: &str, tenant: &str, content: &Hash, r: &Receipt) -> String {
    format!(
        "{RECEIPT_HEADER}\n{origin}\n{tenant}\n{}\n{}\n{}\n{}\n{}\n",
        r.event_id,
        content.to_base64(),
        r.index,
        r.leaf_hash.to_base64(),
        r.ledger_time
    )
}

/// Signs one note per receipt with the log key.
pub(crate) fn sign(
    state: &AppState,
    tenant: &str,
    contents: &[Hash],
    receipts: &[Receipt],
) -> Result<Vec<String>, ApiError> {
    let log = NoteVerifier::from_vkey(state.ledger.vkey())
        .map_err(|e| ApiError::internal("log vkey", e))?;
    receipts
        .iter()
        .zip(contents)
        .map(|(r, content)| {
            let text = text(&log.name, tenant, content, r);
            let mut note = Note::new(&text).map_err(|e| ApiError::internal("receipt note", e))?;
            let sig = state.ledger.sign_with_log_key(text.as_bytes())?;
            note.signatures.push(NoteSignature {
                name: log.name.clone(),
                key_id: log.key_id,
                signature: sig.to_bytes().to_vec(),
            });
            String::from_utf8(note.to_bytes()).map_err(|e| ApiError::internal("receipt note", e))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_query_asks_once_for_signed_or_is_refused() {
        assert!(!wanted("").unwrap());
        assert!(!wanted("other=1").unwrap());
        assert!(wanted("receipt=signed").unwrap());
        assert!(wanted("x=1&receipt=signed").unwrap());
        for bad in ["receipt=yes", "receipt", "receipt=signed&receipt=signed", "receipt="] {
            assert_eq!(wanted(bad).unwrap_err().code, "bad_query", "{bad}");
        }
    }
}
