import { describe, expect, it } from '@jest/globals';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { idempotencyKeyOf, resolveToken, serviceUrl } from './api-client.js';
import { parseTtl } from './commands/auth.command.js';
import { UsageError } from './output.js';

describe('the CLI API client: where the token and the services come from', () => {
  it('takes the token from --token-file first, else CSE_TOKEN, else none', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cse-token-'));
    const file = path.join(dir, 'token');
    await writeFile(file, 'aaa.bbb.ccc\n');
    expect(await resolveToken({ tokenFile: file }, { CSE_TOKEN: 'xxx.yyy.zzz' })).toBe('aaa.bbb.ccc');
    expect(await resolveToken({}, { CSE_TOKEN: ' Bearer xxx.yyy.zzz ' })).toBe('xxx.yyy.zzz');
    expect(await resolveToken({}, {})).toBeUndefined();
    await expect(resolveToken({ tokenFile: path.join(dir, 'missing') }, {})).rejects.toThrow(
      /^--token-file .*missing: cannot read the file \(ENOENT\)$/,
    );
    await writeFile(file, 'two\ntokens');
    await expect(resolveToken({ tokenFile: file }, {})).rejects.toBeInstanceOf(UsageError);
    await expect(resolveToken({}, { CSE_TOKEN: 'a b' })).rejects.toThrow(/^CSE_TOKEN: not a bearer token/);
  });

  it('reads each service URL from its variable, with the local default, and names the variable when it is wrong', () => {
    expect(serviceUrl('reconciliation', {}).href).toBe('http://127.0.0.1:3001/');
    expect(serviceUrl('clearing', {}).href).toBe('http://127.0.0.1:3002/');
    expect(serviceUrl('settlement', { CSE_SETTLEMENT_URL: 'https://settle.example/api' }).href).toBe(
      'https://settle.example/api',
    );
    expect(() => serviceUrl('settlement', { CSE_SETTLEMENT_URL: 'ftp://x' })).toThrow(
      'CSE_SETTLEMENT_URL must be an http(s) URL, got "ftp://x"',
    );
  });

  it('makes one Idempotency-Key per command unless given', () => {
    expect(idempotencyKeyOf({}, 'approve')).toMatch(/^cli-approve-[0-9a-f-]{36}$/);
    expect(idempotencyKeyOf({}, 'approve')).not.toBe(idempotencyKeyOf({}, 'approve'));
    expect(idempotencyKeyOf({ idempotencyKey: ' k-1 ' }, 'approve')).toBe('k-1');
    expect(() => idempotencyKeyOf({ idempotencyKey: 'x'.repeat(201) }, 'approve')).toThrow(UsageError);
  });

  it('reads a token lifetime as 15m, 900s or 1h, at most 1h', () => {
    expect(parseTtl('15m')).toBe(900);
    expect(parseTtl('900')).toBe(900);
    expect(parseTtl('1h')).toBe(3600);
    for (const bad of ['0', '61m', '2h', '1d', '-5m', '15 m', ''])
      expect(() => parseTtl(bad)).toThrow(/^--ttl must be a duration/);
  });
});
