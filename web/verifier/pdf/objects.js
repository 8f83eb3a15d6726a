// PDF objects (ISO 32000-1 §7.2-§7.3): the lexer and parser of the few
// things the signature checks read, and FlateDecode for cross-reference and
// object streams. The Rust verifier gets this from lopdf (its parser and
// filters); no twin file in verifier/src, and no maintained npm package
// gives what the rules need (docs/pdf-signatures.md §1: where each object
// starts, revision by revision, read as lopdf reads it), so this reader is
// compact and ours (§11 says why not pdf.js or pdf-lib).
//
// Values: integers are BigInt (so that `/ByteRange` tells 5 from 5.0, as
// lopdf's Object::Integer does), reals Number, names {name, bytes}, strings
// {str: bytes, hex}, arrays Array, dictionaries Map (name → value, the
// last of a repeated key wins; `name` holds each byte as one code unit,
// `bytes` the bytes), references {ref: [num, gen]}, booleans,
// null; a stream is {dict, data (raw bytes)}. Every read is bounded: the
// parser nests at most MAX_DEPTH deep, never reads past the bytes it was
// given, and inflates at most MAX_DECODED_STREAM bytes a stream.

const MAX_DEPTH = 64;
/** Largest decoded stream (object or cross-reference stream), bytes. */
export const MAX_DECODED_STREAM = 64 << 20;

const WHITE = new Set([0, 9, 10, 12, 13, 32]);
const DELIM = new Set([0x28, 0x29, 0x3c, 0x3e, 0x5b, 0x5d, 0x7b, 0x7d, 0x2f, 0x25]);
const isWhite = (c) => WHITE.has(c);
const isRegular = (c) => c !== undefined && !WHITE.has(c) && !DELIM.has(c);
const isDigit = (c) => c >= 0x30 && c <= 0x39;
const isHex = (c) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
const I64_MAX = (1n << 63n) - 1n;

class Bad extends Error {}
const bad = () => {
  throw new Bad('pdf');
};

/**
 * A cursor over `bytes` that reads PDF objects with the grammar of lopdf
 * 0.42's parser (parser/mod.rs), so that a malformed file reads the same
 * in both verifiers: tokens need no delimiter after them (`1 0R` is a
 * reference, `nullx` is null then `x`), a comment ends at an end of line,
 * a real is `[+-]digits.digits*` or `[+-].digits`, an integer must fit in
 * an i64.
 */
export class Parser {
  constructor(bytes, at = 0) {
    this.b = bytes;
    this.p = at;
  }

  /** lopdf `space`: white space and comments (a comment needs its end of line). */
  skip() {
    const b = this.b;
    for (;;) {
      while (this.p < b.length && isWhite(b[this.p])) this.p++;
      if (b[this.p] !== 0x25) return;
      let q = this.p;
      while (q < b.length && b[q] !== 10 && b[q] !== 13) q++;
      if (q >= b.length) return;
      this.p = q + (b[q] === 13 && b[q + 1] === 10 ? 2 : 1);
    }
  }

  /** Whether `word` is at the cursor; if so, moves past it. */
  tag(word) {
    for (let i = 0; i < word.length; i++) if (this.b[this.p + i] !== word.charCodeAt(i)) return false;
    this.p += word.length;
    return true;
  }

  /** The keyword or number token at the cursor (after white space), without moving. */
  peekWord() {
    this.skip();
    let q = this.p;
    while (isRegular(this.b[q])) q++;
    return String.fromCharCode(...this.b.subarray(this.p, Math.min(q, this.p + 32)));
  }

  /** Reads the keyword `w` (after white space) or fails. */
  expect(w) {
    this.skip();
    if (!this.tag(w)) bad();
  }

  /** lopdf `digit1`: one or more digits, as a BigInt; null (unmoved) if none. */
  digits() {
    let q = this.p;
    while (isDigit(this.b[q])) q++;
    if (q === this.p || q - this.p > 40) return null;
    const v = BigInt(String.fromCharCode(...this.b.subarray(this.p, q)));
    this.p = q;
    return v;
  }

  /** An unsigned integer after white space, as a Number below 2^32; null
   * (unmoved) if none. */
  uint() {
    const at = this.p;
    this.skip();
    const v = this.digits();
    if (v === null || v > 0xffffffffn) {
      this.p = at;
      return null;
    }
    return Number(v);
  }

  /** One direct object and the white space after it (lopdf `_direct_object`),
   * white space before it skipped. */
  object(depth = 0) {
    this.skip();
    const v = this.direct(depth);
    this.skip();
    return v;
  }

  /** One direct object (lopdf `_direct_objects`, its alternatives in order). */
  direct(depth) {
    if (depth > MAX_DEPTH) bad();
    const b = this.b;
    if (this.tag('null')) return null;
    if (this.tag('true')) return true;
    if (this.tag('false')) return false;
    const ref = this.reference();
    if (ref) return ref;
    const num = this.number();
    if (num !== null) return num;
    const c = b[this.p];
    if (c === 0x2f) return this.name();
    if (c === 0x28) return this.literal();
    if (c === 0x3c && b[this.p + 1] !== 0x3c) return this.hexString();
    if (c === 0x5b) {
      this.p++;
      this.skip();
      const out = [];
      while (b[this.p] !== 0x5d) {
        if (this.p >= b.length) bad();
        out.push(this.object(depth + 1));
      }
      this.p++;
      return out;
    }
    if (c === 0x3c) return this.dict(depth);
    return bad();
  }

  /** `N space G space R` (lopdf `reference`: N a u32, G a u16), or null (unmoved). */
  reference() {
    const at = this.p;
    const num = this.digits();
    if (num !== null && num <= 0xffffffffn) {
      this.skip();
      const gen = this.digits();
      if (gen !== null && gen <= 0xffffn) {
        this.skip();
        if (this.tag('R')) return { ref: [Number(num), Number(gen)] };
      }
    }
    this.p = at;
    return null;
  }

  /** A real (a Number) or an integer (a BigInt within i64), or null (unmoved). */
  number() {
    const b = this.b;
    const at = this.p;
    if (b[this.p] === 0x2b || b[this.p] === 0x2d) this.p++;
    const whole = this.digits();
    if (b[this.p] === 0x2e && (whole !== null || isDigit(b[this.p + 1]))) {
      this.p++;
      this.digits();
      return Number(String.fromCharCode(...b.subarray(at, this.p)));
    }
    if (whole === null) {
      this.p = at;
      return null;
    }
    const v = BigInt(String.fromCharCode(...b.subarray(at, this.p)));
    if (v > I64_MAX || v < -I64_MAX - 1n) {
      this.p = at;
      return null;
    }
    return v;
  }

  name() {
    const b = this.b;
    this.p++;
    const out = [];
    for (;;) {
      const c = b[this.p];
      if (c === 0x23 && isHex(b[this.p + 1]) && isHex(b[this.p + 2])) {
        out.push(parseInt(String.fromCharCode(b[this.p + 1], b[this.p + 2]), 16));
        this.p += 3;
      } else if (c !== 0x23 && isRegular(c)) {
        out.push(c);
        this.p++;
      } else break;
    }
    return { name: String.fromCharCode(...out), bytes: Uint8Array.from(out) };
  }

  literal() {
    const b = this.b;
    const out = [];
    let depth = 0;
    this.p++;
    for (;;) {
      if (this.p >= b.length) bad();
      const c = b[this.p++];
      if (c === 0x5c) {
        const e = b[this.p];
        const simple = { 0x6e: 10, 0x72: 13, 0x74: 9, 0x62: 8, 0x66: 12 };
        if (e >= 0x30 && e <= 0x37) {
          let v = 0;
          for (let i = 0; i < 3 && b[this.p] >= 0x30 && b[this.p] <= 0x37; i++) v = v * 8 + b[this.p++] - 0x30;
          out.push(v & 0xff);
        } else if (e === 13 || e === 10) {
          this.p += e === 13 && b[this.p + 1] === 10 ? 2 : 1;
        } else if (e in simple) {
          out.push(simple[e]);
          this.p++;
        } else if (e !== undefined) {
          out.push(e);
          this.p++;
        } else bad();
      } else if (c === 0x28) {
        if (++depth > MAX_DEPTH) bad();
        out.push(c);
      } else if (c === 0x29) {
        if (depth === 0) return { str: Uint8Array.from(out), hex: false };
        depth--;
        out.push(c);
      } else out.push(c);
    }
  }

  hexString() {
    const b = this.b;
    this.p++;
    const digits = [];
    for (;;) {
      while (isWhite(b[this.p])) this.p++;
      const c = b[this.p];
      if (c === 0x3e) break;
      if (!isHex(c)) bad();
      digits.push(parseInt(String.fromCharCode(c), 16));
      this.p++;
    }
    this.p++;
    if (digits.length % 2) digits.push(0);
    const out = new Uint8Array(digits.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = digits[2 * i] * 16 + digits[2 * i + 1];
    return { str: out, hex: true };
  }

  dict(depth) {
    this.p += 2;
    this.skip();
    const map = new Map();
    while (this.b[this.p] === 0x2f) {
      const key = this.name().name;
      this.skip();
      map.set(key, this.object(depth + 1));
    }
    if (!this.tag('>>')) bad();
    return map;
  }

  /**
   * The indirect object at the cursor, `N G obj <object> [stream]`: {id:
   * [N, G], value}. As lopdf: a stream's data is `/Length` bytes (direct,
   * or `lengthOf(ref)`), then an optional end of line and `endstream`, or
   * the object does not parse; without a usable `/Length` the data is
   * empty.
   */
  indirect(lengthOf = () => null) {
    this.skip();
    const num = this.digits();
    this.skip();
    const gen = this.digits();
    this.skip();
    if (num === null || gen === null || num > 0xffffffffn || gen > 0xffffn || !this.tag('obj')) bad();
    this.skip();
    const id = [Number(num), Number(gen)];
    const value = this.direct(0);
    const afterValue = this.p;
    this.skip();
    if (!(value instanceof Map) || !this.tag('stream')) {
      this.p = afterValue;
      return { id, value };
    }
    // Where the stream part does not parse, lopdf backtracks and reads the
    // dictionary alone (a negative /Length fails the object).
    const plain = () => {
      this.p = afterValue;
      return { id, value };
    };
    const b = this.b;
    while (b[this.p] === 0x20 || b[this.p] === 9) this.p++;
    if (b[this.p] === 13 && b[this.p + 1] === 10) this.p += 2;
    else if (b[this.p] === 10 || b[this.p] === 13) this.p++;
    else return plain();
    const start = this.p;
    const len = value.get('Length');
    const n = typeof len === 'bigint' ? len : len?.ref ? lengthOf(len.ref) : null;
    if (n === null) return { id, value: { dict: value, data: b.subarray(start, start) } };
    if (n < 0n) bad();
    if (BigInt(start) + n > BigInt(b.length)) return plain();
    this.p = start + Number(n);
    if (b[this.p] === 13 && b[this.p + 1] === 10) this.p += 2;
    else if (b[this.p] === 10 || b[this.p] === 13) this.p++;
    if (findFrom(b.subarray(this.p, this.p + ENDSTREAM.length), ENDSTREAM) !== 0) return plain();
    return { id, value: { dict: value, data: b.subarray(start, start + Number(n)) } };
  }
}

const ENDSTREAM = [...'endstream'].map((c) => c.charCodeAt(0));

/** The first position of `needle` (bytes) in `hay` from `from`, or -1. */
export function findFrom(hay, needle, from = 0) {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Runs `f`, and gives null if the bytes do not parse. */
export function tryParse(f) {
  try {
    return f();
  } catch (e) {
    if (e instanceof Bad || e instanceof RangeError || e instanceof SyntaxError) return null;
    throw e;
  }
}

/** A dictionary value as a JS number when it is a safe integer, else null. */
export const intOf = (v) => (typeof v === 'bigint' && v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : null);

/** An array of integers as Numbers, or null. */
export function intArray(v) {
  if (!Array.isArray(v)) return null;
  const out = v.map(intOf);
  return out.every((x) => x !== null) ? out : null;
}

/**
 * A stream's decoded data: FlateDecode (zlib, with the PNG predictors of
 * §7.4.4.4) or no filter; null for any other filter or bad data.
 */
export async function decodeStream({ dict, data }) {
  let filter = dict.get('Filter');
  let parms = dict.get('DecodeParms');
  if (Array.isArray(filter)) {
    if (filter.length > 1) return null;
    [filter] = filter;
    parms = Array.isArray(parms) ? parms[0] : parms;
  }
  if (filter === undefined || filter === null) return data;
  if (filter?.name !== 'FlateDecode') return null;
  const raw = await inflate(data);
  if (!raw) return null;
  const predictor = parms instanceof Map ? intOf(parms.get('Predictor')) ?? 1 : 1;
  if (predictor === 1) return raw;
  if (predictor < 10) return null;
  const columns = parms.get('Columns') === undefined ? 1 : intOf(parms.get('Columns'));
  return columns ? unpredictPng(raw, columns) : null;
}

/** zlib (RFC 1950) as lopdf inflates it: what decodes before an error
 * (a bad Adler-32, a cut stream) is kept; if nothing does, the data after
 * the 2-byte header is tried as raw deflate (RFC 1951), again keeping what
 * decodes. */
async function inflate(data) {
  if (!data.length) return data;
  const out = await inflateWith('deflate', data);
  if (out === null || out.length || data.length <= 2) return out;
  return inflateWith('deflate-raw', data.subarray(2));
}

/** What DecompressionStream(`format`) yields for `data` until it ends or
 * fails; null beyond MAX_DECODED_STREAM. */
async function inflateWith(format, data) {
  const chunks = [];
  let total = 0;
  try {
    const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream(format));
    for await (const c of stream) {
      total += c.length;
      if (total > MAX_DECODED_STREAM) return null;
      chunks.push(c);
    }
  } catch {
    // Keep what was decoded before the error, as flate2's read_to_end does.
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** PNG row filters (RFC 2083 §6), one byte per pixel, `columns` bytes a row. */
function unpredictPng(raw, columns) {
  const rows = Math.floor(raw.length / (columns + 1));
  const out = new Uint8Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    const type = raw[r * (columns + 1)];
    for (let i = 0; i < columns; i++) {
      const x = raw[r * (columns + 1) + 1 + i];
      const a = i > 0 ? out[r * columns + i - 1] : 0;
      const up = r > 0 ? out[(r - 1) * columns + i] : 0;
      const ul = r > 0 && i > 0 ? out[(r - 1) * columns + i - 1] : 0;
      let v;
      if (type === 0) v = x;
      else if (type === 1) v = x + a;
      else if (type === 2) v = x + up;
      else if (type === 3) v = x + ((a + up) >> 1);
      else if (type === 4) {
        const pa = Math.abs(up - ul);
        const pb = Math.abs(a - ul);
        const pc = Math.abs(a + up - 2 * ul);
        v = x + (pa <= pb && pa <= pc ? a : pb <= pc ? up : ul);
      } else return null;
      out[r * columns + i] = v & 0xff;
    }
  }
  return out;
}
