// The `attestations` check (one per entry): each issuer's signature against
// the key your policy pins for it, else the key the bundle lists; and the
// timeline entries and parties rebuilt from the readable entries.
// Twin of verifier/src/bundle/attestations.rs.

import { m } from '../error.js';
import { b64decode } from '../hash.js';
import { ed25519Verify } from '../ed25519.js';
import { attestationMessage } from '../attest.js';
import { check, plain, describeAttestation } from '../report.js';
import { sm2VerifyRaw } from '../sm.js';

/** The issuer name of the log's own attestations (ledger LOG_ISSUER). */
const LOG_ISSUER = 'evidence-ledger';

/** attestations.rs sm2_log_attestation: the log's own attestation of an
 * `sm2-sm3` log is SM2 `r || s` under a log key the policy pins, never a
 * key the bundle lists. Undefined for every other attestation and under an
 * Ed25519 policy; else the pinned key that verifies it, or null. */
function sm2LogKey(a, msg, policy) {
  if (a.issuer !== LOG_ISSUER || policy.suite !== 'sm2-sm3') return undefined;
  const sig = b64decode(a.signature);
  const k = sig ? policy.logs.find((l) => l.sm2 && sm2VerifyRaw(l.key, sig, msg)) : undefined;
  return k ? { b64: k.vkey, source: 'policy' } : null;
}

/** The key an attestation is checked with: the policy's pin for its
 * issuer, else the bundle's key (vouched for by the log's signature). */
function issuerKey(name, d, policy) {
  const pinned = policy.issuers.get(name);
  if (pinned) return { ...pinned, source: 'policy' };
  const k = d.issuers.get(name);
  return k ? { ...k, source: 'bundle' } : null;
}

export async function attestationCheck(e, d, policy) {
  const title = m('c.att.title', { i: e.index });
  const subject = String(e.index);
  if (e.erased) {
    // An erased entry's record is gone: no attestation to check (no
    // check, as in Rust); the timeline says what its marker says.
    return { check: null, entry: { index: e.index, ledger_time: e.raw.ok ? e.raw.ok.ledger_time : '', erased: e.erased, attestations: [] } };
  }
  if (e.redacted) {
    // A subject erasure took its actor and attestations: nothing to check
    // (no check, as in Rust); the timeline keeps its kind and time.
    const l = e.redacted.entry;
    return { check: null, entry: { index: e.index, ledger_time: l.ledger_time, kind: l.event.kind, event_id: l.event.event_id, actor_id: l.event.actor.id, actor_display: l.event.actor.display, attestations: [], v2: true, identity: null, identity_not_included: false, redacted: true } };
  }
  if (e.leaf.err) return { check: check('attestations', subject, false, title, m('c.att.unreadable')), entry: null };
  const ev = e.leaf.ok.event;
  const facts = [];
  for (let j = 0; j < ev.attestations.length; j++) {
    const a = ev.attestations[j];
    const msg = attestationMessage(ev, j, e.leaf.ok.tenant);
    const own = sm2LogKey(a, msg, policy);
    const key = own === undefined ? issuerKey(a.issuer, d, policy) : own;
    let why = null;
    if (own === null) why = m('c.att.bad_sig', { issuer: plain(a.issuer), key: 'SM2', source: 'policy' });
    else if (!key) why = m('c.att.no_key', { issuer: plain(a.issuer) });
    else if (own === undefined && !(await ed25519Verify(key.cryptoKey, b64decode(a.signature), msg))) {
      why = m('c.att.bad_sig', { issuer: plain(a.issuer), key: key.b64, source: key.source });
    }
    facts.push({
      issuer: a.issuer, claim: a.claim, description: describeAttestation(ev, a), valid: why === null, why,
      key: key ? key.b64 : null, key_source: key ? key.source : null, version: a.v === 2 ? 2 : 1,
    });
  }
  // What each signature binds, said next to it (v1: no tenant, contract or actor).
  const said = (f) => m(f.version === 2 ? 'a.v2' : 'a.v1', { what: f.description });
  const bad = facts.filter((f) => !f.valid).map((f) => m('c.att.item', { what: said(f), why: f.why }));
  const keys = facts.filter((f) => f.valid).map((f) => m('c.att.key', { issuer: plain(f.issuer), key: f.key, source: f.key_source }));
  const detail = facts.length === 0
    ? m('c.att.none', { kind: ev.kind })
    : bad.length === 0 ? m('c.att.ok', { all: facts.map(said), keys }) : m('c.att.bad', { bad });
  const l = e.leaf.ok;
  const entry = {
    index: e.index, ledger_time: l.ledger_time, kind: ev.kind, event_id: ev.event_id,
    actor_id: ev.actor.id, actor_display: ev.actor.display, attestations: facts,
    v2: Boolean(l.v2), identity: l.identity ?? null, identity_not_included: Boolean(e.identityCommitted && !e.identity),
  };
  return { check: check('attestations', subject, bad.length === 0, title, detail), entry };
}

/** The parties of the readable entries, in order of first appearance. */
export function parties(entries) {
  const out = [];
  for (const [, l] of entries) {
    const a = l.event.actor;
    const signed = l.event.kind === 'signed';
    const p = out.find((x) => x.id === a.id);
    if (p) {
      p.signed ||= signed;
      p.identity ??= l.identity ?? null;
    } else out.push({ id: a.id, display: a.display, commitment: a.commitment, signed, identity: l.identity ?? null });
  }
  return out;
}
