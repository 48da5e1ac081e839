import { beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { ApiError } from './api-error.js';
import { CallerIdentity, COMMAND_ROLE } from './caller-identity.js';

const refusal = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiError)
      return { status: error.getStatus(), code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a refusal');
};

describe('CallerIdentity', () => {
  const warnings: string[] = [];
  beforeAll(() => {
    // Refusals are logged as security events; collect them instead of printing them.
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      warnings.push(String(message));
    });
  });

  it('in DECLARED mode takes the body field, and requires it', async () => {
    const identity = await CallerIdentity.fromConfig(null, 'test');
    expect(identity.mode).toBe('DECLARED');
    expect(
      await identity.principalOf('Bearer whatever', {
        declared: 'finance:li',
        field: 'by',
        role: COMMAND_ROLE.approveSettlement,
      }),
    ).toBe('finance:li');
    expect(await identity.authenticated(undefined, COMMAND_ROLE.closeCycle)).toBeNull();
    expect(await refusal(identity.principalOf(undefined, { field: 'by' }))).toMatchObject({
      status: 400,
      code: 'REQUEST.INVALID',
      message: 'by: required (who is acting)',
    });
  });

  it('verifies RS256 tokens with the provider’s public key: sub is the caller, audience enforced', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const identity = await CallerIdentity.fromConfig(
      { jwtPublicKey: await exportSPKI(publicKey), jwtAlgorithm: 'RS256', audience: 'cse' },
      'test',
    );
    const sign = (sub: string, audience: string, roles: unknown = ['recon.resolve', 'settlement.close']) =>
      new SignJWT({ roles })
        .setProtectedHeader({ alg: 'RS256' })
        .setSubject(sub)
        .setAudience(audience)
        .setExpirationTime('1m')
        .sign(privateKey);
    expect(await identity.principalOf(`Bearer ${await sign('finance:li', 'cse')}`, { field: 'actor' })).toBe(
      'finance:li',
    );
    expect(
      await identity.authenticated(`Bearer ${await sign('ops:zhao', 'cse')}`, COMMAND_ROLE.closeCycle),
    ).toBe('ops:zhao');
    expect(
      await refusal(identity.principalOf(`Bearer ${await sign('finance:li', 'other')}`, { field: 'actor' })),
    ).toMatchObject({
      status: 401,
      code: 'AUTH.UNAUTHENTICATED',
      message: expect.stringContaining('claim aud'),
    });
    expect(
      await refusal(
        identity.principalOf(`Bearer ${await sign('finance:li', 'cse')}`, {
          declared: 'finance:wang',
          field: 'actor',
        }),
      ),
    ).toMatchObject({ status: 403, code: 'AUTH.PRINCIPAL_MISMATCH' });
    // Roles: an array claim or a space-separated string; without the command's role, 403.
    const resolve = { field: 'actor', role: COMMAND_ROLE.resolveDiscrepancy } as const;
    expect(await identity.principalOf(`Bearer ${await sign('clerk:wu', 'cse')}`, resolve)).toBe('clerk:wu');
    expect(
      await identity.principalOf(`Bearer ${await sign('clerk:wu', 'cse', 'openid recon.resolve')}`, resolve),
    ).toBe('clerk:wu');
    for (const roles of [['settlement.approve'], 'recon', null, [42]])
      expect(
        await refusal(identity.principalOf(`Bearer ${await sign('clerk:wu', 'cse', roles)}`, resolve)),
      ).toEqual({
        status: 403,
        code: 'AUTH.FORBIDDEN',
        message: 'clerk:wu lacks the role recon.resolve (claim "roles" of the token) needed for this command',
      });
    expect(warnings).toContain(
      'refused a command needing recon.resolve: AUTH.FORBIDDEN: clerk:wu lacks the role recon.resolve (claim "roles" of the token) needed for this command',
    );
    // An HS256 token signed with the public key as a secret (algorithm confusion) is refused.
    const confused = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('finance:li')
      .setAudience('cse')
      .setExpirationTime('1m')
      .sign(new TextEncoder().encode(await exportSPKI(publicKey)));
    expect(await refusal(identity.principalOf(`Bearer ${confused}`, { field: 'actor' }))).toMatchObject({
      status: 401,
      message: expect.stringContaining('algorithm'),
    });
  });
});
