/**
 * Who may do what: the roles a token carries, the principal it names, and the one normalisation
 * under which two spellings of a principal are the same person. Pure: no framework, no I/O.
 */

/**
 * The roles of the platform, as the identity provider puts them in a token's roles claim. A
 * command needs exactly one of them; reads need FINANCE_READ, or MERCHANT scoped to the token's
 * merchant. Segregation of duties: an operator who closes cycles is not an approver, and nobody
 * approves what they made, whatever roles their token holds (maker-checker, ADR 010/011).
 */
export const ROLE = {
  /** Platform finance reads everything: records, reports, discrepancies, fee rules. */
  financeRead: 'finance.read',
  /** A merchant user: reads its own merchant's records, statements and payouts only. */
  merchant: 'merchant',
  /** Upload a channel statement (对账单导入) for a day that has none yet. */
  importStatement: 'recon.import',
  /** Upload a corrected statement that supersedes an imported one: rarer, and more dangerous. */
  replaceStatement: 'recon.statement-replace',
  /** Start a match run (对账) of a channel's business date. */
  runMatch: 'recon.match',
  /** Resolve a discrepancy (差错处理), or confirm another person's large adjustment. */
  resolveDiscrepancy: 'recon.resolve',
  /** Add a fee rule version (费率配置). */
  manageFeeRules: 'clearing.fee-rules',
  /** Close the cycles of a date (结算日终). */
  closeCycle: 'settlement.close',
  /** Approve or reject a settlement record (结算审核). */
  approveSettlement: 'settlement.approve',
  /** Retry the payout of a failed record (重新发起代付). */
  retryPayout: 'settlement.payout-retry',
} as const;
export type Role = (typeof ROLE)[keyof typeof ROLE];
export const ALL_ROLES: readonly Role[] = Object.values(ROLE);

/**
 * An authenticated caller. `id` is normalised (normalizePrincipal): maker-checker compares ids
 * with ===, and the audit trail records them as they are compared.
 */
export interface Principal {
  id: string;
  roles: readonly string[];
  /** The merchant a MERCHANT-role token is scoped to (its merchant claim); null for staff. */
  merchantId: string | null;
}

export { normalizePrincipal, principalKey } from '@app/contracts';

/** A roles claim as identity providers write it: an array of names, or one space-separated string. */
export function rolesOfClaim(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.filter((r): r is string => typeof r === 'string');
  if (typeof claim === 'string') return claim.split(' ').filter((r) => r !== '');
  return [];
}

/** The access a route declares; every route declares one (checked at boot and by a test). */
export type AccessRule =
  /** Anyone, no token: liveness/readiness, the API description. */
  | { kind: 'PUBLIC' }
  /** A state change: the role, and the action's name in the audit trail. */
  | { kind: 'COMMAND'; role: Role; action: string }
  /**
   * A read: FINANCE_READ, or (merchantScoped) MERCHANT with a merchant claim; the handler then
   * answers only what belongs to that merchant, and 404 for anything else.
   */
  | { kind: 'READ'; merchantScoped: boolean };

export type AccessDecision =
  { allowed: true; as: 'PUBLIC' | 'ROLE' | 'FINANCE' | 'MERCHANT' } | { allowed: false; reason: string };

/** Whether an authenticated principal passes a route's rule (authentication is decided before). */
export function decideAccess(rule: AccessRule, principal: Principal): AccessDecision {
  switch (rule.kind) {
    case 'PUBLIC':
      return { allowed: true, as: 'PUBLIC' };
    case 'COMMAND':
      return principal.roles.includes(rule.role)
        ? { allowed: true, as: 'ROLE' }
        : { allowed: false, reason: `${principal.id} lacks the role ${rule.role} needed for this command` };
    case 'READ':
      if (principal.roles.includes(ROLE.financeRead)) return { allowed: true, as: 'FINANCE' };
      if (rule.merchantScoped && principal.roles.includes(ROLE.merchant) && principal.merchantId !== null)
        return { allowed: true, as: 'MERCHANT' };
      return {
        allowed: false,
        reason: rule.merchantScoped
          ? `${principal.id} needs the role ${ROLE.financeRead}, or ${ROLE.merchant} with a merchant claim, to read this`
          : `${principal.id} needs the role ${ROLE.financeRead} to read this`,
      };
  }
}

/**
 * The merchant a read is limited to: null for finance (everything), the token's merchant for a
 * merchant user. A handler filters by it, and answers 404 for a resource of another merchant (a
 * 403 would confirm that the resource exists).
 */
export function merchantScopeOf(principal: Principal): string | null {
  return principal.roles.includes(ROLE.financeRead) ? null : principal.merchantId;
}
