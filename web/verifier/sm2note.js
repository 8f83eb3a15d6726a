// SM2 in C2SP signed notes: the checkpoint signatures and cosignatures of
// `sm2-sm3` logs (docs/witness-protocol.md, "The national suite"). Twin
// of verifier/src/sm2note.rs (verification only): signed-note type 0xff
// followed by a long identifier, SM2 with SM3 and the default
// distinguishing identifier, fixed 64-byte r || s. The algorithm is
// sm.js's (sm-crypto); this module owns only the encodings.

import { m, fail } from './error.js';
import { utf8, concat, utf8Length } from './std.js';
import { b64decode, hex, sha256 } from './hash.js';
import { validKeyName } from './note.js';
import { isSm2Point, sm2VerifyRaw } from './sm.js';

/** Signature type of an SM2 note signature (the log's checkpoints). */
export const SM2_NOTE_TYPE = concat([0xff], utf8.encode('evidence-ledger/sm2-note/v1'));
/** Signature type of an SM2 cosignature (a witness's, cosignature/v1 message). */
export const SM2_COSIGNATURE_TYPE = concat([0xff], utf8.encode('evidence-ledger/sm2-cosignature/v1'));
/** The `alg` of a parsed SM2 key: which of the two types it is. */
export const ALG_SM2_NOTE = 'sm2-note/v1';
export const ALG_SM2_COSIGNATURE = 'sm2-cosignature/v1';
const MAX_VKEY_SIZE = 1024;
const SM2_PUBLIC_KEY_LEN = 65;
const SM2_COSIGNATURE_LEN = 8 + 64;
/** The latest cosignature time (2^63-1 seconds, as cosignature.rs). */
const MAX_TIMESTAMP = 2n ** 63n - 1n;

const startsWith = (bytes, prefix) => bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);

/** Key ID = SHA-256(name || 0x0A || type bytes || 65-byte key)[:4]. */
async function sm2KeyId(name, type, key) {
  return (await sha256(concat(utf8.encode(name), [0x0a], type, key))).subarray(0, 4);
}

/**
 * Parses an SM2 vkey `<name>+<8 lowercase hex>+base64(type || 65-byte
 * key)`, as Sm2Verifier::from_vkey: the type, the point (uncompressed, on
 * the curve) and the key ID. The key object has the fields of note.js's
 * parseVkey (`alg` is ALG_SM2_NOTE or ALG_SM2_COSIGNATURE) and `sm2: true`.
 */
export async function parseSm2Vkey(vkey) {
  if (typeof vkey !== 'string' || utf8Length(vkey) > MAX_VKEY_SIZE) fail('r.vkey', { what: 'size' });
  const a = vkey.indexOf('+');
  const b = a < 0 ? -1 : vkey.indexOf('+', a + 1);
  if (b < 0) fail('r.vkey', { what: 'form' });
  const [name, idHex, b64] = [vkey.slice(0, a), vkey.slice(a + 1, b), vkey.slice(b + 1)];
  if (!validKeyName(name)) fail('r.vkey', { what: 'name' });
  const material = b64decode(b64);
  if (!material) fail('r.vkey', { what: 'sm2_material' });
  const [alg, type] = startsWith(material, SM2_COSIGNATURE_TYPE)
    ? [ALG_SM2_COSIGNATURE, SM2_COSIGNATURE_TYPE]
    : startsWith(material, SM2_NOTE_TYPE) ? [ALG_SM2_NOTE, SM2_NOTE_TYPE] : [null, null];
  if (!alg) fail('r.vkey', { what: 'type' });
  const key = material.slice(type.length);
  if (key.length !== SM2_PUBLIC_KEY_LEN || key[0] !== 0x04) fail('r.vkey', { what: 'sm2_material' });
  if (!isSm2Point(key)) fail('r.vkey', { what: 'sm2_point' });
  if (hex(await sm2KeyId(name, type, key)) !== idHex) fail('r.vkey', { what: 'id_mismatch' });
  return { name, keyIdHex: idHex, alg, key, cryptoKey: null, vkey, sm2: true };
}

const matches = (key, s) => s.name === key.name && s.keyIdHex === key.keyIdHex;

/** Sm2Verifier::verify_note: every line of `key` verifies over the
 * checkpoint text, and one exists; null, or the reason. */
export function verifySm2NoteSignature(key, cp) {
  if (key.alg !== ALG_SM2_NOTE) return m('r.sig', { what: 'missing', key: key.vkey });
  const lines = cp.note.sigs.filter((s) => matches(key, s));
  if (lines.length === 0) return m('r.sig', { what: 'missing', key: key.vkey });
  const text = utf8.encode(cp.body);
  for (const s of lines) {
    if (!sm2VerifyRaw(key.key, s.sig, text)) return m('r.sig', { what: 'invalid', key: key.vkey });
  }
  return null;
}

/** Sm2Verifier::verify_cosignature of one line: its time, or a reason. */
export function sm2CosignatureLine(key, cp, s) {
  if (key.alg !== ALG_SM2_COSIGNATURE) return { err: m('r.cosig', { what: 'invalid' }) };
  if (s.sig.length !== SM2_COSIGNATURE_LEN) return { err: m('r.cosig', { what: 'length' }) };
  let t = 0n;
  for (const byte of s.sig.subarray(0, 8)) t = (t << 8n) | BigInt(byte);
  if (t > MAX_TIMESTAMP) return { err: m('r.cosig', { what: 'time' }) };
  const msg = utf8.encode(`cosignature/v1\ntime ${t}\n${cp.body}`);
  if (!sm2VerifyRaw(key.key, s.sig.subarray(8), msg)) return { err: m('r.cosig', { what: 'invalid' }) };
  return { time: t };
}
