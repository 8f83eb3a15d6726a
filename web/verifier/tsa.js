// RFC 3161 roots. The page checks no RFC 3161 token (CMS and X.509 in the
// browser are not worth their attack surface: docs/trust-policy.md §4); it
// keeps of verifier/src/tsa.rs only the shape of a root certificate
// (parse_root_pem: one PEM CERTIFICATE block of one DER SEQUENCE).

import { trimWs } from './std.js';
import { b64decode } from './hash.js';

export const PEM_BEGIN = '-----BEGIN CERTIFICATE-----';
export const PEM_END = '-----END CERTIFICATE-----';

/** Whether `pem` is one PEM CERTIFICATE block around base64 of one DER
 * SEQUENCE. The page cannot check X.509 itself; this is the shape only. */
export function isPemCertificateShape(pem) {
  return pemCertificateDer(pem) !== null;
}

/** The DER of a PEM CERTIFICATE block of one DER SEQUENCE, or null. */
export function pemCertificateDer(pem) {
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
