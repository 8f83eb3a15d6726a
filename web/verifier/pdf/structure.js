// Where a PDF's signatures are, and which bytes each one signs (ISO
// 32000-1 §7.5.6 incremental updates, §12.8.1 signature dictionaries).
// Twin of verifier/src/pdf/structure.rs; docs/pdf-signatures.md §1-§2.
//
// Each revision (each prefix of the file that ends at an `%%EOF`) is read
// on its own (xref.js, as lopdf reads it) and the signature dictionaries
// of all of them are collected: a later revision that replaces an earlier
// signature dictionary cannot hide it. The byte rules (checkByteRange,
// checkGap) say whether a `/ByteRange` leaves out exactly the `/Contents`
// string of its own dictionary.

import { m } from '../error.js';
import { findFrom } from './objects.js';
import { loadRevision } from './xref.js';

/** Most revisions (incremental updates) read. */
export const MAX_REVISIONS = 64;
/** Most signature dictionaries checked. */
export const MAX_SIGNATURES = 32;
/** Largest `/Contents` (the CMS object, decoded) accepted. */
export const MAX_CONTENTS_BYTES = 512 * 1024;
/** How far after a signature dictionary's start its `endobj` is looked for. */
const MAX_SIG_OBJECT_BYTES = 2 * MAX_CONTENTS_BYTES + 64 * 1024;

const ascii = (s) => [...s].map((c) => c.charCodeAt(0));
const EOF = ascii('%%EOF');
const ENDOBJ = ascii('endobj');
const p = (what, a = {}) => m('pdf.p', { what, ...a });

/** The end of each revision: just after an `%%EOF` marker and its end of
 * line (CR, LF or CRLF), in file order (structure.rs revision_ends). */
export function revisionEnds(file) {
  const ends = [];
  let from = 0;
  for (;;) {
    const at = findFrom(file, EOF, from);
    if (at < 0) return ends;
    let end = at + EOF.length;
    if (file[end] === 13) end++;
    if (file[end] === 10) end++;
    ends.push(end);
    from = end;
  }
}

/**
 * Loads every revision and collects its signature dictionaries: {signatures
 * [{id, offset, byteRange: {ok}|{err}, contents: {ok}|{err}, subFilter,
 * field, m}], revisionEnds}; or {unreadable: message}.
 */
export async function readStructure(file) {
  let ends = revisionEnds(file);
  const prefixes = [...ends];
  if (prefixes[prefixes.length - 1] !== file.length) prefixes.push(file.length);
  if (prefixes.length > MAX_REVISIONS) return { unreadable: p('revisions', { max: MAX_REVISIONS }) };
  const found = [];
  let readable = 0;
  for (const end of prefixes) {
    const doc = await loadRevision(file.subarray(0, end));
    if (!doc) {
      ends = ends.filter((e) => e !== end);
      continue;
    }
    readable++;
    for (const sig of signatureDicts(doc)) {
      const known = found.some((f) => f.id[0] === sig.id[0] && f.id[1] === sig.id[1] && f.offset === sig.offset && sameRange(f.byteRange, sig.byteRange));
      if (!known) found.push(sig);
    }
    if (found.length > MAX_SIGNATURES) return { unreadable: p('signatures', { max: MAX_SIGNATURES }) };
  }
  if (!readable) return { unreadable: p('no_revision') };
  // File order: by where the signed revision ends, then by position.
  const endOf = (s) => (s.byteRange.ok?.length === 4 ? s.byteRange.ok[2] + s.byteRange.ok[3] : Infinity);
  found.sort((a, b) => endOf(a) - endOf(b) || (a.offset ?? -1) - (b.offset ?? -1));
  return { signatures: found, revisionEnds: ends };
}

const sameRange = (a, b) => (a.ok && b.ok ? a.ok.length === b.ok.length && a.ok.every((x, i) => x === b.ok[i]) : a.err?.a?.what === b.err?.a?.what);

/** The signature dictionaries of one revision: dictionaries with a
 * `/ByteRange` (ISO 32000-1 Table 252; `/Type /Sig` is optional there),
 * in object-number order as lopdf's BTreeMap holds them. */
function signatureDicts(doc) {
  const fields = fieldNames(doc);
  const out = [];
  const objects = [...doc.objects.values()].sort((a, b) => a.id[0] - b.id[0] || a.id[1] - b.id[1]);
  for (const { id, value } of objects) {
    const dict = value instanceof Map ? value : value?.dict;
    if (!(dict instanceof Map) || !dict.has('ByteRange')) continue;
    const e = doc.xref.get(id[0]);
    const offset = e && e.offset !== undefined && e.gen === id[1] ? e.offset : null;
    const br = dict.get('ByteRange');
    let byteRange;
    if (!Array.isArray(br)) byteRange = { err: p('br_not_array') };
    else if (!br.every((x) => typeof x === 'bigint')) byteRange = { err: p('br_not_integers') };
    else byteRange = { ok: br.map(Number) };
    const c = dict.get('Contents');
    const contents = c === undefined ? { err: p('no_contents') } : c?.str && c.hex ? { ok: c.str } : { err: p('contents_not_hex') };
    const sf = dict.get('SubFilter');
    const mTime = dict.get('M');
    out.push({
      id,
      offset,
      byteRange,
      contents,
      // Rust's String::from_utf8_lossy, as TextDecoder.
      subFilter: sf?.bytes ? new TextDecoder().decode(sf.bytes) : '',
      field: fields.find((f) => f.v[0] === id[0] && f.v[1] === id[1])?.t ?? null,
      m: mTime?.str ?? null,
    });
  }
  return out;
}

/** Signature fields (`/FT /Sig`) by the dictionary their `/V` refers to. */
function fieldNames(doc) {
  const out = [];
  for (const { value } of doc.objects.values()) {
    const dict = value instanceof Map ? value : value?.dict;
    if (!(dict instanceof Map) || dict.get('FT')?.name !== 'Sig') continue;
    const v = dict.get('V')?.ref;
    const t = dict.get('T')?.str;
    // Rust's String::from_utf8_lossy.
    if (v && t) out.push({ v, t: new TextDecoder().decode(t) });
  }
  return out;
}

/**
 * The `/ByteRange` rules (docs/pdf-signatures.md §2) over the raw file
 * (structure.rs check_byte_range): {gap: [b, c], end} or throws a message.
 */
export function checkByteRange(file, byteRange, ends) {
  if (byteRange.length !== 4) return { err: p('br_count', { n: byteRange.length }) };
  const [a, b, c, d] = byteRange;
  if ([a, b, c, d].some((x) => x < 0)) return { err: p('br_negative') };
  if (a !== 0) return { err: p('br_start', { a }) };
  if (b === 0 || c <= b) return { err: p('br_gap', { b, c }) };
  const end = c + d;
  if (!Number.isSafeInteger(end) || end > file.length) return { err: p('br_beyond', { c, d, len: file.length }) };
  const gap = file.subarray(b, c);
  const hexOk = gap.length >= 2 && gap[0] === 0x3c && gap[gap.length - 1] === 0x3e
    && gap.subarray(1, gap.length - 1).every((x) => /[0-9a-fA-F]/.test(String.fromCharCode(x))) && gap.length % 2 === 0;
  if (!hexOk) return { err: p('br_not_hex', { b, c }) };
  if (!ends.includes(end)) return { err: p('br_not_revision', { end }) };
  return { ok: { gap: [b, c], end } };
}

/** The gap is this dictionary's own `/Contents`: inside the dictionary's
 * object (between `N G obj` at `offset` and its `endobj`), and its hex
 * decodes to the `/Contents` the parser read (structure.rs check_gap). */
export function checkGap(file, range, id, offset, contents) {
  if (offset === null) return p('gap_objstm');
  const header = ascii(`${id[0]} ${id[1]} obj`);
  if (offset > file.length || findFrom(file.subarray(offset, offset + header.length), header) !== 0) return p('gap_offset');
  const window = file.subarray(offset, Math.min(file.length, offset + MAX_SIG_OBJECT_BYTES));
  const e = findFrom(window, ENDOBJ);
  const [b, c] = range.gap;
  if (!(offset < b && e >= 0 && c <= offset + e)) return p('gap_outside');
  const hex = file.subarray(b + 1, c - 1);
  if (hex.length !== 2 * contents.length) return p('gap_other');
  for (let i = 0; i < contents.length; i++) {
    if (parseInt(String.fromCharCode(hex[2 * i], hex[2 * i + 1]), 16) !== contents[i]) return p('gap_other');
  }
  return null;
}

/** A PDF date (ISO 32000-1 §7.9.4) `D:YYYYMMDDHHmmSS` then `Z`, nothing
 * (UTC) or `+HH'mm'` / `-HH'mm'`, as unix seconds; only the full form
 * (structure.rs parse_pdf_date). */
export function parsePdfDate(raw) {
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return null;
  }
  if (text.startsWith('D:')) text = text.slice(2);
  const digits = text.slice(0, 14);
  if (!/^[0-9]{14}$/.test(digits)) return null;
  const zone = text.slice(14).replace(/'+$/, '');
  const [y, mo, d, h, mi, s] = [[0, 4], [4, 6], [6, 8], [8, 10], [10, 12], [12, 14]].map(([i, j]) => Number(digits.slice(i, j)));
  const days = new Date(Date.UTC(2000, mo, 0)).getUTCDate();
  const leap = mo === 2 && (y % 4 !== 0 || (y % 100 === 0 && y % 400 !== 0));
  if (mo < 1 || mo > 12 || d < 1 || d > (leap ? 28 : days) || h > 23 || mi > 59 || s > 59) return null;
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, 0);
  let offset = 0;
  if (zone !== '' && zone !== 'Z') {
    const hm = zone.slice(1).replaceAll("'", '');
    if (!/^[0-9]{4}$/.test(hm) || !['+', '-'].includes(zone[0])) return null;
    offset = (Number(hm.slice(0, 2)) * 3600 + Number(hm.slice(2)) * 60) * (zone[0] === '+' ? 1 : -1);
  }
  return date.getTime() / 1000 - offset;
}
