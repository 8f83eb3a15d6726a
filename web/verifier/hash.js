// Bytes to text and back (strict base64, hex) and hashes: SHA-256 and the
// RFC 9162 §2.1.1 leaf and node hashes. Twin of verifier/src/hash.rs.

import { concat } from './std.js';

const subtle = globalThis.crypto.subtle;

/** RFC 9162 domain separation prefixes. */
const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

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

/** SHA-256 (WebCrypto). */
export async function sha256(bytes) {
  return new Uint8Array(await subtle.digest('SHA-256', bytes));
}

/** RFC 9162 §2.1.1: leaf hash SHA-256(0x00 || leaf). */
export const leafHash = (leaf) => sha256(concat([LEAF_PREFIX], leaf));
/** RFC 9162 §2.1.1: node hash SHA-256(0x01 || left || right). */
export const nodeHash = (l, r) => sha256(concat([NODE_PREFIX], l, r));
