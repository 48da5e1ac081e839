import { ROLE, type Role } from '@app/http';
import { SignJWT } from 'jose';

/**
 * Tokens for the people a test plays, signed with the run's HTTP_AUTH_JWT_SECRET (global set-up):
 * services booted by a test verify them exactly as production verifies the identity provider's.
 */
export async function tokenFor(
  sub: string,
  roles: readonly string[],
  options: { merchantId?: string; ttlSeconds?: number; secret?: string } = {},
): Promise<string> {
  const secret = options.secret ?? process.env.HTTP_AUTH_JWT_SECRET;
  if (secret === undefined)
    throw new Error('HTTP_AUTH_JWT_SECRET is not set (test/support/global-setup.mjs)');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    roles: [...roles],
    ...(options.merchantId === undefined ? {} : { merchant_id: options.merchantId }),
  })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.ttlSeconds ?? 300))
    .sign(new TextEncoder().encode(secret));
}

/** `{ authorization: 'Bearer …' }` for fetch headers. */
export async function authHeader(
  sub: string,
  roles: readonly string[],
  options: { merchantId?: string } = {},
): Promise<{ authorization: string }> {
  return { authorization: `Bearer ${await tokenFor(sub, roles, options)}` };
}

/** The people of the tests: staff with every staff role, finance readers, a merchant user. */
export const STAFF_ROLES: readonly Role[] = Object.values(ROLE).filter((role) => role !== ROLE.merchant);
export const PEOPLE = {
  operator: {
    sub: 'ops.zhang',
    roles: [ROLE.importStatement, ROLE.runMatch, ROLE.closeCycle, ROLE.financeRead],
  },
  approver: { sub: 'finance.wang', roles: [ROLE.approveSettlement, ROLE.financeRead] },
  approver2: { sub: 'finance.li', roles: [ROLE.approveSettlement, ROLE.financeRead] },
  /** Every staff role at once: for tests of something other than access itself. */
  staff: { sub: 'test.staff', roles: STAFF_ROLES },
} as const;
