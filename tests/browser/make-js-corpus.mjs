// Writes the hand-made conformance cases verifier/testdata/conformance/js-*.json
// (the rest of the corpus is generated from Rust). Deterministic: keys come
// from one-byte seeds, so rerunning gives the same files.
//
//   node tests/browser/make-js-corpus.mjs
//
// Each case's `expect` is what docs/trust-policy.md says every verifier
// answers, the page's included.
import { writeFileSync, mkdirSync } from 'node:fs';
import * as f from './fixtures.mjs';
import { b64encode } from '../../web/verifier.js';

const OUT = new URL('../../verifier/testdata/conformance/', import.meta.url);
const NOW = f.LEDGER_UNIX + 1000;
const ORIGIN = 'log.example/evidence';

const log = await f.logSigner(ORIGIN, 1);
const forger = await f.logSigner(ORIGIN, 66);
const w1 = await f.witnessSigner('notary.example/w1', 7);
const w2 = await f.witnessSigner('court.example/w2', 8);
const alias = await f.witnessSigner('alias.example/w1', 7);
const impostor = await f.witnessSigner('notary.example/w1', 9);
const leaf = f.registeredLeaf();
const policy = (...lines) => `${lines.join('\n')}\n`;
const trusted = policy(`log ${log.vkey}`, `witness ${w1.vkey}`);
const genuine = () => f.makeBundle({ log, leaves: [leaf], cosigners: [{ w: w1, t: f.LEDGER_UNIX + 100 }], witnesses: [w1] });

const cases = {
  'js-genuine-verified': {
    description: 'A genuine bundle, checked against a policy with the real log key and its witness: verified.',
    bundle: await genuine(), policy: trusted,
    expect: { verdict: 'verified', fail: [], unanchored: [] },
  },
  'js-self-keyed-no-policy': {
    description: 'A bundle forged end to end with its own log key, checked without a policy: the signature verifies only under the bundle\'s own key.',
    bundle: await f.makeBundle({ log: forger, leaves: [leaf] }), policy: '',
    expect: { verdict: 'no_trusted_log_key', fail: [], unanchored: ['log_signature'] },
  },
  'js-self-keyed-vs-policy': {
    description: 'The same forged bundle (same origin, a key of its own), checked against the real log key: not the log you trust.',
    bundle: await f.makeBundle({ log: forger, leaves: [leaf] }), policy: policy(`log ${log.vkey}`),
    expect: { verdict: 'failed', fail: ['log_signature'], unanchored: [] },
  },
  'js-impostor-witness-line': {
    description: 'A genuine log signature with a cosignature line named like the trusted witness but made with another key (dated 2020); the real witness did not cosign.',
    bundle: await f.makeBundle({ log, leaves: [leaf], cosigners: [{ w: impostor, t: 1577836800 }], witnesses: [impostor] }),
    policy: trusted,
    expect: { verdict: 'failed', fail: ['cosignature', 'witness_quorum'], unanchored: [] },
  },
  'js-quorum-not-met': {
    description: 'Two trusted witnesses required (quorum by default: all), one cosigned.',
    bundle: await genuine(), policy: policy(`log ${log.vkey}`, `witness ${w1.vkey}`, `witness ${w2.vkey}`),
    expect: { verdict: 'quorum_not_met', fail: ['witness_quorum'], unanchored: [] },
  },
  'js-quorum-explicit': {
    description: 'Two trusted witnesses, quorum 1, one cosigned: verified.',
    bundle: await genuine(), policy: policy(`log ${log.vkey}`, `witness ${w1.vkey}`, `witness ${w2.vkey}`, 'quorum 1'),
    expect: { verdict: 'verified', fail: [], unanchored: [] },
  },
  'js-one-key-two-names': {
    description: 'One witness key listed under two names counts once: the default quorum is 1, met by one cosignature.',
    bundle: await genuine(), policy: policy(`log ${log.vkey}`, `witness ${w1.vkey}`, `witness ${alias.vkey}`),
    expect: { verdict: 'verified', fail: [], unanchored: [] },
  },
  'js-backdated-cosignature': {
    description: 'The trusted witness\'s cosignature is dated 2020, before the entry\'s ledger_time (2026).',
    bundle: await f.makeBundle({ log, leaves: [leaf], cosigners: [{ w: w1, t: 1577836800 }], witnesses: [w1] }), policy: trusted,
    expect: { verdict: 'failed', fail: ['cosignature', 'witness_quorum'], unanchored: [] },
  },
  'js-future-cosignature': {
    description: 'The trusted witness\'s cosignature is dated 301 s after the verifier\'s clock.',
    bundle: await f.makeBundle({ log, leaves: [leaf], cosigners: [{ w: w1, t: NOW + 301 }], witnesses: [w1] }), policy: trusted,
    expect: { verdict: 'failed', fail: ['cosignature', 'witness_quorum'], unanchored: [] },
  },
  'js-checkpoint-token-garbage': {
    description: 'A checkpoint_timestamp whose token is not a TimeStampToken.',
    bundle: { ...(await genuine()), checkpoint_timestamp: { tsa: 'national-tsa', token: 'AAAA' } }, policy: trusted,
    expect: { verdict: 'failed', fail: ['checkpoint_timestamp'], unanchored: [] },
  },
  'js-event-token-garbage': {
    description: 'An event timestamp_token that is not a TimeStampToken.',
    bundle: await f.makeBundle({ log, leaves: [f.registeredLeaf({ extra: { timestamp_token: 'AAAA' } })], cosigners: [{ w: w1, t: f.LEDGER_UNIX + 100 }], witnesses: [w1] }),
    policy: trusted,
    expect: { verdict: 'failed', fail: ['event_timestamp'], unanchored: [] },
  },
  'js-event-content-token-garbage': {
    description: 'An event_timestamp_token (over the event\'s own canonical JSON) that is not a TimeStampToken.',
    bundle: await f.makeBundle({ log, leaves: [f.registeredLeaf({ extra: { event_timestamp_token: 'AAAA' } })], cosigners: [{ w: w1, t: f.LEDGER_UNIX + 100 }], witnesses: [w1] }),
    policy: trusted,
    expect: { verdict: 'failed', fail: ['event_content_timestamp'], unanchored: [] },
  },
  'js-escape-in-display': {
    description: 'A log-signed leaf whose actor display name carries ANSI escape sequences: the leaf is not a valid entry.',
    bundle: await f.makeBundle({ log, leaves: [f.registeredLeaf({ extra: { actor: { id: 'u-1', display: '\u001b[2K\u001b[1A王*', commitment: 'b'.repeat(64) } } })], cosigners: [{ w: w1, t: f.LEDGER_UNIX + 100 }], witnesses: [w1] }),
    policy: trusted,
    expect: { verdict: 'failed', fail: ['attestations', 'bundle_format', 'same_document', 'timeline'], unanchored: [] },
  },
  'js-minus-zero': {
    description: 'tree_size -0: refused by strict JSON (-0 cannot survive a JCS round trip).',
    bundle_text: JSON.stringify(await genuine()).replace('"tree_size":1', '"tree_size":-0'), policy: trusted,
    expect: { verdict: 'failed', fail: ['bundle_format'], unanchored: [] },
  },
  'js-null-tree-size': {
    description: 'tree_size null: an optional member is absent or has its type; null is refused.',
    bundle: { ...(await genuine()), tree_size: null }, policy: trusted,
    expect: { verdict: 'failed', fail: ['bundle_format'], unanchored: [] },
  },
};

// Where the two verifiers once differed (issue 11): small-order keys, key
// names with U+0085 (white space to Rust) or U+FEFF (not), lengths counted
// in Unicode scalar values.
const identity = new Uint8Array(32);
identity[0] = 1;
const weakLog = { name: ORIGIN, key: { raw: identity, sign: log.key.sign }, ...(await f.vkeyOf(ORIGIN, 1, { raw: identity })) };
const nel = { name: 'w\u0085.example/w', ...(await f.vkeyOf('w\u0085.example/w', 4, await f.keyFromSeed(12))) };
const bom = await f.witnessSigner('w\ufeff.example/w', 13);
const withIssuer = async (key) => ({ ...(await genuine()), issuers: [{ name: 'idp-gov', public_key: key }] });
const display = (n) => f.registeredLeaf({ extra: { actor: { id: 'u-1', display: '\u{1F600}'.repeat(n), commitment: 'b'.repeat(64) } } });
Object.assign(cases, {
  'js-small-order-log-key': {
    description: 'A log_vkey whose key is the identity point (small order): it decodes, but no signature under it verifies; checked without a policy.',
    bundle: await f.makeBundle({ log: weakLog, leaves: [leaf] }), policy: '',
    expect: { verdict: 'failed', fail: ['log_signature'], unanchored: [] },
  },
  'js-small-order-issuer-key': {
    description: 'An issuer key that is the identity point (small order) is refused by bundle_format.',
    bundle: await withIssuer(b64encode(identity)), policy: trusted,
    expect: { verdict: 'failed', fail: ['bundle_format'], unanchored: [] },
  },
  'js-key-name-u0085': {
    description: 'A witness listed under a key name holding U+0085 (NEL, white space to Rust\'s char::is_whitespace): not a valid vkey.',
    bundle: { ...(await genuine()), witnesses: [{ name: nel.name, vkey: nel.vkey }] }, policy: trusted,
    expect: { verdict: 'failed', fail: ['bundle_format'], unanchored: [] },
  },
  'js-key-name-ufeff': {
    description: 'A witness listed under a key name holding U+FEFF (not white space): a valid vkey, and only a claim.',
    bundle: { ...(await genuine()), witnesses: [{ name: w1.name, vkey: w1.vkey }, { name: bom.name, vkey: bom.vkey }] }, policy: trusted,
    expect: { verdict: 'verified', fail: [], unanchored: [] },
  },
  'js-display-64-scalars': {
    description: 'An actor display name of 64 Unicode scalar values outside the BMP (128 UTF-16 units): valid.',
    bundle: await f.makeBundle({ log, leaves: [display(64)], cosigners: [{ w: w1, t: f.LEDGER_UNIX + 100 }], witnesses: [w1] }), policy: trusted,
    expect: { verdict: 'verified', fail: [], unanchored: [] },
  },
  'js-display-65-scalars': {
    description: 'An actor display name of 65 Unicode scalar values: the leaf is not a valid entry.',
    bundle: await f.makeBundle({ log, leaves: [display(65)], cosigners: [{ w: w1, t: f.LEDGER_UNIX + 100 }], witnesses: [w1] }), policy: trusted,
    expect: { verdict: 'failed', fail: ['attestations', 'bundle_format', 'same_document', 'timeline'], unanchored: [] },
  },
  'js-anchoring-claim-not-counted': {
    description: 'A bundle whose \'anchoring\' member says the ledger\'s quorum was met, although the trusted witness did not cosign: the claim is shown, never counted.',
    bundle: { ...(await f.makeBundle({ log, leaves: [leaf] })), anchoring: { threshold: 1, required: [w1.name], cosigned_by: [w1.name], satisfied: true } },
    policy: trusted,
    expect: { verdict: 'quorum_not_met', fail: ['witness_quorum'], unanchored: [] },
  },
  'js-anchoring-null': {
    description: 'anchoring null: an optional member is absent or has its type.',
    bundle: { ...(await genuine()), anchoring: null }, policy: trusted,
    expect: { verdict: 'failed', fail: ['bundle_format'], unanchored: [] },
  },
  'js-anchoring-unknown-member': {
    description: 'An anchoring member with an unknown field is refused, as everywhere in a bundle.',
    bundle: { ...(await genuine()), anchoring: { threshold: 1, required: [], cosigned_by: [], satisfied: true, note: 'x' } }, policy: trusted,
    expect: { verdict: 'failed', fail: ['bundle_format'], unanchored: [] },
  },
});

mkdirSync(OUT, { recursive: true });
for (const [name, c] of Object.entries(cases)) {
  const out = { description: c.description };
  if (c.bundle_text !== undefined) out.bundle_text = c.bundle_text;
  else out.bundle = c.bundle;
  Object.assign(out, { policy: c.policy, now: NOW, expect: c.expect });
  writeFileSync(new URL(`${name}.json`, OUT), `${JSON.stringify(out, null, 1)}\n`);
}
console.log(`wrote ${Object.keys(cases).length} cases to ${OUT.pathname}`);
