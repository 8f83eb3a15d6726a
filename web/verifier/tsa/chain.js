// The TSA's certificates: reading one, finding the signer, its key-usage
// profile (RFC 3161 §2.3), and the path from it to a root the person
// verifying trusts (RFC 5280 §6, reduced to what a TSA path needs:
// signatures, validity at genTime, CA flags, and refusal of critical
// extensions not processed here). Twin of verifier/src/tsa/chain.rs.

import { Certificate } from '../../vendor/pki.js';
import { fail } from '../error.js';
import { eqBytes } from '../std.js';
import {
  ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS, ID_CE_EXT_KEY_USAGE, ID_CE_KEY_USAGE,
  ID_CE_SUBJECT_ALT_NAME, ID_CE_SUBJECT_KEY_IDENTIFIER, ID_KP_TIME_STAMPING,
  children, decodeDer, encoded, extension, is, keyUsageBit, nameDer, nameText, oidOf, valueBytes,
} from './asn1.js';
import { signatureScheme, verifySignature } from './crypto.js';

/** Longest path walked from the signer to a root, in certificates. */
const MAX_PATH_LEN = 6;

/** Critical extensions processed here; any other critical one makes a
 * certificate unusable (RFC 5280 §4.2). */
const UNDERSTOOD_CRITICAL = [
  ID_CE_BASIC_CONSTRAINTS, ID_CE_KEY_USAGE, ID_CE_EXT_KEY_USAGE,
  ID_CE_SUBJECT_ALT_NAME, ID_CE_SUBJECT_KEY_IDENTIFIER, ID_CE_AUTHORITY_KEY_IDENTIFIER,
];

/** A certificate's DER read as X.509: {der, tbs, spki, x (PKI.js)}, or null. */
export function readCertificate(der) {
  const block = decodeDer(der);
  if (!block) return null;
  try {
    const x = new Certificate({ schema: block });
    const tbs = children(block)[0];
    const fields = children(tbs);
    const at = fields[0].idBlock.tagClass === 3 ? 1 : 0;
    return { der, tbs: encoded(tbs), spki: encoded(fields[5 + at]), x };
  } catch {
    return null;
  }
}

/** The certificate of `certs` that the SignerInfo's sid names (RFC 5652 §5.3). */
export function findSigner(sid, certs) {
  const found = certs.find((c) => {
    if (sid.issuer) {
      return eqBytes(nameDer(c.x.issuer), nameDer(sid.issuer)) && eqBytes(valueBytes(c.x.serialNumber), valueBytes(sid.serialNumber));
    }
    const ski = extension(c.x, ID_CE_SUBJECT_KEY_IDENTIFIER);
    return ski !== null && is(ski.value, 'OCTET_STRING') && eqBytes(valueBytes(ski.value), valueBytes(sid));
  });
  return found ?? fail('r.tsa', { what: 'no_signer_cert' });
}

/** RFC 3161 §2.3: exactly one extended key usage, id-kp-timeStamping, in an
 * extension marked critical; a key usage, if present, allows signatures. */
export function checkTsaProfile(signer) {
  const eku = extension(signer.x, ID_CE_EXT_KEY_USAGE);
  const usages = eku && is(eku.value, 'SEQUENCE') ? children(eku.value).map(oidOf) : [];
  if (!eku || !eku.critical || usages.length !== 1 || usages[0] !== ID_KP_TIME_STAMPING) fail('r.tsa', { what: 'eku' });
  const ku = extension(signer.x, ID_CE_KEY_USAGE);
  if (ku && keyUsageBit(ku.value, 0) === false && keyUsageBit(ku.value, 1) === false) fail('r.tsa', { what: 'ku_sign' });
}

/** Walks from `signer` through `certs` to a root of `trusted` ([{name,
 * cert}]), checking each signature, each validity against `at` (Unix
 * seconds), CA flags and critical extensions. Returns the root's name. */
export async function chainToTrusted(signer, certs, trusted, at) {
  let current = signer;
  for (let i = 0; i < MAX_PATH_LEN; i++) {
    checkUsable(current, at);
    // The person verifying may pin the TSA certificate itself.
    const pinned = trusted.find((t) => eqBytes(t.cert.der, current.der));
    if (pinned) return pinned.name;
    for (const t of trusted) {
      if (await issued(t.cert, current)) {
        checkUsable(t.cert, at);
        checkCa(t.cert);
        return t.name;
      }
    }
    let next = null;
    for (const c of certs) {
      if (!eqBytes(c.der, current.der) && (await issued(c, current))) {
        next = c;
        break;
      }
    }
    if (!next) untrusted(current);
    checkCa(next);
    current = next;
  }
  return untrusted(current);
}

function untrusted(last) {
  return fail('r.tsa', { what: 'untrusted', issuer: nameText(last.x.issuer) });
}

/** Whether `issuer` names and signed `child`. */
async function issued(issuer, child) {
  const sigOid = child.x.signatureAlgorithm.algorithmId;
  if (!eqBytes(nameDer(issuer.x.subject), nameDer(child.x.issuer)) || sigOid !== child.x.signature.algorithmId) return false;
  const scheme = signatureScheme(sigOid, null);
  const sig = child.x.signatureValue;
  if (!scheme || sig.valueBlock.unusedBits !== 0) return false;
  return verifySignature(issuer.spki, scheme, child.tbs, new Uint8Array(sig.valueBlock.valueHexView));
}

/** Validity covers `at`, and every critical extension is one processed here. */
function checkUsable(c, at) {
  const subject = nameText(c.x.subject);
  const notBefore = c.x.notBefore.value.getTime();
  const notAfter = c.x.notAfter.value.getTime();
  if (!Number.isFinite(notBefore) || !Number.isFinite(notAfter)) fail('r.tsa', { what: 'validity_unusable', subject });
  if (at < Math.floor(notBefore / 1000) || at > Math.floor(notAfter / 1000)) {
    const words = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    fail('r.tsa', { what: 'expired', subject, from: words(notBefore), to: words(notAfter) });
  }
  const e = (c.x.extensions ?? []).find((x) => x.critical && !UNDERSTOOD_CRITICAL.includes(x.extnID));
  if (e) fail('r.tsa', { what: 'critical_ext', subject, oid: e.extnID });
}

/** An issuing certificate is a CA (RFC 5280 §4.2.1.9) and, if it has a key
 * usage, one that allows signing certificates. */
function checkCa(c) {
  const bc = extension(c.x, ID_CE_BASIC_CONSTRAINTS);
  const flags = bc && is(bc.value, 'SEQUENCE') ? children(bc.value) : null;
  const isCa = flags !== null && is(flags[0], 'BOOLEAN') && flags[0].valueBlock.value === true;
  const ku = extension(c.x, ID_CE_KEY_USAGE);
  const canSign = ku === null || keyUsageBit(ku.value, 5) !== false;
  if (!isCa || !canSign) fail('r.tsa', { what: 'not_ca', subject: nameText(c.x.subject) });
}
