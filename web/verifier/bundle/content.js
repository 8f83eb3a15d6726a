// The checks of a bundle against itself and the file you hold:
// `bundle_format`, `same_document`, `document_hash`, `inclusion`.
// Twin of verifier/src/bundle/content.rs.

import { m } from '../error.js';
import { keySuite } from '../anykey.js';
import { ED25519_SHA256 } from '../sm.js';
import { check, plain } from '../report.js';
import { readable, unreadableCount, redactedEntries } from './decode.js';

export function formatCheck(b, d) {
  const detail = d.problems.length === 0
    ? m('c.format.ok', { format: b.format, entries: b.entries.length, issuers: b.issuers.length, witnesses: b.witnesses.length })
    : m('c.format.bad', { problems: d.problems });
  return check('bundle_format', null, d.problems.length === 0, m('c.format.title'), detail);
}

export function sameDocumentCheck(b, d) {
  const problems = d.entries.filter((e) => e.leaf.err && !e.erased && !e.redacted).map((e) => m('p.unreadable', { i: e.index }));
  const entries = readable(d);
  const redacted = redactedEntries(d);
  const firstHash = entries.length ? entries[0][1].event.document_hash : redacted.length ? redacted[0][1].event.document_hash : null;
  // A redacted record still names its tenant, contract and document (content.rs).
  for (const [i, l] of redacted) {
    if (l.tenant !== b.tenant || l.event.document_id !== b.document_id || l.event.document_hash !== firstHash) problems.push(m('p.redacted_other', { i }));
  }
  const actors = new Map();
  const ids = new Map();
  for (const [i, l] of entries) {
    const ev = l.event;
    if (l.tenant !== b.tenant) problems.push(m('p.other_tenant', { i }));
    if (ev.document_id !== b.document_id) problems.push(m('p.other_contract', { i, id: plain(ev.document_id) }));
    if (ev.document_hash !== firstHash) problems.push(m('p.other_document', { i, hash: ev.document_hash }));
    const who = `${ev.actor.display}\u0000${ev.actor.commitment}`;
    if (!actors.has(ev.actor.id)) actors.set(ev.actor.id, who);
    else if (actors.get(ev.actor.id) !== who) problems.push(m('p.other_identity', { i, who: plain(ev.actor.id) }));
    if (ids.has(ev.event_id)) problems.push(m('p.repeat_event', { j: ids.get(ev.event_id), i, id: plain(ev.event_id) }));
    else ids.set(ev.event_id, i);
  }
  const detail = problems.length === 0
    ? m('c.same.ok', { n: entries.length, contract: plain(b.document_id), tenant: plain(b.tenant), hash: firstHash ?? '', erased: d.entries.filter((e) => e.erased).length, redacted: redacted.length })
    : m('c.same.bad', { problems });
  return check('same_document', null, problems.length === 0, m('c.same.title'), detail);
}

export function documentHashCheck(supplied, d) {
  const entries = [...readable(d), ...redactedEntries(d)];
  const mismatched = entries.filter(([, l]) => l.event.document_hash !== supplied).map(([i]) => String(i));
  const evidence = entries.length ? entries[0][1].event.document_hash : null;
  const passed = entries.length > 0 && mismatched.length === 0 && unreadableCount(d) === 0;
  const verdict = passed ? m('c.hash.match') : mismatched.length === 0 ? m('c.hash.unreadable') : m('c.hash.mismatch', { entries: mismatched });
  return check('document_hash', null, passed, m('c.hash.title'), m('c.hash.detail', { file: supplied, evidence, verdict }));
}

export async function inclusionCheck(e, d) {
  const title = m('c.incl.title', { i: e.index });
  const out = (passed, detail) => check('inclusion', String(e.index), passed, title, detail);
  if (!e.leafHash) return out(false, m('c.incl.unreadable'));
  if (!e.proof) return out(false, m('c.incl.malformed'));
  if (d.checkpoint.err) return out(false, m('c.incl.no_checkpoint', { why: d.checkpoint.err }));
  const { size, root } = d.checkpoint.ok;
  if (BigInt(e.index) >= size) return out(false, m('c.incl.beyond', { size: String(size), i: e.index }));
  // RFC 9162 §2.1.3.2 with the log's tree hash (SM3 for an sm2-sm3 log), as content.rs.
  const suite = d.logKey.ok ? keySuite(d.logKey.ok) : ED25519_SHA256;
  const ok = await suite.verifyInclusion(e.leafHash, BigInt(e.index), size, e.proof, root);
  return ok
    ? out(true, m('c.incl.ok', { n: e.proof.length, size: String(size), i: e.index }))
    : out(false, m('c.incl.bad'));
}
