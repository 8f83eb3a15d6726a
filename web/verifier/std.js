// What Rust's standard library gives the Rust verifier for free: text
// encoding, byte slices, UTF-8 lengths and well-formedness, and the
// whitespace rules of char::is_whitespace, str::trim, split_whitespace and
// str::lines. No twin file in verifier/src; imported by most modules here.

/** UTF-8 text to bytes. */
export const utf8 = new TextEncoder();

/** Bytes of `parts` one after the other. */
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Whether two byte arrays are equal. */
export const eqBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The UTF-8 length of well-formed text, without encoding it. */
export function utf8Length(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Whether text is well-formed UTF-16 (no lone surrogate), as every Rust
 * string is. */
export function isWellFormed(s) {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

// Rust's char::is_whitespace (Unicode White_Space). Not JavaScript's \s,
// which also holds U+FEFF and lacks U+0085.
export const WS = '\\u0009-\\u000d\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const WS_RUN_RE = new RegExp(`[${WS}]+`, 'u');
const TRIM_RE = new RegExp(`^[${WS}]+|[${WS}]+$`, 'gu');
/** Rust's str::trim. */
export const trimWs = (s) => s.replace(TRIM_RE, '');
/** Rust's str::split_whitespace. */
export const splitWs = (s) => s.split(WS_RUN_RE).filter((x) => x !== '');

/** Lines as Rust's str::lines: split at '\n', one trailing '\r' dropped. */
export function textLines(text) {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
