// Unit tests of web/verifier.js under Node (same WebCrypto API as the
// browser): RFC 9162 proofs against a naive tree, strict base64 and JSON,
// RFC 8785 canonical form, signed notes, vkeys and cosignatures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import * as v from '../../web/verifier.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// RFC 3161 tokens from `openssl ts` (verifier/tests/data/tsa, made by its
// make-fixtures.sh; verifier/tests/tsa.rs checks the same ones in Rust).
const TSA_DIR = new URL('../../verifier/tests/data/tsa/', import.meta.url);
const tsaFixture = (name) => new Uint8Array(readFileSync(new URL(name, TSA_DIR)));
const TSA_ROOT_PEM = readFileSync(new URL('root-ca.pem', TSA_DIR), 'utf8');
const TSA_ROOT_B64 = TSA_ROOT_PEM.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
const GEN_TIME_UNIX = 1795882660; // 2026-11-28T16:17:40Z
const TSA_NOW = GEN_TIME_UNIX + 3600;

const subtle = webcrypto.subtle;
const utf8 = new TextEncoder();
const cat = (...p) => new Uint8Array(p.flatMap((x) => [...x]));

async function mth(leaves) {
  if (leaves.length === 1) return v.leafHash(leaves[0]);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return v.sha256(cat([1], await mth(leaves.slice(0, k)), await mth(leaves.slice(k))));
}

// RFC 9162 §2.1.3.1 PATH and §2.1.4.1 PROOF/SUBPROOF, written from the text.
async function path(m, leaves) {
  if (leaves.length === 1) return [];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  if (m < k) return [...(await path(m, leaves.slice(0, k))), await mth(leaves.slice(k))];
  return [...(await path(m - k, leaves.slice(k))), await mth(leaves.slice(0, k))];
}
async function subproof(m, leaves, b) {
  const n = leaves.length;
  if (m === n) return b ? [] : [await mth(leaves)];
  let k = 1;
  while (k * 2 < n) k *= 2;
  if (m <= k) return [...(await subproof(m, leaves.slice(0, k), b)), await mth(leaves.slice(k))];
  return [...(await subproof(m - k, leaves.slice(k), false)), await mth(leaves.slice(0, k))];
}

const leaves = Array.from({ length: 20 }, (_, i) => utf8.encode(`leaf ${i}`));

test('inclusion proofs verify, and fail when altered', async () => {
  for (let n = 1; n <= leaves.length; n++) {
    const root = await mth(leaves.slice(0, n));
    for (let i = 0; i < n; i++) {
      const p = await path(i, leaves.slice(0, n));
      const lh = await v.leafHash(leaves[i]);
      assert.ok(await v.verifyInclusion(lh, BigInt(i), BigInt(n), p, root), `${i}/${n}`);
      assert.ok(!(await v.verifyInclusion(lh, BigInt(i + 1), BigInt(n), p, root)) || n === 1);
      if (p.length) {
        const bad = p.map((h) => h.slice());
        bad[0][0] ^= 1;
        assert.ok(!(await v.verifyInclusion(lh, BigInt(i), BigInt(n), bad, root)));
        assert.ok(!(await v.verifyInclusion(lh, BigInt(i), BigInt(n), p.slice(1), root)));
      }
      assert.ok(!(await v.verifyInclusion(lh, BigInt(i), BigInt(n), [...p, root], root)));
    }
  }
});

test('consistency proofs verify, and fail when altered', async () => {
  for (let n = 1; n <= leaves.length; n++) {
    const r2 = await mth(leaves.slice(0, n));
    for (let m = 1; m <= n; m++) {
      const r1 = await mth(leaves.slice(0, m));
      const p = m === n ? [] : await subproof(m, leaves.slice(0, n), true);
      assert.ok(await v.verifyConsistency(BigInt(m), BigInt(n), p, r1, r2), `${m}->${n}`);
      if (m < n) {
        assert.ok(!(await v.verifyConsistency(BigInt(m), BigInt(n), p, r2, r2)));
        assert.ok(!(await v.verifyConsistency(BigInt(m), BigInt(n), p.slice(0, -1), r1, r2)));
      }
    }
  }
});

test('base64 is strict', () => {
  assert.deepEqual([...v.b64decode('AQID')], [1, 2, 3]);
  assert.deepEqual([...v.b64decode('AQ==')], [1]);
  for (const bad of ['AQ', 'AR==', 'AQI', 'A===', '====', 'AQ=A', 'AQ I', 'AQ-_']) assert.equal(v.b64decode(bad), null, bad);
  assert.equal(v.b64encode(new Uint8Array([1, 2])), 'AQI=');
});

test('JSON is strict and canonical form is RFC 8785', () => {
  for (const bad of ['{"a":1,"a":2}', '1.0', '1e3', '9007199254740992', '"\\ud800"', '[1,]', '{"a":1} x', '"a\u0001"', '01']) {
    assert.throws(() => v.parseStrictJson(bad), v.Fail, bad);
  }
  assert.throws(() => v.parseStrictJson('[[[1]]]', { maxDepth: 2 }), v.Fail);
  const obj = v.parseStrictJson('{"b":[true,null,-5],"a":"é\\n\\u2028","\\u00e9":1,"A":{"z":1,"__proto__":2}}');
  assert.equal(v.canonicalJson(obj), '{"A":{"__proto__":2,"z":1},"a":"é\\n\u2028","b":[true,null,-5],"é":1}');
  // Member order is by UTF-16 code units (RFC 8785 §3.2.3).
  assert.equal(v.canonicalJson(v.parseStrictJson('{"\ud83d\ude00":1,"\ufb01":2}')), '{"\ud83d\ude00":1,"\ufb01":2}');
});

async function ed25519() {
  const kp = await subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const raw = new Uint8Array(await subtle.exportKey('raw', kp.publicKey));
  return { raw, sign: async (msg) => new Uint8Array(await subtle.sign({ name: 'Ed25519' }, kp.privateKey, msg)) };
}
async function vkey(name, alg, raw) {
  const id = (await v.sha256(cat(utf8.encode(name), [0x0a, alg], raw))).subarray(0, 4);
  return { id, vkey: `${name}+${v.hex(id)}+${v.b64encode(cat([alg], raw))}` };
}

test('notes, vkeys, log signatures and cosignatures', async () => {
  const log = await ed25519();
  const wit = await ed25519();
  const lk = await vkey('log.example/x', 1, log.raw);
  const wk = await vkey('notary.example/w1', 4, wit.raw);
  const body = `log.example/x\n3\n${v.b64encode(new Uint8Array(32))}\n`;
  const ts = 1767225700n;
  const tsBytes = new Uint8Array(8);
  new DataView(tsBytes.buffer).setBigUint64(0, ts);
  const logSig = await log.sign(utf8.encode(body));
  const coSig = await wit.sign(utf8.encode(`cosignature/v1\ntime ${ts}\n${body}`));
  const note = `${body}\n— log.example/x ${v.b64encode(cat(lk.id, logSig))}\n— notary.example/w1 ${v.b64encode(cat(wk.id, tsBytes, coSig))}\n`;
  const cp = v.parseSignedCheckpoint(note);
  assert.equal(cp.size, 3n);
  const key = await v.parseVkey(lk.vkey);
  const wkey = await v.parseVkey(wk.vkey);
  assert.equal(await v.verifyNoteSignature(key, cp), null);
  assert.equal(await v.verifyCosignatures(wkey, cp), ts);
  assert.equal(v.unixToRfc3339(ts), '2026-01-01T00:01:40Z');
  const altered = v.parseSignedCheckpoint(note.replace('\n3\n', '\n4\n'));
  assert.notEqual(await v.verifyNoteSignature(key, altered), null);
  await assert.rejects(v.verifyCosignatures(wkey, altered), v.Fail);
  await assert.rejects(v.parseVkey(lk.vkey.replace(/\+[0-9a-f]{8}\+/, '+00000000+')), v.Fail);
  assert.throws(() => v.parseNote(note.replace(/— /g, '- ')), v.Fail);
  // A small-order key is refused, as verify_strict does.
  const identity = new Uint8Array(32);
  identity[0] = 1;
  assert.equal(v.isStrictPoint(identity), false);
  assert.equal(v.isStrictPoint(log.raw), true);
});

test('vkeys parse whatever their base64 holds (such as "+")', async () => {
  let plus = 0;
  for (let i = 0; i < 64; i++) {
    const k = await ed25519();
    const { vkey: vk } = await vkey('log.example/x', 1, k.raw);
    if (vk.split('+').length > 3) plus++;
    assert.deepEqual((await v.parseVkey(vk)).key, k.raw);
  }
  assert.ok(plus > 0, 'some keys had "+" in their base64');
});

test('bundles with RFC 3161 timestamps parse, and malformed ones do not', () => {
  const base = {
    format: 'evidence-bundle/v1', origin: 'o', log_vkey: 'k', tenant: 't', document_id: 'd', checkpoint: 'c',
    entries: [{ index: 0, leaf: 'AA==', inclusion: [] }], issuers: [], witnesses: [],
  };
  const bytes = (o) => utf8.encode(JSON.stringify(o));
  const stamped = {
    ...base,
    checkpoint_timestamp: { tsa: 'national-tsa', token: 'AAAA' },
    timestamp_authorities: [{ name: 'national-tsa', root_pem: '-----BEGIN CERTIFICATE-----' }],
  };
  assert.equal(v.parseBundle(bytes(stamped)).timestamp_authorities.length, 1);
  assert.throws(() => v.parseBundle(bytes({ ...base, checkpoint_timestamp: { token: 'AAAA' } })));
  assert.throws(() => v.parseBundle(bytes({ ...base, timestamp_authorities: [{ name: 'x' }] })));
  assert.throws(() => v.parseBundle(bytes({ ...base, timestamps: [] })));
});

// ---------------------------------------------------------------------------
// Trust policies, verdicts, and where the JavaScript verifier must agree
// with the Rust one (issue 11).
import * as f from './fixtures.mjs';
import { render, hasMessage } from '../../web/i18n.js';
import { moduleFiles, checkModules, findCycle } from './module-cycles.mjs';

const NOW = f.LEDGER_UNIX + 1000;
const keys = async () => ({
  log: await f.logSigner('log.example/x', 1),
  log2: await f.logSigner('log.example/x', 2),
  w1: await f.witnessSigner('notary.example/w1', 7),
  w2: await f.witnessSigner('court.example/w2', 8),
  alias: await f.witnessSigner('alias.example/w1', 7),
  impostor: await f.witnessSigner('notary.example/w1', 9),
});
const failsAt = async (text, line, k) => {
  await assert.rejects(v.parsePolicy(text), (e) => {
    assert.ok(e instanceof v.Fail, String(e));
    assert.equal(e.msg.k, 'pol.line', JSON.stringify(e.msg));
    assert.equal(e.msg.a.line, line, JSON.stringify(e.msg));
    if (k) assert.equal(e.msg.a.why.k, k, JSON.stringify(e.msg));
    return true;
  }, text);
};

test('a trust policy parses: logs, witnesses by distinct key, quorum, issuers, TSA roots', async () => {
  const k = await keys();
  const issuer = await f.keyFromSeed(5);
  const pem = TSA_ROOT_PEM.trim();
  const text = `# court policy\r\n\n  log ${k.log.vkey}   # current key\nlog ${k.log2.vkey}\nwitness ${k.w1.vkey}\nwitness ${k.alias.vkey}\n`
    + `witness ${k.w2.vkey}\nquorum 1\nissuer idp-gov ${issuer.b64}\ntsa national-tsa\n${pem}\n`;
  const p = await v.parsePolicy(text);
  assert.deepEqual(p.logs.map((x) => x.vkey), [k.log.vkey, k.log2.vkey]);
  assert.equal(p.witnesses.length, 3);
  assert.equal(p.groups.length, 2, 'one key under two names is one witness');
  assert.deepEqual(p.groups[0].entries.map((e) => e.name), ['notary.example/w1', 'alias.example/w1']);
  assert.equal(p.quorum, 1);
  assert.equal(p.quorumSet, true);
  assert.deepEqual([...p.issuers.keys()], ['idp-gov']);
  assert.deepEqual(p.issuers.get('idp-gov').raw, issuer.raw);
  assert.deepEqual(p.tsas.map((t) => t.name), ['national-tsa']);
  assert.equal(p.tsas[0].pem.replace(/\n/g, ''), pem.replace(/\n/g, ''));
  // Quorum by default: every distinct key.
  const all = await v.parsePolicy(`witness ${k.w1.vkey}\nwitness ${k.alias.vkey}\nwitness ${k.w2.vkey}\n`);
  assert.equal(all.quorum, 2);
  assert.equal(all.quorumSet, false);
  const empty = await v.parsePolicy('# nothing\n\n');
  assert.deepEqual([empty.logs, empty.witnesses, empty.quorum], [[], [], 0]);
  // Rust's str::trim: U+3000 and U+0085 are whitespace around a line.
  assert.equal((await v.parsePolicy(`\u3000log ${k.log.vkey}\u0085\n`)).logs.length, 1);
  // A leading byte order mark is ignored; a comment follows any white space.
  const bom = await v.parsePolicy(`\ufefflog ${k.log.vkey}\t# the log\r\nquorum 0\u00a0# none\n`);
  assert.deepEqual([bom.logs.length, bom.quorum, bom.quorumSet], [1, 0, true]);
  // A TSA root is kept re-encoded from its DER, 64 characters a line.
  const b64 = TSA_ROOT_B64;
  const wrapped = await v.parsePolicy(`tsa t\n-----BEGIN CERTIFICATE-----\n${b64.slice(0, 10)}\n${b64.slice(10)}\n-----END CERTIFICATE-----\n`);
  assert.equal(wrapped.tsas[0].pem, `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g).join('\n')}\n-----END CERTIFICATE-----\n`);
  assert.ok(b64.length > 128);
});

test('a trust policy is refused whole, naming the line', async () => {
  const k = await keys();
  await failsAt(`log ${k.w1.vkey}\n`, 1, 'pol.not_log');
  await failsAt(`\nwitness ${k.log.vkey}\n`, 2, 'pol.not_witness');
  await failsAt(`witness ${k.w1.vkey}\nwitness ${k.w1.vkey}\n`, 2, 'pol.twice');
  await failsAt(`log ${k.log.vkey}\n# x\nlog ${k.log.vkey}\n`, 3, 'pol.twice');
  await failsAt('frobnicate x\n', 1, 'pol.keyword');
  await failsAt('log\tx\n', 1, 'pol.keyword');
  await failsAt('log\n', 1, 'pol.arguments');
  await failsAt(`log ${k.log.vkey} ${k.log2.vkey}\n`, 1, 'pol.arguments');
  await failsAt('quorum 0\nquorum 0\n', 2, 'pol.arguments');
  await failsAt('quorum two\n', 1, 'pol.quorum_number');
  await failsAt('quorum -1\n', 1, 'pol.quorum_number');
  await failsAt('quorum +1\n', 1, 'pol.quorum_number');
  await failsAt('quorum 1234567\n', 1, 'pol.quorum_number');
  await failsAt('issuer a\rlog x AAAA\n', 1, 'pol.arguments');
  await failsAt('issuer bad\u001bname AAAA\n', 1, 'pol.name');
  await failsAt(`issuer ${'a'.repeat(129)} AAAA\n`, 1, 'pol.name');
  await failsAt('tsa na\u00e9me\n-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n', 1, 'pol.name');
  await failsAt(`witness ${k.w1.vkey}\nquorum 2\n`, 2, 'pol.quorum_large');
  await failsAt(`witness ${k.w1.vkey}\nwitness ${k.alias.vkey}\nquorum 2\n`, 3, 'pol.quorum_large');
  await failsAt('quorum 1\n', 1, 'pol.quorum_large');
  await failsAt(`log ${k.log.vkey.replace(/\+[0-9a-f]{8}\+/, '+00000000+')}\n`, 1, 'pol.vkey');
  await failsAt('issuer x AAAA\n', 1, 'pol.issuer_key');
  const key = v.b64encode((await f.keyFromSeed(5)).raw);
  await failsAt(`issuer x ${key}\nissuer x ${key}\n`, 2, 'pol.twice');
  await failsAt('issuer x\n', 1, 'pol.arguments');
  // A small-order key (the identity point) is never a trust anchor.
  const identity = new Uint8Array(32);
  identity[0] = 1;
  await failsAt(`issuer x ${v.b64encode(identity)}\n`, 1, 'pol.issuer_key');
  const weak = await f.vkeyOf('log.example/x', 1, { raw: identity });
  await failsAt(`log ${weak.vkey}\n`, 1, 'pol.weak');
  await failsAt('tsa t\nnot pem\n', 1, 'pol.pem_begin');
  await failsAt('tsa t\n-----BEGIN CERTIFICATE-----\nMAA=\n', 1, 'pol.pem_end');
  await failsAt('tsa t\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 1, 'pol.pem_shape');
  await failsAt(`tsa t\n${TSA_ROOT_PEM.trim()}\ntsa t\n${TSA_ROOT_PEM.trim()}\n`, 2 + TSA_ROOT_PEM.trim().split('\n').length, 'pol.twice');
  // A DER SEQUENCE that is no X.509 certificate is refused, as in Rust.
  await failsAt('tsa t\n-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n', 1, 'pol.pem_shape');
  await failsAt(`tsa t\n-----BEGIN CERTIFICATE-----\n${'A'.repeat(16400)}\n-----END CERTIFICATE-----\n`, 1, 'pol.pem_size');
  let many = '';
  for (let i = 0; i < 17; i++) many += `log ${(await f.logSigner('log.example/x', 20 + i)).vkey}\n`;
  await failsAt(many, 17, 'pol.too_many');
  await assert.rejects(v.parsePolicy('#'.repeat(v.MAX_POLICY_BYTES + 1)), (e) => e.msg.k === 'pol.size');
});

/** A genuine one-entry bundle: log seed 1, witness w1 cosigned at +100 s. */
async function genuine(k, opts = {}) {
  return f.makeBundle({ log: k.log, leaves: [f.registeredLeaf()], cosigners: [{ w: k.w1, t: f.LEDGER_UNIX + 100 }], witnesses: [k.w1], ...opts });
}
const verify = async (bundle, policyText, extra = {}) => v.verifyBundle(
  bundle instanceof Uint8Array ? bundle : f.bytesOf(bundle),
  { policy: await v.parsePolicy(policyText), now: NOW, ...extra },
);
const statuses = (r) => r.checks.map((c) => `${c.id}${c.subject ? `:${c.subject}` : ''}=${c.status}`);

test('check order and statuses: log key anchored, unanchored, or not the trusted one', async () => {
  const k = await keys();
  const trusted = await verify(await genuine(k), `log ${k.log.vkey}\nwitness ${k.w1.vkey}\n`, { documentHash: f.DOC_HASH });
  assert.deepEqual(statuses(trusted), [
    'bundle_format=pass', 'same_document=pass', 'document_hash=pass', 'log_signature=pass',
    'cosignature:notary.example/w1=pass', 'witness_quorum=pass', 'inclusion:0=pass', 'attestations:0=pass', 'timeline=pass',
  ]);
  assert.equal(trusted.verdict.status, 'verified');
  assert.equal(trusted.passed, true);
  // Every signature check names the full vkey it was checked against.
  const log = trusted.checks.find((c) => c.id === 'log_signature');
  assert.ok(render(log.detail, 'en').includes(k.log.vkey), render(log.detail, 'en'));
  assert.ok(render(log.detail, 'zh').includes(k.log.vkey));
  const cos = trusted.checks.find((c) => c.id === 'cosignature');
  assert.ok(render(cos.detail, 'en').includes(k.w1.vkey));
  assert.deepEqual(trusted.witnesses.map((w) => [w.name, w.vkey, w.key_id, w.trusted, w.cosigned_at]),
    [['notary.example/w1', k.w1.vkey, v.hex(k.w1.id), true, '2026-01-01T00:01:40Z']]);
  assert.deepEqual(trusted.trust.logs, [k.log.vkey]);
  assert.equal(trusted.trust.quorum, 1);

  const none = await verify(await genuine(k), '');
  assert.equal(none.checks.find((c) => c.id === 'log_signature').status, 'unanchored');
  assert.equal(none.verdict.status, 'no_trusted_log_key');
  assert.equal(none.passed, false);
  assert.ok(!none.checks.some((c) => c.id === 'cosignature'), 'bundle witnesses are never checked');
  assert.equal(none.checks.find((c) => c.id === 'witness_quorum').status, 'pass');
  assert.deepEqual(none.claims.witnesses.map((w) => [w.name, w.trusted, w.line]), [['notary.example/w1', false, true]]);
  assert.ok(!('cosigned_at' in none.claims.witnesses[0]), 'a claim never shows a countersignature time');
  assert.equal(none.claims.log_key, k.log.vkey);
  assert.ok(render(none.checks.find((c) => c.id === 'log_signature').detail, 'en').includes(k.log.vkey));

  const other = await verify(await genuine(k), `log ${k.log2.vkey}\n`);
  assert.equal(other.checks.find((c) => c.id === 'log_signature').status, 'fail');
  assert.equal(other.verdict.status, 'failed');
  const detail = render(other.checks.find((c) => c.id === 'log_signature').detail, 'en');
  assert.ok(detail.includes(k.log.vkey) && detail.includes(k.log2.vkey), detail);

  // A bad signature under the bundle's own key fails, anchored or not.
  const b = await genuine(k);
  b.checkpoint = b.checkpoint.replace(/\n— log\.example\/x (\S)/, (all, c) => all.slice(0, -1) + (c === 'A' ? 'B' : 'A'));
  for (const p of ['', `log ${k.log.vkey}\n`]) {
    const r = await verify(b, p);
    assert.equal(r.checks.find((c) => c.id === 'log_signature').status, 'fail', p);
    assert.equal(r.verdict.status, 'failed');
  }
});

test('cosignatures: policy keys only, by key not name, times bounded, impostors fail', async () => {
  const k = await keys();
  const policy = `log ${k.log.vkey}\nwitness ${k.w1.vkey}\n`;
  // A real line plus an invented one named like the witness: the real one
  // counts, the invented one is a failing check of its own (as Rust).
  const invented = await genuine(k, { cosigners: [{ w: k.w1, t: f.LEDGER_UNIX + 100 }, { w: k.impostor, t: 1577836800 }] });
  const r = await verify(invented, policy);
  assert.deepEqual(statuses(r).filter((s) => /cosig|quorum/.test(s)),
    ['cosignature:notary.example/w1=pass', 'cosignature:notary.example/w1=fail', 'witness_quorum=pass']);
  const fake = r.checks.find((c) => c.id === 'cosignature' && c.status === 'fail');
  assert.match(render(fake.detail, 'en'), new RegExp(`key ID ${v.hex(k.impostor.id)} .*impersonates`));
  assert.equal(r.verdict.status, 'failed');
  assert.deepEqual(r.witnesses.map((w) => w.cosigned_at), ['2026-01-01T00:01:40Z'], 'only the real line is timed');
  assert.ok(!r.claims.witnesses.some((w) => w.key_id === v.hex(k.impostor.id)), 'an impersonation is a failed check, not a claim');
  // Only the invented line: no check of the real witness, the impostor fails, the quorum fails.
  const only = await verify(await genuine(k, { cosigners: [{ w: k.impostor, t: 1577836800 }] }), policy);
  assert.deepEqual(statuses(only).filter((s) => /cosig|quorum/.test(s)), ['cosignature:notary.example/w1=fail', 'witness_quorum=fail']);
  // Lines by keys outside the policy are claims: never checked, never counted.
  const stranger = await f.witnessSigner('stranger.example/w', 11);
  const extra = await verify(await genuine(k, { cosigners: [{ w: stranger, t: 1 }] }), `log ${k.log.vkey}\n`);
  assert.equal(extra.verdict.status, 'verified');
  assert.deepEqual(extra.claims.witnesses.map((w) => [w.name, w.key_id, w.trusted]), [['notary.example/w1', v.hex(k.w1.id), false], ['stranger.example/w', v.hex(stranger.id), false]]);
  // Two names, one key: one witness, whichever name signed.
  const byAlias = await genuine(k, { cosigners: [{ w: k.alias, t: f.LEDGER_UNIX + 100 }], witnesses: [k.alias] });
  const two = await verify(byAlias, `log ${k.log.vkey}\nwitness ${k.w1.vkey}\nwitness ${k.alias.vkey}\nwitness ${k.w2.vkey}\nquorum 2\n`);
  assert.equal(two.verdict.status, 'quorum_not_met');
  assert.match(render(two.verdict.reasons[0], 'en'), /Only 1 trusted witness\(es\) countersigned the checkpoint, but 2 are required/);
  assert.equal((await verify(byAlias, `log ${k.log.vkey}\nwitness ${k.w1.vkey}\nwitness ${k.alias.vkey}\n`)).verdict.status, 'verified');
  // Times: not before the newest ledger_time (whole seconds), not > now + 300 s.
  for (const [t, want] of [[f.LEDGER_UNIX - 1, 'fail'], [f.LEDGER_UNIX, 'pass'], [NOW + 300, 'pass'], [NOW + 301, 'fail']]) {
    const b = await genuine(k, { cosigners: [{ w: k.w1, t }] });
    assert.equal((await verify(b, policy)).checks.find((c) => c.id === 'cosignature').status, want, String(t));
  }
  // Every line of a trusted key is dated plausibly, not only the first.
  const second = await genuine(k, { cosigners: [{ w: k.w1, t: f.LEDGER_UNIX + 100 }, { w: k.w1, t: f.LEDGER_UNIX - 5 }] });
  assert.equal((await verify(second, policy)).checks.find((c) => c.id === 'cosignature').status, 'fail');
  // A witness that did not cosign gets no check; the quorum says so.
  const silent = await verify(await genuine(k, { cosigners: [] }), policy);
  assert.ok(!silent.checks.some((c) => c.id === 'cosignature'));
  assert.equal(silent.verdict.status, 'quorum_not_met');
  assert.equal(silent.witnesses[0].cosigned_at, null);
  // An invalid line by a trusted key fails.
  const b = await genuine(k);
  b.checkpoint = b.checkpoint.replace(/(— notary\.example\/w1 )(\S{20})(\S)/, (all, a, mid, c) => a + mid + (c === 'A' ? 'B' : 'A'));
  assert.equal((await verify(b, policy)).checks.find((c) => c.id === 'cosignature').status, 'fail');
});

test('attestations use a pinned issuer key over the bundle\'s', async () => {
  const k = await keys();
  const issuer = await f.keyFromSeed(5);
  const other = await f.keyFromSeed(6);
  const event = {
    event_id: 'ev-2', document_id: 'contract-1', kind: 'identity_verified', document_hash: f.DOC_HASH,
    actor: { id: 'u-1', display: '王*', commitment: 'b'.repeat(64) },
    attestations: [{ issuer: 'idp-gov', claim: { method: 'face', result: 'pass' }, signature: '' }],
  };
  const msg = v.attestationMessage({ ...event, attestations: [{ issuer: 'idp-gov', claim: { method: 'face', result: 'pass' } }] }, 0);
  event.attestations[0].signature = v.b64encode(await issuer.sign(msg));
  const leaves = [f.registeredLeaf(), new TextEncoder().encode(v.canonicalJson({ event, ledger_time: f.LEDGER_TIME, tenant: 'acme' }))];
  const b = await f.makeBundle({ log: k.log, leaves });
  b.issuers = [{ name: 'idp-gov', public_key: issuer.b64 }];
  const base = `log ${k.log.vkey}\n`;
  const plainRun = await verify(b, base);
  assert.equal(plainRun.verdict.status, 'verified');
  assert.equal(plainRun.timeline[1].attestations[0].key_source, 'bundle');
  const pinned = await verify(b, `${base}issuer idp-gov ${issuer.b64}\n`);
  assert.equal(pinned.timeline[1].attestations[0].key_source, 'policy');
  assert.equal(pinned.verdict.status, 'verified');
  const wrongPin = await verify(b, `${base}issuer idp-gov ${other.b64}\n`);
  assert.equal(wrongPin.checks.find((c) => c.id === 'attestations' && c.subject === '1').status, 'fail');
  assert.match(render(wrongPin.checks.find((c) => c.status === 'fail').detail, 'en'), new RegExp(`${other.b64.replace(/[+/]/g, '\\$&')}.*pinned by your trust policy`));
  // Pinned, the bundle need not carry the key at all.
  assert.equal((await verify({ ...b, issuers: [] }, `${base}issuer idp-gov ${issuer.b64}\n`)).verdict.status, 'verified');
});

test('RFC 3161 tokens that are not tokens fail, as in Rust; roots that are not certificates are ignored', async () => {
  const k = await keys();
  const policy = `log ${k.log.vkey}\nwitness ${k.w1.vkey}\n`;
  const b = await genuine(k, { leaves: [f.registeredLeaf({ extra: { timestamp_token: 'AAAA', event_timestamp_token: 'AAAA' } })] });
  b.checkpoint_timestamp = { tsa: 'national-tsa', token: 'AAAA' };
  const r = await verify(b, policy);
  assert.deepEqual(statuses(r).slice(-3), ['event_timestamp:0=fail', 'event_content_timestamp:0=fail', 'checkpoint_timestamp=fail']);
  assert.equal(r.verdict.status, 'failed');
  for (const c of r.checks.slice(-3)) assert.match(render(c.detail, 'en'), /invalid timestamp_token: not a DER TimeStampToken\.$/);
  assert.match(render(r.checks.at(-3).detail, 'en'), /^The trusted timestamp on the document of entry 0 \(SHA-256 [0-9a-f]{64}\): /);
  assert.match(render(r.checks.at(-3).detail, 'zh'), /时间戳令牌无效/);
  for (const bad of [null, '', 'A', 5]) {
    assert.throws(() => v.parseLeaf(f.registeredLeaf({ extra: { event_timestamp_token: bad } })), (e) => e.msg.a.field === 'event.event_timestamp_token', String(bad));
  }
  // A bundle's root that is not a certificate is ignored (never an anchor);
  // a checkpoint token that is not base64 fails, as in the Rust verifier.
  const roots = await verify({ ...b, timestamp_authorities: [{ name: 'x', root_pem: 'nope' }] }, policy);
  assert.equal(roots.verdict.status, 'failed');
  assert.deepEqual(roots.claims.tsas, ['x']);
  const bad = await verify({ ...b, checkpoint_timestamp: { tsa: 't', token: 'not base64!' } }, policy);
  assert.deepEqual(statuses(bad).slice(-3), ['checkpoint_timestamp=fail', 'event_timestamp:0=fail', 'event_content_timestamp:0=fail']);
  assert.equal(bad.verdict.status, 'failed');
});

const docHash = async () => v.sha256(tsaFixture('document.txt'));
const tsaErr = async (p) => {
  try {
    await p;
  } catch (e) {
    return render(e.msg, 'en');
  }
  return 'accepted';
};

test('RFC 3161: a valid token is accepted with the facts the Rust verifier reports', async () => {
  const root = v.trustedTsa('test-root', TSA_ROOT_PEM);
  const info = await v.verifyTimestampToken(tsaFixture('token-rsa.der'), await docHash(), [root], TSA_NOW, 300);
  assert.deepEqual({ ...info, nonce: null }, {
    tsa: 'test-root', gen_time: '2026-11-28T16:17:40Z', gen_time_unix: GEN_TIME_UNIX, serial: '1001', policy: '1.2.3.4.1',
    nonce: null, signer_subject: 'CN=Test TSA RSA,O=Evidence Ledger Test,C=CN',
  });
  assert.match(info.nonce, /^[0-9a-f]+$/);
  // ECDSA P-256 through a P-384 intermediate; a genTime with a fraction.
  const ec = await v.verifyTimestampToken(tsaFixture('token-ec.der'), await docHash(), [root], TSA_NOW, 300);
  assert.deepEqual([ec.serial, ec.signer_subject], ['1003', 'CN=Test TSA EC,O=Evidence Ledger Test,C=CN']);
  const frac = await v.verifyTimestampToken(tsaFixture('token-rsa-frac.der'), await docHash(), [root], TSA_NOW, 300);
  assert.deepEqual([frac.gen_time, frac.gen_time_unix], ['2026-11-28T16:17:40.42Z', GEN_TIME_UNIX]);
});

test('RFC 3161: a wrong imprint, a root not in the policy, a bad signature, and the rest fail naming the check', async () => {
  const root = v.trustedTsa('test-root', TSA_ROOT_PEM);
  const check = (name, trusted = [root], now = TSA_NOW, token = tsaFixture(name)) => docHash().then((h) => tsaErr(v.verifyTimestampToken(token, h, trusted, now, 300)));
  assert.equal(await check('token-other-hash.der'), 'invalid timestamp_token: message imprint does not match the document hash');
  const other = await tsaErr(v.verifyTimestampToken(tsaFixture('token-rsa.der'), await v.sha256(new Uint8Array([1])), [root], TSA_NOW, 300));
  assert.match(other, /message imprint does not match/);
  // Chains only to a root the policy does not hold: not trusted.
  assert.equal(await check('token-untrusted.der'), 'invalid timestamp_token: not issued by a trusted TSA (no trusted root issued "CN=Untrusted TSA Root,O=Untrusted Test,C=CN")');
  assert.match(await check('token-rsa.der', []), /not issued by a trusted TSA/);
  assert.match(await check('token-rsa.der', [v.trustedTsa('other', readFileSync(new URL('other-root.pem', TSA_DIR), 'utf8'))]), /not issued by a trusted TSA/);
  // A bit flipped in the signature (the token's tail).
  const flipped = tsaFixture('token-rsa.der');
  flipped[flipped.length - 5] ^= 1;
  assert.equal(await check('token-rsa.der', [root], TSA_NOW, flipped), "invalid timestamp_token: signature does not verify with the signer certificate's key");
  assert.match(await check('token-noeku.der'), /lacks the critical timeStamping extended key usage/);
  assert.match(await check('token-resigned.der'), /ESS signing-certificate attribute/);
  assert.match(await check('token-rsa.der', [root], GEN_TIME_UNIX - 365 * 86400), /genTime 2026-11-28T16:17:40Z is in the future/);
  assert.equal(await check('token-rsa.der', [root], GEN_TIME_UNIX - 300), 'accepted');
  assert.match(await check('token-rsa.der', [root], TSA_NOW, new Uint8Array(16385).fill(0x30)), /more than the 16384 allowed/);
  assert.match(await check('token-rsa.der', [root], TSA_NOW, new Uint8Array([0x30, 0x80, 0, 0])), /not a DER TimeStampToken/);
});

test('RFC 3161: a certificate not valid at genTime fails (openssl ts with a TSA certificate that expired)', async () => {
  const { execFileSync } = await import('node:child_process');
  const { mkdtempSync, copyFileSync, writeFileSync: write } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'tsa-expired-'));
  for (const x of ['tsa.cnf', 'tsa-rsa.key', 'root-ca.pem']) copyFileSync(new URL(x, TSA_DIR), join(dir, x));
  const run = (...args) => execFileSync(args[0], args.slice(1), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  // A TSA certificate valid for one day in 2021, self-signed with the
  // critical timeStamping EKU, and pinned as the root: its token is made now.
  write(join(dir, 'ext.cnf'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n');
  run('openssl', 'req', '-new', '-key', 'tsa-rsa.key', '-subj', '/CN=Expired TSA', '-out', 'old.csr');
  run('faketime', '2021-01-01 00:00:00', 'openssl', 'x509', '-req', '-in', 'old.csr', '-signkey', 'tsa-rsa.key', '-days', '1', '-extfile', 'ext.cnf', '-out', 'old.pem');
  write(join(dir, 'tsa.cnf'), `${readFileSync(join(dir, 'tsa.cnf'), 'utf8')}\n[tsa_old]\nserial = old-serial\ncrypto_device = builtin\nsigner_cert = old.pem\nsigner_key = tsa-rsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\ness_cert_id_alg = sha256\n`);
  run('openssl', 'ts', '-query', '-data', fileURLToPath(new URL('document.txt', TSA_DIR)), '-sha256', '-cert', '-out', 'q.tsq');
  run('openssl', 'ts', '-reply', '-config', 'tsa.cnf', '-section', 'tsa_old', '-queryfile', 'q.tsq', '-token_out', '-out', 'old.tsr');
  const token = new Uint8Array(readFileSync(join(dir, 'old.tsr')));
  const pinned = v.trustedTsa('old', readFileSync(join(dir, 'old.pem'), 'utf8'));
  const now = Math.floor(Date.now() / 1000);
  const err = await tsaErr(v.verifyTimestampToken(token, await docHash(), [pinned], now, 300));
  assert.match(err, /^invalid timestamp_token: certificate "CN=Expired TSA" was not valid at genTime \(valid 2021-01-01T00:00:0\dZ to 2021-01-02T00:00:0\dZ\)$/);
});

test('verdicts: first rule that applies, reasons name everything missing', () => {
  const c = (id, status) => ({ id, status, passed: status === 'pass', title: { k: 'c.time.title', a: {} } });
  const base = () => [c('bundle_format', 'pass'), c('log_signature', 'pass'), c('witness_quorum', 'pass')];
  assert.equal(v.verdictOf(base()).status, 'verified');
  assert.equal(v.verdictOf([]).status, 'failed');
  const all = [c('bundle_format', 'fail'), c('log_signature', 'unanchored'), { ...c('witness_quorum', 'fail'), detail: { k: 'c.quorum.bad', a: { have: 0, need: 1, distinct: 1 } } }, c('checkpoint_timestamp', 'unanchored')];
  const verdict = v.verdictOf(all);
  assert.equal(verdict.status, 'failed');
  assert.deepEqual(verdict.reasons.map((r) => r.k), ['v.r.failed', 'v.r.no_log_key', 'v.r.quorum', 'v.r.timestamps']);
  assert.equal(v.verdictOf(all.slice(1)).status, 'no_trusted_log_key');
  assert.equal(v.verdictOf(all.slice(2)).status, 'quorum_not_met');
  assert.equal(v.verdictOf([...base(), c('event_timestamp', 'unanchored')]).status, 'untrusted_timestamps');
  for (const s of ['verified', 'failed', 'no_trusted_log_key', 'quorum_not_met', 'untrusted_timestamps']) {
    assert.ok(hasMessage(`v.${s}`, 'zh') && hasMessage(`v.${s}`, 'en'), s);
  }
});

test('every message the verifier makes has Chinese and English words', async () => {
  const { readFileSync } = await import('node:fs');
  // The facade and every module under web/verifier/.
  const src = moduleFiles().map((file) => readFileSync(file, 'utf8')).join('\n');
  const used = new Set([...src.matchAll(/\b(?:m|fail)\('([a-z]+\.[a-z_.]+)'/g)].map((x) => x[1]));
  for (const k of ['v.verified', 'v.failed', 'v.no_trusted_log_key', 'v.quorum_not_met', 'v.untrusted_timestamps']) used.add(k);
  assert.ok(used.size > 60, `${used.size} keys found`);
  for (const k of used) {
    if (k.startsWith('r.field')) continue;
    assert.ok(hasMessage(k, 'zh'), `zh ${k}`);
    assert.ok(hasMessage(k, 'en'), `en ${k}`);
  }
});

test('the verifier modules import one another without a cycle, and the server serves each', async () => {
  const { readFileSync } = await import('node:fs');
  // The check finds a cycle where there is one, and only there.
  assert.deepEqual(findCycle(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]])), ['a', 'b', 'c', 'a']);
  assert.deepEqual(findCycle(new Map([['a', ['a']]])), ['a', 'a']);
  assert.equal(findCycle(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]])), null);
  const { files, missing, cycle } = checkModules();
  assert.ok(files.length > 20, `${files.length} modules`);
  assert.deepEqual(missing, []);
  assert.equal(cycle, null, cycle && cycle.join(' -> '));
  // Compiled into the binary and served at /verify/<path> (src/api/web.rs),
  // where the facade's relative imports find them.
  const web = readFileSync(new URL('../../src/api/web.rs', import.meta.url), 'utf8');
  for (const file of files) {
    const rel = file.slice(file.lastIndexOf('/web/') + 5);
    assert.ok(web.includes(`name: "${rel}",`), `${rel} has no entry in src/api/web.rs`);
    assert.ok(web.includes(`include_str!("../../web/${rel}")`), `${rel} is not compiled in`);
  }
});

test('Rust and JS agree: -0, UTF-8 string limits, key names, null members, caps, scalar counts', async () => {
  // -0 anywhere, as Rust's parser.
  for (const bad of ['-0', '[-0]', '{"a":-0}']) assert.throws(() => v.parseStrictJson(bad), (e) => e.msg.a.what === 'minus_zero', bad);
  assert.equal(v.parseStrictJson('-1'), -1);
  // max_string counts UTF-8 bytes after unescaping.
  assert.equal(v.parseStrictJson('"\u00e9\u00e9"', { maxString: 4 }), '\u00e9\u00e9');
  assert.throws(() => v.parseStrictJson('"\u00e9\u00e9\u00e9"', { maxString: 5 }), v.Fail);
  assert.throws(() => v.parseStrictJson('"\\u00e9\\u00e9\\u00e9"', { maxString: 5 }), v.Fail);
  assert.throws(() => v.parseStrictJson('"\ud83d\ude00\ud83d\ude00"', { maxString: 7 }), v.Fail);
  assert.equal(v.parseStrictJson('"\ud83d\ude00\ud83d\ude00"', { maxString: 8 }).length, 4);
  assert.equal(v.parseStrictJson('"\\u0041\\u0042"', { maxString: 2 }), 'AB');
  // Key names: Rust's char::is_whitespace and '+'; U+FEFF is not whitespace.
  for (const c of ['\u0009', '\u000b', '\u000d', ' ', '\u0085', '\u00a0', '\u1680', '\u2000', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '+']) {
    assert.equal(v.validKeyName(`a${c}b`), false, `U+${c.codePointAt(0).toString(16)}`);
  }
  for (const c of ['\ufeff', '\u200b', '\u180e', '\u001b', '\u00ad']) assert.equal(v.validKeyName(`a${c}b`), true, `U+${c.codePointAt(0).toString(16)}`);
  const feff = await f.witnessSigner('w\ufeff.example/x', 3);
  assert.equal((await v.parseVkey(feff.vkey)).name, 'w\ufeff.example/x');
  const nel = await f.vkeyOf('w\u0085.example/x', 4, await f.keyFromSeed(3));
  await assert.rejects(v.parseVkey(nel.vkey), (e) => e.msg.a.what === 'name');
  // The vkey size cap (1024) counts UTF-8 bytes.
  const long = await f.witnessSigner('証'.repeat(330), 3);
  assert.ok(long.vkey.length < 1024 && new TextEncoder().encode(long.vkey).length > 1024);
  await assert.rejects(v.parseVkey(long.vkey), (e) => e.msg.a.what === 'size');
  assert.ok(await v.parseVkey((await f.witnessSigner('証'.repeat(300), 3)).vkey));
  // Small-order keys decode (as ed25519-dalek's from_bytes) but never verify.
  const identity = new Uint8Array(32);
  identity[0] = 1;
  const weak = await f.vkeyOf('log.example/x', 1, { raw: identity });
  const parsed = await v.parseVkey(weak.vkey);
  assert.equal(parsed.cryptoKey, null);
  const offCurve = new Uint8Array(32);
  offCurve[0] = 2;
  assert.equal(v.isCurvePoint(offCurve), false);
  await assert.rejects(v.parseVkey((await f.vkeyOf('log.example/x', 1, { raw: offCurve })).vkey), (e) => e.msg.a.what === 'point');
  // null is no optional member's value; TSA roots capped.
  const k = await keys();
  const b = await genuine(k);
  for (const [member, value] of [['tree_size', null], ['checkpoint_timestamp', null], ['timestamp_authorities', null]]) {
    assert.throws(() => v.parseBundle(f.bytesOf({ ...b, [member]: value })), v.Fail, member);
  }
  const leafWithNullToken = f.registeredLeaf({ extra: { timestamp_token: null } });
  assert.throws(() => v.parseLeaf(leafWithNullToken), (e) => e.msg.a.field === 'event.timestamp_token');
  const root = { name: 't', root_pem: 'x' };
  assert.equal(v.parseBundle(f.bytesOf({ ...b, timestamp_authorities: new Array(16).fill(root) })).timestamp_authorities.length, 16);
  assert.throws(() => v.parseBundle(f.bytesOf({ ...b, timestamp_authorities: new Array(17).fill(root) })), (e) => e.msg.a.what === 'count');
  assert.ok(v.parseBundle(f.bytesOf({ ...b, timestamp_authorities: [{ name: 't', root_pem: 'é'.repeat(8192) }] })));
  assert.throws(() => v.parseBundle(f.bytesOf({ ...b, timestamp_authorities: [{ name: 't', root_pem: 'é'.repeat(8193) }] })), (e) => e.msg.a.what === 'size_of');
  // Tenant (<= 128) and display (1-64) count Unicode scalar values.
  const leafOf = (extra, tenant = 'acme') => f.registeredLeaf({ tenant, extra });
  const actor = (display) => ({ actor: { id: 'u-1', display, commitment: 'b'.repeat(64) } });
  assert.ok(v.parseLeaf(leafOf(actor('\ud83d\ude00'.repeat(64)))));
  assert.throws(() => v.parseLeaf(leafOf(actor('\ud83d\ude00'.repeat(65)))), v.Fail);
  assert.ok(v.parseLeaf(leafOf({}, '\ud83d\ude00'.repeat(128))));
  assert.throws(() => v.parseLeaf(leafOf({}, '\ud83d\ude00'.repeat(129))), v.Fail);
});

test('a lookup answer without tree_size makes bundles without it', async () => {
  const k = await keys();
  const b = await genuine(k);
  const answer = { origin: b.origin, log_vkey: b.log_vkey, checkpoint: b.checkpoint, entries: b.entries, issuers: [], witnesses: [] };
  const bundles = v.lookupToBundles(answer);
  assert.equal(bundles.length, 1);
  assert.ok(!('tree_size' in bundles[0]));
  const r = await v.verifyBundle(bundles[0], { policy: await v.parsePolicy(`log ${k.log.vkey}\n`), now: NOW });
  assert.equal(r.verdict.status, 'verified', JSON.stringify(statuses(r)));
  assert.equal(v.lookupToBundles({ ...answer, tree_size: 1 })[0].tree_size, 1);
  // An object is held to the same shape rules as bytes.
  const shaped = await v.verifyBundle({ ...bundles[0], tree_size: null }, { now: NOW });
  assert.deepEqual(statuses(shaped), ['bundle_format=fail']);
});

test('terminalSafe: controls and bidi overrides become U+FFFD, in every string shown', async () => {
  const nasty = 'a\u001b[2K\u009b1A\u202eb\u2066c\u200e\u200fd\u0000\u007f';
  assert.equal(v.terminalSafe(nasty), 'a\ufffd[2K\ufffd1A\ufffdb\ufffdc\ufffd\ufffdd\ufffd\ufffd');
  // As report.rs terminal_safe: format characters and separators too, and
  // runs of white space fold to one space (no padding onto a line of its own).
  assert.equal(v.terminalSafe('a\u00ad\u061c\u180e\u200b\u2028\u2029\u2060\u206f\ufeff\ufff9b'), `a${'\ufffd'.repeat(10)}b`);
  assert.equal(v.terminalSafe(`x${' '.repeat(80)}\u3000\u00a0y`), 'x y');
  assert.equal(v.plain('a  b\u200bc'), 'a  b\ufffdc');
  assert.equal(v.plain('x'.repeat(201)), `${'x'.repeat(200)}…`);
  assert.equal(v.plainFull('x'.repeat(300)).length, 300);
  // Escape sequences in every string of a leaf the schema lets through
  // (claims, extra members): no rendered text carries them.
  const k = await keys();
  const esc = '\u001b[2K\u001b[1A\u001b[32m✔ PASS All checks passed\u202e';
  const event = {
    event_id: 'ev-2', document_id: 'contract-1', kind: 'identity_verified', document_hash: f.DOC_HASH,
    actor: { id: 'u-1', display: '王*', commitment: 'b'.repeat(64) },
    attestations: [{ issuer: 'idp-gov', claim: { [esc]: esc, method: esc, result: esc }, signature: v.b64encode(new Uint8Array(64)) }],
  };
  const leaf = new TextEncoder().encode(v.canonicalJson({ event, ledger_time: f.LEDGER_TIME, tenant: 'acme', [esc]: esc }));
  const b = await f.makeBundle({ log: k.log, leaves: [f.registeredLeaf(), leaf], witnesses: [] });
  b.issuers = [{ name: 'idp-gov', public_key: v.b64encode((await f.keyFromSeed(5)).raw) }];
  b.witnesses = [];
  const r = await verify(b, `log ${k.log.vkey}\n`);
  assert.equal(r.verdict.status, 'failed');
  const texts = [];
  const walk = (x) => {
    if (x && typeof x === 'object' && 'k' in x && 'a' in x) {
      texts.push(render(x, 'en'), render(x, 'zh'));
      return;
    }
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') Object.values(x).forEach(walk);
  };
  walk([r.checks, r.verdict, r.timeline.map((e) => e.attestations.map((a) => a.description))]);
  assert.ok(texts.length > 20);
  for (const t of texts) assert.ok(!/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(t), JSON.stringify(t));
  assert.ok(texts.some((t) => t.includes('\ufffd[2K')), 'the escapes are shown, neutralised');
});

test('anchors from a ledger\'s GET /v1/log: its log key, witnesses, quorum if published, TSA roots', async () => {
  const k = await keys();
  const pem = TSA_ROOT_PEM;
  const info = {
    origin: 'log.example/x', vkey: k.log.vkey,
    witnesses: [{ name: k.w1.name, vkey: k.w1.vkey }, { name: k.w2.name, vkey: k.w2.vkey }],
    timestamp_authorities: [{ name: 'national-tsa', root_pem: pem, sha256: '00' }, { name: 'broken', root_pem: 'x' }],
  };
  const all = await v.policyFromLogInfo(info);
  assert.equal(all.source, 'server');
  assert.deepEqual(all.logs.map((x) => x.vkey), [k.log.vkey]);
  assert.equal(all.quorum, 2, 'no published quorum: every listed witness');
  assert.deepEqual(all.tsas.map((x) => x.name), ['national-tsa']);
  assert.equal((await v.policyFromLogInfo({ ...info, quorum: 1 })).quorum, 1);
  // As GET /v1/log publishes it (issue 15), and with a witness listed twice.
  const published = { ...info, witnesses: [...info.witnesses, info.witnesses[0]], quorum: { required: [k.w1.name], threshold: 1, witnesses: 2, counted_by: 'distinct witness keys' } };
  assert.deepEqual([(await v.policyFromLogInfo(published)).quorum, (await v.policyFromLogInfo(published)).witnesses.length], [1, 2]);
  assert.equal((await v.policyFromLogInfo({ ...info, quorum: null })).quorum, 2);
  assert.equal((await v.policyFromLogInfo({ ...info, anchoring: { quorum: 1 } })).quorum, 1);
  assert.equal((await v.policyFromLogInfo({ ...info, anchoring: { threshold: 0 } })).quorum, 0);
  assert.equal((await v.policyFromLogInfo({ ...info, witnesses: [] })).quorum, 0);
  const r = await v.verifyBundle(f.bytesOf(await genuine(k)), { policy: all, now: NOW });
  assert.equal(r.verdict.status, 'quorum_not_met');
  assert.equal(r.trust.source, 'server');
  // Keys typed in make the same policy as a file.
  const typed = await v.parsePolicy(v.policyTextFromKeys({ log: ` ${k.log.vkey} `, witnesses: [k.w1.vkey, '', k.w2.vkey], quorum: '1' }));
  assert.deepEqual([typed.logs.length, typed.witnesses.length, typed.quorum], [1, 2, 1]);
});

test('escape sequences through every string field of a bundle reach no rendered text', async () => {
  const esc = '\u001b[2K\u001b[1A\u009b2J\u202e';
  const log = await f.logSigner(`log${esc}.example/x`, 1);
  const w = await f.witnessSigner(`w${esc}.example/w`, 7);
  const impostor = await f.witnessSigner(`w${esc}.example/w`, 9);
  const stranger = await f.witnessSigner(`s${esc}.example/w`, 11);
  const b = await f.makeBundle({
    log, leaves: [f.registeredLeaf(), f.registeredLeaf({ extra: { event_id: 'ev-2', document_id: 'other' } })],
    cosigners: [{ w, t: 1 }, { w: impostor, t: 2 }, { w: stranger, t: 3 }], witnesses: [w, stranger],
    tenant: `acme${esc}`, documentId: `contract${esc}`,
  });
  b.issuers = [{ name: `idp${esc}`, public_key: 'AAAA' }, { name: `idp${esc}`, public_key: 'AAAA' }];
  b.witnesses.push({ name: `x${esc}`, vkey: `x${esc}+00000000+AAAA` });
  b.checkpoint_timestamp = { tsa: `tsa${esc}`, token: 'AAAA' };
  b.timestamp_authorities = [{ name: `root${esc}`, root_pem: esc }];
  const texts = [];
  const walk = (x) => {
    if (x && typeof x === 'object' && 'k' in x && 'a' in x) texts.push(render(x, 'en'), render(x, 'zh'));
    else if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') Object.values(x).forEach(walk);
  };
  for (const policy of ['', `log ${log.vkey}\nwitness ${w.vkey}\n`]) {
    const r = await verify(b, policy, { documentHash: 'c'.repeat(64) });
    assert.equal(r.verdict.status, 'failed');
    walk([r.checks, r.verdict]);
  }
  // An unreadable bundle quotes nothing raw either.
  walk((await v.verifyBundle(new TextEncoder().encode(`{"format":"${esc}"}`))).checks);
  assert.ok(texts.length > 40);
  for (const t of texts) assert.ok(!/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(t), JSON.stringify(t));
  assert.ok(texts.some((t) => t.includes('x\ufffd[2K')), 'the witness name is shown, neutralised');
});

test('at most 256 RFC 3161 tokens are looked at; the rest fail, as in Rust', async () => {
  const k = await keys();
  const leaves = [];
  for (let i = 0; i < 129; i++) {
    leaves.push(f.registeredLeaf({ extra: { event_id: `ev-${i}`, timestamp_token: 'AAAA', event_timestamp_token: 'AAAA' } }));
  }
  const b = await f.makeBundle({ log: k.log, leaves });
  const r = await verify(b, `log ${k.log.vkey}\n`);
  const stamps = r.checks.filter((c) => /timestamp/.test(c.id));
  assert.equal(stamps.length, 258);
  assert.deepEqual(statuses({ checks: stamps.slice(0, 2) }), ['event_timestamp:128=fail', 'event_content_timestamp:128=fail']);
  assert.match(render(stamps[0].detail, 'en'), /not checked, the bundle carries more than 256 tokens/);
  assert.ok(stamps.slice(2).every((c) => c.status === 'fail' && /not a DER TimeStampToken/.test(render(c.detail, 'en'))));
  assert.equal(r.verdict.status, 'failed');
});

test('a bundle\'s anchoring member is the ledger\'s claim: shown, never counted', async () => {
  const k = await keys();
  const anchoring = { threshold: 1, required: [k.w1.name], cosigned_by: [k.w1.name], satisfied: true };
  const b = { ...(await genuine(k, { cosigners: [] })), anchoring };
  const r = await verify(b, `log ${k.log.vkey}\nwitness ${k.w1.vkey}\n`);
  assert.equal(r.verdict.status, 'quorum_not_met');
  assert.deepEqual({ ...r.claims.anchoring }, anchoring);
  for (const bad of [null, { ...anchoring, satisfied: 'yes' }, { ...anchoring, threshold: -1 }, { ...anchoring, required: [1] },
    { ...anchoring, cosigned_by: new Array(101).fill('w') }, { threshold: 1 }]) {
    assert.throws(() => v.parseBundle(f.bytesOf({ ...b, anchoring: bad })), v.Fail, JSON.stringify(bad)?.slice(0, 60));
  }
});

// Evidence v2 (leaf v2, records, identity openings, attestation v2, bundle
// and lookup v2): in their own file, run with these (tests/browser.rs runs
// this file).
import './v2.test.mjs';

// Twin of the Rust unit test in verifier/src/bundle/timeline.rs: a
// signature reported by the tenant's signing platform (an `integration:`
// attestation) is exempt from T3/T4, and says so; others are not; T5 holds.
test('timeline: integration-reported signatures', async () => {
  const { timelineCheck } = await import('../../web/verifier/bundle/timeline.js');
  const entry = (i, kind, actor, issuer) => [i, {
    event: { kind, actor: { id: actor }, attestations: issuer ? [{ issuer }] : [] },
    ledger_time: '2026-01-01T00:00:00.000000Z',
  }];
  const run = (es) => timelineCheck(es, 0, es.map(([i, l]) => [i, l.ledger_time]));
  const I = 'integration:documenso:1';
  const ok = run([entry(0, 'registered', 'owner', I), entry(1, 'signed', 'r-50', I), entry(2, 'completed', 'owner', I)]);
  assert.equal(ok.passed, true);
  assert.equal(ok.detail.k, 'c.time.ok_reported');
  assert.equal(ok.detail.a.reported, 1);
  const vouched = run([entry(0, 'registered', 'owner'), entry(1, 'signed', 'r-50', 'idp-gov'), entry(2, 'completed', 'owner')]);
  assert.equal(vouched.passed, false);
  const late = run([entry(0, 'completed', 'owner', I), entry(1, 'signed', 'r-50', I)]);
  assert.equal(late.passed, false);
});

test('sm2-sm3: the suite line, SM2 keys of either kind, /v1/log\'s suite, as policy.rs', async () => {
  // The keys of the corpus's sm2-sm3 cases (made by verifier/tests/conformance.rs).
  const c = JSON.parse(readFileSync(new URL('../../verifier/testdata/conformance/sm2-sm3-genuine-with-policy.json', import.meta.url), 'utf8'));
  const [logVkey, w1, w2] = [c.bundle.log_vkey, c.bundle.witnesses[0].vkey, c.bundle.witnesses[1].vkey];
  const p = await v.parsePolicy(c.policy);
  assert.deepEqual([p.suite, p.logs.length, p.witnesses.length, p.groups.length, p.quorum], ['sm2-sm3', 1, 2, 2, 2]);
  const log = await v.parseAnyVkey(logVkey);
  assert.deepEqual([log.sm2, v.keySuite(log).name, v.isCosigner(log)], [true, 'sm2-sm3', false]);
  assert.equal(v.isCosigner(await v.parseAnyVkey(w1)), true);
  assert.equal((await v.parsePolicy('')).suite, 'ed25519-sha256');
  const refused = async (text, k) => assert.rejects(v.parsePolicy(text), (e) => JSON.stringify(e.msg).includes(k), text);
  await refused(`log ${logVkey}\n`, 'pol.suite_key');
  await refused(`suite sm2-sm3\nwitness ${logVkey}\n`, 'pol.not_sm2_witness');
  await refused(`suite sm2-sm3\nlog ${w1}\n`, 'pol.not_sm2_log');
  await refused('suite sm3\n', 'pol.suite_unknown');
  await refused('suite toString\n', 'pol.suite_unknown');
  await refused('suite sm2-sm3\nsuite sm2-sm3\n', 'pol.arguments');
  // A vkey whose key ID or point is off is refused, as Sm2Verifier::from_vkey.
  const [name, id, b64] = [logVkey.split('+')[0], logVkey.split('+')[1], logVkey.split('+').slice(2).join('+')];
  await assert.rejects(v.parseAnyVkey(`${name}+${id === '00000000' ? '00000001' : '00000000'}+${b64}`), (e) => e.msg.a.what === 'id_mismatch');
  const material = v.b64decode(b64);
  material[material.length - 1] ^= 1;
  await assert.rejects(v.parseAnyVkey(`${name}+${id}+${v.b64encode(material)}`), (e) => e.msg.a.what === 'sm2_point');
  // GET /v1/log names the suite: the anchors taken from it verify the bundle.
  const fromLog = await v.policyFromLogInfo({ origin: c.bundle.origin, vkey: logVkey, suite: 'sm2-sm3', witnesses: [{ name: 'notary.example/sm', vkey: w1 }, { name: 'court.example/sm', vkey: w2 }] });
  assert.equal(fromLog.suite, 'sm2-sm3');
  const r = await v.verifyBundle(new TextEncoder().encode(JSON.stringify(c.bundle)), { policy: fromLog, now: c.now });
  assert.equal(r.verdict.status, 'verified', JSON.stringify(r.checks.filter((x) => !x.passed)));
});
