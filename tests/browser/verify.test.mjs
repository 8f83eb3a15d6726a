// Drives the public verifier page (GET /verify) in Debian's headless
// Chromium through playwright-core. Started by tests/browser.rs, which runs
// the real server and writes the files this test drops on the page:
//
//   EL_URL          base URL of the running service
//   EL_FILE         the contract file
//   EL_OTHER_FILE   a different file
//   EL_BUNDLE       its evidence bundle
//   EL_TAMPERED     the bundle with one entry altered
//   EL_FORGED       the bundle re-signed end to end with a log key of its own
//   EL_INVENTED     the bundle plus a cosignature line named like the real
//                   witness, by another key, dated 2020
//   EL_ANSI         the bundle with ANSI escape sequences in a leaf's claims
//   EL_POLICY       a trust policy with the real log key and witness
//   EL_STAMPED      a bundle whose first event carries an RFC 3161 token
//                   (openssl ts, verifier/tests/data/tsa) over EL_STAMPED_FILE
//   EL_STAMPED_POLICY  EL_POLICY plus the TSA's root (`tsa test-tsa`)
//   EL_SCREENSHOTS  directory for the screenshots of each state
//   EL_RESULTS      where to write the checks the page showed (JSON), so the
//                   Rust test can compare them with the Rust verifier's
//   EL_CHROMIUM     the browser (default /usr/bin/chromium)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
const verdicts = {};
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
  if (process.env.EL_RESULTS) writeFileSync(process.env.EL_RESULTS, JSON.stringify({ ...results, verdicts }, null, 1));
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

async function verify(page, { file, bundle, policy }) {
  if (policy) {
    await page.setInputFiles('#policy-input', policy);
    await page.waitForSelector('#trust-current[data-source="policy"]');
  }
  if (file) await page.setInputFiles('#file-input', file);
  if (bundle) await page.setInputFiles('#bundle-input', bundle);
  await page.click('#verify');
  await page.waitForSelector('#results[data-state="done"], #results[data-state="lookup-done"], #results[data-state="lookup-none"], #results[data-state="error"], #results[data-state="notice"]', { timeout: 60000 });
}

/** The checks the page shows in its "all checks" list(s). */
const shownChecks = (page) => page.$$eval('ul.checks.all li', (lis) => lis.map((li) => ({
  id: li.dataset.checkId, subject: li.dataset.subject ?? null, passed: li.dataset.passed === 'true',
  status: li.dataset.status, text: li.textContent,
})));

/** No control character or bidi override anywhere in the page's text. */
const assertPlainText = async (page) => {
  const text = await page.evaluate(() => document.body.innerText);
  assert.ok(!/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(text),
    'raw control characters or bidi overrides on the page');
};

const clean = ({ problems, uploads }) => {
  assert.deepEqual(problems, [], 'no console errors, CSP violations or external requests');
  assert.deepEqual(uploads, [], 'nothing is uploaded: the page only GETs');
};

test('a valid bundle and its file show "verified" (Chinese, then English)', async () => {
  const ctx = await openPage('zh');
  const { page } = ctx;
  assert.equal(await page.textContent('h1'), '电子合同证据核验');
  assert.equal(await page.getAttribute('#trust-current', 'data-source'), 'server');
  await verify(page, { file: env('EL_FILE'), bundle: env('EL_BUNDLE') });
  // Without a policy: never "verified" (as the offline verifier without
  // one); what the server's keys would say is shown beside, as its claim,
  // with the log key to compare.
  assert.equal(await page.getAttribute('.verdict', 'data-verdict'), 'no_trusted_log_key');
  assert.match(await page.textContent('.verdict h2'), /未核验：没有提供可信的日志公钥/);
  const logInfo = await (await fetch(`${URL_BASE}/v1/log`)).json();
  assert.equal(await page.getAttribute('#server-anchors', 'data-claimed-verdict'), 'verified');
  const notice = await page.textContent('#server-anchors');
  assert.match(notice, /提供本页面的服务器公布了公钥/);
  assert.match(notice, /这只是该服务器的说法，不是核验结论/);
  assert.ok(notice.includes(logInfo.vkey), notice);
  assert.equal(await page.getAttribute('#trust-used', 'data-source'), 'none');
  const checks = await shownChecks(page);
  results.verified = checks;
  verdicts.verified = await page.getAttribute('.verdict', 'data-verdict');
  assert.deepEqual(checks.filter((c) => !c.passed).map((c) => `${c.id}:${c.status}`), ['log_signature:unanchored']);
  // The bundle's witness is not in the server's anchors: a claim, never timed.
  assert.ok(!checks.some((c) => c.id === 'cosignature'));
  assert.match(await page.textContent('#claimed-witnesses'), /notary\.test\/w1.*未按您的信任锚核验/);
  assert.doesNotMatch(await page.textContent('#witnesses'), /于 .* 联署/);
  for (const id of ['bundle_format', 'same_document', 'document_hash', 'log_signature', 'witness_quorum', 'inclusion', 'attestations', 'timeline', 'log_consistency']) {
    assert.ok(checks.some((c) => c.id === id), `check ${id} shown`);
  }
  // Timeline, masked signers, methods and who attested them, witnesses.
  const timeline = await page.textContent('#timeline');
  assert.match(timeline, /王\*/);
  assert.match(timeline, /手机号三要素/);
  assert.match(timeline, /idp-gov/);
  await page.screenshot({ path: join(SHOTS, '1-verified-zh.png'), fullPage: true });
  await page.click('#lang');
  assert.match(await page.textContent('.verdict h2'), /NOT VERIFIED: no trusted log key supplied/);
  assert.match(await page.textContent('#server-anchors'), /under them the verdict would be: VERIFIED/);
  assert.match(await page.textContent('#server-anchors'), /Compare this log key/);
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
  verdicts.tampered = await page.getAttribute('.verdict', 'data-verdict');
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
  verdicts.other_file = await page.getAttribute('.verdict', 'data-verdict');
  assert.deepEqual(checks.filter((c) => c.status === 'fail').map((c) => c.id), ['document_hash']);
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
  assert.equal(await page.getAttribute('.verdict', 'data-verdict'), 'no_trusted_log_key');
  // Under the server's keys (a claim, shown beside the verdict): the
  // entries are v3 records whose disclosures open their leaves and name
  // this file, so the link to the file is signed, not the server's word.
  assert.equal(await page.getAttribute('#server-anchors', 'data-claimed-verdict'), 'verified');
  const checks = await shownChecks(page);
  results.lookup = checks;
  verdicts.lookup = await page.getAttribute('.verdict', 'data-verdict');
  // The leaves' inclusion and log signature are checked, and each
  // entry's disclosures against its leaf (lookup_summary).
  for (const id of ['bundle_format', 'inclusion', 'lookup_summary']) {
    assert.ok(checks.some((c) => c.id === id && c.passed), `${id}: ${JSON.stringify(checks)}`);
  }
  assert.match(await page.textContent('#lookup-summary'), /条关于此文件的记录/);
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

test('a genuine bundle verifies against a loaded policy with the real keys; it is remembered and can be cleared', async () => {
  const ctx = await openPage('en');
  const { page } = ctx;
  await verify(page, { file: env('EL_FILE'), bundle: env('EL_BUNDLE'), policy: env('EL_POLICY') });
  assert.equal(await page.getAttribute('.verdict', 'data-verdict'), 'verified');
  assert.match(await page.textContent('.verdict h2'), /VERIFIED against your trust anchors/);
  assert.equal(await page.$('#server-anchors'), null, 'no server notice with your own policy');
  assert.equal(await page.getAttribute('#trust-used', 'data-source'), 'policy');
  const checks = await shownChecks(page);
  results.policy = checks;
  verdicts.policy = await page.getAttribute('.verdict', 'data-verdict');
  assert.ok(checks.every((c) => c.status === 'pass'), JSON.stringify(checks.filter((c) => c.status !== 'pass')));
  const cos = checks.find((c) => c.id === 'cosignature');
  assert.equal(cos?.subject, 'notary.test/w1');
  assert.match(cos.text, /notary\.test\/w1\+[0-9a-f]{8}\+/, 'the full witness vkey is named');
  assert.match(await page.textContent('#trusted-witnesses'), /countersigned at/);
  await page.screenshot({ path: join(SHOTS, '8-policy-verified-en.png'), fullPage: true });
  // Remembered in this browser, and cleared on request.
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  assert.equal(await page.getAttribute('#trust-current', 'data-source'), 'policy');
  await page.click('#clear-trust');
  assert.equal(await page.getAttribute('#trust-current', 'data-source'), 'server');
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  assert.equal(await page.getAttribute('#trust-current', 'data-source'), 'server');
  clean(ctx);
  await page.close();
});

test('keys typed in are used like a policy', async () => {
  const ctx = await openPage('en');
  const { page } = ctx;
  const policy = readFileSync(env('EL_POLICY'), 'utf8');
  const log = /^log (\S+)/m.exec(policy)[1];
  const witness = /^witness (\S+)/m.exec(policy)[1];
  await page.click('#trust-keys summary');
  await page.fill('#log-key', log);
  await page.fill('#witness-keys', witness);
  await page.fill('#quorum', '1');
  await page.click('#use-keys');
  await page.waitForSelector('#trust-current[data-source="entered"]');
  await verify(page, { bundle: env('EL_BUNDLE') });
  assert.equal(await page.getAttribute('.verdict', 'data-verdict'), 'verified');
  assert.ok((await page.textContent('#trust-used')).includes(witness));
  // A bad key is refused with the reason, and the previous anchors stay.
  await page.fill('#log-key', 'not-a-key');
  await page.click('#use-keys');
  await page.waitForSelector('#trust-error:not([hidden])');
  assert.match(await page.textContent('#trust-error'), /trust policy line 1/);
  assert.equal(await page.getAttribute('#trust-current', 'data-source'), 'entered');
  clean(ctx);
  await page.close();
});

test('a bundle forged end to end with its own keys is not verified, and says why', async () => {
  const ctx = await openPage('zh');
  const { page } = ctx;
  await verify(page, { file: env('EL_FILE'), bundle: env('EL_FORGED') });
  // Without a policy the log signature rests on the bundle's own key
  // (unanchored, as offline); the live log, signed by another key, does not
  // hold this checkpoint: failed.
  assert.equal(await page.getAttribute('.verdict', 'data-verdict'), 'failed');
  const checks = await shownChecks(page);
  results.forged = checks;
  verdicts.forged = await page.getAttribute('.verdict', 'data-verdict');
  assert.equal(checks.find((c) => c.id === 'log_signature').status, 'unanchored');
  assert.equal(checks.find((c) => c.id === 'log_consistency').status, 'fail');
  await page.screenshot({ path: join(SHOTS, '9-forged-zh.png'), fullPage: true });
  // With your own policy: failed, and why.
  await verify(page, { bundle: env('EL_FORGED'), policy: env('EL_POLICY') });
  assert.equal(await page.getAttribute('.verdict', 'data-verdict'), 'failed');
  assert.match(await page.textContent('.verdict h2'), /核验未通过/);
  assert.match(await page.textContent('#verdict-reasons'), /检查点由日志签名 \[log_signature\]/);
  assert.match(await page.textContent('.failures'), /并非来自您信任的日志/);
  await page.click('#lang');
  assert.match(await page.textContent('.failures'), /it does not come from the log you trust/);
  clean(ctx);
  await page.close();
});

test('an invented witness line named like the real witness is not verified, and says why', async () => {
  const ctx = await openPage('en');
  const { page } = ctx;
  await verify(page, { file: env('EL_FILE'), bundle: env('EL_INVENTED'), policy: env('EL_POLICY') });
  assert.equal(await page.getAttribute('.verdict', 'data-verdict'), 'failed');
  const checks = await shownChecks(page);
  results.invented = checks;
  verdicts.invented = await page.getAttribute('.verdict', 'data-verdict');
  // The real witness's line counts; the invented one fails on its own.
  assert.deepEqual(checks.filter((c) => c.status !== 'pass').map((c) => `${c.id}:${c.subject}`), ['cosignature:notary.test/w1']);
  assert.match(await page.textContent('.failures'), /impersonates the witness/);
  assert.match(await page.textContent('#verdict-reasons'), /Witness notary\.test\/w1 countersigned the checkpoint \[cosignature\]/);
  // The time shown is the real witness's, never 2020 from the invented line.
  assert.doesNotMatch(await page.textContent('#witnesses'), /2020-/);
  await page.screenshot({ path: join(SHOTS, '10-invented-witness-en.png'), fullPage: true });
  clean(ctx);
  await page.close();
});

test('escape sequences in a leaf are not verified, and reach the page only neutralised', async () => {
  const ctx = await openPage('en');
  const { page } = ctx;
  await verify(page, { file: env('EL_FILE'), bundle: env('EL_ANSI'), policy: env('EL_POLICY') });
  assert.equal(await page.getAttribute('.verdict', 'data-verdict'), 'failed');
  const checks = await shownChecks(page);
  results.ansi = checks;
  verdicts.ansi = await page.getAttribute('.verdict', 'data-verdict');
  const failed = checks.filter((c) => c.status === 'fail').map((c) => c.id);
  assert.ok(failed.includes('inclusion'), failed.join(','));
  assert.match(await page.textContent('#verdict-reasons'), /check failed: Entry \d+ is in the log \[inclusion\]/);
  await assertPlainText(page);
  assert.match(await page.textContent('#timeline'), /\uFFFD\[2K/, 'the escape is shown as U+FFFD');
  await page.screenshot({ path: join(SHOTS, '11-escapes-en.png'), fullPage: true });
  clean(ctx);
  await page.close();
});

test('a timestamped bundle verifies against a policy holding the TSA root, with the token checked in the page', async () => {
  const ctx = await openPage('en');
  const { page } = ctx;
  await verify(page, { file: env('EL_STAMPED_FILE'), bundle: env('EL_STAMPED'), policy: env('EL_STAMPED_POLICY') });
  const checks = await shownChecks(page);
  results.stamped = checks;
  verdicts.stamped = await page.getAttribute('.verdict', 'data-verdict');
  assert.equal(verdicts.stamped, 'verified', JSON.stringify(checks.filter((c) => c.status !== 'pass')));
  const stamp = checks.find((c) => c.id === 'event_timestamp');
  assert.equal(stamp?.status, 'pass');
  assert.match(stamp.text, /test-tsa \(a root you trust\).*no later than 2026-11-28T16:17:40Z/);
  await page.screenshot({ path: join(SHOTS, '11-timestamp-verified-en.png'), fullPage: true });
  clean(ctx);
  await page.close();
});
