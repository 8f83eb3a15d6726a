// The page's verifier is ES modules: web/verifier.js (the facade) and
// web/verifier/**/*.js, one per module of the Rust verifier. This fails
// when they import one another in a cycle, or import a file that is not
// there. Run it alone (`node tests/browser/module-cycles.mjs`); the test
// in verifier.test.mjs runs it with the other Node tests.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The page's directory, web/. */
export const WEB = fileURLToPath(new URL('../../web/', import.meta.url));

/** web/verifier.js and every .js file under web/verifier/, as absolute
 * paths, sorted. */
export function moduleFiles(web = WEB) {
  const out = [join(web, 'verifier.js')];
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.js')) out.push(p);
    }
  };
  walk(join(web, 'verifier'));
  return out;
}

/** The specifiers of a module's static imports and re-exports
 * (`import ... from 'x'`, `export ... from 'x'`, `import 'x'`), each
 * statement starting a line, possibly spread over several. */
export function importsOf(src) {
  const re = /^[ \t]*(?:(?:import|export)\b[^'";]*?\bfrom[ \t]*|import[ \t]*)['"]([^'"]+)['"]/gm;
  return [...src.matchAll(re)].map((x) => x[1]);
}

/** The import graph of `files`: Map file → files it imports (relative
 * specifiers only), and the imports that name no file. */
export function importGraph(files, web = WEB) {
  const graph = new Map();
  const missing = [];
  for (const f of files) {
    const deps = [];
    for (const spec of importsOf(readFileSync(f, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(f), spec);
      if (!existsSync(target)) missing.push(`${relative(web, f)} imports ${spec}`);
      else deps.push(target);
    }
    graph.set(f, deps);
  }
  return { graph, missing };
}

/** A cycle of `graph` (Map node → nodes) as [a, b, ..., a], or null. */
export function findCycle(graph) {
  const state = new Map(); // node → 'open' while on the path, 'done' after
  const path = [];
  const visit = (n) => {
    if (state.get(n) === 'done') return null;
    if (state.get(n) === 'open') return [...path.slice(path.indexOf(n)), n];
    state.set(n, 'open');
    path.push(n);
    for (const d of graph.get(n) ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    path.pop();
    state.set(n, 'done');
    return null;
  };
  for (const n of graph.keys()) {
    const c = visit(n);
    if (c) return c;
  }
  return null;
}

/** Checks the modules under `web`: {files, missing, cycle}. */
export function checkModules(web = WEB) {
  const files = moduleFiles(web);
  const { graph, missing } = importGraph(files, web);
  const cycle = findCycle(graph);
  return { files, missing, cycle: cycle && cycle.map((f) => relative(web, f)) };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { files, missing, cycle } = checkModules();
  for (const x of missing) console.error(`missing: ${x}`);
  if (cycle) console.error(`import cycle: ${cycle.join(' -> ')}`);
  if (missing.length || cycle) process.exit(1);
  console.log(`${files.length} modules, no import cycle`);
}
