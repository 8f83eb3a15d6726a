// Decoding a bundle's fields once: what fails is collected for the
// `bundle_format` check, and every other check reads the decoded values.
// Twin of verifier/src/bundle/decode.rs (the bundle formats and leaf cap,
// bundle.rs constants, are here because bundle.js imports this module).

import { m, fail, attempt } from '../error.js';
import { b64decode, leafHash } from '../hash.js';
import { importEd25519 } from '../ed25519.js';
import { isCosigner, keySuite, parseAnyVkey } from '../anykey.js';
import { parseSignedCheckpoint } from '../checkpoint.js';
import { MAX_LEAF_BYTES } from '../entry.js';
import { parseLeaf } from '../v2.js';
import { plain } from '../report.js';
import { openEntryV2 } from './commitments.js';

/** The bundle formats (bundle.rs FORMAT_V1, FORMAT_V2). */
export const FORMAT_V1 = 'evidence-bundle/v1';
export const FORMAT_V2 = 'evidence-bundle/v2';
/** Largest leaf in a bundle, in base64 characters. */
export const MAX_LEAF_B64 = Math.ceil(MAX_LEAF_BYTES / 3) * 4;

/** Decodes every field once; what fails goes to `problems`. */
export async function decode(b) {
  const problems = [];
  const logKey = await attempt(async () => {
    const k = await parseAnyVkey(b.log_vkey);
    if (isCosigner(k)) fail('r.vkey', { what: 'not_log' });
    return k;
  });
  // The leaf hashes of an sm2-sm3 log's entries are SM3 (the log key's
  // type names the suite), as decode.rs.
  const hashLeaf = logKey.ok ? keySuite(logKey.ok).hashLeaf : leafHash;
  if (logKey.err) problems.push(m('p.log_key', { why: logKey.err }));
  const checkpoint = await attempt(() => parseSignedCheckpoint(b.checkpoint));
  if (checkpoint.err) problems.push(m('p.checkpoint', { why: checkpoint.err }));
  if (checkpoint.ok) {
    const cp = checkpoint.ok;
    if (cp.origin !== b.origin) problems.push(m('p.cp_origin', { cp: plain(cp.origin), origin: plain(b.origin) }));
    if ('tree_size' in b && BigInt(b.tree_size) !== cp.size) problems.push(m('p.tree_size', { n: b.tree_size, size: String(cp.size) }));
  }
  const issuers = new Map();
  for (const i of b.issuers) {
    const raw = b64decode(i.public_key);
    // Small-order keys are refused (strict verification refuses every
    // signature under them), as verifier/src/bundle/decode.rs.
    const cryptoKey = raw && raw.length === 32 ? await importEd25519(raw) : null;
    if (issuers.has(i.name)) problems.push(m('p.issuer_twice', { name: plain(i.name) }));
    else if (cryptoKey) issuers.set(i.name, { raw, b64: i.public_key, cryptoKey });
    else problems.push(m('p.issuer_key', { name: plain(i.name) }));
  }
  const witnesses = [];
  for (const w of b.witnesses) {
    const name = plain(w.name);
    const k = await attempt(() => parseAnyVkey(w.vkey));
    if (k.err) problems.push(m('p.witness_key', { name, why: k.err }));
    else if (!isCosigner(k.ok)) problems.push(m('p.witness_type', { name }));
    else if (k.ok.name !== w.name) problems.push(m('p.witness_name', { name }));
    else if (witnesses.some((o) => o.name === w.name)) problems.push(m('p.witness_twice', { name }));
    else witnesses.push(k.ok);
  }
  const entries = [];
  let prev = -1;
  for (const e of b.entries) {
    if (e.index <= prev) problems.push(m('p.entry_order', { i: e.index }));
    prev = e.index;
    const d = await decodeEntry(e, b.format === FORMAT_V2, hashLeaf);
    if (d.raw.err) problems.push(m('p.entry_leaf', { i: e.index, why: d.raw.err }));
    // A v2 leaf in a v1 bundle cannot be opened (a lookup v2 needs no opening).
    else if (d.raw.ok.v2 && b.format === FORMAT_V1) problems.push(m('p.entry_leaf', { i: e.index, why: d.leaf.err }));
    // A v1 leaf is in clear: a record, identity or marker beside it is malformed.
    else if (!d.raw.ok.v2 && d.opening.length) problems.push(m('p.v1_member', { i: e.index }));
    if (!d.proof) problems.push(m('p.entry_proof', { i: e.index }));
    entries.push(d);
  }
  return { problems, logKey, checkpoint, issuers, witnesses, entries };
}

/**
 * One entry: `raw` is its leaf as parsed (v1 or v2), `leaf` what the
 * checks over events read: a v1 leaf, or a v2 leaf opened by its record
 * (`{err}` when there is none or it does not open: the `commitments` check
 * says why). An entry with an `erased` marker has `erased` set and is no
 * event to check. Opening problems go to `opening` (for `commitments`).
 */
async function decodeEntry(e, bundleV2, hashLeaf) {
  const bytes = e.leaf.length > MAX_LEAF_B64 ? null : b64decode(e.leaf);
  const raw = bytes ? await attempt(() => parseLeaf(bytes)) : { err: m('r.leaf', { what: 'b64' }) };
  const hashes = e.inclusion.map(b64decode);
  const proof = hashes.every((h) => h && h.length === 32) ? hashes : null;
  const out = { index: e.index, leafHash: bytes ? await hashLeaf(bytes) : null, raw, leaf: raw, proof, erased: null, redacted: null, identity: null, opening: [] };
  const i = e.index;
  const has = (k) => bundleV2 && k in e;
  if (raw.err) {
    if (bundleV2) out.opening.push(m('p.leaf_unreadable', { i }));
    return out;
  }
  if (!raw.ok.v2) {
    if (['record', 'identity', 'erased'].some(has)) out.opening.push(m('p.v1_member', { i }));
    return out;
  }
  if (!bundleV2) {
    // A v2 leaf says nothing without its record, which only bundle v2 carries.
    out.leaf = { err: m('r.leaf', { what: 'v2_in_v1' }) };
    return out;
  }
  return openEntryV2(e, out);
}

/** The readable entries: [index, leaf]. */
export const readable = (d) => d.entries.filter((e) => e.leaf.ok).map((e) => [e.index, e.leaf.ok]);
/** The leaf time of every readable or erased entry: [index, time]. */
export const leafTimes = (d) => d.entries.filter((e) => e.leaf.ok || ((e.erased || e.redacted) && e.raw.ok)).map((e) => [e.index, e.raw.ok.ledger_time]);
/** Entries neither readable nor erased nor redacted: their content is unknown. */
export const unreadableCount = (d) => d.entries.filter((e) => !e.leaf.ok && !e.erased && !e.redacted).length;
/** The entries whose records a subject erasure redacted: [index, leaf]. */
export const redactedEntries = (d) => d.entries.filter((e) => e.redacted).map((e) => [e.index, e.redacted.entry]);
