// The CMS SignedData in one PDF signature's `/Contents` (ISO 32000-1
// §12.8.3.3 `adbe.pkcs7.detached`; ETSI EN 319 142-1 PAdES baseline B-B and
// B-T, `ETSI.CAdES.detached`), read by PKI.js and asn1js and checked with
// the page's RFC 3161 code (../tsa.js, ../tsa/*.js): the same digests,
// signature algorithms, ESS binding and certificate paths. Twin of
// verifier/src/pdf/cms.rs, check for check and in the same order.

import { ContentInfo, SignedData, asn1js } from '../../vendor/pki.js';
import { Fail, m } from '../error.js';
import { eqBytes } from '../std.js';
import { sha256 } from '../hash.js';
import { unixToRfc3339 } from '../report.js';
import { trustedTsa, verifyTimestampToken } from '../tsa.js';
import {
  ID_AA_SIGNING_CERTIFICATE, ID_AA_SIGNING_CERTIFICATE_V2, ID_CE_KEY_USAGE, ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, ID_SIGNED_DATA,
  certificateDers, children, decodeDer, encoded, extension, firstEssCertId, intHex, is, keyUsageBit, nameText, oidOf, signedAttributes,
  singleValue, valueBytes,
} from '../tsa/asn1.js';
import { chainToTrusted, findSigner, readCertificate } from '../tsa/chain.js';
import { DIGESTS, digest, signatureScheme, verifySignature } from '../tsa/crypto.js';

const ID_DATA = '1.2.840.113549.1.7.1';
const ID_SIGNING_TIME = '1.2.840.113549.1.9.5';
/** id-aa-signatureTimeStampToken, RFC 3161 Appendix A. */
const ID_AA_SIGNATURE_TIME_STAMP_TOKEN = '1.2.840.113549.1.9.16.2.14';
/** Most certificates a signature may carry. */
const MAX_CERTS = 16;
/** Clock skew allowed for a timestamp's genTime, as for bundles. */
const MAX_SKEW_SECS = 300;
/** The name under which a timestamp's own certificates are tried. */
const OWN_CERTS = "the token's own certificates";

const p = (what, a = {}) => m('pdf.p', { what, ...a });
const stop = (what, a) => {
  throw new Fail(p(what, a));
};

/**
 * Checks the CMS object `contents` (trailing zero padding allowed) over the
 * `covered` byte arrays, against `policy` (its `cas` and `tsas`), as of
 * `now` (unix seconds): {signer, signing_time, digest_algorithm, problems,
 * untrusted} (cms.rs check).
 */
export async function checkCms(contents, covered, subFilter, policy, now) {
  const out = { signer: null, signing_time: null, digest_algorithm: null, problems: [], untrusted: [] };
  try {
    await run(contents, covered, subFilter, policy, now, out);
  } catch (e) {
    if (!(e instanceof Fail)) throw e;
    out.problems.push(e.msg);
  }
  return out;
}

async function run(contents, covered, subFilter, policy, now, out) {
  const { sd, block } = decode(contents);
  const certs = certificates(block);
  if (sd.signerInfos.length !== 1) stop('signers', { n: sd.signerInfos.length });
  const info = sd.signerInfos[0];
  const sid = info.sid instanceof asn1js.Primitive ? info.sid : { issuer: info.sid.issuer, serialNumber: info.sid.serialNumber };
  let signer;
  try {
    signer = findSigner(sid, certs);
  } catch {
    stop('no_signer_cert');
  }
  out.signer = signerFact(signer);
  // SM3 (and so SM2, GM/T 0031 seals) is not taken in PDF signatures yet,
  // as in verifier/src/pdf/cms.rs, although the shared code knows it.
  const named = DIGESTS.get(info.digestAlgorithm.algorithmId);
  const alg = (named === 'SM3' ? null : named) ?? stop('digest_alg', { oid: info.digestAlgorithm.algorithmId });
  out.digest_algorithm = alg;
  const want = await digest(alg, concat(covered));
  await checkSignature(info, signer, alg, want, covered, subFilter === 'ETSI.CAdES.detached');
  keyUsage(signer);
  const claimed = signingTimeAttribute(info);
  const trusted = await signatureTimestamp(info, policy, now, out);
  out.signing_time = trusted ?? claimed;
  const timed = trusted?.source === 'timestamp';
  const at = timed ? trusted.unix : now;
  const roots = policy.cas.map((c) => trustedTsa(c.name, c.pem)).filter(Boolean);
  try {
    out.signer.trusted_root = await chainToTrusted(signer, certs, roots, at);
  } catch (e) {
    if (!(e instanceof Fail)) throw e;
    // tsa/chain.js words its failures for a TSA's path; the same facts
    // are worded here for a signer's (cms.rs PDF_AT_GEN_TIME, PDF_AT_NOW).
    const { what, ...facts } = e.msg.a ?? {};
    if (what === 'untrusted') out.untrusted.push(p('signer_untrusted', { issuer: facts.issuer }));
    else out.problems.push(p('signer_path', { path: what, ...facts, timed }));
  }
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of parts) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

/** The length of the DER TLV at the start of `b` (tag and length only),
 * or null. */
function tlvLength(b) {
  if (b.length < 2 || (b[0] & 0x1f) === 0x1f) return null;
  const first = b[1];
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  if (n === 0 || n > 4 || b.length < 2 + n) return null;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + b[2 + i];
  return 2 + n + len;
}

// Identifier octets of the CMS paths the Rust decoder holds as ANY or
// decodes on its own: the certificates (each checked whole by
// readCertificate) and the values of signed and unsigned attributes.
const CERTIFICATES = [0x30, 0xa0, 0x30, 0xa0];
/** Where isDerWhere looks inside a ContentInfo: as cms::SignedData decodes it. */
function cmsShape(path) {
  if (path.length === 4 && CERTIFICATES.every((x, i) => path[i] === x)) return false;
  return !(path.length === 9 && path[3] === 0x31 && path[4] === 0x30 && [0xa0, 0xa1].includes(path[5]));
}
/** The same, inside one SET OF attributes: not into an attribute's values. */
const attributesShape = (path) => path.length < 4;

/** `/Contents` → SignedData: one DER ContentInfo, then only zero padding. */
function decode(contents) {
  const total = tlvLength(contents);
  if (total === null) stop('not_cms');
  if (total > contents.length) stop('truncated');
  if (contents.subarray(total).some((x) => x !== 0)) stop('padding');
  const block = decodeDer(contents.subarray(0, total), cmsShape);
  if (!block) stop('not_cms');
  let info;
  let sd;
  try {
    info = new ContentInfo({ schema: block });
  } catch {
    stop('not_cms');
  }
  if (info.contentType !== ID_SIGNED_DATA) stop('not_signed_data', { oid: info.contentType });
  try {
    sd = new SignedData({ schema: info.content });
  } catch {
    stop('not_cms');
  }
  // CMSVersion is 0 to 5 (RFC 5652 §10.2.5; the Rust decoder's enum).
  if (![sd, ...sd.signerInfos].every((x) => Number.isInteger(x.version) && x.version >= 0 && x.version <= 5)) stop('not_cms');
  // A SET OF signed attributes with a duplicate is no DER (the Rust decoder refuses it).
  for (const si of sd.signerInfos) if (si.signedAttrs && !signedAttributes(si.signedAttrs.encodedValue, attributesShape)) stop('not_cms');
  const encap = sd.encapContentInfo;
  if (encap.eContentType !== ID_DATA || encap.eContent) stop('not_detached');
  return { sd, block: info.content };
}

function certificates(block) {
  const certs = certificateDers(block).map((c) => readCertificate(c) ?? stop('not_cms'));
  // asn1js reads a time with a non-digit in it; the Rust decoder refuses
  // the whole SignedData (RFC 5280 §4.1.2.5: UTCTime or GeneralizedTime,
  // seconds, `Z`).
  if (!certs.every(validityReads)) stop('not_cms');
  if (certs.length > MAX_CERTS) stop('certs', { max: MAX_CERTS });
  return certs;
}

function validityReads(cert) {
  const fields = children(decodeDer(cert.tbs));
  const at = fields[0]?.idBlock.tagClass === 3 ? 1 : 0;
  const times = children(fields[at + 3]);
  return times.length === 2 && times.every((t) => x509Time(t) !== null);
}

/** RFC 5652 §5.4 and §11 (cms.rs check_signature). */
async function checkSignature(info, signer, alg, want, covered, cades) {
  const oid = info.signatureAlgorithm.algorithmId;
  const scheme = signatureScheme(oid, alg) ?? stop('sig_alg', { oid });
  const sig = valueBytes(info.signature);
  if (!info.signedAttrs) {
    if (cades) stop('pades_no_attrs');
    if (!(await verifySignature(signer.spki, scheme, concat(covered), sig))) stop('signature');
    return;
  }
  const attrs = signedAttributes(info.signedAttrs.encodedValue, attributesShape);
  if (oidOf(singleValue(attrs.attrs, ID_CONTENT_TYPE)) !== ID_DATA) stop('attr_content_type');
  const md = singleValue(attrs.attrs, ID_MESSAGE_DIGEST);
  if (!is(md, 'OCTET_STRING') || md.idBlock.isConstructed || !eqBytes(valueBytes(md), want)) stop('attr_digest');
  await essBinding(attrs.attrs, signer, cades);
  if (!(await verifySignature(signer.spki, scheme, attrs.der, sig))) stop('signature');
}

/** RFC 5035 / ETSI EN 319 122-1: the ESS signing-certificate attribute, if
 * present (and it must be, for PAdES), names the signer certificate
 * (tsa.rs ess_names). */
async function essBinding(attrs, signer, required) {
  const v2 = singleValue(attrs, ID_AA_SIGNING_CERTIFICATE_V2);
  const v1 = v2 ? null : singleValue(attrs, ID_AA_SIGNING_CERTIFICATE);
  if (!v2 && !v1) {
    if (required) stop('no_ess');
    return;
  }
  const id = firstEssCertId(v2 ?? v1, Boolean(v2));
  const alg = !id ? null : v1 ? 'SHA-1' : id.alg === null ? 'SHA-256' : DIGESTS.get(id.alg);
  if (!alg || !eqBytes(id.hash, await digest(alg, signer.der))) stop('ess');
}

/** A key usage, if present, allows digital signatures or non-repudiation. */
function keyUsage(signer) {
  const ku = extension(signer.x, ID_CE_KEY_USAGE);
  if (ku && keyUsageBit(ku.value, 0) === false && keyUsageBit(ku.value, 1) === false) stop('key_usage');
}

/** The signed `signingTime` attribute: the signer's own claim. */
function signingTimeAttribute(info) {
  if (!info.signedAttrs) return null;
  const attrs = signedAttributes(info.signedAttrs.encodedValue, attributesShape);
  const v = singleValue(attrs.attrs, ID_SIGNING_TIME);
  const unix = v ? x509Time(v) : null;
  return unix === null ? null : { time: unixToRfc3339(unix), unix, source: 'signing_time_attribute' };
}

/** An X.509 Time (RFC 5280 §4.1.2.5: UTCTime `YYMMDDHHMMSSZ`, years 1950-2049,
 * or GeneralizedTime `YYYYMMDDHHMMSSZ`) as unix seconds, or null. */
function x509Time(block) {
  const tag = block.idBlock.tagClass === 1 ? block.idBlock.tagNumber : -1;
  const all = encoded(block);
  const text = String.fromCharCode(...all.subarray(all.length - block.lenBlock.length));
  const t = (tag === 23 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/ : tag === 24 ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/ : /^$/).exec(text);
  if (!t || (tag !== 23 && tag !== 24)) return null;
  let [y, mo, d, h, mi, s] = t.slice(1).map(Number);
  if (tag === 23) y += y < 50 ? 2000 : 1900;
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (mo < 1 || mo > 12 || d < 1 || d > days || h > 23 || mi > 59 || s > 59) return null;
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, 0);
  return date.getTime() / 1000;
}

/**
 * The unsigned id-aa-signatureTimeStampToken: an RFC 3161 token over the
 * SHA-256 of the signature value, verified as ../tsa.js verifies any token
 * against the policy's `tsa` roots. One that verifies only under its own
 * certificates gives a claimed time; one that does not verify at all is a
 * failure of the signature (cms.rs signature_timestamp).
 */
async function signatureTimestamp(info, policy, now, out) {
  const unsigned = info.unsignedAttrs?.attributes ?? [];
  const found = unsigned.filter((a) => a.type === ID_AA_SIGNATURE_TIME_STAMP_TOKEN);
  if (!found.length) return null;
  if (found.length > 1 || found[0].values.length !== 1) {
    out.problems.push(p('timestamps'));
    return null;
  }
  const token = encoded(found[0].values[0]);
  const imprint = await sha256(valueBytes(info.signature));
  const fact = (t, source) => ({ time: t.gen_time, unix: t.gen_time_unix, source, tsa: t.tsa, serial: t.serial });
  const tsas = policy.tsas.map((x) => trustedTsa(x.name, x.pem)).filter(Boolean);
  try {
    return fact(await verifyTimestampToken(token, imprint, tsas, now, MAX_SKEW_SECS), 'timestamp');
  } catch (e) {
    if (!(e instanceof Fail)) throw e;
    try {
      const t = await verifyTimestampToken(token, imprint, ownCerts(token), now, MAX_SKEW_SECS);
      out.untrusted.push(p('ts_untrusted', { why: e.msg }));
      return fact(t, 'untrusted_timestamp');
    } catch (e2) {
      if (!(e2 instanceof Fail)) throw e2;
      out.problems.push(p('ts_bad', { why: e.msg }));
      return null;
    }
  }
}

/** Each certificate a token carries, as a root: the token checked against
 * itself, to tell "no trusted root" from "broken". */
function ownCerts(token) {
  const block = decodeDer(token);
  if (!block) return [];
  try {
    const info = new ContentInfo({ schema: block });
    return certificateDers(info.content).map(readCertificate).filter(Boolean).map((cert) => ({ name: OWN_CERTS, cert }));
  } catch {
    return [];
  }
}

/** Subject, issuer, serial and validity of the signer certificate. */
function signerFact(cert) {
  const time = (t) => unixToRfc3339(Math.floor(t.value.getTime() / 1000));
  return {
    subject: nameText(cert.x.subject),
    issuer: nameText(cert.x.issuer),
    serial: intHex(cert.x.serialNumber),
    not_before: time(cert.x.notBefore),
    not_after: time(cert.x.notAfter),
    trusted_root: null,
  };
}
