// The RFC 3161 checks of a bundle: the tokens over each event's document
// hash and content, and over the checkpoint. The page checks none of them
// (each is `unanchored`). Twin of verifier/src/bundle/timestamps.rs.

import { m } from '../error.js';
import { b64decode } from '../hash.js';
import { check, plain } from '../report.js';

/** Most RFC 3161 tokens looked at in one bundle (the rest fail). */
export const MAX_TOKENS = 256;

/**
 * RFC 3161 tokens are not checked here (CMS and X.509 in the browser are
 * not worth their attack surface: docs/trust-policy.md §4): each token gets
 * an `unanchored` check saying so, and never a time. A checkpoint token
 * that cannot even be taken apart (no readable checkpoint, not base64)
 * fails, as in the Rust verifier (verifier/src/bundle/timestamps.rs).
 */
export function timestampChecks(b, d) {
  const checks = [];
  const tokens = [];
  for (const e of d.entries) {
    if (!e.leaf.ok) continue;
    const ev = e.leaf.ok.event;
    const i = e.index;
    if ('timestamp_token' in ev) {
      tokens.push(['event_timestamp', String(i), m('c.ts.event_title', { i }), m('c.ts.event_unchecked', { i, hash: ev.document_hash })]);
    }
    if ('event_timestamp_token' in ev) {
      tokens.push(['event_content_timestamp', String(i), m('c.ts.content_title', { i }), m('c.ts.content_unchecked', { i })]);
    }
  }
  if ('checkpoint_timestamp' in b) {
    const tsa = plain(b.checkpoint_timestamp.tsa);
    if (d.checkpoint.err) checks.push(check('checkpoint_timestamp', null, 'fail', m('c.ts.fail_title'), m('c.ts.cp_no_checkpoint', { why: d.checkpoint.err })));
    else if (!b64decode(b.checkpoint_timestamp.token)) checks.push(check('checkpoint_timestamp', null, 'fail', m('c.ts.fail_title'), m('c.ts.cp_not_base64', { tsa })));
    else tokens.push(['checkpoint_timestamp', null, m('c.ts.cp_title'), m('c.ts.cp_unchecked', { tsa })]);
  }
  // As the Rust verifier: past MAX_TOKENS, tokens fail unchecked.
  for (const [id, subject] of tokens.slice(MAX_TOKENS)) {
    checks.push(check(id, subject, 'fail', m('c.ts.fail_title'), m('c.ts.too_many', { max: MAX_TOKENS })));
  }
  for (const [id, subject, title, detail] of tokens.slice(0, MAX_TOKENS)) checks.push(check(id, subject, 'unanchored', title, detail));
  return checks;
}
