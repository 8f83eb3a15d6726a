// The RFC 3161 checks of a bundle: every event's `timestamp_token` (over
// its document hash: the document existed by then), its
// `event_timestamp_token` (over the event's own canonical JSON: the event
// existed by then), and the token over the checkpoint body (the log state
// existed by then). Twin of verifier/src/bundle/timestamps.rs.
//
// A token is checked against the TSA roots of your policy; only then is
// its time a trusted time. A token that chains only to a root the bundle
// carries is `unanchored`: anyone can make a root called "National Time
// Service Center" and date a token 2020 (docs/trust-policy.md §2).

import { m, errMsg } from '../error.js';
import { utf8 } from '../std.js';
import { b64decode, sha256, hex } from '../hash.js';
import { canonicalJson } from '../jcs.js';
import { check, plain } from '../report.js';
import { trustedTsa, verifyTimestampToken } from '../tsa.js';

/** Allowed clock skew for genTime against "now". */
const SKEW_SECS = 300;
/** Most RFC 3161 tokens checked in one bundle (each may cost dozens of
 * signature checks); tokens past the limit fail their check. */
export const MAX_TOKENS = 256;

/** The event's canonical JSON without `event_timestamp_token` and
 * `identity` (entry.rs content_imprint_data): its token may imprint it
 * with SHA-256 or SM3. */
function contentImprintData(ev) {
  const rest = { ...ev };
  delete rest.event_timestamp_token;
  delete rest.identity;
  return utf8.encode(canonicalJson(rest));
}

/** The tokens of the bundle as [id, subject, what, imprint, der] (imprint:
 * SHA-256 bytes, or {data} where the bundle has the bytes); a
 * checkpoint token that cannot be taken apart becomes a failed check. */
async function tokens(b, d, checks) {
  const list = [];
  for (const e of d.entries) {
    if (!e.leaf.ok) continue;
    const ev = e.leaf.ok.event;
    const i = e.index;
    if ('timestamp_token' in ev) {
      const h = ev.document_hash;
      const imprint = new Uint8Array(h.match(/../g).map((x) => parseInt(x, 16)));
      list.push(['event_timestamp', String(i), m('c.ts.what_document', { i, hash: h }), imprint, b64decode(ev.timestamp_token)]);
    }
    if ('event_timestamp_token' in ev) {
      const data = contentImprintData(ev);
      const h = await sha256(data);
      list.push(['event_content_timestamp', String(i), m('c.ts.what_event', { i, hash: hex(h) }), { data }, b64decode(ev.event_timestamp_token)]);
    }
  }
  if ('checkpoint_timestamp' in b) {
    const der = b64decode(b.checkpoint_timestamp.token);
    const cp = d.checkpoint;
    if (cp.err) checks.push(failed('checkpoint_timestamp', null, m('c.ts.cp_no_checkpoint', { why: cp.err })));
    else if (!der) checks.push(failed('checkpoint_timestamp', null, m('c.ts.cp_not_base64', { tsa: plain(b.checkpoint_timestamp.tsa) })));
    else list.push(['checkpoint_timestamp', null, m('c.ts.what_log', { size: String(cp.ok.size) }), { data: utf8.encode(cp.ok.body) }, der]);
  }
  return list;
}

/**
 * Checks every token of the bundle against the policy's TSA roots, then,
 * for one that fails there, against the roots the bundle carries (a pass
 * there is `unanchored`: a claim). Resolves to {checks, facts}: facts are
 * the trusted times [{subject, tsa, gen_time, serial}].
 */
export async function timestampChecks(b, d, policy, now) {
  const checks = [];
  const facts = [];
  const claimed = (b.timestamp_authorities ?? []).map((t) => trustedTsa(t.name, t.root_pem)).filter(Boolean);
  const trusted = policy.tsas.map((t) => trustedTsa(t.name, t.pem)).filter(Boolean);
  const all = await tokens(b, d, checks);
  for (const [id, subject, what] of all.slice(MAX_TOKENS)) {
    checks.push(failed(id, subject, m('c.ts.too_many', { what, max: MAX_TOKENS })));
  }
  for (const [id, subject, what, imprint, der] of all.slice(0, MAX_TOKENS)) {
    let info;
    try {
      info = await verifyTimestampToken(der, imprint, trusted, now, SKEW_SECS);
    } catch (trustedErr) {
      try {
        info = await verifyTimestampToken(der, imprint, claimed, now, SKEW_SECS);
      } catch {
        checks.push(failed(id, subject, m('c.ts.fail', { what, why: errMsg(trustedErr) })));
        continue;
      }
      const a = { what, tsa: plain(info.tsa), gen_time: info.gen_time };
      checks.push(check(id, subject, 'unanchored', m('c.ts.unanchored_title', { what }), m('c.ts.unanchored', a)));
      continue;
    }
    const a = { what, tsa: plain(info.tsa), gen_time: info.gen_time, serial: info.serial };
    checks.push(check(id, subject, 'pass', m('c.ts.pass_title', { what }), m('c.ts.pass', a)));
    facts.push({ subject: what, tsa: info.tsa, gen_time: info.gen_time, serial: info.serial });
  }
  return { checks, facts };
}

function failed(id, subject, detail) {
  return check(id, subject, 'fail', m('c.ts.fail_title'), detail);
}
