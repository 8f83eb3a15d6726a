//! C2SP tlog-cosignature v1: Ed25519 cosignatures (type 0x04) over
//! `cosignature/v1\ntime <unix>\n` + checkpoint body.
//! STUB: signatures fixed; bodies to be written.

use ed25519_dalek::SigningKey;

use crate::note::{NoteSignature, NoteVerifier};
use crate::VerifyError;

/// Signature type byte of a cosignature/v1 key.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

/// The message a witness signs: `cosignature/v1\ntime <timestamp>\n` + body.
pub fn cosignature_message(checkpoint_body: &str, timestamp: u64) -> Vec<u8> {
    let _ = (checkpoint_body, timestamp);
    unimplemented!()
}

/// A witness's cosigning key.
pub struct CosignatureSigner {
    name: String,
    key: SigningKey,
}

impl CosignatureSigner {
    /// Fails if `name` is not a valid key name.
    pub fn new(name: &str, key: SigningKey) -> Result<CosignatureSigner, VerifyError> {
        let _ = (name, key);
        unimplemented!()
    }
    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The vkey `<name>+<hex id>+<base64(0x04 || pubkey)>`.
    pub fn vkey(&self) -> String {
        let _ = &self.key;
        unimplemented!()
    }
    /// Cosigns a checkpoint body at `timestamp` (unix seconds); the signature
    /// bytes are the 8-byte big-endian timestamp then the Ed25519 signature.
    pub fn cosign(&self, checkpoint_body: &str, timestamp: u64) -> NoteSignature {
        let _ = (checkpoint_body, timestamp);
        unimplemented!()
    }
}

/// Verifies a cosignature/v1 line by `witness` over `checkpoint_body`,
/// returning its timestamp.
pub fn verify_cosignature(
    witness: &NoteVerifier,
    checkpoint_body: &str,
    sig: &NoteSignature,
) -> Result<u64, VerifyError> {
    let _ = (witness, checkpoint_body, sig);
    unimplemented!()
}
