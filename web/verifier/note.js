// C2SP signed-note: the note format, signature lines, key names, key IDs,
// verifier keys (vkeys) and the Ed25519 (0x01) note signature rule.
// Twin of verifier/src/note.rs.

import { m, fail } from './error.js';
import { utf8, concat, eqBytes, utf8Length, WS } from './std.js';
import { b64decode, hex, sha256 } from './hash.js';
import { isCurvePoint, importEd25519, ed25519Verify } from './ed25519.js';

const MAX_NOTE_SIZE = 64 * 1024;
const MAX_NOTE_SIGNATURES = 100;
const MAX_VKEY_SIZE = 1024;
/** Key types of C2SP signed-note verifier keys (0x04 is cosignature.rs's
 * ALG_COSIGNATURE_V1, here because parseVkey reads both and cosignature.js
 * imports this module). */
export const ALG_ED25519 = 0x01;
export const ALG_COSIGNATURE_V1 = 0x04;
const SIG_LINE_PREFIX = '\u2014 ';

// Rust's char::is_whitespace (std.js), or '+'.
const WS_OR_PLUS_RE = new RegExp(`[${WS}+]`, 'u');

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

export const sameKey = (a, b) => a.name === b.name && a.keyIdHex === b.keyIdHex && a.alg === b.alg && eqBytes(a.key, b.key);

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

/** Whether signature line `s` is by `key` (NoteVerifier::matches: name and key ID). */
export const matches = (key, s) => s.name === key.name && s.keyIdHex === key.keyIdHex;

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
