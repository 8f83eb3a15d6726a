//! Making text from a bundle safe to quote and to print: which characters
//! can make text read as other text, the sanitisers that replace them, and
//! the time format the check details use.
//!
//! It sits below decoding, the checks and the report alike: decoding quotes
//! what it cannot read without depending on the report's presentation. The
//! report re-exports every item here (`verifier::report::plain`, ...).

/// Makes any string safe to print on a terminal, whole: every character
/// that is not visible ([`is_unsafe_char`]) becomes U+FFFD, and runs of
/// white space become one space, so that padding cannot push text onto a
/// line of its own. Unlike [`plain`], it does not shorten.
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

/// Whether `c` may not be shown as it is. An allow-list: shown are the
/// space separators (Zs) and the letters, marks, numbers, punctuation and
/// symbols (L, M, N, P, S) that are not default-ignorable (Unicode's
/// Default_Ignorable_Code_Point: invisible fillers, joiners, variation
/// selectors, tags) nor U+2800 BRAILLE PATTERN BLANK (a symbol drawn as
/// blank). Everything else — controls, line and paragraph separators,
/// format characters (bidi overrides and isolates, zero widths),
/// unassigned and private-use code points, and the blanks above — could
/// hide or fake text, and is refused.
pub fn is_unsafe_char(c: char) -> bool {
    use unicode_properties::UnicodeGeneralCategory as _;
    use unicode_properties::{GeneralCategory as G, GeneralCategoryGroup as Group};
    let shown = match c.general_category_group() {
        Group::Letter | Group::Mark | Group::Number | Group::Punctuation | Group::Symbol => true,
        Group::Separator => c.general_category() == G::SpaceSeparator,
        Group::Other => false,
    };
    !shown || c == '\u{2800}' || is_default_ignorable(c)
}

/// Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt,
/// <https://www.unicode.org/Public/UCD/latest/ucd/DerivedCoreProperties.txt>):
/// code points drawn as nothing when a font has no glyph for them.
fn is_default_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{034f}'
            | '\u{061c}'
            | '\u{115f}'..='\u{1160}'
            | '\u{17b4}'..='\u{17b5}'
            | '\u{180b}'..='\u{180f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff0}'..='\u{fff8}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e0fff}'
    )
}

/// Width of the terminal the text report is laid out for, in columns.
pub const TERMINAL_COLUMNS: usize = 80;

/// Continuation lines of a wrapped line start with this.
const WRAP_INDENT: &str = "        ";

/// Wraps every line of `text` to [`TERMINAL_COLUMNS`] display columns (East
/// Asian wide and ambiguous characters count two, see `columns`), continuing
/// with an indent: so the
/// terminal never wraps a line itself, and text quoted from a bundle never
/// starts a line of a terminal at least that wide (where it could pass for
/// a line of the report). Breaks at a space where it can.
pub fn wrap_for_terminal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    for line in text.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        wrap_line(body, &mut out);
        out.push_str(newline);
    }
    out
}

/// A character's columns on a terminal, counted high where terminals
/// differ: East Asian "ambiguous" characters as wide (as CJK terminals draw
/// them), and any character unicode-width calls zero columns but that is no
/// combining mark (spacing marks, Hangul jamo, prepended letters, which
/// glibc's wcwidth may give 1 or 2) as two. Counting high only wraps early.
fn columns(c: char) -> usize {
    use unicode_properties::{GeneralCategory as G, UnicodeGeneralCategory as _};
    use unicode_width::UnicodeWidthChar as _;
    match c.general_category() {
        G::NonspacingMark | G::EnclosingMark => 0,
        _ => match c.width_cjk() {
            Some(0) | None => 2,
            Some(w) => w,
        },
    }
}

fn wrap_line(line: &str, out: &mut String) {
    let width = |s: &str| s.chars().map(columns).sum::<usize>();
    let mut rest = line;
    let mut first = true;
    loop {
        let room = if first { TERMINAL_COLUMNS } else { TERMINAL_COLUMNS - WRAP_INDENT.len() };
        if !first {
            out.push('\n');
            out.push_str(WRAP_INDENT);
        }
        if width(rest) <= room {
            out.push_str(rest);
            return;
        }
        // The longest prefix that fits, ended at its last space if it has one.
        let (mut cut, mut used, mut last_space) = (0, 0, None);
        for (i, c) in rest.char_indices() {
            let w = columns(c);
            if used + w > room {
                break;
            }
            used += w;
            cut = i + c.len_utf8();
            if c == ' ' {
                last_space = Some(i);
            }
        }
        let end = match last_space {
            Some(s) if s > 0 => s,
            _ => cut.max(rest.chars().next().map_or(0, char::len_utf8)),
        };
        out.push_str(&rest[..end]);
        rest = rest[end..].trim_start_matches(' ');
        first = false;
        if rest.is_empty() {
            return;
        }
    }
}

/// Escapes, in JSON text, every character that [`terminal_safe`] would
/// replace but that JSON leaves raw (C1 controls, DEL, bidi overrides,
/// invisible characters), as `\uXXXX` (a surrogate pair beyond the BMP):
/// the JSON value is unchanged, and printing it is safe.
pub fn json_terminal_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c != '\n' && is_unsafe_char(c) {
            // As UTF-16 code units: a surrogate pair beyond the BMP.
            for unit in c.encode_utf16(&mut [0; 2]) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Longest string from a bundle quoted in a report, in characters.
pub const MAX_QUOTED_CHARS: usize = 200;

/// Makes a string from a bundle safe to show: every character that is not
/// visible ([`is_unsafe_char`]: controls, bidirectional overrides, invisible
/// fillers, which could make text read as other text) becomes U+FFFD, and
/// long strings are cut to [`MAX_QUOTED_CHARS`] with "…".
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
    fn only_visible_characters_are_shown() {
        for c in ['a', '王', '1', '.', '€', '✔', 'é', '\u{0301}', ' ', '\u{3000}'] {
            assert!(!is_unsafe_char(c), "{c:?}");
        }
        for c in [
            '\n',
            '\u{1b}',
            '\u{85}',
            '\u{202e}',
            '\u{200b}',
            '\u{2028}',
            '\u{2800}',
            '\u{3164}',
            '\u{115f}',
            '\u{ffa0}',
            '\u{fe0f}',
            '\u{e0041}',
            '\u{e000}',
            '\u{10ffff}',
            '\u{34f}',
        ] {
            assert!(is_unsafe_char(c), "{c:?}");
        }
        // Blank braille cells cannot pad text onto a line of its own.
        let faked = format!("x{}Trusted time: forged", "\u{2800}".repeat(70));
        assert!(!terminal_safe(&faked).contains('\u{2800}'));
    }

    #[test]
    fn json_escapes_stay_json() {
        let s = json_terminal_safe("{\"a\":\"x\u{e0041}\u{202e}\"}\n");
        assert_eq!(s, "{\"a\":\"x\\udb40\\udc41\\u202e\"}\n");
        let v: serde_json::Value = serde_json::from_str(&s).expect("JSON");
        assert_eq!(v["a"], "x\u{e0041}\u{202e}");
    }

    #[test]
    fn wrapping_keeps_quoted_text_off_the_line_start() {
        let line = format!("✔ PASS  {}", "word ".repeat(40));
        let wrapped = wrap_for_terminal(&format!("{line}\nshort\n"));
        let lines: Vec<&str> = wrapped.lines().collect();
        assert!(lines.len() > 3, "{wrapped}");
        assert!(lines[0].starts_with("✔ PASS"));
        for l in &lines[1..lines.len() - 1] {
            assert!(l.starts_with(WRAP_INDENT), "{l:?}");
        }
        assert_eq!(*lines.last().expect("line"), "short");
        use unicode_width::UnicodeWidthStr as _;
        assert!(lines.iter().all(|l| l.width() <= TERMINAL_COLUMNS), "{wrapped}");
        // Characters some terminals draw wider than unicode-width says
        // (a spacing mark, an ambiguous-width dot) cannot push text past
        // the edge: counted high.
        let tricky = format!(
            "· CLAIM cosigned by: {}{}{}VERIFIED against your policy",
            "x".repeat(30),
            "\u{302e}".repeat(17),
            "\u{d4e}"
        );
        let out = wrap_for_terminal(&tricky);
        assert!(out.lines().all(|l| l.chars().map(columns).sum::<usize>() <= TERMINAL_COLUMNS));
        assert!(out.lines().skip(1).all(|l| l.starts_with(WRAP_INDENT)), "{out}");
        assert!(out.lines().count() > 1, "{out}");
        // Wide characters count two columns; a run without spaces is cut.
        let wide = wrap_for_terminal(&"王".repeat(100));
        assert!(wide.lines().all(|l| l.width() <= TERMINAL_COLUMNS), "{wide}");
        assert_eq!(wide.lines().next().map(|l| l.chars().count()), Some(40));
    }

    #[test]
    fn times() {
        assert_eq!(unix_to_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(unix_to_rfc3339(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(unix_to_rfc3339(u64::MAX), format!("Unix time {}", u64::MAX));
    }
}
