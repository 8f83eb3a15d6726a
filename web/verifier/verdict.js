// The verdict rules of docs/trust-policy.md §3: "verified" only when every
// check passed against keys the person verifying chose; otherwise the first
// rule that applies, with every reason. Twin of verifier/src/verdict.rs.

import { m } from './error.js';

const TIMESTAMP_CHECKS = ['event_timestamp', 'event_content_timestamp', 'checkpoint_timestamp'];

/**
 * The verdict of docs/trust-policy.md §3 over `checks`: the first rule that
 * applies gives `status`; `reasons` names everything missing.
 */
export function verdictOf(checks, source = 'policy') {
  const reasons = [];
  const failed = checks.filter((c) => c.status === 'fail' && c.id !== 'witness_quorum');
  for (const c of failed) reasons.push(m('v.r.failed', { title: c.title, id: c.id }));
  const log = checks.find((c) => c.id === 'log_signature');
  const logUnanchored = log?.status === 'unanchored';
  if (logUnanchored) reasons.push(m('v.r.no_log_key'));
  const quorum = checks.find((c) => c.id === 'witness_quorum');
  const quorumFailed = quorum?.status === 'fail';
  if (quorumFailed) reasons.push(m('v.r.quorum', { detail: quorum.detail }));
  const stamps = checks.filter((c) => TIMESTAMP_CHECKS.includes(c.id) && c.status === 'unanchored');
  if (stamps.length) reasons.push(m('v.r.timestamps', { n: stamps.length }));
  const other = checks.filter((c) => c.status === 'unanchored' && !stamps.includes(c) && c !== log);
  for (const c of other) reasons.push(m('v.r.unanchored', { title: c.title, id: c.id }));
  let status = 'verified';
  if (checks.length === 0 || failed.length) status = 'failed';
  else if (logUnanchored) status = 'no_trusted_log_key';
  else if (quorumFailed) status = 'quorum_not_met';
  else if (stamps.length) status = 'untrusted_timestamps';
  else if (other.length || !checks.every((c) => c.status === 'pass')) status = 'failed';
  const summary = m(`v.${status}`, { n: checks.length, failed: failed.length, source });
  return { status, summary, reasons };
}
