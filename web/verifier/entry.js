// The entry model: the pinned event schema (DESIGN.md "Submitting events"),
// actors, attestations, identities, ledger times, and the v1 leaf
// {"event", "ledger_time", "tenant"}. Twin of verifier/src/entry.rs.

import { fail } from './error.js';
import { utf8 } from './std.js';
import { b64decode } from './hash.js';
import { canonicalJson, isObject } from './jcs.js';

/** Largest leaf, in bytes (entry.rs LEAF_LIMITS). */
export const MAX_LEAF_BYTES = 1 << 20;

export const KINDS = [
  'registered', 'identity_verified', 'intent_verified', 'signed', 'approved',
  'rejected', 'revoked', 'completed', 'archived', 'report_issued', 'registry_changed', 'erased',
];
const MAY_OMIT_ATTESTATIONS = ['registered', 'completed', 'archived', 'report_issued'];
const ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
export const HEX64_RE = /^[0-9a-f]{64}$/;
const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z$/;
// What a display name may not hold: control characters and bidirectional
// overrides (which make text read as other text), as entry.rs.
const DISPLAY_UNSAFE_RE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/** Throws an `r.field` Fail naming `field` and what is wrong with it. */
export const invalid = (field, what) => fail('r.field', { field, what });

/** An object whose members are among `allowed` and include `required`
 * (`path` prefixes the names in the Fail). */
export function fields(obj, allowed, required, path) {
  if (!isObject(obj)) invalid(path || 'leaf', 'object');
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) invalid(path + k, 'unknown');
  for (const k of required) if (!(k in obj)) invalid(path + k, 'required');
}

const idString = (v, path) => (typeof v === 'string' && ID_RE.test(v) ? v : invalid(path, 'id'));
const hex64 = (v, path) => (typeof v === 'string' && HEX64_RE.test(v) ? v : invalid(path, 'hex64'));

function depth(v) {
  if (Array.isArray(v)) return 1 + Math.max(0, ...v.map(depth));
  if (isObject(v)) return 1 + Math.max(0, ...Object.values(v).map(depth));
  return 0;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), valid for years 0-9999 where Date is awkward. */
function daysFromCivil(y, mo, d) {
  const yy = mo <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const daysInMonth = (y, mo) => [31, (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];

/** Ledger time (`YYYY-MM-DDTHH:MM:SS.ffffffZ`) to Unix microseconds (BigInt). */
export function parseLedgerTime(s) {
  const t = typeof s === 'string' ? TIME_RE.exec(s) : null;
  if (!t) invalid('ledger_time', 'time');
  const [y, mo, d, h, mi, se] = t.slice(1, 7).map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || se > 59) invalid('ledger_time', 'time');
  const secs = BigInt(daysFromCivil(y, mo, d)) * 86400n + BigInt(h * 3600 + mi * 60 + se);
  return secs * 1000000n + BigInt(t[7]);
}

export function parseEvent(ev) {
  const all = ['event_id', 'document_id', 'kind', 'document_hash', 'actor', 'attestations', 'timestamp_token', 'event_timestamp_token', 'identity'];
  fields(ev, all, all.slice(0, 6), 'event.');
  if (!KINDS.includes(ev.kind)) invalid('event.kind', 'kind');
  idString(ev.event_id, 'event.event_id');
  idString(ev.document_id, 'event.document_id');
  hex64(ev.document_hash, 'event.document_hash');
  fields(ev.actor, ['id', 'display', 'commitment'], ['id', 'display', 'commitment'], 'event.actor.');
  idString(ev.actor.id, 'event.actor.id');
  const display = ev.actor.display;
  const n = typeof display === 'string' ? [...display].length : 0;
  if (n === 0 || n > 64 || DISPLAY_UNSAFE_RE.test(display)) invalid('event.actor.display', 'display');
  hex64(ev.actor.commitment, 'event.actor.commitment');
  if (!Array.isArray(ev.attestations) || ev.attestations.length > 16) invalid('event.attestations', 'count');
  if (ev.attestations.length === 0 && !MAY_OMIT_ATTESTATIONS.includes(ev.kind)) invalid('event.attestations', 'count');
  ev.attestations.forEach((a, j) => {
    const path = `event.attestations[${j}].`;
    fields(a, ['issuer', 'claim', 'signature', 'v', 'certificate'], ['issuer', 'claim', 'signature'], path);
    idString(a.issuer, `${path}issuer`);
    // "v": 2 is an attestation v2, "v": "2.1" (the string) a v2.1; absent
    // is v1; anything else is refused.
    if ('v' in a && a.v !== 2 && a.v !== '2.1') invalid(`${path}v`, 'version');
    if (!isObject(a.claim) || depth(a.claim) > 8 || utf8.encode(canonicalJson(a.claim)).length > 4096) {
      invalid(`${path}claim`, 'claim');
    }
    const sig = typeof a.signature === 'string' && a.signature.length === 88 ? b64decode(a.signature) : null;
    if (!sig || sig.length !== 64) invalid(`${path}signature`, 'signature');
    if ('certificate' in a) parseCertificateChain(a, `${path}certificate`);
  });
  // RFC 3161 tokens: over document_hash (the document existed by then),
  // and over the event's own canonical JSON (the event existed by then).
  for (const k of ['timestamp_token', 'event_timestamp_token']) {
    if (!(k in ev)) continue;
    const t = typeof ev[k] === 'string' ? b64decode(ev[k]) : null;
    if (!t || t.length === 0 || t.length > 16384) invalid(`event.${k}`, 'token');
  }
  if ('identity' in ev) parseIdentityFields(ev.identity, 'event.identity.');
  return ev;
}

/** An SM2 issuer's chain (entry.rs parse_certificate_chain): only beside
 * "v": 2; 1-8 standard base64 DER certificates of 1 byte to 16 KiB. */
function parseCertificateChain(a, path) {
  if (!('v' in a)) invalid(path, 'certificate_v1');
  const c = a.certificate;
  const ok = Array.isArray(c) && c.length >= 1 && c.length <= 8 && c.every((s) => {
    const der = typeof s === 'string' && s.length <= 21848 ? b64decode(s) : null;
    return der !== null && der.length >= 1 && der.length <= 16384;
  });
  if (!ok) invalid(path, 'certificate');
}

// The actor's real identity (evidence v2; entry.rs parse_identity).
const IDENTITY_MEMBERS = ['name', 'id_type', 'id_number', 'phone'];
// Rust's char::is_control (Cc) and the invisible characters entry.rs refuses in a name.
const NAME_UNSAFE_RE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]/u;
const ID_TYPE_RE = /^[A-Za-z0-9._:-]{1,32}$/;
const ID_NUMBER_RE = /^[A-Za-z0-9-]{1,64}$/;
const PHONE_RE = /^[0-9+ -]{1,32}$/;

export function parseIdentityFields(id, path) {
  fields(id, IDENTITY_MEMBERS, ['name', 'id_type', 'id_number'], path);
  const n = typeof id.name === 'string' ? [...id.name].length : 0;
  if (n === 0 || n > 64 || NAME_UNSAFE_RE.test(id.name)) invalid(`${path}name`, 'display');
  if (typeof id.id_type !== 'string' || !ID_TYPE_RE.test(id.id_type)) invalid(`${path}id_type`, 'id_type');
  if (typeof id.id_number !== 'string' || !ID_NUMBER_RE.test(id.id_number)) invalid(`${path}id_number`, 'id_number');
  if ('phone' in id && (typeof id.phone !== 'string' || !PHONE_RE.test(id.phone))) invalid(`${path}phone`, 'phone');
  return id;
}

/** The v1 leaf `{"event", "ledger_time", "tenant"}` of a parsed, canonical
 * leaf (entry.rs parse_leaf; parseLeaf in v2.js reads the bytes and tells
 * v1 from v2, as v2.rs parse_any_leaf). */
export function parseLeafV1(value) {
  // Later ledger versions may add members (DESIGN.md); the leaf hash covers
  // them, so they are allowed and ignored.
  fields(value, Object.keys(value), ['event', 'ledger_time', 'tenant'], '');
  const tenant = value.tenant;
  if (typeof tenant !== 'string' || tenant.length === 0 || [...tenant].length > 128 || /[\u0000-\u001f\u007f-\u009f]/.test(tenant)) {
    invalid('tenant', 'tenant');
  }
  parseLedgerTime(value.ledger_time);
  return { event: parseEvent(value.event), tenant, ledger_time: value.ledger_time };
}
