// The `completeness` check (record v3, docs/bundle-format.md §7.5): the
// contract's chain over the bundle's entries, in bundle order, from the
// contract's first entry, without a gap; "through completion" when it
// holds the `completed` entry. Twin of verifier/src/bundle/completeness.rs.

import { m } from '../error.js';
import { eqBytes } from '../std.js';
import { check } from '../report.js';

const sameHash = (a, b) => a !== null && b !== null && a !== undefined && b !== undefined && eqBytes(a, b);

/** A report_issued entry: chained among the contract's reports, not in its chain (completeness.rs is_report). */
const isReport = (e) => Boolean(e.leaf.ok) && e.leaf.ok.event.kind === 'report_issued';

/** The gap at the start of the chain, if any (completeness.rs start_gap). */
function startGap(before, first, chain) {
  if (chain.seq === 0) return null;
  // Before the contract's first chained entry, a chained entry is a report entry (its own chain).
  const counted = before.filter((e) => !(e.record && e.record.chain)).length;
  const linked = chain.prev !== null && before.some((e) => sameHash(e.leafHash, chain.prev));
  if (linked && counted >= chain.seq) return null;
  if (counted >= chain.seq) return m('g.start_link', { i: first.index, seq: chain.seq });
  return m('g.start', { i: first.index, seq: chain.seq, from: 0, to: chain.seq - 1, held: counted });
}

/**
 * `completeness` and its fact, or null when the bundle opens no v3 record.
 * d.entries carry `record` (parsed, with `chain`) once their record opened.
 */
export function completenessCheck(d) {
  const chained = [];
  d.entries.forEach((e, pos) => {
    if (e.record && e.record.chain && !isReport(e)) chained.push({ pos, e, c: e.record.chain });
  });
  if (chained.length === 0) return null;
  const first = chained[0];
  const last = chained[chained.length - 1];
  const gaps = [];
  const start = startGap(d.entries.slice(0, first.pos), first.e, first.c);
  if (start) gaps.push(start);
  for (let k = 1; k < chained.length; k++) {
    const { e: a, c: ac } = chained[k - 1];
    const { e: b, c: bc } = chained[k];
    if (bc.seq <= ac.seq) gaps.push(m('g.order', { a: a.index, as: ac.seq, b: b.index, bs: bc.seq }));
    else if (bc.seq > ac.seq + 1) gaps.push(m('g.gap', { a: a.index, as: ac.seq, b: b.index, bs: bc.seq, from: ac.seq + 1, to: bc.seq - 1 }));
    else if (!sameHash(bc.prev, a.leafHash)) gaps.push(m('g.link', { a: a.index, b: b.index, bs: bc.seq }));
  }
  const completed = chained.find((x) => x.e.leaf.ok && x.e.leaf.ok.event.kind === 'completed') ?? null;
  const complete = gaps.length === 0;
  const fact = {
    complete, from_entry: first.e.index, to_entry: last.e.index, entries: last.c.seq + 1,
    through_completion: complete && completed !== null, gaps,
  };
  let detail;
  if (!complete) detail = m('c.complete.bad', { gaps });
  else if (completed) detail = m('c.complete.sealed', { from: first.e.index, to: last.e.index, n: last.c.seq + 1, c: completed.e.index, sealed: completed.c.seq + 1 });
  else detail = m('c.complete.open', { from: first.e.index, to: last.e.index, n: last.c.seq + 1 });
  return { check: check('completeness', null, complete, m('c.complete.title'), detail), fact };
}
