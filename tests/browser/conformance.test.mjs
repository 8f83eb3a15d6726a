// The conformance corpus (verifier/testdata/conformance/*.json) through
// the page's verifier (web/verifier.js): each case's verdict and the sorted
// ids of its failing and unanchored checks must be what the case expects,
// the same `expect` as for the Rust verifier (RFC 3161 tokens included: one
// input, one verdict). The Rust tests run the same files, so the verifiers
// cannot drift.
//
// Run by tests/js_conformance.rs (./scripts/test), or directly:
//   node --test tests/browser/conformance.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as v from '../../web/verifier.js';
import { render } from '../../web/i18n.js';

const DIR = new URL('../../verifier/testdata/conformance/', import.meta.url);
const files = readdirSync(DIR).filter((n) => n.endsWith('.json')).sort();
const utf8 = new TextEncoder();

const ids = (checks, status) => [...new Set(checks.filter((c) => c.status === status).map((c) => c.id))].sort();

test('the corpus holds cases', () => {
  assert.ok(files.length > 0, `no *.json case in ${DIR.pathname}`);
});

for (const name of files) {
  test(name, async () => {
    const c = JSON.parse(readFileSync(new URL(name, DIR), 'utf8'));
    assert.ok(c.expect && typeof c.expect.verdict === 'string', `${name}: no expect.verdict`);
    assert.ok('bundle' in c || 'lookup' in c || typeof c.bundle_text === 'string', `${name}: neither bundle, lookup nor bundle_text`);
    const policy = await v.parsePolicy(c.policy ?? '');
    const options = { policy, documentHash: c.document_sha256, now: c.now };
    // A GET /v1/lookup answer goes through the page's lookup verifier.
    const report = 'lookup' in c
      ? await v.verifyLookup(c.lookup, options)
      : await v.verifyBundle(utf8.encode(typeof c.bundle_text === 'string' ? c.bundle_text : JSON.stringify(c.bundle)), options);
    assert.ok(!('expect_js' in c), `${name}: one verdict for every verifier, no expect_js`);
    const expect = c.expect;
    const got = { verdict: report.verdict.status, fail: ids(report.checks, 'fail'), unanchored: ids(report.checks, 'unanchored') };
    const want = { verdict: expect.verdict, fail: [...(expect.fail ?? [])].sort(), unanchored: [...(expect.unanchored ?? [])].sort() };
    const why = report.checks.filter((x) => x.status !== 'pass').map((x) => `${x.id}(${x.subject ?? ''}) ${x.status}: ${render(x.detail, 'en')}`);
    assert.deepEqual(got, want, `${name}: ${c.description}\n${why.join('\n')}`);
    assert.equal(report.passed, report.verdict.status === 'verified');
    for (const x of report.checks) assert.equal(x.passed, x.status === 'pass');
  });
}
