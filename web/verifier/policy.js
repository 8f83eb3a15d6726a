// Trust policies (docs/trust-policy.md §1): the keys the person verifying
// chose (log keys, witness keys and quorum, TSA roots, pinned issuers); keys
// inside a bundle are claims, never anchors. The text format, its limits and
// the policy the page starts from. Twin of verifier/src/policy.rs.

import { m, fail, attempt } from './error.js';
import { eqBytes, utf8Length, isWellFormed, WS, trimWs, splitWs, textLines } from './std.js';
import { b64decode, b64encode } from './hash.js';
import { importEd25519 } from './ed25519.js';
import { ALG_ED25519, ALG_COSIGNATURE_V1, sameKey } from './note.js';
import { ALG_SM2_COSIGNATURE, ALG_SM2_NOTE } from './sm2note.js';
import { keySuite, parseAnyVkey } from './anykey.js';
import { suiteNamed } from './sm.js';
import { PEM_BEGIN, PEM_END, isPemCertificateShape, pemCertificateDer } from './tsa.js';
import { plain } from './report.js';

/** Largest policy file, in UTF-8 bytes. */
export const MAX_POLICY_BYTES = 1 << 20;
const MAX_LOG_KEYS = 16;
const MAX_WITNESS_KEYS = 100;
const MAX_PINNED_ISSUERS = 10000;
/** Most TSA roots in a policy, and in a bundle. */
export const MAX_TSA_ROOTS = 16;
/** Most CA roots (for PDF signers, docs/pdf-signatures.md) in a policy. */
export const MAX_CA_ROOTS = 64;
/** Largest PEM root certificate, in a policy and in a bundle. */
export const MAX_ROOT_PEM_BYTES = 16 * 1024;
// Rust's char::is_whitespace (std.js), then '#'.
const WS_THEN_HASH_RE = new RegExp(`[${WS}]#`, 'u');

/** A policy line without its comment: a whole-line one, or one after a space. */
function stripComment(line) {
  if (trimWs(line).startsWith('#')) return '';
  const hit = WS_THEN_HASH_RE.exec(line);
  return hit ? line.slice(0, hit.index) : line;
}

/** Issuer and TSA names in a policy: the id syntax, so that no name can
 * carry a line of its own into a policy written back. */
const POLICY_NAME_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** A PEM CERTIFICATE block of `der`, 64 base64 characters a line. */
function derToPem(der) {
  const b64 = b64encode(der);
  const lines = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `${PEM_BEGIN}\n${lines.join('\n')}\n${PEM_END}\n`;
}

/** The suite of a policy without a `suite` line (policy.rs Suite::default). */
export const DEFAULT_SUITE = 'ed25519-sha256';

/** A log key (`alg` ALG_ED25519) or witness key (ALG_COSIGNATURE_V1) of
 * either suite, as policy.rs parse_any_vkey. */
async function policyVkey(vkey, alg) {
  const k = await attempt(() => parseAnyVkey(vkey));
  if (k.err) fail('pol.vkey', { vkey: plain(vkey), why: k.err });
  if (k.ok.sm2) {
    if (k.ok.alg !== (alg === ALG_ED25519 ? ALG_SM2_NOTE : ALG_SM2_COSIGNATURE)) fail(alg === ALG_ED25519 ? 'pol.not_sm2_log' : 'pol.not_sm2_witness', { vkey: plain(vkey) });
    return k.ok;
  }
  if (k.ok.alg !== alg) fail(alg === ALG_ED25519 ? 'pol.not_log' : 'pol.not_witness', { vkey: plain(vkey) });
  if (!k.ok.cryptoKey) fail('pol.weak', { vkey: plain(vkey) });
  return k.ok;
}

/** One witness per distinct 32-byte key: two names with one key count once. */
function witnessGroups(witnesses) {
  const groups = [];
  for (const w of witnesses) {
    const g = groups.find((x) => eqBytes(x.key, w.key));
    if (g) g.entries.push(w);
    else groups.push({ key: w.key, entries: [w] });
  }
  return groups;
}

/** An empty policy: trusts nothing. */
export function emptyPolicy() {
  return { suite: DEFAULT_SUITE, logs: [], witnesses: [], groups: [], quorum: 0, quorumSet: false, issuers: new Map(), tsas: [], cas: [], source: 'none' };
}

/**
 * Parses a trust policy file (docs/trust-policy.md §1). Returns {logs,
 * witnesses (vkey objects), groups (witnesses by distinct key), quorum (the
 * number required: as written, else every distinct key), quorumSet, issuers
 * (Map name → {b64, raw, cryptoKey}), tsas [{name, pem}], cas [{name, pem}]
 * (`ca` roots for PDF signers: read and shape-checked, not used here)}. Throws Fail
 * naming the line: a verifier never runs on a policy it could not read whole.
 */
export async function parsePolicy(text) {
  if (typeof text !== 'string') fail('pol.unreadable');
  if (utf8Length(text) > MAX_POLICY_BYTES) fail('pol.size', { max: MAX_POLICY_BYTES });
  if (!isWellFormed(text)) fail('pol.unreadable');
  // A byte order mark, as some editors write, is not part of line 1.
  if (text.startsWith('\ufeff')) text = text.slice(1);
  const p = emptyPolicy();
  p.source = 'policy';
  let quorumLine = 0;
  let quorum = null;
  let suiteSeen = false;
  const lines = textLines(text);
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const line = trimWs(stripComment(lines[i]));
    if (line === '') continue;
    const sp = line.indexOf(' ');
    const word = sp < 0 ? line : line.slice(0, sp);
    const args = sp < 0 ? [] : splitWs(line.slice(sp + 1));
    const r = await attempt(async () => {
      const one = ['suite', 'log', 'witness', 'quorum', 'tsa', 'ca'].includes(word) ? 1 : word === 'issuer' ? 2 : -1;
      if (one < 0) fail('pol.keyword', { word: plain(word) });
      if (args.length !== one || (word === 'quorum' && quorum !== null) || (word === 'suite' && suiteSeen)) fail('pol.arguments', { word });
      if (word === 'suite') {
        suiteSeen = true;
        if (!suiteNamed(args[0])) fail('pol.suite_unknown', { name: plain(args[0]) });
        p.suite = args[0];
      } else if (word === 'log') {
        const k = await policyVkey(args[0], ALG_ED25519);
        if (p.logs.some((x) => sameKey(x, k))) fail('pol.twice', { what: plain(args[0]) });
        if (p.logs.length === MAX_LOG_KEYS) fail('pol.too_many', { what: 'log', max: MAX_LOG_KEYS });
        p.logs.push(k);
      } else if (word === 'witness') {
        const k = await policyVkey(args[0], ALG_COSIGNATURE_V1);
        if (p.witnesses.some((x) => sameKey(x, k))) fail('pol.twice', { what: plain(args[0]) });
        if (p.witnesses.length === MAX_WITNESS_KEYS) fail('pol.too_many', { what: 'witness', max: MAX_WITNESS_KEYS });
        p.witnesses.push(k);
      } else if (word === 'quorum') {
        // Decimal digits only, at most 6 (policy.rs).
        if (!/^[0-9]{1,6}$/.test(args[0])) fail('pol.quorum_number', { k: plain(args[0]) });
        quorum = BigInt(args[0]);
        quorumLine = n;
      } else if (word === 'issuer') {
        const [name, b64] = args;
        if (!POLICY_NAME_RE.test(name)) fail('pol.name', { what: 'issuer', name: plain(name) });
        if (p.issuers.has(name)) fail('pol.twice', { what: plain(name) });
        if (p.issuers.size === MAX_PINNED_ISSUERS) fail('pol.too_many', { what: 'issuer', max: MAX_PINNED_ISSUERS });
        const raw = b64decode(b64);
        const cryptoKey = raw && raw.length === 32 ? await importEd25519(raw) : null;
        if (!cryptoKey) fail('pol.issuer_key', { name: plain(name) });
        p.issuers.set(name, { b64, raw, cryptoKey });
      } else {
        // `tsa` and `ca` blocks: a name, then one PEM certificate.
        const name = args[0];
        const [roots, what, max] = word === 'ca' ? [p.cas, 'CA', MAX_CA_ROOTS] : [p.tsas, 'TSA', MAX_TSA_ROOTS];
        if (!POLICY_NAME_RE.test(name)) fail('pol.name', { what, name: plain(name) });
        if (roots.some((t) => t.name === name)) fail('pol.twice', { what: plain(name) });
        if (roots.length === max) fail('pol.too_many', { what: word, max });
        let pem = '';
        for (;;) {
          i++;
          if (i >= lines.length) fail('pol.pem_end');
          const l = trimWs(lines[i]);
          if (pem === '' && l !== PEM_BEGIN) fail('pol.pem_begin', { word });
          pem += `${l}\n`;
          if (utf8Length(pem) > MAX_ROOT_PEM_BYTES) fail('pol.pem_size', { max: MAX_ROOT_PEM_BYTES });
          if (l === PEM_END) break;
        }
        const der = pemCertificateDer(pem);
        if (!der) fail('pol.pem_shape', { name: plain(name) });
        roots.push({ name, pem: derToPem(der) });
      }
    });
    if (r.err) fail('pol.line', { line: n, why: r.err });
  }
  p.groups = witnessGroups(p.witnesses);
  if (quorum !== null && quorum > BigInt(p.groups.length)) {
    fail('pol.line', { line: quorumLine, why: m('pol.quorum_large', { k: String(quorum), distinct: p.groups.length }) });
  }
  // Every log and witness key belongs to the policy's suite (policy.rs check_suite).
  const other = [...p.logs, ...p.witnesses].find((k) => keySuite(k).name !== p.suite);
  if (other) fail('pol.suite_key', { vkey: plain(other.vkey), key_suite: keySuite(other).name, suite: p.suite });
  p.quorumSet = quorum !== null;
  p.quorum = quorum === null ? p.groups.length : Number(quorum);
  return p;
}

/** The suite a typed-in key names by its type byte: 0xff is this
 * ledger's SM2 note or cosignature key (sm2note.js), so sm2-sm3. */
function typedSuite(vkey) {
  // name + key id + base64 (whose alphabet holds '+' too).
  const raw = b64decode(vkey.split('+').slice(2).join('+'));
  return raw && raw.length > 0 && raw[0] === 0xff ? 'sm2-sm3' : null;
}

/** Trust policy text from keys typed in (a log vkey, witness vkeys, a
 * quorum), parsed by the same rules as a file. Its suite is the first
 * key's (the log key's, else the first witness's), as policy.rs
 * settle_suite for `--log-key` with no policy file: an SM2 key adds a
 * `suite sm2-sm3` line (`inferSuite` false: the caller writes its own). */
export function policyTextFromKeys({ log = '', witnesses = [], quorum = '', inferSuite = true } = {}) {
  const lines = [];
  for (const l of splitWs(log)) lines.push(`log ${l}`);
  for (const w of witnesses.flatMap(splitWs)) lines.push(`witness ${w}`);
  const first = [...splitWs(log), ...witnesses.flatMap(splitWs)][0];
  const suite = inferSuite && first ? typedSuite(first) : null;
  if (suite) lines.unshift(`suite ${suite}`);
  if (String(quorum).trim() !== '') lines.push(`quorum ${String(quorum).trim()}`);
  return `${lines.join('\n')}\n`;
}

/** A starting policy from a ledger's GET /v1/log answer: its log key, its
 * witnesses, and its anchoring quorum if it publishes one (else all of
 * them). Proves nothing until compared with keys published elsewhere. */
export async function policyFromLogInfo(info) {
  // One key listed twice under one name is one witness (as policy.rs).
  const listed = Array.isArray(info?.witnesses) ? info.witnesses.map((w) => (typeof w === 'string' ? w : w?.vkey)) : [];
  const witnesses = [...new Set(listed)];
  // The anchoring quorum: `quorum.threshold` (GET /v1/log), or a number
  // under `quorum`, `anchoring.quorum|threshold`, `threshold`.
  const q = [info?.quorum?.threshold, info?.quorum, info?.anchoring?.quorum, info?.anchoring?.threshold, info?.threshold, info?.witness_threshold]
    .find((x) => Number.isSafeInteger(x) && x >= 0);
  const distinct = witnessGroups(await Promise.all(witnesses.map((w) => policyVkey(String(w), ALG_COSIGNATURE_V1)))).length;
  // The log's suite (GET /v1/log `suite`), as policy.rs from_log_json.
  let text = typeof info?.suite === 'string' && info.suite !== DEFAULT_SUITE ? `suite ${info.suite}\n` : '';
  const inferSuite = typeof info?.suite !== 'string';
  text += policyTextFromKeys({ log: String(info?.vkey ?? ''), witnesses: witnesses.map(String), quorum: q === undefined ? '' : String(Math.min(q, distinct)), inferSuite });
  // The roots the ledger trusts (GET /v1/log `timestamp_authorities`): shown
  // as the anchors in force, though this page checks no RFC 3161 token.
  const names = new Set();
  for (const t of Array.isArray(info?.timestamp_authorities) ? info.timestamp_authorities : []) {
    const name = typeof t?.name === 'string' ? t.name : '';
    if (!POLICY_NAME_RE.test(name) || names.has(name) || names.size >= MAX_TSA_ROOTS || typeof t.root_pem !== 'string' || !isPemCertificateShape(t.root_pem)) continue;
    names.add(name);
    text += `tsa ${name}\n${t.root_pem.trim()}\n`;
  }
  // The CA roots it trusts for SM2 issuer certificates (`issuer_cas`), as
  // `ca` lines (policy.rs from_log_json).
  const caNames = new Set();
  for (const c of Array.isArray(info?.issuer_cas) ? info.issuer_cas : []) {
    const name = typeof c?.name === 'string' ? c.name : '';
    if (!POLICY_NAME_RE.test(name) || caNames.has(name) || caNames.size >= MAX_CA_ROOTS || typeof c.root_pem !== 'string' || !isPemCertificateShape(c.root_pem)) continue;
    caNames.add(name);
    text += `ca ${name}\n${c.root_pem.trim()}\n`;
  }
  const p = await parsePolicy(text);
  p.source = 'server';
  return p;
}
