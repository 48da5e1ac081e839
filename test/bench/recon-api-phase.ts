/**
 * bench:recon `--via-api`: the statement file imported through a running reconciliation service,
 * as `cse statement import --match` sends it (the CLI's own ApiClient: multipart streamed from disk,
 * a bearer token of the development identity). The service runs in a process of its own with the
 * flags `npm run start:reconciliation` uses; its CPU and peak RSS are read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { devIdentityEnv, ensureDevIdentity, mintDevToken, ROLE } from '@app/http';
import { ApiClient } from '../../apps/cli/src/index.js';
import type { StatementImportResult } from '../../apps/reconciliation/src/index.js';
import { BENCH_BUSINESS_DATE, BENCH_CHANNEL } from './recon-workload.js';

export interface ApiPhase {
  /** From the first byte sent to the answer. */
  ms: number;
  /** The import's own elapsed time as the service reports it (after the upload was received). */
  serverElapsedMs: number;
  lines: number;
  counts: Record<string, number>;
  servicePeakRssMiB: number;
  serviceCpuMs: number;
  clientCpuMs: number;
}

export async function importThroughApi(
  databaseUrl: string,
  statementPath: string,
  say: (text: string) => void,
): Promise<ApiPhase> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'cse-bench-api-'));
  const identity = await ensureDevIdentity(path.join(tmp, 'identity'));
  const token = await mintDevToken(identity, {
    sub: 'bench.operator',
    roles: [ROLE.importStatement, ROLE.runMatch],
    ttlSeconds: 3600,
  });
  const port = await freePort();
  const service = spawn(
    process.execPath,
    [
      '--max-semi-space-size=32',
      '--no-allocation-site-pretenuring',
      '--import',
      '@swc-node/register/esm-register',
      'apps/reconciliation/src/main.ts',
    ],
    {
      env: {
        ...process.env,
        ...devIdentityEnv(identity),
        DATABASE_URL: databaseUrl,
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: String(port),
        KAFKA_TOPIC_PREFIX: `bench-recon-${process.pid}.`,
        TMPDIR: os.tmpdir(),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    await ready(service);
    say(`api: reconciliation service pid ${service.pid} on 127.0.0.1:${port}; POST /statements …`);
    const client = ApiClient.withToken('reconciliation', token, {
      CSE_RECONCILIATION_URL: `http://127.0.0.1:${port}`,
    });
    const cpu0 = processCpuMs(service.pid!);
    const clientCpu0 = process.cpuUsage();
    const t0 = performance.now();
    const { body } = await client.multipart<StatementImportResult>('/statements', [
      { name: 'channel', value: BENCH_CHANNEL },
      { name: 'format', value: 'generic' },
      { name: 'businessDate', value: BENCH_BUSINESS_DATE },
      { name: 'match', value: 'true' },
      { name: 'file', file: statementPath, fileName: path.basename(statementPath), contentType: 'text/csv' },
    ]);
    const ms = performance.now() - t0;
    const clientCpu = process.cpuUsage(clientCpu0);
    return {
      ms,
      serverElapsedMs: body.elapsedMs,
      lines: body.lines,
      counts: { ...(body.matchRun?.counts ?? {}) },
      servicePeakRssMiB: peakRssMiB(service.pid!),
      serviceCpuMs: processCpuMs(service.pid!) - cpu0,
      clientCpuMs: (clientCpu.user + clientCpu.system) / 1000,
    };
  } finally {
    await stop(service);
    await rm(tmp, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the service did not start within 60 s')), 60_000);
    child.once('exit', (code) => reject(new Error(`the service exited with code ${code} during start-up`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready, HTTP on')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  // Its relay may be publishing the run's matched items: the bench does not wait for them.
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** utime + stime of a process, in ms (Linux /proc). */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100;
}

/** The process's high-water mark of resident memory (VmHWM), in MiB. */
function peakRssMiB(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? 0 : Math.round(Number(match[1]) / 1024);
}
