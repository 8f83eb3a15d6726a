//! Signed receipts (docs/formats.md §8.2): the log's signed statement
//! that it logged the event whose RFC 8785 canonical JSON hashes to
//! `content`, for `tenant`, at `index`, as the leaf `leaf_hash`, at
//! `ledger_time`. A C2SP signed note by the log key; checking it needs the
//! log's verifier key and the event as submitted, nothing secret. Since
//! evidence v2 a leaf is a commitment salted by the ledger, which the
//! submitter cannot recompute: this is its v2 check of its own event.

use serde_json::Value;

use crate::error::VerifyError;
use crate::hash::Hash;
use crate::jcs;
use crate::note::{Note, NoteVerifier};

/// First line of a signed receipt's text. It keeps the note apart from
/// the other texts the log key signs: a checkpoint's second line is a
/// decimal size (here it is the origin), an attestation message is JSON.
pub const RECEIPT_HEADER: &str = "evidence-ledger/receipt/v1";

/// What a signed receipt states (its eight lines after the header).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptStatement {
    /// The log's origin (its key name).
    pub origin: String,
    /// The tenant of the submitting token.
    pub tenant: String,
    /// The event's id.
    pub event_id: String,
    /// SHA-256 of the canonical JSON of the event as submitted.
    pub content: Hash,
    /// Index of the event's leaf.
    pub index: u64,
    /// RFC 9162 leaf hash of that leaf.
    pub leaf_hash: Hash,
    /// The leaf's ledger time.
    pub ledger_time: String,
}

/// SHA-256 of the RFC 8785 canonical JSON of `event`, every member
/// included (formats.md §8.2 step 3).
pub fn event_content(event: &Value) -> Hash {
    Hash::digest(&jcs::to_canonical(event))
}

fn bad(reason: impl Into<String>) -> VerifyError {
    VerifyError::malformed("signed receipt", reason)
}

impl ReceiptStatement {
    /// The note text the log signs.
    pub fn text(&self) -> String {
        format!(
            "{RECEIPT_HEADER}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n",
            self.origin,
            self.tenant,
            self.event_id,
            self.content.to_base64(),
            self.index,
            self.leaf_hash.to_base64(),
            self.ledger_time
        )
    }

    /// Parses a note text: exactly the header and seven lines.
    pub fn parse(text: &str) -> Result<ReceiptStatement, VerifyError> {
        let body = text.strip_suffix('\n').ok_or_else(|| bad("no final newline"))?;
        let lines: Vec<&str> = body.split('\n').collect();
        let [header, origin, tenant, event_id, content, index, leaf_hash, ledger_time] =
            lines.as_slice()
        else {
            return Err(bad(format!("{} lines instead of 8", lines.len())));
        };
        if *header != RECEIPT_HEADER {
            return Err(bad(format!("first line is not {RECEIPT_HEADER}")));
        }
        let decimal = !index.is_empty()
            && index.bytes().all(|b| b.is_ascii_digit())
            && (index.len() == 1 || !index.starts_with('0'));
        let index = index.parse().ok().filter(|_| decimal).ok_or_else(|| bad("index"))?;
        Ok(ReceiptStatement {
            origin: origin.to_string(),
            tenant: tenant.to_string(),
            event_id: event_id.to_string(),
            content: Hash::from_base64(content)?,
            index,
            leaf_hash: Hash::from_base64(leaf_hash)?,
            ledger_time: ledger_time.to_string(),
        })
    }

    /// formats.md §8.2 steps 1 to 3: the note verifies with `log`, states
    /// `log`'s origin, `tenant`, and the id and content hash of `event`
    /// (the object as submitted). Steps 4 to 6 compare the answer with
    /// the receipt's members and its proof.
    pub fn verify(
        note: &[u8],
        log: &NoteVerifier,
        tenant: &str,
        event: &Value,
    ) -> Result<ReceiptStatement, VerifyError> {
        let note = Note::parse(note)?;
        log.verify_note(&note)?;
        let s = ReceiptStatement::parse(&note.text)?;
        let mismatch = |what: &str| Err(VerifyError::invalid("signed receipt", what.to_string()));
        if s.origin != log.name {
            return mismatch("another log's origin");
        }
        if s.tenant != tenant {
            return mismatch("another tenant");
        }
        if Some(s.event_id.as_str()) != event.get("event_id").and_then(Value::as_str) {
            return mismatch("another event_id");
        }
        if s.content != event_content(event) {
            return mismatch("another event content");
        }
        Ok(s)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::note::NoteSigner;
    use ed25519_dalek::SigningKey;

    fn statement(event: &Value) -> ReceiptStatement {
        ReceiptStatement {
            origin: "log.example".into(),
            tenant: "acme".into(),
            event_id: "ev-1".into(),
            content: event_content(event),
            index: 7,
            leaf_hash: Hash::digest(b"leaf"),
            ledger_time: "2026-03-01T09:00:00.001250Z".into(),
        }
    }

    #[test]
    fn a_receipt_verifies_for_its_event_only() {
        let signer = NoteSigner::new("log.example", SigningKey::from_bytes(&[1; 32])).unwrap();
        let event = serde_json::json!({"event_id": "ev-1", "kind": "registered"});
        let s = statement(&event);
        let mut note = Note::new(&s.text()).unwrap();
        note.signatures.push(signer.sign(&note.text));
        let bytes = note.to_bytes();
        let log = signer.verifier();
        assert_eq!(ReceiptStatement::verify(&bytes, &log, "acme", &event).unwrap(), s);
        // Member order does not matter; any value does.
        let reordered: Value =
            serde_json::from_str(r#"{"kind":"registered","event_id":"ev-1"}"#).unwrap();
        assert!(ReceiptStatement::verify(&bytes, &log, "acme", &reordered).is_ok());
        let other = serde_json::json!({"event_id": "ev-1", "kind": "signed"});
        assert!(ReceiptStatement::verify(&bytes, &log, "acme", &other).is_err());
        assert!(ReceiptStatement::verify(&bytes, &log, "globex", &event).is_err());
        let stranger = NoteSigner::new("log.example", SigningKey::from_bytes(&[9; 32])).unwrap();
        assert!(ReceiptStatement::verify(&bytes, &stranger.verifier(), "acme", &event).is_err());
    }

    #[test]
    fn parse_refuses_what_is_not_a_receipt() {
        let s = statement(&serde_json::json!({}));
        assert_eq!(ReceiptStatement::parse(&s.text()).unwrap(), s);
        for bad in [
            s.text().replace(RECEIPT_HEADER, "evidence-ledger/receipt/v2"),
            s.text().replace("\n7\n", "\n07\n"),
            s.text().replace("\n7\n", "\n-7\n"),
            s.text().trim_end().to_string(),
            format!("{}extra\n", s.text()),
            "log.example\n3\nAAAA\n".to_string(),
        ] {
            assert!(ReceiptStatement::parse(&bad).is_err(), "{bad:?}");
        }
    }
}
