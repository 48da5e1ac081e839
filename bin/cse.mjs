#!/usr/bin/env node
// `npx cse <command>`: the operator CLI without npm's banner on stdout (clean `--json` output).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const result = spawnSync(
  process.execPath,
  [
    '--import',
    '@swc-node/register/esm-register',
    join(root, 'apps/cli/src/main.ts'),
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit', cwd: process.cwd() },
);
process.exit(result.status ?? 1);
