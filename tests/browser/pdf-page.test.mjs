// The contract PDF's own signatures on the public verifier page, in Debian's
// headless Chromium through playwright-core. Started by tests/pdf_page.rs,
// which runs the real server, has pyHanko sign a PDF twice with an openssl
// CA, logs the signed file in a contract flow and writes:
//
//   EL_URL          base URL of the running service
//   EL_PDF          the PDF signed by Alice (PAdES) then Bob (PKCS#7)
//   EL_PDF_TAMPERED the same with one byte of Bob's revision changed
//   EL_PDF_BUNDLE   the contract's evidence bundle (its signed events log
//                   EL_PDF's SHA-256)
//   EL_PDF_POLICY   a trust policy: the log key, the witness, `ca test-root`
//   EL_PDF_EXPECT   what verifier pdf --json --bundle says of EL_PDF
//   EL_SCREENSHOTS  directory for the screenshots
//   EL_CHROMIUM     the browser (default /usr/bin/chromium)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set: run this through tests/pdf_page.rs`);
  return v;
};
const URL_BASE = env('EL_URL');
const SHOTS = env('EL_SCREENSHOTS');
const EXPECT = JSON.parse(readFileSync(env('EL_PDF_EXPECT'), 'utf8'));
let browser;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.EL_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
});

/** A fresh page on /verify that records console errors, page errors, and
 * any request that leaves the origin or is not a GET. */
async function openPage(lang) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource: the server responded with a status of 404/.test(msg.text())) problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith(URL_BASE)) problems.push(`external request: ${r.url()}`);
    if (r.method() !== 'GET') problems.push(`upload: ${r.method()} ${r.url()}`);
  });
  assert.equal((await page.goto(`${URL_BASE}/verify${lang === 'en' ? '?lang=en' : ''}`)).status(), 200);
  await page.waitForSelector('body[data-ready="true"]');
  return { page, problems };
}

async function verify(page, file, { policy = true, bundle = true } = {}) {
  if (policy) {
    await page.setInputFiles('#policy-input', env('EL_PDF_POLICY'));
    await page.waitForSelector('#trust-current[data-source="policy"]');
  }
  await page.setInputFiles('#file-input', file);
  if (bundle) await page.setInputFiles('#bundle-input', env('EL_PDF_BUNDLE'));
  await page.click('#verify');
  await page.waitForSelector(`#results[data-state="${bundle ? 'done' : 'lookup-done'}"]`, { timeout: 60000 });
}

const text = (page, sel) => page.textContent(sel).then((t) => t.trim());

test('a PDF signed twice: both signatures valid, certificates shown, the logged signed events matched', async () => {
  const { page, problems } = await openPage('en');
  await verify(page, env('EL_PDF'));
  assert.equal(await page.getAttribute('#verdict', 'data-verdict'), 'verified', 'the bundle verifies under the policy');
  assert.equal(await page.getAttribute('#pdf-signatures', 'data-verdict'), 'verified');
  assert.match(await text(page, '#pdf-verdict h4'), /^✔ VERIFIED against your policy: 2 signature\(s\) valid/);
  assert.equal(EXPECT.signatures.length, 2);
  for (const want of EXPECT.signatures) {
    const sig = `.pdf-signature[data-number="${want.number}"]`;
    assert.equal(await page.getAttribute(sig, 'data-status'), 'valid');
    assert.match(await text(page, `${sig} h4`), new RegExp(`^Signature ${want.number} \\(field ${want.field}\\) \\[${want.sub_filter}\\]: VALID$`));
    const c = want.signer;
    assert.equal(await text(page, `${sig} .pdf-subject`), c.subject);
    assert.equal(await text(page, `${sig} .pdf-issuer`), c.issuer);
    assert.equal(await text(page, `${sig} .pdf-serial`), c.serial);
    assert.equal(await text(page, `${sig} .pdf-validity`), `${c.not_before} to ${c.not_after}`);
    assert.equal(await text(page, `${sig} .pdf-root`), c.trusted_root);
    assert.equal(await page.getAttribute(`${sig} .pdf-time`, 'data-source'), want.signing_time.source);
    assert.ok((await text(page, `${sig} .pdf-time`)).startsWith(want.signing_time.time));
    assert.ok((await text(page, `${sig} .pdf-revision`)).endsWith(want.revision_sha256));
    // Each signed revision against the bundle's logged signed events.
    const ids = await page.$$eval(`${sig} .pdf-events li`, (lis) => lis.map((li) => li.dataset.eventId));
    assert.deepEqual(ids, want.bundle_events.map((e) => e.event_id));
  }
  // The file the platform logged is the fully signed one: Bob's revision.
  assert.ok(EXPECT.signatures[1].bundle_events.length >= 2, 'both signers logged the final file');
  assert.match(await text(page, '.pdf-signature[data-number="1"] .pdf-events'), /not logged as a signed event/);
  assert.equal(await page.getAttribute('#pdf-after', 'data-bytes'), '0');
  assert.match(await text(page, '#pdf-bundle'), /is verified; it holds 2 signed events, matching 1 signed revisions/);
  await page.screenshot({ path: join(SHOTS, 'pdf-verified-en.png'), fullPage: true });
  assert.deepEqual(problems, []);
});

test('the same PDF with one byte changed after signing fails that signature (Chinese)', async () => {
  const { page, problems } = await openPage('zh');
  await verify(page, env('EL_PDF_TAMPERED'));
  assert.equal(await page.getAttribute('#pdf-signatures', 'data-verdict'), 'failed');
  assert.equal(await text(page, '#pdf-signatures h3'), '合同 PDF 自带的电子签名');
  assert.match(await text(page, '#pdf-verdict h4'), /^✘ 未核验：有签名不成立$/);
  assert.equal(await page.getAttribute('.pdf-signature[data-number="1"]', 'data-status'), 'valid');
  assert.equal(await page.getAttribute('.pdf-signature[data-number="2"]', 'data-status'), 'invalid');
  assert.match(await text(page, '.pdf-signature[data-number="2"] .reasons'), /签名的消息摘要与签名覆盖的字节不符/);
  // The file is not the one logged either: the bundle's document check fails.
  assert.equal(await page.getAttribute('#verdict', 'data-verdict'), 'failed');
  await page.screenshot({ path: join(SHOTS, 'pdf-tampered-zh.png'), fullPage: true });
  assert.deepEqual(problems, []);
});

test('without a policy of the clerk\'s, no PDF signer is trusted: the file alone is looked up, its signatures intact but untrusted', async () => {
  const { page, problems } = await openPage('en');
  await verify(page, env('EL_PDF'), { policy: false, bundle: false });
  // The serving ledger's keys (GET /v1/log) never supply a CA root.
  assert.equal(await page.getAttribute('#pdf-signatures', 'data-verdict'), 'untrusted');
  assert.match(await text(page, '#pdf-no-ca'), /no CA roots/);
  for (const n of [1, 2]) {
    assert.equal(await page.getAttribute(`.pdf-signature[data-number="${n}"]`, 'data-status'), 'untrusted');
    assert.equal(await text(page, `.pdf-signature[data-number="${n}"] .pdf-root`), 'none (not in your policy)');
  }
  assert.equal(await page.$('#pdf-bundle'), null, 'no bundle, no matching');
  assert.deepEqual(problems, []);
});
