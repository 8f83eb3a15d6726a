// Strict JSON in (DESIGN.md: no duplicate names, no floats or exponents,
// integers within ±(2^53-1), no lone surrogates, bounded depth and strings)
// and RFC 8785 canonical JSON out. Twin of verifier/src/jcs.rs.

import { fail } from './error.js';
import { isWellFormed, utf8Length } from './std.js';

/** Parses strict JSON text; objects have no prototype. Throws Fail. */
export function parseStrictJson(text, { maxDepth = 16, maxString = Infinity } = {}) {
  let i = 0;
  const bad = (what) => fail('r.json', { what, pos: i });
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const value = (depth) => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      if (depth >= maxDepth) bad('depth');
      return c === '{' ? object(depth + 1) : array(depth + 1);
    }
    if (c === '"') return string();
    if (c === '-' || (c >= '0' && c <= '9')) return number();
    for (const [lit, v] of [['true', true], ['false', false], ['null', null]]) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return v;
      }
    }
    return bad('syntax');
  };
  const object = (depth) => {
    const out = Object.create(null);
    i++;
    ws();
    if (text[i] === '}') {
      i++;
      return out;
    }
    for (;;) {
      ws();
      if (text[i] !== '"') bad('syntax');
      const k = string();
      if (Object.prototype.hasOwnProperty.call(out, k)) bad('duplicate');
      ws();
      if (text[i++] !== ':') bad('syntax');
      out[k] = value(depth);
      ws();
      const c = text[i++];
      if (c === '}') return out;
      if (c !== ',') bad('syntax');
    }
  };
  const array = (depth) => {
    const out = [];
    i++;
    ws();
    if (text[i] === ']') {
      i++;
      return out;
    }
    for (;;) {
      out.push(value(depth));
      ws();
      const c = text[i++];
      if (c === ']') return out;
      if (c !== ',') bad('syntax');
    }
  };
  const number = () => {
    const match = /^-?(0|[1-9][0-9]*)([.eE])?/.exec(text.slice(i, i + 40));
    if (!match) bad('syntax');
    if (match[2]) bad('float');
    // JCS would write -0 back as 0, so it cannot survive a round trip.
    if (match[0] === '-0') bad('minus_zero');
    const n = Number(match[0]);
    if (!Number.isSafeInteger(n)) bad('range');
    i += match[0].length;
    return n;
  };
  const string = () => {
    const start = ++i;
    let out = '';
    let run = start;
    for (;;) {
      if (i >= text.length) bad('syntax');
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) bad('control');
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += text.slice(run, i);
      const e = text[i + 1];
      const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e in simple) {
        out += simple[e];
        i += 2;
      } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
        out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
        i += 6;
      } else {
        bad('escape');
      }
      run = i;
    }
    out += text.slice(run, i);
    i++;
    if (!isWellFormed(out)) bad('surrogate');
    // The limit is in UTF-8 bytes after unescaping, as the Rust parser counts.
    if (out.length > maxString / 3 && utf8Length(out) > maxString) bad('long_string');
    return out;
  };
  const v = value(0);
  ws();
  if (i !== text.length) bad('trailing');
  return v;
}

/** UTF-8 bytes to text, refusing invalid UTF-8 and a byte order mark. */
export function decodeUtf8(bytes) {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) fail('r.json', { what: 'bom', pos: 0 });
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return fail('r.json', { what: 'utf8', pos: 0 });
  }
}

/** RFC 8785 canonical JSON of a value from parseStrictJson (integers only):
 * members sorted by UTF-16 code units, no whitespace, ECMAScript strings. */
export function canonicalJson(v) {
  if (v === null) return 'null';
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(v).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
}

/** A JSON object (not null, not an array), as serde_json's Value::is_object. */
export const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
