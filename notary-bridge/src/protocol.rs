//! The c2sp.org/tlog-witness wire format: `add-checkpoint` request bodies,
//! cosignature response bodies and the `text/x.tlog.size` conflict body.
//! Pure functions over bytes; sizes are capped before anything is decoded.

use base64::Engine as _;
use verifier::note::{Note, NoteSignature, MAX_NOTE_SIZE};
use verifier::Hash;

use crate::BridgeError;

/// c2sp.org/tlog-witness: "The client MUST NOT send more than 63
/// consistency proof lines."
pub const MAX_PROOF_LINES: usize = 63;
/// One proof line: 44 base64 characters and a newline.
const PROOF_LINE_LEN: usize = 45;
/// `old ` + the 20 digits of `u64::MAX` + newline.
const MAX_OLD_LINE_LEN: usize = 25;
/// The largest request body a witness reads: the old line, 63 proof lines,
/// the empty line and a note of at most [`MAX_NOTE_SIZE`]. The spec caps the
/// proof at 63 lines; the note cap is the verifier's.
pub const MAX_REQUEST_BODY: usize =
    MAX_OLD_LINE_LEN + MAX_PROOF_LINES * PROOF_LINE_LEN + 1 + MAX_NOTE_SIZE;
/// The largest 200 response a client reads (a few cosignature lines).
pub const MAX_RESPONSE_BODY: usize = 16 * 1024;
/// Content type of the 409 body (c2sp.org/tlog-witness, add-checkpoint).
pub const CONTENT_TYPE_TLOG_SIZE: &str = "text/x.tlog.size";
/// The em dash (U+2014) that starts a signature line (c2sp.org/signed-note).
const SIGNATURE_LINE_PREFIX: &str = "\u{2014} ";

/// A parsed `add-checkpoint` request. Nothing in it is verified yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpointRequest {
    /// The size the client believes the witness last cosigned.
    pub old_size: u64,
    /// Consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub checkpoint: Note,
}

/// Parses an `add-checkpoint` body (c2sp.org/tlog-witness, add-checkpoint):
/// `old <size>\n`, up to 63 base64 proof lines, an empty line, a note.
pub fn parse_add_checkpoint(body: &[u8]) -> Result<AddCheckpointRequest, BridgeError> {
    if body.len() > MAX_REQUEST_BODY {
        return Err(BridgeError::TooLarge {
            what: "request body",
            size: body.len(),
            limit: MAX_REQUEST_BODY,
        });
    }
    let split = find_empty_line(body)?;
    let header = std::str::from_utf8(&body[..split])
        .map_err(|_| BridgeError::malformed("request header", "not UTF-8"))?;
    let mut lines = header.split_terminator('\n');
    let old_line = lines.next().ok_or_else(|| BridgeError::malformed("old line", "missing"))?;
    let old_size = parse_old_line(old_line)?;
    let proof = parse_proof_lines(lines)?;
    let checkpoint = Note::parse(&body[split + 1..])
        .map_err(|e| BridgeError::malformed("checkpoint note", e.to_string()))?;
    Ok(AddCheckpointRequest { old_size, proof, checkpoint })
}

/// Index of the newline of the first empty line (the byte after the
/// header's last `\n`).
fn find_empty_line(body: &[u8]) -> Result<usize, BridgeError> {
    body.windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| i + 1)
        .ok_or_else(|| BridgeError::malformed("request", "no empty line before the checkpoint"))
}

fn parse_old_line(line: &str) -> Result<u64, BridgeError> {
    let digits = line
        .strip_prefix("old ")
        .ok_or_else(|| BridgeError::malformed("old line", "must be `old <size>`"))?;
    parse_decimal(digits)
        .ok_or_else(|| BridgeError::malformed("old line", "size is not a canonical decimal"))
}

fn parse_proof_lines<'a>(lines: impl Iterator<Item = &'a str>) -> Result<Vec<Hash>, BridgeError> {
    let mut proof = Vec::new();
    for line in lines {
        if proof.len() == MAX_PROOF_LINES {
            return Err(BridgeError::malformed("consistency proof", "more than 63 lines"));
        }
        let hash = Hash::from_base64(line)
            .map_err(|e| BridgeError::malformed("consistency proof", e.to_string()))?;
        proof.push(hash);
    }
    Ok(proof)
}

/// Parses an ASCII decimal with no sign and no leading zeros (`0` itself
/// allowed), as tlog-witness and tlog-checkpoint encode sizes.
pub fn parse_decimal(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical {
        s.parse().ok()
    } else {
        None
    }
}

/// Formats an `add-checkpoint` request body.
pub fn format_add_checkpoint(
    old_size: u64,
    proof: &[Hash],
    checkpoint: &Note,
) -> Result<Vec<u8>, BridgeError> {
    if proof.len() > MAX_PROOF_LINES {
        return Err(BridgeError::malformed("consistency proof", "more than 63 lines"));
    }
    let mut body = format!("old {old_size}\n").into_bytes();
    for hash in proof {
        body.extend_from_slice(hash.to_base64().as_bytes());
        body.push(b'\n');
    }
    body.push(b'\n');
    body.extend_from_slice(&checkpoint.to_bytes());
    Ok(body)
}

/// Formats one signature line: `— <name> <base64(key id || signature)>\n`
/// (c2sp.org/signed-note).
pub fn format_signature_line(sig: &NoteSignature) -> String {
    let mut raw = sig.key_id.to_vec();
    raw.extend_from_slice(&sig.signature);
    let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
    format!("{SIGNATURE_LINE_PREFIX}{} {b64}\n", sig.name)
}

/// Parses a 200 response to `add-checkpoint`: one or more signature lines.
/// As the spec suggests, they are appended to the checkpoint note and the
/// result parsed as a note; the lines the note did not carry are returned.
pub fn parse_cosignature_lines(
    checkpoint: &Note,
    body: &[u8],
) -> Result<Vec<NoteSignature>, BridgeError> {
    if body.len() > MAX_RESPONSE_BODY {
        return Err(BridgeError::TooLarge {
            what: "response body",
            size: body.len(),
            limit: MAX_RESPONSE_BODY,
        });
    }
    if !body.starts_with(SIGNATURE_LINE_PREFIX.as_bytes()) || !body.ends_with(b"\n") {
        return Err(BridgeError::malformed("cosignature lines", "not signature lines"));
    }
    let mut bytes = checkpoint.text.as_bytes().to_vec();
    bytes.push(b'\n');
    bytes.extend_from_slice(body);
    let note = Note::parse(&bytes)
        .map_err(|e| BridgeError::malformed("cosignature lines", e.to_string()))?;
    Ok(note.signatures)
}

/// Formats the 409 body: the witness's size and a newline.
pub fn format_size_body(size: u64) -> String {
    format!("{size}\n")
}

/// Parses a `text/x.tlog.size` body.
pub fn parse_size_body(body: &[u8]) -> Result<u64, BridgeError> {
    let text =
        std::str::from_utf8(body).map_err(|_| BridgeError::malformed("size body", "not UTF-8"))?;
    let digits = text.strip_suffix('\n').unwrap_or(text);
    parse_decimal(digits)
        .ok_or_else(|| BridgeError::malformed("size body", "not a canonical decimal"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_note() -> Note {
        let sig = NoteSignature {
            name: "example.com/log".into(),
            key_id: [1, 2, 3, 4],
            signature: vec![7; 64],
        };
        Note {
            text: format!("example.com/log\n5\n{}\n", Hash([9; 32]).to_base64()),
            signatures: vec![sig],
        }
    }

    fn body_with_header(header: &str) -> Vec<u8> {
        let mut body = header.as_bytes().to_vec();
        body.extend_from_slice(&sample_note().to_bytes());
        body
    }

    #[test]
    fn decimal_is_canonical() {
        assert_eq!(parse_decimal("0"), Some(0));
        assert_eq!(parse_decimal("18446744073709551615"), Some(u64::MAX));
        for bad in ["", "00", "01", "+1", "-1", " 1", "1 ", "1_0", "18446744073709551616", "١"] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn malformed_headers_are_rejected() {
        let h = Hash([1; 32]).to_base64();
        let cases = [
            "\n".to_string(),
            "old 5\n".to_string(),
            "old  5\n\n".to_string(),
            "old 05\n\n".to_string(),
            "old -1\n\n".to_string(),
            "OLD 5\n\n".to_string(),
            "old 5\r\n\n".to_string(),
            "new 5\n\n".to_string(),
            format!("old 5\n{h} \n\n"),
            format!("old 5\n{}\n\n", &h[..40]),
            format!("old 5\n{}\n\n", Hash([1; 32]).to_hex()),
            format!("old 5\n{}\n\n", format!("{h}\n").repeat(64).trim_end()),
        ];
        for header in cases {
            let body = body_with_header(&header);
            let err = parse_add_checkpoint(&body).expect_err(&header);
            assert_eq!(err.http_status(), 400, "{header:?}: {err}");
        }
    }

    #[test]
    fn garbage_bodies_are_rejected() {
        let too_big = vec![b'a'; MAX_REQUEST_BODY + 1];
        for body in
            [&b""[..], b"\n\n", b"old 0\n\n", b"old 0\n\ngarbage", b"\xff\xfe\n\n", &too_big]
        {
            let err = parse_add_checkpoint(body).expect_err("garbage");
            assert!((400..500).contains(&err.http_status()), "{err}");
        }
    }

    #[test]
    fn proof_line_cap_is_63() {
        let line = format!("{}\n", Hash([1; 32]).to_base64());
        let ok = body_with_header(&format!("old 5\n{}\n", line.repeat(63)));
        assert_eq!(parse_add_checkpoint(&ok).map(|r| r.proof.len()), Ok(63));
        let over = body_with_header(&format!("old 5\n{}\n", line.repeat(64)));
        assert!(parse_add_checkpoint(&over).is_err());
    }

    #[test]
    fn size_body_round_trips() {
        assert_eq!(parse_size_body(format_size_body(42).as_bytes()), Ok(42));
        assert!(parse_size_body(b"042\n").is_err());
        assert!(parse_size_body(b"x\n").is_err());
    }

    #[test]
    fn signature_line_shape() {
        let sig =
            NoteSignature { name: "w.example/1".into(), key_id: [0; 4], signature: vec![0; 72] };
        let line = format_signature_line(&sig);
        assert!(line.starts_with("\u{2014} w.example/1 "));
        assert!(line.ends_with('\n'));
    }
}
