// The object identifiers the RFC 3161 checks name, DER as strict as the
// Rust verifier's `der` crate reads it, and what PKI.js has no class for:
// genTime with its fraction, the ESS signing-certificate attributes (RFC
// 2634 §5.4, RFC 5035), a certificate's extensions by OID, names in RFC
// 4514 words. Twin of verifier/src/tsa/asn1.rs.
//
// PKI.js and asn1js (web/vendor/pki.js) read BER; the Rust verifier reads
// DER only. `isDer` is the difference, written here because asn1js has no
// strict mode: definite, minimal lengths, no constructed universal strings,
// minimal INTEGERs and canonical BOOLEANs (X.690 §10), so that one token
// parses in both verifiers or in neither.

import { asn1js } from '../../vendor/pki.js';

export const ID_SIGNED_DATA = '1.2.840.113549.1.7.2';
/** id-ct-TSTInfo, RFC 3161 §2.4.2. */
export const ID_CT_TST_INFO = '1.2.840.113549.1.9.16.1.4';
export const ID_CONTENT_TYPE = '1.2.840.113549.1.9.3';
export const ID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
/** id-aa-signingCertificate, RFC 2634 §5.4 (ESSCertID, SHA-1). */
export const ID_AA_SIGNING_CERTIFICATE = '1.2.840.113549.1.9.16.2.12';
/** id-aa-signingCertificateV2, RFC 5035 §3 (ESSCertIDv2). */
export const ID_AA_SIGNING_CERTIFICATE_V2 = '1.2.840.113549.1.9.16.2.47';
export const ID_CE_SUBJECT_KEY_IDENTIFIER = '2.5.29.14';
export const ID_CE_KEY_USAGE = '2.5.29.15';
export const ID_CE_SUBJECT_ALT_NAME = '2.5.29.17';
export const ID_CE_BASIC_CONSTRAINTS = '2.5.29.19';
export const ID_CE_AUTHORITY_KEY_IDENTIFIER = '2.5.29.35';
export const ID_CE_EXT_KEY_USAGE = '2.5.29.37';
export const ID_KP_TIME_STAMPING = '1.3.6.1.5.5.7.3.8';

const UNIVERSAL = 1;
const TAG = { BOOLEAN: 1, INTEGER: 2, BIT_STRING: 3, OCTET_STRING: 4, OID: 6, SEQUENCE: 16, SET: 17, GENERALIZED_TIME: 24 };
// Universal string types, which DER never encodes constructed.
const STRING_TAGS = new Set([3, 4, 12, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 30]);

/** Whether `bytes` is exactly one DER TLV, recursively (X.690 §10). */
export function isDer(bytes) {
  return isDerWhere(bytes, () => true);
}

/** As isDer, but the contents of a constructed TLV are checked only where
 * `descend(path)` says so; `path` lists the identifier octets from the
 * outermost TLV down to this one. Where the Rust decoder holds an ANY
 * (an attribute value, say), it checks that TLV's length, not what is in it. */
export function isDerWhere(bytes, descend) {
  try {
    return tlv(bytes, 0, 0, [], descend) === bytes.length;
  } catch {
    return false;
  }
}

// One TLV at `at`; returns where it ends. Throws on anything not DER.
function tlv(b, at, depth, path, descend) {
  if (depth > 64 || at + 2 > b.length) throw new Error('der');
  const first = b[at];
  let p = at + 1;
  let number = first & 0x1f;
  if (number === 0x1f) {
    if (b[p] === 0x80) throw new Error('der');
    number = 0;
    do {
      if (p >= b.length || number > 0xffffff) throw new Error('der');
      number = number * 128 + (b[p] & 0x7f);
    } while (b[p++] & 0x80);
    if (number < 0x1f) throw new Error('der');
  }
  let len = b[p++];
  if (len === 0x80 || len === undefined) throw new Error('der');
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n > 4 || p + n > b.length || b[p] === 0) throw new Error('der');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p++];
    if (len < 0x80) throw new Error('der');
  }
  const end = p + len;
  if (end > b.length) throw new Error('der');
  const universal = (first & 0xc0) === 0;
  if (first & 0x20) {
    if (universal && STRING_TAGS.has(number)) throw new Error('der');
    const inner = [...path, first];
    if (descend(inner)) {
      let q = p;
      while (q < end) q = tlv(b, q, depth + 1, inner, descend);
      // A child that runs past its parent's end is no DER (the Rust decoder: "incomplete").
      if (q !== end) throw new Error('der');
    }
  } else if (universal) primitive(number, b.subarray(p, end));
  return end;
}

function primitive(tag, v) {
  const bad = (tag === TAG.BOOLEAN && (v.length !== 1 || (v[0] !== 0 && v[0] !== 0xff)))
    || (tag === TAG.INTEGER && (v.length === 0 || (v.length > 1 && ((v[0] === 0 && v[1] < 0x80) || (v[0] === 0xff && v[1] >= 0x80)))))
    || (tag === TAG.BIT_STRING && (v.length === 0 || v[0] > 7 || (v.length === 1 && v[0] !== 0)));
  if (bad) throw new Error('der');
}

/** The asn1js block of exactly one strict DER TLV (inside constructed
 * TLVs only where `descend`, as isDerWhere), or null. */
export function decodeDer(bytes, descend = () => true) {
  if (!isDerWhere(bytes, descend)) return null;
  const r = asn1js.fromBER(bytes);
  return r.offset === -1 || r.offset !== bytes.length ? null : r.result;
}

/** The exact encoding of a decoded block. */
export const encoded = (block) => new Uint8Array(block.valueBeforeDecodeView);

/** Whether a block has universal tag `tag` (a name of TAG). */
export const is = (block, tag) => block?.idBlock?.tagClass === UNIVERSAL && block.idBlock.tagNumber === TAG[tag];

/** The children of a constructed block. */
export const children = (block) => (Array.isArray(block?.valueBlock?.value) ? block.valueBlock.value : []);

/** The value bytes of a primitive block. */
export const valueBytes = (block) => new Uint8Array(block.valueBlock.valueHexView);

/** The certificates of SignedData's `certificates [0] IMPLICIT` set, as
 * DER; other CertificateChoices (attribute certificates, ...) are left
 * out, as cms::cert::CertificateChoices::Certificate only. */
export function certificateDers(signedDataBlock) {
  const set = children(signedDataBlock).find((c) => c.idBlock.tagClass === 3 && c.idBlock.tagNumber === 0);
  return children(set).filter((c) => is(c, 'SEQUENCE')).map(encoded);
}

/**
 * RFC 5652 §5.3 SignedAttributes as their DER `SET OF`, sorted as DER
 * requires (the Rust `der` crate sorts a SET OF when it decodes one, and
 * signs over that order), with their (oid, values) list; null when two are
 * the same (a SET OF holds no duplicates in DER).
 */
export function signedAttributes(encodedValue, descend = () => true) {
  const block = decodeDer(new Uint8Array(encodedValue), descend);
  if (!block) return null;
  const items = children(block).map(encoded);
  items.sort(compareBytes);
  if (items.some((x, i) => i > 0 && compareBytes(items[i - 1], x) === 0)) return null;
  const body = items.flatMap((x) => [...x]);
  const der = new Uint8Array([0x31, ...lengthBytes(body.length), ...body]);
  const attrs = children(block).map((a) => ({ oid: oidOf(children(a)[0]), values: children(children(a)[1]) }));
  return { der, attrs };
}

function compareBytes(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function lengthBytes(n) {
  if (n < 0x80) return [n];
  const out = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) out.unshift(x % 256);
  return [0x80 | out.length, ...out];
}

/** The dotted OID of an OBJECT IDENTIFIER block, or null. */
export const oidOf = (block) => (is(block, 'OID') ? block.valueBlock.toString() : null);

/** The value of attribute `oid` if it occurs once with one value (tsa.rs
 * single_value); a missing, repeated or multi-valued one is null. */
export function singleValue(attrs, oid) {
  const found = attrs.filter((a) => a.oid === oid);
  return found.length === 1 && found[0].values.length === 1 ? found[0].values[0] : null;
}

/**
 * The first certificate hash of a SigningCertificate (v1: ESSCertID) or
 * SigningCertificateV2 (ESSCertIDv2, with its hash algorithm, SHA-256 when
 * absent) value, or null if the value is not one (RFC 2634 §5.4, RFC 5035).
 */
export function firstEssCertId(value, v2) {
  const parts = children(value);
  if (!is(value, 'SEQUENCE') || parts.length < 1 || parts.length > 2 || !is(parts[0], 'SEQUENCE')) return null;
  const ids = children(parts[0]).map((id) => essCertId(id, v2));
  return ids.length && ids.every(Boolean) ? ids[0] : null;
}

function essCertId(id, v2) {
  let parts = children(id);
  if (!is(id, 'SEQUENCE')) return null;
  let alg = null;
  if (v2 && is(parts[0], 'SEQUENCE')) {
    alg = oidOf(children(parts[0])[0]);
    if (!alg || children(parts[0]).length > 2) return null;
    parts = parts.slice(1);
  }
  if (!is(parts[0], 'OCTET_STRING') || parts.length > 2 || (parts[1] && !is(parts[1], 'SEQUENCE'))) return null;
  return { alg, hash: valueBytes(parts[0]) };
}

/** Longest genTime accepted: 14 digits, a point, 9 fraction digits, `Z`. */
const GEN_TIME_MAX_LEN = 25;
const GEN_TIME_RE = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d*[1-9]))?Z$/;

/** A genTime's value bytes (RFC 3161 §2.4.2: `YYYYMMDDhhmmss[.s...]Z`,
 * UTC, no trailing zeros in the fraction) as {unix, rfc3339}, or null. */
export function parseGenTime(raw) {
  if (raw.length > GEN_TIME_MAX_LEN || raw.some((c) => c > 0x7f)) return null;
  const t = GEN_TIME_RE.exec(String.fromCharCode(...raw));
  if (!t) return null;
  const [y, mo, d, h, mi, s] = t.slice(1, 7).map(Number);
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (y === 0 || mo < 1 || mo > 12 || d < 1 || d > days || h > 23 || mi > 59 || s > 59) return null;
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, 0);
  const frac = t[7] ? `.${t[7]}` : '';
  return { unix: date.getTime() / 1000, rfc3339: `${t[1]}-${t[2]}-${t[3]}T${t[4]}:${t[5]}:${t[6]}${frac}Z` };
}

/** The TSTInfo's genTime (its fifth member) as parseGenTime reads it. */
export function genTimeOf(tstBlock) {
  const g = children(tstBlock)[4];
  if (!is(g, 'GENERALIZED_TIME')) return null;
  const all = encoded(g);
  return parseGenTime(all.subarray(all.length - g.lenBlock.length));
}

/** The first extension `oid` of a PKI.js Certificate as {critical, value}
 * (the asn1js block of its extnValue), or null if absent or not DER
 * (chain.rs extension: both fail the checks that look for it). */
export function extension(cert, oid) {
  const ext = (cert.extensions ?? []).find((e) => e.extnID === oid);
  if (!ext) return null;
  const value = decodeDer(valueBytes(ext.extnValue));
  return value ? { critical: ext.critical === true, value } : null;
}

/** A KeyUsage BIT STRING's bit `n` (0: digitalSignature, 1:
 * nonRepudiation, 5: keyCertSign), RFC 5280 §4.2.1.3. */
export function keyUsageBit(value, n) {
  if (!is(value, 'BIT_STRING')) return null;
  // asn1js keeps the unused-bits count apart from the bits.
  const byte = valueBytes(value)[n >> 3] ?? 0;
  return (byte & (0x80 >> (n & 7))) !== 0;
}

/** Lowercase hex of an INTEGER's big-endian bytes, a leading 0x00 sign byte
 * dropped (tsa.rs int_hex). */
export function intHex(block) {
  let v = valueBytes(block);
  if (v.length > 1 && v[0] === 0) v = v.subarray(1);
  return [...v].map((x) => x.toString(16).padStart(2, '0')).join('');
}

// const-oid's shortest names of the attribute types, as x509-cert shows them.
const NAMES = new Map([
  ['2.5.4.3', 'CN'], ['2.5.4.4', 'SN'], ['2.5.4.5', 'SERIALNUMBER'], ['2.5.4.6', 'C'], ['2.5.4.7', 'L'], ['2.5.4.8', 'ST'],
  ['2.5.4.9', 'STREET'], ['2.5.4.10', 'O'], ['2.5.4.11', 'OU'], ['2.5.4.12', 'TITLE'], ['2.5.4.42', 'GIVENNAME'],
  ['0.9.2342.19200300.100.1.1', 'UID'], ['0.9.2342.19200300.100.1.25', 'DC'],
]);
// PrintableString, UTF8String, IA5String, TeletexString.
const TEXT_TAGS = new Set([19, 12, 22, 20]);

/** A Name in RFC 4514 words, last RDN first, as x509-cert's Display. */
export function nameText(name) {
  return [...name.typesAndValues].reverse().map((atv) => {
    const key = NAMES.get(atv.type);
    const v = atv.value;
    if (key && v.idBlock.tagClass === UNIVERSAL && TEXT_TAGS.has(v.idBlock.tagNumber)) return `${key}=${escapeValue(String(v.valueBlock.value))}`;
    return `${atv.type}=#${[...encoded(v)].map((x) => x.toString(16).padStart(2, '0')).join('')}`;
  }).join(',');
}

function escapeValue(s) {
  const chars = [...s];
  return chars.map((c, i) => {
    if (c === '#' && i === 0) return '\\#';
    if (c === ' ' && (i === 0 || i === chars.length - 1)) return '\\ ';
    if ('"+,;<>\\'.includes(c)) return `\\${c}`;
    if (c < ' ' || c === '\x7f') return `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
    return c;
  }).join('');
}

/** The DER of a name, for comparing two (x509-cert compares them whole). */
export const nameDer = (name) => new Uint8Array(name.toSchema().toBER(false));
