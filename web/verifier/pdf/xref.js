// One revision of a PDF read as lopdf 0.42 reads a file (Document::load_mem,
// the Rust verifier's structure parser), so that both verifiers see the
// same objects: the first `%PDF-` (what precedes it is dropped) and an end
// of line after it; `startxref` within 25 bytes before the
// last `%%EOF` of the final 512 bytes; the cross-reference table or stream
// there (ISO 32000-1 §7.5.4, §7.5.8), its `/Prev` chain (newer entries
// win; free entries are skipped, as lopdf skips them) and a hybrid file's
// `/XRefStm`; then every in-use object at its offset (one that does not
// parse is left out) and every object of the object streams found
// (§7.5.7), never replacing an object read at an offset.

import { Parser, decodeStream, findFrom, intArray, intOf, tryParse } from './objects.js';

const ascii = (s) => [...s].map((c) => c.charCodeAt(0));
const PDF_HEADER = ascii('%PDF-');
const EOF = ascii('%%EOF');
const STARTXREF = ascii('startxref');
/** Most cross-reference sections followed down a `/Prev` chain. */
const MAX_SECTIONS = 1024;
/** Most objects read in one object stream. */
const MAX_OBJSTM_OBJECTS = 100000;

/** The last position of `needle` in `hay[from..]`, or -1. */
function rfind(hay, needle, from) {
  for (let i = hay.length - needle.length; i >= from; i--) {
    let ok = true;
    for (let j = 0; j < needle.length && ok; j++) ok = hay[i + j] === needle[j];
    if (ok) return i;
  }
  return -1;
}

/** The offset `startxref` gives (lopdf get_xref_start), or null. */
function xrefStart(buf) {
  const eof = rfind(buf, EOF, Math.max(0, buf.length - 512));
  if (eof <= 25) return null;
  const at = rfind(buf.subarray(0, eof), STARTXREF, eof - 25);
  if (at < 0) return null;
  const p = new Parser(buf, at + STARTXREF.length);
  if (buf[p.p] === 0x20) p.p++;
  if (!eolAt(buf, p)) return null;
  const n = p.uint();
  if (n === null) return null;
  while (buf[p.p] === 0x20 || buf[p.p] === 9) p.p++;
  return eolAt(buf, p) && findFrom(buf.subarray(p.p, p.p + 5), EOF) === 0 ? n : null;
}

function eolAt(buf, p) {
  if (buf[p.p] === 13 && buf[p.p + 1] === 10) p.p += 2;
  else if (buf[p.p] === 10 || buf[p.p] === 13) p.p++;
  else return false;
  return true;
}

/** A classic `xref` table and its trailer at `at`: {entries, trailer}. */
function xrefTable(buf, at) {
  const p = new Parser(buf, at);
  p.expect('xref');
  const entries = new Map();
  const line = /^(\d+) (\d+) ?(?:\r\n|\r|\n)/;
  const entry = /^(\d+) (\d+) ([nf])(?: \r| \n|\r\n)/;
  const text = (n) => String.fromCharCode(...buf.subarray(p.p, p.p + n));
  let sections = 0;
  for (;;) {
    p.skip();
    const head = line.exec(text(48));
    if (!head) break;
    sections++;
    p.p += head[0].length;
    const start = Number(head[1]);
    for (let i = 0; ; i++) {
      const e = entry.exec(text(48));
      if (!e) break;
      p.p += e[0].length;
      const gen = Number(e[2]);
      if (e[3] === 'n' && gen <= 0xffff && !entries.has(start + i)) entries.set(start + i, { offset: Number(e[1]), gen });
    }
  }
  if (!sections) return null;
  p.expect('trailer');
  const trailer = p.object();
  if (!(trailer instanceof Map) || intOf(trailer.get('Size')) === null) return null;
  return { entries, trailer };
}

/** A cross-reference stream at `at` (§7.5.8): {entries, trailer}. */
async function xrefStream(buf, at) {
  const obj = tryParse(() => new Parser(buf, at).indirect());
  const s = obj?.value;
  if (!s?.dict) return null;
  const data = await decodeStream(s);
  const size = intOf(s.dict.get('Size'));
  const w = intArray(s.dict.get('W'));
  if (!data || size === null || !w || w.length < 3) return null;
  const index = intArray(s.dict.get('Index')) ?? [0, size];
  const entries = new Map();
  let p = 0;
  const field = (n) => {
    if (p + n > data.length) throw new RangeError('xref stream');
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + data[p++];
    return v;
  };
  for (let i = 0; i + 1 < index.length; i += 2) {
    for (let j = 0; j < index[i + 1]; j++) {
      const type = w[0] ? field(w[0]) : 1;
      const a = field(w[1]);
      const b = field(w[2]);
      const num = index[i] + j;
      if (type === 1) entries.set(num, { offset: a, gen: w[2] ? b & 0xffff : 0 });
      else if (type === 2) entries.set(num, { container: a, index: b & 0xffff });
    }
  }
  const trailer = new Map(s.dict);
  trailer.delete('Length');
  return { entries, trailer };
}

async function section(buf, at) {
  const table = tryParse(() => xrefTable(buf, at));
  if (table) return table;
  try {
    return await xrefStream(buf, at);
  } catch (e) {
    if (e instanceof RangeError) return null;
    throw e;
  }
}

/**
 * Reads `prefix` (one revision) as lopdf does. Returns {xref (Map num →
 * {offset, gen} | {container, index}), objects (Map "num gen" → {id,
 * value})}, offsets counted from the `%PDF-` header; or null if lopdf
 * would refuse the revision.
 */
export async function loadRevision(prefix) {
  const head = findFrom(prefix, PDF_HEADER);
  const buf = prefix.subarray(Math.max(head, 0));
  // lopdf's lenient header: `%PDF-`, anything but CR and LF, then a CR or LF.
  if (head < 0 || !buf.subarray(5).some((c) => c === 10 || c === 13)) return null;
  const start = xrefStart(buf);
  if (start === null || start > buf.length) return null;
  const first = await section(buf, start);
  if (!first) return null;
  const xref = new Map(first.entries);
  const trailer = first.trailer;
  const seen = new Set();
  let prev = trailer.get('Prev');
  trailer.delete('Prev');
  while (typeof prev === 'bigint' && !seen.has(prev) && seen.size < MAX_SECTIONS) {
    seen.add(prev);
    if (prev < 0n || prev > BigInt(buf.length)) return null;
    const older = await section(buf, Number(prev));
    if (!older) return null;
    merge(xref, older.entries);
    // lopdf reads a hybrid file's /XRefStm once, from the newest trailer.
    const stm = trailer.get('XRefStm');
    trailer.delete('XRefStm');
    if (typeof stm === 'bigint') {
      if (stm < 0n || stm > BigInt(buf.length)) return null;
      const hybrid = await section(buf, Number(stm));
      if (!hybrid) return null;
      merge(xref, hybrid.entries);
    }
    prev = older.trailer.get('Prev');
  }
  return { xref, objects: await readObjects(buf, xref), trailer };
}

function merge(xref, older) {
  for (const [k, v] of older) if (!xref.has(k)) xref.set(k, v);
}

/** Every in-use object, then the objects of the object streams. */
async function readObjects(buf, xref) {
  const objects = new Map();
  const key = (id) => `${id[0]} ${id[1]}`;
  const lengthOf = ([num, gen]) => {
    const e = xref.get(num);
    if (!e || e.offset === undefined || e.gen !== gen) return null;
    const o = tryParse(() => new Parser(buf, e.offset).indirect());
    return o && typeof o.value === 'bigint' ? o.value : null;
  };
  const streams = [];
  for (const e of xref.values()) {
    if (e.offset === undefined || e.offset >= buf.length) continue;
    const o = tryParse(() => new Parser(buf, e.offset).indirect(lengthOf));
    if (!o) continue;
    objects.set(key(o.id), o);
    if (o.value?.dict?.get('Type')?.name === 'ObjStm') streams.push(o);
  }
  for (const s of streams) {
    for (const o of await objectStream(s.value)) {
      const e = xref.get(o.id[0]);
      // An object the xref puts in another container is not taken from this one.
      if (e?.container !== undefined && e.container !== s.id[0]) continue;
      if (!objects.has(key(o.id))) objects.set(key(o.id), o);
    }
  }
  return objects;
}

/** The objects of an object stream (§7.5.7): [{id: [num, 0], value}]. */
async function objectStream(stream) {
  const data = await decodeStream(stream);
  const n = intOf(stream.dict.get('N'));
  const first = intOf(stream.dict.get('First'));
  if (!data || n === null || first === null || n > MAX_OBJSTM_OBJECTS) return [];
  const out = [];
  const p = new Parser(data, 0);
  const pairs = [];
  for (let i = 0; i < n; i++) {
    const num = p.uint();
    const off = p.uint();
    if (num === null || off === null) break;
    pairs.push([num, off]);
  }
  for (const [num, off] of pairs) {
    const value = tryParse(() => new Parser(data, first + off).object());
    if (value !== null || tryParse(() => new Parser(data, first + off).peekWord()) === 'null') out.push({ id: [num, 0], value });
  }
  return out;
}
