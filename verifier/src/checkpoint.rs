//! C2SP tlog-checkpoint (<https://c2sp.org/tlog-checkpoint>) bodies and
//! signed checkpoints.
//!
//! This module owns the three-line body format and the rule that the log
//! signs its checkpoints under its origin; the note format itself lives in
//! [`crate::note`].

use crate::note::{Note, NoteSigner, NoteVerifier, MAX_NOTE_SIZE};
use crate::{Hash, VerifyError};

/// A checkpoint body: `<origin>\n<size>\n<base64 root>\n` plus extension lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin (also its key name).
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// Extension lines (without newline), usually none.
    pub extensions: Vec<String>,
}

fn bad(reason: impl Into<String>) -> VerifyError {
    VerifyError::malformed("checkpoint", reason)
}

impl Checkpoint {
    /// The note text of this checkpoint (C2SP tlog-checkpoint §Note text).
    pub fn body(&self) -> String {
        let mut s = format!("{}\n{}\n{}\n", self.origin, self.size, self.root.to_base64());
        for ext in &self.extensions {
            s.push_str(ext);
            s.push('\n');
        }
        s
    }

    /// Parses a checkpoint body (the note text), C2SP tlog-checkpoint §Note
    /// text: non-empty origin, decimal size without leading zeros, base64 of
    /// a 32-byte root, then non-empty extension lines; each line ends in a
    /// newline.
    pub fn parse_body(text: &str) -> Result<Checkpoint, VerifyError> {
        if text.len() > MAX_NOTE_SIZE {
            return Err(VerifyError::TooLarge {
                what: "checkpoint",
                size: text.len(),
                limit: MAX_NOTE_SIZE,
            });
        }
        if text.chars().any(|c| c < ' ' && c != '\n') {
            return Err(bad("control character"));
        }
        let lines = text.strip_suffix('\n').ok_or_else(|| bad("does not end in a newline"))?;
        let mut lines = lines.split('\n');
        let origin = lines.next().filter(|o| !o.is_empty()).ok_or_else(|| bad("empty origin"))?;
        let size = parse_size(lines.next().ok_or_else(|| bad("missing tree size"))?)?;
        let root_line = lines.next().ok_or_else(|| bad("missing root hash"))?;
        let root = Hash::from_base64(root_line).map_err(|e| bad(format!("root hash: {e}")))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(bad("empty extension line"));
        }
        Ok(Checkpoint { origin: origin.to_owned(), size, root, extensions })
    }
}

/// ASCII decimal with no leading zeros (except "0" itself), within u64.
fn parse_size(s: &str) -> Result<u64, VerifyError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("tree size is not a decimal number"));
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(bad("tree size has a leading zero"));
    }
    s.parse::<u64>().map_err(|_| bad("tree size out of range"))
}

/// A checkpoint and the note that carries it (log signature + cosignatures).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The parsed body.
    pub checkpoint: Checkpoint,
    /// The note, with all its signature lines.
    pub note: Note,
}

impl SignedCheckpoint {
    /// Signs a checkpoint with the log key.
    ///
    /// The signer's name should be the origin and the checkpoint well formed;
    /// [`SignedCheckpoint::try_sign`] checks both, and
    /// [`SignedCheckpoint::verify`] rejects checkpoints that break them.
    pub fn sign(checkpoint: Checkpoint, signer: &NoteSigner) -> SignedCheckpoint {
        let text = checkpoint.body();
        let signatures = vec![signer.sign(&text)];
        SignedCheckpoint { checkpoint, note: Note { text, signatures } }
    }

    /// Like [`SignedCheckpoint::sign`], but first checks that the body
    /// parses back to `checkpoint` and that the signer's name is the origin.
    pub fn try_sign(
        checkpoint: Checkpoint,
        signer: &NoteSigner,
    ) -> Result<SignedCheckpoint, VerifyError> {
        if checkpoint.origin != signer.name() {
            return Err(VerifyError::invalid("origin", "log key name differs from origin"));
        }
        if Checkpoint::parse_body(&checkpoint.body())? != checkpoint {
            return Err(bad("fields do not round-trip through the body"));
        }
        Ok(SignedCheckpoint::sign(checkpoint, signer))
    }

    /// Parses a signed note and its checkpoint body; checks no signature.
    pub fn parse(bytes: &[u8]) -> Result<SignedCheckpoint, VerifyError> {
        let note = Note::parse(bytes)?;
        let checkpoint = Checkpoint::parse_body(&note.text)?;
        Ok(SignedCheckpoint { checkpoint, note })
    }

    /// Parses and verifies the log's signature; the origin must equal the key
    /// name (C2SP tlog-checkpoint §Signatures). Other signature lines
    /// (cosignatures, unknown keys) are ignored here.
    pub fn verify(bytes: &[u8], log: &NoteVerifier) -> Result<SignedCheckpoint, VerifyError> {
        let signed = SignedCheckpoint::parse(bytes)?;
        if signed.checkpoint.origin != log.name {
            return Err(VerifyError::UnknownKey(format!(
                "checkpoint origin {:?} is not the log key name {:?}",
                signed.checkpoint.origin, log.name
            )));
        }
        log.verify_note(&signed.note)?;
        Ok(signed)
    }

    /// The note bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.note.to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use ed25519_dalek::SigningKey;

    fn checkpoint(origin: &str, size: u64) -> Checkpoint {
        Checkpoint { origin: origin.to_owned(), size, root: leaf_hash(b"r"), extensions: vec![] }
    }

    fn signer(name: &str) -> NoteSigner {
        NoteSigner::new(name, SigningKey::from_bytes(&[7; 32])).expect("valid name")
    }

    #[test]
    fn body_round_trips() {
        let mut c = checkpoint("example.com/log", 12345);
        assert_eq!(Checkpoint::parse_body(&c.body()), Ok(c.clone()));
        c.extensions = vec!["ext one".to_owned(), "x".to_owned()];
        assert_eq!(Checkpoint::parse_body(&c.body()), Ok(c.clone()));
        c.size = u64::MAX;
        assert_eq!(Checkpoint::parse_body(&c.body()), Ok(c));
        let empty = Checkpoint { root: Hash::empty_root(), ..checkpoint("o", 0) };
        assert_eq!(Checkpoint::parse_body(&empty.body()), Ok(empty));
    }

    #[test]
    fn parse_body_is_strict() {
        let root = leaf_hash(b"r").to_base64();
        for bad in [
            format!("o\n1\n{root}"),
            format!("\n1\n{root}\n"),
            format!("o\n01\n{root}\n"),
            format!("o\n+1\n{root}\n"),
            format!("o\n-1\n{root}\n"),
            format!("o\n 1\n{root}\n"),
            format!("o\n\n{root}\n"),
            format!("o\n18446744073709551616\n{root}\n"),
            "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".to_owned(),
            format!("o\n1\n{}\n", root.trim_end_matches('=')),
            "o\n1\nAAAA\n".to_owned(),
            format!("o\n1\n{root}\n\n"),
            format!("o\n1\n{root}\next\n\n"),
            format!("o\n1\n{root}\r\n"),
            "o\n1\n".to_owned(),
        ] {
            assert!(Checkpoint::parse_body(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sign_parse_verify() {
        let log = signer("example.com/log");
        let signed =
            SignedCheckpoint::try_sign(checkpoint("example.com/log", 9), &log).expect("sign");
        let bytes = signed.to_bytes();
        assert_eq!(SignedCheckpoint::parse(&bytes), Ok(signed.clone()));
        assert_eq!(SignedCheckpoint::verify(&bytes, &log.verifier()), Ok(signed));
    }

    #[test]
    fn verify_requires_origin_to_be_the_key_name() {
        let log = signer("other");
        assert!(SignedCheckpoint::try_sign(checkpoint("example.com/log", 9), &log).is_err());
        let signed = SignedCheckpoint::sign(checkpoint("example.com/log", 9), &log);
        let err = SignedCheckpoint::verify(&signed.to_bytes(), &log.verifier());
        assert!(matches!(err, Err(VerifyError::UnknownKey(_))));
    }

    #[test]
    fn verify_rejects_tampered_body() {
        let log = signer("o");
        let signed = SignedCheckpoint::sign(checkpoint("o", 9), &log);
        let bytes =
            String::from_utf8(signed.to_bytes()).expect("utf8").replacen("\n9\n", "\n8\n", 1);
        let err = SignedCheckpoint::verify(bytes.as_bytes(), &log.verifier());
        assert!(matches!(err, Err(VerifyError::BadSignature(_))));
    }
}
