//! C2SP signed-note: parsing, Ed25519 signing (type 0x01), key IDs and
//! verifier keys (vkeys). STUB: signatures fixed; bodies to be written.

use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::VerifyError;

/// Largest note accepted by [`Note::parse`].
pub const MAX_NOTE_SIZE: usize = 64 * 1024;
/// Signature type byte of an Ed25519 signed-note key (C2SP signed-note).
pub const ALG_ED25519: u8 = 0x01;

/// One signature line of a note: `— <name> <base64(key id || signature)>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    /// The 4-byte key ID.
    pub key_id: [u8; 4],
    /// Signature bytes after the key ID (64 for Ed25519, 72 for cosignature/v1).
    pub signature: Vec<u8>,
}

/// A signed note: text (ending in a newline) and its signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The signed text, including its final newline.
    pub text: String,
    /// Signature lines, in order.
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parses a note, capping its size first.
    pub fn parse(bytes: &[u8]) -> Result<Note, VerifyError> {
        let _ = bytes;
        unimplemented!()
    }

    /// Serializes the note: text, a blank line, then signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        unimplemented!()
    }
}

/// C2SP signed-note key ID: SHA-256(name || 0x0A || alg || pubkey)[:4].
pub fn key_id(name: &str, alg: u8, public_key: &[u8; 32]) -> [u8; 4] {
    let _ = (name, alg, public_key);
    unimplemented!()
}

/// Signs notes with an Ed25519 key under a key name (the log's origin).
pub struct NoteSigner {
    name: String,
    key: SigningKey,
}

impl NoteSigner {
    /// Fails if `name` is not a valid key name.
    pub fn new(name: &str, key: SigningKey) -> Result<NoteSigner, VerifyError> {
        let _ = (name, key);
        unimplemented!()
    }
    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The verifier key string `<name>+<hex id>+<base64(0x01 || pubkey)>`.
    pub fn vkey(&self) -> String {
        let _ = &self.key;
        unimplemented!()
    }
    /// Signs `text` (which must end in a newline).
    pub fn sign(&self, text: &str) -> NoteSignature {
        let _ = text;
        unimplemented!()
    }
}

/// A parsed verifier key: Ed25519 note key (0x01) or cosignature/v1 key (0x04).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    /// Key name.
    pub name: String,
    /// Key ID.
    pub key_id: [u8; 4],
    /// Signature type byte.
    pub alg: u8,
    /// The public key.
    pub key: VerifyingKey,
}

impl NoteVerifier {
    /// Parses a vkey string, checking the key ID matches.
    pub fn from_vkey(vkey: &str) -> Result<NoteVerifier, VerifyError> {
        let _ = vkey;
        unimplemented!()
    }
    /// Formats the vkey string.
    pub fn to_vkey(&self) -> String {
        unimplemented!()
    }
    /// Verifies the note carries a valid Ed25519 (0x01) signature by this key.
    pub fn verify_note(&self, note: &Note) -> Result<(), VerifyError> {
        let _ = note;
        unimplemented!()
    }
}
