// The verifier page: reads the files the clerk drops, hashes the contract
// locally, runs verifier.js against the trust anchors the clerk chose (a
// policy file, or keys typed in; remembered in this browser), or else the
// ones the serving ledger publishes at GET /v1/log, and says which. It asks
// this service only for /v1/log, the latest checkpoint, a consistency proof
// and (file alone) a lookup by hash. Every string goes into the page as
// text through one sanitizer (terminalSafe), never as HTML.

import {
  verifyBundle, verifyStillInLog, lookupToBundles, sha256, hex, m, plain, terminalSafe,
  parsePolicy, policyTextFromKeys, policyFromLogInfo, emptyPolicy, finishReport, verifyLookup, isLookupV2,
  looksLikePdf, verifyPdf, signedDocuments, matchBundle,
} from './verifier.js';
import { render, ui, kindWords } from './i18n.js';
import { pdfSignatures } from './verify-pdf.js';

const $ = (id) => document.getElementById(id);
/** Where the clerk's trust anchors are kept in this browser. */
const STORE = 'evidence-ledger/trust-policy/v1';

const state = {
  lang: new URLSearchParams(location.search).get('lang') === 'en' ? 'en' : 'zh',
  file: null,
  bundle: null,
  // The clerk's own anchors: {source: 'policy'|'entered', name, text, policy} or null.
  trust: null,
  trustError: null,
  view: null, // {kind: 'bundles', fileHash, groups, lookup} | {kind: 'notice'|'error', text()}
  // Where the shown fileHash came from: 'file' (hashed here) or 'link'.
  hashFrom: 'file',
};

const t = (key, ...args) => {
  const v = ui[state.lang][key];
  return typeof v === 'function' ? v(...args) : v;
};
const say = (msg) => render(msg, state.lang);

/** Builds an element: el('p', {class: 'x'}, 'text', child, ...). Every
 * string passes terminalSafe: controls and bidi overrides never reach the
 * page, whatever a bundle, a policy or a server answer holds. */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? '' : terminalSafe(v));
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) e.append(c instanceof Node ? c : terminalSafe(c));
  }
  return e;
}

// ---------------------------------------------------------------------------
// Inputs.

/** The inputs changed: results shown so far, and any run still going,
 * are about other inputs; drop them. */
function inputsChanged() {
  state.run = (state.run ?? 0) + 1;
  show(null);
}

function setFile(which, file) {
  inputsChanged();
  state[which] = file ?? null;
  $(`${which}-name`).textContent = file ? terminalSafe(file.name) : '';
  $(`drop-${which}`).classList.toggle('filled', Boolean(file));
}

function wireDrop(which, onFile = (f) => setFile(which, f)) {
  const zone = $(`drop-${which}`);
  const input = $(`${which}-input`);
  input.addEventListener('change', () => onFile(input.files[0]));
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    if (e.dataTransfer.files.length) onFile(e.dataTransfer.files[0]);
  });
}

// ---------------------------------------------------------------------------
// Trust anchors: the clerk's policy (file or keys typed in), kept in
// localStorage; without one, the serving ledger's GET /v1/log.

/** Parses and adopts anchors; on error keeps the previous ones and says why. */
async function adoptTrust(source, name, text, { save = true } = {}) {
  try {
    const policy = await parsePolicy(text);
    policy.source = source;
    state.trust = { source, name, text, policy };
    state.trustError = null;
    if (save) localStorage.setItem(STORE, JSON.stringify({ source, name, text }));
  } catch (e) {
    state.trustError = e.msg ? e.msg : m('r.internal', { why: plain(e.message) });
  }
  inputsChanged();
}

async function loadPolicyFile(file) {
  if (!file) return;
  if (file.size > 1 << 20) {
    state.trustError = m('pol.size', { max: 1 << 20 });
    paintTrust();
    return;
  }
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await file.arrayBuffer());
  } catch {
    state.trustError = m('pol.unreadable');
    paintTrust();
    return;
  }
  await adoptTrust('policy', file.name, text);
  $('policy-input').value = '';
}

async function useTypedKeys() {
  const text = policyTextFromKeys({
    log: $('log-key').value,
    witnesses: $('witness-keys').value.split('\n'),
    quorum: $('quorum').value,
  });
  await adoptTrust('entered', null, text);
}

function clearTrust() {
  localStorage.removeItem(STORE);
  state.trust = null;
  state.trustError = null;
  for (const id of ['log-key', 'witness-keys', 'quorum']) $(id).value = '';
  inputsChanged();
}

async function restoreTrust() {
  let saved = null;
  try {
    saved = JSON.parse(localStorage.getItem(STORE) ?? 'null');
  } catch {
    saved = null;
  }
  if (saved && typeof saved.text === 'string' && ['policy', 'entered'].includes(saved.source)) {
    await adoptTrust(saved.source, typeof saved.name === 'string' ? saved.name : null, saved.text, { save: false });
  }
}

/** The anchors for this run: the clerk's, else none (as the offline
 * verifier without a policy: the verdict is then never "verified"). */
function anchorsForRun() {
  return state.trust ? state.trust.policy : emptyPolicy();
}

/** Without anchors of the clerk's: the keys the serving ledger publishes,
 * to show what they would say, as that server's claim; null if none. */
async function serverKeys() {
  if (state.trust) return null;
  try {
    return await policyFromLogInfo(await fetchOk('/v1/log', 'json'));
  } catch {
    return null;
  }
}

/** Runs `verifyOne` again under the server's keys when the verdict lacked
 * only a trusted log key, and keeps that verdict beside the real one. */
async function withServerClaim(report, input, options, verifier) {
  if (report.verdict.status !== 'no_trusted_log_key' || !options.serverPolicy) return report;
  const claimed = await verifyOne(input, { ...options, policy: options.serverPolicy }, verifier);
  report.serverClaim = { verdict: claimed.verdict, trust: claimed.trust };
  return report;
}

// ---------------------------------------------------------------------------
// Verification.

async function fetchOk(url, as) {
  const r = await fetch(url, { cache: 'no-store', credentials: 'omit' });
  if (!r.ok) throw new Error(`${url.split('?')[0]}: HTTP ${r.status}`);
  return as === 'json' ? r.json() : r.text();
}

/** The `log_consistency` check against the log as it is now. */
async function stillInLog(report) {
  if (!report.logKey || !report.checkpoint) return verifyStillInLog(null, null, '', []);
  const sizeOf = (note) => BigInt(/^[^\n]*\n(\d+)\n/.exec(note ?? '')?.[1] ?? '0');
  try {
    // /v1/checkpoint may serve the last countersigned checkpoint, which can
    // lag the one a bundle was made with; /v1/checkpoint/latest (where the
    // service has it) is the newest the log signed. Check the larger.
    const notes = await Promise.all([
      fetchOk('/v1/checkpoint', 'text'),
      fetchOk('/v1/checkpoint/latest', 'text').catch(() => null),
    ]);
    const note = notes[1] !== null && sizeOf(notes[1]) > sizeOf(notes[0]) ? notes[1] : notes[0];
    const size = sizeOf(note);
    const old = report.checkpoint.tree_size;
    let proof = [];
    if (size > BigInt(old)) {
      proof = (await fetchOk(`/v1/proof/consistency?old=${old}&new=${size}`, 'json')).hashes;
    }
    return await verifyStillInLog(report.logKey, report.checkpoint, note, proof);
  } catch (e) {
    const c = { id: 'log_consistency', subject: null, status: 'fail', passed: false, title: m('c.live.title') };
    return { ...c, detail: m('c.live.fetch_failed', { why: plain(e.message) }) };
  }
}

async function verifyOne(bundle, options, verifier = verifyBundle) {
  const report = await verifier(bundle, options);
  if (report.checkpoint) {
    const c = await stillInLog(report);
    report.checks.push({ ...c, status: c.passed ? 'pass' : 'fail' });
    finishReport(report);
  }
  return report;
}

/** The document hash a link hands in, `/verify#sha256=<64 hex>` (the
 * evidence report's QR code): undefined without one, null if malformed.
 * A fragment is not sent to the server with the page request. */
function hashFromLink() {
  if (!location.hash.startsWith('#sha256=')) return undefined;
  const found = /^#sha256=([0-9a-fA-F]{64})$/.exec(location.hash);
  return found ? found[1].toLowerCase() : null;
}

/** Looks up the hash a link hands in, as for a file alone. */
async function runFromLink() {
  const linkHash = hashFromLink();
  if (linkHash === null) show({ kind: 'error', text: () => t('link_hash_bad') });
  else if (linkHash) await run(linkHash);
}

async function run(linkHash = null) {
  // Only the newest run shows its result: a run overtaken by another, or by
  // a change of file, bundle or anchors, drops its own.
  const mine = (state.run = (state.run ?? 0) + 1);
  // A signed PDF's own signatures, checked beside whatever else is shown.
  let pdf = null;
  const show = (view) => {
    if (state.run === mine) showView({ ...view, pdf });
  };
  if (!state.file && !state.bundle && !linkHash) {
    show({ kind: 'notice', text: () => t('need_input') });
    return;
  }
  busy(true);
  try {
    let fileHash = state.file ? null : linkHash;
    state.hashFrom = fileHash ? 'link' : 'file';
    const fileBytes = state.file ? new Uint8Array(await state.file.arrayBuffer()) : null;
    if (fileBytes) {
      $('status').textContent = t('hashing');
      fileHash = hex(await sha256(fileBytes));
    }
    $('status').textContent = t('working');
    const options = { documentHash: fileHash, policy: anchorsForRun(), serverPolicy: await serverKeys() };
    pdf = await checkPdf(fileBytes, options.policy);
    if (state.bundle) {
      const bytes = new Uint8Array(await state.bundle.arrayBuffer());
      const report = await withServerClaim(await verifyOne(bytes, options), bytes, options, verifyBundle);
      if (pdf?.report) matchBundle(pdf.report, report.verdict.status === 'verified', report.verdict.summary, await signedDocuments(bytes));
      show({ kind: 'bundles', fileHash, groups: [report], lookup: null });
    } else {
      await lookup(fileHash, options, show);
    }
  } catch (e) {
    show({ kind: 'error', text: () => `${t('bundle_error')}: ${plain(e.message)}` });
  } finally {
    busy(false);
  }
}

/** The contract PDF's own signatures (docs/pdf-signatures.md), against the
 * `ca` and `tsa` roots of the same anchors as the bundle: {report} or
 * {error}; null when the file is no PDF. */
async function checkPdf(bytes, policy) {
  if (!bytes || !looksLikePdf(bytes)) return null;
  $('status').textContent = t('working');
  try {
    return { report: await verifyPdf(bytes, policy, Math.floor(Date.now() / 1000)) };
  } catch (e) {
    return { error: plain(e.message) };
  }
}

async function lookup(fileHash, options, show) {
  const r = await fetch(`/v1/lookup?document_hash=${fileHash}`, { cache: 'no-store', credentials: 'omit' });
  if (r.status === 404) {
    show({ kind: 'notice', fileHash, state: 'lookup-none', text: () => t('lookup_none') });
    return;
  }
  if (!r.ok) {
    const status = r.status;
    show({ kind: 'error', fileHash, text: () => t('lookup_error', `HTTP ${status}`) });
    return;
  }
  const answer = await r.json();
  if (isLookupV2(answer)) {
    // Lookup v2: no records, so no contract or party; what can be checked
    // is each leaf's inclusion and the checkpoint's signatures.
    const report = await withServerClaim(await verifyOne(answer, options, verifyLookup), answer, options, verifyLookup);
    show({ kind: 'bundles', fileHash, groups: [report], lookup: answer });
    return;
  }
  const groups = [];
  for (const b of lookupToBundles(answer)) groups.push(await withServerClaim(await verifyOne(b, options), b, options, verifyBundle));
  show({ kind: 'bundles', fileHash, groups, lookup: answer });
}

function busy(on) {
  $('verify').disabled = on;
  $('results').dataset.state = on ? 'working' : $('results').dataset.state;
  if (!on) $('status').textContent = '';
}

// ---------------------------------------------------------------------------
// Rendering.

function show(view) {
  state.view = view;
  paint();
}

const showView = show;

const keyList = (keys) => el('ul', {}, keys.map((k) => el('li', { class: 'mono' }, k)));

/** The trust section: which anchors the next verification uses. */
function paintTrust() {
  const box = $('trust-current');
  box.replaceChildren();
  const tr = state.trust;
  box.dataset.source = tr ? tr.source : 'server';
  if (!tr) {
    box.append(el('p', { class: 'claim' }, t('trust_none')));
  } else {
    const p = tr.policy;
    const from = tr.source === 'policy' ? t('trust_from_file', tr.name ?? '') : t('trust_from_keys');
    box.append(el('p', {}, el('strong', {}, from)));
    if (p.logs.length) box.append(el('p', {}, t('trust_logs')), keyList(p.logs.map((k) => k.vkey)));
    else box.append(el('p', { class: 'claim' }, t('trust_no_log')));
    if (p.witnesses.length) box.append(el('p', {}, t('trust_witnesses', p.quorum, p.groups.length)), keyList(p.witnesses.map((k) => k.vkey)));
    if (p.tsas.length) box.append(el('p', {}, t('trust_tsas', p.tsas.map((x) => x.name).join(', '))));
    if (p.issuers.size) box.append(el('p', {}, t('trust_issuers', [...p.issuers.keys()].join(', '))));
  }
  $('clear-trust').hidden = !tr;
  const err = $('trust-error');
  err.hidden = !state.trustError;
  err.textContent = state.trustError ? terminalSafe(`${t('trust_error')}: ${say(state.trustError)}`) : '';
  $('policy-name').textContent = tr && tr.source === 'policy' ? terminalSafe(tr.name ?? '') : '';
  $('drop-policy').classList.toggle('filled', Boolean(tr && tr.source === 'policy'));
}

function paint() {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = `${t('title')} · ${state.lang === 'zh' ? 'Evidence verification' : '电子合同证据核验'}`;
  for (const e of document.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
  $('log-key').placeholder = t('log_key_placeholder');
  $('witness-keys').placeholder = t('witness_keys_placeholder');
  paintTrust();
  const out = $('results');
  out.replaceChildren();
  const v = state.view;
  if (!v) return;
  const hashLabel = state.hashFrom === 'link' ? t('link_hash') : t('file_hash');
  if (v.fileHash) out.append(el('p', { class: 'filehash' }, `${hashLabel}: `, el('span', { class: 'mono' }, v.fileHash)));
  // The file's own signatures first: the file is what the clerk holds.
  if (v.pdf) out.append(pdfSignatures(v.pdf, { el, t, say }));
  if (v.kind === 'notice' || v.kind === 'error') {
    out.append(el('div', { class: v.kind, id: 'message' }, v.text()));
    out.dataset.state = v.state ?? v.kind;
    return;
  }
  if (v.lookup) {
    const n = Array.isArray(v.lookup.entries) ? v.lookup.entries.length : 0;
    const v2 = isLookupV2(v.lookup);
    out.append(el('h2', {}, t('lookup_title')));
    out.append(el('p', { id: 'lookup-summary' }, v2 ? t('lookup_found_v2', n) : t('lookup_found', n, v.groups.length)));
    if (v2 && typeof v.lookup.next_cursor === 'string') out.append(el('div', { class: 'notice', id: 'lookup-more' }, t('lookup_more', n)));
    if (v.lookup.truncated) out.append(el('div', { class: 'notice' }, t('lookup_truncated', v.lookup.total_entries, v.lookup.max_entries)));
  }
  for (const report of v.groups) {
    const g = el('section', { class: 'group' });
    if (report.kind === 'lookup') {
      const parts = [verdict(report), failures(report), trustUsed(report), lookupStatement(report), witnesses(report), allChecks(report)];
      g.append(...parts.filter(Boolean));
      out.append(g);
      continue;
    }
    if (v.lookup) g.append(el('h2', {}, t('group_title', plain(report.document_id), plain(report.tenant))));
    const parts = [verdict(report), failures(report), trustUsed(report), summary(report), timeline(report), signers(report), witnesses(report), allChecks(report)];
    g.append(...parts.filter(Boolean));
    out.append(g);
  }
  out.dataset.state = v.lookup ? 'lookup-done' : 'done';
}

/** The verdict, prominent: what it is, every reason, what it rests on. */
function verdict(r) {
  const s = r.verdict.status;
  const ok = s === 'verified';
  const cls = ok ? 'ok' : s === 'failed' ? 'bad' : 'warn';
  const box = el('div', { class: `verdict ${cls}`, 'data-verdict': s, id: 'verdict' },
    el('h2', {}, `${ok ? '✔' : '✘'} ${say(r.verdict.summary)}`),
    el('p', {}, ok ? t('verdict_ok_detail', r.checks.length) : t(`verdict_${s}_detail`)));
  if (r.verdict.reasons.length) box.append(el('ul', { class: 'reasons', id: 'verdict-reasons' }, r.verdict.reasons.map((x) => el('li', {}, say(x)))));
  const claim = r.serverClaim;
  if (claim) {
    // The server's keys are that server's claim: shown beside the verdict,
    // never as it.
    const tr = claim.trust;
    const witnessKeys = tr.witnesses.map((w) => w.vkey);
    box.append(el('div', { class: 'anchors claim', id: 'server-anchors', 'data-claimed-verdict': claim.verdict.status },
      el('p', {}, t('server_claim', say(claim.verdict.summary))),
      el('p', {}, t('compare_log')), keyList(tr.logs.length ? tr.logs : ['—']),
      el('p', {}, witnessKeys.length ? t('compare_witnesses') : t('server_no_witnesses')), witnessKeys.length ? keyList(witnessKeys) : null,
      el('p', {}, t('load_own'))));
  } else if (r.trust.source === 'none') {
    box.append(el('div', { class: 'anchors', id: 'server-anchors' }, el('p', {}, t('no_anchors'))));
  }
  return box;
}

function checkItem(c) {
  const marks = { pass: `✔ ${t('passed')}`, fail: `✘ ${t('failed')}`, unanchored: `? ${t('unanchored')}` };
  return el('li', { class: c.status, 'data-check-id': c.id, 'data-subject': c.subject, 'data-passed': String(c.passed), 'data-status': c.status },
    el('span', { class: 'mark' }, marks[c.status] ?? c.status),
    el('span', { class: 'check-title' }, say(c.title)),
    el('span', { class: 'check-id' }, `[${c.id}]`),
    el('div', { class: 'check-detail' }, say(c.detail)));
}

function failures(r) {
  const bad = r.checks.filter((c) => c.status !== 'pass');
  if (!bad.length) return null;
  return el('div', { class: 'card failures' }, el('h3', {}, t('failures')), el('ul', { class: 'checks' }, bad.map(checkItem)));
}

/** What this verdict was checked against, and where that came from. */
function trustUsed(r) {
  const tr = r.trust;
  const rows = [
    el('p', {}, t('checked_against', say({ k: `src.${tr.source}`, a: {} }))),
    el('p', {}, t('trust_logs')), tr.logs.length ? keyList(tr.logs) : el('p', { class: 'claim' }, t('trust_no_log')),
    el('p', {}, tr.witnesses.length ? t('trust_witnesses', tr.quorum, tr.distinct_witnesses) : t('no_trusted_witnesses')),
    tr.witnesses.length ? keyList(tr.witnesses.map((w) => w.vkey)) : null,
  ];
  if (tr.tsas.length) rows.push(el('p', {}, t('trust_tsas', tr.tsas.join(', '))));
  if (tr.issuers.length) rows.push(el('p', {}, t('trust_issuers', tr.issuers.map((i) => i.name).join(', '))));
  if (r.claims.log_key) rows.push(el('p', { class: 'claim', id: 'claimed-log-key' }, t('claimed_log_key'), ' ', el('span', { class: 'mono' }, r.claims.log_key)));
  if (r.claims.tsas.length) rows.push(el('p', { class: 'claim' }, t('claimed_tsas', r.claims.tsas.join(', '))));
  const a = r.claims.anchoring;
  if (a) {
    const names = (l) => (l.length ? l.map(plain).join(', ') : '—');
    rows.push(el('p', { class: 'claim', id: 'claimed-anchoring' }, t('claimed_anchoring', a.satisfied, a.threshold, names(a.required), names(a.cosigned_by))));
  }
  return el('div', { class: 'card trust-used', id: 'trust-used', 'data-source': tr.source }, el('h3', {}, t('trust_used')), ...rows);
}

function summary(r) {
  const fact = (k, v, mono) => [el('dt', {}, t(k)), el('dd', { class: mono ? 'mono' : null }, v)];
  const cp = r.checkpoint;
  return el('div', { class: 'card' }, el('h3', {}, t('summary')), el('dl', { class: 'facts' },
    fact('contract', plain(r.document_id)),
    fact('tenant', plain(r.tenant)),
    fact('document_hash', r.document_hash ?? '—', true),
    fact('log', plain(r.origin)),
    cp ? fact('checkpoint', t('checkpoint_value', cp.tree_size, cp.root), true) : null));
}

/** An identity opening that verified, in full. */
const identityText = (id) => [id.name, `${id.id_type} ${id.id_number}`, id.phone].filter(Boolean).map(plain).join(' · ');

function timeline(r) {
  if (!r.timeline.length) return null;
  const rows = r.timeline.map((e) => (e.erased
    ? el('tr', { 'data-index': e.index, class: 'erased', 'data-erased': 'true' },
      el('td', {}, e.index),
      el('td', { class: 'mono time' }, e.ledger_time),
      el('td', { colspan: '3' }, t('erased_row', plain(e.erased.at), plain(e.erased.by), plain(e.erased.reason), e.erased.entry)))
    : el('tr', { 'data-index': e.index },
      el('td', {}, e.index),
      el('td', { class: 'mono time' }, e.ledger_time),
      el('td', {}, kindWords(e.kind, state.lang)),
      el('td', {}, `${plain(e.actor_display)} (${plain(e.actor_id)})`,
        e.identity ? el('div', { class: 'identity', 'data-identity': 'true' }, t('identity_opened', identityText(e.identity))) : null,
        e.identity_not_included ? el('div', { class: 'identity claim' }, t('identity_not_included')) : null),
      el('td', {}, e.attestations.length
        ? el('ul', {}, e.attestations.map((a) => el('li', {}, say(a.description),
          a.version === 1 ? el('span', { class: 'v1', 'data-v1': 'true' }, ` [${t('att_v1')}]`)
            : a.minor === 1 ? el('span', { class: 'v2', 'data-v21': 'true' }, ` [${t(a.person ? 'att_v21' : 'att_v21_no_person')}]`)
              : el('span', { class: 'v2' }, ` [${t('att_v2')}]`),
          a.valid ? null : a.unchecked ? el('span', { class: 'claim' }, ` [${t('att_unchecked')}]`)
            : el('span', { class: 'invalid' }, ` [${t('invalid_sig')}]`))))
        : '—'))));
  const head = el('tr', {}, ['col_index', 'col_time', 'col_event', 'col_actor', 'col_attestations'].map((k) => el('th', {}, t(k))));
  return el('div', { class: 'card' }, el('h3', {}, t('timeline')), el('table', { id: 'timeline' }, el('thead', {}, head), el('tbody', {}, rows)));
}

function signers(r) {
  if (!r.parties.length) return null;
  const ids = r.parties.some((p) => p.identity);
  const cols = ['col_display', 'col_id', 'col_signed', 'col_commitment', ...(ids ? ['col_identity'] : [])];
  const head = el('tr', {}, cols.map((k) => el('th', {}, t(k))));
  const rows = r.parties.map((p) => el('tr', {},
    el('td', {}, plain(p.display)), el('td', {}, plain(p.id)),
    el('td', {}, p.signed ? t('yes') : t('no')), el('td', { class: 'mono' }, p.commitment),
    ids ? el('td', { class: 'identity' }, p.identity ? identityText(p.identity) : '—') : null));
  return el('div', { class: 'card' }, el('h3', {}, t('signers')), el('table', {}, el('thead', {}, head), el('tbody', {}, rows)));
}

/** Trusted witnesses (with a time only when their check passed), then the
 * bundle's claims, which are never checked and never timed. */
function witnesses(r) {
  const state = (w) => (w.status === 'pass' ? t('cosigned_at', w.cosigned_at) : w.status === 'fail' ? t('cosig_failed') : t('not_cosigned'));
  const trusted = r.witnesses.map((w) => el('li', { 'data-trusted': 'true' }, el('strong', {}, plain(w.name)), w.names.length > 1 ? ` (= ${w.names.slice(1).map(plain).join(', ')})` : '', ': ',
    state(w), el('div', { class: 'mono' }, w.vkey)));
  const claims = r.claims.witnesses.map((w) => el('li', { class: 'claim', 'data-trusted': 'false' }, el('strong', {}, plain(w.name)),
    ` (${t('key_id')} ${w.key_id}): ${t('claimed_witness')}`, w.vkey ? el('div', { class: 'mono' }, plain(w.vkey)) : null));
  const body = [];
  body.push(trusted.length ? el('ul', { id: 'trusted-witnesses' }, trusted) : el('p', {}, t('no_trusted_witnesses')));
  if (claims.length) body.push(el('h4', {}, t('claims_title')), el('ul', { id: 'claimed-witnesses' }, claims));
  return el('div', { class: 'card', id: 'witnesses' }, el('h3', {}, t('witnesses')), ...body);
}

/** Lookup v2: per entry the ledger's summary, said to be its statement;
 * next to it what this page checked (the leaf's inclusion and time, and
 * for a record v3 entry its disclosed document hash and kind). */
function lookupStatement(r) {
  const fact = (k, v, mono) => [el('dt', {}, t(k)), el('dd', { class: mono ? 'mono' : null }, v)];
  const cp = r.checkpoint;
  const passed = (id, i) => r.checks.filter((c) => c.id === id && c.subject === String(i)).every((c) => c.status === 'pass');
  const head = el('tr', {}, ['col_index', 'col_time', 'col_event', 'col_party', 'col_issuers', 'col_ingest', 'col_checked'].map((k) => el('th', {}, t(k))));
  const rows = r.summaries.map((s) => el('tr', { 'data-index': s.index },
    el('td', {}, s.index),
    el('td', { class: 'mono time' }, plain(s.ledger_time)),
    el('td', {}, kindWords(plain(s.kind), state.lang)),
    el('td', {}, t('party_n', s.party)),
    el('td', {}, s.issuers.length ? s.issuers.map((x) => (x === 'signer' ? t('own_signer') : plain(x))).join(', ') : '—'),
    el('td', {}, s.checked_on_ingest ? t('ingest_checked') : t('ingest_not_checked')),
    el('td', {}, passed('inclusion', s.index) && passed('lookup_summary', s.index)
      ? `✔ ${t(s.disclosed ? 'lookup_checked_disclosed' : 'lookup_checked')}` : `✘ ${t('failed')}`)));
  return el('div', { class: 'card', id: 'lookup-statement' },
    el('h3', {}, t('lookup_statement_title')),
    el('p', { class: 'claim' }, t('lookup_statement_intro')),
    r.summaries.some((s) => s.disclosed) ? el('p', { class: 'claim' }, t('lookup_statement_disclosed')) : null,
    el('dl', { class: 'facts' },
      fact('document_hash', r.document_hash ?? '—', true),
      fact('log', plain(r.origin)),
      cp ? fact('checkpoint', t('checkpoint_value', cp.tree_size, cp.root), true) : null),
    el('table', { id: 'lookup-entries' }, el('thead', {}, head), el('tbody', {}, rows)));
}

function allChecks(r) {
  return el('div', { class: 'card' }, el('h3', {}, t('all_checks')), el('ul', { class: 'checks all' }, r.checks.map(checkItem)));
}

// ---------------------------------------------------------------------------

async function init() {
  wireDrop('file');
  wireDrop('bundle');
  wireDrop('policy', loadPolicyFile);
  // A file dropped outside the zones must not make the browser open it.
  for (const ev of ['dragover', 'drop']) window.addEventListener(ev, (e) => e.preventDefault());
  $('verify').addEventListener('click', () => run());
  $('use-keys').addEventListener('click', useTypedKeys);
  $('clear-trust').addEventListener('click', clearTrust);
  $('reset').addEventListener('click', () => {
    setFile('file', null);
    setFile('bundle', null);
    $('file-input').value = '';
    $('bundle-input').value = '';
    show(null);
    $('results').dataset.state = '';
  });
  $('lang').addEventListener('click', () => {
    state.lang = state.lang === 'zh' ? 'en' : 'zh';
    paint();
  });
  window.addEventListener('hashchange', runFromLink);
  await restoreTrust();
  paint();
  document.body.dataset.ready = 'true';
  await runFromLink();
}

init();
