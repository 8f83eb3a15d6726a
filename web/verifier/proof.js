// RFC 9162 §2.1.3.2 inclusion and §2.1.4.2 consistency proofs. Sizes and
// indices are BigInt: JS bit operators are 32-bit. Twin of verifier/src/proof.rs.
// Each takes the tree's node hash last, SHA-256's by default; an `sm2-sm3`
// log passes SM3's (web/verifier/sm.js).

import { eqBytes } from './std.js';
import { nodeHash } from './hash.js';

/** Most hashes in one proof. */
export const MAX_PROOF_HASHES = 128;

/** RFC 9162 §2.1.3.2: the root an inclusion proof leads to, or null. */
export async function inclusionRoot(leafHashBytes, index, size, path, hashNode = nodeHash) {
  if (index >= size) return null;
  let fn = index;
  let sn = size - 1n;
  let r = leafHashBytes;
  for (const p of path) {
    if (sn === 0n) return null;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await hashNode(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = await hashNode(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? r : null;
}

/** RFC 9162 §2.1.3.2 verification against `root`. */
export async function verifyInclusion(leafHashBytes, index, size, path, root, hashNode = nodeHash) {
  const r = await inclusionRoot(leafHashBytes, index, size, path, hashNode);
  return r !== null && eqBytes(r, root);
}

/** RFC 9162 §2.1.4.2: whether `path` proves the tree (size1, root1) is a
 * prefix of the tree (size2, root2). */
export async function verifyConsistency(size1, size2, path, root1, root2, hashNode = nodeHash) {
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
      fr = await hashNode(c, fr);
      sr = await hashNode(c, sr);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = await hashNode(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && eqBytes(fr, root1) && eqBytes(sr, root2);
}
