// C2SP tlog-cosignature v1: the cosigned message `cosignature/v1\ntime T\n`
// + checkpoint body, the 8-byte time before the Ed25519 signature, and its
// checks. Twin of verifier/src/cosignature.rs (ALG_COSIGNATURE_V1 is in
// note.js, which reads vkeys of both types).

import { m, fail } from './error.js';
import { utf8 } from './std.js';
import { ed25519Verify } from './ed25519.js';
import { matches } from './note.js';

/** The latest cosignature time (i64::MAX seconds, as cosignature.rs). */
export const MAX_TIMESTAMP = 2n ** 63n - 1n;

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

/** C2SP tlog-cosignature v1 of one line under `key`: its time, or a reason. */
export async function cosignatureLine(key, cp, s) {
  if (s.sig.length !== 72) return { err: m('r.cosig', { what: 'length' }) };
  let t = 0n;
  for (const byte of s.sig.subarray(0, 8)) t = (t << 8n) | BigInt(byte);
  if (t > MAX_TIMESTAMP) return { err: m('r.cosig', { what: 'time' }) };
  const msg = utf8.encode(`cosignature/v1\ntime ${t}\n${cp.body}`);
  if (!(await ed25519Verify(key.cryptoKey, s.sig.subarray(8), msg))) return { err: m('r.cosig', { what: 'invalid' }) };
  return { time: t };
}
