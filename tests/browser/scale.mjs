// The page's verifier on the bundles verifier/tests/scale.rs writes:
// time and memory per bundle, for docs/performance.md ("Verifier cost").
//   node tests/browser/scale.mjs /tmp/scale 1 1000 10000 30000
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from '../../web/verifier.js';

const [dir, ...sizes] = process.argv.slice(2);
const policy = await v.parsePolicy(readFileSync(join(dir, 'court.policy'), 'utf8'));
const documentHash = v.hex(await v.sha256(readFileSync(join(dir, 'document'))));
for (const n of sizes) {
  const bytes = new Uint8Array(readFileSync(join(dir, `parties-${n}.json`)));
  const t0 = performance.now();
  const r = await v.verifyBundle(bytes, { policy, documentHash });
  const secs = (performance.now() - t0) / 1000;
  const rss = Math.round(process.memoryUsage().rss / 2 ** 20);
  console.log(`${n} parties, ${(bytes.length / 2 ** 20).toFixed(1)} MiB: ${secs.toFixed(2)} s, RSS ${rss} MiB, ${r.checks.length} checks, verdict ${r.verdict.status}`);
}
