// The checkpoint against the keys you trust: `log_signature`, one
// `cosignature` per trusted witness key that countersigned (and per
// impersonating line), `witness_quorum`, and the witnesses the bundle only
// claims (docs/trust-policy.md §2). Twin of verifier/src/bundle/signatures.rs.

import { m } from '../error.js';
import { b64encode } from '../hash.js';
import { sameKey, matches } from '../note.js';
import { anyCosignatureLine, keySuite, verifyAnyNoteSignature } from '../anykey.js';
import { parseLedgerTime } from '../entry.js';
import { check, plain, plainFull, unixToRfc3339 } from '../report.js';
import { leafTimes } from './decode.js';

/** Cosignature times may run this far ahead of the verifier's clock. */
const COSIG_SKEW_SECS = 300n;

export async function logSignatureCheck(b, d, policy) {
  const title = m('c.log.title');
  const out = (status, detail) => check('log_signature', null, status, title, detail);
  if (d.logKey.err) return out('fail', m('c.log.undecodable', { why: d.logKey.err }));
  const key = d.logKey.ok;
  // A bundle of a suite the policy does not name is refused (signatures.rs).
  const suite = keySuite(key).name;
  if (suite !== policy.suite) return out('fail', m('c.log.suite', { suite, key: plainFull(key.vkey), policy: policy.suite }));
  const anchored = policy.logs.length > 0;
  if (anchored && !policy.logs.some((p) => sameKey(p, key))) {
    return out('fail', m('c.log.not_trusted', { key: plainFull(key.vkey), trusted: policy.logs.map((p) => plainFull(p.vkey)), source: policy.source }));
  }
  if (d.checkpoint.err) return out('fail', m('c.log.undecodable', { why: d.checkpoint.err }));
  const cp = d.checkpoint.ok;
  if (b.origin !== key.name || cp.origin !== key.name) return out('fail', m('c.log.origin', { cp: plain(cp.origin), key: plain(key.name) }));
  const bad = await verifyAnyNoteSignature(key, cp);
  if (bad) return out('fail', m('c.log.invalid', { why: bad, key: plainFull(key.vkey) }));
  const facts = { size: String(cp.size), root: b64encode(cp.root), log: plain(key.name), key: plainFull(key.vkey), source: policy.source };
  return anchored ? out('pass', m('c.log.ok', facts)) : out('unanchored', m('c.log.unanchored', facts));
}

/** Floor division of BigInts (ledger times may precede 1970). */
const floorDiv = (a, b) => (a >= 0n ? a / b : -((-a + b - 1n) / b));

/** The newest ledger_time of the readable and erased entries (an erased
 * entry's leaf keeps its time): [Unix seconds, text]. */
function newestLedgerTime(d) {
  let best = null;
  for (const [, time] of leafTimes(d)) {
    const t = parseLedgerTime(time);
    if (best === null || t > best[0]) best = [t, time];
  }
  return best && [floorDiv(best[0], 1000000n), best[1]];
}

/**
 * One `cosignature` check per distinct policy witness key that has a line
 * (every line by the key's names must verify; the first one's time must
 * not precede the newest entry nor run ahead of the clock), then one
 * failing `cosignature` check per line that uses a policy witness's name
 * with a key ID of no policy key of that name (an impersonation), then
 * `witness_quorum`. Lines by keys not in the policy are claims: listed,
 * never checked, never counted. As verifier/src/bundle/signatures.rs.
 */
export async function cosignatureChecks(d, policy, now) {
  const checks = [];
  const facts = [];
  const cp = d.checkpoint.ok;
  const newest = newestLedgerTime(d);
  let have = 0;
  for (const g of policy.groups) {
    const first = g.entries[0];
    const who = plain(first.name);
    const fact = {
      name: first.name, names: g.entries.map((e) => e.name), vkey: first.vkey, vkeys: g.entries.map((e) => e.vkey),
      key_id: first.keyIdHex, trusted: true, status: null, cosigned_at: null, cosigned_unix: null,
    };
    facts.push(fact);
    const emit = (status, detail) => {
      fact.status = status;
      checks.push(check('cosignature', first.name, status, m('c.cosig.title', { who }), detail));
    };
    if (d.checkpoint.err) {
      emit('fail', m('c.cosig.undecodable', { who, why: d.checkpoint.err }));
      continue;
    }
    // Every line by the key must verify and be dated plausibly (no line
    // before the newest entry, none ahead of the clock); the first is shown.
    let bad = null;
    let ok = null;
    for (const s of cp.note.sigs) {
      const e = g.entries.find((x) => matches(x, s));
      if (!e) continue;
      const key = plainFull(e.vkey);
      const r = await anyCosignatureLine(e, cp, s);
      if (r.err) bad = m('c.cosig.invalid', { who: plain(e.name), why: r.err, key });
      else if (newest && r.time < newest[0]) bad = m('c.cosig.before_entries', { who: plain(e.name), at: unixToRfc3339(r.time), newest: newest[1], key });
      else if (r.time > BigInt(now) + COSIG_SKEW_SECS) bad = m('c.cosig.future', { who: plain(e.name), at: unixToRfc3339(r.time), key });
      if (bad) break;
      ok ??= [r.time, e];
    }
    if (!bad && !ok) continue;
    if (bad) {
      emit('fail', bad);
      continue;
    }
    emit('pass', m('c.cosig.ok', { who: plain(ok[1].name), at: unixToRfc3339(ok[0]), key: plainFull(ok[1].vkey), source: policy.source }));
    fact.cosigned_at = unixToRfc3339(ok[0]);
    fact.cosigned_unix = Number(ok[0]);
    have++;
  }
  for (const s of cp ? cp.note.sigs : []) {
    const named = policy.witnesses.filter((w) => w.name === s.name);
    if (named.length === 0 || named.some((w) => matches(w, s))) continue;
    const who = plain(s.name);
    checks.push(check('cosignature', s.name, 'fail', m('c.cosig.title', { who }),
      m('c.cosig.impostor', { who, id: s.keyIdHex, keys: named.map((w) => plainFull(w.vkey)) })));
  }
  const need = policy.quorum;
  const distinct = policy.groups.length;
  const quorumDetail = need === 0
    ? m('c.quorum.no_witnesses')
    : have >= need
      ? m('c.quorum.ok', { have, need, distinct })
      : m('c.quorum.bad', { have, need, distinct });
  checks.push(check('witness_quorum', null, have >= need, m('c.quorum.title'), quorumDetail));
  return { checks, facts, have, need };
}

/** Witnesses the bundle names (its list, and lines of its checkpoint) that
 * the policy does not: claims, shown as such, never with a time. */
export function witnessClaims(b, d, policy) {
  const claims = [];
  const inPolicy = (name, id) => policy.witnesses.some((w) => w.name === name && w.keyIdHex === id);
  for (const w of d.witnesses) {
    if (inPolicy(w.name, w.keyIdHex)) continue;
    const signed = Boolean(d.checkpoint.ok && d.checkpoint.ok.note.sigs.some((s) => matches(w, s)));
    claims.push({ name: w.name, vkey: w.vkey, key_id: w.keyIdHex, trusted: false, line: signed });
  }
  const logKey = d.logKey.ok;
  for (const s of d.checkpoint.ok ? d.checkpoint.ok.note.sigs : []) {
    // Lines in a policy witness's name are checked (impersonations fail).
    if (policy.witnesses.some((w) => w.name === s.name) || (logKey && matches(logKey, s))) continue;
    if (claims.some((c) => c.name === s.name && c.key_id === s.keyIdHex)) continue;
    claims.push({ name: s.name, vkey: null, key_id: s.keyIdHex, trusted: false, line: true });
  }
  return claims;
}
