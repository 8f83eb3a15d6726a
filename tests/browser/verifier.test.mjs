// Unit tests of web/verifier.js under Node (same WebCrypto API as the
// browser): RFC 9162 proofs against a naive tree, strict base64 and JSON,
// RFC 8785 canonical form, signed notes, vkeys and cosignatures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import * as v from '../../web/verifier.js';

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
