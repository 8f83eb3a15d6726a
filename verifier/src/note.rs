//! C2SP signed-note (<https://c2sp.org/signed-note>): parsing, Ed25519
//! signing (type 0x01), key IDs and verifier keys (vkeys).
//!
//! This module owns the note wire format and the signature-line rules; what
//! a note's text means (a checkpoint) and the cosignature type 0x04 live in
//! the `checkpoint` and `cosignature` modules, which build on this one. The
//! signature type bytes are all defined here, since the vkey rules accept
//! both.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::VerifyError;

/// Largest note accepted by [`Note::parse`].
pub const MAX_NOTE_SIZE: usize = 64 * 1024;
/// Most signature lines accepted by [`Note::parse`]; the spec requires at
/// least 16.
pub const MAX_NOTE_SIGNATURES: usize = 100;
/// Longest vkey string accepted by [`NoteVerifier::from_vkey`].
pub const MAX_VKEY_SIZE: usize = 1024;
/// Signature type byte of an Ed25519 signed-note key (C2SP signed-note).
pub const ALG_ED25519: u8 = 0x01;
/// Signature type byte of a cosignature/v1 key (C2SP tlog-cosignature);
/// also re-exported as `cosignature::ALG_COSIGNATURE_V1`.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// Prefix of every signature line: em dash (U+2014) and a space.
const SIG_LINE_PREFIX: &str = "\u{2014} ";

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

/// C2SP signed-note §Format: key names are non-empty, with no Unicode spaces
/// and no `+`.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// C2SP signed-note §Format: valid UTF-8 (given by `&str`) with no ASCII
/// control characters other than newline.
fn check_note_chars(s: &str) -> Result<(), VerifyError> {
    if s.chars().any(|c| c < ' ' && c != '\n') {
        return Err(VerifyError::malformed("note", "control character"));
    }
    Ok(())
}

impl NoteSignature {
    /// Parses one signature line (without its newline), C2SP signed-note
    /// §Signatures: `— <name> <base64(key id || signature)>`.
    pub fn parse_line(line: &str) -> Result<NoteSignature, VerifyError> {
        let bad = |reason: &str| VerifyError::malformed("note signature", reason);
        let rest = line.strip_prefix(SIG_LINE_PREFIX).ok_or_else(|| bad("missing em dash"))?;
        let (name, b64) = rest.split_once(' ').ok_or_else(|| bad("missing space"))?;
        if !is_valid_key_name(name) {
            return Err(bad("invalid key name"));
        }
        let raw = BASE64.decode(b64).map_err(|e| bad(&e.to_string()))?;
        // Four bytes of key ID and at least one byte of signature.
        if raw.len() < 5 {
            return Err(bad("signature too short"));
        }
        let (id, sig) = raw.split_at(4);
        let key_id = <[u8; 4]>::try_from(id).map_err(|_| bad("key id"))?;
        Ok(NoteSignature { name: name.to_owned(), key_id, signature: sig.to_vec() })
    }

    /// The signature line, with its final newline.
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id);
        raw.extend_from_slice(&self.signature);
        format!("{SIG_LINE_PREFIX}{} {}\n", self.name, BASE64.encode(raw))
    }
}

impl Note {
    /// A note with `text` and no signatures yet; checks the text rules of
    /// C2SP signed-note §Format (size, control characters, final newline).
    pub fn new(text: &str) -> Result<Note, VerifyError> {
        if text.len() > MAX_NOTE_SIZE {
            return Err(too_large(text.len()));
        }
        check_note_chars(text)?;
        if !text.ends_with('\n') {
            return Err(VerifyError::malformed("note", "text does not end in a newline"));
        }
        Ok(Note { text: text.to_owned(), signatures: Vec::new() })
    }

    /// Parses a note, capping its size first (C2SP signed-note §Format): the
    /// text, a blank line, then one or more signature lines.
    pub fn parse(bytes: &[u8]) -> Result<Note, VerifyError> {
        if bytes.len() > MAX_NOTE_SIZE {
            return Err(too_large(bytes.len()));
        }
        let s =
            std::str::from_utf8(bytes).map_err(|_| VerifyError::malformed("note", "not UTF-8"))?;
        check_note_chars(s)?;
        // The text ends at the last blank line; the newline before it is the
        // text's final newline.
        let (text, sigs) = s
            .rsplit_once("\n\n")
            .ok_or_else(|| VerifyError::malformed("note", "no blank line before signatures"))?;
        let sigs = sigs
            .strip_suffix('\n')
            .ok_or_else(|| VerifyError::malformed("note", "no signature lines or final newline"))?;
        let signatures = parse_signature_lines(sigs)?;
        Ok(Note { text: format!("{text}\n"), signatures })
    }

    /// Serializes the note: text, a blank line, then signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::with_capacity(self.text.len() + 1 + 120 * self.signatures.len());
        out.push_str(&self.text);
        out.push('\n');
        for sig in &self.signatures {
            out.push_str(&sig.to_line());
        }
        out.into_bytes()
    }
}

fn too_large(size: usize) -> VerifyError {
    VerifyError::TooLarge { what: "note", size, limit: MAX_NOTE_SIZE }
}

/// Parses newline-separated signature lines (at least one, at most
/// [`MAX_NOTE_SIGNATURES`]).
fn parse_signature_lines(block: &str) -> Result<Vec<NoteSignature>, VerifyError> {
    let mut out = Vec::new();
    for line in block.split('\n') {
        if out.len() == MAX_NOTE_SIGNATURES {
            return Err(VerifyError::malformed("note", "too many signatures"));
        }
        out.push(NoteSignature::parse_line(line)?);
    }
    Ok(out)
}

/// C2SP signed-note §Signatures key ID: SHA-256(name || 0x0A || alg || pubkey)[:4].
pub fn key_id(name: &str, alg: u8, public_key: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', alg]);
    h.update(public_key);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// Formats a vkey: `<name>+<8 hex key id>+<base64(alg || pubkey)>`.
pub(crate) fn format_vkey(name: &str, alg: u8, public_key: &[u8; 32]) -> String {
    let mut material = Vec::with_capacity(33);
    material.push(alg);
    material.extend_from_slice(public_key);
    let id = hex::encode(key_id(name, alg, public_key));
    format!("{name}+{id}+{}", BASE64.encode(material))
}

/// Signs notes with an Ed25519 key under a key name (the log's origin).
pub struct NoteSigner {
    name: String,
    key: SigningKey,
}

impl NoteSigner {
    /// Fails if `name` is not a valid key name.
    pub fn new(name: &str, key: SigningKey) -> Result<NoteSigner, VerifyError> {
        if !is_valid_key_name(name) {
            return Err(VerifyError::invalid(
                "key name",
                format!("{name:?} is not a valid key name"),
            ));
        }
        Ok(NoteSigner { name: name.to_owned(), key })
    }
    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The C2SP signed-note key ID of this key (type 0x01).
    pub fn key_id(&self) -> [u8; 4] {
        key_id(&self.name, ALG_ED25519, self.key.verifying_key().as_bytes())
    }
    /// The verifier key string `<name>+<hex id>+<base64(0x01 || pubkey)>`.
    pub fn vkey(&self) -> String {
        format_vkey(&self.name, ALG_ED25519, self.key.verifying_key().as_bytes())
    }
    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_id: self.key_id(),
            alg: ALG_ED25519,
            key: self.key.verifying_key(),
        }
    }
    /// Signs `text` (which must end in a newline; [`Note::new`] checks it),
    /// C2SP signed-note §Ed25519 signatures.
    pub fn sign(&self, text: &str) -> NoteSignature {
        let sig = self.key.sign(text.as_bytes());
        NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id(),
            signature: sig.to_bytes().to_vec(),
        }
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

/// C2SP signed-note §Signatures for one key, whatever its algorithm: the
/// lines `matches` names (name and key ID) must each pass `verify`, and at
/// least one must be there; other keys' lines are ignored.
pub(crate) fn verify_matching_lines(
    note: &Note,
    name: &str,
    key_id: impl AsRef<[u8]>,
    matches: impl Fn(&NoteSignature) -> bool,
    verify: impl Fn(&[u8]) -> Result<(), VerifyError>,
) -> Result<(), VerifyError> {
    let mut found = false;
    for sig in note.signatures.iter().filter(|s| matches(s)) {
        verify(&sig.signature)?;
        found = true;
    }
    if !found {
        return Err(VerifyError::UnknownKey(format!(
            "no signature by {name}+{}",
            hex::encode(key_id)
        )));
    }
    Ok(())
}

/// A vkey's key name, key ID (hex, not checked yet) and base64 key
/// material, after the checks every suite's vkey shares: its size, the two
/// `+`, a valid key name (C2SP signed-note §Verifier keys).
pub(crate) fn split_vkey(vkey: &str) -> Result<(&str, &str, &str), VerifyError> {
    let bad = |reason: &str| VerifyError::malformed("vkey", reason);
    if vkey.len() > MAX_VKEY_SIZE {
        return Err(VerifyError::TooLarge { what: "vkey", size: vkey.len(), limit: MAX_VKEY_SIZE });
    }
    let (name, rest) = vkey.split_once('+').ok_or_else(|| bad("missing '+'"))?;
    let (id_hex, b64) = rest.split_once('+').ok_or_else(|| bad("missing second '+'"))?;
    if !is_valid_key_name(name) {
        return Err(bad("invalid key name"));
    }
    Ok((name, id_hex, b64))
}

impl NoteVerifier {
    /// Parses a vkey string `<name>+<8 lowercase hex key id>+<base64(alg ||
    /// 32-byte key)>`, checking the key ID matches (C2SP signed-note
    /// §Verifier keys). Accepts types 0x01 and 0x04.
    pub fn from_vkey(vkey: &str) -> Result<NoteVerifier, VerifyError> {
        let bad = |reason: &str| VerifyError::malformed("vkey", reason);
        let (name, id_hex, b64) = split_vkey(vkey)?;
        let key_id =
            parse_key_id_hex(id_hex).ok_or_else(|| bad("key id is not 8 lowercase hex digits"))?;
        let material = BASE64.decode(b64).map_err(|e| bad(&e.to_string()))?;
        let (alg, key) = parse_key_material(&material)?;
        if key_id != self::key_id(name, alg, key.as_bytes()) {
            return Err(bad("key id does not match key"));
        }
        Ok(NoteVerifier { name: name.to_owned(), key_id, alg, key })
    }

    /// Formats the vkey string.
    pub fn to_vkey(&self) -> String {
        format_vkey(&self.name, self.alg, self.key.as_bytes())
    }

    /// Verifies the note carries a valid Ed25519 (0x01) signature by this key.
    ///
    /// C2SP signed-note §Signatures: lines whose name and key ID do not both
    /// match are ignored; every matching line must verify; at least one must.
    pub fn verify_note(&self, note: &Note) -> Result<(), VerifyError> {
        if self.alg != ALG_ED25519 {
            return Err(VerifyError::UnknownKey(format!(
                "{}: key type {:#04x} cannot sign notes",
                self.name, self.alg
            )));
        }
        verify_matching_lines(
            note,
            &self.name,
            self.key_id,
            |s| self.matches(s),
            |sig| self.verify_ed25519(note.text.as_bytes(), sig),
        )
    }

    /// Whether a signature line names this key (name and key ID both match).
    pub fn matches(&self, sig: &NoteSignature) -> bool {
        sig.name == self.name && sig.key_id == self.key_id
    }

    /// Strict RFC 8032 Ed25519 verification of `sig` (exactly 64 bytes) over `msg`.
    pub(crate) fn verify_ed25519(&self, msg: &[u8], sig: &[u8]) -> Result<(), VerifyError> {
        let sig = Signature::from_slice(sig).map_err(|_| {
            VerifyError::BadSignature(format!("{}: Ed25519 signature is not 64 bytes", self.name))
        })?;
        self.key.verify_strict(msg, &sig).map_err(|_| {
            VerifyError::BadSignature(format!("{}: signature does not verify", self.name))
        })
    }
}

/// Exactly 8 lowercase hex digits, the form vkeys use.
fn parse_key_id_hex(s: &str) -> Option<[u8; 4]> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    let bytes = hex::decode(s).ok()?;
    <[u8; 4]>::try_from(bytes.as_slice()).ok()
}

/// Splits vkey material into the type byte and a 32-byte Ed25519 key.
fn parse_key_material(material: &[u8]) -> Result<(u8, VerifyingKey), VerifyError> {
    let bad = |reason: &str| VerifyError::malformed("vkey", reason);
    let (&alg, key) = material.split_first().ok_or_else(|| bad("empty key"))?;
    if alg != ALG_ED25519 && alg != ALG_COSIGNATURE_V1 {
        return Err(VerifyError::UnknownKey(format!("unsupported key type {alg:#04x}")));
    }
    let key = <[u8; 32]>::try_from(key).map_err(|_| bad("Ed25519 key is not 32 bytes"))?;
    let key = VerifyingKey::from_bytes(&key).map_err(|_| bad("not an Ed25519 public key"))?;
    Ok((alg, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(name: &str, seed: u8) -> NoteSigner {
        NoteSigner::new(name, SigningKey::from_bytes(&[seed; 32])).expect("valid name")
    }

    fn signed(text: &str, signers: &[&NoteSigner]) -> Note {
        let mut note = Note::new(text).expect("valid text");
        note.signatures = signers.iter().map(|s| s.sign(text)).collect();
        note
    }

    #[test]
    fn key_names() {
        assert!(is_valid_key_name("example.com/log"));
        assert!(!is_valid_key_name(""));
        assert!(!is_valid_key_name("a b"));
        assert!(!is_valid_key_name("a+b"));
        assert!(!is_valid_key_name("a\u{3000}b"));
        assert!(NoteSigner::new("a+b", SigningKey::from_bytes(&[1; 32])).is_err());
    }

    #[test]
    fn sign_parse_verify_round_trip() {
        let (a, b) = (signer("a.example/log", 1), signer("b.example/w", 2));
        let note = signed("hello\n\nworld\n", &[&a, &b]);
        let bytes = note.to_bytes();
        let parsed = Note::parse(&bytes).expect("parses");
        assert_eq!(parsed, note);
        assert_eq!(parsed.to_bytes(), bytes);
        let v = NoteVerifier::from_vkey(&a.vkey()).expect("vkey");
        assert_eq!(v, a.verifier());
        assert_eq!(v.to_vkey(), a.vkey());
        assert_eq!(v.verify_note(&parsed), Ok(()));
    }

    #[test]
    fn unknown_signatures_are_ignored_but_a_bad_known_one_fails() {
        let (a, b) = (signer("a", 1), signer("b", 2));
        let mut note = signed("t\n", &[&b, &a]);
        assert_eq!(a.verifier().verify_note(&note), Ok(()));
        // Same name, other key: ignored.
        note.signatures.push(signer("a", 3).sign("t\n"));
        assert_eq!(a.verifier().verify_note(&note), Ok(()));
        note.signatures[1].signature[0] ^= 1;
        assert!(matches!(a.verifier().verify_note(&note), Err(VerifyError::BadSignature(_))));
        let only_b = signed("t\n", &[&b]);
        assert!(matches!(a.verifier().verify_note(&only_b), Err(VerifyError::UnknownKey(_))));
    }

    #[test]
    fn parse_rejects_malformed_notes() {
        let a = signer("a", 1);
        let good = String::from_utf8(signed("t\n", &[&a]).to_bytes()).expect("utf8");
        let line = a.sign("t\n").to_line();
        for bad in [
            "t\n".to_owned(),
            "t\n\n".to_owned(),
            format!("t\n{line}"),
            good.trim_end().to_owned(),
            good.replace('\u{2014}', "-"),
            good.replace("— a ", "— a  "),
            format!("t\r\n\n{line}"),
            format!("t\n\n{line}\n"),
            format!("t\n\n— a+b {}", &line[6..]),
            "t\n\n— a AAAA\n".to_owned(),
        ] {
            assert!(Note::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(Note::parse(&[0xff, b'\n', b'\n']).is_err());
        let big = vec![b'a'; MAX_NOTE_SIZE + 1];
        assert!(matches!(Note::parse(&big), Err(VerifyError::TooLarge { .. })));
    }

    #[test]
    fn signature_count_is_capped() {
        let a = signer("a", 1);
        let mut note = signed("t\n", &[&a]);
        note.signatures = vec![a.sign("t\n"); MAX_NOTE_SIGNATURES];
        assert!(Note::parse(&note.to_bytes()).is_ok());
        note.signatures.push(a.sign("t\n"));
        assert!(Note::parse(&note.to_bytes()).is_err());
    }

    #[test]
    fn vkey_rejects_bad_forms() {
        let vkey = signer("a", 1).vkey();
        let (name_id, b64) = vkey.rsplit_once('+').expect("form");
        let upper = format!("{}+{b64}", name_id.to_uppercase());
        for bad in [
            "".to_owned(),
            "a".to_owned(),
            "a+00000000+".to_owned(),
            upper,
            vkey.replacen("a+", "b+", 1),
            format!("{name_id}+{}", &b64[..b64.len() - 4]),
            format!("{vkey}AAAA"),
        ] {
            assert!(NoteVerifier::from_vkey(&bad).is_err(), "{bad:?}");
        }
        let mut material = vec![0x02];
        material.extend_from_slice(SigningKey::from_bytes(&[1; 32]).verifying_key().as_bytes());
        assert!(
            NoteVerifier::from_vkey(&format!("a+00000000+{}", BASE64.encode(material))).is_err()
        );
    }
}
