// Attestation v2.1 in the page's verifier (web/verifier/attest.js and
// bundle/attestations.js; docs/evidence-v2.md "Attestation v2.1"): the
// identity digest's known-answer vector (the one the Rust verifier and
// `openssl dgst` give), and the binding each report states, from the
// conformance corpus's v2.1 cases (whose verdicts conformance.test.mjs
// checks): v2.1 with and without a person, and "not checked" when the
// identity opening is not included.
//
// Run by tests/js_conformance.rs, or: node --test tests/browser/v21.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as v from '../../web/verifier.js';
import { identityDigest } from '../../web/verifier/attest.js';
import { render } from '../../web/i18n.js';

const DIR = new URL('../../verifier/testdata/conformance/', import.meta.url);
const utf8 = new TextEncoder();

async function run(name) {
  const c = JSON.parse(readFileSync(new URL(`${name}.json`, DIR), 'utf8'));
  const policy = await v.parsePolicy(c.policy);
  return v.verifyBundle(utf8.encode(JSON.stringify(c.bundle)), { policy, documentHash: c.document_sha256, now: c.now });
}

const details = (r) => r.checks.filter((x) => x.id === 'attestations').map((x) => render(x.detail, 'en'));

test('the identity digest equals the documented known-answer vector', async () => {
  const id = { name: '张三', id_type: 'resident_id', id_number: '110101199003070011', phone: '+86 1' };
  assert.equal(await identityDigest('ed25519-sha256', id), 'adb254ea77b93c33e39f7e0c6d5c5f35a8d689ddc672a3842f69df5ba4b03019');
  assert.equal(await identityDigest('sm2-sm3', id), 'ecbe7f64618817114d0cf973aa5ff02d82d05d271dcfc47253ab25ccb7c06cfa');
});

test('a v2.1 bundle states what each attestation binds', async () => {
  const r = await run('v21-genuine-verified');
  assert.equal(r.verdict.status, 'verified');
  const all = details(r).join('\n');
  assert.ok(all.includes("[v2.1: binds tenant, contract, document, event, kind, actor, issuer, the person's identity and the log]"), all);
  assert.ok(all.includes('[v2.1: binds tenant, contract, document, event, kind, actor, issuer and the log; no person (the event carries no identity)]'), all);
  assert.ok(!all.includes('[v2:') && !all.includes('[v1:'), all);
  const facts = r.timeline.flatMap((t) => t.attestations);
  assert.ok(facts.length > 0 && facts.every((f) => f.valid && f.minor === 1 && f.version === 2));
  const zh = r.checks.filter((x) => x.id === 'attestations').map((x) => render(x.detail, 'zh')).join('\n');
  assert.ok(zh.includes('v2.1 证明：绑定租户、合同、文件、事件、类型、参与方、签发方、当事人身份和日志'), zh);
});

test('without the identity opening a v2.1 attestation is not checked, so the bundle is not verified', async () => {
  const r = await run('v21-identity-openings-withheld');
  assert.equal(r.verdict.status, 'failed');
  const unchecked = details(r).filter((d) => d.startsWith('Not checked, so not verified'));
  assert.equal(unchecked.length, 2, details(r).join('\n'));
  assert.ok(unchecked.every((d) => d.includes("the person's identity, whose opening is not included")));
  const facts = r.timeline.flatMap((t) => t.attestations);
  assert.equal(facts.filter((f) => f.unchecked && !f.valid).length, 2);
});

test('a v2 bundle is labelled with what v2 does not bind', async () => {
  const r = await run('v2-genuine-verified');
  assert.ok(details(r).join('\n').includes("[v2: binds tenant, contract, document, event, kind, actor and issuer; not the person's identity, nor the log]"));
});
