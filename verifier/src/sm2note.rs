//! SM2 in C2SP signed notes: the note signatures and cosignatures of
//! `sm2-sm3` logs (issue 26), as docs/witness-protocol.md defines them.
//!
//! signed-note reserves type `0xff` for algorithms it assigns no byte to,
//! followed by a longer identifier; ours are [`SM2_NOTE_TYPE`] (the log's
//! checkpoint signatures) and [`SM2_COSIGNATURE_TYPE`] (witness
//! cosignatures, timestamped as cosignature/v1). SM2 is GB/T 32918.2 with
//! SM3 and the default distinguishing identifier [`SM2_DEFAULT_DISTID`];
//! signatures are a fixed 64-byte `r || s`. The curve arithmetic is
//! RustCrypto's `sm2` crate; this module owns only the encodings.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use sm2::dsa::signature::{Signer as _, Verifier as _};
use sm2::dsa::{Signature, SigningKey, VerifyingKey};
use sm2::elliptic_curve::sec1::ToEncodedPoint as _;

use crate::cosignature::{cosignature_message, MAX_TIMESTAMP};
use crate::note::{is_valid_key_name, Note, NoteSignature};
use crate::VerifyError;

/// The GM/T 0009 default distinguishing identifier every key of these
/// types signs with.
pub const SM2_DEFAULT_DISTID: &str = "1234567812345678";
/// Signature type of an SM2 note signature: 0xff and the identifier.
pub const SM2_NOTE_TYPE: &[u8] = b"\xffevidence-ledger/sm2-note/v1";
/// Signature type of an SM2 cosignature (timestamped, cosignature/v1 message).
pub const SM2_COSIGNATURE_TYPE: &[u8] = b"\xffevidence-ledger/sm2-cosignature/v1";
/// Length of an uncompressed SEC1 SM2 public key (0x04 || X || Y).
pub const SM2_PUBLIC_KEY_LEN: usize = 65;
/// Length of an SM2 signature as `r || s`.
pub const SM2_SIGNATURE_LEN: usize = 64;
/// Length of an SM2 cosignature after the key ID: timestamp and `r || s`.
pub const SM2_COSIGNATURE_LEN: usize = 8 + SM2_SIGNATURE_LEN;

/// Which of the two SM2 signature types a key is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sm2KeyType {
    /// Signs note texts (a log's checkpoints): [`SM2_NOTE_TYPE`].
    Note,
    /// Cosigns checkpoints (a witness): [`SM2_COSIGNATURE_TYPE`].
    Cosignature,
}

impl Sm2KeyType {
    /// The type bytes (0xff and the identifier).
    pub fn type_bytes(self) -> &'static [u8] {
        match self {
            Sm2KeyType::Note => SM2_NOTE_TYPE,
            Sm2KeyType::Cosignature => SM2_COSIGNATURE_TYPE,
        }
    }
}

/// Key ID = SHA-256(name || 0x0A || type bytes || 65-byte key)[:4]
/// (signed-note's recommendation, with the long type).
pub fn sm2_key_id(name: &str, kind: Sm2KeyType, public_key: &[u8]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update(kind.type_bytes());
    h.update(public_key);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// The 65-byte uncompressed SEC1 encoding of a key.
pub fn sm2_public_key_bytes(key: &VerifyingKey) -> [u8; SM2_PUBLIC_KEY_LEN] {
    let point = key.to_encoded_point(false);
    let mut out = [0u8; SM2_PUBLIC_KEY_LEN];
    out.copy_from_slice(point.as_bytes());
    out
}

/// An SM2 signing key under a key name, for notes or cosignatures.
pub struct Sm2Signer {
    name: String,
    kind: Sm2KeyType,
    key: SigningKey,
}

impl Sm2Signer {
    /// Fails if `name` is not a valid key name.
    pub fn new(name: &str, kind: Sm2KeyType, key: SigningKey) -> Result<Sm2Signer, VerifyError> {
        if !is_valid_key_name(name) {
            return Err(VerifyError::invalid(
                "key name",
                format!("{name:?} is not a valid key name"),
            ));
        }
        Ok(Sm2Signer { name: name.to_owned(), kind, key })
    }

    /// A signer from the 32-byte private scalar (with the default identifier).
    pub fn from_secret(
        name: &str,
        kind: Sm2KeyType,
        secret: &[u8; 32],
    ) -> Result<Sm2Signer, VerifyError> {
        let key = SigningKey::from_slice(SM2_DEFAULT_DISTID, secret)
            .map_err(|_| VerifyError::invalid("SM2 key", "not a valid SM2 private key"))?;
        Sm2Signer::new(name, kind, key)
    }

    /// The 32-byte private scalar (for key files; keep it secret).
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.key.to_bytes().into()
    }
    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The matching verifier.
    pub fn verifier(&self) -> Sm2Verifier {
        let public_key = sm2_public_key_bytes(self.key.verifying_key());
        Sm2Verifier {
            name: self.name.clone(),
            kind: self.kind,
            key_id: sm2_key_id(&self.name, self.kind, &public_key),
            public_key,
            key: self.key.verifying_key().clone(),
        }
    }
    /// The vkey `<name>+<hex key ID>+base64(type || 65-byte key)`.
    pub fn vkey(&self) -> String {
        self.verifier().to_vkey()
    }

    /// A bare SM2 signature `r || s` over `msg` (with Z_A), for the log's
    /// own attestations.
    pub fn sign_raw(&self, msg: &[u8]) -> [u8; SM2_SIGNATURE_LEN] {
        let sig: Signature = self.key.sign(msg);
        sig.to_bytes()
    }

    /// An SM2 signature line over a note text (the log's checkpoint
    /// signature). Errors if the key is a cosignature key.
    pub fn sign(&self, text: &str) -> Result<NoteSignature, VerifyError> {
        if self.kind != Sm2KeyType::Note {
            return Err(VerifyError::invalid("SM2 key", "a cosignature key signs no notes"));
        }
        let sig: Signature = self.key.sign(text.as_bytes());
        let v = self.verifier();
        Ok(NoteSignature { name: v.name, key_id: v.key_id, signature: sig.to_bytes().to_vec() })
    }

    /// An SM2 cosignature line over a checkpoint body at `timestamp`: the
    /// signature bytes are the 8-byte big-endian timestamp then `r || s`.
    /// Errors if the key is a note key or the timestamp is above 2^63-1.
    pub fn cosign(
        &self,
        checkpoint_body: &str,
        timestamp: u64,
    ) -> Result<NoteSignature, VerifyError> {
        if self.kind != Sm2KeyType::Cosignature {
            return Err(VerifyError::invalid("SM2 key", "a note key makes no cosignatures"));
        }
        if timestamp > MAX_TIMESTAMP {
            return Err(VerifyError::invalid("timestamp", "exceeds 2^63-1"));
        }
        let sig: Signature = self.key.sign(&cosignature_message(checkpoint_body, timestamp));
        let mut signature = Vec::with_capacity(SM2_COSIGNATURE_LEN);
        signature.extend_from_slice(&timestamp.to_be_bytes());
        signature.extend_from_slice(&sig.to_bytes());
        let v = self.verifier();
        Ok(NoteSignature { name: v.name, key_id: v.key_id, signature })
    }
}

/// A parsed SM2 verifier key. Equality is by name, type and public key
/// (the parsed point follows from the key bytes).
#[derive(Clone, Debug)]
pub struct Sm2Verifier {
    /// Key name.
    pub name: String,
    /// Note or cosignature key.
    pub kind: Sm2KeyType,
    /// Key ID.
    pub key_id: [u8; 4],
    /// The 65-byte uncompressed public key.
    pub public_key: [u8; SM2_PUBLIC_KEY_LEN],
    key: VerifyingKey,
}

impl PartialEq for Sm2Verifier {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.kind == other.kind && self.public_key == other.public_key
    }
}

impl Eq for Sm2Verifier {}

impl Sm2Verifier {
    /// Parses `<name>+<8 lowercase hex>+base64(type || 65-byte key)`,
    /// checking the type, the point (on the curve, uncompressed) and the key ID.
    pub fn from_vkey(vkey: &str) -> Result<Sm2Verifier, VerifyError> {
        let bad = |reason: &str| VerifyError::malformed("vkey", reason);
        let (name, id_hex, b64) = crate::note::split_vkey(vkey)?;
        let material = BASE64.decode(b64).map_err(|e| bad(&e.to_string()))?;
        let (kind, key) = if let Some(k) = material.strip_prefix(SM2_COSIGNATURE_TYPE) {
            (Sm2KeyType::Cosignature, k)
        } else if let Some(k) = material.strip_prefix(SM2_NOTE_TYPE) {
            (Sm2KeyType::Note, k)
        } else {
            return Err(VerifyError::UnknownKey("not an SM2 key type".into()));
        };
        let v = Sm2Verifier::from_public_key(name, kind, key)?;
        if id_hex.len() != 8 || hex::encode(v.key_id) != id_hex {
            return Err(bad("key id does not match key"));
        }
        Ok(v)
    }

    /// A verifier from the 65-byte uncompressed public key.
    pub fn from_public_key(
        name: &str,
        kind: Sm2KeyType,
        key: &[u8],
    ) -> Result<Sm2Verifier, VerifyError> {
        let bad = |reason: &str| VerifyError::malformed("vkey", reason);
        if !is_valid_key_name(name) {
            return Err(bad("invalid key name"));
        }
        let public_key = <[u8; SM2_PUBLIC_KEY_LEN]>::try_from(key)
            .map_err(|_| bad("SM2 key is not 65 bytes"))?;
        if public_key[0] != 0x04 {
            return Err(bad("SM2 key is not an uncompressed point"));
        }
        let parsed = VerifyingKey::from_sec1_bytes(SM2_DEFAULT_DISTID, &public_key)
            .map_err(|_| bad("not a point on the SM2 curve"))?;
        let key_id = sm2_key_id(name, kind, &public_key);
        Ok(Sm2Verifier { name: name.to_owned(), kind, key_id, public_key, key: parsed })
    }

    /// The vkey string.
    pub fn to_vkey(&self) -> String {
        let mut material = self.kind.type_bytes().to_vec();
        material.extend_from_slice(&self.public_key);
        format!("{}+{}+{}", self.name, hex::encode(self.key_id), BASE64.encode(material))
    }

    /// Whether a signature line names this key (name and key ID both match).
    pub fn matches(&self, sig: &NoteSignature) -> bool {
        sig.name == self.name && sig.key_id == self.key_id
    }

    /// SM2 verification of a 64-byte `r || s` over `msg` (with Z_A).
    pub fn verify_raw(&self, msg: &[u8], sig: &[u8]) -> Result<(), VerifyError> {
        let sig = Signature::from_slice(sig).map_err(|_| {
            VerifyError::BadSignature(format!("{}: SM2 signature is not 64 bytes r||s", self.name))
        })?;
        self.key.verify(msg, &sig).map_err(|_| {
            VerifyError::BadSignature(format!("{}: SM2 signature does not verify", self.name))
        })
    }

    /// The note carries a valid SM2 note signature by this key (signed-note
    /// §Signatures: other keys' lines are ignored, every matching line must
    /// verify, at least one must).
    pub fn verify_note(&self, note: &Note) -> Result<(), VerifyError> {
        if self.kind != Sm2KeyType::Note {
            return Err(VerifyError::UnknownKey(format!(
                "{}: an SM2 cosignature key cannot sign notes",
                self.name
            )));
        }
        crate::note::verify_matching_lines(
            note,
            &self.name,
            self.key_id,
            |s| self.matches(s),
            |sig| self.verify_raw(note.text.as_bytes(), sig),
        )
    }

    /// Verifies one SM2 cosignature line over `checkpoint_body`, returning
    /// its timestamp.
    pub fn verify_cosignature(
        &self,
        checkpoint_body: &str,
        sig: &NoteSignature,
    ) -> Result<u64, VerifyError> {
        if self.kind != Sm2KeyType::Cosignature {
            return Err(VerifyError::UnknownKey(format!(
                "{}: not an SM2 cosignature key",
                self.name
            )));
        }
        if !self.matches(sig) {
            return Err(VerifyError::UnknownKey(format!("signature line is not by {}", self.name)));
        }
        if sig.signature.len() != SM2_COSIGNATURE_LEN {
            return Err(VerifyError::BadSignature(format!(
                "{}: SM2 cosignature is {} bytes, expected {SM2_COSIGNATURE_LEN}",
                self.name,
                sig.signature.len()
            )));
        }
        let (ts, rs) = sig.signature.split_at(8);
        let mut ts_bytes = [0u8; 8];
        ts_bytes.copy_from_slice(ts);
        let timestamp = u64::from_be_bytes(ts_bytes);
        if timestamp > MAX_TIMESTAMP {
            return Err(VerifyError::BadSignature(format!(
                "{}: timestamp exceeds 2^63-1",
                self.name
            )));
        }
        self.verify_raw(&cosignature_message(checkpoint_body, timestamp), rs)?;
        Ok(timestamp)
    }

    /// Finds this witness's lines in a cosigned note and verifies them over
    /// the note's text, returning the first timestamp.
    pub fn verify_cosigned_note(&self, note: &Note) -> Result<u64, VerifyError> {
        let mut first = None;
        for sig in note.signatures.iter().filter(|s| self.matches(s)) {
            let ts = self.verify_cosignature(&note.text, sig)?;
            first.get_or_insert(ts);
        }
        first.ok_or_else(|| VerifyError::UnknownKey(format!("no cosignature by {}", self.name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(kind: Sm2KeyType, seed: u8) -> Sm2Signer {
        Sm2Signer::from_secret("log.example/sm", kind, &[seed; 32]).expect("key")
    }

    #[test]
    fn note_sign_verify_and_vkey_round_trip() {
        let s = signer(Sm2KeyType::Note, 7);
        let text = "log.example/sm\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let mut note = Note::new(text).expect("text");
        note.signatures.push(s.sign(text).expect("sign"));
        let parsed = Note::parse(&note.to_bytes()).expect("parse");
        let v = Sm2Verifier::from_vkey(&s.vkey()).expect("vkey");
        assert_eq!(v, s.verifier());
        assert_eq!(v.to_vkey(), s.vkey());
        assert_eq!(v.verify_note(&parsed), Ok(()));
        let mut forged = parsed.clone();
        forged.signatures[0].signature[10] ^= 1;
        assert!(matches!(v.verify_note(&forged), Err(VerifyError::BadSignature(_))));
        forged.text = text.replace("\n1\n", "\n2\n");
        assert!(v.verify_note(&forged).is_err());
    }

    #[test]
    fn cosignatures_verify_and_types_stay_apart() {
        let w = signer(Sm2KeyType::Cosignature, 9);
        let body = "log.example/sm\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let line = w.cosign(body, 1_700_000_000).expect("cosign");
        assert_eq!(line.signature.len(), SM2_COSIGNATURE_LEN);
        assert_eq!(w.verifier().verify_cosignature(body, &line), Ok(1_700_000_000));
        let mut late = line.clone();
        late.signature[7] ^= 1;
        assert!(w.verifier().verify_cosignature(body, &late).is_err());
        // The same scalar as a note key has another key ID and cannot cosign.
        let n = signer(Sm2KeyType::Cosignature, 9);
        assert!(n.sign(body).is_err());
        let note_key = signer(Sm2KeyType::Note, 9);
        assert_ne!(note_key.verifier().key_id, w.verifier().key_id);
        assert!(note_key.verifier().verify_cosignature(body, &line).is_err());
    }

    #[test]
    fn vkeys_with_bad_points_or_types_are_refused() {
        let vkey = signer(Sm2KeyType::Note, 3).vkey();
        let (head, b64) = vkey.rsplit_once('+').expect("form");
        let mut material = BASE64.decode(b64).expect("b64");
        let last = material.len() - 1;
        material[last] ^= 1;
        for bad in [
            format!("{head}+{}", BASE64.encode(&material)),
            format!("{head}+{}", BASE64.encode(&material[..last])),
            vkey.replacen("log.example", "other.example", 1),
            format!("{}+{b64}", head.to_uppercase()),
        ] {
            assert!(Sm2Verifier::from_vkey(&bad).is_err(), "{bad}");
        }
    }
}
