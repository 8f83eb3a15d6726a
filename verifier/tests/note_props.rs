//! Property tests of the C2SP signed-note, tlog-checkpoint and
//! tlog-cosignature code: parsers never panic on arbitrary input, and
//! sign -> serialize -> parse -> verify round-trips.

use ed25519_dalek::SigningKey;
use proptest::collection::vec;
use proptest::prelude::*;
use verifier::checkpoint::{Checkpoint, SignedCheckpoint};
use verifier::cosignature::{verify_cosigned_note, CosignatureSigner, MAX_TIMESTAMP};
use verifier::note::{Note, NoteSigner, NoteVerifier};
use verifier::Hash;

/// Strings built from the pieces that matter to the note grammar, so that
/// the fuzzing reaches past the first check.
fn note_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\u{2014} ".to_owned()),
        Just("\n".to_owned()),
        Just("\n\n".to_owned()),
        Just(" ".to_owned()),
        Just("+".to_owned()),
        Just("\r".to_owned()),
        "[A-Za-z0-9+/=]{0,100}",
        "[a-z./]{1,12}",
        "\\PC{0,8}",
    ];
    vec(piece, 0..24).prop_map(|v| v.concat())
}

fn key_name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9./_-]{1,24}"
}

/// Note text: printable lines (including empty ones and non-ASCII), ending in
/// a newline.
fn note_text() -> impl Strategy<Value = String> {
    vec("[ -~é—漢]{0,40}", 1..6).prop_map(|lines| lines.join("\n") + "\n")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn parsers_never_panic_on_bytes(bytes in vec(any::<u8>(), 0..600)) {
        let _ = Note::parse(&bytes);
        let _ = SignedCheckpoint::parse(&bytes);
    }

    #[test]
    fn parsers_never_panic_on_note_like_text(s in note_like()) {
        let _ = Note::parse(s.as_bytes());
        let _ = SignedCheckpoint::parse(s.as_bytes());
        let _ = Checkpoint::parse_body(&s);
        let _ = NoteVerifier::from_vkey(&s);
        // Whatever parses re-serializes to the same bytes.
        if let Ok(note) = Note::parse(s.as_bytes()) {
            prop_assert_eq!(note.to_bytes(), s.as_bytes());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn note_sign_parse_verify_round_trips(
        text in note_text(), names in vec(key_name(), 1..4), seeds in vec(any::<[u8; 32]>(), 4),
    ) {
        let signers: Vec<NoteSigner> = names
            .iter()
            .zip(&seeds)
            .map(|(n, s)| NoteSigner::new(n, SigningKey::from_bytes(s)).expect("valid name"))
            .collect();
        let mut note = Note::new(&text).expect("valid text");
        note.signatures = signers.iter().map(|s| s.sign(&text)).collect();
        let parsed = Note::parse(&note.to_bytes()).expect("parses");
        prop_assert_eq!(&parsed, &note);
        for s in &signers {
            let v = NoteVerifier::from_vkey(&s.vkey()).expect("vkey");
            prop_assert_eq!(v.verify_note(&parsed), Ok(()));
            let mut tampered = parsed.clone();
            tampered.text.insert(0, 'x');
            prop_assert!(v.verify_note(&tampered).is_err());
        }
        // A key that signed nothing finds no signature.
        let stranger = NoteSigner::new("stranger", SigningKey::from_bytes(&seeds[3])).expect("name");
        prop_assert!(stranger.verifier().verify_note(&parsed).is_err());
    }

    #[test]
    fn checkpoint_and_cosignature_round_trip(
        origin in key_name(), size in any::<u64>(), root in any::<[u8; 32]>(),
        extensions in vec("[ -~]{1,20}", 0..3), seed in any::<[u8; 32]>(),
        wseed in any::<[u8; 32]>(), ts in 0..=MAX_TIMESTAMP,
    ) {
        let log = NoteSigner::new(&origin, SigningKey::from_bytes(&seed)).expect("name");
        let witness = CosignatureSigner::new("witness.example/w", SigningKey::from_bytes(&wseed)).expect("name");
        let cp = Checkpoint { origin, size, root: Hash(root), extensions };
        let mut signed = SignedCheckpoint::try_sign(cp, &log).expect("sign");
        let cosig = witness.cosign(&signed.checkpoint.body(), ts);
        signed.note.signatures.push(cosig);
        let bytes = signed.to_bytes();
        let log_v = NoteVerifier::from_vkey(&log.vkey()).expect("vkey");
        prop_assert_eq!(SignedCheckpoint::verify(&bytes, &log_v), Ok(signed.clone()));
        let w_v = NoteVerifier::from_vkey(&witness.vkey()).expect("vkey");
        prop_assert_eq!(verify_cosigned_note(&w_v, &signed.note), Ok(ts));
    }
}
