// The `attestations` check (one per entry): each issuer's signature against
// the key your policy pins for it, else the key the bundle lists, or, for
// an SM2 issuer certified by X.509, against its certificate chained to a
// `ca` root your policy pins at the entry's time (x509sm2.js); and the
// timeline entries and parties rebuilt from the readable entries.
// Twin of verifier/src/bundle/attestations.rs.

import { errMsg, m } from '../error.js';
import { b64decode } from '../hash.js';
import { verifyIssuerSignature } from '../anykey.js';
import { attestationMessage, identityDigest } from '../attest.js';
import { check, plain, describeAttestation } from '../report.js';
import { sm2VerifyRaw } from '../sm.js';
import { parseLedgerTime } from '../entry.js';
import { verifySm2Chain } from '../x509sm2.js';

/** The issuer name of the log's own attestations (ledger LOG_ISSUER). */
const LOG_ISSUER = 'evidence-ledger';

/** attestations.rs candidate_keys: the keys an attestation's issuer may
 * have signed with. The log's own attestation of an `sm2-sm3` log: the SM2
 * log keys the policy pins, never a key the bundle lists; else the
 * policy's pin for the issuer, else the bundle's key (vouched for by the
 * log's signature). None for a certified issuer. Each {b64, source} and
 * either sm2Point (SM2) or cryptoKey (Ed25519). */
function candidateKeys(name, d, policy) {
  if (name === LOG_ISSUER && policy.suite === 'sm2-sm3') {
    return policy.logs.filter((l) => l.sm2).map((l) => ({ b64: l.vkey, source: 'policy', sm2Point: l.key }));
  }
  const pinned = policy.issuers.get(name);
  if (pinned) return [{ b64: pinned.b64, cryptoKey: pinned.cryptoKey, source: 'policy' }];
  const k = d.issuers.get(name);
  return k ? [{ b64: k.b64, cryptoKey: k.cryptoKey, source: 'bundle' }] : [];
}

/** issuer.rs check_attestation, as attestations.rs attest_one runs it:
 * {key: {b64, source}} when it holds (b64 says by what), or {why}. */
async function attestOne(a, msg, at, d, policy) {
  const sig = b64decode(a.signature);
  const candidates = candidateKeys(a.issuer, d, policy);
  const issuer = plain(a.issuer);
  if ('certificate' in a) {
    if (candidates.length > 0) return { why: m('r.cert', { what: 'registered', issuer }) };
    try {
      const c = await verifySm2Chain(a.certificate.map(b64decode), policy.cas, at);
      const subject = plain(c.subject);
      if (c.commonName !== a.issuer) return { why: m('r.cert', { what: 'name', subject, issuer }) };
      if (!sm2VerifyRaw(c.point, sig, msg)) return { why: m('r.cert', { what: 'signature', subject }) };
      return { key: { b64: c.subject, source: 'policy' }, cert: { subject, serial: c.serial, ca: plain(c.ca) } };
    } catch (e) {
      return { why: errMsg(e) };
    }
  }
  if (candidates.length === 0) return { why: m('c.att.no_key', { issuer }) };
  for (const k of candidates) if (await verifyIssuerSignature(k, sig, msg)) return { key: k };
  const sm2Log = a.issuer === LOG_ISSUER && policy.suite === 'sm2-sm3';
  const last = candidates[candidates.length - 1];
  return { why: m('c.att.bad_sig', { issuer, key: sm2Log ? 'SM2' : last.b64, source: last.source }) };
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
  // A certificate is checked at the event's time: its ledger time.
  const at = Number(parseLedgerTime(e.leaf.ok.ledger_time) / 1000000n);
  // What a v2.1 attestation binds besides the event: the checkpoint's
  // origin, and the person: the digest of the identity opening (the
  // policy's suite's hash), null when the record commits to no identity,
  // withheld (undefined) when it commits to one the bundle does not open.
  const binding = {
    log: d.checkpoint.ok ? d.checkpoint.ok.origin : undefined,
    identity: e.identity ? await identityDigest(policy.suite, e.identity) : e.identityCommitted ? undefined : null,
  };
  const facts = [];
  for (let j = 0; j < ev.attestations.length; j++) {
    const a = ev.attestations[j];
    const minor = a.v === '2.1' ? 1 : 0;
    const withheld = minor === 1 && binding.identity === undefined;
    const msg = attestationMessage(ev, j, e.leaf.ok.tenant, binding);
    const { key, why, cert } = withheld ? { why: m('c.att.withheld') }
      : msg === null ? { why: m('c.att.no_log') } : await attestOne(a, msg, at, d, policy);
    facts.push({
      issuer: a.issuer, claim: a.claim, description: describeAttestation(ev, a), valid: !why, why: why ?? null,
      key: key ? key.b64 : null, key_source: key ? key.source : null, cert: cert ?? null, version: a.v === 2 || minor === 1 ? 2 : 1,
      minor, person: binding.identity !== null, unchecked: withheld,
    });
  }
  // What each signature binds, said next to it (v1: no tenant, contract or
  // actor; v2: not the person or the log; v2.1: both, or no person).
  const label = (f) => (f.version === 1 ? 'a.v1' : f.minor === 0 ? 'a.v2' : f.person ? 'a.v21' : 'a.v21_no_person');
  const said = (f) => m(label(f), { what: f.description });
  const bad = facts.filter((f) => !f.valid && !f.unchecked).map((f) => m('c.att.item', { what: said(f), why: f.why }));
  const unchecked = facts.filter((f) => f.unchecked).map(said);
  const keys = facts.filter((f) => f.valid).map((f) => (f.cert
    ? m('c.att.cert', { issuer: plain(f.issuer), ...f.cert })
    : m('c.att.key', { issuer: plain(f.issuer), key: f.key, source: f.key_source })));
  const detail = facts.length === 0
    ? m('c.att.none', { kind: ev.kind })
    : bad.length > 0 ? m('c.att.bad', { bad })
      : unchecked.length > 0 ? m('c.att.unchecked', { unchecked, held: facts.filter((f) => f.valid).map(said), keys })
        : m('c.att.ok', { all: facts.map(said), keys });
  const l = e.leaf.ok;
  const entry = {
    index: e.index, ledger_time: l.ledger_time, kind: ev.kind, event_id: ev.event_id,
    actor_id: ev.actor.id, actor_display: ev.actor.display, attestations: facts,
    v2: Boolean(l.v2), identity: l.identity ?? null, identity_not_included: Boolean(e.identityCommitted && !e.identity),
  };
  // An attestation not checked fails the check, as in the Rust verifier: a
  // withheld opening must not turn a bad signature into VERIFIED.
  return { check: check('attestations', subject, bad.length === 0 && unchecked.length === 0, title, detail), entry };
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
