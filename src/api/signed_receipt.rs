//! Signed receipts (`POST /v1/events?receipt=signed`, formats.md §8.2):
//! per event, the log's signed statement that it logged the event whose
//! canonical JSON hashes to `content` at `index`, with `leaf_hash`, at
//! `ledger_time`. Since evidence v2 a leaf is a salted commitment that the
//! submitter cannot recompute (the salt is the ledger's), so this is how
//! it holds the log to its event without holding any secret: a C2SP
//! signed note by the log key, checked with the log's vkey.
//!
//! The text and its check are the verifier's (`verifier::receipt`);
//! this module signs it.

use ledger::Receipt;
use verifier::entry::Event;
use verifier::note::{Note, NoteSignature, NoteVerifier};
use verifier::receipt::{event_content, ReceiptStatement};
use verifier::Hash;

use super::AppState;
use crate::error::ApiError;

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
    events.iter().map(|e| event_content(&e.raw)).collect()
}

/// The text the log signs for one receipt (formats.md §8.2).
pub(crate) fn text(origin: &str, tenant: &str, content: &Hash, r: &Receipt) -> String {
    ReceiptStatement {
        origin: origin.to_string(),
        tenant: tenant.to_string(),
        event_id: r.event_id.clone(),
        content: *content,
        index: r.index,
        leaf_hash: r.leaf_hash,
        ledger_time: r.ledger_time.to_string(),
    }
    .text()
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
    use ed25519_dalek::{Signer as _, SigningKey};
    use std::sync::Arc;

    /// formats.md §8.2's vector: the api.md event (formats.md §12.2's),
    /// at index 1 with §12.2's leaf, signed by §10.1's test log key.
    #[test]
    fn the_formats_md_vector() {
        let event: serde_json::Value = serde_json::from_str(
            r#"{"event_id": "ev-2026-000002", "document_id": "contract-42",
                "kind": "identity_verified",
                "document_hash": "dd502c0bd832237252f314be9ba47dc611d9221bca3c8a5164855125123c9b06",
                "actor": {"id": "u-9", "display": "王*",
                          "commitment": "f9f43b0fc79f9ee4942bd1c409e9d2470bc64f3bb1faabaf4ea4bcb15c3bb69f"},
                "attestations": [{"issuer": "idp-gov", "v": 2,
                    "claim": {"method": "phone_3_factor", "result": "pass"},
                    "signature": "yP3DQ+EjYfG2CK6gGgf94WBh97pF6lfrC76jDObdwNNw2pOo8HOf5AotpfFQg9sOPKiG0oQhmdG+rGsAo85xAQ=="}],
                "identity": {"name": "王小明", "id_type": "resident_id",
                             "id_number": "11010119900307777X", "phone": "+86 138 0000 0000"}}"#,
        )
        .unwrap();
        let event = Event::from_value(event, false).unwrap();
        let content = content_hashes(std::slice::from_ref(&event))[0];
        assert_eq!(content.to_base64(), "oe+bG2Sd2LylrwYHxeeV3fnU9aRrsj1vJPD0Z5f3+uk=");
        let receipt = Receipt {
            event_id: "ev-2026-000002".into(),
            index: 1,
            leaf_hash: Hash::from_base64("gD6Nu0UojTXVPp0lcgY9Ibnb7YxNZ5Jz45KG3ZTcgCU=").unwrap(),
            ledger_time: Arc::from("2026-03-01T09:00:00.001250Z"),
            tree_size: 3,
            inclusion: Vec::new(),
            checkpoint: Arc::from(""),
            replayed: false,
        };
        let text = text("ledger.example/evidence", "acme", &content, &receipt);
        assert_eq!(
            text,
            "evidence-ledger/receipt/v1\nledger.example/evidence\nacme\nev-2026-000002\n\
             oe+bG2Sd2LylrwYHxeeV3fnU9aRrsj1vJPD0Z5f3+uk=\n1\n\
             gD6Nu0UojTXVPp0lcgY9Ibnb7YxNZ5Jz45KG3ZTcgCU=\n2026-03-01T09:00:00.001250Z\n"
        );
        let log = NoteVerifier::from_vkey(
            "ledger.example/evidence+6115c7bb+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c",
        )
        .unwrap();
        let sig = SigningKey::from_bytes(&[1; 32]).sign(text.as_bytes());
        let mut note = Note::new(&text).unwrap();
        note.signatures.push(NoteSignature {
            name: log.name.clone(),
            key_id: log.key_id,
            signature: sig.to_bytes().to_vec(),
        });
        let bytes = String::from_utf8(note.to_bytes()).unwrap();
        assert!(bytes.ends_with(
            "\n\n— ledger.example/evidence YRXHuxFXFU57r8xCUSyuG8m+ZEAXbJjuymfK0ldn3E1XwvHE6/\
             MjckDgg15gPbYd/nS9Fofq9vtdPZqny+ZvVw7GKgM=\n"
        ));
        log.verify_note(&Note::parse(bytes.as_bytes()).unwrap()).unwrap();
    }

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
