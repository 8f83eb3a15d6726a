// The verifier page: reads the files the clerk drops, hashes the contract
// locally, runs verifier.js, asks this service only for the latest
// checkpoint, a consistency proof and (file alone) a lookup by hash, and
// shows the outcome. Every string from a bundle goes into the page as text,
// never as HTML.

import { verifyBundle, verifyStillInLog, lookupToBundles, sha256, hex, m, plain } from './verifier.js';
import { render, ui, kindWords } from './i18n.js';

const $ = (id) => document.getElementById(id);

const state = {
  lang: new URLSearchParams(location.search).get('lang') === 'en' ? 'en' : 'zh',
  file: null,
  bundle: null,
  view: null, // {kind: 'bundles', fileHash, groups, lookup} | {kind: 'notice'|'error', text()}
};

const t = (key, ...args) => {
  const v = ui[state.lang][key];
  return typeof v === 'function' ? v(...args) : v;
};
const say = (msg) => render(msg, state.lang);

/** Builds an element: el('p', {class: 'x'}, 'text', child, ...). */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

// ---------------------------------------------------------------------------
// Inputs.

function setFile(which, file) {
  state[which] = file ?? null;
  $(`${which}-name`).textContent = file ? file.name : '';
  $(`drop-${which}`).classList.toggle('filled', Boolean(file));
}

function wireDrop(which) {
  const zone = $(`drop-${which}`);
  const input = $(`${which}-input`);
  input.addEventListener('change', () => setFile(which, input.files[0]));
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    if (e.dataTransfer.files.length) setFile(which, e.dataTransfer.files[0]);
  });
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
    return { id: 'log_consistency', subject: null, passed: false, title: m('c.live.title'), detail: m('c.live.fetch_failed', { why: plain(e.message) }) };
  }
}

async function verifyOne(bundle, options) {
  const report = await verifyBundle(bundle, options);
  if (report.checkpoint) {
    report.checks.push(await stillInLog(report));
    report.passed = report.checks.every((c) => c.passed);
  }
  return report;
}

async function run() {
  const logKey = $('log-key').value.trim() || null;
  if (!state.file && !state.bundle) {
    show({ kind: 'notice', text: () => t('need_input') });
    return;
  }
  busy(true);
  try {
    let fileHash = null;
    if (state.file) {
      $('status').textContent = t('hashing');
      fileHash = hex(await sha256(new Uint8Array(await state.file.arrayBuffer())));
    }
    $('status').textContent = t('working');
    if (state.bundle) {
      const bytes = new Uint8Array(await state.bundle.arrayBuffer());
      const report = await verifyOne(bytes, { documentHash: fileHash, logKey });
      show({ kind: 'bundles', fileHash, groups: [report], lookup: null });
    } else {
      await lookup(fileHash, logKey);
    }
  } catch (e) {
    show({ kind: 'error', text: () => `${t('bundle_error')}: ${plain(e.message)}` });
  } finally {
    busy(false);
  }
}

async function lookup(fileHash, logKey) {
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
  const groups = [];
  for (const b of lookupToBundles(answer)) groups.push(await verifyOne(b, { documentHash: fileHash, logKey }));
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

function paint() {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = `${t('title')} · ${state.lang === 'zh' ? 'Evidence verification' : '电子合同证据核验'}`;
  for (const e of document.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
  $('log-key').placeholder = t('log_key_placeholder');
  const out = $('results');
  out.replaceChildren();
  const v = state.view;
  if (!v) return;
  if (v.fileHash) out.append(el('p', { class: 'filehash' }, `${t('file_hash')}: `, el('span', { class: 'mono' }, v.fileHash)));
  if (v.kind === 'notice' || v.kind === 'error') {
    out.append(el('div', { class: v.kind, id: 'message' }, v.text()));
    out.dataset.state = v.state ?? v.kind;
    return;
  }
  if (v.lookup) {
    const n = v.lookup.entries.length;
    out.append(el('h2', {}, t('lookup_title')));
    out.append(el('p', { id: 'lookup-summary' }, t('lookup_found', n, v.groups.length)));
    if (v.lookup.truncated) out.append(el('div', { class: 'notice' }, t('lookup_truncated', v.lookup.total_entries, v.lookup.max_entries)));
  }
  for (const report of v.groups) {
    const g = el('section', { class: 'group' });
    if (v.lookup) g.append(el('h2', {}, t('group_title', plain(report.document_id), plain(report.tenant))));
    const parts = [verdict(report), failures(report), timestamps(report), summary(report), timeline(report), signers(report), witnesses(report), allChecks(report)];
    g.append(...parts.filter(Boolean));
    out.append(g);
  }
  out.dataset.state = v.lookup ? 'lookup-done' : 'done';
}

function verdict(r) {
  const failed = r.checks.filter((c) => !c.passed).length;
  const ok = r.passed;
  return el('div', { class: `verdict ${ok ? 'ok' : 'bad'}`, 'data-verdict': ok ? 'verified' : 'failed' },
    el('h2', {}, ok ? `✔ ${t('verdict_ok')}` : `✘ ${t('verdict_bad')}`),
    el('p', {}, ok ? t('verdict_ok_detail', r.checks.length) : t('verdict_bad_detail', failed, r.checks.length)));
}

function checkItem(c) {
  return el('li', { class: c.passed ? 'pass' : 'fail', 'data-check-id': c.id, 'data-subject': c.subject, 'data-passed': String(c.passed) },
    el('span', { class: 'mark' }, c.passed ? `✔ ${t('passed')}` : `✘ ${t('failed')}`),
    el('span', { class: 'check-title' }, say(c.title)),
    el('span', { class: 'check-id' }, `[${c.id}]`),
    el('div', { class: 'check-detail' }, say(c.detail)));
}

function failures(r) {
  const bad = r.checks.filter((c) => !c.passed);
  if (!bad.length) return null;
  return el('div', { class: 'card failures' }, el('h3', {}, t('failures')), el('ul', { class: 'checks' }, bad.map(checkItem)));
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

function timeline(r) {
  if (!r.timeline.length) return null;
  const rows = r.timeline.map((e) => el('tr', { 'data-index': e.index },
    el('td', {}, e.index),
    el('td', { class: 'mono time' }, e.ledger_time),
    el('td', {}, kindWords(e.kind, state.lang)),
    el('td', {}, `${plain(e.actor_display)} (${plain(e.actor_id)})`),
    el('td', {}, e.attestations.length
      ? el('ul', {}, e.attestations.map((a) => el('li', {}, say(a.description), a.valid ? null : el('span', { class: 'invalid' }, ` [${t('invalid_sig')}]`))))
      : '—')));
  const head = el('tr', {}, ['col_index', 'col_time', 'col_event', 'col_actor', 'col_attestations'].map((k) => el('th', {}, t(k))));
  return el('div', { class: 'card' }, el('h3', {}, t('timeline')), el('table', { id: 'timeline' }, el('thead', {}, head), el('tbody', {}, rows)));
}

function signers(r) {
  if (!r.parties.length) return null;
  const head = el('tr', {}, ['col_display', 'col_id', 'col_signed', 'col_commitment'].map((k) => el('th', {}, t(k))));
  const rows = r.parties.map((p) => el('tr', {},
    el('td', {}, plain(p.display)), el('td', {}, plain(p.id)),
    el('td', {}, p.signed ? t('yes') : t('no')), el('td', { class: 'mono' }, p.commitment)));
  return el('div', { class: 'card' }, el('h3', {}, t('signers')), el('table', {}, el('thead', {}, head), el('tbody', {}, rows)));
}

function witnesses(r) {
  const body = r.witnesses.length
    ? el('ul', {}, r.witnesses.map((w) => el('li', {}, el('strong', {}, plain(w.name)), w.required ? t('required') : '', ': ',
      w.cosigned_at ? t('cosigned_at', w.cosigned_at) : t('not_cosigned'))))
    : el('p', {}, t('no_witnesses'));
  return el('div', { class: 'card', id: 'witnesses' }, el('h3', {}, t('witnesses')), body);
}

function timestamps(r) {
  if (!r.unchecked_timestamps) return null;
  return el('div', { class: 'notice', id: 'timestamps-unchecked' }, t('timestamps_unchecked', r.unchecked_timestamps));
}

function allChecks(r) {
  return el('div', { class: 'card' }, el('h3', {}, t('all_checks')), el('ul', { class: 'checks all' }, r.checks.map(checkItem)));
}

// ---------------------------------------------------------------------------

function init() {
  wireDrop('file');
  wireDrop('bundle');
  // A file dropped outside the zones must not make the browser open it.
  for (const ev of ['dragover', 'drop']) window.addEventListener(ev, (e) => e.preventDefault());
  $('verify').addEventListener('click', run);
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
  paint();
  document.body.dataset.ready = 'true';
}

init();
