// Evidence bundles made from scratch for the Node tests: deterministic
// Ed25519 keys (from a one-byte seed, as the Rust tests' SigningKey::
// from_bytes(&[seed; 32])), leaves, an RFC 9162 tree, a checkpoint signed
// by a log key and cosigned (tlog-cosignature v1) by witnesses.
import { webcrypto } from 'node:crypto';
import * as v from '../../web/verifier.js';

const subtle = webcrypto.subtle;
const utf8 = new TextEncoder();
export const cat = (...p) => new Uint8Array(p.flatMap((x) => [...x]));

// PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410).
const PKCS8_PREFIX = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/** An Ed25519 key pair from the 32-byte seed [seed; 32]. */
export async function keyFromSeed(seed) {
  const pkcs8 = new Uint8Array([...PKCS8_PREFIX, ...new Array(32).fill(seed)]);
  const priv = await subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, true, ['sign']);
  const jwk = await subtle.exportKey('jwk', priv);
  const raw = Uint8Array.from(Buffer.from(jwk.x, 'base64url'));
  return { raw, b64: v.b64encode(raw), sign: async (msg) => new Uint8Array(await subtle.sign({ name: 'Ed25519' }, priv, msg)) };
}

/** A C2SP vkey of `alg` for `name` and the key pair. */
export async function vkeyOf(name, alg, key) {
  const id = (await v.sha256(cat(utf8.encode(name), [0x0a, alg], key.raw))).subarray(0, 4);
  return { id, vkey: `${name}+${v.hex(id)}+${v.b64encode(cat([alg], key.raw))}` };
}

/** A note signer: a log (type 0x01) or a witness (type 0x04). */
export async function signer(name, seed, alg) {
  const key = await keyFromSeed(seed);
  const { id, vkey } = await vkeyOf(name, alg, key);
  return { name, key, id, vkey };
}

export const logSigner = (name, seed) => signer(name, seed, v.ALG_ED25519);
export const witnessSigner = (name, seed) => signer(name, seed, v.ALG_COSIGNATURE_V1);

/** The log's signature line over a checkpoint body. */
export async function logLine(log, body) {
  return `— ${log.name} ${v.b64encode(cat(log.id, await log.key.sign(utf8.encode(body))))}\n`;
}

/** A witness's cosignature/v1 line at Unix time `t`. */
export async function cosignLine(w, body, t) {
  const ts = new Uint8Array(8);
  new DataView(ts.buffer).setBigUint64(0, BigInt(t));
  const sig = await w.key.sign(utf8.encode(`cosignature/v1\ntime ${t}\n${body}`));
  return `— ${w.name} ${v.b64encode(cat(w.id, ts, sig))}\n`;
}

async function mth(hashes) {
  if (hashes.length === 1) return hashes[0];
  let k = 1;
  while (k * 2 < hashes.length) k *= 2;
  return v.sha256(cat([1], await mth(hashes.slice(0, k)), await mth(hashes.slice(k))));
}

/** RFC 9162 §2.1.3.1 PATH(m, D[n]) over leaf hashes. */
async function path(m, hashes) {
  if (hashes.length === 1) return [];
  let k = 1;
  while (k * 2 < hashes.length) k *= 2;
  if (m < k) return [...(await path(m, hashes.slice(0, k))), await mth(hashes.slice(k))];
  return [...(await path(m - k, hashes.slice(k))), await mth(hashes.slice(0, k))];
}

export const DOC_HASH = 'a'.repeat(64);
export const LEDGER_TIME = '2026-01-01T00:00:00.000000Z';
export const LEDGER_UNIX = 1767225600;

/** A `registered` event: needs no attestation, so a one-entry bundle of it
 * passes every check that does not depend on keys. */
export function registeredLeaf({ tenant = 'acme', documentId = 'contract-1', ledgerTime = LEDGER_TIME, extra = {} } = {}) {
  const event = {
    event_id: 'ev-1', document_id: documentId, kind: 'registered', document_hash: DOC_HASH,
    actor: { id: 'u-1', display: '王*', commitment: 'b'.repeat(64) }, attestations: [], ...extra,
  };
  return utf8.encode(v.canonicalJson({ event, ledger_time: ledgerTime, tenant }));
}

/**
 * A bundle of `leaves` (bytes) at indices 0.., with a checkpoint of the
 * tree of those leaves signed by `log` and cosigned by `cosigners`
 * ([{w, t}]); `witnesses` is the bundle's list.
 */
export async function makeBundle({ log, leaves, cosigners = [], witnesses = [], extraLines = [], tenant = 'acme', documentId = 'contract-1' }) {
  const hashes = await Promise.all(leaves.map((l) => v.leafHash(l)));
  const root = await mth(hashes);
  const body = `${log.name}\n${leaves.length}\n${v.b64encode(root)}\n`;
  let note = `${body}\n${await logLine(log, body)}`;
  for (const { w, t } of cosigners) note += await cosignLine(w, body, t);
  for (const l of extraLines) note += typeof l === 'function' ? await l(body) : l;
  const entries = [];
  for (let i = 0; i < leaves.length; i++) {
    entries.push({ index: i, leaf: v.b64encode(leaves[i]), inclusion: (await path(i, hashes)).map(v.b64encode) });
  }
  return {
    format: 'evidence-bundle/v1', origin: log.name, log_vkey: log.vkey, tenant, document_id: documentId,
    checkpoint: note, tree_size: leaves.length, entries, issuers: [],
    witnesses: witnesses.map((w) => ({ name: w.name, vkey: w.vkey })),
  };
}

export const bytesOf = (obj) => utf8.encode(JSON.stringify(obj));

// ---------------------------------------------------------------------------
// Evidence v2 (docs/evidence-v2.md): salted records that open commitment-
// only leaves, identity openings, attestation v2, erased markers.

/** A salt of 32 bytes [n; 32], in base64. */
export const saltOf = (n) => v.b64encode(new Uint8Array(32).fill(n));

/** An identity opening of `identity` ({name, id_type, id_number, phone?}). */
export const identityOpening = (identity, salt = saltOf(1)) => ({ format: 'evidence-identity/v2', ...identity, salt });

/** A record of `event` (without identity) for `tenant`, committing to
 * `opening` when given. */
export async function recordOf(event, { tenant = 'acme', salt = saltOf(7), opening = null } = {}) {
  const record = { event, format: 'evidence-record/v2', salt, tenant };
  if (opening) record.identity_commitment = v.b64encode(await v.identityCommitment(opening));
  return record;
}

/** The v2 leaf bytes that `record` opens. */
export async function leafV2Of(record, ledgerTime = LEDGER_TIME) {
  const commitment = v.b64encode(await v.recordCommitment(record));
  return utf8.encode(v.canonicalJson({ commitment, commitment_alg: 'sha256-jcs-salted/v2', format: 'evidence-leaf/v2', ledger_time: ledgerTime }));
}

/** Signs attestation `j` of `event` (v2 when it carries "v": 2) for `tenant`. */
export async function signAttestation(key, event, j, tenant = 'acme') {
  const a = event.attestations[j];
  a.signature = '';
  a.signature = v.b64encode(await key.sign(v.attestationMessage(event, j, tenant)));
  return event;
}

/** An event with defaults of contract-1. */
export function eventOf({ id = 'ev-1', kind = 'registered', actor = 'u-1', display = '王*', documentId = 'contract-1', attestations = [], documentHash = DOC_HASH } = {}) {
  return {
    event_id: id, document_id: documentId, kind, document_hash: documentHash,
    actor: { id: actor, display, commitment: 'b'.repeat(64) }, attestations,
  };
}

/**
 * A bundle v2 of `items` [{leaf (bytes), record?, identity?, erased?}] at
 * indices 0.., signed by `log`.
 */
export async function makeBundleV2({ log, items, issuers = [], cosigners = [], witnesses = [], tenant = 'acme', documentId = 'contract-1' }) {
  const b = await makeBundle({ log, leaves: items.map((x) => x.leaf), cosigners, witnesses, tenant, documentId });
  b.format = 'evidence-bundle/v2';
  b.issuers = issuers;
  items.forEach((x, i) => {
    for (const k of ['record', 'identity', 'erased']) if (x[k]) b.entries[i][k] = x[k];
  });
  return b;
}

/** A v2 contract: registered (with an identity opening), then
 * identity_verified (attestation v2 by idp, signed for `attTenant` and the
 * event as changed by `attEvent`, to make replays). */
export async function v2Contract({ tenant = 'acme', attTenant = tenant, attEvent = {} } = {}) {
  const idp = await keyFromSeed(5);
  const opening = identityOpening({ name: '王小明', id_type: 'resident_id', id_number: '110101199003077777' });
  const r0 = await recordOf(eventOf(), { tenant, opening });
  const ev1 = eventOf({ id: 'ev-2', kind: 'identity_verified', attestations: [{ issuer: 'idp', v: 2, claim: { method: 'face', result: 'pass' } }] });
  await signAttestation(idp, { ...ev1, ...attEvent, attestations: ev1.attestations }, 0, attTenant);
  const r1 = await recordOf(ev1, { tenant, salt: saltOf(9) });
  return {
    idp, opening,
    items: [
      { leaf: await leafV2Of(r0), record: r0, identity: opening },
      { leaf: await leafV2Of(r1, '2026-01-01T00:00:01.000000Z'), record: r1 },
    ],
  };
}

/**
 * The claim of a document erasure that erased the entries `indices`
 * (docs/bundle-format.md §7.3): their number, and the standard base64 of
 * SHA-256 over their 8-byte big-endian indices in ascending order.
 */
export async function erasureClaim(reason, indices) {
  const sorted = [...indices].sort((x, y) => x - y);
  const bytes = new Uint8Array(8 * sorted.length);
  sorted.forEach((i, p) => new DataView(bytes.buffer).setBigUint64(8 * p, BigInt(i)));
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes));
  return { erasure: { scope: 'document', reason, entries: sorted.length, entries_sha256: v.b64encode(digest) } };
}

/**
 * Entries 0 and 1 erased by entry 2 (an `erased` entry of the contract),
 * whose claim lists the entries `listed`, or is `claim` when given.
 */
export async function v2ErasedContract({ marker = {}, erasure = {}, listed = [0, 1], claim = null } = {}) {
  const c = await v2Contract();
  const logAtt = await keyFromSeed(3);
  const at = '2026-01-02T00:00:00.000000Z';
  const ev = {
    event_id: `erased-${'0'.repeat(24)}`, document_id: 'contract-1', kind: 'erased', document_hash: DOC_HASH,
    actor: { id: 'tok-admin', display: 'admin', commitment: 'c'.repeat(64) },
    attestations: [{ issuer: 'evidence-ledger', v: 2, claim: claim ?? await erasureClaim('PIPL art. 47 request', listed) }],
    ...erasure,
  };
  await signAttestation(logAtt, ev, 0);
  const rec = await recordOf(ev, { salt: saltOf(11) });
  const mk = () => ({ at, by: 'tok-admin', reason: 'PIPL art. 47 request', entry: 2, ...marker });
  const items = [
    { leaf: c.items[0].leaf, erased: mk() },
    { leaf: c.items[1].leaf, erased: mk() },
    { leaf: await leafV2Of(rec, at), record: rec },
  ];
  return { items, issuers: [{ name: 'idp', public_key: c.idp.b64 }, { name: 'evidence-ledger', public_key: logAtt.b64 }] };
}

