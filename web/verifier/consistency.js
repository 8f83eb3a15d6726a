// The `log_consistency` check the page adds online: the log's latest
// checkpoint is signed by the bundle's log key and extends the bundle's
// (RFC 9162 §2.1.4.2). No twin in verifier/src, which works offline; the
// service answers GET /v1/checkpoint and /v1/proof/consistency (src/api/public.rs).

import { m, attempt } from './error.js';
import { b64decode, b64encode } from './hash.js';
import { keySuite, verifyAnyNoteSignature } from './anykey.js';
import { parseSignedCheckpoint } from './checkpoint.js';
import { check, plain } from './report.js';

/**
 * The `log_consistency` check: the log's latest checkpoint (`latestNote`,
 * as served by /v1/checkpoint) is signed by `logKey` and is consistent
 * (RFC 9162 §2.1.4.2, `proof` as base64 hashes) with the bundle's
 * checkpoint {tree_size, root}, so the log still holds what the bundle shows.
 */
export async function verifyStillInLog(logKey, bundleCp, latestNote, proof) {
  const title = m('c.live.title');
  const out = (passed, detail) => check('log_consistency', null, passed, title, detail);
  if (!logKey || !bundleCp) return out(false, m('c.live.no_bundle_checkpoint'));
  const latest = await attempt(() => parseSignedCheckpoint(latestNote));
  if (latest.err) return out(false, m('c.live.unreadable', { why: latest.err }));
  const cp = latest.ok;
  if (cp.origin !== logKey.name) return out(false, m('c.log.origin', { cp: plain(cp.origin), key: plain(logKey.name) }));
  const bad = await verifyAnyNoteSignature(logKey, cp);
  if (bad) return out(false, m('c.live.bad_signature', { why: bad }));
  const oldSize = BigInt(bundleCp.tree_size);
  const oldRoot = b64decode(bundleCp.root);
  if (cp.size < oldSize) return out(false, m('c.live.shrunk', { old: String(oldSize), size: String(cp.size) }));
  const hashes = (proof ?? []).map(b64decode);
  if (!hashes.every((h) => h && h.length === 32)) return out(false, m('c.live.bad_proof'));
  const ok = await keySuite(logKey).verifyConsistency(oldSize, cp.size, hashes, oldRoot, cp.root);
  if (!ok) return out(false, m('c.live.inconsistent', { old: String(oldSize), size: String(cp.size) }));
  return out(true, m('c.live.ok', { old: String(oldSize), size: String(cp.size), root: b64encode(cp.root) }));
}
