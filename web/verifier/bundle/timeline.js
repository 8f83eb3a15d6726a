// The `timeline` check: whether the events of one contract, in log order,
// tell a coherent story (T1-T7 of docs/bundle-format.md §3.8).
// Twin of verifier/src/bundle/timeline.rs.

import { m } from '../error.js';
import { parseLedgerTime } from '../entry.js';
import { check, plain } from '../report.js';

/** The name prefix of signers' own keys (a tenant's issuers). */
const SIGNER_PREFIX = 'signer:';

/** The name prefix of a tenant's signing-platform integration keys. */
const INTEGRATION_PREFIX = 'integration:';

/** A signature reported by the tenant's signing platform: T3 and T4 do not apply. */
const platformReported = (l) => l.event.kind === 'signed' && l.event.attestations.some((a) => a.issuer.startsWith(INTEGRATION_PREFIX));

/** Whether an identity or intent check was attested by someone other than a signer (T3). */
const thirdParty = (l) => l.event.attestations.some((a) => !a.issuer.startsWith(SIGNER_PREFIX));

/** T1-T7 of docs/bundle-format.md §3.8. */
export function timelineCheck(readable, unreadable, times, redacted = []) {
  // Redacted records (a subject erasure took their actor and attestations)
  // keep their kind: T2, T5-T7 judge them, T3 and T4 do not (timeline.rs).
  const gone = new Set(redacted.map(([i]) => i));
  const entries = [...readable, ...redacted].sort((a, b) => a[0] - b[0]);
  const problems = [];
  if (unreadable > 0) problems.push(m('t.unreadable', { n: unreadable }));
  // T1 over readable and erased entries: an erased entry's leaf keeps its time.
  let prev = null;
  for (const [i, time] of times) {
    const t = parseLedgerTime(time);
    if (prev && t < prev[1]) problems.push(m('t.time', { i, at: plain(time), j: prev[0] }));
    prev = [i, t];
  }
  entries.forEach(([i, l], pos) => {
    if (l.event.kind === 'registered' && pos !== 0) problems.push(m('t.registered', { i }));
  });
  const identity = new Set();
  const intent = new Set();
  // Checks of an actor attested only by signers' keys: `${kind} ${actor}`.
  const selfAttested = new Set();
  let signed = false;
  let completed = null;
  let ended = null;
  let archived = null;
  for (const [i, l] of entries) {
    const { kind, actor } = l.event;
    const who = plain(actor.id);
    const check = kind === 'identity_verified' || kind === 'intent_verified';
    if (gone.has(i)) { /* its actor and attestations are gone: no T3 or T4 */ }
    else if (check && !thirdParty(l)) selfAttested.add(`${kind} ${actor.id}`);
    else if (kind === 'identity_verified') identity.add(actor.id);
    else if (kind === 'intent_verified') intent.add(actor.id);
    if (kind === 'signed' && !gone.has(i) && !platformReported(l)) {
      const onlySelf = (k) => selfAttested.has(`${k} ${actor.id}`);
      if (!identity.has(actor.id)) problems.push(m(onlySelf('identity_verified') ? 't.self_identity' : 't.no_identity', { who, i }));
      if (!intent.has(actor.id)) problems.push(m(onlySelf('intent_verified') ? 't.self_intent' : 't.no_intent', { who, i }));
      const own = `${SIGNER_PREFIX}${actor.id}`;
      if (!l.event.attestations.some((a) => a.issuer === own)) problems.push(m('t.not_own_key', { who, i, own: plain(own) }));
    }
    if (kind === 'signed') {
      if (completed !== null) problems.push(m('t.signed_after_completion', { i, c: completed }));
      signed = true;
    }
    if (kind === 'completed') {
      if (!signed) problems.push(m('t.completed_unsigned', { i }));
      completed ??= i;
    }
    // An erasure (evidence v2) may come after anything: it ends the records, not the contract.
    if (ended !== null && kind !== 'report_issued' && kind !== 'archived' && kind !== 'erased') problems.push(m('t.after_end', { i, e: ended[0], kind: ended[1] }));
    if (archived !== null && kind !== 'report_issued' && kind !== 'erased') problems.push(m('t.after_archive', { i, a: archived }));
    if ((kind === 'revoked' || kind === 'rejected') && ended === null) ended = [i, kind];
    if (kind === 'archived') archived ??= i;
  }
  const passed = problems.length === 0;
  const reported = entries.filter(([, l]) => platformReported(l)).length;
  const ok = reported > 0 ? m('c.time.ok_reported', { n: entries.length, reported }) : m('c.time.ok', { n: entries.length });
  const detail = passed ? ok : m('c.time.bad', { problems });
  return check('timeline', null, passed, m('c.time.title'), detail);
}
