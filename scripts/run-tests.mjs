#!/usr/bin/env node
// Runs the test files of the given kinds (unit, integration, e2e; all when none is named) with
// node's own test runner, TypeScript loaded through tsx. Node 20's runner does not expand globs.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = 'packages/server/test';
// The web app's own tests (pure functions of packages/web) run with the unit tests.
const webUnitRoot = 'packages/web/test';
const kinds = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const extra = process.argv.slice(2).filter((a) => a.startsWith('-'));
const wanted = kinds.length > 0 ? kinds : ['unit', 'integration', 'e2e'];

function collect(dir) {
  let files = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      files = files.concat(collect(path));
    } else if (name.endsWith('.test.ts')) {
      files.push(path);
    }
  }
  return files;
}

const files = wanted.flatMap((kind) => {
  const roots = kind === 'unit' ? [join(root, kind), webUnitRoot] : [join(root, kind)];
  return roots.flatMap((dir) => {
    try {
      return collect(dir).sort();
    } catch {
      return [];
    }
  });
});
if (files.length === 0) {
  console.error(`no test files under ${root} for ${wanted.join(', ')}`);
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    // TAP as before, then every failure again at the very end (see failure-summary.mjs).
    '--test-reporter=tap',
    '--test-reporter-destination=stdout',
    `--test-reporter=${new URL('./failure-summary.mjs', import.meta.url).pathname}`,
    '--test-reporter-destination=stderr',
    ...extra,
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
