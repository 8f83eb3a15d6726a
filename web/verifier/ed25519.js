// Ed25519, strict (RFC 8032 with verify_strict's extra refusals): what the
// Rust verifier gets from ed25519-dalek (VerifyingKey::from_bytes,
// verify_strict), used by note.rs and entry.rs. No twin file in verifier/src.

const subtle = globalThis.crypto.subtle;

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
