// The `commitments` check of a bundle v2 (one per entry): a v2 leaf says
// something only once its record opens it; identity openings; `erased`
// markers and the document erasure they name (docs/bundle-format.md §7).
// Twin of verifier/src/bundle/commitments.rs.

import { m, attempt } from '../error.js';
import { b64encode, sha256 } from '../hash.js';
import { isObject } from '../jcs.js';
import { openLeaf, openIdentity } from '../v2.js';
import { check, plain } from '../report.js';

/**
 * The opening of an entry of a bundle v2 whose leaf is v2 (commitments.rs
 * decode_entry_v2): its `erased` marker, else its record, then its
 * identity opening. Fills in `out`, the entry decodeEntry (decode.js) began.
 */
export async function openEntryV2(e, out) {
  const { raw } = out;
  const i = e.index;
  const has = (k) => k in e;
  // (The shape rules leave no record beside a marker, no identity without a record.)
  if (has('erased')) {
    out.erased = e.erased;
    out.leaf = { err: m('r.leaf', { what: 'erased' }) };
    return out;
  }
  if (!has('record')) {
    out.leaf = { err: m('r.leaf', { what: 'no_record' }) };
    out.opening.push(m('p.no_record', { i }));
    return out;
  }
  const opened = await attempt(() => openLeaf(raw.ok, e.record));
  if (opened.err) {
    out.leaf = { err: m('r.leaf', { what: 'unopened' }) };
    out.opening.push(m('p.record', { i, why: opened.err }));
    return out;
  }
  out.leaf = { ok: opened.ok.entry };
  out.record = opened.ok.record;
  if (opened.ok.record.redacted.length) {
    // A subject erasure redacted its actor and attestations (commitments.rs
    // decode_entry_v2): it opens the leaf and names its contract, but is
    // no event to check.
    out.redacted = { entry: opened.ok.entry, names: opened.ok.record.redacted };
    out.leaf = { err: m('r.leaf', { what: 'redacted' }) };
  }
  // The record commits to an identity the bundle does not open (a summary, or erased).
  out.identityCommitted = Boolean(opened.ok.record.identity_commitment);
  if (has('identity')) {
    const id = await attempt(() => openIdentity(opened.ok.record, e.identity));
    if (id.err) out.opening.push(m('p.identity', { i, why: id.err }));
    else {
      out.identity = id.ok;
      out.leaf.ok.identity = id.ok;
    }
  }
  return out;
}

/**
 * `commitments`, one per entry of a bundle v2 (docs/evidence-v2.md
 * "Implementation decisions"; docs/bundle-format.md §7.3;
 * verifier/src/bundle/commitments.rs): its record opens its leaf, its
 * identity opening opens the record, and an `erased` marker names an entry
 * of the bundle with a larger index that is an opened v2 `erased` entry (a
 * document erasure) of this tenant and contract, whose time, actor and
 * reason the marker repeats, and whose claim lists exactly the entries of
 * the bundle whose markers name it (`entries`: their number,
 * `entries_sha256`: SHA-256 of their indices), so that no other leaf of the
 * log passes for an erased entry of the contract.
 */
export async function commitmentsChecks(b, d) {
  const byIndex = new Map(d.entries.map((e) => [e.index, e]));
  const otherPerson = samePersonProblems(d.entries);
  // The entries each erasure entry is said to have erased, hashed once.
  const named = new Map();
  for (const e of d.entries) {
    if (!e.erased) continue;
    const k = e.erased.entry;
    if (!named.has(k)) named.set(k, []);
    named.get(k).push(e.index);
  }
  const marked = new Map();
  for (const [k, s] of named) marked.set(k, { count: s.length, sha256: await erasedIndicesSha256(s) });
  return d.entries.map((e) => {
    const problems = [...e.opening, ...(otherPerson.get(e.index) ?? [])];
    let detail = null;
    if (e.erased) {
      const mk = e.erased;
      const t = byIndex.get(mk.entry);
      const l = t?.leaf.ok;
      const why = [];
      let listed = null;
      if (!t) why.push('missing');
      else {
        if (mk.entry <= e.index) why.push('not_later');
        if (!l || !l.v2 || l.event.kind !== 'erased') why.push('not_erasure');
        else {
          if (l.tenant !== b.tenant || l.event.document_id !== b.document_id) why.push('other_document');
          const claim = documentErasure(l.event);
          if (claim === null) why.push('not_document_erasure');
          else {
            if (mk.reason !== claim.reason) why.push('reason');
            const s = marked.get(mk.entry);
            if (claim.entries === null) why.push('unlisted');
            else if (claim.entries.count !== s.count || claim.entries.sha256 !== s.sha256) {
              listed = m('p.erased_list', { j: mk.entry, n: claim.entries.count, hash: plain(claim.entries.sha256), m: s.count, got: s.sha256 });
            }
          }
          if (mk.at !== l.ledger_time) why.push('at');
          if (mk.by !== l.event.actor.id) why.push('by');
        }
      }
      for (const w of why) problems.push(m('p.erased', { i: e.index, j: mk.entry, why: w }));
      if (listed) problems.push(listed);
      detail = m('c.commit.erased', { at: plain(mk.at), by: plain(mk.by), reason: plain(mk.reason), j: mk.entry });
    } else if (e.record) {
      const identity = e.identity ? 'opened' : e.identityCommitted ? 'not_included' : 'none';
      detail = m('c.commit.opened', { tenant: plain(e.record.tenant), commitment: b64encode(e.raw.ok.commitment), identity, redacted: e.redacted ? e.redacted.names : [] });
    } else {
      detail = m('c.commit.v1');
    }
    const title = m('c.commit.title', { i: e.index });
    if (problems.length) return check('commitments', String(e.index), false, title, m('c.commit.bad', { problems }));
    return check('commitments', String(e.index), true, title, detail);
  });
}

/**
 * One actor, one person: every identity opening of an actor id must name
 * the person (name, ID type and number) its first opening names. Returns
 * the problems by entry index.
 */
function samePersonProblems(entries) {
  const first = new Map();
  const out = new Map();
  for (const e of entries) {
    const leaf = e.leaf?.ok;
    if (!e.identity || !leaf) continue;
    const person = JSON.stringify([e.identity.name, e.identity.id_type, e.identity.id_number]);
    const actor = leaf.event.actor.id;
    const seen = first.get(actor);
    if (!seen) first.set(actor, [e.index, person]);
    else if (seen[1] !== person) out.set(e.index, [m('p.other_person', { j: seen[0], who: plain(actor) })]);
  }
  return out;
}

/**
 * Standard base64 of SHA-256 over the 8-byte big-endian `indices` in
 * ascending order: what a document erasure's claim gives as
 * `entries_sha256` (docs/bundle-format.md §7.3).
 */
export async function erasedIndicesSha256(indices) {
  const sorted = [...indices].sort((x, y) => x - y);
  const bytes = new Uint8Array(8 * sorted.length);
  const view = new DataView(bytes.buffer);
  sorted.forEach((i, p) => view.setBigUint64(8 * p, BigInt(i)));
  return b64encode(await sha256(bytes));
}

/**
 * The first document erasure claim of an `erased` event
 * (claim.erasure, scope "document"): its reason, and the entries it lists
 * ({count, sha256}, or null when `entries` is no non-negative integer or
 * `entries_sha256` no string); null when there is none.
 */
function documentErasure(ev) {
  for (const a of ev.attestations) {
    const x = a.claim.erasure;
    if (!isObject(x) || x.scope !== 'document' || typeof x.reason !== 'string') continue;
    const listed = Number.isSafeInteger(x.entries) && x.entries >= 0 && typeof x.entries_sha256 === 'string';
    return { reason: x.reason, entries: listed ? { count: x.entries, sha256: x.entries_sha256 } : null };
  }
  return null;
}
