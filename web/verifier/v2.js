// Evidence v2 (docs/evidence-v2.md): commitment-only leaves, the records
// that open them, identity openings, and parseLeaf for leaves of either
// version (v2.rs parse_any_leaf). Twin of verifier/src/v2.rs.

import { fail } from './error.js';
import { utf8, concat, eqBytes } from './std.js';
import { b64decode, b64encode, sha256 } from './hash.js';
import { parseStrictJson, decodeUtf8, canonicalJson, isObject } from './jcs.js';
import { MAX_LEAF_BYTES, KINDS, invalid, fields, parseLedgerTime, parseEvent, parseIdentityFields, parseLeafV1 } from './entry.js';
import { RECORD_FORMAT_V3, COMMITMENT_ALG_V3, COMMITMENT_ALG_V3_SM3, SD_HASH, parseChain, recordCommitmentV3, redactedDigests } from './v3.js';

/** Evidence v2 (docs/evidence-v2.md; verifier/src/v2.rs). */
export const LEAF_FORMAT_V2 = 'evidence-leaf/v2';
export const RECORD_FORMAT_V2 = 'evidence-record/v2';
export const IDENTITY_FORMAT_V2 = 'evidence-identity/v2';
export const COMMITMENT_ALG_V2 = 'sha256-jcs-salted/v2';
const RECORD_DOMAIN = 'evidence-ledger/record/v2';
const IDENTITY_DOMAIN = 'evidence-ledger/identity/v2';
const SALT_BYTES = 32;

/** Parses and validates leaf bytes (strict JSON, exactly canonical). */
export function parseLeaf(bytes) {
  if (bytes.length > MAX_LEAF_BYTES) fail('r.leaf', { what: 'size' });
  const text = decodeUtf8(bytes);
  const value = parseStrictJson(text, { maxDepth: 12, maxString: 64 * 1024 });
  if (canonicalJson(value) !== text) fail('r.leaf', { what: 'canonical' });
  // A leaf with a `format` member is v2 (v2.rs parse_any_leaf).
  if (isObject(value) && 'format' in value) return parseLeafV2(value);
  return parseLeafV1(value);
}

/** A v2 leaf: exactly {commitment, commitment_alg, format, ledger_time}. */
function parseLeafV2(value) {
  fields(value, ['commitment', 'commitment_alg', 'format', 'ledger_time'], ['commitment', 'commitment_alg', 'format', 'ledger_time'], '');
  if (value.format !== LEAF_FORMAT_V2) invalid('format', 'leaf_format');
  const alg = { [COMMITMENT_ALG_V2]: 'v2', [COMMITMENT_ALG_V3]: 'v3', [COMMITMENT_ALG_V3_SM3]: 'v3' }[value.commitment_alg];
  if (!alg) invalid('commitment_alg', 'commitment_alg');
  const commitment = b64of32(value.commitment, 'commitment');
  parseLedgerTime(value.ledger_time);
  // alg 'v3': the record is evidence-record/v3 (v2.rs CommitmentAlg::SdV3
  // and SdV3Sm3), its digests hashed with sdHash ('sha256' or 'sm3').
  const sdHash = alg === 'v3' ? SD_HASH[value.commitment_alg] : null;
  return { v2: true, alg, sdHash, commitment, ledger_time: value.ledger_time };
}

/** Standard base64 of 32 bytes (44 characters), or Fail naming `path`. */
function b64of32(s, path) {
  const raw = typeof s === 'string' && s.length === 44 ? b64decode(s) : null;
  return raw && raw.length === SALT_BYTES ? raw : invalid(path, 'b64_32');
}

const domainHash = (domain, value) => sha256(concat(utf8.encode(domain), [0], utf8.encode(canonicalJson(value))));
/** SHA-256("evidence-ledger/record/v2" || 0x00 || JCS(record)). */
export const recordCommitment = (record) => domainHash(RECORD_DOMAIN, record);
/** SHA-256("evidence-ledger/identity/v2" || 0x00 || JCS(identity)). */
export const identityCommitment = (identity) => domainHash(IDENTITY_DOMAIN, identity);

/** Validates a record object, v2 or v3 (v2.rs parse_record): members,
 * format, salt, tenant, the event (no identity in it), a v3 record's chain.
 * Returns {event, tenant, identity_commitment, chain}. */
export function parseRecord(rec) {
  fields(rec, ['chain', 'event', 'format', 'identity_commitment', 'redacted', 'salt', 'tenant'], [], 'record.');
  let chain = null;
  if (rec.format === RECORD_FORMAT_V3) {
    if (!('chain' in rec)) invalid('record.chain', 'required');
    chain = parseChain(rec.chain);
  } else if (rec.format !== RECORD_FORMAT_V2) invalid('record.format', 'record_format');
  else if ('chain' in rec) invalid('record.chain', 'unknown');
  b64of32(rec.salt, 'record.salt');
  const tenant = rec.tenant;
  if (typeof tenant !== 'string' || tenant.length === 0 || [...tenant].length > 128 || /[\u0000-\u001f\u007f-\u009f]/.test(tenant)) {
    invalid('record.tenant', 'tenant');
  }
  if (!('event' in rec)) invalid('record.event', 'required');
  if (isObject(rec.event) && 'identity' in rec.event) invalid('record.event.identity', 'identity_in_record');
  if ('redacted' in rec && chain === null) invalid('record.redacted', 'redacted');
  const redacted = [...redactedDigests(rec).keys()];
  const event = redacted.length ? redactedEvent(rec.event, redacted) : parseEvent(rec.event);
  const ic = 'identity_commitment' in rec ? b64of32(rec.identity_commitment, 'record.identity_commitment') : null;
  return { event, tenant, identity_commitment: ic, chain, redacted };
}

/** The actor id a redacted record's event shows (v2.rs REDACTED_ACTOR). */
export const REDACTED_ACTOR = '(erased)';

/** The event of a record a subject erasure redacted, with stand-ins for
 * what is gone (v2.rs redacted_event). */
function redactedEvent(ev, redacted) {
  if (!isObject(ev)) invalid('record.event', 'required');
  const probe = { ...ev };
  if (redacted.includes('event.actor')) probe.actor = { id: 'erased', display: REDACTED_ACTOR, commitment: '00'.repeat(32) };
  if (redacted.includes('event.attestations')) {
    probe.attestations = [];
    probe.kind = 'registered';
  }
  if (!KINDS.includes(ev.kind)) invalid('event.kind', 'kind');
  const event = parseEvent(probe);
  event.kind = ev.kind;
  if (redacted.includes('event.actor')) event.actor = { ...event.actor, id: REDACTED_ACTOR };
  return event;
}

/** Opens a v2 leaf with its record (v2.rs open_leaf): the entry as a v1
 * leaf would give it ({event, tenant, ledger_time}) and the parsed record. */
export async function openLeaf(leaf, record) {
  const rec = parseRecord(record);
  // The leaf's commitment_alg names the record's format.
  if ((leaf.alg === 'v3') !== (rec.chain !== null)) invalid('record.format', 'record_format');
  const got = leaf.alg === 'v3' ? await recordCommitmentV3(record, leaf.sdHash) : await recordCommitment(record);
  if (!eqBytes(got, leaf.commitment)) fail('r.open', { what: 'record', got: b64encode(got), want: b64encode(leaf.commitment) });
  return { entry: { event: rec.event, tenant: rec.tenant, ledger_time: leaf.ledger_time, v2: true }, record: rec };
}

/** Checks an identity opening against the record's identity_commitment
 * (v2.rs open_identity); returns {name, id_type, id_number, phone?}. */
export async function openIdentity(rec, identity) {
  fields(identity, ['format', 'id_number', 'id_type', 'name', 'phone', 'salt'], [], 'identity.');
  if (identity.format !== IDENTITY_FORMAT_V2) invalid('identity.format', 'identity_format');
  b64of32(identity.salt, 'identity.salt');
  const { format: _f, salt: _s, ...rest } = identity;
  parseIdentityFields(rest, 'identity.');
  if (!rec.identity_commitment) fail('r.open', { what: 'no_identity' });
  if (!eqBytes(await identityCommitment(identity), rec.identity_commitment)) fail('r.open', { what: 'identity' });
  return rest;
}
