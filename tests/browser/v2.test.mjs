// Evidence v2 in the page's verifier (web/verifier.js): leaf v2, record and
// identity commitments (vectors printed by the Rust reference, verifier/src/
// v2.rs and attest.rs), attestation v2 binding tenant, contract and actor,
// bundle v2 with the `commitments` check and erased markers, lookup v2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as v from '../../web/verifier.js';
import { render } from '../../web/i18n.js';
import * as f from './fixtures.mjs';

const utf8 = new TextEncoder();

// Printed by the Rust reference (verifier::v2::{identity_value,
// identity_commitment, record_value, record_commitment, leaf_v2_bytes},
// verifier::attest::{attestation_message_v2, sign_attestation_v2} with
// SigningKey::from_bytes(&[5; 32])), salts [1; 32] and [7; 32].
const RUST = {
  "IDENTITY": "{\"format\":\"evidence-identity/v2\",\"id_number\":\"110101199003077777\",\"id_type\":\"resident_id\",\"name\":\"王小明\",\"phone\":\"+86 138-0000-0000\",\"salt\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\"}",
  "IDENTITY_COMMITMENT": "E6d9XVCwWvPzQk+ZddcLUeCHmHbcjDIg+SQkAI1ynpw=",
  "RECORD": "{\"event\":{\"actor\":{\"commitment\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"display\":\"王*\",\"id\":\"u-1\"},\"attestations\":[],\"document_hash\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"document_id\":\"contract-1\",\"event_id\":\"ev-1\",\"kind\":\"registered\"},\"format\":\"evidence-record/v2\",\"identity_commitment\":\"E6d9XVCwWvPzQk+ZddcLUeCHmHbcjDIg+SQkAI1ynpw=\",\"salt\":\"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\",\"tenant\":\"acme\"}",
  "RECORD_COMMITMENT": "FeFFclFG2dIDDsIvySLExMSStCslFaIM4JmrTUQWiP4=",
  "RECORD_NOID_COMMITMENT": "1rxnkESpCuqe5Ao00ynmqR/9sexbmpn66jTNCSY59bU=",
  "LEAF": "{\"commitment\":\"FeFFclFG2dIDDsIvySLExMSStCslFaIM4JmrTUQWiP4=\",\"commitment_alg\":\"sha256-jcs-salted/v2\",\"format\":\"evidence-leaf/v2\",\"ledger_time\":\"2026-01-01T00:00:00.000000Z\"}",
  "ATT_MSG": "{\"actor_id\":\"u-1\",\"claim\":{\"method\":\"sms_code\",\"result\":\"pass\"},\"context\":\"evidence-ledger/attestation/v2\",\"document_hash\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"document_id\":\"contract-1\",\"event_id\":\"ev-2\",\"issuer\":\"idp\",\"kind\":\"identity_verified\",\"tenant\":\"acme\"}",
  "ATT_PUB": "bnoc3Smwt4/ROvTFWY/v9O8qlxZuPKby5Pv8zYBQW/E=",
  "ATT_SIG": "BSnUaR0JXEHBX7qX9SGnQb+HzRBr6yAohXfWowSYHWtZPTNaiOlKSgoFDjap5SY8xjOzwGSxkXS0SYZ9eAvfAg=="
};

const policyOf = async (text) => v.parsePolicy(text);
const verify = async (b, policyText, opts = {}) => v.verifyBundle(f.bytesOf(b), { policy: await policyOf(policyText), now: f.LEDGER_UNIX + 1000, ...opts });
const statusOf = (r, id, subject = null) => r.checks.filter((c) => c.id === id && (subject === null || c.subject === subject)).map((c) => c.status);
const failing = (r) => [...new Set(r.checks.filter((c) => c.status === 'fail').map((c) => c.id))].sort();
const why = (r) => r.checks.filter((c) => c.status !== 'pass').map((c) => `${c.id}(${c.subject ?? ''}): ${render(c.detail, 'en')}`).join('\n');

test('record and identity commitments, leaf v2 and attestation v2 message equal the Rust reference', async () => {
  const opening = JSON.parse(RUST.IDENTITY);
  assert.equal(v.canonicalJson(opening), RUST.IDENTITY);
  assert.equal(v.b64encode(await v.identityCommitment(opening)), RUST.IDENTITY_COMMITMENT);
  const record = JSON.parse(RUST.RECORD);
  assert.equal(v.canonicalJson(record), RUST.RECORD);
  assert.equal(v.b64encode(await v.recordCommitment(record)), RUST.RECORD_COMMITMENT);
  const { identity_commitment: _ic, ...noId } = record;
  assert.equal(v.b64encode(await v.recordCommitment(noId)), RUST.RECORD_NOID_COMMITMENT);
  // The fixtures build the same objects.
  const fOpening = f.identityOpening({ name: '王小明', id_type: 'resident_id', id_number: '110101199003077777', phone: '+86 138-0000-0000' });
  assert.equal(v.canonicalJson(fOpening), RUST.IDENTITY);
  const fRecord = await f.recordOf(f.eventOf(), { opening: fOpening });
  assert.equal(v.canonicalJson(fRecord), RUST.RECORD);
  assert.equal(new TextDecoder().decode(await f.leafV2Of(fRecord)), RUST.LEAF);
  // Leaf v2 parses; the record opens it; the identity opens the record.
  const leaf = v.parseLeaf(utf8.encode(RUST.LEAF));
  assert.equal(leaf.v2, true);
  assert.equal(leaf.ledger_time, f.LEDGER_TIME);
  assert.equal(v.b64encode(leaf.commitment), RUST.RECORD_COMMITMENT);
  const opened = await v.openLeaf(leaf, record);
  assert.equal(opened.entry.tenant, 'acme');
  assert.equal(opened.entry.event.event_id, 'ev-1');
  assert.deepEqual({ ...(await v.openIdentity(opened.record, opening)) }, { name: '王小明', id_type: 'resident_id', id_number: '110101199003077777', phone: '+86 138-0000-0000' });
  // Attestation v2: the message, and the Rust signature verifies over it.
  const key = await f.keyFromSeed(5);
  assert.equal(key.b64, RUST.ATT_PUB);
  const ev = f.eventOf({ id: 'ev-2', kind: 'identity_verified', attestations: [{ issuer: 'idp', v: 2, claim: { method: 'sms_code', result: 'pass' }, signature: '' }] });
  const msg = v.attestationMessage(ev, 0, 'acme');
  assert.equal(new TextDecoder().decode(msg), RUST.ATT_MSG);
  const ck = await v.importEd25519(key.raw);
  assert.ok(await v.ed25519Verify(ck, v.b64decode(RUST.ATT_SIG), msg));
  // Replayed into another tenant, contract, actor or kind, it fails.
  assert.ok(!(await v.ed25519Verify(ck, v.b64decode(RUST.ATT_SIG), v.attestationMessage(ev, 0, 'other'))));
  for (const other of [{ document_id: 'contract-2' }, { actor: { ...ev.actor, id: 'u-2' } }, { kind: 'intent_verified' }, { event_id: 'ev-3' }]) {
    assert.ok(!(await v.ed25519Verify(ck, v.b64decode(RUST.ATT_SIG), v.attestationMessage({ ...ev, ...other }, 0, 'acme'))), JSON.stringify(other));
  }
  // Without "v": 2 the message is v1's five members.
  const v1 = { ...ev, attestations: [{ issuer: 'idp', claim: { method: 'sms_code', result: 'pass' }, signature: '' }] };
  assert.ok(!new TextDecoder().decode(v.attestationMessage(v1, 0, 'acme')).includes('tenant'));
});

test('leaf v2 is exactly four members, canonical, known format and algorithm', () => {
  const good = JSON.parse(RUST.LEAF);
  const bad = (obj, text) => assert.throws(() => v.parseLeaf(utf8.encode(text ?? v.canonicalJson(obj))), v.Fail, text ?? JSON.stringify(obj));
  assert.equal(v.parseLeaf(utf8.encode(v.canonicalJson(good))).v2, true);
  bad({ ...good, x: 1 });
  bad({ ...good, tenant: 'acme' });
  for (const k of Object.keys(good)) {
    const { [k]: _, ...rest } = good;
    bad(rest);
  }
  bad({ ...good, format: 'evidence-leaf/v3' });
  bad({ ...good, commitment_alg: 'sha256' });
  bad({ ...good, commitment: good.commitment.slice(0, -4) });
  bad({ ...good, commitment: v.b64encode(new Uint8Array(33)) });
  bad({ ...good, ledger_time: '2026-01-01T00:00:00Z' });
  bad(null, JSON.stringify(good, null, 1));
});

test('records, identity openings and event identities are validated as in Rust', async () => {
  const opening = JSON.parse(RUST.IDENTITY);
  const record = JSON.parse(RUST.RECORD);
  const leaf = v.parseLeaf(utf8.encode(RUST.LEAF));
  const refuse = async (p, what) => assert.rejects(p, v.Fail, what);
  // A tampered record does not open the leaf; nor does another salt or tenant.
  await refuse(v.openLeaf(leaf, { ...record, tenant: 'other' }), 'tenant');
  await refuse(v.openLeaf(leaf, { ...record, salt: f.saltOf(8) }), 'salt');
  await refuse(v.openLeaf(leaf, { ...record, event: { ...record.event, document_id: 'contract-2' } }), 'contract');
  // Members, formats, salts.
  await refuse(v.openLeaf(leaf, { ...record, extra: 1 }), 'unknown member');
  await refuse(v.openLeaf(leaf, { ...record, format: 'evidence-record/v1' }), 'format');
  await refuse(v.openLeaf(leaf, { ...record, salt: v.b64encode(new Uint8Array(31)) }), 'short salt');
  await refuse(v.openLeaf(leaf, { ...record, event: { ...record.event, identity: { name: 'x', id_type: 'p', id_number: '1' } } }), 'identity in record');
  const opened = await v.openLeaf(leaf, record);
  await refuse(v.openIdentity(opened.record, { ...opening, id_number: '1' }), 'other number');
  await refuse(v.openIdentity(opened.record, { ...opening, extra: 'x' }), 'unknown member');
  await refuse(v.openIdentity(opened.record, { ...opening, id_type: 'bad type!' }), 'id_type');
  await refuse(v.openIdentity(opened.record, { ...opening, name: 'a\u202eb' }), 'bidi name');
  await refuse(v.openIdentity(opened.record, { ...opening, phone: 'abc' }), 'phone');
  await refuse(v.openIdentity({ ...opened.record, identity_commitment: null }, opening), 'no commitment');
  // The event's identity member (v1 leaves and records alike) and "v".
  const leafOf = (event) => utf8.encode(v.canonicalJson({ event, ledger_time: f.LEDGER_TIME, tenant: 'acme' }));
  const withId = f.eventOf();
  withId.identity = { name: '王小明', id_type: 'resident_id', id_number: '110101199003077777' };
  assert.equal(v.parseLeaf(leafOf(withId)).event.identity.name, '王小明');
  assert.throws(() => v.parseLeaf(leafOf({ ...withId, identity: { ...withId.identity, id_number: '1 2' } })), v.Fail);
  assert.throws(() => v.parseLeaf(leafOf({ ...withId, identity: { name: 'x', id_type: 'p' } })), v.Fail);
  const att = (extra) => f.eventOf({ kind: 'identity_verified', attestations: [{ issuer: 'idp', claim: {}, signature: v.b64encode(new Uint8Array(64)), ...extra }] });
  assert.equal(v.parseLeaf(leafOf(att({ v: 2 }))).event.attestations[0].v, 2);
  for (const bad of [1, 3, '2', null]) assert.throws(() => v.parseLeaf(leafOf(att({ v: bad }))), v.Fail, String(bad));
  // The erased kind (service only) needs its attestation, as in entry.rs.
  assert.equal(v.parseLeaf(leafOf({ ...att({ v: 2 }), kind: 'erased' })).event.kind, 'erased');
  assert.throws(() => v.parseLeaf(leafOf(f.eventOf({ kind: 'erased', attestations: [] }))), v.Fail);
});

const contract = f.v2Contract;

async function logKey() {
  return f.logSigner('ledger.example/log', 1);
}

test('a bundle v2 verifies: records open leaves, the identity opens its record and is shown in full', async () => {
  const log = await logKey();
  const c = await contract();
  const b = await f.makeBundleV2({ log, items: c.items, issuers: [{ name: 'idp', public_key: c.idp.b64 }] });
  const r = await verify(b, `log ${log.vkey}\n`, { documentHash: f.DOC_HASH });
  assert.equal(r.verdict.status, 'verified', why(r));
  // One commitments check per entry, after bundle_format, as in Rust.
  assert.deepEqual(r.checks.map((x) => `${x.id}:${x.subject ?? ''}`).slice(0, 4), ['bundle_format:', 'commitments:0', 'commitments:1', 'same_document:']);
  assert.deepEqual(statusOf(r, 'commitments'), ['pass', 'pass']);
  assert.match(render(r.checks.find((x) => x.id === 'commitments').detail, 'en'), /Its record \(tenant acme\) opens the leaf's commitment .*identity opening opens/);
  assert.equal(r.format, 'evidence-bundle/v2');
  assert.equal(r.tenant, 'acme');
  assert.deepEqual({ ...r.timeline[0].identity }, { name: '王小明', id_type: 'resident_id', id_number: '110101199003077777' });
  assert.equal(r.parties[0].identity.id_number, '110101199003077777');
  assert.equal(r.timeline[1].attestations[0].version, 2);
  const att = render(r.checks.find((x) => x.id === 'attestations' && x.subject === '1').detail, 'en');
  assert.ok(!att.includes('v1:') && att.includes('[v2: binds tenant, contract'), att);
  // A v2 bundle's format check names its format.
  assert.match(render(r.checks[0].detail, 'zh'), /evidence-bundle\/v2/);
});

test('a tampered record, identity or misplaced member fails commitments', async () => {
  const log = await logKey();
  const policy = `log ${log.vkey}\n`;
  const c = await contract();
  const issuers = [{ name: 'idp', public_key: c.idp.b64 }];
  const run = async (edit) => {
    const items = c.items.map((x) => ({ ...x }));
    edit(items);
    return verify(await f.makeBundleV2({ log, items, issuers }), policy);
  };
  const display = await run((it) => {
    it[0].record = { ...it[0].record, event: { ...it[0].record.event, actor: { ...it[0].record.event.actor, display: '李*' } } };
  });
  assert.equal(display.verdict.status, 'failed');
  assert.deepEqual(statusOf(display, 'commitments'), ['fail', 'pass']);
  assert.deepEqual(statusOf(display, 'inclusion', '0'), ['pass'], 'the leaf itself is unchanged');
  assert.deepEqual(statusOf(display, 'attestations', '0'), ['fail']);
  assert.match(render(display.checks.find((x) => x.id === 'commitments').detail, 'en'), /does not open the leaf/);
  // Without the identity opening, the record still opens the leaf: said so.
  const summary = await run((it) => {
    delete it[0].identity;
  });
  assert.equal(summary.verdict.status, 'verified', why(summary));
  assert.match(render(summary.checks.find((x) => x.id === 'commitments').detail, 'en'), /identity opening not included/);
  assert.equal(summary.timeline[0].identity_not_included, true);
  const identity = await run((it) => {
    it[0].identity = { ...it[0].identity, id_number: '110101199003070000' };
  });
  assert.deepEqual(failing(identity), ['commitments']);
  assert.ok(!identity.timeline[0].identity, 'an identity that does not open is not shown');
  const missing = await run((it) => {
    delete it[1].record;
  });
  assert.ok(failing(missing).includes('commitments'));
  assert.match(render(missing.checks.find((x) => x.id === 'commitments' && x.status === 'fail').detail, 'en'), /neither its record nor an erased marker/);
  // A v1 leaf carries no record (a format problem and a commitments
  // failure, as in Rust); a v2 leaf in a v1 bundle cannot be read.
  const v1leaf = f.registeredLeaf();
  const withRecord = await f.makeBundleV2({ log, items: [{ leaf: v1leaf, record: c.items[0].record }] });
  assert.deepEqual(failing(await verify(withRecord, policy)), ['bundle_format', 'commitments']);
  const v1only = await verify(await f.makeBundleV2({ log, items: [{ leaf: v1leaf }] }), policy);
  assert.equal(v1only.verdict.status, 'verified', why(v1only));
  assert.match(render(v1only.checks.find((x) => x.id === 'commitments').detail, 'en'), /v1: the event is in clear/);
  // A record beside an erased marker, an identity without its record: malformed.
  for (const edit of [(it) => { it[0].erased = { at: f.LEDGER_TIME, by: 'x', reason: 'y', entry: 1 }; }, (it) => { delete it[0].record; }]) {
    assert.deepEqual(failing(await run(edit)), ['bundle_format']);
  }
  const v1bundle = await f.makeBundle({ log, leaves: [c.items[0].leaf] });
  assert.ok(failing(await verify(v1bundle, policy)).includes('bundle_format'));
  // Members of bundle v2 are refused in a bundle v1.
  const v1WithRecord = await f.makeBundle({ log, leaves: [v1leaf] });
  v1WithRecord.entries[0].record = c.items[0].record;
  assert.deepEqual(failing(await verify(v1WithRecord, policy)), ['bundle_format']);
});

test('attestation v2 replayed into another tenant, contract or actor fails', async () => {
  const log = await logKey();
  const policy = `log ${log.vkey}\n`;
  for (const [name, opts] of [
    ['tenant', { attTenant: 'other' }],
    ['contract', { attEvent: { document_id: 'contract-9' } }],
    ['actor', { attEvent: { actor: { id: 'u-9', display: '王*', commitment: 'b'.repeat(64) } } }],
  ]) {
    const c = await contract(opts);
    const b = await f.makeBundleV2({ log, items: c.items, issuers: [{ name: 'idp', public_key: c.idp.b64 }] });
    const r = await verify(b, policy);
    assert.deepEqual(failing(r), ['attestations'], `${name}\n${why(r)}`);
    assert.deepEqual(statusOf(r, 'attestations', '1'), ['fail'], name);
  }
  // The same attestation as v1 (no "v") does not verify under a v2 message either.
  const c = await contract();
  delete c.items[1].record.event.attestations[0].v;
  c.items[1].leaf = await f.leafV2Of(c.items[1].record, '2026-01-01T00:00:01.000000Z');
  const r = await verify(await f.makeBundleV2({ log, items: c.items, issuers: [{ name: 'idp', public_key: c.idp.b64 }] }), policy);
  assert.deepEqual(failing(r), ['attestations']);
});

test('v1 attestations are labelled: they do not bind tenant, contract or actor', async () => {
  const log = await logKey();
  const idp = await f.keyFromSeed(5);
  const event = f.eventOf({ id: 'ev-2', kind: 'identity_verified', attestations: [{ issuer: 'idp', claim: { method: 'face', result: 'pass' } }] });
  await f.signAttestation(idp, event, 0);
  const leaves = [f.registeredLeaf(), utf8.encode(v.canonicalJson({ event, ledger_time: f.LEDGER_TIME, tenant: 'acme' }))];
  const b = await f.makeBundle({ log, leaves });
  b.issuers = [{ name: 'idp', public_key: idp.b64 }];
  const r = await verify(b, `log ${log.vkey}\n`);
  assert.equal(r.verdict.status, 'verified', why(r));
  assert.equal(r.timeline[1].attestations[0].version, 1);
  const detail = r.checks.find((x) => x.id === 'attestations' && x.subject === '1').detail;
  assert.match(render(detail, 'en'), /v1: does not bind tenant, contract or actor/);
  assert.match(render(detail, 'zh'), /v1 证明：未绑定租户、合同或参与方/);
});

const erasedContract = f.v2ErasedContract;

test('erased entries: inclusion checked, no attestations, verdict holds; markers must match the erasure', async () => {
  const log = await logKey();
  const policy = `log ${log.vkey}\n`;
  const e = await erasedContract();
  const r = await verify(await f.makeBundleV2({ log, ...e }), policy, { documentHash: f.DOC_HASH });
  assert.equal(r.verdict.status, 'verified', why(r));
  assert.deepEqual(statusOf(r, 'inclusion'), ['pass', 'pass', 'pass']);
  // No attestations to check for an erased entry (no check, as in Rust).
  assert.deepEqual(statusOf(r, 'attestations', '0'), []);
  assert.deepEqual(statusOf(r, 'attestations', '2'), ['pass']);
  const detail = r.checks.find((x) => x.id === 'commitments' && x.subject === '0').detail;
  assert.match(render(detail, 'en'), /erased on 2026-01-02T00:00:00\.000000Z, by tok-admin, reason PIPL art\. 47 request: entry 2/);
  assert.match(render(detail, 'zh'), /2026-01-02T00:00:00\.000000Z 销毁/);
  assert.equal(r.timeline[0].erased.by, 'tok-admin');
  assert.equal(r.timeline[0].ledger_time, f.LEDGER_TIME);
  assert.equal(r.timeline[2].kind, 'erased');
  // Only a document erasure vouches for markers.
  const subject = await f.v2ErasedContract({ erasure: { attestations: [{ issuer: 'evidence-ledger', v: 2, claim: { erasure: { scope: 'subject', actor_id: 'u-1', reason: 'PIPL art. 47 request' } } }] } });
  assert.ok(failing(await verify(await f.makeBundleV2({ log, ...subject }), policy)).includes('commitments'));
  // Markers that do not repeat the erasure, or name no later erasure, fail.
  for (const [name, marker] of [
    ['reason', { reason: 'another' }], ['at', { at: '2026-01-03T00:00:00.000000Z' }], ['by', { by: 'tok-x' }],
    ['missing entry', { entry: 7 }], ['not an erasure', { entry: 1 }],
  ]) {
    const bad = await erasedContract({ marker });
    const rb = await verify(await f.makeBundleV2({ log, ...bad }), policy);
    assert.ok(failing(rb).includes('commitments'), `${name}\n${why(rb)}`);
    assert.equal(rb.verdict.status, 'failed', name);
  }
  // An erasure naming another contract does not vouch for the markers.
  const other = await erasedContract({ erasure: { document_id: 'contract-2' } });
  assert.ok(failing(await verify(await f.makeBundleV2({ log, ...other }), policy)).includes('commitments'));
  // The erasure must come later: a marker naming itself or an earlier entry fails.
  const self = await erasedContract();
  self.items[1].erased = { ...self.items[1].erased, entry: 0 };
  assert.ok(failing(await verify(await f.makeBundleV2({ log, ...self }), policy)).includes('commitments'));
});

test('erased markers must be the entries the erasure lists: no foreign leaf, none left out', async () => {
  const log = await logKey();
  const policy = `log ${log.vkey}\n`;
  const failed = async (e) => {
    const r = await verify(await f.makeBundleV2({ log, ...e }), policy);
    assert.equal(r.verdict.status, 'failed', why(r));
    assert.deepEqual(failing(r), ['commitments'], why(r));
    return r.checks.filter((x) => x.id === 'commitments' && x.status === 'fail').map((x) => x.subject);
  };
  // A v2 leaf of contract-2 (with its valid inclusion proof) added before
  // the erasure with a marker naming it: the erasure lists entries 0 and 1.
  const foreignLeaf = async (e) => {
    const other = await f.recordOf(f.eventOf({ id: 'ev-9', documentId: 'contract-2' }), { salt: f.saltOf(13) });
    const mk = { ...e.items[0].erased, entry: 3 };
    for (const it of e.items) if (it.erased) it.erased = mk;
    e.items.splice(2, 0, { leaf: await f.leafV2Of(other, '2026-01-01T00:00:02.000000Z'), erased: mk });
    return e;
  };
  const foreign = await foreignLeaf(await erasedContract());
  assert.deepEqual(await failed(foreign), ['0', '1', '2']);
  const r = await verify(await f.makeBundleV2({ log, ...foreign }), policy);
  const detail = r.checks.find((x) => x.id === 'commitments' && x.subject === '2').detail;
  // The example of docs/bundle-format.md §7.3 (computed with Python's hashlib).
  assert.equal(await v.erasedIndicesSha256([8, 2, 5]), 'DGO2wQpDOBqDLb1rHz2rc/bfDEg5PAmIfbDdyTvQzDU=');
  const want = await v.erasedIndicesSha256([0, 1]);
  assert.equal(want, 'fDzNELt+w3tG03kmrmJ0Jn8AejSurxXIgqcVp/MwBSk=');
  assert.equal(want, (await f.erasureClaim('x', [1, 0])).erasure.entries_sha256);
  assert.match(render(detail, 'en'), new RegExp(`the erasure entry 3 lists 2 erased entries \\(SHA-256 of their indices ${want.replace(/[+/=]/g, '\\$&')}\\); the bundle marks 3 entries as erased by it`));
  assert.match(render(detail, 'zh'), /销毁条目 3 列出了 2 个被销毁的条目/);
  // The foreign leaf marked instead of entry 0 (which keeps its record
  // here): the number holds, the indices do not.
  const swapped = await foreignLeaf(await erasedContract());
  swapped.items[0] = (await f.v2Contract()).items[0];
  assert.deepEqual(await failed(swapped), ['1', '2']);
  // An erased entry left out (the erasure lists 0, 1 and 5; the bundle
  // holds no entry 5): the erasure lists 3, the bundle marks 2.
  const short = await erasedContract({ listed: [0, 1, 5] });
  assert.deepEqual(await failed(short), ['0', '1']);
  // A document erasure claim without the list, or with the wrong types, confirms no marker.
  const reason = 'PIPL art. 47 request';
  const good = (await f.erasureClaim(reason, [0, 1])).erasure;
  for (const [name, claim] of [
    ['no list', { erasure: { scope: 'document', reason } }],
    ['no hash', { erasure: { ...good, entries_sha256: undefined } }],
    ['count as a string', { erasure: { ...good, entries: '2' } }],
    ['negative count', { erasure: { ...good, entries: -2 } }],
    ['hash as bytes', { erasure: { ...good, entries_sha256: [1, 2] } }],
    ['hex hash', { erasure: { ...good, entries_sha256: 'ab'.repeat(32) } }],
  ]) {
    const subjects = await failed(await erasedContract({ claim: JSON.parse(JSON.stringify(claim)) }));
    assert.deepEqual(subjects, ['0', '1'], name);
  }
  const bare = await verify(await f.makeBundleV2({ log, ...(await erasedContract({ claim: { erasure: { scope: 'document', reason } } })) }), policy);
  const bareDetail = bare.checks.find((x) => x.id === 'commitments' && x.subject === '0').detail;
  assert.match(render(bareDetail, 'en'), /does not list the entries it erased \(entries, entries_sha256\), so it confirms no marker/);
});

/** A lookup v2 answer over the leaves of a bundle. */
function lookupOf(b, summaries) {
  return {
    format: 'evidence-lookup/v2', document_hash: f.DOC_HASH, origin: b.origin, log_vkey: b.log_vkey, checkpoint: b.checkpoint,
    tree_size: b.tree_size, witnesses: b.witnesses,
    entries: b.entries.map((e, i) => ({ index: e.index, leaf: e.leaf, inclusion: e.inclusion, summary: summaries[i] })),
  };
}

test('lookup v2: inclusion and log signature checked, the summary is the ledger\'s statement', async () => {
  const log = await logKey();
  const w = await f.witnessSigner('notary.example/w1', 2);
  const c = await contract();
  const b = await f.makeBundleV2({ log, items: c.items, cosigners: [{ w, t: f.LEDGER_UNIX + 100 }], witnesses: [w] });
  const summaries = [
    { kind: 'registered', ledger_time: f.LEDGER_TIME, party: 1, issuers: [], checked_on_ingest: true },
    { kind: 'identity_verified', ledger_time: '2026-01-01T00:00:01.000000Z', party: 1, issuers: ['idp'], checked_on_ingest: true },
  ];
  const answer = lookupOf(b, summaries);
  assert.ok(v.isLookupV2(answer));
  const policy = await v.parsePolicy(`log ${log.vkey}\nwitness ${w.vkey}\n`);
  const r = await v.verifyLookup(answer, { policy, documentHash: f.DOC_HASH, now: f.LEDGER_UNIX + 1000 });
  // Every check passes, yet v2 leaves hold no document hash: only the server
  // ties these entries to the file, so never "verified".
  assert.ok(r.checks.every((x) => x.status === 'pass'), why(r));
  assert.equal(r.verdict.status, 'server_vouched', why(r));
  assert.equal(r.passed, false);
  assert.equal(r.kind, 'lookup');
  assert.deepEqual([...new Set(r.checks.map((x) => x.id))], ['bundle_format', 'log_signature', 'cosignature', 'witness_quorum', 'inclusion', 'lookup_summary']);
  assert.deepEqual(r.summaries.map((s) => [s.index, s.kind, s.party, s.issuers, s.checked_on_ingest, s.leaf_version]),
    [[0, 'registered', 1, [], true, 2], [1, 'identity_verified', 1, ['idp'], true, 2]]);
  assert.match(render(r.checks.find((x) => x.id === 'lookup_summary').detail, 'en'), /ledger's statement/);
  // Without trust anchors: unanchored.
  assert.equal((await v.verifyLookup(answer, { now: f.LEDGER_UNIX + 1000 })).verdict.status, 'no_trusted_log_key');
  // A summary time that is not the leaf's, a tampered leaf, another file: fail.
  const badTime = lookupOf(b, [summaries[0], { ...summaries[1], ledger_time: f.LEDGER_TIME }]);
  assert.deepEqual(failing(await v.verifyLookup(badTime, { policy, now: f.LEDGER_UNIX + 1000 })), ['lookup_summary']);
  const tampered = structuredClone(answer);
  tampered.entries[0].leaf = v.b64encode(await f.leafV2Of(c.items[1].record));
  assert.ok(failing(await v.verifyLookup(tampered, { policy, now: f.LEDGER_UNIX + 1000 })).includes('inclusion'));
  const otherFile = await v.verifyLookup(answer, { policy, documentHash: 'c'.repeat(64), now: f.LEDGER_UNIX + 1000 });
  assert.deepEqual(failing(otherFile), ['bundle_format']);
  // A malformed answer fails bundle_format alone.
  const broken = await v.verifyLookup({ ...answer, entries: [{ ...answer.entries[0], summary: { kind: 'x' } }] }, { policy });
  assert.deepEqual(failing(broken), ['bundle_format']);
  // v1 leaves in a v2 answer are checked against the summary's kind and the file.
  const v1 = await f.makeBundle({ log, leaves: [f.registeredLeaf()] });
  const v1answer = lookupOf(v1, [{ kind: 'registered', ledger_time: f.LEDGER_TIME, party: 1, issuers: [], checked_on_ingest: true }]);
  assert.equal((await v.verifyLookup(v1answer, { policy: await v.parsePolicy(`log ${log.vkey}\n`), now: f.LEDGER_UNIX + 1000 })).verdict.status, 'verified');
  v1answer.entries[0].summary.kind = 'signed';
  assert.deepEqual(failing(await v.verifyLookup(v1answer, { policy: await v.parsePolicy(`log ${log.vkey}\n`), now: f.LEDGER_UNIX + 1000 })), ['lookup_summary']);
});
