//! C2SP tlog-cosignature v1 (<https://c2sp.org/tlog-cosignature>): Ed25519
//! cosignatures (type 0x04) over `cosignature/v1\ntime <unix>\n` +
//! checkpoint body.
//!
//! This module owns the cosigned message, the `timestamped_signature`
//! encoding and its checks; witness policy (which witnesses, how many) is the
//! caller's.

use ed25519_dalek::{Signer as _, SigningKey};

pub use crate::note::ALG_COSIGNATURE_V1;
use crate::note::{format_vkey, is_valid_key_name, key_id, Note, NoteSignature, NoteVerifier};
use crate::VerifyError;

/// Length of a cosignature/v1 `timestamped_signature`: u64 timestamp and a
/// 64-byte Ed25519 signature.
pub const COSIGNATURE_V1_LEN: usize = 8 + 64;
/// Largest timestamp the spec allows (2^63 - 1).
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// The message a witness signs: `cosignature/v1\ntime <timestamp>\n` + body
/// (C2SP tlog-cosignature §Ed25519 signed message).
pub fn cosignature_message(checkpoint_body: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_body}").into_bytes()
}

/// A witness's cosigning key.
pub struct CosignatureSigner {
    name: String,
    key: SigningKey,
}

impl CosignatureSigner {
    /// Fails if `name` is not a valid key name.
    pub fn new(name: &str, key: SigningKey) -> Result<CosignatureSigner, VerifyError> {
        if !is_valid_key_name(name) {
            return Err(VerifyError::invalid(
                "key name",
                format!("{name:?} is not a valid key name"),
            ));
        }
        Ok(CosignatureSigner { name: name.to_owned(), key })
    }
    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The key ID, SHA-256(name || 0x0A || 0x04 || pubkey)[:4] (C2SP
    /// tlog-cosignature §Format).
    pub fn key_id(&self) -> [u8; 4] {
        key_id(&self.name, ALG_COSIGNATURE_V1, self.key.verifying_key().as_bytes())
    }
    /// The vkey `<name>+<hex id>+<base64(0x04 || pubkey)>`.
    pub fn vkey(&self) -> String {
        format_vkey(&self.name, ALG_COSIGNATURE_V1, self.key.verifying_key().as_bytes())
    }
    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_id: self.key_id(),
            alg: ALG_COSIGNATURE_V1,
            key: self.key.verifying_key(),
        }
    }
    /// Cosigns a checkpoint body at `timestamp` (unix seconds); the signature
    /// bytes are the 8-byte big-endian timestamp then the Ed25519 signature.
    /// Verifiers reject timestamps above [`MAX_TIMESTAMP`].
    pub fn cosign(&self, checkpoint_body: &str, timestamp: u64) -> NoteSignature {
        let sig = self.key.sign(&cosignature_message(checkpoint_body, timestamp));
        let mut signature = Vec::with_capacity(COSIGNATURE_V1_LEN);
        signature.extend_from_slice(&timestamp.to_be_bytes());
        signature.extend_from_slice(&sig.to_bytes());
        NoteSignature { name: self.name.clone(), key_id: self.key_id(), signature }
    }
}

/// Verifies a cosignature/v1 line by `witness` over `checkpoint_body`,
/// returning its timestamp (C2SP tlog-cosignature §Format, §Ed25519 signed
/// message).
pub fn verify_cosignature(
    witness: &NoteVerifier,
    checkpoint_body: &str,
    sig: &NoteSignature,
) -> Result<u64, VerifyError> {
    if witness.alg != ALG_COSIGNATURE_V1 {
        return Err(VerifyError::UnknownKey(format!(
            "{}: key type {:#04x} is not a cosignature/v1 key",
            witness.name, witness.alg
        )));
    }
    if !witness.matches(sig) {
        return Err(VerifyError::UnknownKey(format!("signature line is not by {}", witness.name)));
    }
    let (timestamp, ed25519) = split_timestamped_signature(&witness.name, &sig.signature)?;
    witness.verify_ed25519(&cosignature_message(checkpoint_body, timestamp), ed25519)?;
    Ok(timestamp)
}

/// Finds `witness`'s cosignature lines in a note and verifies them over the
/// note's text, returning the timestamp of the first. Lines by other keys are
/// ignored; every matching line must verify.
pub fn verify_cosigned_note(witness: &NoteVerifier, note: &Note) -> Result<u64, VerifyError> {
    let mut first = None;
    for sig in note.signatures.iter().filter(|s| witness.matches(s)) {
        let ts = verify_cosignature(witness, &note.text, sig)?;
        first.get_or_insert(ts);
    }
    first.ok_or_else(|| VerifyError::UnknownKey(format!("no cosignature by {}", witness.name)))
}

/// Splits a `timestamped_signature` into its timestamp and Ed25519 signature.
fn split_timestamped_signature<'a>(
    name: &str,
    raw: &'a [u8],
) -> Result<(u64, &'a [u8]), VerifyError> {
    if raw.len() != COSIGNATURE_V1_LEN {
        return Err(VerifyError::BadSignature(format!(
            "{name}: cosignature is {} bytes, expected {COSIGNATURE_V1_LEN}",
            raw.len()
        )));
    }
    let (ts, ed25519) = raw.split_at(8);
    let ts = <[u8; 8]>::try_from(ts)
        .map(u64::from_be_bytes)
        .map_err(|_| VerifyError::BadSignature(format!("{name}: cosignature timestamp")))?;
    if ts > MAX_TIMESTAMP {
        return Err(VerifyError::BadSignature(format!("{name}: timestamp {ts} exceeds 2^63-1")));
    }
    Ok((ts, ed25519))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

    fn witness(seed: u8) -> CosignatureSigner {
        CosignatureSigner::new("witness.example/w1", SigningKey::from_bytes(&[seed; 32]))
            .expect("name")
    }

    #[test]
    fn message_matches_spec_layout() {
        let m = cosignature_message("o\n1\nr\n", 1679315147);
        assert_eq!(m, b"cosignature/v1\ntime 1679315147\no\n1\nr\n");
    }

    #[test]
    fn cosign_verify_round_trip() {
        let w = witness(1);
        let v = NoteVerifier::from_vkey(&w.vkey()).expect("vkey");
        assert_eq!(v, w.verifier());
        let sig = w.cosign(BODY, 1_700_000_000);
        assert_eq!(sig.signature.len(), COSIGNATURE_V1_LEN);
        assert_eq!(verify_cosignature(&v, BODY, &sig), Ok(1_700_000_000));
        let note = Note { text: BODY.to_owned(), signatures: vec![sig] };
        let parsed = Note::parse(&note.to_bytes()).expect("parse");
        assert_eq!(verify_cosigned_note(&v, &parsed), Ok(1_700_000_000));
    }

    #[test]
    fn rejects_wrong_body_time_key_and_type() {
        let w = witness(1);
        let v = w.verifier();
        let sig = w.cosign(BODY, 10);
        assert!(verify_cosignature(&v, &BODY.replace('5', "6"), &sig).is_err());
        let mut later = sig.clone();
        later.signature[7] = 11;
        assert!(matches!(verify_cosignature(&v, BODY, &later), Err(VerifyError::BadSignature(_))));
        assert!(verify_cosignature(&witness(2).verifier(), BODY, &sig).is_err());
        let note_key = NoteVerifier { alg: crate::note::ALG_ED25519, ..v.clone() };
        assert!(verify_cosignature(&note_key, BODY, &sig).is_err());
        // A cosignature key must not verify plain notes.
        let note = Note { text: BODY.to_owned(), signatures: vec![sig] };
        assert!(v.verify_note(&note).is_err());
    }

    #[test]
    fn rejects_bad_lengths_and_huge_timestamps() {
        let w = witness(1);
        let v = w.verifier();
        let mut short = w.cosign(BODY, 10);
        short.signature.pop();
        assert!(verify_cosignature(&v, BODY, &short).is_err());
        let huge = w.cosign(BODY, MAX_TIMESTAMP + 1);
        assert!(verify_cosignature(&v, BODY, &huge).is_err());
        let max = w.cosign(BODY, MAX_TIMESTAMP);
        assert_eq!(verify_cosignature(&v, BODY, &max), Ok(MAX_TIMESTAMP));
    }

    #[test]
    fn note_and_cosignature_key_ids_differ() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let a = crate::note::NoteSigner::new("n", key.clone()).expect("name");
        let b = CosignatureSigner::new("n", key).expect("name");
        assert_ne!(a.key_id(), b.key_id());
    }
}
