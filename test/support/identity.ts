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

/**
 * A fetch that calls as a staff member holding every staff role: the person a JSON body names in
 * `by` or `actor` (so a test approving "as finance.li" calls with finance.li's token), otherwise
 * `test.staff`. For tests of something other than access; access itself is tested with tokens for
 * exact roles (access-control.int-spec.ts).
 */
export function staffFetch(defaultSub: string = PEOPLE.staff.sub): typeof fetch {
  return async (input, init = {}) => {
    let sub = defaultSub;
    if (typeof init.body === 'string') {
      try {
        const body = JSON.parse(init.body) as { by?: unknown; actor?: unknown };
        const named = body.by ?? body.actor;
        if (typeof named === 'string' && named !== '') sub = named;
      } catch {
        // not JSON: the default caller
      }
    }
    const headers = new Headers(init.headers);
    if (!headers.has('authorization'))
      headers.set('authorization', `Bearer ${await tokenFor(sub, STAFF_ROLES)}`);
    return fetch(input, { ...init, headers });
  };
}
