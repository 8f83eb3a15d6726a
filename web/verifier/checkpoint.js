// C2SP tlog-checkpoint: the body (origin, size, root, extensions) and the
// signed checkpoint note. Twin of verifier/src/checkpoint.rs.

import { fail } from './error.js';
import { b64decode } from './hash.js';
import { parseNote } from './note.js';

/** Parses a tlog-checkpoint body: origin, size, base64 root, extensions. */
export function parseCheckpointBody(text) {
  const lines = text.slice(0, -1).split('\n');
  const [origin, sizeLine, rootLine, ...ext] = lines;
  if (!origin) fail('r.checkpoint', { what: 'origin' });
  if (!/^(0|[1-9][0-9]{0,19})$/.test(sizeLine ?? '') || BigInt(sizeLine) >= 2n ** 64n) {
    fail('r.checkpoint', { what: 'size' });
  }
  const root = b64decode(rootLine ?? '');
  if (!root || root.length !== 32) fail('r.checkpoint', { what: 'root' });
  if (ext.some((l) => l === '')) fail('r.checkpoint', { what: 'extension' });
  return { origin, size: BigInt(sizeLine), root };
}

/** Parses a signed checkpoint note. */
export function parseSignedCheckpoint(note) {
  const parsed = parseNote(note);
  return { note: parsed, body: parsed.text, ...parseCheckpointBody(parsed.text) };
}
