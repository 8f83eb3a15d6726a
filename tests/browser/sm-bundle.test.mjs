// An sm2-sm3 log's evidence bundle on the public verifier page (GET
// /verify) in Debian's headless Chromium (playwright-core): SM3 tree, SM2
// checkpoint signature, two SM2 cosignatures, attestations by SM2 issuers
// certified by X.509 (checked up to the policy's `ca` root at each entry's
// time), checked under a trust policy with `suite sm2-sm3`, and tampered
// copies refused. Started by
// tests/sm_suite.rs, which runs the real sm2-sm3 log and its SM2 witnesses:
//
//   EL_URL        base URL of the running sm2-sm3 log
//   EL_FILE       the contract file
//   EL_BUNDLE     its evidence bundle, as GET /v1/documents/{id}/bundle served it
//   EL_TAMPERED   the bundle with one entry's leaf changed
//   EL_ERASED     the contract's bundle after its erasure (the log's own SM2 attestation)
//   EL_FORGED     the bundle with one bit of the log's SM2 signature flipped
//   EL_POLICY     `suite sm2-sm3`, the log key, both SM2 witnesses, quorum 2
//   EL_ED_POLICY  an Ed25519-suite policy (no suite line)
//   EL_LOG_POLICY `suite sm2-sm3` and the log key alone (a lookup answer
//                 carries the log's newest checkpoint, not its cosignatures)
//   EL_KEPT_FILE  a second contract's file, never erased: the page looks it
//                 up at EL_URL's GET /v1/lookup (v3 entries disclosing
//                 with SM3, sm3-jcs-sd/v3)
//   EL_NO_CA_POLICY EL_POLICY without its `ca` line (the issuers' CA root)
//   EL_CHROMIUM   the browser (default /usr/bin/chromium)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set: run this through tests/sm_suite.rs`);
  return v;
};
const URL_BASE = env('EL_URL');
let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.EL_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
});

/** The page in English, a policy loaded if given, the file and bundle
 * verified; returns the page, its problems (console errors, CSP
 * violations, requests elsewhere), the verdict and the checks shown. */
async function run({ policy, bundle }) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource: the server responded with a status of 404/.test(msg.text())) problems.push(msg.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('request', (r) => {
    if (!r.url().startsWith(URL_BASE) && !r.url().startsWith('data:')) problems.push(`external request: ${r.url()}`);
  });
  const resp = await page.goto(`${URL_BASE}/verify?lang=en`);
  assert.equal(resp.status(), 200);
  await page.waitForSelector('body[data-ready="true"]');
  if (policy) {
    await page.setInputFiles('#policy-input', policy);
    await page.waitForSelector('#trust-current[data-source="policy"]');
  }
  await page.setInputFiles('#file-input', env('EL_FILE'));
  await page.setInputFiles('#bundle-input', bundle);
  await page.click('#verify');
  await page.waitForSelector('#results[data-state="done"], #results[data-state="error"], #results[data-state="notice"]', { timeout: 60000 });
  assert.equal(await page.getAttribute('#results', 'data-state'), 'done');
  const verdict = await page.getAttribute('.verdict', 'data-verdict');
  const checks = await page.$$eval('ul.checks.all li', (lis) => lis.map((li) => ({
    id: li.dataset.checkId, subject: li.dataset.subject ?? null, status: li.dataset.status, text: li.textContent,
  })));
  return { page, problems, verdict, checks };
}

const notPassed = (checks) => [...new Set(checks.filter((c) => c.status !== 'pass').map((c) => `${c.id}:${c.status}`))].sort();

test('an sm2-sm3 bundle under a `suite sm2-sm3` policy is VERIFIED', async () => {
  const { page, problems, verdict, checks } = await run({ policy: env('EL_POLICY'), bundle: env('EL_BUNDLE') });
  assert.equal(verdict, 'verified', JSON.stringify(checks.filter((c) => c.status !== 'pass'), null, 1));
  const h2 = await page.textContent('.verdict h2');
  assert.match(h2, /VERIFIED against your trust anchors/);
  assert.doesNotMatch(h2, /NOT VERIFIED/);
  assert.deepEqual(notPassed(checks), []);
  // The SM2 checkpoint signature, both SM2 cosignatures, every SM3 proof,
  // and the online SM3 consistency proof against the log as it is now.
  const ids = checks.map((c) => c.id);
  for (const id of ['bundle_format', 'same_document', 'document_hash', 'log_signature', 'witness_quorum', 'inclusion', 'attestations', 'timeline', 'log_consistency']) {
    assert.ok(ids.includes(id), `check ${id} shown`);
  }
  const cosigned = checks.filter((c) => c.id === 'cosignature').map((c) => c.subject).sort();
  assert.deepEqual(cosigned, ['court.example/sm', 'notary.example/sm']);
  // The certified issuers' attestations hold by their certificates.
  const attested = checks.filter((c) => c.id === 'attestations').map((c) => c.text).join('\n');
  assert.match(attested, /certificate "CN=idp-sm2[^"]*".*court-sm2-ca/s);
  assert.deepEqual(problems, []);
  await page.close();
});

test('an sm2-sm3 bundle of certified issuers under a policy without their CA is refused', async () => {
  const { page, problems, verdict, checks } = await run({ policy: env('EL_NO_CA_POLICY'), bundle: env('EL_BUNDLE') });
  assert.equal(verdict, 'failed');
  const bad = checks.filter((c) => c.id === 'attestations' && c.status === 'fail');
  assert.ok(bad.length > 0, JSON.stringify(checks, null, 1));
  assert.match(bad[0].text, /not issued by a CA of your policy/);
  assert.ok(checks.some((c) => c.id === 'log_signature' && c.status === 'pass'));
  assert.deepEqual(problems, []);
  await page.close();
});

test('an sm2-sm3 bundle holding the log\'s own SM2-attested erasure entry is VERIFIED', async () => {
  const { page, problems, verdict, checks } = await run({ policy: env('EL_POLICY'), bundle: env('EL_ERASED') });
  assert.equal(verdict, 'verified', JSON.stringify(checks.filter((c) => c.status !== 'pass'), null, 1));
  assert.ok(checks.some((c) => c.id === 'attestations' && c.status === 'pass'));
  assert.deepEqual(problems, []);
  await page.close();
});

test('an sm2-sm3 bundle with a changed leaf is refused: its SM3 proof fails', async () => {
  const { page, problems, verdict, checks } = await run({ policy: env('EL_POLICY'), bundle: env('EL_TAMPERED') });
  assert.equal(verdict, 'failed');
  assert.ok(checks.some((c) => c.id === 'inclusion' && c.status === 'fail'), JSON.stringify(checks, null, 1));
  assert.ok(checks.some((c) => c.id === 'log_signature' && c.status === 'pass'));
  assert.deepEqual(problems, []);
  await page.close();
});

test('an sm2-sm3 bundle with a forged SM2 checkpoint signature is refused', async () => {
  const { page, problems, verdict, checks } = await run({ policy: env('EL_POLICY'), bundle: env('EL_FORGED') });
  assert.equal(verdict, 'failed');
  assert.deepEqual(notPassed(checks).filter((c) => c.startsWith('log_signature')), ['log_signature:fail']);
  assert.ok(checks.filter((c) => c.id === 'inclusion').every((c) => c.status === 'pass'));
  assert.deepEqual(problems, []);
  await page.close();
});

test('file only: the page looks the file up on the sm2-sm3 log; its SM3 disclosures (sm3-jcs-sd/v3) open the leaves: VERIFIED', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  await page.goto(`${URL_BASE}/verify?lang=en`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.setInputFiles('#policy-input', env('EL_LOG_POLICY'));
  await page.waitForSelector('#trust-current[data-source="policy"]');
  await page.setInputFiles('#file-input', env('EL_KEPT_FILE'));
  await page.click('#verify');
  await page.waitForSelector('#results[data-state="lookup-done"], #results[data-state="lookup-none"], #results[data-state="error"], #results[data-state="notice"]', { timeout: 60000 });
  assert.equal(await page.getAttribute('#results', 'data-state'), 'lookup-done');
  const checks = await page.$$eval('ul.checks.all li', (lis) => lis.map((li) => ({ id: li.dataset.checkId, status: li.dataset.status, text: li.textContent })));
  assert.equal(await page.getAttribute('.verdict', 'data-verdict'), 'verified', JSON.stringify(checks.filter((c) => c.status !== 'pass'), null, 1));
  const summaries = checks.filter((c) => c.id === 'lookup_summary');
  assert.ok(summaries.length > 0 && summaries.every((c) => c.status === 'pass'), JSON.stringify(summaries, null, 1));
  assert.ok(checks.filter((c) => c.id === 'inclusion').every((c) => c.status === 'pass'));
  assert.deepEqual(problems, []);
  await page.close();
});

test('an sm2-sm3 bundle under an Ed25519-suite policy is refused, naming the suites', async () => {
  const { page, problems, verdict, checks } = await run({ policy: env('EL_ED_POLICY'), bundle: env('EL_BUNDLE') });
  assert.equal(verdict, 'failed');
  const log = checks.find((c) => c.id === 'log_signature');
  assert.equal(log.status, 'fail');
  assert.match(log.text, /suite sm2-sm3.*suite ed25519-sha256/s);
  assert.deepEqual(problems, []);
  await page.close();
});
