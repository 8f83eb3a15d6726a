// SM2 issuers certified by X.509 (issue 26 item 3): a certificate chain of
// the GM/T 0015 profile, checked up to a CA root the policy pins (`ca NAME`)
// at a given time, yielding the end certificate's SM2 key and subject.
// Twin of verifier/src/x509sm2.rs: every certificate signed SM2-with-SM3,
// the end certificate's key on the SM2 curve, not a CA, its key usage
// with digitalSignature; the path walk is tsa/chain.js's (signatures,
// validity at the time, issuers are CAs that may sign certificates, no
// unprocessed critical extension). Failures are 'r.cert' messages.

import { Fail, fail } from './error.js';
import { chainToTrusted, readCertificate } from './tsa/chain.js';
import {
  ID_CE_BASIC_CONSTRAINTS, ID_CE_KEY_USAGE, children, decodeDer, extension, intHex, is, keyUsageBit,
  nameText, oidOf, valueBytes,
} from './tsa/asn1.js';
import { trustedTsa } from './tsa.js';

/** Most certificates a chain may hold (x509sm2.rs MAX_CHAIN_CERTS). */
export const MAX_CHAIN_CERTS = 8;
/** Largest certificate, DER bytes (x509sm2.rs MAX_CERT_SIZE). */
export const MAX_CERT_SIZE = 16 * 1024;
const SM2_WITH_SM3 = '1.2.156.10197.1.501';
const ID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const ID_SM2_CURVE = '1.2.156.10197.1.301';
const ID_AT_COMMON_NAME = '2.5.4.3';

const bad = (a) => fail('r.cert', a);

/**
 * Verifies `ders` (DER certificates, end certificate first, then any
 * intermediates in any order) up to one of `cas` (the policy's [{name,
 * pem}]), every certificate on the path valid at `at` (Unix seconds).
 * Resolves to {point (65-byte SEC1), subject, serial, ca, commonName}.
 */
export async function verifySm2Chain(ders, cas, at) {
  if (ders.length === 0) bad({ what: 'none' });
  if (ders.length > MAX_CHAIN_CERTS) bad({ what: 'count', max: MAX_CHAIN_CERTS });
  const certs = ders.map((d, i) => (d.length <= MAX_CERT_SIZE ? readCertificate(d) : null) ?? bad({ what: 'not_der', i }));
  for (const c of certs) {
    const oid = c.x.signatureAlgorithm.algorithmId;
    if (oid !== SM2_WITH_SM3 || c.x.signature.algorithmId !== oid) bad({ what: 'sig_alg', subject: nameText(c.x.subject), oid });
  }
  const leaf = certs[0];
  const point = sm2Point(leaf.spki) ?? bad({ what: 'key' });
  checkEndEntity(leaf);
  const roots = cas.map((c) => trustedTsa(c.name, c.pem)).filter((t) => t && t.cert);
  let ca;
  try {
    ca = await chainToTrusted(leaf, certs.slice(1), roots, at);
  } catch (e) {
    // tsa/chain.js words its failures for a TSA's path; the same facts,
    // worded for an issuer's certificate.
    if (e instanceof Fail && e.msg.k === 'r.tsa') bad(e.msg.a);
    throw e;
  }
  return { point, subject: nameText(leaf.x.subject), serial: intHex(leaf.x.serialNumber), ca, commonName: commonName(leaf.x.subject) };
}

/** The uncompressed SM2 point of an id-ecPublicKey SPKI on the SM2 curve, or null. */
function sm2Point(spki) {
  const info = decodeDer(spki);
  const [alg, key] = children(info);
  const [keyOid, curve] = children(alg);
  if (oidOf(keyOid) !== ID_EC_PUBLIC_KEY || oidOf(curve) !== ID_SM2_CURVE) return null;
  if (!is(key, 'BIT_STRING') || key.valueBlock.unusedBits !== 0) return null;
  const point = valueBytes(key);
  return point.length === 65 && point[0] === 0x04 ? point : null;
}

/** Not a CA, and a key usage (GM/T 0015 requires one) with digitalSignature. */
function checkEndEntity(leaf) {
  const subject = nameText(leaf.x.subject);
  const bc = extension(leaf.x, ID_CE_BASIC_CONSTRAINTS);
  const flags = bc && is(bc.value, 'SEQUENCE') ? children(bc.value) : [];
  if (flags.length > 0 && is(flags[0], 'BOOLEAN') && flags[0].valueBlock.value === true) bad({ what: 'is_ca', subject });
  const ku = extension(leaf.x, ID_CE_KEY_USAGE);
  if (!ku) bad({ what: 'no_ku', subject });
  if (keyUsageBit(ku.value, 0) !== true) bad({ what: 'ku', subject });
}

/** The subject's one commonName (UTF8String or PrintableString), else null. */
function commonName(name) {
  const cns = name.typesAndValues.filter((atv) => atv.type === ID_AT_COMMON_NAME);
  if (cns.length !== 1) return null;
  const v = cns[0].value;
  const tag = v.idBlock.tagClass === 1 ? v.idBlock.tagNumber : -1;
  return tag === 12 || tag === 19 ? String(v.valueBlock.value) : null;
}
