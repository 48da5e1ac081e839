/**
 * The compiled build (issue 16): `npm run build` compiles apps/ and libs/ to dist/, and each
 * service's dist/…/main.js — what `npm run start:*`, the Docker image and docker-compose run —
 * starts against a fresh database, answers GET /health and exits cleanly on SIGTERM; the compiled
 * CLI answers --help. The build runs here every time (well under a second), so dist/ is never stale.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { randomUUID } from 'node:crypto';
import { migrateAll, useIsolatedDatabase } from '../support/infra.js';

const SERVICES = ['reconciliation', 'clearing', 'settlement', 'payout-gateway-simulator'] as const;
const children = new Set<ChildProcess>();

/** process.env without identity settings, NODE_OPTIONS cleared: no loader, no Jest flags. */
function environment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('HTTP_AUTH_') && k !== 'AUTH_MODE'),
  );
  return { ...clean, NODE_OPTIONS: '', ...extra };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function healthy(port: number, child: ChildProcess, output: () => string): Promise<number> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}:\n${output()}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      if (response.status === 200) return response.status;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no 200 from /health within 30 s:\n${output()}`);
}

describe('the compiled build', () => {
  const prefix = `build-${randomUUID().slice(0, 8)}.`;

  beforeAll(async () => {
    const build = spawnSync('npm', ['run', '-s', 'build'], { encoding: 'utf8', env: environment({}) });
    expect({ status: build.status, stderr: build.stderr }).toEqual({ status: 0, stderr: '' });
    await useIsolatedDatabase('compiled_build');
    await migrateAll();
  }, 60_000);

  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
  });

  it('compiles every app, with source maps and no @app/ specifier left', () => {
    for (const app of [...SERVICES, 'cli']) {
      expect(existsSync(`dist/apps/${app}/src/main.js`)).toBe(true);
      expect(existsSync(`dist/apps/${app}/src/main.js.map`)).toBe(true);
    }
    expect(existsSync('libs/platform/src/config.spec.ts')).toBe(true);
    expect(existsSync('dist/libs/platform/src/config.spec.js')).toBe(false);
    const main = readFileSync('dist/apps/clearing/src/main.js', 'utf8');
    expect(main).toContain("from '../../../libs/messaging/src/index.js'");
    expect(main).not.toContain('@app/');
  });

  it.each(SERVICES)(
    'node dist/apps/%s/src/main.js starts, answers /health and shuts down cleanly on SIGTERM',
    async (service) => {
      const port = await freePort();
      const child = spawn(process.execPath, [`dist/apps/${service}/src/main.js`], {
        env: environment({
          AUTH_MODE: 'development',
          HTTP_HOST: '127.0.0.1',
          HTTP_PORT: String(port),
          KAFKA_TOPIC_PREFIX: prefix,
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<string>((resolve) =>
        child.once('exit', (code, signal) => resolve(signal ?? `code ${code}`)),
      );

      expect(await healthy(port, child, () => output)).toBe(200);
      expect(output).toContain(`ready, HTTP on 127.0.0.1:${port}`);

      const before = output.length;
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const exit = await Promise.race([
        exited,
        new Promise<string>((resolve) => (timer = setTimeout(() => resolve('no exit within 20 s'), 20_000))),
      ]);
      clearTimeout(timer);
      children.delete(child);
      // Clean: Nest's shutdown hooks close consumers, relay and pool, then re-raise the signal (the
      // gateway simulator, with its own handler, exits 0); nothing is logged on the way out.
      expect({ exit, after: output.slice(before) }).toEqual({
        exit: service === 'payout-gateway-simulator' ? 'code 0' : 'SIGTERM',
        after: '',
      });
    },
    60_000,
  );

  it('node dist/apps/cli/src/main.js --help exits 0', () => {
    const cli = spawnSync(process.execPath, ['dist/apps/cli/src/main.js', '--help'], {
      encoding: 'utf8',
      env: environment({}),
    });
    expect(cli.status).toBe(0);
    expect(cli.stdout).toContain('Usage: cse');
  });
});
