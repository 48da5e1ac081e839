/**
 * `npm run bench:rss [-- --service clearing --runs 3 --idle 5]`: a service's idle resident memory,
 * started from the compiled build (`node dist/apps/<service>/src/main.js`, as `npm run start:*` runs
 * it) against the same service through the TypeScript register (`node --import
 * @swc-node/register/esm-register apps/<service>/src/main.ts`, as before issue 16). Builds first;
 * each run starts the service alone against one migrated database, waits for GET /health 200 and
 * then --idle seconds, reads VmRSS from /proc/<pid>/status and stops it. The runs alternate
 * (dist, register, dist, …) so both see the same machine.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { ensureKafka } from '../../scripts/kafka-lib.mjs';
import { createDatabase, dropDatabase, ensurePostgres, withDatabaseName } from '../../scripts/postgres.mjs';

const { values } = parseArgs({
  options: {
    service: { type: 'string', default: 'clearing' },
    runs: { type: 'string', default: '3' },
    idle: { type: 'string', default: '5' },
    port: { type: 'string', default: '3990' },
  },
});
const service = values.service;
const runs = Number(values.runs);
const idleMs = Number(values.idle) * 1000;
const port = Number(values.port);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const kafka = await ensureKafka({ quiet: true });
const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
await ensurePostgres({ databaseUrl: serverUrl, quiet: true });
const databaseUrl = withDatabaseName(serverUrl, 'cse_bench_rss');
await dropDatabase(databaseUrl);
await createDatabase(databaseUrl);

const env = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('HTTP_AUTH_') && k !== 'AUTH_MODE'),
  ),
  NODE_OPTIONS: '',
  DATABASE_URL: databaseUrl,
  KAFKA_BROKERS: kafka.brokers,
  KAFKA_TOPIC_PREFIX: `bench_rss_${Date.now().toString(36)}.`,
  AUTH_MODE: 'development',
  HTTP_HOST: '127.0.0.1',
  HTTP_PORT: String(port),
};

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}`);
}
run('npm', ['run', '-s', 'build']);
run(process.execPath, ['dist/apps/cli/src/main.js', 'db', 'migrate']);

const VARIANTS = {
  dist: [`dist/apps/${service}/src/main.js`],
  register: ['--import', '@swc-node/register/esm-register', `apps/${service}/src/main.ts`],
} as const;

async function idleRss(args: readonly string[]): Promise<number> {
  const child = spawn(process.execPath, [...args], { env, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited ${child.exitCode}`);
      if (Date.now() > deadline) throw new Error(`${args.join(' ')}: no /health 200 within 60 s`);
      const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      await sleep(200);
    }
    await sleep(idleMs);
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const kib = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
    return kib / 1024;
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

const results: Record<keyof typeof VARIANTS, number[]> = { dist: [], register: [] };
for (let i = 0; i < runs; i++) {
  for (const variant of ['dist', 'register'] as const) {
    const mib = await idleRss(VARIANTS[variant]);
    results[variant].push(mib);
    process.stderr.write(`run ${i + 1} ${variant}: ${mib.toFixed(1)} MiB\n`);
  }
}
await dropDatabase(databaseUrl);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const machine = `${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`;
console.log(`${service}, idle ${idleMs / 1000} s after /health 200, VmRSS in MiB (${machine})`);
for (const variant of ['dist', 'register'] as const) {
  const xs = results[variant];
  console.log(
    `  ${variant.padEnd(8)} ${xs.map((x) => x.toFixed(1)).join(' / ')}  median ${median(xs).toFixed(1)}`,
  );
}
const saved = median(results.register) - median(results.dist);
console.log(
  `  dist/ saves ${saved.toFixed(1)} MiB (${((saved / median(results.register)) * 100).toFixed(0)}%)`,
);
