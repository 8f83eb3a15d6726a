// Evidence bundles v1 and v2 (docs/bundle-format.md): the size cap, the
// shape rules, the trust facts shown, and verifyBundle, which runs the
// checks of bundle/*.js in the Rust verifier's order.
// Twin of verifier/src/bundle.rs.

import { m, fail, errMsg } from './error.js';
import { utf8Length } from './std.js';
import { b64encode } from './hash.js';
import { parseStrictJson, decodeUtf8, isObject } from './jcs.js';
import { sameKey } from './note.js';
import { MAX_PROOF_HASHES } from './proof.js';
import { MAX_TSA_ROOTS, MAX_ROOT_PEM_BYTES, emptyPolicy } from './policy.js';
import { check, plain, finishReport } from './report.js';
import { FORMAT_V1, FORMAT_V2, MAX_LEAF_B64, decode, readable, leafTimes, unreadableCount, redactedEntries } from './bundle/decode.js';
import { formatCheck, sameDocumentCheck, documentHashCheck, inclusionCheck } from './bundle/content.js';
import { completenessCheck } from './bundle/completeness.js';
import { commitmentsChecks } from './bundle/commitments.js';
import { logSignatureCheck, cosignatureChecks, witnessClaims } from './bundle/signatures.js';
import { attestationCheck, parties } from './bundle/attestations.js';
import { timelineCheck } from './bundle/timeline.js';
import { timestampChecks } from './bundle/timestamps.js';

/** Largest bundle accepted, checked before parsing. */
export const MAX_BUNDLE_BYTES = 64 << 20;
const MAX_ENTRIES = 100000;
const MAX_ISSUERS = 200000;
export const MAX_WITNESSES = 100;
const MAX_LISTED = 10;

/** Parses bundle bytes: size cap, strict JSON, exact members, list caps. */
export function parseBundle(bytes) {
  if (bytes.length > MAX_BUNDLE_BYTES) fail('r.bundle', { what: 'size' });
  return checkBundleShape(parseStrictJson(decodeUtf8(bytes), { maxDepth: 16, maxString: MAX_LEAF_B64 }));
}

/** The shape rules of docs/bundle-format.md §1 over a parsed bundle (exact
 * members, types, list caps; `null` is no optional member's value). */
export function checkBundleShape(v) {
  const str = (x, f) => (typeof x === 'string' ? x : fail('r.bundle', { what: 'type', field: f }));
  const top = ['format', 'origin', 'log_vkey', 'tenant', 'document_id', 'checkpoint', 'tree_size', 'entries', 'issuers', 'witnesses', 'checkpoint_timestamp', 'timestamp_authorities', 'anchoring'];
  const members = (obj, allowed, required, where) => {
    if (!isObject(obj)) fail('r.bundle', { what: 'type', field: where });
    for (const k of Object.keys(obj)) if (!allowed.includes(k)) fail('r.bundle', { what: 'unknown', field: `${where}${k}` });
    for (const k of required) if (!(k in obj)) fail('r.bundle', { what: 'missing', field: `${where}${k}` });
  };
  const optional = ['tree_size', 'checkpoint_timestamp', 'timestamp_authorities', 'anchoring'];
  members(v, top, top.filter((k) => !optional.includes(k)), '');
  if ('anchoring' in v) {
    // The ledger's own statement of its anchoring policy: a claim, shown,
    // never counted (cosignatures count against the checker's policy).
    const a = v.anchoring;
    const all = ['threshold', 'required', 'cosigned_by', 'satisfied'];
    members(a, all, all, 'anchoring.');
    if (!Number.isSafeInteger(a.threshold) || a.threshold < 0) fail('r.bundle', { what: 'type', field: 'anchoring.threshold' });
    for (const k of ['required', 'cosigned_by']) {
      if (!Array.isArray(a[k])) fail('r.bundle', { what: 'type', field: `anchoring.${k}` });
      if (a[k].length > MAX_WITNESSES) fail('r.bundle', { what: 'count', field: `anchoring.${k}` });
      a[k].forEach((x, i) => str(x, `anchoring.${k}[${i}]`));
    }
    if (typeof a.satisfied !== 'boolean') fail('r.bundle', { what: 'type', field: 'anchoring.satisfied' });
  }
  if ('checkpoint_timestamp' in v) {
    members(v.checkpoint_timestamp, ['tsa', 'token'], ['tsa', 'token'], 'checkpoint_timestamp.');
    str(v.checkpoint_timestamp.tsa, 'checkpoint_timestamp.tsa');
    str(v.checkpoint_timestamp.token, 'checkpoint_timestamp.token');
  }
  if ('timestamp_authorities' in v) {
    if (!Array.isArray(v.timestamp_authorities)) fail('r.bundle', { what: 'type', field: 'timestamp_authorities' });
    if (v.timestamp_authorities.length > MAX_TSA_ROOTS) fail('r.bundle', { what: 'count', field: 'timestamp_authorities' });
    v.timestamp_authorities.forEach((x, i) => {
      members(x, ['name', 'root_pem'], ['name', 'root_pem'], `timestamp_authorities[${i}].`);
      str(x.name, `timestamp_authorities[${i}].name`);
      str(x.root_pem, `timestamp_authorities[${i}].root_pem`);
      if (utf8Length(x.root_pem) > MAX_ROOT_PEM_BYTES) fail('r.bundle', { what: 'size_of', field: `timestamp_authorities[${i}].root_pem` });
    });
  }
  for (const k of ['format', 'origin', 'log_vkey', 'tenant', 'document_id', 'checkpoint']) str(v[k], k);
  if (v.format !== FORMAT_V1 && v.format !== FORMAT_V2) fail('r.bundle', { what: 'format', field: plain(v.format) });
  const v2 = v.format === FORMAT_V2;
  if ('tree_size' in v && !(Number.isSafeInteger(v.tree_size) && v.tree_size >= 0)) fail('r.bundle', { what: 'type', field: 'tree_size' });
  for (const [k, cap] of [['entries', MAX_ENTRIES], ['issuers', MAX_ISSUERS], ['witnesses', MAX_WITNESSES]]) {
    if (!Array.isArray(v[k])) fail('r.bundle', { what: 'type', field: k });
    if (v[k].length > cap || (k === 'entries' && v[k].length === 0)) fail('r.bundle', { what: 'count', field: k });
  }
  v.entries.forEach((e, i) => {
    // Bundle v2: per entry the record, the identity opening, or the erased marker.
    const allowed = v2 ? ['index', 'leaf', 'inclusion', 'record', 'identity', 'erased'] : ['index', 'leaf', 'inclusion'];
    members(e, allowed, ['index', 'leaf', 'inclusion'], `entries[${i}].`);
    for (const k of ['record', 'identity']) if (k in e && !isObject(e[k])) fail('r.bundle', { what: 'type', field: `entries[${i}].${k}` });
    if ('record' in e && 'erased' in e) fail('r.bundle', { what: 'record_and_erased', field: `entries[${i}]` });
    if ('identity' in e && !('record' in e)) fail('r.bundle', { what: 'identity_alone', field: `entries[${i}]` });
    if ('erased' in e) {
      const all = ['at', 'by', 'reason', 'entry'];
      members(e.erased, all, all, `entries[${i}].erased.`);
      for (const k of ['at', 'by', 'reason']) str(e.erased[k], `entries[${i}].erased.${k}`);
      if (!Number.isSafeInteger(e.erased.entry) || e.erased.entry < 0) fail('r.bundle', { what: 'type', field: `entries[${i}].erased.entry` });
    }
    if (!Number.isSafeInteger(e.index) || e.index < 0) fail('r.bundle', { what: 'type', field: `entries[${i}].index` });
    str(e.leaf, `entries[${i}].leaf`);
    if (!Array.isArray(e.inclusion) || e.inclusion.length > MAX_PROOF_HASHES) fail('r.bundle', { what: 'count', field: `entries[${i}].inclusion` });
    e.inclusion.forEach((h, j) => str(h, `entries[${i}].inclusion[${j}]`));
  });
  v.issuers.forEach((x, i) => {
    members(x, ['name', 'public_key'], ['name', 'public_key'], `issuers[${i}].`);
    str(x.name, `issuers[${i}].name`);
    str(x.public_key, `issuers[${i}].public_key`);
  });
  v.witnesses.forEach((x, i) => {
    members(x, ['name', 'vkey'], ['name', 'vkey'], `witnesses[${i}].`);
    str(x.name, `witnesses[${i}].name`);
    str(x.vkey, `witnesses[${i}].vkey`);
  });
  return v;
}

/** The trust anchors in force, as the report shows them. */
export function trustFacts(policy) {
  return {
    source: policy.source,
    logs: policy.logs.map((k) => k.vkey),
    witnesses: policy.witnesses.map((k) => ({ name: k.name, vkey: k.vkey, key_id: k.keyIdHex })),
    distinct_witnesses: policy.groups.length,
    quorum: policy.quorum,
    tsas: policy.tsas.map((t) => t.name),
    issuers: [...policy.issuers].map(([name, k]) => ({ name, public_key: k.b64 })),
  };
}

/**
 * Verifies a bundle (bytes, or an already-parsed object) against a trust
 * policy and rebuilds its evidence chain. options: documentHash (hex of the
 * file's SHA-256), policy (from parsePolicy; none trusts nothing), now
 * (Unix seconds, for cosignature times). Never throws.
 */
export async function verifyBundle(input, options = {}) {
  const policy = options.policy ?? emptyPolicy();
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const report = {
    passed: false, verdict: null, checks: [], format: null, origin: '', tenant: '', document_id: '', document_hash: null, checkpoint: null,
    parties: [], timeline: [], witnesses: [], timestamps: [], claims: { log_key: null, witnesses: [], tsas: [], anchoring: null }, trust: trustFacts(policy),
  };
  let b;
  try {
    b = input instanceof Uint8Array ? parseBundle(input) : checkBundleShape(input);
  } catch (e) {
    report.checks.push(check('bundle_format', null, false, m('c.format.title'), m('c.format.unreadable', { why: errMsg(e) })));
    return finishReport(report);
  }
  Object.assign(report, { format: b.format, origin: b.origin, tenant: b.tenant, document_id: b.document_id });
  const d = await decode(b);
  report.checks.push(formatCheck(b, d));
  if (b.format === FORMAT_V2) report.checks.push(...(await commitmentsChecks(b, d)));
  const chain = completenessCheck(d);
  if (chain) {
    report.checks.push(chain.check);
    report.completeness = chain.fact;
  }
  report.checks.push(sameDocumentCheck(b, d));
  if (options.documentHash) report.checks.push(documentHashCheck(options.documentHash, d));
  report.checks.push(await logSignatureCheck(b, d, policy));
  const cos = await cosignatureChecks(d, policy, now);
  report.checks.push(...cos.checks);
  report.witnesses = cos.facts;
  for (const e of d.entries) report.checks.push(await inclusionCheck(e, d));
  for (const e of d.entries) {
    const { check: c, entry } = await attestationCheck(e, d, policy);
    if (c) report.checks.push(c);
    if (entry) report.timeline.push(entry);
  }
  const entries = readable(d);
  report.checks.push(timelineCheck(entries, unreadableCount(d), leafTimes(d), redactedEntries(d)));
  const stamped = await timestampChecks(b, d, policy, now);
  report.checks.push(...stamped.checks);
  report.timestamps = stamped.facts;
  report.document_hash = entries.length ? entries[0][1].event.document_hash : null;
  if (d.checkpoint.ok) {
    const cp = d.checkpoint.ok;
    report.checkpoint = { origin: cp.origin, tree_size: String(cp.size), root: b64encode(cp.root) };
  }
  report.logKey = d.logKey.ok ?? null;
  const logKeyTrusted = d.logKey.ok && policy.logs.some((k) => sameKey(k, d.logKey.ok));
  report.claims = {
    log_key: logKeyTrusted ? null : b.log_vkey,
    witnesses: witnessClaims(b, d, policy),
    tsas: (b.timestamp_authorities ?? []).map((t) => t.name),
    anchoring: b.anchoring ?? null,
  };
  report.parties = parties(entries);
  return finishReport(report);
}
