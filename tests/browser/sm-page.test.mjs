// The page's national suite in the page's own environment: headless
// Chromium (playwright-core) opens the real server's /verify, imports
// /verify/verifier/sm.js as served (with /verify/vendor/sm-crypto.js and
// the page's CSP), and runs the OpenSSL vectors that tests/js_sm.rs wrote
// to EL_SM_VECTORS; EL_URL is the server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const V = JSON.parse(readFileSync(process.env.EL_SM_VECTORS, 'utf8'));
const URL_BASE = process.env.EL_URL;
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

/** Runs every vector inside the page; returns what sm.js computed. */
async function inPage(page, vectors) {
  return page.evaluate(async (V) => {
    const sm = await import('/verify/verifier/sm.js');
    const bytes = (h) => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));
    const hexOf = (b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
    const t = V.tree;
    const out = {
      sm3: V.sm3.map((c) => hexOf(sm.sm3(bytes(c.message)))),
      leaves: t.leaves.map((l) => hexOf(sm.sm3LeafHash(bytes(l)))),
      node: hexOf(sm.sm3NodeHash(bytes(t.node.left), bytes(t.node.right))),
      inclusion: [],
      consistency: [],
      sm2: [],
    };
    for (const c of t.inclusion) {
      const root = await sm.SM2_SM3.inclusionRoot(bytes(t.leaf_hashes[c.index]), BigInt(c.index), BigInt(c.size), c.path.map(bytes));
      out.inclusion.push(root ? hexOf(root) : null);
    }
    for (const c of t.consistency) {
      out.consistency.push(await sm.SM2_SM3.verifyConsistency(BigInt(c.old), BigInt(c.new), c.path.map(bytes), bytes(c.old_root), bytes(c.new_root)));
    }
    const pub = bytes(V.sm2.public);
    for (const c of V.sm2.cases) {
      const msg = bytes(c.message);
      const other = c.distid === sm.DEFAULT_DISTID ? 'alice@example.com' : sm.DEFAULT_DISTID;
      out.sm2.push({
        der: sm.sm2Verify(pub, bytes(c.der), msg, c.distid),
        raw: sm.sm2Verify(pub, bytes(c.raw), msg, c.distid),
        otherId: sm.sm2Verify(pub, bytes(c.raw), msg, other),
        otherKey: sm.sm2Verify(bytes(V.sm2.other), bytes(c.raw), msg, c.distid),
      });
    }
    return out;
  }, vectors);
}

test('sm.js as the server serves it agrees with OpenSSL in Chromium', async () => {
  const page = await browser.newPage();
  const problems = [];
  // As verify.test.mjs: a 404 (the page asks for what this bare server
  // lacks) is not a problem; CSP violations and exceptions are.
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource: the server responded with a status of 404/.test(msg.text())) problems.push(msg.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  const resp = await page.goto(`${URL_BASE}/verify`);
  assert.equal(resp.status(), 200);
  const got = await inPage(page, V);
  assert.deepEqual(got.sm3, V.sm3.map((c) => c.digest));
  assert.deepEqual(got.leaves, V.tree.leaf_hashes);
  assert.equal(got.node, V.tree.node.hash);
  assert.deepEqual(got.inclusion, V.tree.inclusion.map((c) => c.root));
  assert.ok(got.consistency.length === 28 && got.consistency.every((ok) => ok === true));
  assert.equal(got.sm2.length, V.sm2.cases.length);
  for (const r of got.sm2) assert.deepEqual(r, { der: true, raw: true, otherId: false, otherKey: false });
  assert.deepEqual(problems, []);
  await page.close();
});
