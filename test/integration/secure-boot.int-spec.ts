/**
 * Secure by default (issue 15): a service started without identity configuration does not start,
 * and says which variables to set; development mode (AUTH_MODE=development) starts only on
 * loopback. The real service entry points, as `npm run start:*` runs them.
 */
import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';

const SERVICES = ['reconciliation', 'clearing', 'settlement'] as const;

function start(
  service: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('HTTP_AUTH_') && k !== 'AUTH_MODE'),
  );
  const child = spawn(
    process.execPath,
    ['--import', '@swc-node/register/esm-register', `apps/${service}/src/main.ts`],
    { env: { ...clean, NODE_OPTIONS: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('a service without identity configuration does not start', () => {
  it.each(SERVICES)(
    '%s on 0.0.0.0 without HTTP_AUTH_*: exits naming the variables',
    async (service) => {
      const { code, output } = await start(service, { HTTP_HOST: '0.0.0.0', HTTP_PORT: '0' });
      expect(code).toBe(78);
      expect(output).toContain('cannot start: no identity configuration');
      expect(output).toContain('HTTP_AUTH_JWT_PUBLIC_KEY_FILE');
      expect(output).toContain('HTTP_AUTH_JWT_SECRET');
      expect(output).not.toContain('ready, HTTP on');
    },
    90_000,
  );

  it('development mode on a non-loopback host: exits naming loopback', async () => {
    const { code, output } = await start('clearing', {
      HTTP_HOST: '0.0.0.0',
      HTTP_PORT: '0',
      AUTH_MODE: 'development',
    });
    expect(code).toBe(78);
    expect(output).toContain('AUTH_MODE=development trusts whoever calls, so it listens on loopback only');
  }, 90_000);
});
