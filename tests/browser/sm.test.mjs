// The page's national suite (web/verifier/sm.js) against known answers
// that OpenSSL 3 computed (tests/js_sm.rs writes them to the file named by
// EL_SM_VECTORS and runs this): SM3, the RFC 9162 tree with SM3, inclusion
// and consistency proofs, SM2 signatures as DER and r || s with their
// distinguishing identifiers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as sm from '../../web/verifier/sm.js';
import { leafHash, nodeHash, sha256 } from '../../web/verifier/hash.js';
import { trustedTsa, verifyTimestampToken } from '../../web/verifier/tsa.js';

const path = process.env.EL_SM_VECTORS;
if (!path) throw new Error('EL_SM_VECTORS names the vectors file (tests/js_sm.rs writes it)');
const V = JSON.parse(readFileSync(path, 'utf8'));
const bytes = (h) => Uint8Array.from(Buffer.from(h, 'hex'));
const hexOf = (b) => Buffer.from(b).toString('hex');
const flip = (b, i = 0) => {
  const c = Uint8Array.from(b);
  c[i] ^= 1;
  return c;
};

test('HMAC-SM3 equals openssl dgst -sm3 -mac HMAC, and record v3 with SM3 (sm3-jcs-sd/v3) gives the documented commitment', async () => {
  assert.equal(V.hmac_sm3.length, 3);
  for (const { key, message, mac } of V.hmac_sm3) assert.equal(hexOf(sm.hmacSm3(bytes(key), bytes(message))), mac, key.slice(0, 16));
  const { recordCommitmentV3, checkPartial } = await import('../../web/verifier/v3.js');
  const { parseRecord } = await import('../../web/verifier/v2.js');
  const rec = V.record_v3_sm3.record;
  parseRecord(rec); // valid, as recordCommitmentV3 expects
  const got = Buffer.from(await recordCommitmentV3(rec, 'sm3')).toString('base64');
  assert.equal(got, V.record_v3_sm3.commitment);
  assert.notEqual(Buffer.from(await recordCommitmentV3(rec)).toString('base64'), V.record_v3_sm3.commitment);
  await assert.rejects(checkPartial(bytes('00'.repeat(32)), [], {}, 'sm3'));
});

test('keys typed in take their suite from the key: an SM2 log key means sm2-sm3', async () => {
  const { parsePolicy, policyTextFromKeys } = await import('../../web/verifier/policy.js');
  // The SM2 log key of docs/formats.md §13.1.
  const sm2 = 'log.example/sm+91dd8f6c+/2V2aWRlbmNlLWxlZGdlci9zbTItbm90ZS92MQQJ+d8xHlQhoVDdfRYeS8XGchefrRgz/AdrsI/zVvNQIMzqSQziZ3WlLcbqcYzBqmAK7QX7814ISmYy9gctqa0T';
  const text = policyTextFromKeys({ log: sm2 });
  assert.match(text, /^suite sm2-sm3\n/);
  assert.equal((await parsePolicy(text)).suite, 'sm2-sm3');
  assert.doesNotMatch(policyTextFromKeys({ log: sm2, inferSuite: false }), /suite/);
});

test('SM3 equals openssl dgst -sm3', () => {
  assert.ok(V.sm3.length >= 5);
  for (const { message, digest } of V.sm3) assert.equal(hexOf(sm.sm3(bytes(message))), digest, message.slice(0, 40));
  assert.throws(() => sm.sm3('abc'), TypeError);
});

test('SM3 leaf and node hashes, the empty tree and the 7-leaf root', async () => {
  const t = V.tree;
  t.leaves.forEach((leaf, i) => assert.equal(hexOf(sm.sm3LeafHash(bytes(leaf))), t.leaf_hashes[i]));
  assert.equal(hexOf(sm.sm3NodeHash(bytes(t.node.left), bytes(t.node.right))), t.node.hash);
  assert.equal(hexOf(sm.SM2_SM3.digest(new Uint8Array())), t.empty_root);
  // The 7-leaf root, from leaf 6 and its audit path.
  const last = t.inclusion.find((c) => c.size === 7 && c.index === 6);
  const root = await sm.SM2_SM3.inclusionRoot(bytes(t.leaf_hashes[6]), 6n, 7n, last.path.map(bytes));
  assert.equal(hexOf(root), t.root7);
  // The suites differ only by their functions: SHA-256 is hash.js's.
  assert.equal(sm.ED25519_SHA256.hashLeaf, leafHash);
  assert.equal(sm.ED25519_SHA256.hashNode, nodeHash);
  assert.equal(sm.suiteNamed('sm2-sm3'), sm.SM2_SM3);
  assert.equal(sm.suiteNamed('sm2-sha256'), null);
});

test('every inclusion proof of trees of 1 to 7 leaves, and tampered ones fail', async () => {
  const t = V.tree;
  assert.equal(t.inclusion.length, 28);
  for (const c of t.inclusion) {
    const leaf = bytes(t.leaf_hashes[c.index]);
    const proof = c.path.map(bytes);
    const [i, n, root] = [BigInt(c.index), BigInt(c.size), bytes(c.root)];
    const at = `${c.index}/${c.size}`;
    assert.equal(hexOf(await sm.SM2_SM3.inclusionRoot(leaf, i, n, proof)), c.root, at);
    assert.equal(await sm.SM2_SM3.verifyInclusion(leaf, i, n, proof, root), true, at);
    assert.equal(await sm.SM2_SM3.verifyInclusion(flip(leaf), i, n, proof, root), false, at);
    if (proof.length > 0) {
      assert.equal(await sm.SM2_SM3.verifyInclusion(leaf, i, n, [flip(proof[0]), ...proof.slice(1)], root), false, at);
      assert.equal(await sm.SM2_SM3.verifyInclusion(leaf, i, n, proof.slice(1), root), false, at);
    }
    // The same proof under SHA-256 leads elsewhere.
    if (proof.length > 0) assert.equal(await sm.ED25519_SHA256.verifyInclusion(leaf, i, n, proof, root), false, at);
  }
});

test('every consistency proof between trees of 1 to 7 leaves, and tampered ones fail', async () => {
  const t = V.tree;
  assert.equal(t.consistency.length, 28);
  for (const c of t.consistency) {
    const proof = c.path.map(bytes);
    const [m, n] = [BigInt(c.old), BigInt(c.new)];
    const [r1, r2] = [bytes(c.old_root), bytes(c.new_root)];
    const at = `${c.old}->${c.new}`;
    assert.equal(await sm.SM2_SM3.verifyConsistency(m, n, proof, r1, r2), true, at);
    assert.equal(await sm.SM2_SM3.verifyConsistency(m, n, proof, r1, flip(r2)), false, at);
    if (proof.length > 0) {
      assert.equal(await sm.SM2_SM3.verifyConsistency(m, n, [...proof.slice(0, -1), flip(proof.at(-1))], r1, r2), false, at);
      assert.equal(await sm.ED25519_SHA256.verifyConsistency(m, n, proof, r1, r2), false, at);
    }
  }
});

test('SM2 signatures by OpenSSL verify as DER and as r || s under their identifier', () => {
  const { cases } = V.sm2;
  const pub = bytes(V.sm2.public);
  assert.equal(pub.length, 65);
  assert.ok(cases.length >= 4 && cases.some((c) => c.distid !== sm.DEFAULT_DISTID));
  for (const c of cases) {
    const msg = bytes(c.message);
    const [der, raw] = [bytes(c.der), bytes(c.raw)];
    const at = `${c.distid} ${c.message.slice(0, 20)}`;
    assert.equal(raw.length, 64);
    assert.equal(sm.sm2Verify(pub, der, msg, c.distid), true, `DER ${at}`);
    assert.equal(sm.sm2Verify(pub, raw, msg, c.distid), true, `raw ${at}`);
    if (c.distid === sm.DEFAULT_DISTID) {
      assert.equal(sm.sm2Verify(pub, raw, msg), true, `default id ${at}`);
      assert.equal(sm.SM2_SM3.verifySig(pub, der, msg), true, `suite ${at}`);
    }
    const otherId = c.distid === sm.DEFAULT_DISTID ? 'alice@example.com' : sm.DEFAULT_DISTID;
    assert.equal(sm.sm2Verify(pub, raw, msg, otherId), false, `another identifier ${at}`);
    assert.equal(sm.sm2Verify(pub, raw, Uint8Array.from([...msg, 0x0a]), c.distid), false, `message ${at}`);
    assert.equal(sm.sm2Verify(pub, flip(raw, 40), msg, c.distid), false, `s altered ${at}`);
    assert.equal(sm.sm2Verify(pub, flip(der, der.length - 1), msg, c.distid), false, `DER altered ${at}`);
    assert.equal(sm.sm2Verify(bytes(V.sm2.other), raw, msg, c.distid), false, `another key ${at}`);
  }
});

test('malformed keys, signatures and identifiers are false, never an exception', () => {
  const c = V.sm2.cases[1];
  const [pub, raw, msg] = [bytes(V.sm2.public), bytes(c.raw), bytes(c.message)];
  const offCurve = Uint8Array.from(pub);
  offCurve[64] ^= 1;
  for (const [what, args] of [
    ['point off the curve', [offCurve, raw, msg]],
    ['truncated key', [pub.subarray(0, 64), raw, msg]],
    ['key as hex text', [V.sm2.public, raw, msg]],
    ['truncated signature', [pub, raw.subarray(0, 63), msg]],
    ['empty signature', [pub, new Uint8Array(), msg]],
    ['zero signature', [pub, new Uint8Array(64), msg]],
    ['DER garbage', [pub, Uint8Array.from([0x30, 0x03, 0x02, 0x01]), msg]],
    ['message as text', [pub, raw, 'text']],
    ['empty identifier', [pub, raw, msg, '']],
  ]) {
    assert.equal(sm.sm2Verify(...args), false, what);
  }
});

test('GM/T 0033 tokens (SM2 over SM3) through tsa.js: the Rust verdicts', async () => {
  const T = V.tsa;
  const now = Math.floor(Date.now() / 1000);
  const roots = [trustedTsa('sm2-tsa', T.root_pem)];
  assert.ok(roots[0], 'the SM2 root reads');
  const data = bytes(T.data);
  const ok = await verifyTimestampToken(bytes(T.sm3_token), { data }, roots, now, 300);
  assert.equal(ok.tsa, 'sm2-tsa');
  assert.match(ok.signer_subject, /SM2 Test TSA/);
  assert.equal((await verifyTimestampToken(bytes(T.sha_token), { data }, roots, now, 300)).tsa, 'sm2-tsa');
  assert.equal((await verifyTimestampToken(bytes(T.sha_token), await sha256(data), roots, now, 300)).tsa, 'sm2-tsa');
  const refused = async (der, expected, what) => {
    await assert.rejects(verifyTimestampToken(bytes(der), expected, roots, now, 300), (e) => e.msg.a.what === what, what);
  };
  await refused(T.sm3_token, await sha256(data), 'imprint_alg');
  await refused(T.sm3_token, { data: Uint8Array.from([...data, 0x20]) }, 'imprint');
  await refused(T.tampered, { data }, 'signature');
  await refused(T.untrusted, { data }, 'untrusted');
});
