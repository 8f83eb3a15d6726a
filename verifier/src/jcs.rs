//! Strict JSON input and RFC 8785 (JCS) canonical output.
//!
//! The parser is our own recursive descent over bytes: it accepts only the
//! I-JSON subset the ledger can re-hash byte for byte in any language
//! (RFC 7493, RFC 8785 §3.1), and it caps size, depth and string length
//! before anything is allocated. The serializer writes RFC 8785 §3.2 output.
//!
//! Longer than 600 lines: the strict parser and the canonical serializer
//! are one format (~600 lines); the rest is their unit tests.

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

use crate::VerifyError;

/// Largest integer magnitude accepted on input: 2^53 - 1 (I-JSON, RFC 7493 §2.2).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Hard cap on nesting whatever [`Limits::max_depth`] says: the parser
/// recurses once per level, and this keeps its stack use far below 1 MiB.
pub const HARD_MAX_DEPTH: usize = 256;

/// Limits applied while parsing untrusted JSON.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Maximum input size in bytes.
    pub max_bytes: usize,
    /// Maximum nesting depth of arrays and objects.
    pub max_depth: usize,
    /// Maximum length of one string, in bytes after unescaping.
    pub max_string: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bytes: 4 << 20, max_depth: 16, max_string: 64 * 1024 }
    }
}

/// Parses JSON strictly: no floats or exponents, integers within ±(2^53-1),
/// no duplicate keys, no lone surrogates, UTF-8 only, within `limits`.
///
/// Also refused: a byte order mark, `-0` (JCS would write it back as `0`, so
/// it could not survive a round trip), leading zeros, unescaped control
/// characters in strings, and anything after the value but whitespace.
/// Nesting is capped at `min(limits.max_depth, HARD_MAX_DEPTH)`; a scalar
/// at the top level has depth 0, each array or object adds one.
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Value, VerifyError> {
    if bytes.len() > limits.max_bytes {
        return Err(VerifyError::TooLarge {
            what: "json",
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Err(syntax(0, "byte order mark"));
    }
    // One validation pass up front lets the parser slice `&str` safely at
    // ASCII delimiters without re-checking UTF-8 per string.
    let text = std::str::from_utf8(bytes).map_err(|e| syntax(e.valid_up_to(), "invalid UTF-8"))?;
    let mut p = Parser { text, pos: 0, depth: 0, limits: *limits };
    p.limits.max_depth = p.limits.max_depth.min(HARD_MAX_DEPTH);
    p.skip_ws();
    let value = p.value()?;
    p.skip_ws();
    if p.pos != bytes.len() {
        return Err(syntax(p.pos, "trailing data after the JSON value"));
    }
    Ok(value)
}

/// A `Malformed { what: "json" }` error naming the byte offset.
fn syntax(at: usize, msg: &str) -> VerifyError {
    VerifyError::malformed("json", format!("{msg} at byte {at}"))
}

/// Parser state: the validated input, a cursor and the current depth.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
    limits: Limits,
}

impl Parser<'_> {
    /// The byte at the cursor, if any.
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    /// Skips the four whitespace bytes JSON allows (RFC 8259 §2).
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Consumes `b` or fails with `msg`.
    fn expect(&mut self, b: u8, msg: &str) -> Result<(), VerifyError> {
        if self.peek() != Some(b) {
            return Err(syntax(self.pos, msg));
        }
        self.pos += 1;
        Ok(())
    }

    /// Parses one value at the cursor.
    fn value(&mut self) -> Result<Value, VerifyError> {
        match self.peek() {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b) => Err(syntax(self.pos, &format!("unexpected byte 0x{b:02x}"))),
            None => Err(syntax(self.pos, "unexpected end of input")),
        }
    }

    /// Parses `true`, `false` or `null`.
    fn literal(&mut self, word: &str, value: Value) -> Result<Value, VerifyError> {
        if !self.text.as_bytes()[self.pos..].starts_with(word.as_bytes()) {
            return Err(syntax(self.pos, "invalid literal"));
        }
        self.pos += word.len();
        Ok(value)
    }

    /// Enters an array or object, enforcing the depth cap.
    fn enter(&mut self) -> Result<(), VerifyError> {
        if self.depth >= self.limits.max_depth {
            return Err(syntax(self.pos, "nesting too deep"));
        }
        self.depth += 1;
        self.pos += 1;
        self.skip_ws();
        Ok(())
    }

    /// Parses an array; the cursor is on `[`.
    fn array(&mut self) -> Result<Value, VerifyError> {
        self.enter()?;
        let mut items = Vec::new();
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => break,
                _ => return Err(syntax(self.pos, "expected ',' or ']'")),
            }
            self.skip_ws();
        }
        self.pos += 1;
        self.depth -= 1;
        Ok(Value::Array(items))
    }

    /// Parses an object, refusing duplicate keys; the cursor is on `{`.
    fn object(&mut self) -> Result<Value, VerifyError> {
        self.enter()?;
        let mut map = Map::new();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Object(map));
        }
        loop {
            let key_at = self.pos;
            if self.peek() != Some(b'"') {
                return Err(syntax(self.pos, "expected a string key"));
            }
            let key = self.string()?;
            self.skip_ws();
            self.expect(b':', "expected ':'")?;
            self.skip_ws();
            let value = self.value()?;
            match map.entry(key) {
                serde_json::map::Entry::Occupied(_) => return Err(syntax(key_at, "duplicate key")),
                serde_json::map::Entry::Vacant(slot) => slot.insert(value),
            };
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => break,
                _ => return Err(syntax(self.pos, "expected ',' or '}'")),
            }
            self.skip_ws();
        }
        self.pos += 1;
        self.depth -= 1;
        Ok(Value::Object(map))
    }

    /// Parses a string; the cursor is on the opening quote.
    fn string(&mut self) -> Result<String, VerifyError> {
        let start = self.pos + 1;
        let bytes = self.text.as_bytes();
        let mut i = start;
        // Fast path: no escapes means one allocation and no per-char work.
        while let Some(&b) = bytes.get(i) {
            match b {
                b'"' => {
                    self.check_string_len(start, i - start)?;
                    self.pos = i + 1;
                    return Ok(self.text[start..i].to_owned());
                }
                b'\\' => return self.string_with_escapes(start, i),
                0x00..=0x1F => return Err(syntax(i, "unescaped control character in string")),
                _ => i += 1,
            }
        }
        Err(syntax(i, "unterminated string"))
    }

    /// Continues a string from its first escape at `i`.
    fn string_with_escapes(&mut self, start: usize, mut i: usize) -> Result<String, VerifyError> {
        let bytes = self.text.as_bytes();
        let mut out = String::with_capacity(i - start + 16);
        let mut run = start;
        loop {
            match bytes.get(i) {
                Some(b'"') => break,
                Some(b'\\') => {
                    out.push_str(&self.text[run..i]);
                    i = self.escape(i, &mut out)?;
                    run = i;
                }
                Some(0x00..=0x1F) => {
                    return Err(syntax(i, "unescaped control character in string"))
                }
                Some(_) => i += 1,
                None => return Err(syntax(i, "unterminated string")),
            }
            self.check_string_len(start, out.len() + (i - run))?;
        }
        out.push_str(&self.text[run..i]);
        self.pos = i + 1;
        Ok(out)
    }

    /// Enforces [`Limits::max_string`] for the string starting at `start`.
    fn check_string_len(&self, start: usize, len: usize) -> Result<(), VerifyError> {
        if len > self.limits.max_string {
            return Err(syntax(
                start,
                &format!("string longer than {} bytes", self.limits.max_string),
            ));
        }
        Ok(())
    }

    /// Decodes the escape at `i` (on the backslash) into `out`; returns the
    /// offset after it.
    fn escape(&self, i: usize, out: &mut String) -> Result<usize, VerifyError> {
        let c = match self.text.as_bytes().get(i + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => return self.unicode_escape(i, out),
            _ => return Err(syntax(i, "invalid escape")),
        };
        out.push(c);
        Ok(i + 2)
    }

    /// Decodes `\uXXXX`, or a surrogate pair `\uD8xx\uDCxx`; lone
    /// surrogates are not Unicode text and are refused (RFC 8785 §3.1).
    fn unicode_escape(&self, i: usize, out: &mut String) -> Result<usize, VerifyError> {
        let hi = self.hex4(i + 2)?;
        let (code, next) = match hi {
            0xD800..=0xDBFF => {
                let bytes = self.text.as_bytes();
                if bytes.get(i + 6) != Some(&b'\\') || bytes.get(i + 7) != Some(&b'u') {
                    return Err(syntax(i, "lone surrogate"));
                }
                let lo = self.hex4(i + 8)?;
                if !(0xDC00..=0xDFFF).contains(&lo) {
                    return Err(syntax(i, "lone surrogate"));
                }
                (0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00), i + 12)
            }
            0xDC00..=0xDFFF => return Err(syntax(i, "lone surrogate")),
            _ => (hi, i + 6),
        };
        let c = char::from_u32(code).ok_or_else(|| syntax(i, "invalid code point"))?;
        out.push(c);
        Ok(next)
    }

    /// Reads four hex digits at `at`.
    fn hex4(&self, at: usize) -> Result<u32, VerifyError> {
        let digits = self
            .text
            .as_bytes()
            .get(at..at + 4)
            .ok_or_else(|| syntax(at, "truncated \\u escape"))?;
        digits.iter().try_fold(0u32, |acc, &d| {
            let v = (d as char).to_digit(16).ok_or_else(|| syntax(at, "invalid \\u escape"))?;
            Ok(acc << 4 | v)
        })
    }

    /// Parses an integer within ±(2^53-1); fractions and exponents are refused.
    fn number(&mut self) -> Result<Value, VerifyError> {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        let negative = self.peek() == Some(b'-');
        let digits_at = start + usize::from(negative);
        let mut i = digits_at;
        let mut magnitude: u64 = 0;
        while let Some(&d @ b'0'..=b'9') = bytes.get(i) {
            // 17 digits already exceed 2^53; stop before u64 could overflow.
            if i - digits_at >= 17 {
                return Err(syntax(start, "integer out of range"));
            }
            magnitude = magnitude * 10 + u64::from(d - b'0');
            i += 1;
        }
        let len = i - digits_at;
        if len == 0 {
            return Err(syntax(digits_at, "expected a digit"));
        }
        if len > 1 && bytes[digits_at] == b'0' {
            return Err(syntax(start, "leading zero"));
        }
        if let Some(b'.' | b'e' | b'E') = bytes.get(i) {
            return Err(syntax(start, "only integers are allowed (no fraction or exponent)"));
        }
        if magnitude > MAX_SAFE_INTEGER {
            return Err(syntax(start, "integer out of range"));
        }
        if negative && magnitude == 0 {
            return Err(syntax(start, "-0 is not allowed"));
        }
        self.pos = i;
        // magnitude <= 2^53 - 1, so the cast is lossless.
        let n = magnitude as i64;
        Ok(Value::from(if negative { -n } else { n }))
    }
}

/// Appends the RFC 8785 canonical form of `value` to `out`.
pub fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => write_object(map, out),
    }
}

/// The RFC 8785 canonical form of `value`.
pub fn to_canonical(value: &Value) -> Vec<u8> {
    // Most ledger values are a few hundred bytes: skip the small regrowths.
    let mut out = Vec::with_capacity(512);
    write_canonical(value, &mut out);
    out
}

/// RFC 8785 §3.2.3: members sorted by the UTF-16 code units of their names.
///
/// The map iterates in UTF-8 byte order (or insertion order, should a
/// dependency ever enable serde_json's `preserve_order`), which agrees with
/// UTF-16 order except around supplementary characters; one linear check
/// picks the no-allocation path in the common case.
fn write_object(map: &Map<String, Value>, out: &mut Vec<u8>) {
    out.push(b'{');
    let sorted = map.keys().zip(map.keys().skip(1)).all(|(a, b)| cmp_utf16(a, b) == Ordering::Less);
    if sorted {
        write_members(map.iter(), out);
    } else {
        let mut members: Vec<_> = map.iter().collect();
        members.sort_by(|a, b| cmp_utf16(a.0, b.0));
        write_members(members.into_iter(), out);
    }
    out.push(b'}');
}

/// Writes `"name":value` pairs separated by commas.
fn write_members<'a>(members: impl Iterator<Item = (&'a String, &'a Value)>, out: &mut Vec<u8>) {
    for (i, (name, value)) in members.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(name, out);
        out.push(b':');
        write_canonical(value, out);
    }
}

/// Compares two strings by their UTF-16 code units (RFC 8785 §3.2.3).
pub fn cmp_utf16(a: &str, b: &str) -> Ordering {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    let Some(i) = x.iter().zip(y).position(|(p, q)| p != q) else {
        return x.len().cmp(&y.len());
    };
    if x[i] < 0x80 || y[i] < 0x80 {
        // An ASCII byte starts its character, and its code unit is below
        // every non-ASCII unit, so the bytes decide.
        return x[i].cmp(&y[i]);
    }
    // The shared prefix is valid UTF-8, so both strings have a character
    // boundary at the same place at or before `i`.
    let mut start = i;
    while !a.is_char_boundary(start) {
        start -= 1;
    }
    let ca = a[start..].chars().next().map_or(0, utf16_rank);
    let cb = b[start..].chars().next().map_or(0, utf16_rank);
    ca.cmp(&cb)
}

/// A key that orders characters as their first UTF-16 code unit would:
/// U+E000..U+FFFF sort after all supplementary characters (whose first unit
/// is a surrogate, 0xD800..0xDBFF), everything else is in code point order.
fn utf16_rank(c: char) -> u32 {
    let c = c as u32;
    if (0xE000..=0xFFFF).contains(&c) {
        c + 0x20_0000
    } else {
        c
    }
}

/// Writes a string as RFC 8785 §3.2.2.2 requires: `\b \t \n \f \r \" \\`,
/// other controls as lowercase `\u00xx`, everything else literal UTF-8.
pub fn write_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    out.push(b'"');
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x09 => b"\\t",
            0x0A => b"\\n",
            0x0C => b"\\f",
            0x0D => b"\\r",
            0x00..=0x1F => {
                &[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[run..i]);
        out.extend_from_slice(short);
        run = i + 1;
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

/// Writes a number as RFC 8785 §3.2.2.3 requires (ECMAScript
/// Number::toString of the IEEE 754 double). Safe integers, all that
/// [`parse`] produces, take the direct path.
fn write_number(n: &Number, out: &mut Vec<u8>) {
    if let Some(i) = n.as_i64().filter(|i| i.unsigned_abs() <= 1 << 53) {
        write_int(i, out);
    } else if let Some(f) = n.as_f64() {
        write_es_double(f, out);
    }
}

/// Writes an integer in plain decimal without allocating.
fn write_int(v: i64, out: &mut Vec<u8>) {
    if v < 0 {
        out.push(b'-');
    }
    let mut u = v.unsigned_abs();
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// ECMAScript Number::toString (ECMA-262 §6.1.6.1.20) for a finite double.
///
/// Rust's `{:e}` yields the shortest round-trip digits, the same digits the
/// ECMAScript algorithm selects; only the layout differs.
fn write_es_double(f: f64, out: &mut Vec<u8>) {
    if f == 0.0 || !f.is_finite() {
        // -0 prints as 0; serde_json cannot hold NaN or infinities.
        out.push(b'0');
        return;
    }
    if f < 0.0 {
        out.push(b'-');
    }
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let exp = exp.parse::<i32>().unwrap_or(0);
    prefer_even(f.abs(), &mut digits, exp);
    let k = digits.len() as i32;
    // n: the decimal point sits after n digits (ECMAScript's n).
    let n = exp + 1;
    if k <= n && n <= 21 {
        out.extend_from_slice(&digits);
        out.resize(out.len() + (n - k) as usize, b'0');
    } else if 0 < n && n <= 21 {
        out.extend_from_slice(&digits[..n as usize]);
        out.push(b'.');
        out.extend_from_slice(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.extend_from_slice(b"0.");
        out.resize(out.len() + (-n) as usize, b'0');
        out.extend_from_slice(&digits);
    } else {
        out.push(digits[0]);
        if k > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.extend_from_slice(if n > 0 { b"e+" } else { b"e-" });
        write_int(i64::from((n - 1).abs()), out);
    }
}

/// ECMA-262 Number::toString, Note 2 (which RFC 8785 follows): of two
/// shortest candidates equally close to the double, take the even one.
/// Rust's shortest formatting does not promise that tie rule, so a tie is
/// detected from the exact expansion (`{:.800e}` is exact: a double has at
/// most 767 significant digits) and the last digit adjusted if the even
/// neighbour still reads back as the same double.
fn prefer_even(f: f64, digits: &mut [u8], exp: i32) {
    let Some(&last) = digits.last() else { return };
    // b'0' is even, so a digit's byte has the digit's parity.
    if last & 1 == 0 {
        return;
    }
    let exact = format!("{f:.800e}");
    let Some((mantissa, e)) = exact.split_once('e') else {
        return;
    };
    let mut exact: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    while exact.last() == Some(&b'0') {
        exact.pop();
    }
    let k = digits.len();
    if e.parse::<i32>() != Ok(exp)
        || exact.len() != k + 1
        || exact[k] != b'5'
        || exact[..k - 1] != digits[..k - 1]
    {
        return;
    }
    let even = match exact[k - 1] {
        d if d == last => last + 1,
        d if d + 1 == last => last - 1,
        _ => return,
    };
    if even > b'9' {
        return;
    }
    let mut text = String::with_capacity(k + 8);
    text.push(char::from(digits[0]));
    text.push('.');
    text.extend(digits[1..k - 1].iter().map(|&d| char::from(d)));
    text.push(char::from(even));
    if text.ends_with('.') {
        text.push('0');
    }
    if format!("{text}e{exp}").parse::<f64>() == Ok(f) {
        digits[k - 1] = even;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Value {
        parse(s.as_bytes(), &Limits::default()).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn reason(s: &[u8]) -> String {
        match parse(s, &Limits::default()) {
            Err(VerifyError::Malformed { what: "json", reason }) => reason,
            other => {
                panic!("{:?}: expected malformed json, got {other:?}", String::from_utf8_lossy(s))
            }
        }
    }

    #[test]
    fn accepts_plain_json() {
        assert_eq!(
            ok(" {\"a\" : [1, -2, true, false, null, \"x\"]}\n"),
            serde_json::json!({"a": [1, -2, true, false, null, "x"]})
        );
        assert_eq!(ok("9007199254740991"), serde_json::json!(9007199254740991u64));
        assert_eq!(ok("-9007199254740991"), serde_json::json!(-9007199254740991i64));
        assert_eq!(ok(r#""\ud83d\ude00 \u00e9 \/ \b""#), Value::String("😀 é / \u{8}".into()));
        assert_eq!(ok("0"), serde_json::json!(0));
    }

    #[test]
    fn rejects_with_offsets() {
        let table: &[(&[u8], &str)] = &[
            (b"1.5", "only integers"),
            (b"1e3", "only integers"),
            (b"1E3", "only integers"),
            (b"01", "leading zero"),
            (b"-0", "-0 is not allowed"),
            (b"-", "expected a digit"),
            (b"9007199254740992", "out of range"),
            (b"-9007199254740992", "out of range"),
            (b"123456789012345678901234567890", "out of range"),
            (b"{\"a\":1,\"a\":2}", "duplicate key at byte 7"),
            (b"\"\\ud800\"", "lone surrogate"),
            (b"\"\\udc00\"", "lone surrogate"),
            (b"\"\\ud800\\u0041\"", "lone surrogate"),
            (b"\"a\x01\"", "control character in string at byte 2"),
            (b"\"a\tb\"", "control character"),
            (b"{} x", "trailing data after the JSON value at byte 3"),
            (b"\xEF\xBB\xBF{}", "byte order mark at byte 0"),
            (b"\"\xff\"", "invalid UTF-8 at byte 1"),
            (b"[1,]", "unexpected byte"),
            (b"{\"a\":1,}", "expected a string key"),
            (b"[1 2]", "expected ',' or ']'"),
            (b"tru", "invalid literal"),
            (b"\"abc", "unterminated string"),
            (b"\"\\x\"", "invalid escape"),
            (b"\"\\u12\"", "truncated \\u escape"),
            (b"\"\\u12zz\"", "invalid \\u escape"),
            (b"", "unexpected end"),
            (b"NaN", "unexpected byte"),
            (b"{'a':1}", "expected a string key"),
        ];
        for (input, want) in table {
            let got = reason(input);
            assert!(
                got.contains(want),
                "{:?}: {got:?} lacks {want:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn caps_size_depth_and_strings() {
        let limits = Limits { max_bytes: 10, max_depth: 2, max_string: 3 };
        assert_eq!(
            parse(b"[1,2,3,4,5,6]", &limits),
            Err(VerifyError::TooLarge { what: "json", size: 13, limit: 10 })
        );
        assert!(parse(b"[[1]]", &limits).is_ok());
        assert!(reason_with(b"[[[1]]]", &limits).contains("nesting too deep"));
        assert!(parse(b"\"abc\"", &limits).is_ok());
        assert!(reason_with(b"\"abcd\"", &limits).contains("string longer"));
        assert!(reason_with(b"\"ab\\n\\n\"", &limits).contains("string longer"));
        let deep = "[".repeat(100_000);
        let unbounded = Limits { max_bytes: 1 << 20, max_depth: usize::MAX, max_string: 10 };
        assert!(reason_with(deep.as_bytes(), &unbounded).contains("nesting too deep"));
    }

    fn reason_with(s: &[u8], limits: &Limits) -> String {
        match parse(s, limits) {
            Err(VerifyError::Malformed { reason, .. }) => reason,
            other => panic!("expected malformed, got {other:?}"),
        }
    }

    #[test]
    fn escapes_strings_like_jcs() {
        let mut out = Vec::new();
        write_string("\u{8}\t\n\u{c}\r\"\\\u{1}\u{1f}\u{7f}/é😀", &mut out);
        assert_eq!(out, "\"\\b\\t\\n\\f\\r\\\"\\\\\\u0001\\u001f\u{7f}/é😀\"".as_bytes());
    }

    #[test]
    fn utf16_order() {
        assert_eq!(cmp_utf16("a", "b"), Ordering::Less);
        assert_eq!(cmp_utf16("ab", "a"), Ordering::Greater);
        assert_eq!(cmp_utf16("😀", "\u{fb33}"), Ordering::Less);
        assert_eq!(cmp_utf16("\u{ffff}", "\u{10000}"), Ordering::Greater);
        assert_eq!(cmp_utf16("\u{d7ff}", "\u{10000}"), Ordering::Less);
        assert_eq!(cmp_utf16("é", "ê"), Ordering::Less);
        assert_eq!(cmp_utf16("x😀", "x😁"), Ordering::Less);
        for (a, b) in [("a", "é"), ("\u{e000}", "😀"), ("😀", "😀a")] {
            let want = a.encode_utf16().cmp(b.encode_utf16());
            assert_eq!(cmp_utf16(a, b), want, "{a} {b}");
        }
    }
}
