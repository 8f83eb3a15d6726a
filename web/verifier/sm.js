// The national suite (sm2-sm3, issue 26) for the page: SM3 (GB/T 32905),
// the RFC 9162 tree and proofs with SM3 in place of SHA-256, and SM2
// signature verification (GB/T 32918.2 / GM/T 0003.2) with a
// distinguishing identifier. Twin of verifier/src/sm2sig.rs and of the
// SM3 tree hash of verifier/src/hash.rs. The curve and hash are sm-crypto's
// (web/vendor/sm-crypto.js, vendored by scripts/vendor-web); nothing here
// does arithmetic of its own.
//
// API (bytes are Uint8Array; sizes and indices BigInt, as in proof.js):
//
//   sm3(bytes) -> Uint8Array(32)
//   hmacSm3(key, message) -> Uint8Array(32)       RFC 2104 over SM3
//   sm3LeafHash(leaf) -> SM3(0x00 || leaf)           RFC 9162 §2.1.1
//   sm3NodeHash(left, right) -> SM3(0x01 || l || r)  RFC 9162 §2.1.1
//   sm2Verify(publicKey, signature, message, distid = DEFAULT_DISTID) -> boolean
//       publicKey: SEC1 point, 65 bytes 0x04 || X || Y (or 33 compressed);
//       signature: 64 bytes r || s (signed-note form) or DER
//       SEQUENCE { r, s } (X.509, CMS, OpenSSL); message: the raw bytes
//       signed (SM2 hashes SM3(Z_A || message) itself). Anything malformed
//       is false, never an exception.
//   sm2VerifyRaw(publicKey, signature, message, distid) -> boolean
//       the same for exactly 64 bytes r || s only (signed notes).
//   isSm2Point(publicKey) -> boolean: 65 bytes 0x04 || X || Y on the curve.
//
//   A suite is what a log's verification is parametrised by:
//     { name, digest(bytes), hashLeaf(leaf), hashNode(l, r),
//       verifySig(publicKey, signature, message),
//       inclusionRoot(leafHash, index, size, path),
//       verifyInclusion(leafHash, index, size, path, root),
//       verifyConsistency(size1, size2, path, root1, root2) }
//   Every member may return a promise (SHA-256 is WebCrypto's): await it.
//   SM2_SM3 is the sm2-sm3 suite, ED25519_SHA256 the default one (raw
//   32-byte Ed25519 keys); suiteNamed(name) picks one by the name a policy
//   or /v1/log gives, or null.

import { sm2, sm3 as sm3Hex } from '../vendor/sm-crypto.js';
import { concat } from './std.js';
import { hex, leafHash, nodeHash, sha256 } from './hash.js';
import { ed25519Verify, importEd25519 } from './ed25519.js';
import { inclusionRoot, verifyConsistency, verifyInclusion } from './proof.js';

/** GM/T 0009's default distinguishing identifier (OpenSSL, GmSSL, sm-crypto). */
export const DEFAULT_DISTID = '1234567812345678';
/** Longest identifier: ENTL counts its bits in 16 bits. */
const MAX_DISTID_BYTES = 8191;
const RAW_SIGNATURE_LEN = 64;

const fromHex = (h) => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));
const isBytes = (x) => x instanceof Uint8Array;

/** SM3 (GB/T 32905) of `bytes`. */
export function sm3(bytes) {
  if (!isBytes(bytes)) throw new TypeError('sm3 takes a Uint8Array');
  return fromHex(sm3Hex(bytes));
}

/**
 * HMAC-SM3 (RFC 2104 with SM3: 64-byte blocks, 32-byte output; GB/T
 * 15852.2): the construction only, every hash is sm-crypto's SM3.
 */
export function hmacSm3(key, message) {
  const BLOCK = 64;
  const k = new Uint8Array(BLOCK);
  k.set(key.length > BLOCK ? sm3(key) : key);
  const pad = (byte) => k.map((b) => b ^ byte);
  return sm3(concat(pad(0x5c), sm3(concat(pad(0x36), message))));
}

/** RFC 9162 §2.1.1 leaf hash with SM3: SM3(0x00 || leaf). */
export const sm3LeafHash = (leaf) => sm3(concat([0x00], leaf));

/** RFC 9162 §2.1.1 node hash with SM3: SM3(0x01 || left || right). */
export const sm3NodeHash = (left, right) => sm3(concat([0x01], left, right));

/** Whether `publicKey` is a SEC1 point encoding of the form sm2sig.rs takes. */
function isSec1(publicKey) {
  if (!isBytes(publicKey)) return false;
  if (publicKey.length === 65) return publicKey[0] === 0x04;
  return publicKey.length === 33 && (publicKey[0] === 0x02 || publicKey[0] === 0x03);
}

/**
 * Whether `signature` is the SM2 signature of `publicKey` over `message`
 * under `distid`. As sm2sig.rs: 64 bytes are r || s, and a signature that
 * parses as DER is also tried as DER (a 64-byte r || s may start 0x30).
 */
export function sm2Verify(publicKey, signature, message, distid = DEFAULT_DISTID) {
  if (sm2VerifyRaw(publicKey, signature, message, distid)) return true;
  return isBytes(signature) && signature[0] === 0x30 && runVerify(publicKey, signature, message, distid, true);
}

/**
 * Whether `signature`, exactly 64 bytes r || s, is the SM2 signature of
 * `publicKey` over `message` under `distid`: the signed-note form, which
 * sm2note.rs's verify_raw alone takes (no DER).
 */
export function sm2VerifyRaw(publicKey, signature, message, distid = DEFAULT_DISTID) {
  return isBytes(signature) && signature.length === RAW_SIGNATURE_LEN && runVerify(publicKey, signature, message, distid, false);
}

/** sm-crypto's verification (it refuses r, s outside [1, n-1] and keys off the curve). */
function runVerify(publicKey, signature, message, distid, der) {
  if (!isSec1(publicKey) || !isBytes(message)) return false;
  const idLength = typeof distid === 'string' ? new TextEncoder().encode(distid).length : 0;
  if (idLength === 0 || idLength > MAX_DISTID_BYTES) return false;
  try {
    return sm2.doVerifySignature(message, hex(signature), hex(publicKey), { der, hash: true, userId: distid }) === true;
  } catch {
    return false;
  }
}

/** SM2's field prime p (GB/T 32918.5). */
const SM2_P = BigInt('0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF');

/**
 * Whether `publicKey` is an uncompressed SEC1 point on the SM2 curve with
 * both coordinates below p, as RustCrypto's VerifyingKey::from_sec1_bytes
 * takes it (sm-crypto alone would take a coordinate not reduced mod p).
 */
export function isSm2Point(publicKey) {
  if (!isBytes(publicKey) || publicKey.length !== 65 || publicKey[0] !== 0x04) return false;
  const x = BigInt(`0x${hex(publicKey.subarray(1, 33))}`);
  const y = BigInt(`0x${hex(publicKey.subarray(33))}`);
  if (x >= SM2_P || y >= SM2_P) return false;
  try {
    return sm2.verifyPublicKey(hex(publicKey)) === true;
  } catch {
    return false;
  }
}

/** A suite from its hashes and signature check: the proofs follow. */
function suite(name, digest, hashLeaf, hashNode, verifySig) {
  return Object.freeze({
    name,
    digest,
    hashLeaf,
    hashNode,
    verifySig,
    inclusionRoot: (leaf, index, size, path) => inclusionRoot(leaf, index, size, path, hashNode),
    verifyInclusion: (leaf, index, size, path, root) => verifyInclusion(leaf, index, size, path, root, hashNode),
    verifyConsistency: (size1, size2, path, root1, root2) => verifyConsistency(size1, size2, path, root1, root2, hashNode),
  });
}

/** The `sm2-sm3` suite: SM3 tree, SM2 signatures with the default identifier. */
export const SM2_SM3 = suite('sm2-sm3', sm3, sm3LeafHash, sm3NodeHash, (publicKey, signature, message) => sm2Verify(publicKey, signature, message));

/** The default `ed25519-sha256` suite: SHA-256 tree, Ed25519 signatures. */
export const ED25519_SHA256 = suite('ed25519-sha256', sha256, leafHash, nodeHash, async (publicKey, signature, message) => ed25519Verify(await importEd25519(publicKey), signature, message));

/** The suite a policy or /v1/log names, or null if unknown. */
const SUITES = { 'sm2-sm3': SM2_SM3, 'ed25519-sha256': ED25519_SHA256 };
export const suiteNamed = (name) => (typeof name === 'string' && Object.hasOwn(SUITES, name) ? SUITES[name] : null);
