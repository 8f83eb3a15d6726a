//! The witness's cosigning key wherever it lives: `DIR/witness.key` (a
//! seed in a file) or a PKCS#11 token that `DIR/witness.pkcs11` names.
//! Both make the same C2SP tlog-cosignature/v1 lines: the token signs
//! the same message with pure Ed25519 (CKM_EDDSA).
//!
//! Owns the cosignature lines this witness makes. Calls the verifier's
//! cosignature message and key formats, and the token.

use std::sync::Arc;

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use pkcs11_keys::TokenEd25519;
use verifier::anykey::AnyVerifier;
use verifier::cosignature::cosignature_message;
use verifier::note::{is_valid_key_name, key_id, NoteSignature, NoteVerifier, ALG_COSIGNATURE_V1};
use verifier::sm2note::Sm2Signer;
use verifier::suite::Suite;

use crate::BridgeError;

/// The witness's key: Ed25519 (a file or a token), or SM2 for a witness
/// of `sm2-sm3` logs (`init --suite sm2-sm3`).
#[derive(Clone)]
pub enum WitnessKey {
    /// Read from `DIR/witness.key` (boxed: large).
    File(Box<SigningKey>),
    /// Held by a PKCS#11 token; only its public half is here.
    Token(Arc<TokenEd25519>),
    /// An SM2 cosignature key, read from `DIR/witness-sm2.key`.
    Sm2(Arc<Sm2Signer>),
}

impl WitnessKey {
    /// The Ed25519 public key; none for an SM2 key.
    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        match self {
            WitnessKey::File(k) => Some(k.verifying_key()),
            WitnessKey::Token(t) => Some(t.verifying_key()),
            WitnessKey::Sm2(_) => None,
        }
    }

    /// The suite of the logs this key cosigns.
    pub fn suite(&self) -> Suite {
        match self {
            WitnessKey::Sm2(_) => Suite::Sm2Sm3,
            _ => Suite::Ed25519Sha256,
        }
    }
}

/// Makes cosignature/v1 lines under the witness's key name.
pub struct WitnessSigner {
    name: String,
    key: WitnessKey,
}

impl WitnessSigner {
    /// Fails if `name` is not a valid key name.
    pub fn new(name: &str, key: WitnessKey) -> Result<WitnessSigner, BridgeError> {
        if !is_valid_key_name(name) {
            return Err(BridgeError::Config(format!("name: {name:?} is not a valid key name")));
        }
        Ok(WitnessSigner { name: name.to_string(), key })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The suite of the logs this witness cosigns.
    pub fn suite(&self) -> Suite {
        self.key.suite()
    }

    /// The matching verifier (type 0x04, or the SM2 cosignature type).
    pub fn verifier(&self) -> AnyVerifier {
        let key = match &self.key {
            WitnessKey::Sm2(k) => return AnyVerifier::Sm2(k.verifier()),
            WitnessKey::File(k) => k.verifying_key(),
            WitnessKey::Token(t) => t.verifying_key(),
        };
        AnyVerifier::Ed25519(NoteVerifier {
            name: self.name.clone(),
            key_id: key_id(&self.name, ALG_COSIGNATURE_V1, key.as_bytes()),
            alg: ALG_COSIGNATURE_V1,
            key,
        })
    }

    /// The vkey `<name>+<hex id>+<base64(0x04 || pubkey)>` (or the SM2 form).
    pub fn vkey(&self) -> String {
        self.verifier().to_vkey()
    }

    /// Cosigns a checkpoint body at `timestamp` (c2sp.org/tlog-cosignature
    /// §Format: the 8-byte big-endian timestamp, then the Ed25519
    /// signature). A token that fails is a storage-class error: nothing
    /// was persisted, the log retries.
    pub fn cosign(&self, body: &str, timestamp: u64) -> Result<NoteSignature, BridgeError> {
        let msg = cosignature_message(body, timestamp);
        let sig = match &self.key {
            WitnessKey::Sm2(k) => {
                return k
                    .cosign(body, timestamp)
                    .map_err(|e| BridgeError::Storage(format!("witness key: {e}")))
            }
            WitnessKey::File(k) => k.sign(&msg),
            WitnessKey::Token(t) => {
                t.sign(&msg).map_err(|e| BridgeError::Storage(format!("witness key: {e}")))?
            }
        };
        let mut signature = Vec::with_capacity(72);
        signature.extend_from_slice(&timestamp.to_be_bytes());
        signature.extend_from_slice(&sig.to_bytes());
        Ok(NoteSignature { name: self.name.clone(), key_id: self.verifier().key_id(), signature })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same line, byte for byte, as the verifier's own cosigner makes.
    #[test]
    fn cosignatures_match_the_verifiers_cosigner() {
        let key = SigningKey::from_bytes(&[4; 32]);
        let ours = WitnessSigner::new("w.example/1", WitnessKey::File(Box::new(key.clone())))
            .expect("signer");
        let theirs =
            verifier::cosignature::CosignatureSigner::new("w.example/1", key).expect("signer");
        let body = "log.example\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        assert_eq!(
            ours.cosign(body, 1_700_000_000).expect("cosign"),
            theirs.cosign(body, 1_700_000_000)
        );
        assert_eq!(ours.vkey(), theirs.vkey());
    }
}
