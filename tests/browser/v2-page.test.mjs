// The verifier page (web/verify.html) on evidence v2, in headless Chromium
// through playwright-core, against a stand-in for the ledger served from
// this process (web/ files, GET /v1/log, /v1/lookup, /v1/checkpoint): a
// lookup v2 answer (file only), a bundle v2 with erased entries and an
// identity opening, and a bundle v1 whose attestations are labelled v1.
// Needs no running ledger: `node --test v2-page.test.mjs` (skipped without
// Chromium; EL_CHROMIUM names it, default /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import * as v from '../../web/verifier.js';
import * as f from './fixtures.mjs';

const CHROMIUM = process.env.EL_CHROMIUM || '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`;
const WEB = new URL('../../web/', import.meta.url);
const TYPES = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };
const dir = mkdtempSync(join(tmpdir(), 'v2-page-'));
const utf8 = new TextEncoder();

let server;
let base;
let browser;
const ledger = { logInfo: null, checkpoint: '', lookup: null };

before(async () => {
  if (skip) return;
  server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const send = (status, type, body) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const json = (body) => send(200, 'application/json', JSON.stringify(body));
    if (url.pathname === '/verify') return send(200, TYPES.html, readFileSync(new URL('verify.html', WEB)));
    const file = /^\/verify\/((?:verifier\/(?:bundle\/|tsa\/|pdf\/)?|vendor\/)?[a-z0-9-]+)\.(js|css)$/.exec(url.pathname);
    if (file) return send(200, TYPES[file[2]], readFileSync(new URL(`${file[1]}.${file[2]}`, WEB)));
    if (url.pathname === '/v1/log') return json(ledger.logInfo);
    if (url.pathname === '/v1/checkpoint') return send(200, 'text/plain; charset=utf-8', ledger.checkpoint);
    if (url.pathname === '/v1/lookup' && ledger.lookup && url.searchParams.get('document_hash') === ledger.lookup.document_hash) return json(ledger.lookup);
    return send(404, 'application/json', '{"error":"not_found"}');
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

async function openPage(lang) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(`${base}/verify${lang === 'en' ? '?lang=en' : ''}`);
  await page.waitForSelector('body[data-ready="true"]');
  return { page, problems };
}

async function run(page, { file, bundle }) {
  if (file) await page.setInputFiles('#file-input', file);
  if (bundle) await page.setInputFiles('#bundle-input', bundle);
  await page.click('#verify');
  await page.waitForSelector('#results[data-state="done"], #results[data-state="lookup-done"], #results[data-state="lookup-none"], #results[data-state="error"], #results[data-state="notice"]', { timeout: 60000 });
}

/** With EL_SCREENSHOTS set, a full-page screenshot there. */
const shot = async (page, name) => {
  if (process.env.EL_SCREENSHOTS) await page.screenshot({ path: join(process.env.EL_SCREENSHOTS, name), fullPage: true });
};

const shownChecks = (page) => page.$$eval('ul.checks.all li', (lis) => lis.map((li) => ({ id: li.dataset.checkId, status: li.dataset.status, text: li.textContent })));

/** Serves `b`'s log as the ledger: its key at /v1/log, its checkpoint. */
async function serveLog(log, b) {
  ledger.logInfo = { vkey: log.vkey, witnesses: [] };
  ledger.checkpoint = b.checkpoint;
}

/** Serves a lookup v2 answer about `hash`: two entries of a v2 contract. */
async function serveLookup(hash) {
  const log = await f.logSigner('ledger.example/log', 1);
  const c = await f.v2Contract();
  const b = await f.makeBundleV2({ log, items: c.items });
  await serveLog(log, b);
  ledger.lookup = {
    format: 'evidence-lookup/v2', document_hash: hash, origin: b.origin, log_vkey: b.log_vkey, checkpoint: b.checkpoint,
    tree_size: b.tree_size, witnesses: [], next_cursor: 'c-2',
    entries: b.entries.map((e, i) => ({
      index: e.index, leaf: e.leaf, inclusion: e.inclusion,
      summary: [
        { kind: 'registered', ledger_time: f.LEDGER_TIME, party: 1, issuers: [], checked_on_ingest: true },
        { kind: 'identity_verified', ledger_time: '2026-01-01T00:00:01.000000Z', party: 2, issuers: ['idp', 'signer'], checked_on_ingest: true },
      ][i],
    })),
  };
}

test('file only, lookup v2: the ledger\'s statement per entry, inclusion and signatures verified', { skip }, async () => {
  const document = utf8.encode('合同 42：全文\n');
  const hash = v.hex(await v.sha256(document));
  const filePath = join(dir, 'contract.txt');
  writeFileSync(filePath, document);
  await serveLookup(hash);
  const { page, problems } = await openPage('en');
  await run(page, { file: filePath });
  assert.equal(await page.getAttribute('#results', 'data-state'), 'lookup-done');
  // No policy: never "verified"; under the server's keys, the link between
  // the v2 entries and the file is still only the server's word.
  assert.equal(await page.getAttribute('#verdict', 'data-verdict'), 'no_trusted_log_key');
  assert.equal(await page.getAttribute('#server-anchors', 'data-claimed-verdict'), 'server_vouched');
  const statement = await page.textContent('#lookup-statement');
  assert.match(statement, /the ledger's own statement/);
  assert.match(statement, /party 2/);
  assert.match(statement, /idp, the signer's own key/);
  assert.match(statement, /attestations checked, says the ledger/);
  assert.match(statement, /in the log, time as stated/);
  assert.ok(!statement.includes('contract-1') && !statement.includes('u-1') && !statement.includes('王'), 'no contract, actor or name');
  assert.match(await page.textContent('#lookup-more'), /more records/);
  const checks = await shownChecks(page);
  for (const id of ['bundle_format', 'inclusion', 'lookup_summary', 'log_consistency']) {
    assert.ok(checks.some((x) => x.id === id && x.status === 'pass'), `${id}: ${JSON.stringify(checks)}`);
  }
  assert.ok(checks.some((x) => x.id === 'log_signature' && x.status === 'unanchored'), JSON.stringify(checks));
  await shot(page, 'v2-lookup-en.png');
  await page.click('#lang');
  assert.match(await page.textContent('#lookup-statement'), /账本自己的说法/);
  assert.match(await page.textContent('#lookup-statement'), /第 2 方/);
  assert.deepEqual(problems, []);
  await page.close();
});

/** A conformance case (verifier/testdata/conformance), made by the Rust generator. */
const corpusCase = (name) => JSON.parse(readFileSync(new URL(`../../verifier/testdata/conformance/${name}.json`, import.meta.url), 'utf8'));

test('file only, lookup v3: disclosures tie the entries to the file (verified under a policy); a never-logged file is not verified', { skip }, async () => {
  // A genuine answer of v3 entries about the corpus world's document, and
  // the court's policy (the log key and both witnesses).
  const c = corpusCase('lookup-v3-verified');
  const document = utf8.encode('%PDF-1.7 the contract text');
  assert.equal(v.hex(await v.sha256(document)), c.document_sha256);
  const filePath = join(dir, 'contract-v3.pdf');
  writeFileSync(filePath, document);
  const policyPath = join(dir, 'court-v3.policy');
  writeFileSync(policyPath, c.policy);
  ledger.logInfo = { vkey: c.lookup.log_vkey, witnesses: [] };
  ledger.checkpoint = c.lookup.checkpoint;
  ledger.lookup = c.lookup;
  const { page, problems } = await openPage('en');
  await page.setInputFiles('#policy-input', policyPath);
  await page.waitForSelector('#trust-current[data-source="policy"]');
  await run(page, { file: filePath });
  assert.equal(await page.getAttribute('#results', 'data-state'), 'lookup-done');
  assert.equal(await page.getAttribute('#verdict', 'data-verdict'), 'verified');
  const checks = await shownChecks(page);
  const summaries = checks.filter((x) => x.id === 'lookup_summary');
  assert.equal(summaries.length, c.lookup.entries.length);
  for (const x of summaries) {
    assert.equal(x.status, 'pass');
    assert.match(x.text, /its disclosures open the leaf's commitment/);
  }
  const statement = await page.textContent('#lookup-statement');
  assert.match(statement, /document hash and kind checked against the leaf from its disclosures/);
  assert.match(statement, /not only the ledger's word/);
  await shot(page, 'v3-lookup-verified-en.png');
  // A server that answers the same genuine entries for a file that was
  // never logged: the disclosures name the logged document, not this file.
  const never = utf8.encode('a file that was never logged');
  const neverPath = join(dir, 'never-logged.txt');
  writeFileSync(neverPath, never);
  ledger.lookup = { ...c.lookup, document_hash: v.hex(await v.sha256(never)) };
  await run(page, { file: neverPath });
  assert.notEqual(await page.getAttribute('#verdict', 'data-verdict'), 'verified');
  assert.equal(await page.getAttribute('#verdict', 'data-verdict'), 'failed');
  const failed = (await shownChecks(page)).filter((x) => x.status === 'fail').map((x) => x.id);
  assert.ok(failed.length > 0 && failed.every((id) => id === 'lookup_summary'), JSON.stringify(failed));
  await shot(page, 'v3-lookup-never-logged-en.png');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a link /verify#sha256=<hash> (an evidence report\'s QR code) is looked up on load', { skip }, async () => {
  const hash = v.hex(await v.sha256(utf8.encode('合同 43：全文\n')));
  await serveLookup(hash);
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(`${base}/verify?lang=en#sha256=${hash.toUpperCase()}`);
  await page.waitForSelector('#results[data-state="lookup-done"]', { timeout: 60000 });
  assert.equal(await page.getAttribute('#verdict', 'data-verdict'), 'no_trusted_log_key');
  assert.equal(await page.getAttribute('#server-anchors', 'data-claimed-verdict'), 'server_vouched');
  assert.equal(await page.textContent('.filehash'), `File SHA-256 from the link (an evidence report's QR code; not computed here): ${hash}`);
  await shot(page, 'link-lookup-en.png');
  // A malformed hash in the link (a later change of the fragment): said so.
  await page.goto(`${base}/verify?lang=en#sha256=${hash.slice(1)}`);
  await page.waitForSelector('#results[data-state="error"]');
  assert.match(await page.textContent('#message'), /malformed/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a bundle v2: erased entries say when, by whom and why; the verified identity is shown in full', { skip }, async () => {
  const log = await f.logSigner('ledger.example/log', 1);
  const e = await f.v2ErasedContract();
  const b = await f.makeBundleV2({ log, ...e });
  await serveLog(log, b);
  const path = join(dir, 'bundle-v2-erased.json');
  writeFileSync(path, JSON.stringify(b));
  const { page, problems } = await openPage('en');
  await run(page, { bundle: path });
  assert.equal(await page.getAttribute('#verdict', 'data-verdict'), 'no_trusted_log_key');
  assert.equal(await page.getAttribute('#server-anchors', 'data-claimed-verdict'), 'verified', 'under the server\'s keys, as a claim');
  const rows = await page.$$eval('#timeline tr[data-erased="true"]', (trs) => trs.map((tr) => tr.textContent));
  assert.equal(rows.length, 2);
  assert.match(rows[0], /erased on 2026-01-02T00:00:00\.000000Z, by tok-admin, reason: PIPL art\. 47 request/);
  const checks = await shownChecks(page);
  assert.ok(checks.some((x) => x.id === 'commitments' && x.status === 'pass'));
  await shot(page, 'v2-erased-en.png');
  await page.click('#lang');
  assert.match((await page.$$eval('#timeline tr[data-erased="true"]', (trs) => trs.map((tr) => tr.textContent)))[0], /记录已于 2026-01-02T00:00:00\.000000Z 销毁，操作者 tok-admin/);

  const c = await f.v2Contract();
  const b2 = await f.makeBundleV2({ log, items: c.items, issuers: [{ name: 'idp', public_key: c.idp.b64 }] });
  await serveLog(log, b2);
  const path2 = join(dir, 'bundle-v2.json');
  writeFileSync(path2, JSON.stringify(b2));
  await page.click('#reset');
  await run(page, { bundle: path2 });
  assert.equal(await page.getAttribute('#verdict', 'data-verdict'), 'no_trusted_log_key');
  assert.equal(await page.getAttribute('#server-anchors', 'data-claimed-verdict'), 'verified', 'under the server\'s keys, as a claim');
  assert.match(await page.textContent('#timeline'), /身份（开启值已核验）：王小明 · resident_id 110101199003077777/);
  await shot(page, 'v2-bundle-zh.png');
  assert.doesNotMatch(await page.textContent('#timeline'), /v1：/, 'v2 attestations carry no v1 label');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a bundle v1: attestations are labelled "v1: does not bind tenant, contract or actor"', { skip }, async () => {
  const log = await f.logSigner('ledger.example/log', 1);
  const idp = await f.keyFromSeed(5);
  const event = f.eventOf({ id: 'ev-2', kind: 'identity_verified', attestations: [{ issuer: 'idp', claim: { method: 'face', result: 'pass' } }] });
  await f.signAttestation(idp, event, 0);
  const b = await f.makeBundle({ log, leaves: [f.registeredLeaf(), utf8.encode(v.canonicalJson({ event, ledger_time: f.LEDGER_TIME, tenant: 'acme' }))] });
  b.issuers = [{ name: 'idp', public_key: idp.b64 }];
  await serveLog(log, b);
  const path = join(dir, 'bundle-v1.json');
  writeFileSync(path, JSON.stringify(b));
  const { page, problems } = await openPage('en');
  await run(page, { bundle: path });
  assert.equal(await page.getAttribute('#verdict', 'data-verdict'), 'no_trusted_log_key');
  assert.equal(await page.getAttribute('#server-anchors', 'data-claimed-verdict'), 'verified', 'under the server\'s keys, as a claim');
  assert.match(await page.textContent('#timeline'), /\[v1: does not bind tenant, contract or actor\]/);
  await page.click('#lang');
  assert.match(await page.textContent('#timeline'), /\[v1：未绑定租户、合同或参与方\]/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a bundle with attestations v2.1: the page labels what each binds, and "not checked" without the identity opening', { skip }, async () => {
  const corpus = new URL('../../verifier/testdata/conformance/', import.meta.url);
  for (const [name, want] of [
    ['v21-genuine-verified', /\[v2\.1: binds tenant, contract, actor, the person's identity and the log\]/],
    ['v21-identity-openings-withheld', /\[not checked: identity opening not included\]/],
  ]) {
    const c = JSON.parse(readFileSync(new URL(`${name}.json`, corpus), 'utf8'));
    const vkey = c.policy.split('\n').find((l) => l.startsWith('log ')).slice(4);
    await serveLog({ vkey }, c.bundle);
    const path = join(dir, `${name}.json`);
    writeFileSync(path, JSON.stringify(c.bundle));
    const { page, problems } = await openPage('en');
    await run(page, { bundle: path });
    const timeline = await page.textContent('#timeline');
    assert.match(timeline, want, name);
    assert.match(timeline, /\[v2\.1: binds tenant, contract, actor and the log; no person\]/, name);
    assert.ok(!timeline.includes('NOT valid'), `${name}: ${timeline}`);
    await page.click('#lang');
    assert.match(await page.textContent('#timeline'), /v2\.1：绑定租户、合同、参与方/, name);
    assert.deepEqual(problems, [], name);
    await page.close();
  }
});
