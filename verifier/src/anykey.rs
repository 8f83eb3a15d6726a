//! A verifier key of either suite: Ed25519 (signed-note 0x01, cosignature
//! 0x04) or SM2 (0xff types, docs/witness-protocol.md), for code that takes
//! a vkey without knowing the log's suite in advance.
//!
//! An issuer's key in [`crate::issuer::IssuerKeys`] is one of these too:
//! an Ed25519 key (as a 0x01 note key named after the issuer) or an SM2
//! key (an `sm2-sm3` log's own key, under `evidence-ledger`), so that the
//! attestation check has one dispatch for both suites.
//!
//! This module owns only the dispatch; the algorithms live in
//! [`crate::note`], [`crate::cosignature`], [`crate::sm2note`] and
//! [`crate::entry::verify_attestation`].

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use crate::checkpoint::SignedCheckpoint;
use crate::cosignature::{verify_cosignature, verify_cosigned_note, ALG_COSIGNATURE_V1};
use crate::entry::verify_attestation;
use crate::note::{key_id, Note, NoteSignature, NoteVerifier, ALG_ED25519, MAX_VKEY_SIZE};
use crate::sm2note::{Sm2KeyType, Sm2Verifier};
use crate::suite::Suite;
use crate::VerifyError;

/// A parsed vkey of either suite.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnyVerifier {
    /// Ed25519: a note key (0x01) or a cosignature/v1 key (0x04).
    Ed25519(NoteVerifier),
    /// SM2: a note key or a cosignature key.
    Sm2(Sm2Verifier),
}

impl AnyVerifier {
    /// Parses a vkey of either suite (the type after the second `+` tells).
    pub fn from_vkey(vkey: &str) -> Result<AnyVerifier, VerifyError> {
        if vkey.len() > MAX_VKEY_SIZE {
            return Err(VerifyError::TooLarge {
                what: "vkey",
                size: vkey.len(),
                limit: MAX_VKEY_SIZE,
            });
        }
        let material = vkey.splitn(3, '+').nth(2).unwrap_or_default();
        let first = BASE64.decode(material).ok().and_then(|m| m.first().copied());
        if first == Some(0xff) {
            Sm2Verifier::from_vkey(vkey).map(AnyVerifier::Sm2)
        } else {
            NoteVerifier::from_vkey(vkey).map(AnyVerifier::Ed25519)
        }
    }

    /// An issuer's Ed25519 key, named after the issuer (a 0x01 key: the
    /// key ID is computed as for a note key, and is not used).
    pub fn ed25519_issuer(name: &str, key: ed25519_dalek::VerifyingKey) -> AnyVerifier {
        let key_id = key_id(name, ALG_ED25519, key.as_bytes());
        AnyVerifier::Ed25519(NoteVerifier { name: name.to_owned(), key_id, alg: ALG_ED25519, key })
    }

    /// One attestation signature over `message` by this key: Ed25519 by
    /// the strict rule of [`verify_attestation`], SM2 as 64 bytes `r || s`
    /// under the default distinguishing identifier.
    pub fn verify_attestation(&self, message: &[u8], sig: &[u8; 64]) -> Result<(), VerifyError> {
        match self {
            AnyVerifier::Ed25519(v) => verify_attestation(&v.key, message, sig),
            AnyVerifier::Sm2(v) => v.verify_raw(message, sig),
        }
    }

    /// The public key as a report shows it: standard base64 of the 32
    /// Ed25519 bytes, or the SM2 vkey.
    pub fn key_text(&self) -> String {
        match self {
            AnyVerifier::Ed25519(v) => BASE64.encode(v.key.as_bytes()),
            AnyVerifier::Sm2(v) => v.to_vkey(),
        }
    }

    /// The suite the key belongs to.
    pub fn suite(&self) -> Suite {
        match self {
            AnyVerifier::Ed25519(_) => Suite::Ed25519Sha256,
            AnyVerifier::Sm2(_) => Suite::Sm2Sm3,
        }
    }

    /// The key name.
    pub fn name(&self) -> &str {
        match self {
            AnyVerifier::Ed25519(v) => &v.name,
            AnyVerifier::Sm2(v) => &v.name,
        }
    }

    /// The key ID.
    pub fn key_id(&self) -> [u8; 4] {
        match self {
            AnyVerifier::Ed25519(v) => v.key_id,
            AnyVerifier::Sm2(v) => v.key_id,
        }
    }

    /// Whether this is a witness's cosigning key (0x04 or SM2 cosignature).
    pub fn is_cosigner(&self) -> bool {
        match self {
            AnyVerifier::Ed25519(v) => v.alg == ALG_COSIGNATURE_V1,
            AnyVerifier::Sm2(v) => v.kind == Sm2KeyType::Cosignature,
        }
    }

    /// The vkey string.
    pub fn to_vkey(&self) -> String {
        match self {
            AnyVerifier::Ed25519(v) => v.to_vkey(),
            AnyVerifier::Sm2(v) => v.to_vkey(),
        }
    }

    /// Whether a signature line names this key.
    pub fn matches(&self, sig: &NoteSignature) -> bool {
        match self {
            AnyVerifier::Ed25519(v) => v.matches(sig),
            AnyVerifier::Sm2(v) => v.matches(sig),
        }
    }

    /// The note carries a valid note signature by this key.
    pub fn verify_note(&self, note: &Note) -> Result<(), VerifyError> {
        match self {
            AnyVerifier::Ed25519(v) => v.verify_note(note),
            AnyVerifier::Sm2(v) => v.verify_note(note),
        }
    }

    /// One cosignature line over `checkpoint_body`; returns its timestamp.
    pub fn verify_cosignature(
        &self,
        checkpoint_body: &str,
        sig: &NoteSignature,
    ) -> Result<u64, VerifyError> {
        match self {
            AnyVerifier::Ed25519(v) => verify_cosignature(v, checkpoint_body, sig),
            AnyVerifier::Sm2(v) => v.verify_cosignature(checkpoint_body, sig),
        }
    }

    /// This witness's cosignature lines in `note`; the first timestamp.
    pub fn verify_cosigned_note(&self, note: &Note) -> Result<u64, VerifyError> {
        match self {
            AnyVerifier::Ed25519(v) => verify_cosigned_note(v, note),
            AnyVerifier::Sm2(v) => v.verify_cosigned_note(note),
        }
    }

    /// Parses a signed checkpoint and verifies the log's signature by this
    /// key, whose name must be the origin (as [`SignedCheckpoint::verify`]).
    pub fn verify_checkpoint(&self, bytes: &[u8]) -> Result<SignedCheckpoint, VerifyError> {
        if let AnyVerifier::Ed25519(v) = self {
            return SignedCheckpoint::verify(bytes, v);
        }
        let signed = SignedCheckpoint::parse(bytes)?;
        if signed.checkpoint.origin != self.name() {
            return Err(VerifyError::UnknownKey(format!(
                "checkpoint origin {:?} is not the log key name {:?}",
                signed.checkpoint.origin,
                self.name()
            )));
        }
        self.verify_note(&signed.note)?;
        Ok(signed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Checkpoint;
    use crate::sm2note::Sm2Signer;

    #[test]
    fn either_suite_parses_and_verifies_its_checkpoints() {
        let sm = Sm2Signer::from_secret("log.example/sm", Sm2KeyType::Note, &[5; 32]).expect("k");
        let v = AnyVerifier::from_vkey(&sm.vkey()).expect("vkey");
        assert_eq!(v.suite(), Suite::Sm2Sm3);
        let cp = Checkpoint {
            origin: "log.example/sm".into(),
            size: 0,
            root: Suite::Sm2Sm3.empty_root(),
            extensions: vec![],
        };
        let text = cp.body();
        let note = Note { signatures: vec![sm.sign(&text).expect("sign")], text };
        assert!(v.verify_checkpoint(&note.to_bytes()).is_ok());
        let ed = crate::note::NoteSigner::new(
            "log.example/sm",
            ed25519_dalek::SigningKey::from_bytes(&[5; 32]),
        )
        .expect("k");
        let e = AnyVerifier::from_vkey(&ed.vkey()).expect("vkey");
        assert_eq!(e.suite(), Suite::Ed25519Sha256);
        assert!(e.verify_checkpoint(&note.to_bytes()).is_err());
    }
}
