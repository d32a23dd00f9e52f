// Runs one k6 script under node with the stand-ins of node_modules/k6: its
// options, setup() and ITERATIONS calls of its default function, as k6 would
// in one VU, then prints what happened as JSON. With SUMMARY_DATA (k6's
// end-of-test data as JSON) it calls handleSummary on that instead of
// running, and prints what it returned.
//
//   node drive.mjs /path/to/k6/list.js   (env: K6_ENV as JSON, ITERATIONS, SUMMARY_DATA)
import { readFileSync } from 'node:fs';
import { register } from 'node:module';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const script = resolve(process.argv[2]);
globalThis.__ENV = JSON.parse(process.env.K6_ENV || '{}');
globalThis.open = (path) => readFileSync(resolve(dirname(script), path), 'utf8');
globalThis.__requests = [];
globalThis.__checks = {};
globalThis.__metrics = {};
// The scripts' console.log goes to stderr, as k6's does: stdout is ours.
const print = console.log;
console.log = console.error;
register('./loader.mjs', import.meta.url);

const mod = await import(pathToFileURL(script).href);
if (process.env.SUMMARY_DATA) {
  print(JSON.stringify(mod.handleSummary(JSON.parse(process.env.SUMMARY_DATA))));
  process.exit(0);
}
const data = mod.setup ? mod.setup() : undefined;
const setupRequests = globalThis.__requests.length;
const iterations = Number(process.env.ITERATIONS || '10');
for (let i = 0; i < iterations; i++) {
  mod.default(JSON.parse(JSON.stringify(data ?? null)));
}
print(
  JSON.stringify({
    options: mod.options,
    setupRequests: setupRequests,
    requests: globalThis.__requests,
    checks: globalThis.__checks,
    metrics: globalThis.__metrics,
  }),
);
