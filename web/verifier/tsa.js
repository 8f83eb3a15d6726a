// RFC 3161 trusted timestamps: verifying a timestamp token against the
// hash it must cover and the TSA roots the person verifying trusts, with
// exactly the checks of the Rust verifier, in the same order and naming
// the same first failure. Twin of verifier/src/tsa.rs (tsa/asn1.js,
// tsa/chain.js and tsa/crypto.js are the twins of its submodules).
//
// A token is a CMS SignedData (RFC 5652) over a TSTInfo (RFC 3161 §2.4.2).
// CMS and X.509 are read by PKI.js and asn1js (web/vendor/pki.js, made by
// scripts/vendor-web); signatures and digests are WebCrypto's.
// Out of scope, as in Rust: revocation (CRL/OCSP), which needs the network.

import { ContentInfo, SignedData, TSTInfo, asn1js } from '../vendor/pki.js';
import { fail } from './error.js';
import { eqBytes, trimWs } from './std.js';
import { b64decode } from './hash.js';
import {
  ID_AA_SIGNING_CERTIFICATE, ID_AA_SIGNING_CERTIFICATE_V2, ID_CONTENT_TYPE, ID_CT_TST_INFO, ID_MESSAGE_DIGEST, ID_SIGNED_DATA,
  certificateDers, decodeDer, firstEssCertId, genTimeOf, intHex, is, nameText, oidOf, signedAttributes, singleValue, valueBytes,
} from './tsa/asn1.js';
import { checkTsaProfile, chainToTrusted, findSigner, readCertificate } from './tsa/chain.js';
import { DIGESTS, ID_SM3, digest, signatureScheme, verifySignature } from './tsa/crypto.js';

export const PEM_BEGIN = '-----BEGIN CERTIFICATE-----';
export const PEM_END = '-----END CERTIFICATE-----';
/** Largest token accepted, in bytes, checked before decoding. */
export const MAX_TOKEN_SIZE = 16 * 1024;
/** Most certificates a token may carry. */
const MAX_TOKEN_CERTS = 8;
const SHA256 = '2.16.840.1.101.3.4.2.1';

/** Whether `pem` is one PEM CERTIFICATE block of a DER X.509 certificate. */
export function isPemCertificateShape(pem) {
  return pemCertificateDer(pem) !== null;
}

/** The DER of a PEM CERTIFICATE block holding one X.509 certificate
 * (tsa.rs parse_root_pem), or null. */
export function pemCertificateDer(pem) {
  const lines = trimWs(pem).split('\n').map((l) => trimWs(l));
  if (lines.length < 3 || lines[0] !== PEM_BEGIN || lines[lines.length - 1] !== PEM_END) return null;
  const der = b64decode(lines.slice(1, -1).join(''));
  return der && readCertificate(der) ? der : null;
}

/** A trusted TSA {name, cert} from a PEM root (TrustedTsa::from_pem), or null. */
export function trustedTsa(name, pem) {
  const der = pemCertificateDer(pem);
  return der ? { name, cert: readCertificate(der) } : null;
}

/**
 * Verifies an RFC 3161 TimeStampToken (DER bytes) over `expected` (the 32
 * bytes of a SHA-256, or {data}: the bytes, whose SHA-256 or SM3 the
 * imprint may be) against `trusted` TSAs ([{name, cert}] from
 * trustedTsa), as of `now` (Unix seconds) with `maxSkew` seconds of clock
 * skew allowed for genTime. Resolves to {tsa, gen_time, gen_time_unix,
 * serial, policy, nonce, signer_subject}; rejects with a Fail whose
 * message ('r.tsa') names the first failed check.
 */
export async function verifyTimestampToken(der, expected, trusted, now, maxSkew) {
  if (der.length > MAX_TOKEN_SIZE) fail('r.tsa', { what: 'size', size: der.length, max: MAX_TOKEN_SIZE });
  const signed = decodeSignedData(der);
  const tst = decodeTstInfo(signed.sd);
  await checkImprint(tst, expected);
  if (tst.genTime.unix > now + maxSkew) fail('r.tsa', { what: 'future', gen_time: tst.genTime.rfc3339, skew: maxSkew });
  if (signed.certs.length > MAX_TOKEN_CERTS) fail('r.tsa', { what: 'certs', max: MAX_TOKEN_CERTS });
  const info = onlySigner(signed.sd);
  const signer = findSigner(info.sid, signed.certs);
  checkTsaProfile(signer);
  const attrs = await checkSignedAttributes(info, tst.der, signer);
  await checkSignature(info, attrs, signer);
  const tsa = await chainToTrusted(signer, signed.certs, trusted, tst.genTime.unix);
  return {
    tsa,
    gen_time: tst.genTime.rfc3339,
    gen_time_unix: tst.genTime.unix,
    serial: intHex(tst.x.serialNumber),
    policy: tst.x.policy,
    nonce: tst.x.nonce ? intHex(tst.x.nonce) : null,
    signer_subject: nameText(signer.x.subject),
  };
}

/** ContentInfo → SignedData, and its certificates (RFC 3161 §2.4.2, RFC
 * 5652 §3, §5.1): all must read, as the Rust verifier decodes them whole. */
function decodeSignedData(der) {
  const block = decodeDer(der);
  if (!block) fail('r.tsa', { what: 'not_token' });
  const info = parse(() => new ContentInfo({ schema: block }));
  if (info.contentType !== ID_SIGNED_DATA) fail('r.tsa', { what: 'not_signed_data', oid: info.contentType });
  const sd = parse(() => new SignedData({ schema: info.content }));
  const certs = certificateDers(info.content).map((c) => readCertificate(c) ?? fail('r.tsa', { what: 'not_token' }));
  // A SET OF signed attributes with a duplicate is no DER (the Rust decoder refuses it here).
  for (const si of sd.signerInfos) if (si.signedAttrs && !signedAttributes(si.signedAttrs.encodedValue)) fail('r.tsa', { what: 'not_token' });
  return { sd, certs };
}

function parse(f) {
  try {
    return f();
  } catch {
    return fail('r.tsa', { what: 'not_token' });
  }
}

/** The eContent bytes (the DER TSTInfo) and their reading. */
function decodeTstInfo(sd) {
  const encap = sd.encapContentInfo;
  if (encap.eContentType !== ID_CT_TST_INFO) fail('r.tsa', { what: 'econtent_type', oid: encap.eContentType });
  if (!encap.eContent || !is(encap.eContent, 'OCTET_STRING') || encap.eContent.idBlock.isConstructed) fail('r.tsa', { what: 'detached' });
  const der = valueBytes(encap.eContent);
  const block = decodeDer(der);
  const genTime = block && genTimeOf(block);
  let x = null;
  try {
    x = genTime ? new TSTInfo({ schema: block }) : null;
  } catch {
    x = null;
  }
  if (!x || x.version !== 1 || !is(x.serialNumber, 'INTEGER')) fail('r.tsa', { what: 'tst' });
  return { der, genTime, x };
}

/** RFC 3161 §2.4.2 messageImprint: SHA-256 of what the token is about
 * (`expected`, bytes), or, given `{data}` (the bytes themselves, as
 * Imprinted::Bytes in tsa.rs), SHA-256 or SM3 of them (GM/T 0033). */
async function checkImprint(tst, expected) {
  const imprint = tst.x.messageImprint;
  const oid = imprint.hashAlgorithm.algorithmId;
  const data = expected instanceof Uint8Array ? null : expected.data;
  const ok = oid === SHA256 || (data && oid === ID_SM3);
  if (!ok) fail('r.tsa', { what: 'imprint_alg', oid });
  const want = data ? await digest(oid === SHA256 ? 'SHA-256' : 'SM3', data) : expected;
  if (!eqBytes(valueBytes(imprint.hashedMessage), want)) fail('r.tsa', { what: 'imprint' });
}

/** RFC 3161 §2.4.2: the token carries the TSA's signature and no other. */
function onlySigner(sd) {
  if (sd.signerInfos.length !== 1) fail('r.tsa', { what: 'signers', n: sd.signerInfos.length });
  const info = sd.signerInfos[0];
  // PKI.js gives the sid as IssuerAndSerialNumber, or the [0] block of a SubjectKeyIdentifier.
  const sid = info.sid instanceof asn1js.Primitive ? info.sid : { issuer: info.sid.issuer, serialNumber: info.sid.serialNumber };
  return { sid, info };
}

/** The SignerInfo digest algorithm (WebCrypto name), if one accepted. */
function signerDigest(info) {
  const oid = info.digestAlgorithm.algorithmId;
  return DIGESTS.get(oid) ?? fail('r.tsa', { what: 'digest_alg', oid });
}

/** RFC 5652 §5.3/§11: content-type is id-ct-TSTInfo, message-digest is the
 * digest of the TSTInfo; then the ESS binding to the signer certificate.
 * Returns the attributes read. */
async function checkSignedAttributes({ info }, tstDer, signer) {
  if (!info.signedAttrs) fail('r.tsa', { what: 'no_attrs' });
  const attrs = signedAttributes(info.signedAttrs.encodedValue);
  if (oidOf(singleValue(attrs.attrs, ID_CONTENT_TYPE)) !== ID_CT_TST_INFO) fail('r.tsa', { what: 'attr_content_type' });
  const want = await digest(signerDigest(info), tstDer);
  const md = singleValue(attrs.attrs, ID_MESSAGE_DIGEST);
  if (!is(md, 'OCTET_STRING') || md.idBlock.isConstructed || !eqBytes(valueBytes(md), want)) fail('r.tsa', { what: 'attr_digest' });
  await checkEssBinding(attrs.attrs, signer);
  return attrs;
}

/** RFC 3161 §2.4.1, RFC 5035: the signing-certificate attribute (v2, or v1
 * with SHA-1) is present and its first certificate hash is the signer
 * certificate's. */
async function checkEssBinding(attrs, signer) {
  const v2 = singleValue(attrs, ID_AA_SIGNING_CERTIFICATE_V2);
  const v1 = v2 ? null : singleValue(attrs, ID_AA_SIGNING_CERTIFICATE);
  if (!v2 && !v1) fail('r.tsa', { what: 'no_ess' });
  const id = firstEssCertId(v2 ?? v1, Boolean(v2));
  const alg = !id ? null : v1 ? 'SHA-1' : id.alg === null ? 'SHA-256' : DIGESTS.get(id.alg);
  if (!alg || !eqBytes(id.hash, await digest(alg, signer.der))) fail('r.tsa', { what: 'ess' });
}

/** RFC 5652 §5.4: the signature is over the DER SET OF signed attributes. */
async function checkSignature({ info }, attrs, signer) {
  const hash = signerDigest(info);
  const oid = info.signatureAlgorithm.algorithmId;
  const scheme = signatureScheme(oid, hash) ?? fail('r.tsa', { what: 'sig_alg', oid });
  const sig = valueBytes(info.signature);
  if (!(await verifySignature(signer.spki, scheme, attrs.der, sig))) fail('r.tsa', { what: 'signature' });
}

