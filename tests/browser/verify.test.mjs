// Drives the public verifier page (GET /verify) in Debian's headless
// Chromium through playwright-core. Started by tests/browser.rs, which runs
// the real server and writes the files this test drops on the page:
//
//   EL_URL          base URL of the running service
//   EL_FILE         the contract file
//   EL_OTHER_FILE   a different file
//   EL_BUNDLE       its evidence bundle
//   EL_TAMPERED     the bundle with one entry altered
//   EL_SCREENSHOTS  directory for the screenshots of each state
//   EL_RESULTS      where to write the checks the page showed (JSON), so the
//                   Rust test can compare them with the Rust verifier's
//   EL_CHROMIUM     the browser (default /usr/bin/chromium)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set: run this through tests/browser.rs (./scripts/test)`);
  return v;
};
const URL_BASE = env('EL_URL');
const SHOTS = env('EL_SCREENSHOTS');
const results = {};
let browser;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.EL_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  if (process.env.EL_RESULTS) writeFileSync(process.env.EL_RESULTS, JSON.stringify(results, null, 1));
});

/** A fresh page on /verify that records console errors (CSP violations
 * among them) and any request leaving the service's origin. */
async function openPage(lang) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource: the server responded with a status of 404/.test(msg.text())) {
      problems.push(`console: ${msg.text()}`);
    }
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith(URL_BASE) && !r.url().startsWith('data:')) problems.push(`external request: ${r.url()}`);
  });
  const uploads = [];
  page.on('request', (r) => {
    if (r.method() !== 'GET') uploads.push(`${r.method()} ${r.url()}`);
  });
  const resp = await page.goto(`${URL_BASE}/verify${lang === 'en' ? '?lang=en' : ''}`);
  assert.equal(resp.status(), 200);
  const csp = resp.headers()['content-security-policy'];
  assert.match(csp, /default-src 'self'; connect-src 'self'/);
  await page.waitForSelector('body[data-ready="true"]');
  return { page, problems, uploads };
}

async function verify(page, { file, bundle }) {
  if (file) await page.setInputFiles('#file-input', file);
  if (bundle) await page.setInputFiles('#bundle-input', bundle);
  await page.click('#verify');
  await page.waitForSelector('#results[data-state="done"], #results[data-state="lookup-done"], #results[data-state="lookup-none"], #results[data-state="error"], #results[data-state="notice"]', { timeout: 60000 });
}

/** The checks the page shows in its "all checks" list(s). */
const shownChecks = (page) => page.$$eval('ul.checks.all li', (lis) => lis.map((li) => ({
  id: li.dataset.checkId, subject: li.dataset.subject ?? null, passed: li.dataset.passed === 'true',
  text: li.textContent,
})));

const clean = ({ problems, uploads }) => {
  assert.deepEqual(problems, [], 'no console errors, CSP violations or external requests');
  assert.deepEqual(uploads, [], 'nothing is uploaded: the page only GETs');
};

test('a valid bundle and its file show "verified" (Chinese, then English)', async () => {
  const ctx = await openPage('zh');
  const { page } = ctx;
  assert.equal(await page.textContent('h1'), '电子合同证据核验');
  await verify(page, { file: env('EL_FILE'), bundle: env('EL_BUNDLE') });
  assert.equal(await page.getAttribute('.verdict', 'data-verdict'), 'verified');
  assert.match(await page.textContent('.verdict h2'), /已核验/);
  const checks = await shownChecks(page);
  results.verified = checks;
  assert.ok(checks.every((c) => c.passed), JSON.stringify(checks.filter((c) => !c.passed)));
  for (const id of ['bundle_format', 'same_document', 'document_hash', 'log_signature', 'inclusion', 'attestations', 'timeline', 'log_consistency']) {
    assert.ok(checks.some((c) => c.id === id), `check ${id} shown`);
  }
  // Timeline, masked signers, methods and who attested them, witnesses.
  const timeline = await page.textContent('#timeline');
  assert.match(timeline, /王\*/);
  assert.match(timeline, /手机号三要素/);
  assert.match(timeline, /idp-gov/);
  assert.match(await page.textContent('#witnesses'), /notary\.test\/w1/);
  await page.screenshot({ path: join(SHOTS, '1-verified-zh.png'), fullPage: true });
  await page.click('#lang');
  assert.match(await page.textContent('.verdict h2'), /Verified/);
  assert.match(await page.textContent('#timeline'), /identity checked by idp-gov using phone 3-factor/);
  await page.screenshot({ path: join(SHOTS, '2-verified-en.png'), fullPage: true });
  clean(ctx);
  await page.close();
});

test('a tampered bundle shows which check failed', async () => {
  const ctx = await openPage('zh');
  const { page } = ctx;
  await verify(page, { file: env('EL_FILE'), bundle: env('EL_TAMPERED') });
  assert.equal(await page.getAttribute('.verdict', 'data-verdict'), 'failed');
  const checks = await shownChecks(page);
  results.tampered = checks;
  const failed = checks.filter((c) => !c.passed).map((c) => `${c.id}:${c.subject}`);
  assert.ok(failed.some((f) => f.startsWith('inclusion:')), failed.join(','));
  const failures = await page.textContent('.failures');
  assert.match(failures, /条目或其证明被篡改/);
  await page.screenshot({ path: join(SHOTS, '3-tampered-zh.png'), fullPage: true });
  await page.click('#lang');
  assert.match(await page.textContent('.failures'), /the entry or its proof was altered/);
  await page.screenshot({ path: join(SHOTS, '4-tampered-en.png'), fullPage: true });
  clean(ctx);
  await page.close();
});

test('a different file shows a hash mismatch', async () => {
  const ctx = await openPage('zh');
  const { page } = ctx;
  await verify(page, { file: env('EL_OTHER_FILE'), bundle: env('EL_BUNDLE') });
  assert.equal(await page.getAttribute('.verdict', 'data-verdict'), 'failed');
  const checks = await shownChecks(page);
  results.other_file = checks;
  assert.deepEqual(checks.filter((c) => !c.passed).map((c) => c.id), ['document_hash']);
  assert.match(await page.textContent('.failures'), /二者不一致/);
  await page.screenshot({ path: join(SHOTS, '5-other-file-zh.png'), fullPage: true });
  clean(ctx);
  await page.close();
});

test('the file alone is looked up by its hash and verified', async () => {
  const ctx = await openPage('zh');
  const { page } = ctx;
  await verify(page, { file: env('EL_FILE') });
  assert.equal(await page.getAttribute('#results', 'data-state'), 'lookup-done');
  assert.equal(await page.getAttribute('.verdict', 'data-verdict'), 'verified');
  const checks = await shownChecks(page);
  results.lookup = checks;
  assert.ok(checks.some((c) => c.id === 'document_hash' && c.passed));
  assert.match(await page.textContent('#lookup-summary'), /份合同/);
  await page.screenshot({ path: join(SHOTS, '6-lookup-zh.png'), fullPage: true });
  clean(ctx);
  await page.close();
});

test('a file the log has never seen is reported as unknown', async () => {
  const ctx = await openPage('en');
  const { page } = ctx;
  await verify(page, { file: env('EL_OTHER_FILE') });
  assert.equal(await page.getAttribute('#results', 'data-state'), 'lookup-none');
  assert.match(await page.textContent('#message'), /holds no record about this file/);
  await page.screenshot({ path: join(SHOTS, '7-lookup-unknown-en.png'), fullPage: true });
  clean(ctx);
  await page.close();
});
