// Digests and signature checks for timestamp tokens and their certificates:
// RSA PKCS#1 v1.5 (2048-4096 bits) and ECDSA P-256/P-384, each with
// SHA-256, SHA-384 or SHA-512 (RFC 5754, RFC 5758), through WebCrypto; and
// SM2 with SM3 (GM/T 0033 tokens, GM/T 0015 certificates) through sm.js.
// SHA-1 signatures and RSA-PSS are refused. Twin of
// verifier/src/tsa/crypto.rs.

import { children, decodeDer, is, oidOf, valueBytes } from './asn1.js';
import { sm2Verify, sm3 } from '../sm.js';

const subtle = globalThis.crypto.subtle;
const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const ID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
/** Smallest and largest RSA modulus accepted, in bits (the rsa crate's
 * RsaPublicKey refuses more than 4096). */
const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 4096;
const CURVES = new Map([['1.2.840.10045.3.1.7', ['P-256', 32]], ['1.3.132.0.34', ['P-384', 48]]]);
/** The SM2 curve, an id-ecPublicKey's parameter (GM/T 0006). */
const ID_SM2_CURVE = '1.2.156.10197.1.301';
/** SM3's OID (GM/T 0006). */
export const ID_SM3 = '1.2.156.10197.1.401';

/** Digest algorithms accepted in tokens and certificates, by OID. */
export const DIGESTS = new Map([
  ['2.16.840.1.101.3.4.2.1', 'SHA-256'],
  ['2.16.840.1.101.3.4.2.2', 'SHA-384'],
  ['2.16.840.1.101.3.4.2.3', 'SHA-512'],
  [ID_SM3, 'SM3'],
]);

/** The digest of `data` under a WebCrypto hash name, or 'SM3'. */
export async function digest(alg, data) {
  if (alg === 'SM3') return sm3(data);
  return new Uint8Array(await subtle.digest(alg, data));
}

const SCHEMES = new Map([
  [RSA_ENCRYPTION, ['rsa', null]],
  [ID_EC_PUBLIC_KEY, ['ecdsa', null]],
  ['1.2.840.113549.1.1.11', ['rsa', 'SHA-256']],
  ['1.2.840.113549.1.1.12', ['rsa', 'SHA-384']],
  ['1.2.840.113549.1.1.13', ['rsa', 'SHA-512']],
  ['1.2.840.10045.4.3.2', ['ecdsa', 'SHA-256']],
  ['1.2.840.10045.4.3.3', ['ecdsa', 'SHA-384']],
  ['1.2.840.10045.4.3.4', ['ecdsa', 'SHA-512']],
  // Some GM/T 0010 SignerInfos name the SM2 key (or sm2-1) here.
  [ID_SM2_CURVE, ['sm2', null]],
  ['1.2.156.10197.1.301.1', ['sm2', null]],
  ['1.2.156.10197.1.501', ['sm2', 'SM3']],
]);

/** [family, digest] of a signature algorithm OID, or null. `digestAlg` is
 * the SignerInfo digestAlgorithm (RFC 5652 §5.3), needed with a bare key
 * OID, and which must agree with a combined one. SM2 goes with SM3 only,
 * and SM3 with SM2 only: a bare id-ecPublicKey with SM3 is SM2. */
export function signatureScheme(sigOid, digestAlg) {
  const found = sigOid === ID_EC_PUBLIC_KEY && digestAlg === 'SM3' ? ['sm2', null] : SCHEMES.get(sigOid);
  if (!found) return null;
  const [family, named] = found;
  if (named && digestAlg && named !== digestAlg) return null;
  const scheme = named ? [family, named] : digestAlg ? [family, digestAlg] : null;
  return scheme && (scheme[0] === 'sm2') === (scheme[1] === 'SM3') ? scheme : null;
}

/** Whether `signature` over `message` verifies with the SubjectPublicKeyInfo
 * `spki` (DER) under `scheme`. A key or signature that does not parse is false. */
export async function verifySignature(spki, [family, hash], message, signature) {
  const info = decodeDer(spki);
  const alg = children(info)[0];
  const keyOid = oidOf(children(alg)[0]);
  try {
    if (family === 'sm2') {
      // SM2 hashes Z_A and the message itself: it takes the message.
      const point = children(info)[1];
      const onSm2 = keyOid === ID_EC_PUBLIC_KEY && oidOf(children(alg)[1]) === ID_SM2_CURVE;
      return hash === 'SM3' && onSm2 && is(point, 'BIT_STRING') && point.valueBlock.unusedBits === 0
        && sm2Verify(valueBytes(point), signature, message);
    }
    if (family === 'rsa' && keyOid === RSA_ENCRYPTION) {
      if (!rsaSizeOk(children(info)[1])) return false;
      const key = await subtle.importKey('spki', spki, { name: 'RSASSA-PKCS1-v1_5', hash }, false, ['verify']);
      return await subtle.verify('RSASSA-PKCS1-v1_5', key, signature, message);
    }
    const curve = CURVES.get(oidOf(children(alg)[1]));
    if (family === 'ecdsa' && keyOid === ID_EC_PUBLIC_KEY && curve) {
      const raw = ecdsaRaw(signature, curve[1]);
      if (!raw) return false;
      const key = await subtle.importKey('spki', spki, { name: 'ECDSA', namedCurve: curve[0] }, false, ['verify']);
      return await subtle.verify({ name: 'ECDSA', hash }, key, raw, message);
    }
  } catch {
    return false;
  }
  return false;
}

// The modulus of an RSAPublicKey inside the SPKI's BIT STRING, sized as
// the Rust verifier sizes it (bytes × 8 at least 2048, at most 4096 bits).
function rsaSizeOk(bits) {
  if (!is(bits, 'BIT_STRING') || bits.valueBlock.unusedBits !== 0) return false;
  const key = decodeDer(valueBytes(bits));
  const n = children(key)[0];
  if (!is(n, 'INTEGER')) return false;
  let v = valueBytes(n);
  if (v[0] === 0) v = v.subarray(1);
  const bitLen = v.length ? (v.length - 1) * 8 + (32 - Math.clz32(v[0])) : 0;
  return v.length * 8 >= MIN_RSA_BITS && bitLen <= MAX_RSA_BITS;
}

// A DER ECDSA-Sig-Value (SEQUENCE of two positive INTEGERs) as the r || s
// WebCrypto takes, each `size` bytes; null if it is not one.
function ecdsaRaw(der, size) {
  const sig = decodeDer(der);
  const parts = children(sig);
  if (!is(sig, 'SEQUENCE') || parts.length !== 2 || !parts.every((p) => is(p, 'INTEGER'))) return null;
  const out = new Uint8Array(2 * size);
  for (const [i, p] of parts.entries()) {
    let v = valueBytes(p);
    if (v[0] & 0x80) return null;
    while (v.length > 1 && v[0] === 0) v = v.subarray(1);
    if (v.length > size || v.every((x) => x === 0)) return null;
    out.set(v, (i + 1) * size - v.length);
  }
  return out;
}
