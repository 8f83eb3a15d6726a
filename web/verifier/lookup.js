// GET /v1/lookup answers (the file-only mode): v1 answers split into one
// bundle per contract, v2 answers (evidence-lookup/v2) checked without the
// records, record v3 entries by their disclosures. Twin of
// verifier/src/bundle/lookup.rs (verifyLookup; lookupToBundles has none);
// the answer is made by src/api/lookup.rs.

import { m, fail, errMsg, attempt } from './error.js';
import { checkPartial } from './v3.js';
import { b64decode, b64encode } from './hash.js';
import { parseStrictJson, decodeUtf8, isObject } from './jcs.js';
import { sameKey } from './note.js';
import { MAX_PROOF_HASHES } from './proof.js';
import { HEX64_RE } from './entry.js';
import { emptyPolicy } from './policy.js';
import { check, plain, finishReport } from './report.js';
import { MAX_WITNESSES, trustFacts } from './bundle.js';
import { FORMAT_V1, decode } from './bundle/decode.js';
import { inclusionCheck } from './bundle/content.js';
import { logSignatureCheck, cosignatureChecks, witnessClaims } from './bundle/signatures.js';

const LOOKUP_V2 = 'evidence-lookup/v2';

/** Splits a /v1/lookup answer into one bundle per (tenant, contract). */
export function lookupToBundles(answer) {
  const groups = new Map();
  for (const e of answer.entries) {
    const bytes = b64decode(e.leaf);
    let key = '?';
    let tenant = '';
    let documentId = '';
    try {
      const v = parseStrictJson(decodeUtf8(bytes));
      tenant = String(v.tenant);
      documentId = String(v.event.document_id);
      key = JSON.stringify([tenant, documentId]);
    } catch {
      // An unreadable leaf still gets checked (and fails) in a group of its own.
    }
    if (!groups.has(key)) groups.set(key, { tenant, document_id: documentId, entries: [] });
    groups.get(key).entries.push(e);
  }
  return [...groups.values()].map((g) => ({
    format: FORMAT_V1, origin: answer.origin, log_vkey: answer.log_vkey, tenant: g.tenant,
    document_id: g.document_id, checkpoint: answer.checkpoint, tree_size: answer.tree_size,
    entries: g.entries, issuers: answer.issuers, witnesses: answer.witnesses,
  })).map((b) => {
    // An answer without tree_size makes a bundle without it (not `undefined`).
    if (b.tree_size === undefined) delete b.tree_size;
    return b;
  });
}

// ---------------------------------------------------------------------------
// Lookup v2 (docs/evidence-v2.md "Implementation decisions"): the holder
// of a file sees, per entry, a summary that is the ledger's statement
// (kind, time, party number, issuers, checked on ingest), and checks what
// can be checked without the records: each leaf's inclusion in the
// checkpoint, and the checkpoint's log signature and cosignatures against
// their own trust anchors.

/** Whether a GET /v1/lookup answer is an evidence-lookup/v2. */
export const isLookupV2 = (answer) => isObject(answer) && answer.format === LOOKUP_V2;
const MAX_LOOKUP_ENTRIES = 1000;

/** The shape of a lookup v2 answer; returns the bundle-like object the
 * checks read. Throws Fail. Members the page does not use are ignored. */
export function checkLookupShape(v) {
  const bad = (what, field) => fail('r.lookup', { what, field });
  const str = (x, f) => (typeof x === 'string' ? x : bad('type', f));
  if (!isObject(v)) bad('type', '');
  if (v.format !== LOOKUP_V2) bad('format', plain(v.format));
  for (const k of ['document_hash', 'origin', 'log_vkey', 'checkpoint']) str(v[k], k);
  if (!HEX64_RE.test(v.document_hash)) bad('type', 'document_hash');
  if ('tree_size' in v && !(Number.isSafeInteger(v.tree_size) && v.tree_size >= 0)) bad('type', 'tree_size');
  // The service answers an index (or null); verifier/src/bundle/lookup.rs takes the same.
  const cursorOk = (c) => c === null || typeof c === 'string' || (Number.isSafeInteger(c) && c >= 0);
  if ('next_cursor' in v && !cursorOk(v.next_cursor)) bad('type', 'next_cursor');
  const witnesses = v.witnesses ?? [];
  if (!Array.isArray(witnesses) || witnesses.length > MAX_WITNESSES) bad('count', 'witnesses');
  const ws = witnesses.map((w, i) => {
    if (!isObject(w)) bad('type', `witnesses[${i}]`);
    return { name: str(w.name, `witnesses[${i}].name`), vkey: str(w.vkey, `witnesses[${i}].vkey`) };
  });
  if (!Array.isArray(v.entries) || v.entries.length === 0 || v.entries.length > MAX_LOOKUP_ENTRIES) bad('count', 'entries');
  const entries = v.entries.map((e, i) => {
    const f = `entries[${i}]`;
    if (!isObject(e)) bad('type', f);
    if (!Number.isSafeInteger(e.index) || e.index < 0) bad('type', `${f}.index`);
    str(e.leaf, `${f}.leaf`);
    if (!Array.isArray(e.inclusion) || e.inclusion.length > MAX_PROOF_HASHES) bad('count', `${f}.inclusion`);
    e.inclusion.forEach((h, j) => str(h, `${f}.inclusion[${j}]`));
    const s = e.summary;
    if (!isObject(s)) bad('type', `${f}.summary`);
    str(s.kind, `${f}.summary.kind`);
    str(s.ledger_time, `${f}.summary.ledger_time`);
    if (!Number.isSafeInteger(s.party) || s.party < 1) bad('type', `${f}.summary.party`);
    if (!Array.isArray(s.issuers) || s.issuers.length > 16) bad('count', `${f}.summary.issuers`);
    s.issuers.forEach((x, j) => str(x, `${f}.summary.issuers[${j}]`));
    if (typeof s.checked_on_ingest !== 'boolean') bad('type', `${f}.summary.checked_on_ingest`);
    // Record v3: both or neither; their contents are checkPartial's.
    if (('disclosures' in e) !== ('digests' in e)) bad('type', `${f}.disclosures`);
    if ('disclosures' in e && (!Array.isArray(e.disclosures) || e.disclosures.length > 16)) bad('count', `${f}.disclosures`);
    if ('digests' in e && !isObject(e.digests)) bad('type', `${f}.digests`);
    return { index: e.index, leaf: e.leaf, inclusion: e.inclusion };
  });
  const b = { format: LOOKUP_V2, origin: v.origin, log_vkey: v.log_vkey, tenant: '', document_id: '', checkpoint: v.checkpoint, entries, issuers: [], witnesses: ws };
  if ('tree_size' in v) b.tree_size = v.tree_size;
  return b;
}

/** `lookup_summary` of one entry: the leaf can be read, and what the
 * leaf shows agrees with the summary (its time; a v1 leaf also its kind
 * and document hash; a v3 leaf's disclosures open its commitment and
 * disclose this document hash and the summary's kind). The rest of the
 * summary is the ledger's word. Returns {check, disclosed}. */
async function lookupSummaryCheck(e, x, documentHash) {
  const s = x.summary;
  const title = m('c.lsum.title', { i: e.index });
  const out = (passed, detail, disclosed = false) => ({ check: check('lookup_summary', String(e.index), passed, title, detail), disclosed });
  if (e.raw.err) return out(false, m('c.lsum.unreadable', { why: e.raw.err }));
  const l = e.raw.ok;
  if (s.ledger_time !== l.ledger_time) return out(false, m('c.lsum.time', { said: plain(s.ledger_time), leaf: l.ledger_time }));
  if (!l.v2) {
    if (s.kind !== l.event.kind) return out(false, m('c.lsum.kind', { said: plain(s.kind), leaf: l.event.kind }));
    if (l.event.document_hash !== documentHash) return out(false, m('c.lsum.hash', { hash: l.event.document_hash }));
    return out(true, m('c.lsum.v1_ok', { at: l.ledger_time }));
  }
  if (l.alg !== 'v3' || !('disclosures' in x)) return out(true, m('c.lsum.v2_ok', { at: l.ledger_time }));
  const shown = await attempt(() => checkPartial(l.commitment, x.disclosures, x.digests, l.sdHash));
  if (shown.err) return out(false, m('c.lsum.v3_bad', { why: shown.err }));
  const hash = shown.ok.get('event.document_hash');
  const kind = shown.ok.get('event.kind');
  if (hash !== documentHash) return out(false, m('c.lsum.v3_hash', { hash: plain(String(hash)) }));
  if (kind !== s.kind) return out(false, m('c.lsum.v3_kind', { kind: plain(String(kind)), said: plain(s.kind) }));
  return out(true, m('c.lsum.v3_ok', { hash, kind: plain(kind), at: l.ledger_time }), true);
}

/**
 * Verifies a lookup v2 answer against a trust policy: answer shape,
 * log_signature, cosignature and witness_quorum, then per entry inclusion
 * and lookup_summary. options: documentHash (the file's, which the answer
 * must be about), policy, now. Never throws. The report's `summaries` are
 * the ledger's statements, shown as such.
 */
export async function verifyLookup(answer, options = {}) {
  const policy = options.policy ?? emptyPolicy();
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const report = {
    kind: 'lookup', passed: false, verdict: null, checks: [], format: LOOKUP_V2, origin: '', tenant: '', document_id: '',
    document_hash: null, checkpoint: null, parties: [], timeline: [], summaries: [], next_cursor: null, witnesses: [],
    claims: { log_key: null, witnesses: [], tsas: [], anchoring: null }, trust: trustFacts(policy),
  };
  let b;
  try {
    b = checkLookupShape(answer);
  } catch (e) {
    report.checks.push(check('bundle_format', null, false, m('c.lookup.title'), m('c.lookup.unreadable', { why: errMsg(e) })));
    return finishReport(report);
  }
  Object.assign(report, { origin: b.origin, document_hash: answer.document_hash, next_cursor: answer.next_cursor ?? null });
  const d = await decode(b);
  if (options.documentHash && answer.document_hash !== options.documentHash) {
    d.problems.push(m('p.lookup_hash', { hash: answer.document_hash, file: options.documentHash }));
  }
  report.checks.push(check('bundle_format', null, d.problems.length === 0, m('c.lookup.title'),
    d.problems.length === 0 ? m('c.lookup.ok', { entries: b.entries.length, witnesses: b.witnesses.length }) : m('c.format.bad', { problems: d.problems })));
  report.checks.push(await logSignatureCheck(b, d, policy));
  const cos = await cosignatureChecks(d, policy, now);
  report.checks.push(...cos.checks);
  report.witnesses = cos.facts;
  for (const e of d.entries) report.checks.push(await inclusionCheck(e, d));
  for (const [i, x] of answer.entries.entries()) {
    const e = d.entries[i];
    const sum = await lookupSummaryCheck(e, x, answer.document_hash);
    report.checks.push(sum.check);
    const s = x.summary;
    const version = e.raw.ok ? (e.raw.ok.v2 ? (e.raw.ok.alg === 'v3' ? 3 : 2) : 1) : null;
    report.summaries.push({
      index: x.index, kind: s.kind, ledger_time: s.ledger_time, party: s.party, issuers: [...s.issuers],
      checked_on_ingest: s.checked_on_ingest, leaf_version: version, disclosed: sum.disclosed,
    });
  }
  if (d.checkpoint.ok) {
    const cp = d.checkpoint.ok;
    report.checkpoint = { origin: cp.origin, tree_size: String(cp.size), root: b64encode(cp.root) };
  }
  report.logKey = d.logKey.ok ?? null;
  const logKeyTrusted = d.logKey.ok && policy.logs.some((k) => sameKey(k, d.logKey.ok));
  report.claims = { log_key: logKeyTrusted ? null : b.log_vkey, witnesses: witnessClaims(b, d, policy), tsas: [], anchoring: null };
  // v2 leaves name no document hash: the server alone links them to the
  // file. A v3 leaf whose disclosures checked is tied to it by the log's
  // signature (the disclosed document hash is inside its commitment).
  report.linkVouched = report.summaries.some((x) => x.leaf_version !== 1 && !x.disclosed);
  return finishReport(report);
}
