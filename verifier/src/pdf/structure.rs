//! Where a PDF's signatures are, and which bytes each one signs
//! (ISO 32000-1 §7.5.6 incremental updates, §12.8.1 signature dictionaries).
//!
//! `lopdf` reads the structure (xref tables and streams, object streams,
//! the `/Prev` chain). It merges a file's revisions into one view, so a
//! later revision could replace an earlier signature dictionary and hide
//! it: each revision (each prefix of the file that ends at an `%%EOF`) is
//! loaded on its own and the signature dictionaries of all of them are
//! collected. The byte-level rules ([`check_byte_range`], [`check_gap`])
//! are ours: no parser says whether a `/ByteRange` leaves out exactly the
//! `/Contents` string of its own dictionary.

use lopdf::xref::XrefEntry;
use lopdf::{Document, Object, ObjectId, StringFormat};

/// Most revisions (incremental updates) read.
pub const MAX_REVISIONS: usize = 64;
/// Most signature dictionaries checked.
pub const MAX_SIGNATURES: usize = 32;
/// Largest `/Contents` (the CMS object, decoded) accepted.
pub const MAX_CONTENTS_BYTES: usize = 512 * 1024;
/// How far after a signature dictionary's start its `endobj` is looked for.
const MAX_SIG_OBJECT_BYTES: usize = 2 * MAX_CONTENTS_BYTES + 64 * 1024;

/// The bytes one signature covers: `0..gap.start` and `gap.end..end`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedRange {
    /// The left-out `/Contents` hex string, `<` and `>` included.
    pub gap: std::ops::Range<usize>,
    /// The end of the signed revision (exclusive): the signed revision is
    /// `0..end`, the gap left out.
    pub end: usize,
}

/// A signature dictionary as found in one revision.
#[derive(Clone, Debug)]
pub(crate) struct SigDict {
    pub id: ObjectId,
    /// Where the object starts in the file; `None` if it sits in an object
    /// stream (then its `/Contents` cannot be a gap of the file's bytes).
    pub offset: Option<usize>,
    /// `/ByteRange`, if a direct array of integers.
    pub byte_range: Result<Vec<i64>, String>,
    /// `/Contents`, if a direct hex string.
    pub contents: Result<Vec<u8>, String>,
    /// `/SubFilter`.
    pub sub_filter: String,
    /// The `/T` of the signature field whose `/V` is this dictionary.
    pub field: Option<String>,
    /// `/M`, the signing time the signing software wrote (a PDF date).
    pub m: Option<Vec<u8>>,
}

/// What the structure holds: the signature dictionaries of every revision,
/// in file order, and where the revisions end.
#[derive(Debug, Default)]
pub(crate) struct Structure {
    pub signatures: Vec<SigDict>,
    pub revision_ends: Vec<usize>,
}

/// The end of each revision: just after an `%%EOF` marker and its end of
/// line (CR, LF or CRLF), in file order. A textual scan: a revision is
/// only believed if `lopdf` then reads the prefix as a PDF.
pub fn revision_ends(file: &[u8]) -> Vec<usize> {
    const EOF: &[u8] = b"%%EOF";
    let mut ends = Vec::new();
    let mut from = 0;
    while let Some(at) = find(&file[from..], EOF) {
        let mut end = from + at + EOF.len();
        if file.get(end) == Some(&b'\r') {
            end += 1;
        }
        if file.get(end) == Some(&b'\n') {
            end += 1;
        }
        ends.push(end);
        from = end;
    }
    ends
}

/// Loads every revision and collects its signature dictionaries.
pub(crate) fn read(file: &[u8]) -> Result<Structure, String> {
    let mut ends = revision_ends(file);
    let mut prefixes = ends.clone();
    if prefixes.last() != Some(&file.len()) {
        prefixes.push(file.len());
    }
    if prefixes.len() > MAX_REVISIONS {
        return Err(format!("more than {MAX_REVISIONS} revisions (incremental updates)"));
    }
    let mut found: Vec<SigDict> = Vec::new();
    let mut readable = 0;
    for &end in &prefixes {
        let Some(doc) = load(&file[..end]) else {
            ends.retain(|e| *e != end);
            continue;
        };
        readable += 1;
        for sig in signature_dicts(&doc) {
            let known = found.iter().any(|f| {
                f.id == sig.id && f.offset == sig.offset && f.byte_range == sig.byte_range
            });
            if !known {
                found.push(sig);
            }
        }
        if found.len() > MAX_SIGNATURES {
            return Err(format!("more than {MAX_SIGNATURES} signatures"));
        }
    }
    if readable == 0 {
        return Err("no revision of the file reads as a PDF".to_owned());
    }
    // File order: by where the signed revision ends, then by position.
    found.sort_by_key(|s| (signed_end(s), s.offset));
    Ok(Structure { signatures: found, revision_ends: ends })
}

/// One revision through `lopdf`. It is a third-party parser fed hostile
/// bytes: a panic in it (none is known; the property tests and a fuzz
/// target look for one) reads as an unreadable revision, never as a crash
/// of the verifier.
fn load(prefix: &[u8]) -> Option<Document> {
    std::panic::catch_unwind(|| Document::load_mem(prefix)).ok()?.ok()
}

fn signed_end(s: &SigDict) -> i64 {
    match s.byte_range.as_deref() {
        Ok([_, _, c, d]) => c.saturating_add(*d),
        _ => i64::MAX,
    }
}

/// The signature dictionaries of one loaded revision: dictionaries with a
/// `/ByteRange` (ISO 32000-1 Table 252; `/Type /Sig` is optional there).
fn signature_dicts(doc: &Document) -> Vec<SigDict> {
    let fields = field_names(doc);
    doc.objects
        .iter()
        .filter_map(|(id, obj)| {
            let dict = obj.as_dict().ok()?;
            let br = dict.get(b"ByteRange").ok()?;
            let offset = match doc.reference_table.get(id.0) {
                Some(XrefEntry::Normal { offset, generation }) if *generation == id.1 => {
                    usize::try_from(*offset).ok()
                }
                _ => None,
            };
            let byte_range = match br {
                Object::Array(items) => items
                    .iter()
                    .map(|o| match o {
                        Object::Integer(i) => Ok(*i),
                        _ => Err("/ByteRange holds something other than integers".to_owned()),
                    })
                    .collect(),
                _ => Err("/ByteRange is not a direct array".to_owned()),
            };
            let contents = match dict.get(b"Contents") {
                Ok(Object::String(bytes, StringFormat::Hexadecimal)) => Ok(bytes.clone()),
                Ok(_) => Err("/Contents is not a direct hex string".to_owned()),
                Err(_) => Err("the signature dictionary has no /Contents".to_owned()),
            };
            let sub_filter = dict
                .get(b"SubFilter")
                .and_then(Object::as_name)
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .unwrap_or_default();
            Some(SigDict {
                id: *id,
                offset,
                byte_range,
                contents,
                sub_filter,
                field: fields.iter().find(|(v, _)| v == id).map(|(_, t)| t.clone()),
                m: dict.get(b"M").and_then(Object::as_str).ok().map(<[u8]>::to_vec),
            })
        })
        .collect()
}

/// Signature fields (`/FT /Sig`) by the dictionary their `/V` refers to.
fn field_names(doc: &Document) -> Vec<(ObjectId, String)> {
    doc.objects
        .values()
        .filter_map(|obj| {
            let dict = obj.as_dict().ok()?;
            if dict.get(b"FT").and_then(Object::as_name).ok()? != b"Sig" {
                return None;
            }
            let v = dict.get(b"V").and_then(Object::as_reference).ok()?;
            let t = dict.get(b"T").and_then(Object::as_str).ok()?;
            Some((v, String::from_utf8_lossy(t).into_owned()))
        })
        .collect()
}

/// The `/ByteRange` rules (docs/pdf-signatures.md §2), over the raw file:
///
/// 1. four integers `[0 b c d]`: one range from the start, one gap, one
///    range to the end of a revision (a fifth number could hide a second
///    gap);
/// 2. `0 < b < c`, `d ≥ 0`, `c + d ≤` the file's length;
/// 3. the gap `b..c` is exactly one hex string: `<`, an even number of hex
///    digits, `>` (nothing else is left unsigned);
/// 4. `c + d` is the end of a revision (`revision_ends`): the signed bytes
///    are a whole revision, ending at its `%%EOF`.
pub fn check_byte_range(
    file: &[u8],
    byte_range: &[i64],
    revision_ends: &[usize],
) -> Result<SignedRange, String> {
    let [a, b, c, d] = *byte_range else {
        return Err(format!(
            "/ByteRange has {} numbers; it must have 4 (one gap only)",
            byte_range.len()
        ));
    };
    let to_usize = |v: i64| usize::try_from(v).map_err(|_| "/ByteRange has a negative number");
    let (a, b, c, d) = (to_usize(a)?, to_usize(b)?, to_usize(c)?, to_usize(d)?);
    if a != 0 {
        return Err(format!("/ByteRange starts at byte {a}, not at the start of the file"));
    }
    if b == 0 || c <= b {
        return Err(format!("/ByteRange's gap {b}..{c} is empty or its ranges overlap"));
    }
    let end = c.checked_add(d).filter(|e| *e <= file.len()).ok_or_else(|| {
        format!("/ByteRange reaches byte {c}+{d}, beyond the end of the file ({})", file.len())
    })?;
    let gap = &file[b..c];
    let hex_ok = gap.len() >= 2
        && gap[0] == b'<'
        && gap[gap.len() - 1] == b'>'
        && gap[1..gap.len() - 1].iter().all(u8::is_ascii_hexdigit)
        && gap.len() & 1 == 0;
    if !hex_ok {
        return Err(format!(
            "the bytes left out ({b}..{c}) are not exactly one hex string <…>: \
             something other than the signature is unsigned"
        ));
    }
    if !revision_ends.contains(&end) {
        return Err(format!(
            "the signed bytes end at {end}, which is not the end of a revision (%%EOF)"
        ));
    }
    Ok(SignedRange { gap: b..c, end })
}

/// The gap is this dictionary's own `/Contents`: it lies inside the
/// dictionary's object (between `N G obj` at `offset` and its `endobj`)
/// and its hex decodes to the `/Contents` the parser read.
pub fn check_gap(
    file: &[u8],
    range: &SignedRange,
    id: ObjectId,
    offset: Option<usize>,
    contents: &[u8],
) -> Result<(), String> {
    let offset = offset.ok_or(
        "the signature dictionary is in an object stream, so its /Contents cannot be the gap",
    )?;
    let header = format!("{} {} obj", id.0, id.1);
    if !file.get(offset..).is_some_and(|rest| rest.starts_with(header.as_bytes())) {
        return Err("the cross-reference offset does not point at the signature dictionary".into());
    }
    let window = &file[offset..file.len().min(offset.saturating_add(MAX_SIG_OBJECT_BYTES))];
    let object_end = find(window, b"endobj").map(|e| offset + e);
    if !(offset < range.gap.start && object_end.is_some_and(|e| range.gap.end <= e)) {
        return Err("the gap is not inside the signature dictionary's object".into());
    }
    let hex = &file[range.gap.start + 1..range.gap.end - 1];
    if hex::decode(hex).ok().as_deref() != Some(contents) {
        return Err("the gap is not this signature dictionary's /Contents".into());
    }
    Ok(())
}

/// A PDF date (ISO 32000-1 §7.9.4) `D:YYYYMMDDHHmmSS` followed by `Z`,
/// nothing (UTC assumed), or `+HH'mm'` / `-HH'mm'`, as unix seconds. Only
/// the full form is accepted: a signing time is never guessed.
pub fn parse_pdf_date(raw: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(raw).ok()?;
    let text = text.strip_prefix("D:").unwrap_or(text);
    let (digits, zone) = text.split_at_checked(14)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| digits[r].parse::<u8>().ok();
    let year = digits[0..4].parse::<i32>().ok()?;
    let month = time::Month::try_from(num(4..6)?).ok()?;
    let date = time::Date::from_calendar_date(year, month, num(6..8)?).ok()?;
    let clock = time::Time::from_hms(num(8..10)?, num(10..12)?, num(12..14)?).ok()?;
    let local = time::PrimitiveDateTime::new(date, clock).assume_utc().unix_timestamp();
    let offset = match zone.trim_end_matches('\'') {
        "" | "Z" => 0,
        z => {
            let (sign, rest) = z.split_at_checked(1)?;
            let hm: String = rest.chars().filter(|c| *c != '\'').collect();
            if hm.len() != 4 || !hm.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let secs = i64::from(hm[0..2].parse::<u8>().ok()?) * 3600
                + i64::from(hm[2..4].parse::<u8>().ok()?) * 60;
            match sign {
                "+" => secs,
                "-" => -secs,
                _ => return None,
            }
        }
    };
    Some(local - offset)
}

/// The first position of `needle` in `hay`.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A file whose bytes 10..16 are `<abcd>` and that ends a revision at 30.
    fn file() -> (Vec<u8>, Vec<usize>) {
        let mut f = b"0123456789<abcd>0123".to_vec();
        f.extend_from_slice(b"%%EOF\n");
        f.extend_from_slice(b"tail%%EOF\n");
        let ends = revision_ends(&f);
        (f, ends)
    }

    #[test]
    fn revisions_end_after_eof_and_its_eol() {
        let (f, ends) = file();
        assert_eq!(ends, [26, f.len()]);
        assert_eq!(revision_ends(b"%%EOF\r\n%%EOF\r%%EOF"), [7, 13, 18]);
    }

    #[test]
    fn pdf_dates() {
        assert_eq!(parse_pdf_date(b"D:20261207152725Z"), Some(1_796_657_245));
        assert_eq!(parse_pdf_date(b"D:20261207152725"), Some(1_796_657_245));
        assert_eq!(parse_pdf_date(b"D:20261207232725+08'00'"), Some(1_796_657_245));
        assert_eq!(parse_pdf_date(b"D:20261207072725-08'00"), Some(1_796_657_245));
        for bad in [&b"D:2026120715"[..], b"D:20261307152725Z", b"D:20261207152725+8", b"x"] {
            assert_eq!(parse_pdf_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_good_range() {
        let (f, ends) = file();
        assert_eq!(
            check_byte_range(&f, &[0, 10, 16, 10], &ends).unwrap(),
            SignedRange { gap: 10..16, end: 26 }
        );
        assert_eq!(check_byte_range(&f, &[0, 10, 16, 20], &ends).unwrap().end, 36);
    }

    #[test]
    fn bad_ranges() {
        let (f, ends) = file();
        for (br, needle) in [
            (&[0, 10, 16][..], "has 3 numbers"),
            (&[0, 10, 16, 10, 0, 0][..], "has 6 numbers"),
            (&[1, 9, 16, 10], "not at the start"),
            (&[0, -10, 16, 10], "negative"),
            (&[0, 10, 10, 16], "empty"),
            (&[0, 16, 10, 16], "overlap"),
            (&[0, 0, 16, 10], "empty"),
            (&[0, 10, 16, 100], "beyond the end"),
            (&[0, 10, 16, i64::MAX], "beyond the end"),
            // A gap wider than the hex string: a byte of the file unsigned.
            (&[0, 9, 16, 10], "not exactly one hex string"),
            (&[0, 10, 17, 9], "not exactly one hex string"),
            // A gap inside the string.
            (&[0, 11, 15, 11], "not exactly one hex string"),
            // Ranges that stop short of the revision's %%EOF.
            (&[0, 10, 16, 5], "not the end of a revision"),
        ] {
            let err = check_byte_range(&f, br, &ends).unwrap_err();
            assert!(err.contains(needle), "{br:?}: {err}");
        }
    }

    /// The range that leaves out the first `gap` of `f` and covers the rest.
    fn whole(f: &[u8], gap: &[u8], ends: &[usize]) -> SignedRange {
        let at = find(f, gap).unwrap() as i64;
        let (len, g) = (f.len() as i64, gap.len() as i64);
        check_byte_range(f, &[0, at, at + g, len - at - g], ends).unwrap()
    }

    #[test]
    fn the_gap_must_be_this_dictionarys_contents() {
        let f = b"7 0 obj\n<< /Contents <abcd> /ByteRange [0 21 27 40] >>\nendobj\n%%EOF\n";
        let ends = revision_ends(f);
        let range = whole(f, b"<abcd>", &ends);
        check_gap(f, &range, (7, 0), Some(0), &[0xab, 0xcd]).unwrap();
        for (id, offset, contents, needle) in [
            ((7, 0), Some(0), &[0xab, 0xce][..], "not this signature dictionary's /Contents"),
            ((8, 0), Some(0), &[0xab, 0xcd], "does not point at"),
            ((7, 0), None, &[0xab, 0xcd], "object stream"),
        ] {
            let err = check_gap(f, &range, id, offset, contents).unwrap_err();
            assert!(err.contains(needle), "{err}");
        }
        // A hex string of another object, after this one's endobj.
        let f2 = b"7 0 obj\n<< /Contents <ab> >>\nendobj\n8 0 obj <abcd> endobj\n%%EOF\n";
        let ends = revision_ends(f2);
        let range = whole(f2, b"<abcd>", &ends);
        let err = check_gap(f2, &range, (7, 0), Some(0), &[0xab, 0xcd]).unwrap_err();
        assert!(err.contains("not inside"), "{err}");
    }
}
