import { beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { HttpAuthConfig } from '@app/platform';
import fc from 'fast-check';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { ApiError } from './api-error.js';
import { assertActingAs, CallerIdentity } from './caller-identity.js';
import { decideAccess, merchantScopeOf, normalizePrincipal, ROLE } from './principal.js';

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

const SECRET = 'a-test-secret-of-at-least-32-characters';
const tokenConfig = (
  overrides: Partial<Extract<HttpAuthConfig, { mode: 'TOKEN' }>> = {},
): HttpAuthConfig => ({
  mode: 'TOKEN',
  jwtSecret: SECRET,
  rolesClaim: 'roles',
  merchantClaim: 'merchant_id',
  tokenMaxLifetimeS: 3_600,
  ...overrides,
});

const hs256 = (
  sub: string,
  claims: Record<string, unknown> = {},
  times: { iat?: number; exp?: number } = {},
): Promise<string> => {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt(times.iat ?? now)
    .setExpirationTime(times.exp ?? now + 300)
    .sign(new TextEncoder().encode(SECRET));
};

describe('CallerIdentity', () => {
  beforeAll(() => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  it('takes the principal, roles and merchant from a token; the scheme is case-insensitive (RFC 6750)', async () => {
    const identity = await CallerIdentity.fromConfig(tokenConfig(), 'test');
    const token = await hs256('Finance.Wang', { roles: 'openid settlement.approve', merchant_id: 'M00002' });
    for (const scheme of ['Bearer', 'bearer', 'BEARER'])
      expect(await identity.authenticate({ authorization: `${scheme} ${token}` })).toEqual({
        id: 'finance.wang',
        roles: ['openid', 'settlement.approve'],
        merchantId: 'M00002',
      });
    expect(await refusal(identity.authenticate({}))).toMatchObject({
      status: 401,
      code: 'AUTH.UNAUTHENTICATED',
    });
    expect(await refusal(identity.authenticate({ authorization: `Basic ${token}` }))).toMatchObject({
      status: 401,
    });
  });

  it('refuses tokens that live longer than the maximum, or were issued in the future', async () => {
    const identity = await CallerIdentity.fromConfig(tokenConfig({ tokenMaxLifetimeS: 600 }), 'test');
    const now = Math.floor(Date.now() / 1000);
    expect(
      await refusal(
        identity.authenticate({
          authorization: `Bearer ${await hs256('ops.li', {}, { exp: now + 86_400 * 365 })}`,
        }),
      ),
    ).toMatchObject({
      status: 401,
      message: expect.stringContaining('HTTP_AUTH_TOKEN_MAX_LIFETIME_S (600 s)'),
    });
    expect(
      await refusal(
        identity.authenticate({
          authorization: `Bearer ${await hs256('ops.li', {}, { iat: now + 3_600, exp: now + 3_900 })}`,
        }),
      ),
    ).toMatchObject({ status: 401 });
    // No iat at all: the lifetime cannot be bounded, so the token is refused.
    const noIat = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('ops.li')
      .setExpirationTime(now + 60)
      .sign(new TextEncoder().encode(SECRET));
    expect(await refusal(identity.authenticate({ authorization: `Bearer ${noIat}` }))).toMatchObject({
      status: 401,
      message: expect.stringContaining('iat'),
    });
    expect(
      await identity.authenticate({
        authorization: `Bearer ${await hs256('ops.li', {}, { exp: now + 590 })}`,
      }),
    ).toMatchObject({
      id: 'ops.li',
    });
  });

  it('verifies RS256 tokens with the provider’s public key; audience enforced; no algorithm confusion', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const identity = await CallerIdentity.fromConfig(
      tokenConfig({
        jwtSecret: undefined,
        jwtPublicKey: await exportSPKI(publicKey),
        jwtAlgorithm: 'RS256',
        audience: 'cse',
      }),
      'test',
    );
    const sign = (sub: string, audience: string) =>
      new SignJWT({ roles: ['recon.resolve'] })
        .setProtectedHeader({ alg: 'RS256' })
        .setSubject(sub)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime('1m')
        .sign(privateKey);
    expect(
      await identity.authenticate({ authorization: `Bearer ${await sign('finance:li', 'cse')}` }),
    ).toMatchObject({
      id: 'finance:li',
    });
    expect(
      await refusal(identity.authenticate({ authorization: `Bearer ${await sign('finance:li', 'other')}` })),
    ).toMatchObject({
      status: 401,
      message: expect.stringContaining('claim aud'),
    });
    const confused = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('finance:li')
      .setAudience('cse')
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(new TextEncoder().encode(await exportSPKI(publicKey)));
    expect(await refusal(identity.authenticate({ authorization: `Bearer ${confused}` }))).toMatchObject({
      status: 401,
      message: expect.stringContaining('algorithm'),
    });
  });

  it('in development mode names the caller by header, with every staff role', async () => {
    const identity = await CallerIdentity.fromConfig({ mode: 'DEVELOPMENT' }, 'test');
    expect(await identity.authenticate({ 'x-cse-principal': 'Dev.Zhou' })).toMatchObject({
      id: 'dev.zhou',
      merchantId: null,
      roles: expect.arrayContaining([ROLE.approveSettlement, ROLE.financeRead]),
    });
    expect(await identity.authenticate({ 'x-cse-merchant': 'M00002' })).toEqual({
      id: 'developer',
      roles: [ROLE.merchant],
      merchantId: 'M00002',
    });
  });
});

describe('principals and access rules', () => {
  it('one normalisation: case and width variants are one principal', () => {
    for (const variant of [
      'System:Cycle-Close',
      'SYSTEM:CYCLE-CLOSE',
      'ｓｙｓｔｅｍ：ｃｙｃｌｅ－ｃｌｏｓｅ',
    ])
      expect(normalizePrincipal(variant)).toBe('system:cycle-close');
    for (const bad of ['', ' ', 'a b', 'x\u001b[2J', 'x'.repeat(201)])
      expect(normalizePrincipal(bad)).toBeNull();
    // Idempotent: a normalised id normalises to itself.
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (raw) => {
        const once = normalizePrincipal(raw);
        return once === null || normalizePrincipal(once) === once;
      }),
    );
  });

  it('a body naming someone else than the token is refused (403), a variant of the same name is not', () => {
    const caller = { id: 'finance.wang', roles: [], merchantId: null };
    expect(() => assertActingAs(caller, 'Finance.Wang', 'by')).not.toThrow();
    expect(() => assertActingAs(caller, undefined, 'by')).not.toThrow();
    expect(() => assertActingAs(caller, 'finance.li', 'by')).toThrow(ApiError);
  });

  it('commands need their role; reads need finance.read, or merchant with a merchant claim where scoped', () => {
    const p = (roles: string[], merchantId: string | null = null) => ({ id: 'x', roles, merchantId });
    const approve = { kind: 'COMMAND', role: ROLE.approveSettlement, action: 'A' } as const;
    expect(decideAccess(approve, p([ROLE.approveSettlement])).allowed).toBe(true);
    expect(decideAccess(approve, p([ROLE.closeCycle, ROLE.financeRead])).allowed).toBe(false);
    const scoped = { kind: 'READ', merchantScoped: true } as const;
    const financeOnly = { kind: 'READ', merchantScoped: false } as const;
    expect(decideAccess(scoped, p([ROLE.merchant], 'M1'))).toEqual({ allowed: true, as: 'MERCHANT' });
    expect(decideAccess(scoped, p([ROLE.merchant])).allowed).toBe(false);
    expect(decideAccess(financeOnly, p([ROLE.merchant], 'M1')).allowed).toBe(false);
    expect(decideAccess(financeOnly, p([ROLE.financeRead])).allowed).toBe(true);
    expect(merchantScopeOf(p([ROLE.merchant], 'M1'))).toBe('M1');
    expect(merchantScopeOf(p([ROLE.financeRead, ROLE.merchant], 'M1'))).toBeNull();
  });
});
