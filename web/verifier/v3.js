// Record v3 (docs/evidence-v2.md "Record v3"): the record commitment over
// per-field salted digests (selective disclosure), the contract's chain,
// and the check of a partial view (the lookup's disclosures and digests).
// Twin of verifier/src/v3/mod.rs. The hash is the leaf's: 'sha256'
// (sha256-jcs-sd/v3, WebCrypto) or 'sm3' (sm3-jcs-sd/v3: SM3 and HMAC-SM3,
// sm.js over vendored sm-crypto), v3/sd.rs's SdHash.

import { fail } from './error.js';
import { utf8, concat, eqBytes } from './std.js';
import { b64decode, b64encode, sha256 } from './hash.js';
import { canonicalJson, isObject } from './jcs.js';
import { invalid } from './entry.js';
import { hmacSm3, sm3 } from './sm.js';

const subtle = globalThis.crypto.subtle;

export const RECORD_FORMAT_V3 = 'evidence-record/v3';
export const COMMITMENT_ALG_V3 = 'sha256-jcs-sd/v3';
export const COMMITMENT_ALG_V3_SM3 = 'sm3-jcs-sd/v3';
/** The hash of each v3 commitment_alg (v3/sd.rs SdHash). */
export const SD_HASH = { [COMMITMENT_ALG_V3]: 'sha256', [COMMITMENT_ALG_V3_SM3]: 'sm3' };
const digestOf = (hash, bytes) => (hash === 'sm3' ? sm3(bytes) : sha256(bytes));
const RECORD_DOMAIN = 'evidence-ledger/record/v3';
const DISCLOSURE_DOMAIN = 'evidence-ledger/disclosure/v3';
const SALT_DOMAIN = 'evidence-ledger/disclosure-salt/v3';
/** Every name a v3 record commits to, sorted (v3.rs NAMES). */
export const NAMES = [
  'chain', 'event.actor', 'event.attestations', 'event.document_hash', 'event.document_id', 'event.event_id',
  'event.event_timestamp_token', 'event.kind', 'event.timestamp_token', 'identity_commitment', 'tenant',
];
const MAX_SEQ = 2 ** 53 - 1;
/** The names a subject erasure redacts (v3.rs REDACTABLE). */
export const REDACTABLE = ['event.actor', 'event.attestations'];

/** The digests a redacted record holds instead of values (v3.rs
 * redacted_digests): a Map name -> 32 bytes, empty without `redacted`. */
export function redactedDigests(rec) {
  const out = new Map();
  if (!('redacted' in rec)) return out;
  const r = rec.redacted;
  if (!isObject(r) || Object.keys(r).length === 0) invalid('record.redacted', 'redacted');
  for (const [name, v] of Object.entries(r)) {
    if (!REDACTABLE.includes(name)) invalid('record.redacted', 'redacted');
    if (isObject(rec.event) && name.slice('event.'.length) in rec.event) invalid('record.redacted', 'redacted');
    const h = b64of32(v);
    if (!h) invalid('record.redacted', 'redacted');
    out.set(name, h);
  }
  return out;
}

const b64of32 = (s) => {
  const raw = typeof s === 'string' && s.length === 44 ? b64decode(s) : null;
  return raw && raw.length === 32 ? raw : null;
};

/** `{"prev": b64 | null, "seq": n}`, prev null exactly for seq 0 (Chain::parse). */
export function parseChain(v) {
  if (!isObject(v) || Object.keys(v).length !== 2 || !('prev' in v) || !('seq' in v)) invalid('record.chain', 'chain');
  if (!Number.isSafeInteger(v.seq) || v.seq < 0 || v.seq > MAX_SEQ) invalid('record.chain', 'chain');
  const prev = v.prev === null ? null : b64of32(v.prev);
  if (v.prev !== null && !prev) invalid('record.chain', 'chain');
  if ((prev === null) !== (v.seq === 0)) invalid('record.chain', 'chain');
  return { prev, seq: v.seq };
}

/** HMAC-<hash>(salt, "evidence-ledger/disclosure-salt/v3" || 0x00 || name). */
export async function fieldSalt(salt, name, hash = 'sha256') {
  if (hash === 'sm3') return hmacSm3(salt, concat(utf8.encode(SALT_DOMAIN), [0], utf8.encode(name)));
  const key = await subtle.importKey('raw', salt, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await subtle.sign('HMAC', key, concat(utf8.encode(SALT_DOMAIN), [0], utf8.encode(name))));
}

/** <hash>("evidence-ledger/disclosure/v3" || 0x00 || JCS(disclosure)). */
export const disclosureDigest = (d, hash = 'sha256') => digestOf(hash, concat(utf8.encode(DISCLOSURE_DOMAIN), [0], utf8.encode(canonicalJson(d))));

/** The commitment over the digests (a Map name -> 32 bytes) of every name. */
export function commitmentOfDigests(digests, hash = 'sha256') {
  const obj = {};
  for (const [k, v] of digests) obj[k] = b64encode(v);
  return digestOf(hash, concat(utf8.encode(RECORD_DOMAIN), [0], utf8.encode(canonicalJson({ digests: obj, format: RECORD_FORMAT_V3 }))));
}

/** The value under each name of a validated v3 record (v3.rs claims). */
function claimValue(rec, name) {
  if (name === 'chain') return rec.chain;
  if (name === 'tenant') return rec.tenant;
  if (name === 'identity_commitment') return rec.identity_commitment ?? null;
  const member = name.slice('event.'.length);
  return member in rec.event ? rec.event[member] : null;
}

/** The commitment of a v3 record already validated by parseRecord (v3.rs record_commitment). */
export async function recordCommitmentV3(rec, hash = 'sha256') {
  const salt = b64decode(rec.salt);
  const digests = redactedDigests(rec);
  for (const name of NAMES) {
    if (digests.has(name)) continue;
    const d = [b64encode(await fieldSalt(salt, name, hash)), name, claimValue(rec, name)];
    digests.set(name, await disclosureDigest(d, hash));
  }
  return commitmentOfDigests(digests, hash);
}

/**
 * Checks a partial view of a v3 record against a leaf's commitment
 * (v3.rs check_partial): each disclosure is [b64 of 32 bytes, name, value]
 * with a name of NAMES, `digests` holds every other name once, and the
 * commitment recomputed from both is the leaf's. Returns a Map of the
 * disclosed values; throws Fail.
 */
export async function checkPartial(commitment, disclosures, digests, hash = 'sha256') {
  const bad = (what, a = {}) => fail('r.sd', { what, ...a });
  if (!Array.isArray(disclosures)) bad('disclosures');
  if (!isObject(digests)) bad('digests');
  const all = new Map();
  const shown = new Map();
  for (const d of disclosures) {
    if (!Array.isArray(d) || d.length !== 3) bad('disclosure');
    if (!b64of32(d[0])) bad('salt');
    if (typeof d[1] !== 'string' || !NAMES.includes(d[1])) bad('name', { name: String(d[1]) });
    if (all.has(d[1])) bad('twice', { name: d[1] });
    all.set(d[1], await disclosureDigest(d, hash));
    shown.set(d[1], d[2]);
  }
  for (const [name, v] of Object.entries(digests)) {
    if (!NAMES.includes(name)) bad('name', { name });
    const h = b64of32(v);
    if (!h) bad('digest', { name });
    if (all.has(name)) bad('twice', { name });
    all.set(name, h);
  }
  const missing = NAMES.find((n) => !all.has(n));
  if (missing) bad('missing', { name: missing });
  const got = await commitmentOfDigests(all, hash);
  if (!eqBytes(got, commitment)) bad('commitment', { got: b64encode(got), want: b64encode(commitment) });
  return shown;
}
