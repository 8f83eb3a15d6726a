//! C2SP tlog-checkpoint bodies and signed checkpoints.
//! STUB: signatures fixed; bodies to be written.

use crate::note::{Note, NoteSigner, NoteVerifier};
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

impl Checkpoint {
    /// The note text of this checkpoint.
    pub fn body(&self) -> String {
        unimplemented!()
    }
    /// Parses a checkpoint body (the note text).
    pub fn parse_body(text: &str) -> Result<Checkpoint, VerifyError> {
        let _ = text;
        unimplemented!()
    }
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
    pub fn sign(checkpoint: Checkpoint, signer: &NoteSigner) -> SignedCheckpoint {
        let _ = (checkpoint, signer);
        unimplemented!()
    }
    /// Parses a signed note and its checkpoint body; checks no signature.
    pub fn parse(bytes: &[u8]) -> Result<SignedCheckpoint, VerifyError> {
        let _ = bytes;
        unimplemented!()
    }
    /// Parses and verifies the log's signature; the origin must equal the key name.
    pub fn verify(bytes: &[u8], log: &NoteVerifier) -> Result<SignedCheckpoint, VerifyError> {
        let _ = (bytes, log);
        unimplemented!()
    }
    /// The note bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.note.to_bytes()
    }
}
