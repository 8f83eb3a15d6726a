// The report: a check's shape, the one sanitizer for text shown to people
// (terminalSafe, plain), times in words, attestations in words, and the
// verdict set on a finished report. Twin of verifier/src/report.rs.

import { m } from './error.js';
import { WS } from './std.js';
import { canonicalJson } from './jcs.js';
import { verdictOf } from './verdict.js';

// What is never shown raw (text.rs is_unsafe_char), by an allow-list:
// shown are the space separators (Zs) and the letters, marks, numbers,
// punctuation and symbols that are not default-ignorable (invisible fillers,
// joiners, variation selectors, tags) nor U+2800 BRAILLE PATTERN BLANK.
// Everything else (controls, line and paragraph separators, format
// characters such as bidi overrides, unassigned and private-use code
// points) could hide or fake text.
const UNSAFE_RE = /[^\p{Zs}\p{L}\p{M}\p{N}\p{P}\p{S}]|[\p{Default_Ignorable_Code_Point}\u2800]/gu;
// Runs of Rust's char::is_whitespace (std.js).
const WS_RUN_RE_G = new RegExp(`[${WS}]+`, 'gu');

/** A check: status 'pass', 'fail' or 'unanchored' (a boolean is pass or fail). */
export function check(id, subject, status, title, detail) {
  const st = status === true ? 'pass' : status === false ? 'fail' : status;
  return { id, subject, status: st, passed: st === 'pass', title, detail };
}

/**
 * The one sanitizer for text shown to people, from a bundle, a policy or a
 * server answer (text.rs terminal_safe): every character that is not
 * visible (UNSAFE_RE: controls, separators, bidi overrides, zero widths,
 * invisible fillers, blank braille cells) becomes U+FFFD, so no text can
 * hide, fake or reorder other text; runs of white space become one space.
 * Not shortened.
 */
export function terminalSafe(s) {
  return String(s).replace(UNSAFE_RE, '\ufffd').replace(WS_RUN_RE_G, ' ');
}

/** A string from a bundle quoted in a check (report.rs plain): unsafe
 * characters become U+FFFD, cut at 200 code points with "…". */
export function plain(s) {
  const chars = [...String(s)];
  const cut = chars.slice(0, 200).join('').replace(UNSAFE_RE, '\ufffd');
  return chars.length > 200 ? `${cut}…` : cut;
}

/** As plain, never cut: for keys, which are shown in full. */
export const plainFull = (s) => String(s).replace(UNSAFE_RE, '\ufffd');

/** Unix seconds (BigInt) as RFC 3339 UTC, or "Unix time N" past year 9999. */
export function unixToRfc3339(secs) {
  if (secs > 253402300799n) return `Unix time ${secs}`;
  return new Date(Number(secs) * 1000).toISOString().replace('.000Z', 'Z');
}

/** An attestation in words (docs/bundle-format.md §4), as a descriptor. */
export function describeAttestation(ev, a) {
  const method = typeof a.claim.method === 'string' ? a.claim.method : null;
  const result = typeof a.claim.result === 'string' ? plain(a.claim.result) : null;
  const issuer = plain(a.issuer);
  if (ev.kind === 'identity_verified' && method) return m('a.identity', { issuer, method: plain(method), result });
  if (ev.kind === 'intent_verified' && method) return m('a.intent', { issuer, method: plain(method), result });
  if (ev.kind === 'signed') {
    const alg = typeof a.claim.algorithm === 'string' ? plain(a.claim.algorithm) : null;
    if (a.issuer === `signer:${ev.actor.id}`) return m('a.signed_own', { issuer, alg });
    if (a.issuer.startsWith('signer:')) return m('a.signed_other', { issuer, alg });
    return m('a.signed_vouched', { issuer, alg });
  }
  return m('a.vouches', { issuer, claim: plain(canonicalJson(a.claim)) });
}

/** Sets a report's verdict and `passed` from its checks (again, after the
 * page adds its online check). */
export function finishReport(report) {
  report.verdict = verdictOf(report.checks, report.trust?.source);
  // A lookup's v2 entries are tied to the file only by the server's word
  // (a v2 leaf commits to its record, which the lookup does not open): all
  // checks passing proves the entries are in the log, not that they are
  // about this file. Never "verified" then: a status of its own.
  if (report.kind === 'lookup' && report.linkVouched && report.verdict.status === 'verified') {
    report.verdict = { status: 'server_vouched', summary: m('v.server_vouched'), reasons: [m('v.r.server_vouched')] };
  }
  report.passed = report.verdict.status === 'verified';
  return report;
}
