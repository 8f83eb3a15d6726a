// The evidence-bundle verifier in JavaScript: a second, independent
// implementation of docs/bundle-format.md (the Rust one is verifier/src).
// Pure: no DOM, no network. Works in a browser and in Node 20 (WebCrypto).
//
// Checks (same ids, order and meaning as the Rust verifier): bundle_format,
// same_document, document_hash (when a file is given), log_signature,
// cosignature (one per witness that countersigned or is required),
// inclusion and attestations (one per entry), timeline. Each check carries
// its title and detail as message descriptors {k, a}: i18n.js words them.
//
// Specs: RFC 9162 §2.1 (Merkle tree, §2.1.3.2 inclusion, §2.1.4.2
// consistency), C2SP signed-note, tlog-checkpoint, tlog-cosignature (v1),
// RFC 8785 (JCS), RFC 8032 (Ed25519, checked strictly: canonical S, no
// small-order keys or R, as ed25519-dalek's verify_strict).

const subtle = globalThis.crypto.subtle;
const utf8 = new TextEncoder();

/** Largest bundle accepted, checked before parsing. */
export const MAX_BUNDLE_BYTES = 64 << 20;
const MAX_ENTRIES = 100000;
const MAX_ISSUERS = 1 << 20;
const MAX_WITNESSES = 100;
const MAX_PROOF_HASHES = 128;
const MAX_NOTE_SIZE = 64 * 1024;
const MAX_NOTE_SIGNATURES = 100;
const MAX_VKEY_SIZE = 1024;
const MAX_LEAF_BYTES = 1 << 20;
const MAX_LEAF_B64 = Math.ceil(MAX_LEAF_BYTES / 3) * 4;
const MAX_LISTED = 10;
/** Key types of C2SP signed-note verifier keys. */
export const ALG_ED25519 = 0x01;
export const ALG_COSIGNATURE_V1 = 0x04;
/** RFC 9162 domain separation prefixes. */
const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;
const FORMAT_V1 = 'evidence-bundle/v1';
const SIG_LINE_PREFIX = '\u2014 ';

/** A message for people: key into i18n.js and its arguments. */
export const m = (k, a = {}) => ({ k, a });

/** An error carrying a message descriptor. */
export class Fail extends Error {
  constructor(msg) {
    super(msg.k);
    this.msg = msg;
  }
}
const fail = (k, a) => {
  throw new Fail(m(k, a));
};

// ---------------------------------------------------------------------------
// Bytes, base64, hashes.

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

/** Strict standard base64 (RFC 4648 §4): padded, canonical; null if not. */
export function b64decode(s) {
  if (typeof s !== 'string' || s.length % 4 !== 0) return null;
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    const last = i + 4 === s.length;
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const c = s[i + j];
      if (c === '=' && last && j >= 4 - pad) {
        n <<= 6;
        continue;
      }
      const v = B64_INDEX.get(c);
      if (v === undefined) return null;
      n = (n << 6) | v;
    }
    const bytes = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
    const keep = last ? 3 - pad : 3;
    // Non-zero bits under the padding make the encoding non-canonical.
    if (last && pad && bytes.slice(keep).some((b) => b !== 0)) return null;
    for (let j = 0; j < keep; j++) out[o++] = bytes[j];
  }
  return out;
}

/** Standard padded base64. */
export function b64encode(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    s += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    s += i + 1 < bytes.length ? B64[(n >> 6) & 63] : '=';
    s += i + 2 < bytes.length ? B64[n & 63] : '=';
  }
  return s;
}

/** Lowercase hex. */
export const hex = (bytes) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const eqBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/** SHA-256 (WebCrypto). */
export async function sha256(bytes) {
  return new Uint8Array(await subtle.digest('SHA-256', bytes));
}

/** RFC 9162 §2.1.1: leaf hash SHA-256(0x00 || leaf). */
export const leafHash = (leaf) => sha256(concat([LEAF_PREFIX], leaf));
/** RFC 9162 §2.1.1: node hash SHA-256(0x01 || left || right). */
const nodeHash = (l, r) => sha256(concat([NODE_PREFIX], l, r));

// ---------------------------------------------------------------------------
// Strict JSON (DESIGN.md): no duplicate names, no floats or exponents,
// integers within ±(2^53-1), no lone surrogates, bounded depth and strings.

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
    if (out.length > maxString) bad('long_string');
    return out;
  };
  const v = value(0);
  ws();
  if (i !== text.length) bad('trailing');
  return v;
}

function isWellFormed(s) {
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

// ---------------------------------------------------------------------------
// Ed25519, strict (RFC 8032 with verify_strict's extra refusals).

const P = 2n ** 255n - 19n;
const mod = (a) => ((a % P) + P) % P;
function powMod(b, e) {
  let r = 1n;
  b = mod(b);
  while (e > 0n) {
    if (e & 1n) r = (r * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return r;
}
const inv = (a) => powMod(a, P - 2n);
const D = mod(-121665n * inv(121666n));
const SQRT_M1 = powMod(2n, (P - 1n) / 4n);

/** Decompresses an Edwards point (RFC 8032 §5.1.3); null if not on the curve. */
function decompress(bytes) {
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? bytes[i] & 0x7f : bytes[i]);
  y = mod(y);
  const sign = bytes[31] >> 7;
  const y2 = (y * y) % P;
  const x2 = mod((y2 - 1n) * inv(D * y2 + 1n));
  let x = powMod(x2, (P + 3n) / 8n);
  if (mod(x * x - x2) !== 0n) x = (x * SQRT_M1) % P;
  if (mod(x * x - x2) !== 0n) return null;
  if (Number(x & 1n) !== sign) x = mod(-x);
  return [x, y, 1n, (x * y) % P];
}

/** Unified addition in extended coordinates (add-2008-hwcd-3, a = -1). */
function add([x1, y1, z1, t1], [x2, y2, z2, t2]) {
  const a = mod((y1 - x1) * (y2 - x2));
  const b = mod((y1 + x1) * (y2 + x2));
  const c = mod(t1 * 2n * D * t2);
  const d = mod(z1 * 2n * z2);
  const e = b - a;
  const f = d - c;
  const g = d + c;
  const h = b + a;
  return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)];
}

/** Whether 32 bytes encode a curve point of order greater than 8. */
export function isStrictPoint(bytes) {
  let pt = bytes.length === 32 ? decompress(bytes) : null;
  if (!pt) return false;
  for (let i = 0; i < 3; i++) pt = add(pt, pt);
  return !(pt[0] === 0n && mod(pt[1] - pt[2]) === 0n);
}

/** An Ed25519 public key for WebCrypto; null if not a strict key. */
export async function importEd25519(raw) {
  if (!isStrictPoint(raw)) return null;
  try {
    return await subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify']);
  } catch {
    return null;
  }
}

/** Strict Ed25519 verification; WebCrypto refuses non-canonical S. */
export async function ed25519Verify(key, sig, msg) {
  if (sig.length !== 64 || !isStrictPoint(sig.subarray(0, 32))) return false;
  try {
    return await subtle.verify({ name: 'Ed25519' }, key, sig, msg);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// C2SP signed notes, verifier keys, checkpoints, cosignatures.

const validKeyName = (n) => n.length > 0 && !/[\s+]/u.test(n);

/** C2SP signed-note key ID: SHA-256(name || 0x0A || type || key)[:4]. */
async function keyId(name, alg, key) {
  return (await sha256(concat(utf8.encode(name), [0x0a, alg], key))).subarray(0, 4);
}

/** Parses a vkey `<name>+<8 hex key id>+<base64(type || key)>` (types 0x01, 0x04). */
export async function parseVkey(vkey) {
  if (typeof vkey !== 'string' || vkey.length > MAX_VKEY_SIZE) fail('r.vkey', { what: 'size' });
  // The base64 part may itself hold '+': split at the first two only.
  const a = vkey.indexOf('+');
  const b = a < 0 ? -1 : vkey.indexOf('+', a + 1);
  if (b < 0) fail('r.vkey', { what: 'form' });
  const [name, idHex, b64] = [vkey.slice(0, a), vkey.slice(a + 1, b), vkey.slice(b + 1)];
  if (!validKeyName(name)) fail('r.vkey', { what: 'name' });
  if (!/^[0-9a-f]{8}$/.test(idHex)) fail('r.vkey', { what: 'id' });
  const material = b64decode(b64);
  if (!material || material.length !== 33) fail('r.vkey', { what: 'material' });
  const alg = material[0];
  if (alg !== ALG_ED25519 && alg !== ALG_COSIGNATURE_V1) fail('r.vkey', { what: 'type' });
  const key = material.subarray(1);
  const cryptoKey = await importEd25519(key);
  if (!cryptoKey) fail('r.vkey', { what: 'point' });
  if (hex(await keyId(name, alg, key)) !== idHex) fail('r.vkey', { what: 'id_mismatch' });
  return { name, keyIdHex: idHex, alg, key, cryptoKey, vkey };
}

const sameKey = (a, b) => a.name === b.name && a.keyIdHex === b.keyIdHex && a.alg === b.alg && eqBytes(a.key, b.key);

/** Parses a signed note: text, blank line, signature lines `— name base64`. */
export function parseNote(note) {
  if (typeof note !== 'string' || utf8.encode(note).length > MAX_NOTE_SIZE) fail('r.note', { what: 'size' });
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) fail('r.note', { what: 'control' });
  const cut = note.lastIndexOf('\n\n');
  if (cut < 0) fail('r.note', { what: 'blank' });
  const text = note.slice(0, cut + 1);
  const block = note.slice(cut + 2);
  if (!block.endsWith('\n')) fail('r.note', { what: 'final_newline' });
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) fail('r.note', { what: 'signatures' });
  const sigs = lines.map((line) => {
    if (!line.startsWith(SIG_LINE_PREFIX)) fail('r.note', { what: 'dash' });
    const rest = line.slice(SIG_LINE_PREFIX.length);
    const sp = rest.indexOf(' ');
    const name = sp < 0 ? '' : rest.slice(0, sp);
    if (!validKeyName(name)) fail('r.note', { what: 'sig_name' });
    const raw = b64decode(rest.slice(sp + 1));
    if (!raw || raw.length < 5) fail('r.note', { what: 'sig_b64' });
    return { name, keyIdHex: hex(raw.subarray(0, 4)), sig: raw.subarray(4) };
  });
  return { text, sigs };
}

/** Parses a tlog-checkpoint body: origin, size, base64 root, extensions. */
export function parseCheckpointBody(text) {
  const lines = text.slice(0, -1).split('\n');
  const [origin, sizeLine, rootLine, ...ext] = lines;
  if (!origin) fail('r.checkpoint', { what: 'origin' });
  if (!/^(0|[1-9][0-9]{0,19})$/.test(sizeLine ?? '') || BigInt(sizeLine) >= 2n ** 64n) {
    fail('r.checkpoint', { what: 'size' });
  }
  const root = b64decode(rootLine ?? '');
  if (!root || root.length !== 32) fail('r.checkpoint', { what: 'root' });
  if (ext.some((l) => l === '')) fail('r.checkpoint', { what: 'extension' });
  return { origin, size: BigInt(sizeLine), root };
}

/** Parses a signed checkpoint note. */
export function parseSignedCheckpoint(note) {
  const parsed = parseNote(note);
  return { note: parsed, body: parsed.text, ...parseCheckpointBody(parsed.text) };
}

const matches = (key, s) => s.name === key.name && s.keyIdHex === key.keyIdHex;

/** C2SP signed-note: lines of `key` must all verify, and one must exist. */
export async function verifyNoteSignature(key, cp) {
  const lines = cp.note.sigs.filter((s) => matches(key, s));
  if (lines.length === 0) return m('r.sig', { what: 'missing', key: key.vkey });
  for (const s of lines) {
    if (!(await ed25519Verify(key.cryptoKey, s.sig, utf8.encode(cp.body)))) {
      return m('r.sig', { what: 'invalid', key: key.vkey });
    }
  }
  return null;
}

const MAX_TIMESTAMP = 2n ** 63n - 1n;

/** C2SP tlog-cosignature v1: every line of the witness verifies; returns
 * the first line's time, null if there is no line; throws Fail if bad. */
export async function verifyCosignatures(key, cp) {
  let first = null;
  for (const s of cp.note.sigs.filter((x) => matches(key, x))) {
    if (s.sig.length !== 72) fail('r.cosig', { what: 'length' });
    let t = 0n;
    for (const b of s.sig.subarray(0, 8)) t = (t << 8n) | BigInt(b);
    if (t > MAX_TIMESTAMP) fail('r.cosig', { what: 'time' });
    const msg = utf8.encode(`cosignature/v1\ntime ${t}\n${cp.body}`);
    if (!(await ed25519Verify(key.cryptoKey, s.sig.subarray(8), msg))) fail('r.cosig', { what: 'invalid' });
    first ??= t;
  }
  return first;
}

// ---------------------------------------------------------------------------
// RFC 9162 proofs. Sizes and indices are BigInt: JS bit operators are 32-bit.

/** RFC 9162 §2.1.3.2: the root an inclusion proof leads to, or null. */
export async function inclusionRoot(leafHashBytes, index, size, path) {
  if (index >= size) return null;
  let fn = index;
  let sn = size - 1n;
  let r = leafHashBytes;
  for (const p of path) {
    if (sn === 0n) return null;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? r : null;
}

/** RFC 9162 §2.1.3.2 verification against `root`. */
export async function verifyInclusion(leafHashBytes, index, size, path, root) {
  const r = await inclusionRoot(leafHashBytes, index, size, path);
  return r !== null && eqBytes(r, root);
}

/** RFC 9162 §2.1.4.2: whether `path` proves the tree (size1, root1) is a
 * prefix of the tree (size2, root2). */
export async function verifyConsistency(size1, size2, path, root1, root2) {
  if (size1 > size2) return false;
  if (size1 === size2) return path.length === 0 && eqBytes(root1, root2);
  if (size1 === 0n) return path.length === 0;
  if (path.length === 0) return false;
  const isPow2 = (size1 & (size1 - 1n)) === 0n;
  const p = isPow2 ? [root1, ...path] : path;
  let fn = size1 - 1n;
  let sn = size2 - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = p[0];
  let sr = p[0];
  for (const c of p.slice(1)) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && eqBytes(fr, root1) && eqBytes(sr, root2);
}

// ---------------------------------------------------------------------------
// Leaves: canonical JSON of {"event", "ledger_time", "tenant"}, pinned schema.

export const KINDS = [
  'registered', 'identity_verified', 'intent_verified', 'signed', 'approved',
  'rejected', 'revoked', 'completed', 'archived', 'report_issued', 'registry_changed',
];
const MAY_OMIT_ATTESTATIONS = ['registered', 'completed', 'archived', 'report_issued'];
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
const HEX64_RE = /^[0-9a-f]{64}$/;
const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z$/;
// Control characters and bidirectional overrides (which make text read as
// other text).
const UNSAFE_RE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

const invalid = (field, what) => fail('r.field', { field, what });

function fields(obj, allowed, required, path) {
  if (!isObject(obj)) invalid(path || 'leaf', 'object');
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) invalid(path + k, 'unknown');
  for (const k of required) if (!(k in obj)) invalid(path + k, 'required');
}

const idString = (v, path) => (typeof v === 'string' && ID_RE.test(v) ? v : invalid(path, 'id'));
const hex64 = (v, path) => (typeof v === 'string' && HEX64_RE.test(v) ? v : invalid(path, 'hex64'));

function depth(v) {
  if (Array.isArray(v)) return 1 + Math.max(0, ...v.map(depth));
  if (isObject(v)) return 1 + Math.max(0, ...Object.values(v).map(depth));
  return 0;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), valid for years 0-9999 where Date is awkward. */
function daysFromCivil(y, mo, d) {
  const yy = mo <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const daysInMonth = (y, mo) => [31, (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];

/** Ledger time (`YYYY-MM-DDTHH:MM:SS.ffffffZ`) to Unix microseconds (BigInt). */
export function parseLedgerTime(s) {
  const t = typeof s === 'string' ? TIME_RE.exec(s) : null;
  if (!t) invalid('ledger_time', 'time');
  const [y, mo, d, h, mi, se] = t.slice(1, 7).map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || se > 59) invalid('ledger_time', 'time');
  const secs = BigInt(daysFromCivil(y, mo, d)) * 86400n + BigInt(h * 3600 + mi * 60 + se);
  return secs * 1000000n + BigInt(t[7]);
}

function parseEvent(ev) {
  const all = ['event_id', 'document_id', 'kind', 'document_hash', 'actor', 'attestations', 'timestamp_token'];
  fields(ev, all, all.slice(0, 6), 'event.');
  if (!KINDS.includes(ev.kind)) invalid('event.kind', 'kind');
  idString(ev.event_id, 'event.event_id');
  idString(ev.document_id, 'event.document_id');
  hex64(ev.document_hash, 'event.document_hash');
  fields(ev.actor, ['id', 'display', 'commitment'], ['id', 'display', 'commitment'], 'event.actor.');
  idString(ev.actor.id, 'event.actor.id');
  const display = ev.actor.display;
  const n = typeof display === 'string' ? [...display].length : 0;
  if (n === 0 || n > 64 || display.match(UNSAFE_RE)) invalid('event.actor.display', 'display');
  hex64(ev.actor.commitment, 'event.actor.commitment');
  if (!Array.isArray(ev.attestations) || ev.attestations.length > 16) invalid('event.attestations', 'count');
  if (ev.attestations.length === 0 && !MAY_OMIT_ATTESTATIONS.includes(ev.kind)) invalid('event.attestations', 'count');
  ev.attestations.forEach((a, j) => {
    const path = `event.attestations[${j}].`;
    fields(a, ['issuer', 'claim', 'signature'], ['issuer', 'claim', 'signature'], path);
    idString(a.issuer, `${path}issuer`);
    if (!isObject(a.claim) || depth(a.claim) > 8 || utf8.encode(canonicalJson(a.claim)).length > 4096) {
      invalid(`${path}claim`, 'claim');
    }
    const sig = typeof a.signature === 'string' && a.signature.length === 88 ? b64decode(a.signature) : null;
    if (!sig || sig.length !== 64) invalid(`${path}signature`, 'signature');
  });
  if ('timestamp_token' in ev) {
    const t = typeof ev.timestamp_token === 'string' ? b64decode(ev.timestamp_token) : null;
    if (!t || t.length === 0 || t.length > 16384) invalid('event.timestamp_token', 'token');
  }
  return ev;
}

/** Parses and validates leaf bytes (strict JSON, exactly canonical). */
export function parseLeaf(bytes) {
  if (bytes.length > MAX_LEAF_BYTES) fail('r.leaf', { what: 'size' });
  const text = decodeUtf8(bytes);
  const value = parseStrictJson(text, { maxDepth: 12, maxString: 64 * 1024 });
  if (canonicalJson(value) !== text) fail('r.leaf', { what: 'canonical' });
  // Later ledger versions may add members (DESIGN.md); the leaf hash covers
  // them, so they are allowed and ignored.
  fields(value, Object.keys(value), ['event', 'ledger_time', 'tenant'], '');
  const tenant = value.tenant;
  if (typeof tenant !== 'string' || tenant.length === 0 || [...tenant].length > 128 || /[\u0000-\u001f\u007f-\u009f]/.test(tenant)) {
    invalid('tenant', 'tenant');
  }
  parseLedgerTime(value.ledger_time);
  return { event: parseEvent(value.event), tenant, ledger_time: value.ledger_time };
}

/** The bytes attestation `j` of `ev` signs (DESIGN.md "Submitting events"). */
export function attestationMessage(ev, j) {
  const a = ev.attestations[j];
  const obj = { claim: a.claim, document_hash: ev.document_hash, event_id: ev.event_id, issuer: a.issuer, kind: ev.kind };
  return utf8.encode(canonicalJson(obj));
}

/** A string from a bundle made safe to show (as the Rust `plain`). */
export function plain(s) {
  const chars = [...String(s)];
  const cut = chars.slice(0, 200).join('').replace(UNSAFE_RE, '\ufffd');
  return chars.length > 200 ? `${cut}…` : cut;
}

/** Unix seconds (BigInt) as RFC 3339 UTC, or "Unix time N" past year 9999. */
export function unixToRfc3339(secs) {
  if (secs > 253402300799n) return `Unix time ${secs}`;
  return new Date(Number(secs) * 1000).toISOString().replace('.000Z', 'Z');
}

// ---------------------------------------------------------------------------
// The bundle.

/** Parses bundle bytes: size cap, strict JSON, exact members, list caps. */
export function parseBundle(bytes) {
  if (bytes.length > MAX_BUNDLE_BYTES) fail('r.bundle', { what: 'size' });
  const v = parseStrictJson(decodeUtf8(bytes), { maxDepth: 16, maxString: Math.ceil(MAX_LEAF_B64) });
  const str = (x, f) => (typeof x === 'string' ? x : fail('r.bundle', { what: 'type', field: f }));
  const top = ['format', 'origin', 'log_vkey', 'tenant', 'document_id', 'checkpoint', 'tree_size', 'entries', 'issuers', 'witnesses', 'checkpoint_timestamp', 'timestamp_authorities'];
  const members = (obj, allowed, required, where) => {
    if (!isObject(obj)) fail('r.bundle', { what: 'type', field: where });
    for (const k of Object.keys(obj)) if (!allowed.includes(k)) fail('r.bundle', { what: 'unknown', field: `${where}${k}` });
    for (const k of required) if (!(k in obj)) fail('r.bundle', { what: 'missing', field: `${where}${k}` });
  };
  const optional = ['tree_size', 'checkpoint_timestamp', 'timestamp_authorities'];
  members(v, top, top.filter((k) => !optional.includes(k)), '');
  if ('checkpoint_timestamp' in v) {
    members(v.checkpoint_timestamp, ['tsa', 'token'], ['tsa', 'token'], 'checkpoint_timestamp.');
    str(v.checkpoint_timestamp.tsa, 'checkpoint_timestamp.tsa');
    str(v.checkpoint_timestamp.token, 'checkpoint_timestamp.token');
  }
  if ('timestamp_authorities' in v) {
    if (!Array.isArray(v.timestamp_authorities) || v.timestamp_authorities.length > MAX_WITNESSES) fail('r.bundle', { what: 'type', field: 'timestamp_authorities' });
    v.timestamp_authorities.forEach((x, i) => {
      members(x, ['name', 'root_pem'], ['name', 'root_pem'], `timestamp_authorities[${i}].`);
      str(x.name, `timestamp_authorities[${i}].name`);
      str(x.root_pem, `timestamp_authorities[${i}].root_pem`);
    });
  }
  for (const k of ['format', 'origin', 'log_vkey', 'tenant', 'document_id', 'checkpoint']) str(v[k], k);
  if (v.format !== FORMAT_V1) fail('r.bundle', { what: 'format', field: plain(v.format) });
  if ('tree_size' in v && !(Number.isSafeInteger(v.tree_size) && v.tree_size >= 0)) fail('r.bundle', { what: 'type', field: 'tree_size' });
  for (const [k, cap] of [['entries', MAX_ENTRIES], ['issuers', MAX_ISSUERS], ['witnesses', MAX_WITNESSES]]) {
    if (!Array.isArray(v[k])) fail('r.bundle', { what: 'type', field: k });
    if (v[k].length > cap || (k === 'entries' && v[k].length === 0)) fail('r.bundle', { what: 'count', field: k });
  }
  v.entries.forEach((e, i) => {
    members(e, ['index', 'leaf', 'inclusion'], ['index', 'leaf', 'inclusion'], `entries[${i}].`);
    if (!Number.isSafeInteger(e.index) || e.index < 0) fail('r.bundle', { what: 'type', field: `entries[${i}].index` });
    str(e.leaf, `entries[${i}].leaf`);
    if (!Array.isArray(e.inclusion) || e.inclusion.length > MAX_PROOF_HASHES) fail('r.bundle', { what: 'count', field: `entries[${i}].inclusion` });
    e.inclusion.forEach((h, j) => str(h, `entries[${i}].inclusion[${j}]`));
  });
  v.issuers.forEach((x, i) => {
    members(x, ['name', 'public_key'], ['name', 'public_key'], `issuers[${i}].`);
    str(x.name, `issuers[${i}].name`);
    str(x.public_key, `issuers[${i}].public_key`);
  });
  v.witnesses.forEach((x, i) => {
    members(x, ['name', 'vkey'], ['name', 'vkey'], `witnesses[${i}].`);
    str(x.name, `witnesses[${i}].name`);
    str(x.vkey, `witnesses[${i}].vkey`);
  });
  return v;
}

const errMsg = (e) => (e instanceof Fail ? e.msg : m('r.internal', { why: String(e && e.message) }));

async function attempt(f) {
  try {
    return { ok: await f() };
  } catch (e) {
    return { err: errMsg(e) };
  }
}

/** Decodes every field once; what fails goes to `problems`. */
async function decode(b) {
  const problems = [];
  const logKey = await attempt(async () => {
    const k = await parseVkey(b.log_vkey);
    if (k.alg !== ALG_ED25519) fail('r.vkey', { what: 'not_log' });
    return k;
  });
  if (logKey.err) problems.push(m('p.log_key', { why: logKey.err }));
  const checkpoint = await attempt(() => parseSignedCheckpoint(b.checkpoint));
  if (checkpoint.err) problems.push(m('p.checkpoint', { why: checkpoint.err }));
  if (checkpoint.ok) {
    const cp = checkpoint.ok;
    if (cp.origin !== b.origin) problems.push(m('p.cp_origin', { cp: plain(cp.origin), origin: plain(b.origin) }));
    if ('tree_size' in b && BigInt(b.tree_size) !== cp.size) problems.push(m('p.tree_size', { n: b.tree_size, size: String(cp.size) }));
  }
  const issuers = new Map();
  for (const i of b.issuers) {
    const raw = b64decode(i.public_key);
    const key = raw && raw.length === 32 ? await importEd25519(raw) : null;
    if (issuers.has(i.name)) problems.push(m('p.issuer_twice', { name: plain(i.name) }));
    else if (key) issuers.set(i.name, key);
    else problems.push(m('p.issuer_key', { name: plain(i.name) }));
  }
  const witnesses = [];
  for (const w of b.witnesses) {
    const name = plain(w.name);
    const k = await attempt(() => parseVkey(w.vkey));
    if (k.err) problems.push(m('p.witness_key', { name, why: k.err }));
    else if (k.ok.alg !== ALG_COSIGNATURE_V1) problems.push(m('p.witness_type', { name }));
    else if (k.ok.name !== w.name) problems.push(m('p.witness_name', { name }));
    else if (witnesses.some((o) => o.name === w.name)) problems.push(m('p.witness_twice', { name }));
    else witnesses.push(k.ok);
  }
  const entries = [];
  let prev = -1;
  for (const e of b.entries) {
    if (e.index <= prev) problems.push(m('p.entry_order', { i: e.index }));
    prev = e.index;
    const d = await decodeEntry(e);
    if (d.leaf.err) problems.push(m('p.entry_leaf', { i: e.index, why: d.leaf.err }));
    if (!d.proof) problems.push(m('p.entry_proof', { i: e.index }));
    entries.push(d);
  }
  return { problems, logKey, checkpoint, issuers, witnesses, entries };
}

async function decodeEntry(e) {
  const bytes = e.leaf.length > MAX_LEAF_B64 ? null : b64decode(e.leaf);
  const leaf = bytes ? await attempt(() => parseLeaf(bytes)) : { err: m('r.leaf', { what: 'b64' }) };
  const hashes = e.inclusion.map(b64decode);
  const proof = hashes.every((h) => h && h.length === 32) ? hashes : null;
  return { index: e.index, leafHash: bytes ? await leafHash(bytes) : null, leaf, proof };
}

const readable = (d) => d.entries.filter((e) => e.leaf.ok).map((e) => [e.index, e.leaf.ok]);
const check = (id, subject, passed, title, detail) => ({ id, subject, passed, title, detail });

function formatCheck(b, d) {
  const detail = d.problems.length === 0
    ? m('c.format.ok', { entries: b.entries.length, issuers: b.issuers.length, witnesses: b.witnesses.length })
    : m('c.format.bad', { problems: d.problems });
  return check('bundle_format', null, d.problems.length === 0, m('c.format.title'), detail);
}

function sameDocumentCheck(b, d) {
  const problems = d.entries.filter((e) => e.leaf.err).map((e) => m('p.unreadable', { i: e.index }));
  const entries = readable(d);
  const firstHash = entries.length ? entries[0][1].event.document_hash : null;
  const actors = new Map();
  const ids = new Map();
  for (const [i, l] of entries) {
    const ev = l.event;
    if (l.tenant !== b.tenant) problems.push(m('p.other_tenant', { i }));
    if (ev.document_id !== b.document_id) problems.push(m('p.other_contract', { i, id: plain(ev.document_id) }));
    if (ev.document_hash !== firstHash) problems.push(m('p.other_document', { i, hash: ev.document_hash }));
    const who = `${ev.actor.display}\u0000${ev.actor.commitment}`;
    if (!actors.has(ev.actor.id)) actors.set(ev.actor.id, who);
    else if (actors.get(ev.actor.id) !== who) problems.push(m('p.other_identity', { i, who: plain(ev.actor.id) }));
    if (ids.has(ev.event_id)) problems.push(m('p.repeat_event', { j: ids.get(ev.event_id), i, id: plain(ev.event_id) }));
    else ids.set(ev.event_id, i);
  }
  const detail = problems.length === 0
    ? m('c.same.ok', { n: entries.length, contract: plain(b.document_id), tenant: plain(b.tenant), hash: firstHash ?? '' })
    : m('c.same.bad', { problems });
  return check('same_document', null, problems.length === 0, m('c.same.title'), detail);
}

function documentHashCheck(supplied, d) {
  const entries = readable(d);
  const mismatched = entries.filter(([, l]) => l.event.document_hash !== supplied).map(([i]) => String(i));
  const evidence = entries.length ? entries[0][1].event.document_hash : null;
  const passed = entries.length > 0 && mismatched.length === 0 && entries.length === d.entries.length;
  const verdict = passed ? m('c.hash.match') : mismatched.length === 0 ? m('c.hash.unreadable') : m('c.hash.mismatch', { entries: mismatched });
  return check('document_hash', null, passed, m('c.hash.title'), m('c.hash.detail', { file: supplied, evidence, verdict }));
}

async function logSignatureCheck(b, d, pinned) {
  const title = m('c.log.title');
  const out = (passed, detail) => check('log_signature', null, passed, title, detail);
  if (d.logKey.err) return out(false, m('c.log.undecodable', { why: d.logKey.err }));
  const key = d.logKey.ok;
  if (pinned) {
    const p = await attempt(() => parseVkey(pinned));
    if (p.err) return out(false, m('c.log.pinned_invalid', { why: p.err }));
    if (!sameKey(p.ok, key)) return out(false, m('c.log.pinned_differs', { pinned: plain(pinned), key: plain(key.vkey) }));
  }
  if (d.checkpoint.err) return out(false, m('c.log.undecodable', { why: d.checkpoint.err }));
  const cp = d.checkpoint.ok;
  if (b.origin !== key.name || cp.origin !== key.name) return out(false, m('c.log.origin', { cp: plain(cp.origin), key: plain(key.name) }));
  const bad = await verifyNoteSignature(key, cp);
  if (bad) return out(false, m('c.log.invalid', { why: bad, key: plain(key.vkey) }));
  return out(true, m('c.log.ok', { size: String(cp.size), root: b64encode(cp.root), log: plain(key.name), pinned: Boolean(pinned) }));
}

async function witnessKeys(d, required) {
  const keys = d.witnesses.map((k) => ({ key: { ok: k }, label: k.name, listed: true, required: false }));
  for (const vkey of required) {
    const parsed = await attempt(async () => {
      const k = await parseVkey(vkey);
      if (k.alg !== ALG_COSIGNATURE_V1) fail('r.vkey', { what: 'not_witness' });
      return k;
    });
    const same = parsed.ok && keys.find((w) => w.key.ok && sameKey(w.key.ok, parsed.ok));
    if (same) same.required = true;
    else keys.push({ key: parsed, label: parsed.ok ? parsed.ok.name : plain(vkey), listed: false, required: true });
  }
  return keys;
}

async function cosignatureChecks(d, required) {
  const checks = [];
  const facts = [];
  for (const w of await witnessKeys(d, required)) {
    const outcome = await attempt(async () => {
      if (w.key.err) fail('c.cosig.required_invalid', { why: w.key.err });
      if (d.checkpoint.err) fail('c.cosig.undecodable', { who: plain(w.label), why: d.checkpoint.err });
      const t = await attempt(() => verifyCosignatures(w.key.ok, d.checkpoint.ok));
      if (t.err) fail('c.cosig.invalid', { who: plain(w.label), why: t.err });
      if (t.ok === null && w.required) fail('c.cosig.missing', { who: plain(w.label) });
      return t.ok;
    });
    if (w.key.ok) {
      const t = outcome.ok ?? null;
      facts.push({ name: w.key.ok.name, vkey: w.key.ok.vkey, listed: w.listed, required: w.required, cosigned_at: t === null ? null : unixToRfc3339(t) });
    }
    const title = m('c.cosig.title', { who: plain(w.label) });
    if (outcome.err) checks.push(check('cosignature', w.label, false, title, outcome.err));
    else if (outcome.ok !== null) {
      checks.push(check('cosignature', w.label, true, title, m('c.cosig.ok', { who: plain(w.label), at: unixToRfc3339(outcome.ok), required: w.required })));
    }
  }
  return { checks, facts };
}

async function inclusionCheck(e, d) {
  const title = m('c.incl.title', { i: e.index });
  const out = (passed, detail) => check('inclusion', String(e.index), passed, title, detail);
  if (!e.leafHash) return out(false, m('c.incl.unreadable'));
  if (!e.proof) return out(false, m('c.incl.malformed'));
  if (d.checkpoint.err) return out(false, m('c.incl.no_checkpoint', { why: d.checkpoint.err }));
  const { size, root } = d.checkpoint.ok;
  if (BigInt(e.index) >= size) return out(false, m('c.incl.beyond', { size: String(size), i: e.index }));
  const ok = await verifyInclusion(e.leafHash, BigInt(e.index), size, e.proof, root);
  return ok
    ? out(true, m('c.incl.ok', { n: e.proof.length, size: String(size), i: e.index }))
    : out(false, m('c.incl.bad'));
}

/** An attestation in words (docs/bundle-format.md §4), as a descriptor. */
export function describeAttestation(ev, a) {
  const method = typeof a.claim.method === 'string' ? a.claim.method : null;
  const result = typeof a.claim.result === 'string' ? plain(a.claim.result) : null;
  const issuer = plain(a.issuer);
  if (ev.kind === 'identity_verified' && method) return m('a.identity', { issuer, method, result });
  if (ev.kind === 'intent_verified' && method) return m('a.intent', { issuer, method, result });
  if (ev.kind === 'signed') {
    const alg = typeof a.claim.algorithm === 'string' ? plain(a.claim.algorithm) : null;
    if (a.issuer === `signer:${ev.actor.id}`) return m('a.signed_own', { issuer, alg });
    if (a.issuer.startsWith('signer:')) return m('a.signed_other', { issuer, alg });
    return m('a.signed_vouched', { issuer, alg });
  }
  return m('a.vouches', { issuer, claim: plain(canonicalJson(a.claim)) });
}

async function attestationCheck(e, issuers) {
  const title = m('c.att.title', { i: e.index });
  const subject = String(e.index);
  if (e.leaf.err) return { check: check('attestations', subject, false, title, m('c.att.unreadable')), entry: null };
  const ev = e.leaf.ok.event;
  const facts = [];
  for (let j = 0; j < ev.attestations.length; j++) {
    const a = ev.attestations[j];
    const key = issuers.get(a.issuer);
    let why = null;
    if (!key) why = m('c.att.no_key', { issuer: plain(a.issuer) });
    else if (!(await ed25519Verify(key, b64decode(a.signature), attestationMessage(ev, j)))) {
      why = m('c.att.bad_sig', { issuer: plain(a.issuer) });
    }
    facts.push({ issuer: a.issuer, claim: a.claim, description: describeAttestation(ev, a), valid: why === null, why });
  }
  const bad = facts.filter((f) => !f.valid).map((f) => m('c.att.item', { what: f.description, why: f.why }));
  const detail = facts.length === 0
    ? m('c.att.none', { kind: ev.kind })
    : bad.length === 0 ? m('c.att.ok', { all: facts.map((f) => f.description) }) : m('c.att.bad', { bad });
  const l = e.leaf.ok;
  const entry = {
    index: e.index, ledger_time: l.ledger_time, kind: ev.kind, event_id: ev.event_id,
    actor_id: ev.actor.id, actor_display: ev.actor.display, attestations: facts,
  };
  return { check: check('attestations', subject, bad.length === 0, title, detail), entry };
}

/** T1-T7 of docs/bundle-format.md §3.8. */
function timelineCheck(entries, unreadable) {
  const problems = [];
  if (unreadable > 0) problems.push(m('t.unreadable', { n: unreadable }));
  let prev = null;
  for (const [i, l] of entries) {
    const t = parseLedgerTime(l.ledger_time);
    if (prev && t < prev[1]) problems.push(m('t.time', { i, at: plain(l.ledger_time), j: prev[0] }));
    prev = [i, t];
  }
  entries.forEach(([i, l], pos) => {
    if (l.event.kind === 'registered' && pos !== 0) problems.push(m('t.registered', { i }));
  });
  const identity = new Set();
  const intent = new Set();
  let signed = false;
  let completed = null;
  let ended = null;
  let archived = null;
  for (const [i, l] of entries) {
    const { kind, actor } = l.event;
    const who = plain(actor.id);
    if (kind === 'identity_verified') identity.add(actor.id);
    if (kind === 'intent_verified') intent.add(actor.id);
    if (kind === 'signed') {
      if (!identity.has(actor.id)) problems.push(m('t.no_identity', { who, i }));
      if (!intent.has(actor.id)) problems.push(m('t.no_intent', { who, i }));
      const own = `signer:${actor.id}`;
      if (!l.event.attestations.some((a) => a.issuer === own)) problems.push(m('t.not_own_key', { who, i, own: plain(own) }));
      if (completed !== null) problems.push(m('t.signed_after_completion', { i, c: completed }));
      signed = true;
    }
    if (kind === 'completed') {
      if (!signed) problems.push(m('t.completed_unsigned', { i }));
      completed ??= i;
    }
    if (ended !== null && kind !== 'report_issued' && kind !== 'archived') problems.push(m('t.after_end', { i, e: ended[0], kind: ended[1] }));
    if (archived !== null && kind !== 'report_issued') problems.push(m('t.after_archive', { i, a: archived }));
    if ((kind === 'revoked' || kind === 'rejected') && ended === null) ended = [i, kind];
    if (kind === 'archived') archived ??= i;
  }
  const passed = problems.length === 0;
  const detail = passed ? m('c.time.ok', { n: entries.length }) : m('c.time.bad', { problems });
  return check('timeline', null, passed, m('c.time.title'), detail);
}

function parties(entries) {
  const out = [];
  for (const [, l] of entries) {
    const a = l.event.actor;
    const signed = l.event.kind === 'signed';
    const p = out.find((x) => x.id === a.id);
    if (p) p.signed ||= signed;
    else out.push({ id: a.id, display: a.display, commitment: a.commitment, signed });
  }
  return out;
}

/**
 * Verifies a bundle (bytes, or an already-parsed object) and rebuilds its
 * evidence chain. options: documentHash (hex of the file's SHA-256),
 * logKey (pinned vkey), witnesses (required vkeys). Never throws.
 */
export async function verifyBundle(input, options = {}) {
  const report = { passed: false, checks: [], origin: '', tenant: '', document_id: '', document_hash: null, checkpoint: null, parties: [], timeline: [], witnesses: [] };
  let b;
  try {
    b = input instanceof Uint8Array ? parseBundle(input) : input;
  } catch (e) {
    report.checks.push(check('bundle_format', null, false, m('c.format.title'), m('c.format.unreadable', { why: errMsg(e) })));
    return report;
  }
  Object.assign(report, { origin: b.origin, tenant: b.tenant, document_id: b.document_id });
  const d = await decode(b);
  report.checks.push(formatCheck(b, d), sameDocumentCheck(b, d));
  if (options.documentHash) report.checks.push(documentHashCheck(options.documentHash, d));
  report.checks.push(await logSignatureCheck(b, d, options.logKey));
  const cos = await cosignatureChecks(d, options.witnesses ?? []);
  report.checks.push(...cos.checks);
  report.witnesses = cos.facts;
  for (const e of d.entries) report.checks.push(await inclusionCheck(e, d));
  for (const e of d.entries) {
    const { check: c, entry } = await attestationCheck(e, d.issuers);
    report.checks.push(c);
    if (entry) report.timeline.push(entry);
  }
  const entries = readable(d);
  report.checks.push(timelineCheck(entries, d.entries.length - entries.length));
  report.document_hash = entries.length ? entries[0][1].event.document_hash : null;
  if (d.checkpoint.ok) {
    const cp = d.checkpoint.ok;
    report.checkpoint = { origin: cp.origin, tree_size: String(cp.size), root: b64encode(cp.root) };
  }
  report.logKey = d.logKey.ok ?? null;
  // RFC 3161 tokens (CMS, X.509) are checked by the offline verifier, not
  // here; the page says so instead of passing or failing them.
  report.unchecked_timestamps =
    entries.filter(([, leaf]) => 'timestamp_token' in leaf.event).length + ('checkpoint_timestamp' in b ? 1 : 0);
  report.parties = parties(entries);
  report.passed = report.checks.length > 0 && report.checks.every((c) => c.passed);
  return report;
}

/**
 * The `log_consistency` check: the log's latest checkpoint (`latestNote`,
 * as served by /v1/checkpoint) is signed by `logKey` and is consistent
 * (RFC 9162 §2.1.4.2, `proof` as base64 hashes) with the bundle's
 * checkpoint {tree_size, root}, so the log still holds what the bundle shows.
 */
export async function verifyStillInLog(logKey, bundleCp, latestNote, proof) {
  const title = m('c.live.title');
  const out = (passed, detail) => check('log_consistency', null, passed, title, detail);
  if (!logKey || !bundleCp) return out(false, m('c.live.no_bundle_checkpoint'));
  const latest = await attempt(() => parseSignedCheckpoint(latestNote));
  if (latest.err) return out(false, m('c.live.unreadable', { why: latest.err }));
  const cp = latest.ok;
  if (cp.origin !== logKey.name) return out(false, m('c.log.origin', { cp: plain(cp.origin), key: plain(logKey.name) }));
  const bad = await verifyNoteSignature(logKey, cp);
  if (bad) return out(false, m('c.live.bad_signature', { why: bad }));
  const oldSize = BigInt(bundleCp.tree_size);
  const oldRoot = b64decode(bundleCp.root);
  if (cp.size < oldSize) return out(false, m('c.live.shrunk', { old: String(oldSize), size: String(cp.size) }));
  const hashes = (proof ?? []).map(b64decode);
  if (!hashes.every((h) => h && h.length === 32)) return out(false, m('c.live.bad_proof'));
  const ok = await verifyConsistency(oldSize, cp.size, hashes, oldRoot, cp.root);
  if (!ok) return out(false, m('c.live.inconsistent', { old: String(oldSize), size: String(cp.size) }));
  return out(true, m('c.live.ok', { old: String(oldSize), size: String(cp.size), root: b64encode(cp.root) }));
}

/** Splits a /v1/lookup answer into one bundle per (tenant, contract). */
export function lookupToBundles(answer) {
  const groups = new Map();
  for (const e of answer.entries) {
    const bytes = b64decode(e.leaf);
    let key = '?';
    let tenant = '';
    let documentId = '';
    try {
      const v = parseStrictJson(decodeUtf8(bytes));
      tenant = String(v.tenant);
      documentId = String(v.event.document_id);
      key = JSON.stringify([tenant, documentId]);
    } catch {
      // An unreadable leaf still gets checked (and fails) in a group of its own.
    }
    if (!groups.has(key)) groups.set(key, { tenant, document_id: documentId, entries: [] });
    groups.get(key).entries.push(e);
  }
  return [...groups.values()].map((g) => ({
    format: FORMAT_V1, origin: answer.origin, log_vkey: answer.log_vkey, tenant: g.tenant,
    document_id: g.document_id, checkpoint: answer.checkpoint, tree_size: answer.tree_size,
    entries: g.entries, issuers: answer.issuers, witnesses: answer.witnesses,
  }));
}
