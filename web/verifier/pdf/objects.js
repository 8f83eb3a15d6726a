// PDF objects (ISO 32000-1 §7.2-§7.3): the lexer and parser of the few
// things the signature checks read, and FlateDecode for cross-reference and
// object streams. The Rust verifier gets this from lopdf (its parser and
// filters); no twin file in verifier/src, and no maintained npm package
// gives what the rules need (docs/pdf-signatures.md §1: where each object
// starts, revision by revision), so this reader is compact and ours.
//
// Values: integers are BigInt (so that `/ByteRange` tells 5 from 5.0, as
// lopdf's Object::Integer does), reals Number, names {name}, strings
// {str: bytes, hex}, arrays Array, dictionaries Map (name → value, the
// last of a repeated key wins), references {ref: [num, gen]}, booleans,
// null; a stream is {dict, data (raw bytes)}. Every read is bounded: the
// parser never recurses more than MAX_DEPTH and never reads past `end`.

const MAX_DEPTH = 64;
/** Largest decoded stream (object or cross-reference stream), bytes. */
export const MAX_DECODED_STREAM = 64 << 20;

const WHITE = new Set([0, 9, 10, 12, 13, 32]);
const DELIM = new Set([0x28, 0x29, 0x3c, 0x3e, 0x5b, 0x5d, 0x7b, 0x7d, 0x2f, 0x25]);
const isWhite = (c) => WHITE.has(c);
const isRegular = (c) => c !== undefined && !WHITE.has(c) && !DELIM.has(c);
const isDigit = (c) => c >= 0x30 && c <= 0x39;

class Bad extends Error {}
const bad = () => {
  throw new Bad('pdf');
};

/** A cursor over `bytes` that reads PDF tokens and objects. */
export class Parser {
  constructor(bytes, at = 0) {
    this.b = bytes;
    this.p = at;
  }

  /** Skips white space and comments. */
  skip() {
    const b = this.b;
    for (;;) {
      while (this.p < b.length && isWhite(b[this.p])) this.p++;
      if (b[this.p] !== 0x25) return;
      while (this.p < b.length && b[this.p] !== 10 && b[this.p] !== 13) this.p++;
    }
  }

  /** The keyword or number token at the cursor, without moving it. */
  peekWord() {
    this.skip();
    let q = this.p;
    while (isRegular(this.b[q])) q++;
    return String.fromCharCode(...this.b.subarray(this.p, Math.min(q, this.p + 32)));
  }

  /** Reads the keyword `w` or fails. */
  expect(w) {
    if (this.peekWord() !== w) bad();
    this.p += w.length;
  }

  /** An unsigned integer token as a Number, or null (cursor unmoved). */
  uint() {
    this.skip();
    let q = this.p;
    while (isDigit(this.b[q])) q++;
    if (q === this.p || q - this.p > 15 || isRegular(this.b[q])) return null;
    const v = Number(String.fromCharCode(...this.b.subarray(this.p, q)));
    this.p = q;
    return v;
  }

  /** One object; `N G R` is a reference where a value is allowed. */
  object(depth = 0) {
    if (depth > MAX_DEPTH) bad();
    this.skip();
    const b = this.b;
    const c = b[this.p];
    if (c === undefined) bad();
    if (c === 0x2f) return this.name();
    if (c === 0x28) return this.literal();
    if (c === 0x3c && b[this.p + 1] === 0x3c) return this.dict(depth);
    if (c === 0x3c) return this.hexString();
    if (c === 0x5b) {
      this.p++;
      const out = [];
      for (;;) {
        this.skip();
        if (b[this.p] === 0x5d) {
          this.p++;
          return out;
        }
        out.push(this.object(depth + 1));
      }
    }
    const word = this.peekWord();
    if (word === 'true' || word === 'false' || word === 'null') {
      this.p += word.length;
      return word === 'null' ? null : word === 'true';
    }
    return this.number();
  }

  number() {
    const start = this.p;
    const ref = this.reference();
    if (ref) return ref;
    this.p = start;
    let q = this.p;
    while (isRegular(this.b[q])) q++;
    const text = String.fromCharCode(...this.b.subarray(this.p, q));
    if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(text) || text.length > 40) bad();
    this.p = q;
    return /^[+-]?\d+$/.test(text) ? BigInt(text) : Number(text);
  }

  /** `N G R` at the cursor, or null. */
  reference() {
    const num = this.uint();
    if (num === null) return null;
    const gen = this.uint();
    if (gen === null || this.peekWord() !== 'R') return null;
    this.p += 1;
    return { ref: [num, gen] };
  }

  name() {
    const b = this.b;
    this.p++;
    const out = [];
    while (isRegular(b[this.p])) {
      const c = b[this.p++];
      if (c === 0x23 && /^[0-9a-fA-F]{2}$/.test(String.fromCharCode(b[this.p] ?? 0, b[this.p + 1] ?? 0))) {
        out.push(parseInt(String.fromCharCode(b[this.p], b[this.p + 1]), 16));
        this.p += 2;
      } else out.push(c);
    }
    return { name: String.fromCharCode(...out) };
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
        const e = b[this.p++];
        const simple = { 0x6e: 10, 0x72: 13, 0x74: 9, 0x62: 8, 0x66: 12, 0x28: 0x28, 0x29: 0x29, 0x5c: 0x5c };
        if (e in simple) out.push(simple[e]);
        else if (e >= 0x30 && e <= 0x37) {
          let v = e - 0x30;
          for (let i = 0; i < 2 && b[this.p] >= 0x30 && b[this.p] <= 0x37; i++) v = v * 8 + b[this.p++] - 0x30;
          out.push(v & 0xff);
        } else if (e === 13) {
          if (b[this.p] === 10) this.p++;
        } else if (e !== 10) out.push(e);
      } else if (c === 0x28) {
        depth++;
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
      const c = b[this.p++];
      if (c === undefined) bad();
      if (c === 0x3e) break;
      if (isWhite(c)) continue;
      const v = parseInt(String.fromCharCode(c), 16);
      if (Number.isNaN(v)) bad();
      digits.push(v);
    }
    if (digits.length % 2) digits.push(0);
    const out = new Uint8Array(digits.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = digits[2 * i] * 16 + digits[2 * i + 1];
    return { str: out, hex: true };
  }

  dict(depth) {
    this.p += 2;
    const map = new Map();
    for (;;) {
      this.skip();
      if (this.b[this.p] === 0x3e && this.b[this.p + 1] === 0x3e) {
        this.p += 2;
        return map;
      }
      if (this.b[this.p] !== 0x2f) bad();
      const key = this.name().name;
      map.set(key, this.object(depth + 1));
    }
  }

  /**
   * The indirect object at the cursor, `N G obj <object> [stream]`: {id:
   * [N, G], value}. A stream's data is `/Length` bytes when that is a
   * direct integer, else `lengthOf(ref)` when it resolves, else up to the
   * next `endstream`.
   */
  indirect(lengthOf = () => null) {
    const num = this.uint();
    const gen = this.uint();
    if (num === null || gen === null) bad();
    this.expect('obj');
    const value = this.object();
    if (!(value instanceof Map) || this.peekWord() !== 'stream') return { id: [num, gen], value };
    this.p += 'stream'.length;
    if (this.b[this.p] === 13) this.p++;
    if (this.b[this.p] === 10) this.p++;
    const start = this.p;
    const len = value.get('Length');
    let n = typeof len === 'bigint' ? Number(len) : len?.ref ? lengthOf(len.ref) : null;
    if (n === null || n < 0 || start + n > this.b.length) n = findFrom(this.b, ENDSTREAM, start) - start;
    if (n < 0) bad();
    this.p = start + n;
    return { id: [num, gen], value: { dict: value, data: this.b.subarray(start, start + n) } };
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

async function inflate(data) {
  try {
    const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream('deflate'));
    const chunks = [];
    let total = 0;
    for await (const c of stream) {
      total += c.length;
      if (total > MAX_DECODED_STREAM) return null;
      chunks.push(c);
    }
    const out = new Uint8Array(total);
    let o = 0;
    for (const c of chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  } catch {
    return null;
  }
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
