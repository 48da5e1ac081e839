#!/usr/bin/env node
// `npx cse <command>`: the operator CLI without npm's banner on stdout (clean `--json` output).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The compiled CLI (`npm run build`) when dist/ has it; in a clone that has not been built, the
// TypeScript sources through @swc-node/register (a devDependency), so `npx cse` works either way.
const compiled = join(root, 'dist/apps/cli/src/main.js');
const entry = existsSync(compiled)
  ? [compiled]
  : ['--import', '@swc-node/register/esm-register', join(root, 'apps/cli/src/main.ts')];
const result = spawnSync(
  process.execPath,
  [
    // `statement import` streams up to 10M lines, whose short-lived objects must die young: V8's
    // allocation-site pretenuring, once a loaded moment tipped it, allocated them straight in the
    // old generation (1.4× the CPU, ~200 MiB more; docs/adr/013-match-on-import.md).
    '--max-semi-space-size=32',
    '--no-allocation-site-pretenuring',
    ...entry,
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit', cwd: process.cwd() },
);
process.exit(result.status ?? 1);
