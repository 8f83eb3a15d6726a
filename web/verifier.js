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
const FORMAT_V2 = 'evidence-bundle/v2';
const LOOKUP_V2 = 'evidence-lookup/v2';
/** Evidence v2 (docs/evidence-v2.md; verifier/src/v2.rs). */
export const LEAF_FORMAT_V2 = 'evidence-leaf/v2';
export const RECORD_FORMAT_V2 = 'evidence-record/v2';
export const IDENTITY_FORMAT_V2 = 'evidence-identity/v2';
export const COMMITMENT_ALG_V2 = 'sha256-jcs-salted/v2';
const RECORD_DOMAIN = 'evidence-ledger/record/v2';
const IDENTITY_DOMAIN = 'evidence-ledger/identity/v2';
export const ATTESTATION_CONTEXT_V2 = 'evidence-ledger/attestation/v2';
const SALT_BYTES = 32;
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

/** Whether 32 bytes decode to a curve point (ed25519-dalek's
 * VerifyingKey::from_bytes: small-order points decode, then never verify). */
export const isCurvePoint = (bytes) => bytes.length === 32 && decompress(bytes) !== null;

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
  if (!key || sig.length !== 64 || !isStrictPoint(sig.subarray(0, 32))) return false;
  try {
    return await subtle.verify({ name: 'Ed25519' }, key, sig, msg);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// C2SP signed notes, verifier keys, checkpoints, cosignatures.

// Rust's char::is_whitespace (Unicode White_Space). Not JavaScript's \s,
// which also holds U+FEFF and lacks U+0085.
const WS = '\\u0009-\\u000d\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const WS_OR_PLUS_RE = new RegExp(`[${WS}+]`, 'u');
const WS_RUN_RE = new RegExp(`[${WS}]+`, 'u');
const WS_RUN_RE_G = new RegExp(`[${WS}]+`, 'gu');
const WS_THEN_HASH_RE = new RegExp(`[${WS}]#`, 'u');
const TRIM_RE = new RegExp(`^[${WS}]+|[${WS}]+$`, 'gu');
/** Rust's str::trim. */
const trimWs = (s) => s.replace(TRIM_RE, '');
/** Rust's str::split_whitespace. */
const splitWs = (s) => s.split(WS_RUN_RE).filter((x) => x !== '');

/** C2SP signed-note key names: non-empty, no whitespace (as Rust's
 * char::is_whitespace) and no '+'. */
export const validKeyName = (n) => n.length > 0 && !WS_OR_PLUS_RE.test(n);

/** C2SP signed-note key ID: SHA-256(name || 0x0A || type || key)[:4]. */
async function keyId(name, alg, key) {
  return (await sha256(concat(utf8.encode(name), [0x0a, alg], key))).subarray(0, 4);
}

/** Parses a vkey `<name>+<8 hex key id>+<base64(type || key)>` (types 0x01, 0x04). */
export async function parseVkey(vkey) {
  // MAX_VKEY_SIZE is in UTF-8 bytes, as the Rust verifier counts it.
  if (typeof vkey !== 'string' || utf8Length(vkey) > MAX_VKEY_SIZE) fail('r.vkey', { what: 'size' });
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
  // As ed25519-dalek's VerifyingKey::from_bytes: a curve point decodes; a
  // small-order one (cryptoKey null) then fails every verification.
  if (!isCurvePoint(key)) fail('r.vkey', { what: 'point' });
  if (hex(await keyId(name, alg, key)) !== idHex) fail('r.vkey', { what: 'id_mismatch' });
  return { name, keyIdHex: idHex, alg, key, cryptoKey: await importEd25519(key), vkey };
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
/** Cosignature times may run this far ahead of the verifier's clock. */
const COSIG_SKEW_SECS = 300n;

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
  'rejected', 'revoked', 'completed', 'archived', 'report_issued', 'registry_changed', 'erased',
];
const MAY_OMIT_ATTESTATIONS = ['registered', 'completed', 'archived', 'report_issued'];
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
const HEX64_RE = /^[0-9a-f]{64}$/;
const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z$/;
// What a display name may not hold: control characters and bidirectional
// overrides (which make text read as other text), as entry.rs.
const DISPLAY_UNSAFE_RE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
// What is never shown raw (report.rs is_unsafe_char): controls (Cc), line
// and paragraph separators, and the invisible or reordering format
// characters (Cf): soft hyphen, Arabic letter mark, Mongolian vowel
// separator, zero widths, bidi marks, overrides and isolates, invisible
// operators, the byte order mark, interlinear annotation.
const UNSAFE_RE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/gu;

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
  const all = ['event_id', 'document_id', 'kind', 'document_hash', 'actor', 'attestations', 'timestamp_token', 'event_timestamp_token', 'identity'];
  fields(ev, all, all.slice(0, 6), 'event.');
  if (!KINDS.includes(ev.kind)) invalid('event.kind', 'kind');
  idString(ev.event_id, 'event.event_id');
  idString(ev.document_id, 'event.document_id');
  hex64(ev.document_hash, 'event.document_hash');
  fields(ev.actor, ['id', 'display', 'commitment'], ['id', 'display', 'commitment'], 'event.actor.');
  idString(ev.actor.id, 'event.actor.id');
  const display = ev.actor.display;
  const n = typeof display === 'string' ? [...display].length : 0;
  if (n === 0 || n > 64 || DISPLAY_UNSAFE_RE.test(display)) invalid('event.actor.display', 'display');
  hex64(ev.actor.commitment, 'event.actor.commitment');
  if (!Array.isArray(ev.attestations) || ev.attestations.length > 16) invalid('event.attestations', 'count');
  if (ev.attestations.length === 0 && !MAY_OMIT_ATTESTATIONS.includes(ev.kind)) invalid('event.attestations', 'count');
  ev.attestations.forEach((a, j) => {
    const path = `event.attestations[${j}].`;
    fields(a, ['issuer', 'claim', 'signature', 'v'], ['issuer', 'claim', 'signature'], path);
    idString(a.issuer, `${path}issuer`);
    // "v": 2 is an attestation v2; absent is v1; anything else is refused.
    if ('v' in a && a.v !== 2) invalid(`${path}v`, 'version');
    if (!isObject(a.claim) || depth(a.claim) > 8 || utf8.encode(canonicalJson(a.claim)).length > 4096) {
      invalid(`${path}claim`, 'claim');
    }
    const sig = typeof a.signature === 'string' && a.signature.length === 88 ? b64decode(a.signature) : null;
    if (!sig || sig.length !== 64) invalid(`${path}signature`, 'signature');
  });
  // RFC 3161 tokens: over document_hash (the document existed by then),
  // and over the event's own canonical JSON (the event existed by then).
  for (const k of ['timestamp_token', 'event_timestamp_token']) {
    if (!(k in ev)) continue;
    const t = typeof ev[k] === 'string' ? b64decode(ev[k]) : null;
    if (!t || t.length === 0 || t.length > 16384) invalid(`event.${k}`, 'token');
  }
  if ('identity' in ev) parseIdentityFields(ev.identity, 'event.identity.');
  return ev;
}

// The actor's real identity (evidence v2; entry.rs parse_identity).
const IDENTITY_MEMBERS = ['name', 'id_type', 'id_number', 'phone'];
// Rust's char::is_control (Cc) and the invisible characters entry.rs refuses in a name.
const NAME_UNSAFE_RE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]/u;
const ID_TYPE_RE = /^[A-Za-z0-9._:-]{1,32}$/;
const ID_NUMBER_RE = /^[A-Za-z0-9-]{1,64}$/;
const PHONE_RE = /^[0-9+ -]{1,32}$/;

function parseIdentityFields(id, path) {
  fields(id, IDENTITY_MEMBERS, ['name', 'id_type', 'id_number'], path);
  const n = typeof id.name === 'string' ? [...id.name].length : 0;
  if (n === 0 || n > 64 || NAME_UNSAFE_RE.test(id.name)) invalid(`${path}name`, 'display');
  if (typeof id.id_type !== 'string' || !ID_TYPE_RE.test(id.id_type)) invalid(`${path}id_type`, 'id_type');
  if (typeof id.id_number !== 'string' || !ID_NUMBER_RE.test(id.id_number)) invalid(`${path}id_number`, 'id_number');
  if ('phone' in id && (typeof id.phone !== 'string' || !PHONE_RE.test(id.phone))) invalid(`${path}phone`, 'phone');
  return id;
}

/** Parses and validates leaf bytes (strict JSON, exactly canonical). */
export function parseLeaf(bytes) {
  if (bytes.length > MAX_LEAF_BYTES) fail('r.leaf', { what: 'size' });
  const text = decodeUtf8(bytes);
  const value = parseStrictJson(text, { maxDepth: 12, maxString: 64 * 1024 });
  if (canonicalJson(value) !== text) fail('r.leaf', { what: 'canonical' });
  // A leaf with a `format` member is v2 (v2.rs parse_any_leaf).
  if (isObject(value) && 'format' in value) return parseLeafV2(value);
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

/** A v2 leaf: exactly {commitment, commitment_alg, format, ledger_time}. */
function parseLeafV2(value) {
  fields(value, ['commitment', 'commitment_alg', 'format', 'ledger_time'], ['commitment', 'commitment_alg', 'format', 'ledger_time'], '');
  if (value.format !== LEAF_FORMAT_V2) invalid('format', 'leaf_format');
  if (value.commitment_alg !== COMMITMENT_ALG_V2) invalid('commitment_alg', 'commitment_alg');
  const commitment = b64of32(value.commitment, 'commitment');
  parseLedgerTime(value.ledger_time);
  return { v2: true, commitment, ledger_time: value.ledger_time };
}

/** Standard base64 of 32 bytes (44 characters), or Fail naming `path`. */
function b64of32(s, path) {
  const raw = typeof s === 'string' && s.length === 44 ? b64decode(s) : null;
  return raw && raw.length === SALT_BYTES ? raw : invalid(path, 'b64_32');
}

const domainHash = (domain, value) => sha256(concat(utf8.encode(domain), [0], utf8.encode(canonicalJson(value))));
/** SHA-256("evidence-ledger/record/v2" || 0x00 || JCS(record)). */
export const recordCommitment = (record) => domainHash(RECORD_DOMAIN, record);
/** SHA-256("evidence-ledger/identity/v2" || 0x00 || JCS(identity)). */
export const identityCommitment = (identity) => domainHash(IDENTITY_DOMAIN, identity);

/** Validates a record object (v2.rs parse_record): members, format, salt,
 * tenant, the event (no identity in it). Returns {event, tenant, identity_commitment}. */
export function parseRecord(rec) {
  fields(rec, ['event', 'format', 'identity_commitment', 'salt', 'tenant'], [], 'record.');
  if (rec.format !== RECORD_FORMAT_V2) invalid('record.format', 'record_format');
  b64of32(rec.salt, 'record.salt');
  const tenant = rec.tenant;
  if (typeof tenant !== 'string' || tenant.length === 0 || [...tenant].length > 128 || /[\u0000-\u001f\u007f-\u009f]/.test(tenant)) {
    invalid('record.tenant', 'tenant');
  }
  if (!('event' in rec)) invalid('record.event', 'required');
  if (isObject(rec.event) && 'identity' in rec.event) invalid('record.event.identity', 'identity_in_record');
  const event = parseEvent(rec.event);
  const ic = 'identity_commitment' in rec ? b64of32(rec.identity_commitment, 'record.identity_commitment') : null;
  return { event, tenant, identity_commitment: ic };
}

/** Opens a v2 leaf with its record (v2.rs open_leaf): the entry as a v1
 * leaf would give it ({event, tenant, ledger_time}) and the parsed record. */
export async function openLeaf(leaf, record) {
  const rec = parseRecord(record);
  const got = await recordCommitment(record);
  if (!eqBytes(got, leaf.commitment)) fail('r.open', { what: 'record', got: b64encode(got), want: b64encode(leaf.commitment) });
  return { entry: { event: rec.event, tenant: rec.tenant, ledger_time: leaf.ledger_time, v2: true }, record: rec };
}

/** Checks an identity opening against the record's identity_commitment
 * (v2.rs open_identity); returns {name, id_type, id_number, phone?}. */
export async function openIdentity(rec, identity) {
  fields(identity, ['format', 'id_number', 'id_type', 'name', 'phone', 'salt'], [], 'identity.');
  if (identity.format !== IDENTITY_FORMAT_V2) invalid('identity.format', 'identity_format');
  b64of32(identity.salt, 'identity.salt');
  const { format: _f, salt: _s, ...rest } = identity;
  parseIdentityFields(rest, 'identity.');
  if (!rec.identity_commitment) fail('r.open', { what: 'no_identity' });
  if (!eqBytes(await identityCommitment(identity), rec.identity_commitment)) fail('r.open', { what: 'identity' });
  return rest;
}

/** The bytes attestation `j` of `ev` signs, for an event of `tenant`
 * (DESIGN.md "Submitting events"; attestation v2 for `"v": 2`: attest.rs
 * attestation_message_v2, binding tenant, contract and actor). */
export function attestationMessage(ev, j, tenant) {
  const a = ev.attestations[j];
  if (a.v === 2) {
    return utf8.encode(canonicalJson({
      actor_id: ev.actor.id, claim: a.claim, context: ATTESTATION_CONTEXT_V2, document_hash: ev.document_hash,
      document_id: ev.document_id, event_id: ev.event_id, issuer: a.issuer, kind: ev.kind, tenant,
    }));
  }
  const obj = { claim: a.claim, document_hash: ev.document_hash, event_id: ev.event_id, issuer: a.issuer, kind: ev.kind };
  return utf8.encode(canonicalJson(obj));
}

/**
 * The one sanitizer for text shown to people, from a bundle, a policy or a
 * server answer (report.rs terminal_safe): controls (C0, C1, DEL), line and
 * paragraph separators, and invisible or reordering format characters
 * (bidi overrides and isolates, zero widths, the byte order mark) become
 * U+FFFD, so no text can hide or reorder other text; runs of white space
 * become one space. Not shortened.
 */
export function terminalSafe(s) {
  return String(s).replace(UNSAFE_RE, '\ufffd').replace(WS_RUN_RE_G, ' ');
}

/** A string from a bundle quoted in a check (report.rs plain): unsafe
 * characters become U+FFFD, cut at 200 code points with "…". */
export function plain(s) {
  const chars = [...String(s)];
  const cut = chars.slice(0, 200).join('').replace(UNSAFE_RE, '\ufffd');
  return chars.length > 200 ? `${cut}…` : cut;
}

/** As plain, never cut: for keys, which are shown in full. */
export const plainFull = (s) => String(s).replace(UNSAFE_RE, '\ufffd');

/** Unix seconds (BigInt) as RFC 3339 UTC, or "Unix time N" past year 9999. */
export function unixToRfc3339(secs) {
  if (secs > 253402300799n) return `Unix time ${secs}`;
  return new Date(Number(secs) * 1000).toISOString().replace('.000Z', 'Z');
}

// ---------------------------------------------------------------------------
// Trust policies (docs/trust-policy.md §1): the keys the person verifying
// chose. Keys inside a bundle are claims, never anchors.

/** Largest policy file, in UTF-8 bytes. */
export const MAX_POLICY_BYTES = 1 << 20;
const MAX_LOG_KEYS = 16;
const MAX_WITNESS_KEYS = 100;
const MAX_PINNED_ISSUERS = 10000;
/** Most TSA roots in a policy, and in a bundle. */
export const MAX_TSA_ROOTS = 16;
/** Largest PEM root certificate, in a policy and in a bundle. */
export const MAX_ROOT_PEM_BYTES = 16 * 1024;
const PEM_BEGIN = '-----BEGIN CERTIFICATE-----';
const PEM_END = '-----END CERTIFICATE-----';

/** Whether `pem` is one PEM CERTIFICATE block around base64 of one DER
 * SEQUENCE. The page cannot check X.509 itself; this is the shape only. */
export function isPemCertificateShape(pem) {
  return pemCertificateDer(pem) !== null;
}

/** The DER of a PEM CERTIFICATE block of one DER SEQUENCE, or null. */
function pemCertificateDer(pem) {
  const lines = trimWs(pem).split('\n').map((l) => trimWs(l));
  if (lines.length < 3 || lines[0] !== PEM_BEGIN || lines[lines.length - 1] !== PEM_END) return null;
  const der = b64decode(lines.slice(1, -1).join(''));
  if (!der || der.length < 2 || der[0] !== 0x30) return null;
  let len = der[1];
  let at = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || der.length < 2 + n) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[2 + i];
    at = 2 + n;
  }
  return at + len === der.length ? der : null;
}

/** Lines as Rust's str::lines: split at '\n', one trailing '\r' dropped. */
function textLines(text) {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** A policy line without its comment: a whole-line one, or one after a space. */
function stripComment(line) {
  if (trimWs(line).startsWith('#')) return '';
  const hit = WS_THEN_HASH_RE.exec(line);
  return hit ? line.slice(0, hit.index) : line;
}

/** Issuer and TSA names in a policy: the id syntax, so that no name can
 * carry a line of its own into a policy written back. */
const POLICY_NAME_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** A PEM CERTIFICATE block of `der`, 64 base64 characters a line. */
function derToPem(der) {
  const b64 = b64encode(der);
  const lines = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `${PEM_BEGIN}\n${lines.join('\n')}\n${PEM_END}\n`;
}

async function policyVkey(vkey, alg) {
  const k = await attempt(() => parseVkey(vkey));
  if (k.err) fail('pol.vkey', { vkey: plain(vkey), why: k.err });
  if (k.ok.alg !== alg) fail(alg === ALG_ED25519 ? 'pol.not_log' : 'pol.not_witness', { vkey: plain(vkey) });
  if (!k.ok.cryptoKey) fail('pol.weak', { vkey: plain(vkey) });
  return k.ok;
}

/** One witness per distinct 32-byte key: two names with one key count once. */
function witnessGroups(witnesses) {
  const groups = [];
  for (const w of witnesses) {
    const g = groups.find((x) => eqBytes(x.key, w.key));
    if (g) g.entries.push(w);
    else groups.push({ key: w.key, entries: [w] });
  }
  return groups;
}

/** An empty policy: trusts nothing. */
export function emptyPolicy() {
  return { logs: [], witnesses: [], groups: [], quorum: 0, quorumSet: false, issuers: new Map(), tsas: [], source: 'none' };
}

/**
 * Parses a trust policy file (docs/trust-policy.md §1). Returns {logs,
 * witnesses (vkey objects), groups (witnesses by distinct key), quorum (the
 * number required: as written, else every distinct key), quorumSet, issuers
 * (Map name → {b64, raw, cryptoKey}), tsas [{name, pem}]}. Throws Fail
 * naming the line: a verifier never runs on a policy it could not read whole.
 */
export async function parsePolicy(text) {
  if (typeof text !== 'string') fail('pol.unreadable');
  if (utf8Length(text) > MAX_POLICY_BYTES) fail('pol.size', { max: MAX_POLICY_BYTES });
  if (!isWellFormed(text)) fail('pol.unreadable');
  // A byte order mark, as some editors write, is not part of line 1.
  if (text.startsWith('\ufeff')) text = text.slice(1);
  const p = emptyPolicy();
  p.source = 'policy';
  let quorumLine = 0;
  let quorum = null;
  const lines = textLines(text);
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const line = trimWs(stripComment(lines[i]));
    if (line === '') continue;
    const sp = line.indexOf(' ');
    const word = sp < 0 ? line : line.slice(0, sp);
    const args = sp < 0 ? [] : splitWs(line.slice(sp + 1));
    const r = await attempt(async () => {
      const one = ['log', 'witness', 'quorum', 'tsa'].includes(word) ? 1 : word === 'issuer' ? 2 : -1;
      if (one < 0) fail('pol.keyword', { word: plain(word) });
      if (args.length !== one || (word === 'quorum' && quorum !== null)) fail('pol.arguments', { word });
      if (word === 'log') {
        const k = await policyVkey(args[0], ALG_ED25519);
        if (p.logs.some((x) => sameKey(x, k))) fail('pol.twice', { what: plain(args[0]) });
        if (p.logs.length === MAX_LOG_KEYS) fail('pol.too_many', { what: 'log', max: MAX_LOG_KEYS });
        p.logs.push(k);
      } else if (word === 'witness') {
        const k = await policyVkey(args[0], ALG_COSIGNATURE_V1);
        if (p.witnesses.some((x) => sameKey(x, k))) fail('pol.twice', { what: plain(args[0]) });
        if (p.witnesses.length === MAX_WITNESS_KEYS) fail('pol.too_many', { what: 'witness', max: MAX_WITNESS_KEYS });
        p.witnesses.push(k);
      } else if (word === 'quorum') {
        // Decimal digits only, at most 6 (policy.rs).
        if (!/^[0-9]{1,6}$/.test(args[0])) fail('pol.quorum_number', { k: plain(args[0]) });
        quorum = BigInt(args[0]);
        quorumLine = n;
      } else if (word === 'issuer') {
        const [name, b64] = args;
        if (!POLICY_NAME_RE.test(name)) fail('pol.name', { what: 'issuer', name: plain(name) });
        if (p.issuers.has(name)) fail('pol.twice', { what: plain(name) });
        if (p.issuers.size === MAX_PINNED_ISSUERS) fail('pol.too_many', { what: 'issuer', max: MAX_PINNED_ISSUERS });
        const raw = b64decode(b64);
        const cryptoKey = raw && raw.length === 32 ? await importEd25519(raw) : null;
        if (!cryptoKey) fail('pol.issuer_key', { name: plain(name) });
        p.issuers.set(name, { b64, raw, cryptoKey });
      } else {
        const name = args[0];
        if (!POLICY_NAME_RE.test(name)) fail('pol.name', { what: 'TSA', name: plain(name) });
        if (p.tsas.some((t) => t.name === name)) fail('pol.twice', { what: plain(name) });
        if (p.tsas.length === MAX_TSA_ROOTS) fail('pol.too_many', { what: 'tsa', max: MAX_TSA_ROOTS });
        let pem = '';
        for (;;) {
          i++;
          if (i >= lines.length) fail('pol.pem_end');
          const l = trimWs(lines[i]);
          if (pem === '' && l !== PEM_BEGIN) fail('pol.pem_begin');
          pem += `${l}\n`;
          if (utf8Length(pem) > MAX_ROOT_PEM_BYTES) fail('pol.pem_size', { max: MAX_ROOT_PEM_BYTES });
          if (l === PEM_END) break;
        }
        const der = pemCertificateDer(pem);
        if (!der) fail('pol.pem_shape', { name: plain(name) });
        p.tsas.push({ name, pem: derToPem(der) });
      }
    });
    if (r.err) fail('pol.line', { line: n, why: r.err });
  }
  p.groups = witnessGroups(p.witnesses);
  if (quorum !== null && quorum > BigInt(p.groups.length)) {
    fail('pol.line', { line: quorumLine, why: m('pol.quorum_large', { k: String(quorum), distinct: p.groups.length }) });
  }
  p.quorumSet = quorum !== null;
  p.quorum = quorum === null ? p.groups.length : Number(quorum);
  return p;
}

/** Trust policy text from keys typed in (a log vkey, witness vkeys, a
 * quorum), parsed by the same rules as a file. */
export function policyTextFromKeys({ log = '', witnesses = [], quorum = '' } = {}) {
  const lines = [];
  for (const l of splitWs(log)) lines.push(`log ${l}`);
  for (const w of witnesses.flatMap(splitWs)) lines.push(`witness ${w}`);
  if (String(quorum).trim() !== '') lines.push(`quorum ${String(quorum).trim()}`);
  return `${lines.join('\n')}\n`;
}

/** A starting policy from a ledger's GET /v1/log answer: its log key, its
 * witnesses, and its anchoring quorum if it publishes one (else all of
 * them). Proves nothing until compared with keys published elsewhere. */
export async function policyFromLogInfo(info) {
  // One key listed twice under one name is one witness (as policy.rs).
  const listed = Array.isArray(info?.witnesses) ? info.witnesses.map((w) => (typeof w === 'string' ? w : w?.vkey)) : [];
  const witnesses = [...new Set(listed)];
  // The anchoring quorum: `quorum.threshold` (GET /v1/log), or a number
  // under `quorum`, `anchoring.quorum|threshold`, `threshold`.
  const q = [info?.quorum?.threshold, info?.quorum, info?.anchoring?.quorum, info?.anchoring?.threshold, info?.threshold, info?.witness_threshold]
    .find((x) => Number.isSafeInteger(x) && x >= 0);
  const distinct = witnessGroups(await Promise.all(witnesses.map((w) => policyVkey(String(w), ALG_COSIGNATURE_V1)))).length;
  let text = policyTextFromKeys({ log: String(info?.vkey ?? ''), witnesses: witnesses.map(String), quorum: q === undefined ? '' : String(Math.min(q, distinct)) });
  // The roots the ledger trusts (GET /v1/log `timestamp_authorities`): shown
  // as the anchors in force, though this page checks no RFC 3161 token.
  const names = new Set();
  for (const t of Array.isArray(info?.timestamp_authorities) ? info.timestamp_authorities : []) {
    const name = typeof t?.name === 'string' ? t.name : '';
    if (!POLICY_NAME_RE.test(name) || names.has(name) || names.size >= MAX_TSA_ROOTS || typeof t.root_pem !== 'string' || !isPemCertificateShape(t.root_pem)) continue;
    names.add(name);
    text += `tsa ${name}\n${t.root_pem.trim()}\n`;
  }
  const p = await parsePolicy(text);
  p.source = 'server';
  return p;
}

// ---------------------------------------------------------------------------
// The bundle.

/** Parses bundle bytes: size cap, strict JSON, exact members, list caps. */
export function parseBundle(bytes) {
  if (bytes.length > MAX_BUNDLE_BYTES) fail('r.bundle', { what: 'size' });
  return checkBundleShape(parseStrictJson(decodeUtf8(bytes), { maxDepth: 16, maxString: MAX_LEAF_B64 }));
}

/** The shape rules of docs/bundle-format.md §1 over a parsed bundle (exact
 * members, types, list caps; `null` is no optional member's value). */
export function checkBundleShape(v) {
  const str = (x, f) => (typeof x === 'string' ? x : fail('r.bundle', { what: 'type', field: f }));
  const top = ['format', 'origin', 'log_vkey', 'tenant', 'document_id', 'checkpoint', 'tree_size', 'entries', 'issuers', 'witnesses', 'checkpoint_timestamp', 'timestamp_authorities', 'anchoring'];
  const members = (obj, allowed, required, where) => {
    if (!isObject(obj)) fail('r.bundle', { what: 'type', field: where });
    for (const k of Object.keys(obj)) if (!allowed.includes(k)) fail('r.bundle', { what: 'unknown', field: `${where}${k}` });
    for (const k of required) if (!(k in obj)) fail('r.bundle', { what: 'missing', field: `${where}${k}` });
  };
  const optional = ['tree_size', 'checkpoint_timestamp', 'timestamp_authorities', 'anchoring'];
  members(v, top, top.filter((k) => !optional.includes(k)), '');
  if ('anchoring' in v) {
    // The ledger's own statement of its anchoring policy: a claim, shown,
    // never counted (cosignatures count against the checker's policy).
    const a = v.anchoring;
    const all = ['threshold', 'required', 'cosigned_by', 'satisfied'];
    members(a, all, all, 'anchoring.');
    if (!Number.isSafeInteger(a.threshold) || a.threshold < 0) fail('r.bundle', { what: 'type', field: 'anchoring.threshold' });
    for (const k of ['required', 'cosigned_by']) {
      if (!Array.isArray(a[k])) fail('r.bundle', { what: 'type', field: `anchoring.${k}` });
      if (a[k].length > MAX_WITNESSES) fail('r.bundle', { what: 'count', field: `anchoring.${k}` });
      a[k].forEach((x, i) => str(x, `anchoring.${k}[${i}]`));
    }
    if (typeof a.satisfied !== 'boolean') fail('r.bundle', { what: 'type', field: 'anchoring.satisfied' });
  }
  if ('checkpoint_timestamp' in v) {
    members(v.checkpoint_timestamp, ['tsa', 'token'], ['tsa', 'token'], 'checkpoint_timestamp.');
    str(v.checkpoint_timestamp.tsa, 'checkpoint_timestamp.tsa');
    str(v.checkpoint_timestamp.token, 'checkpoint_timestamp.token');
  }
  if ('timestamp_authorities' in v) {
    if (!Array.isArray(v.timestamp_authorities)) fail('r.bundle', { what: 'type', field: 'timestamp_authorities' });
    if (v.timestamp_authorities.length > MAX_TSA_ROOTS) fail('r.bundle', { what: 'count', field: 'timestamp_authorities' });
    v.timestamp_authorities.forEach((x, i) => {
      members(x, ['name', 'root_pem'], ['name', 'root_pem'], `timestamp_authorities[${i}].`);
      str(x.name, `timestamp_authorities[${i}].name`);
      str(x.root_pem, `timestamp_authorities[${i}].root_pem`);
      if (utf8Length(x.root_pem) > MAX_ROOT_PEM_BYTES) fail('r.bundle', { what: 'size_of', field: `timestamp_authorities[${i}].root_pem` });
    });
  }
  for (const k of ['format', 'origin', 'log_vkey', 'tenant', 'document_id', 'checkpoint']) str(v[k], k);
  if (v.format !== FORMAT_V1 && v.format !== FORMAT_V2) fail('r.bundle', { what: 'format', field: plain(v.format) });
  const v2 = v.format === FORMAT_V2;
  if ('tree_size' in v && !(Number.isSafeInteger(v.tree_size) && v.tree_size >= 0)) fail('r.bundle', { what: 'type', field: 'tree_size' });
  for (const [k, cap] of [['entries', MAX_ENTRIES], ['issuers', MAX_ISSUERS], ['witnesses', MAX_WITNESSES]]) {
    if (!Array.isArray(v[k])) fail('r.bundle', { what: 'type', field: k });
    if (v[k].length > cap || (k === 'entries' && v[k].length === 0)) fail('r.bundle', { what: 'count', field: k });
  }
  v.entries.forEach((e, i) => {
    // Bundle v2: per entry the record, the identity opening, or the erased marker.
    const allowed = v2 ? ['index', 'leaf', 'inclusion', 'record', 'identity', 'erased'] : ['index', 'leaf', 'inclusion'];
    members(e, allowed, ['index', 'leaf', 'inclusion'], `entries[${i}].`);
    for (const k of ['record', 'identity']) if (k in e && !isObject(e[k])) fail('r.bundle', { what: 'type', field: `entries[${i}].${k}` });
    if ('record' in e && 'erased' in e) fail('r.bundle', { what: 'record_and_erased', field: `entries[${i}]` });
    if ('identity' in e && !('record' in e)) fail('r.bundle', { what: 'identity_alone', field: `entries[${i}]` });
    if ('erased' in e) {
      const all = ['at', 'by', 'reason', 'entry'];
      members(e.erased, all, all, `entries[${i}].erased.`);
      for (const k of ['at', 'by', 'reason']) str(e.erased[k], `entries[${i}].erased.${k}`);
      if (!Number.isSafeInteger(e.erased.entry) || e.erased.entry < 0) fail('r.bundle', { what: 'type', field: `entries[${i}].erased.entry` });
    }
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
    // Small-order keys are refused (strict verification refuses every
    // signature under them), as verifier/src/bundle/decode.rs.
    const cryptoKey = raw && raw.length === 32 ? await importEd25519(raw) : null;
    if (issuers.has(i.name)) problems.push(m('p.issuer_twice', { name: plain(i.name) }));
    else if (cryptoKey) issuers.set(i.name, { raw, b64: i.public_key, cryptoKey });
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
    const d = await decodeEntry(e, b.format === FORMAT_V2);
    if (d.raw.err) problems.push(m('p.entry_leaf', { i: e.index, why: d.raw.err }));
    // A v2 leaf in a v1 bundle cannot be opened (a lookup v2 needs no opening).
    else if (d.raw.ok.v2 && b.format === FORMAT_V1) problems.push(m('p.entry_leaf', { i: e.index, why: d.leaf.err }));
    // A v1 leaf is in clear: a record, identity or marker beside it is malformed.
    else if (!d.raw.ok.v2 && d.opening.length) problems.push(m('p.v1_member', { i: e.index }));
    if (!d.proof) problems.push(m('p.entry_proof', { i: e.index }));
    entries.push(d);
  }
  return { problems, logKey, checkpoint, issuers, witnesses, entries };
}

/**
 * One entry: `raw` is its leaf as parsed (v1 or v2), `leaf` what the
 * checks over events read: a v1 leaf, or a v2 leaf opened by its record
 * (`{err}` when there is none or it does not open: the `commitments` check
 * says why). An entry with an `erased` marker has `erased` set and is no
 * event to check. Opening problems go to `opening` (for `commitments`).
 */
async function decodeEntry(e, bundleV2) {
  const bytes = e.leaf.length > MAX_LEAF_B64 ? null : b64decode(e.leaf);
  const raw = bytes ? await attempt(() => parseLeaf(bytes)) : { err: m('r.leaf', { what: 'b64' }) };
  const hashes = e.inclusion.map(b64decode);
  const proof = hashes.every((h) => h && h.length === 32) ? hashes : null;
  const out = { index: e.index, leafHash: bytes ? await leafHash(bytes) : null, raw, leaf: raw, proof, erased: null, identity: null, opening: [] };
  const i = e.index;
  const has = (k) => bundleV2 && k in e;
  if (raw.err) {
    if (bundleV2) out.opening.push(m('p.leaf_unreadable', { i }));
    return out;
  }
  if (!raw.ok.v2) {
    if (['record', 'identity', 'erased'].some(has)) out.opening.push(m('p.v1_member', { i }));
    return out;
  }
  if (!bundleV2) {
    // A v2 leaf says nothing without its record, which only bundle v2 carries.
    out.leaf = { err: m('r.leaf', { what: 'v2_in_v1' }) };
    return out;
  }
  // (The shape rules leave no record beside a marker, no identity without a record.)
  if (has('erased')) {
    out.erased = e.erased;
    out.leaf = { err: m('r.leaf', { what: 'erased' }) };
    return out;
  }
  if (!has('record')) {
    out.leaf = { err: m('r.leaf', { what: 'no_record' }) };
    out.opening.push(m('p.no_record', { i }));
    return out;
  }
  const opened = await attempt(() => openLeaf(raw.ok, e.record));
  if (opened.err) {
    out.leaf = { err: m('r.leaf', { what: 'unopened' }) };
    out.opening.push(m('p.record', { i, why: opened.err }));
    return out;
  }
  out.leaf = { ok: opened.ok.entry };
  out.record = opened.ok.record;
  // The record commits to an identity the bundle does not open (a summary, or erased).
  out.identityCommitted = Boolean(opened.ok.record.identity_commitment);
  if (has('identity')) {
    const id = await attempt(() => openIdentity(opened.ok.record, e.identity));
    if (id.err) out.opening.push(m('p.identity', { i, why: id.err }));
    else {
      out.identity = id.ok;
      out.leaf.ok.identity = id.ok;
    }
  }
  return out;
}

const readable = (d) => d.entries.filter((e) => e.leaf.ok).map((e) => [e.index, e.leaf.ok]);
/** The leaf time of every readable or erased entry: [index, time]. */
const leafTimes = (d) => d.entries.filter((e) => e.leaf.ok || (e.erased && e.raw.ok)).map((e) => [e.index, e.raw.ok.ledger_time]);
/** Entries neither readable nor erased: their content is unknown. */
const unreadableCount = (d) => d.entries.filter((e) => !e.leaf.ok && !e.erased).length;
/** A check: status 'pass', 'fail' or 'unanchored' (a boolean is pass or fail). */
function check(id, subject, status, title, detail) {
  const st = status === true ? 'pass' : status === false ? 'fail' : status;
  return { id, subject, status: st, passed: st === 'pass', title, detail };
}

function formatCheck(b, d) {
  const detail = d.problems.length === 0
    ? m('c.format.ok', { format: b.format, entries: b.entries.length, issuers: b.issuers.length, witnesses: b.witnesses.length })
    : m('c.format.bad', { problems: d.problems });
  return check('bundle_format', null, d.problems.length === 0, m('c.format.title'), detail);
}

/**
 * `commitments`, one per entry of a bundle v2 (docs/evidence-v2.md
 * "Implementation decisions"; docs/bundle-format.md §7.3;
 * verifier/src/bundle/commitments.rs): its record opens its leaf, its
 * identity opening opens the record, and an `erased` marker names an entry
 * of the bundle with a larger index that is an opened v2 `erased` entry (a
 * document erasure) of this tenant and contract, whose time, actor and
 * reason the marker repeats, and whose claim lists exactly the entries of
 * the bundle whose markers name it (`entries`: their number,
 * `entries_sha256`: SHA-256 of their indices), so that no other leaf of the
 * log passes for an erased entry of the contract.
 */
async function commitmentsChecks(b, d) {
  const byIndex = new Map(d.entries.map((e) => [e.index, e]));
  // The entries each erasure entry is said to have erased, hashed once.
  const named = new Map();
  for (const e of d.entries) {
    if (!e.erased) continue;
    const k = e.erased.entry;
    if (!named.has(k)) named.set(k, []);
    named.get(k).push(e.index);
  }
  const marked = new Map();
  for (const [k, s] of named) marked.set(k, { count: s.length, sha256: await erasedIndicesSha256(s) });
  return d.entries.map((e) => {
    const problems = [...e.opening];
    let detail = null;
    if (e.erased) {
      const mk = e.erased;
      const t = byIndex.get(mk.entry);
      const l = t?.leaf.ok;
      const why = [];
      let listed = null;
      if (!t) why.push('missing');
      else {
        if (mk.entry <= e.index) why.push('not_later');
        if (!l || !l.v2 || l.event.kind !== 'erased') why.push('not_erasure');
        else {
          if (l.tenant !== b.tenant || l.event.document_id !== b.document_id) why.push('other_document');
          const claim = documentErasure(l.event);
          if (claim === null) why.push('not_document_erasure');
          else {
            if (mk.reason !== claim.reason) why.push('reason');
            const s = marked.get(mk.entry);
            if (claim.entries === null) why.push('unlisted');
            else if (claim.entries.count !== s.count || claim.entries.sha256 !== s.sha256) {
              listed = m('p.erased_list', { j: mk.entry, n: claim.entries.count, hash: plain(claim.entries.sha256), m: s.count, got: s.sha256 });
            }
          }
          if (mk.at !== l.ledger_time) why.push('at');
          if (mk.by !== l.event.actor.id) why.push('by');
        }
      }
      for (const w of why) problems.push(m('p.erased', { i: e.index, j: mk.entry, why: w }));
      if (listed) problems.push(listed);
      detail = m('c.commit.erased', { at: plain(mk.at), by: plain(mk.by), reason: plain(mk.reason), j: mk.entry });
    } else if (e.record) {
      const identity = e.identity ? 'opened' : e.identityCommitted ? 'not_included' : 'none';
      detail = m('c.commit.opened', { tenant: plain(e.record.tenant), commitment: b64encode(e.raw.ok.commitment), identity });
    } else {
      detail = m('c.commit.v1');
    }
    const title = m('c.commit.title', { i: e.index });
    if (problems.length) return check('commitments', String(e.index), false, title, m('c.commit.bad', { problems }));
    return check('commitments', String(e.index), true, title, detail);
  });
}

/**
 * Standard base64 of SHA-256 over the 8-byte big-endian `indices` in
 * ascending order: what a document erasure's claim gives as
 * `entries_sha256` (docs/bundle-format.md §7.3).
 */
export async function erasedIndicesSha256(indices) {
  const sorted = [...indices].sort((x, y) => x - y);
  const bytes = new Uint8Array(8 * sorted.length);
  const view = new DataView(bytes.buffer);
  sorted.forEach((i, p) => view.setBigUint64(8 * p, BigInt(i)));
  return b64encode(await sha256(bytes));
}

/**
 * The first document erasure claim of an `erased` event
 * (claim.erasure, scope "document"): its reason, and the entries it lists
 * ({count, sha256}, or null when `entries` is no non-negative integer or
 * `entries_sha256` no string); null when there is none.
 */
function documentErasure(ev) {
  for (const a of ev.attestations) {
    const x = a.claim.erasure;
    if (!isObject(x) || x.scope !== 'document' || typeof x.reason !== 'string') continue;
    const listed = Number.isSafeInteger(x.entries) && x.entries >= 0 && typeof x.entries_sha256 === 'string';
    return { reason: x.reason, entries: listed ? { count: x.entries, sha256: x.entries_sha256 } : null };
  }
  return null;
}

function sameDocumentCheck(b, d) {
  const problems = d.entries.filter((e) => e.leaf.err && !e.erased).map((e) => m('p.unreadable', { i: e.index }));
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
    ? m('c.same.ok', { n: entries.length, contract: plain(b.document_id), tenant: plain(b.tenant), hash: firstHash ?? '', erased: d.entries.filter((e) => e.erased).length })
    : m('c.same.bad', { problems });
  return check('same_document', null, problems.length === 0, m('c.same.title'), detail);
}

function documentHashCheck(supplied, d) {
  const entries = readable(d);
  const mismatched = entries.filter(([, l]) => l.event.document_hash !== supplied).map(([i]) => String(i));
  const evidence = entries.length ? entries[0][1].event.document_hash : null;
  const passed = entries.length > 0 && mismatched.length === 0 && unreadableCount(d) === 0;
  const verdict = passed ? m('c.hash.match') : mismatched.length === 0 ? m('c.hash.unreadable') : m('c.hash.mismatch', { entries: mismatched });
  return check('document_hash', null, passed, m('c.hash.title'), m('c.hash.detail', { file: supplied, evidence, verdict }));
}

/** The trust anchors in force, as the report shows them. */
function trustFacts(policy) {
  return {
    source: policy.source,
    logs: policy.logs.map((k) => k.vkey),
    witnesses: policy.witnesses.map((k) => ({ name: k.name, vkey: k.vkey, key_id: k.keyIdHex })),
    distinct_witnesses: policy.groups.length,
    quorum: policy.quorum,
    tsas: policy.tsas.map((t) => t.name),
    issuers: [...policy.issuers].map(([name, k]) => ({ name, public_key: k.b64 })),
  };
}

async function logSignatureCheck(b, d, policy) {
  const title = m('c.log.title');
  const out = (status, detail) => check('log_signature', null, status, title, detail);
  if (d.logKey.err) return out('fail', m('c.log.undecodable', { why: d.logKey.err }));
  const key = d.logKey.ok;
  const anchored = policy.logs.length > 0;
  if (anchored && !policy.logs.some((p) => sameKey(p, key))) {
    return out('fail', m('c.log.not_trusted', { key: plainFull(key.vkey), trusted: policy.logs.map((p) => plainFull(p.vkey)), source: policy.source }));
  }
  if (d.checkpoint.err) return out('fail', m('c.log.undecodable', { why: d.checkpoint.err }));
  const cp = d.checkpoint.ok;
  if (b.origin !== key.name || cp.origin !== key.name) return out('fail', m('c.log.origin', { cp: plain(cp.origin), key: plain(key.name) }));
  const bad = await verifyNoteSignature(key, cp);
  if (bad) return out('fail', m('c.log.invalid', { why: bad, key: plainFull(key.vkey) }));
  const facts = { size: String(cp.size), root: b64encode(cp.root), log: plain(key.name), key: plainFull(key.vkey), source: policy.source };
  return anchored ? out('pass', m('c.log.ok', facts)) : out('unanchored', m('c.log.unanchored', facts));
}

/** Floor division of BigInts (ledger times may precede 1970). */
const floorDiv = (a, b) => (a >= 0n ? a / b : -((-a + b - 1n) / b));

/** The newest ledger_time of the readable and erased entries (an erased
 * entry's leaf keeps its time): [Unix seconds, text]. */
function newestLedgerTime(d) {
  let best = null;
  for (const [, time] of leafTimes(d)) {
    const t = parseLedgerTime(time);
    if (best === null || t > best[0]) best = [t, time];
  }
  return best && [floorDiv(best[0], 1000000n), best[1]];
}

/** C2SP tlog-cosignature v1 of one line under `key`: its time, or a reason. */
async function cosignatureLine(key, cp, s) {
  if (s.sig.length !== 72) return { err: m('r.cosig', { what: 'length' }) };
  let t = 0n;
  for (const byte of s.sig.subarray(0, 8)) t = (t << 8n) | BigInt(byte);
  if (t > MAX_TIMESTAMP) return { err: m('r.cosig', { what: 'time' }) };
  const msg = utf8.encode(`cosignature/v1\ntime ${t}\n${cp.body}`);
  if (!(await ed25519Verify(key.cryptoKey, s.sig.subarray(8), msg))) return { err: m('r.cosig', { what: 'invalid' }) };
  return { time: t };
}

/**
 * One `cosignature` check per distinct policy witness key that has a line
 * (every line by the key's names must verify; the first one's time must
 * not precede the newest entry nor run ahead of the clock), then one
 * failing `cosignature` check per line that uses a policy witness's name
 * with a key ID of no policy key of that name (an impersonation), then
 * `witness_quorum`. Lines by keys not in the policy are claims: listed,
 * never checked, never counted. As verifier/src/bundle/signatures.rs.
 */
async function cosignatureChecks(d, policy, now) {
  const checks = [];
  const facts = [];
  const cp = d.checkpoint.ok;
  const newest = newestLedgerTime(d);
  let have = 0;
  for (const g of policy.groups) {
    const first = g.entries[0];
    const who = plain(first.name);
    const fact = {
      name: first.name, names: g.entries.map((e) => e.name), vkey: first.vkey, vkeys: g.entries.map((e) => e.vkey),
      key_id: first.keyIdHex, trusted: true, status: null, cosigned_at: null, cosigned_unix: null,
    };
    facts.push(fact);
    const emit = (status, detail) => {
      fact.status = status;
      checks.push(check('cosignature', first.name, status, m('c.cosig.title', { who }), detail));
    };
    if (d.checkpoint.err) {
      emit('fail', m('c.cosig.undecodable', { who, why: d.checkpoint.err }));
      continue;
    }
    // Every line by the key must verify and be dated plausibly (no line
    // before the newest entry, none ahead of the clock); the first is shown.
    let bad = null;
    let ok = null;
    for (const s of cp.note.sigs) {
      const e = g.entries.find((x) => matches(x, s));
      if (!e) continue;
      const key = plainFull(e.vkey);
      const r = await cosignatureLine(e, cp, s);
      if (r.err) bad = m('c.cosig.invalid', { who: plain(e.name), why: r.err, key });
      else if (newest && r.time < newest[0]) bad = m('c.cosig.before_entries', { who: plain(e.name), at: unixToRfc3339(r.time), newest: newest[1], key });
      else if (r.time > BigInt(now) + COSIG_SKEW_SECS) bad = m('c.cosig.future', { who: plain(e.name), at: unixToRfc3339(r.time), key });
      if (bad) break;
      ok ??= [r.time, e];
    }
    if (!bad && !ok) continue;
    if (bad) {
      emit('fail', bad);
      continue;
    }
    emit('pass', m('c.cosig.ok', { who: plain(ok[1].name), at: unixToRfc3339(ok[0]), key: plainFull(ok[1].vkey), source: policy.source }));
    fact.cosigned_at = unixToRfc3339(ok[0]);
    fact.cosigned_unix = Number(ok[0]);
    have++;
  }
  for (const s of cp ? cp.note.sigs : []) {
    const named = policy.witnesses.filter((w) => w.name === s.name);
    if (named.length === 0 || named.some((w) => matches(w, s))) continue;
    const who = plain(s.name);
    checks.push(check('cosignature', s.name, 'fail', m('c.cosig.title', { who }),
      m('c.cosig.impostor', { who, id: s.keyIdHex, keys: named.map((w) => plainFull(w.vkey)) })));
  }
  const need = policy.quorum;
  const distinct = policy.groups.length;
  const quorumDetail = need === 0
    ? m('c.quorum.no_witnesses')
    : have >= need
      ? m('c.quorum.ok', { have, need, distinct })
      : m('c.quorum.bad', { have, need, distinct });
  checks.push(check('witness_quorum', null, have >= need, m('c.quorum.title'), quorumDetail));
  return { checks, facts, have, need };
}

/** Witnesses the bundle names (its list, and lines of its checkpoint) that
 * the policy does not: claims, shown as such, never with a time. */
function witnessClaims(b, d, policy) {
  const claims = [];
  const inPolicy = (name, id) => policy.witnesses.some((w) => w.name === name && w.keyIdHex === id);
  for (const w of d.witnesses) {
    if (inPolicy(w.name, w.keyIdHex)) continue;
    const signed = Boolean(d.checkpoint.ok && d.checkpoint.ok.note.sigs.some((s) => matches(w, s)));
    claims.push({ name: w.name, vkey: w.vkey, key_id: w.keyIdHex, trusted: false, line: signed });
  }
  const logKey = d.logKey.ok;
  for (const s of d.checkpoint.ok ? d.checkpoint.ok.note.sigs : []) {
    // Lines in a policy witness's name are checked (impersonations fail).
    if (policy.witnesses.some((w) => w.name === s.name) || (logKey && matches(logKey, s))) continue;
    if (claims.some((c) => c.name === s.name && c.key_id === s.keyIdHex)) continue;
    claims.push({ name: s.name, vkey: null, key_id: s.keyIdHex, trusted: false, line: true });
  }
  return claims;
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
  if (ev.kind === 'identity_verified' && method) return m('a.identity', { issuer, method: plain(method), result });
  if (ev.kind === 'intent_verified' && method) return m('a.intent', { issuer, method: plain(method), result });
  if (ev.kind === 'signed') {
    const alg = typeof a.claim.algorithm === 'string' ? plain(a.claim.algorithm) : null;
    if (a.issuer === `signer:${ev.actor.id}`) return m('a.signed_own', { issuer, alg });
    if (a.issuer.startsWith('signer:')) return m('a.signed_other', { issuer, alg });
    return m('a.signed_vouched', { issuer, alg });
  }
  return m('a.vouches', { issuer, claim: plain(canonicalJson(a.claim)) });
}

/** The key an attestation is checked with: the policy's pin for its
 * issuer, else the bundle's key (vouched for by the log's signature). */
function issuerKey(name, d, policy) {
  const pinned = policy.issuers.get(name);
  if (pinned) return { ...pinned, source: 'policy' };
  const k = d.issuers.get(name);
  return k ? { ...k, source: 'bundle' } : null;
}

async function attestationCheck(e, d, policy) {
  const title = m('c.att.title', { i: e.index });
  const subject = String(e.index);
  if (e.erased) {
    // An erased entry's record is gone: no attestation to check (no
    // check, as in Rust); the timeline says what its marker says.
    return { check: null, entry: { index: e.index, ledger_time: e.raw.ok ? e.raw.ok.ledger_time : '', erased: e.erased, attestations: [] } };
  }
  if (e.leaf.err) return { check: check('attestations', subject, false, title, m('c.att.unreadable')), entry: null };
  const ev = e.leaf.ok.event;
  const facts = [];
  for (let j = 0; j < ev.attestations.length; j++) {
    const a = ev.attestations[j];
    const key = issuerKey(a.issuer, d, policy);
    let why = null;
    if (!key) why = m('c.att.no_key', { issuer: plain(a.issuer) });
    else if (!(await ed25519Verify(key.cryptoKey, b64decode(a.signature), attestationMessage(ev, j, e.leaf.ok.tenant)))) {
      why = m('c.att.bad_sig', { issuer: plain(a.issuer), key: key.b64, source: key.source });
    }
    facts.push({
      issuer: a.issuer, claim: a.claim, description: describeAttestation(ev, a), valid: why === null, why,
      key: key ? key.b64 : null, key_source: key ? key.source : null, version: a.v === 2 ? 2 : 1,
    });
  }
  // What each signature binds, said next to it (v1: no tenant, contract or actor).
  const said = (f) => m(f.version === 2 ? 'a.v2' : 'a.v1', { what: f.description });
  const bad = facts.filter((f) => !f.valid).map((f) => m('c.att.item', { what: said(f), why: f.why }));
  const keys = facts.filter((f) => f.valid).map((f) => m('c.att.key', { issuer: plain(f.issuer), key: f.key, source: f.key_source }));
  const detail = facts.length === 0
    ? m('c.att.none', { kind: ev.kind })
    : bad.length === 0 ? m('c.att.ok', { all: facts.map(said), keys }) : m('c.att.bad', { bad });
  const l = e.leaf.ok;
  const entry = {
    index: e.index, ledger_time: l.ledger_time, kind: ev.kind, event_id: ev.event_id,
    actor_id: ev.actor.id, actor_display: ev.actor.display, attestations: facts,
    v2: Boolean(l.v2), identity: l.identity ?? null, identity_not_included: Boolean(e.identityCommitted && !e.identity),
  };
  return { check: check('attestations', subject, bad.length === 0, title, detail), entry };
}

/**
 * RFC 3161 tokens are not checked here (CMS and X.509 in the browser are
 * not worth their attack surface: docs/trust-policy.md §4): each token gets
 * an `unanchored` check saying so, and never a time. A checkpoint token
 * that cannot even be taken apart (no readable checkpoint, not base64)
 * fails, as in the Rust verifier (verifier/src/bundle/timestamps.rs).
 */
function timestampChecks(b, d) {
  const checks = [];
  const tokens = [];
  for (const e of d.entries) {
    if (!e.leaf.ok) continue;
    const ev = e.leaf.ok.event;
    const i = e.index;
    if ('timestamp_token' in ev) {
      tokens.push(['event_timestamp', String(i), m('c.ts.event_title', { i }), m('c.ts.event_unchecked', { i, hash: ev.document_hash })]);
    }
    if ('event_timestamp_token' in ev) {
      tokens.push(['event_content_timestamp', String(i), m('c.ts.content_title', { i }), m('c.ts.content_unchecked', { i })]);
    }
  }
  if ('checkpoint_timestamp' in b) {
    const tsa = plain(b.checkpoint_timestamp.tsa);
    if (d.checkpoint.err) checks.push(check('checkpoint_timestamp', null, 'fail', m('c.ts.fail_title'), m('c.ts.cp_no_checkpoint', { why: d.checkpoint.err })));
    else if (!b64decode(b.checkpoint_timestamp.token)) checks.push(check('checkpoint_timestamp', null, 'fail', m('c.ts.fail_title'), m('c.ts.cp_not_base64', { tsa })));
    else tokens.push(['checkpoint_timestamp', null, m('c.ts.cp_title'), m('c.ts.cp_unchecked', { tsa })]);
  }
  // As the Rust verifier: past MAX_TOKENS, tokens fail unchecked.
  for (const [id, subject] of tokens.slice(MAX_TOKENS)) {
    checks.push(check(id, subject, 'fail', m('c.ts.fail_title'), m('c.ts.too_many', { max: MAX_TOKENS })));
  }
  for (const [id, subject, title, detail] of tokens.slice(0, MAX_TOKENS)) checks.push(check(id, subject, 'unanchored', title, detail));
  return checks;
}

/** T1-T7 of docs/bundle-format.md §3.8. */
function timelineCheck(entries, unreadable, times) {
  const problems = [];
  if (unreadable > 0) problems.push(m('t.unreadable', { n: unreadable }));
  // T1 over readable and erased entries: an erased entry's leaf keeps its time.
  let prev = null;
  for (const [i, time] of times) {
    const t = parseLedgerTime(time);
    if (prev && t < prev[1]) problems.push(m('t.time', { i, at: plain(time), j: prev[0] }));
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
    // An erasure (evidence v2) may come after anything: it ends the records, not the contract.
    if (ended !== null && kind !== 'report_issued' && kind !== 'archived' && kind !== 'erased') problems.push(m('t.after_end', { i, e: ended[0], kind: ended[1] }));
    if (archived !== null && kind !== 'report_issued' && kind !== 'erased') problems.push(m('t.after_archive', { i, a: archived }));
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
    if (p) {
      p.signed ||= signed;
      p.identity ??= l.identity ?? null;
    } else out.push({ id: a.id, display: a.display, commitment: a.commitment, signed, identity: l.identity ?? null });
  }
  return out;
}

/**
 * The verdict of docs/trust-policy.md §3 over `checks`: the first rule that
 * applies gives `status`; `reasons` names everything missing.
 */
const TIMESTAMP_CHECKS = ['event_timestamp', 'event_content_timestamp', 'checkpoint_timestamp'];
/** Most RFC 3161 tokens looked at in one bundle (the rest fail). */
const MAX_TOKENS = 256;

export function verdictOf(checks, source = 'policy') {
  const reasons = [];
  const failed = checks.filter((c) => c.status === 'fail' && c.id !== 'witness_quorum');
  for (const c of failed) reasons.push(m('v.r.failed', { title: c.title, id: c.id }));
  const log = checks.find((c) => c.id === 'log_signature');
  const logUnanchored = log?.status === 'unanchored';
  if (logUnanchored) reasons.push(m('v.r.no_log_key'));
  const quorum = checks.find((c) => c.id === 'witness_quorum');
  const quorumFailed = quorum?.status === 'fail';
  if (quorumFailed) reasons.push(m('v.r.quorum', { detail: quorum.detail }));
  const stamps = checks.filter((c) => TIMESTAMP_CHECKS.includes(c.id) && c.status === 'unanchored');
  if (stamps.length) reasons.push(m('v.r.timestamps', { n: stamps.length }));
  const other = checks.filter((c) => c.status === 'unanchored' && !stamps.includes(c) && c !== log);
  for (const c of other) reasons.push(m('v.r.unanchored', { title: c.title, id: c.id }));
  let status = 'verified';
  if (checks.length === 0 || failed.length) status = 'failed';
  else if (logUnanchored) status = 'no_trusted_log_key';
  else if (quorumFailed) status = 'quorum_not_met';
  else if (stamps.length) status = 'untrusted_timestamps';
  else if (other.length || !checks.every((c) => c.status === 'pass')) status = 'failed';
  const summary = m(`v.${status}`, { n: checks.length, failed: failed.length, source });
  return { status, summary, reasons };
}

/** Sets a report's verdict and `passed` from its checks (again, after the
 * page adds its online check). */
export function finishReport(report) {
  report.verdict = verdictOf(report.checks, report.trust?.source);
  report.passed = report.verdict.status === 'verified';
  return report;
}

/**
 * Verifies a bundle (bytes, or an already-parsed object) against a trust
 * policy and rebuilds its evidence chain. options: documentHash (hex of the
 * file's SHA-256), policy (from parsePolicy; none trusts nothing), now
 * (Unix seconds, for cosignature times). Never throws.
 */
export async function verifyBundle(input, options = {}) {
  const policy = options.policy ?? emptyPolicy();
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const report = {
    passed: false, verdict: null, checks: [], format: null, origin: '', tenant: '', document_id: '', document_hash: null, checkpoint: null,
    parties: [], timeline: [], witnesses: [], claims: { log_key: null, witnesses: [], tsas: [], anchoring: null }, trust: trustFacts(policy),
  };
  let b;
  try {
    b = input instanceof Uint8Array ? parseBundle(input) : checkBundleShape(input);
  } catch (e) {
    report.checks.push(check('bundle_format', null, false, m('c.format.title'), m('c.format.unreadable', { why: errMsg(e) })));
    return finishReport(report);
  }
  Object.assign(report, { format: b.format, origin: b.origin, tenant: b.tenant, document_id: b.document_id });
  const d = await decode(b);
  report.checks.push(formatCheck(b, d));
  if (b.format === FORMAT_V2) report.checks.push(...(await commitmentsChecks(b, d)));
  report.checks.push(sameDocumentCheck(b, d));
  if (options.documentHash) report.checks.push(documentHashCheck(options.documentHash, d));
  report.checks.push(await logSignatureCheck(b, d, policy));
  const cos = await cosignatureChecks(d, policy, now);
  report.checks.push(...cos.checks);
  report.witnesses = cos.facts;
  for (const e of d.entries) report.checks.push(await inclusionCheck(e, d));
  for (const e of d.entries) {
    const { check: c, entry } = await attestationCheck(e, d, policy);
    if (c) report.checks.push(c);
    if (entry) report.timeline.push(entry);
  }
  const entries = readable(d);
  report.checks.push(timelineCheck(entries, unreadableCount(d), leafTimes(d)));
  report.checks.push(...timestampChecks(b, d));
  report.document_hash = entries.length ? entries[0][1].event.document_hash : null;
  if (d.checkpoint.ok) {
    const cp = d.checkpoint.ok;
    report.checkpoint = { origin: cp.origin, tree_size: String(cp.size), root: b64encode(cp.root) };
  }
  report.logKey = d.logKey.ok ?? null;
  const logKeyTrusted = d.logKey.ok && policy.logs.some((k) => sameKey(k, d.logKey.ok));
  report.claims = {
    log_key: logKeyTrusted ? null : b.log_vkey,
    witnesses: witnessClaims(b, d, policy),
    tsas: (b.timestamp_authorities ?? []).map((t) => t.name),
    anchoring: b.anchoring ?? null,
  };
  report.parties = parties(entries);
  return finishReport(report);
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
  })).map((b) => {
    // An answer without tree_size makes a bundle without it (not `undefined`).
    if (b.tree_size === undefined) delete b.tree_size;
    return b;
  });
}

// ---------------------------------------------------------------------------
// Lookup v2 (docs/evidence-v2.md "Implementation decisions"): the holder
// of a file sees, per entry, a summary that is the ledger's statement
// (kind, time, party number, issuers, checked on ingest), and checks what
// can be checked without the records: each leaf's inclusion in the
// checkpoint, and the checkpoint's log signature and cosignatures against
// their own trust anchors.

/** Whether a GET /v1/lookup answer is an evidence-lookup/v2. */
export const isLookupV2 = (answer) => isObject(answer) && answer.format === LOOKUP_V2;
const MAX_LOOKUP_ENTRIES = 1000;

/** The shape of a lookup v2 answer; returns the bundle-like object the
 * checks read. Throws Fail. Members the page does not use are ignored. */
export function checkLookupShape(v) {
  const bad = (what, field) => fail('r.lookup', { what, field });
  const str = (x, f) => (typeof x === 'string' ? x : bad('type', f));
  if (!isObject(v)) bad('type', '');
  if (v.format !== LOOKUP_V2) bad('format', plain(v.format));
  for (const k of ['document_hash', 'origin', 'log_vkey', 'checkpoint']) str(v[k], k);
  if (!HEX64_RE.test(v.document_hash)) bad('type', 'document_hash');
  if ('tree_size' in v && !(Number.isSafeInteger(v.tree_size) && v.tree_size >= 0)) bad('type', 'tree_size');
  if ('next_cursor' in v && v.next_cursor !== null) str(v.next_cursor, 'next_cursor');
  const witnesses = v.witnesses ?? [];
  if (!Array.isArray(witnesses) || witnesses.length > MAX_WITNESSES) bad('count', 'witnesses');
  const ws = witnesses.map((w, i) => {
    if (!isObject(w)) bad('type', `witnesses[${i}]`);
    return { name: str(w.name, `witnesses[${i}].name`), vkey: str(w.vkey, `witnesses[${i}].vkey`) };
  });
  if (!Array.isArray(v.entries) || v.entries.length === 0 || v.entries.length > MAX_LOOKUP_ENTRIES) bad('count', 'entries');
  const entries = v.entries.map((e, i) => {
    const f = `entries[${i}]`;
    if (!isObject(e)) bad('type', f);
    if (!Number.isSafeInteger(e.index) || e.index < 0) bad('type', `${f}.index`);
    str(e.leaf, `${f}.leaf`);
    if (!Array.isArray(e.inclusion) || e.inclusion.length > MAX_PROOF_HASHES) bad('count', `${f}.inclusion`);
    e.inclusion.forEach((h, j) => str(h, `${f}.inclusion[${j}]`));
    const s = e.summary;
    if (!isObject(s)) bad('type', `${f}.summary`);
    str(s.kind, `${f}.summary.kind`);
    str(s.ledger_time, `${f}.summary.ledger_time`);
    if (!Number.isSafeInteger(s.party) || s.party < 1) bad('type', `${f}.summary.party`);
    if (!Array.isArray(s.issuers) || s.issuers.length > 16) bad('count', `${f}.summary.issuers`);
    s.issuers.forEach((x, j) => str(x, `${f}.summary.issuers[${j}]`));
    if (typeof s.checked_on_ingest !== 'boolean') bad('type', `${f}.summary.checked_on_ingest`);
    return { index: e.index, leaf: e.leaf, inclusion: e.inclusion };
  });
  const b = { format: LOOKUP_V2, origin: v.origin, log_vkey: v.log_vkey, tenant: '', document_id: '', checkpoint: v.checkpoint, entries, issuers: [], witnesses: ws };
  if ('tree_size' in v) b.tree_size = v.tree_size;
  return b;
}

/** `lookup_summary` of one entry: the leaf can be read, and what the
 * leaf shows agrees with the summary (its time; a v1 leaf also its kind
 * and document hash). The rest of the summary is the ledger's word. */
function lookupSummaryCheck(e, s, documentHash) {
  const title = m('c.lsum.title', { i: e.index });
  const out = (passed, detail) => check('lookup_summary', String(e.index), passed, title, detail);
  if (e.raw.err) return out(false, m('c.lsum.unreadable', { why: e.raw.err }));
  const l = e.raw.ok;
  if (s.ledger_time !== l.ledger_time) return out(false, m('c.lsum.time', { said: plain(s.ledger_time), leaf: l.ledger_time }));
  if (!l.v2) {
    if (s.kind !== l.event.kind) return out(false, m('c.lsum.kind', { said: plain(s.kind), leaf: l.event.kind }));
    if (l.event.document_hash !== documentHash) return out(false, m('c.lsum.hash', { hash: l.event.document_hash }));
    return out(true, m('c.lsum.v1_ok', { at: l.ledger_time }));
  }
  return out(true, m('c.lsum.v2_ok', { at: l.ledger_time }));
}

/**
 * Verifies a lookup v2 answer against a trust policy: answer shape,
 * log_signature, cosignature and witness_quorum, then per entry inclusion
 * and lookup_summary. options: documentHash (the file's, which the answer
 * must be about), policy, now. Never throws. The report's `summaries` are
 * the ledger's statements, shown as such.
 */
export async function verifyLookup(answer, options = {}) {
  const policy = options.policy ?? emptyPolicy();
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const report = {
    kind: 'lookup', passed: false, verdict: null, checks: [], format: LOOKUP_V2, origin: '', tenant: '', document_id: '',
    document_hash: null, checkpoint: null, parties: [], timeline: [], summaries: [], next_cursor: null, witnesses: [],
    claims: { log_key: null, witnesses: [], tsas: [], anchoring: null }, trust: trustFacts(policy),
  };
  let b;
  try {
    b = checkLookupShape(answer);
  } catch (e) {
    report.checks.push(check('bundle_format', null, false, m('c.lookup.title'), m('c.lookup.unreadable', { why: errMsg(e) })));
    return finishReport(report);
  }
  Object.assign(report, { origin: b.origin, document_hash: answer.document_hash, next_cursor: answer.next_cursor ?? null });
  const d = await decode(b);
  if (options.documentHash && answer.document_hash !== options.documentHash) {
    d.problems.push(m('p.lookup_hash', { hash: answer.document_hash, file: options.documentHash }));
  }
  report.checks.push(check('bundle_format', null, d.problems.length === 0, m('c.lookup.title'),
    d.problems.length === 0 ? m('c.lookup.ok', { entries: b.entries.length, witnesses: b.witnesses.length }) : m('c.format.bad', { problems: d.problems })));
  report.checks.push(await logSignatureCheck(b, d, policy));
  const cos = await cosignatureChecks(d, policy, now);
  report.checks.push(...cos.checks);
  report.witnesses = cos.facts;
  for (const e of d.entries) report.checks.push(await inclusionCheck(e, d));
  answer.entries.forEach((x, i) => {
    const e = d.entries[i];
    report.checks.push(lookupSummaryCheck(e, x.summary, answer.document_hash));
    const s = x.summary;
    report.summaries.push({
      index: x.index, kind: s.kind, ledger_time: s.ledger_time, party: s.party, issuers: [...s.issuers],
      checked_on_ingest: s.checked_on_ingest, leaf_version: e.raw.ok ? (e.raw.ok.v2 ? 2 : 1) : null,
    });
  });
  if (d.checkpoint.ok) {
    const cp = d.checkpoint.ok;
    report.checkpoint = { origin: cp.origin, tree_size: String(cp.size), root: b64encode(cp.root) };
  }
  report.logKey = d.logKey.ok ?? null;
  const logKeyTrusted = d.logKey.ok && policy.logs.some((k) => sameKey(k, d.logKey.ok));
  report.claims = { log_key: logKeyTrusted ? null : b.log_vkey, witnesses: witnessClaims(b, d, policy), tsas: [], anchoring: null };
  return finishReport(report);
}
