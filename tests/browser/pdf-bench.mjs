// Times the page's PDF signature checker (web/verifier/pdf.js) in Node on
// one file, for docs/pdf-signatures.md §11:
//
//   node tests/browser/pdf-bench.mjs POLICY SIGNED.pdf [RUNS]
//
// Prints the verdict, the median wall time of RUNS checks (default 5) and
// the process's resident memory after them.
import { readFileSync } from 'node:fs';
import { verifyPdf } from '../../web/verifier/pdf.js';
import { parsePolicy } from '../../web/verifier/policy.js';

const [policyFile, pdfFile, runsArg] = process.argv.slice(2);
if (!pdfFile) {
  console.error('usage: node tests/browser/pdf-bench.mjs POLICY SIGNED.pdf [RUNS]');
  process.exit(2);
}
const policy = await parsePolicy(readFileSync(policyFile, 'utf8'));
const bytes = new Uint8Array(readFileSync(pdfFile));
const runs = Number(runsArg ?? 5);
const times = [];
let report;
for (let i = 0; i < runs; i++) {
  const t = performance.now();
  report = await verifyPdf(bytes, policy, Math.floor(Date.now() / 1000));
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
const rss = (process.memoryUsage().rss / 2 ** 20).toFixed(0);
console.log(`${pdfFile}: ${bytes.length} bytes, ${report.verdict.status}, median ${times[runs >> 1].toFixed(1)} ms over ${runs} runs, RSS ${rss} MiB`);
