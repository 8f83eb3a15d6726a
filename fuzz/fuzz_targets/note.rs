//! C2SP signed notes, checkpoints and signature lines.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = verifier::note::Note::parse(data);
    let _ = verifier::checkpoint::SignedCheckpoint::parse(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = verifier::checkpoint::Checkpoint::parse_body(s);
        let _ = verifier::note::NoteSignature::parse_line(s);
        let _ = verifier::note::NoteVerifier::from_vkey(s);
    }
});
