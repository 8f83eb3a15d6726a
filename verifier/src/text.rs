//! Making text from a bundle safe to quote and to print: which characters
//! can make text read as other text, the sanitisers that replace them, and
//! the time format the check details use.
//!
//! It sits below decoding, the checks and the report alike: decoding quotes
//! what it cannot read without depending on the report's presentation. The
//! report re-exports every item here (`verifier::report::plain`, ...).

/// Makes any string safe to print on a terminal, whole: C0 and C1 control
/// characters (ESC, CSI, ...), DEL, line and paragraph separators, and
/// invisible format characters (bidirectional overrides and isolates, zero
/// widths, the byte order mark), which could make text read as other text,
/// become U+FFFD; runs of white space become one space, so that padding
/// cannot push text onto a line of its own. Unlike [`plain`], it does not
/// shorten.
pub fn terminal_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_space = false;
    for c in s.chars() {
        let c = if is_unsafe_char(c) { '\u{fffd}' } else { c };
        let space = c.is_whitespace();
        if !(space && prev_space) {
            out.push(if space { ' ' } else { c });
        }
        prev_space = space;
    }
    out
}

/// Whether `c` can change how a terminal or a page shows other text:
/// controls (Cc), line and paragraph separators (Zl, Zp), and the format
/// characters (Cf) that are invisible or reorder text.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{061c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

/// Escapes, in JSON text, every character that [`terminal_safe`] would
/// replace but that JSON leaves raw (C1 controls, DEL, bidi overrides), as
/// `\uXXXX`: the JSON value is unchanged, and printing it is safe.
pub fn json_terminal_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if is_unsafe_char(c) && c != '\n' {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Longest string from a bundle quoted in a report, in characters.
pub const MAX_QUOTED_CHARS: usize = 200;

/// Makes a string from a bundle safe to show: control characters and
/// bidirectional overrides (which could make text read as other text) become
/// U+FFFD, and long strings are cut to [`MAX_QUOTED_CHARS`] with "…".
pub fn plain(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(MAX_QUOTED_CHARS)
        .map(|c| if is_unsafe_char(c) { '\u{fffd}' } else { c })
        .collect();
    if s.chars().nth(MAX_QUOTED_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// Unix seconds as RFC 3339 UTC (`2026-01-02T03:04:05Z`); values beyond year
/// 9999 are written as "Unix time N".
pub fn unix_to_rfc3339(secs: u64) -> String {
    let dt = i64::try_from(secs)
        .ok()
        .filter(|&s| s <= MAX_RFC3339_SECS)
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok());
    match dt {
        Some(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        None => format!("Unix time {secs}"),
    }
}

/// Unix seconds of 9999-12-31T23:59:59Z.
const MAX_RFC3339_SECS: i64 = 253_402_300_799;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_strips_controls_and_cuts() {
        assert_eq!(plain("a\u{202e}b\nc"), "a\u{fffd}b\u{fffd}c");
        let long = "x".repeat(MAX_QUOTED_CHARS + 5);
        assert_eq!(plain(&long).chars().count(), MAX_QUOTED_CHARS + 1);
    }

    #[test]
    fn times() {
        assert_eq!(unix_to_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(unix_to_rfc3339(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(unix_to_rfc3339(u64::MAX), format!("Unix time {}", u64::MAX));
    }
}
