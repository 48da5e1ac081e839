import { Money, parseDecimalString, principalKey } from '@app/contracts';
import { adjustmentPlanOf, type AdjustmentPlan } from './adjustment.js';
import type {
  Discrepancy,
  DiscrepancyErrorCode,
  PendingAdjustment,
  PendingPosting,
} from './discrepancy.types.js';

/**
 * Whether an adjustment posts now or waits for a second person (双人复核, issue 15, ADR 007
 * addendum; the principles of ADR 010's maker-checker), as one pure function: a discrepancy, a
 * command and the currency's policy in, a decision out. No clock, no storage: the service loads
 * the discrepancy under a row lock, decides, and does the writes of the decision in the same
 * transaction (a refusal is appended to discrepancy_history and then thrown).
 *
 * - ADJUST: an adjustment whose amount (adjustment.ts: what it moves between us and the channel)
 *   is at or below the threshold posts at once, as it always did; strictly above, nothing is
 *   posted: the adjustment is PROPOSED and the discrepancy stays OPEN with it pending.
 * - CONFIRM: a person other than the proposer (compared under principalKey: NFKC + lower case)
 *   posts exactly what was proposed, provided the discrepancy still plans the same adjustment (a
 *   match run may have reclassified the item or changed an amount since: nobody confirms a figure
 *   they have not seen).
 * - REJECT: anyone holding the role, the proposer included (withdrawing moves no money), with a
 *   reason; the discrepancy is plain OPEN again.
 * - WRITE_OFF: not while an adjustment is pending (it would silently drop the proposal).
 */

export interface AdjustmentPolicy {
  /**
   * A decimal string in the discrepancy's currency: an adjustment whose amount is strictly above
   * it needs a second person. Read from reconciliation.adjustment_policy when the command is decided.
   */
  confirmationAbove: string;
}

/** A currency without a policy: every adjustment needs a second person (fail closed, not open). */
export const NO_POLICY: AdjustmentPolicy = { confirmationAbove: '0' };

export type AdjustmentCommand =
  | { kind: 'ADJUST'; by: string }
  | { kind: 'WRITE_OFF'; by: string }
  | { kind: 'CONFIRM'; by: string }
  | { kind: 'REJECT'; by: string };

export type AdjustmentDecision =
  /** Post the plan now (an ADJUST at or below the threshold, or a confirmation). */
  | {
      kind: 'POST';
      plan: AdjustmentPlan;
      /** The pending proposal this confirms; null for an ADJUST that needed nobody else. */
      confirms: PendingAdjustment | null;
    }
  /** Record the proposal; post nothing. */
  | { kind: 'PROPOSE'; plan: AdjustmentPlan; amount: string; confirmationAbove: string }
  /** Close with a reason, no entry. */
  | { kind: 'WRITE_OFF' }
  /** Drop the pending proposal; the discrepancy is plain OPEN again. */
  | { kind: 'REJECT'; rejects: PendingAdjustment }
  | { kind: 'REFUSE'; code: DiscrepancyErrorCode; message: string };

/** Whether an adjustment of `amount` needs a second person under `policy`: exact decimals only. */
export function needsConfirmation(amount: string, currency: string, policy: AdjustmentPolicy): boolean {
  return Money.of(amount, currency).toDecimal().greaterThan(parseDecimalString(policy.confirmationAbove));
}

/** The plan as the API shows it: the same fields a confirmation compares. */
export function pendingPostingsOf(plan: AdjustmentPlan): PendingPosting[] {
  if (plan.kind === 'REVERSE_T_DAY_ENTRY') return [];
  return plan.postings.map((p) => ({
    account: p.account.owner === undefined ? p.account.template : `${p.account.template}:${p.account.owner}`,
    side: p.side,
    amount: p.amount,
  }));
}

/**
 * Decides one command against a discrepancy (its pendingAdjustment included). Pure: the same
 * inputs give the same decision. `policy` is the currency's, or null when it has none.
 * @throws DiscrepancyError (INVALID_REQUEST) when an ADJUST cannot apply to the discrepancy at all
 */
export function decideAdjustment(
  discrepancy: Discrepancy,
  command: AdjustmentCommand,
  policy: AdjustmentPolicy | null,
): AdjustmentDecision {
  const refuse = (code: DiscrepancyErrorCode, message: string): AdjustmentDecision => ({
    kind: 'REFUSE',
    code,
    message,
  });
  const d = discrepancy;
  const pending = d.pendingAdjustment;
  if (d.status === 'RESOLVED')
    return refuse(
      'DISCREPANCY.ALREADY_RESOLVED',
      `discrepancy ${d.id} was already resolved (${d.resolution}) by ${d.resolvedBy} at ${d.resolvedAt}`,
    );

  switch (command.kind) {
    case 'ADJUST':
    case 'WRITE_OFF': {
      if (pending !== null)
        return refuse(
          'DISCREPANCY.ADJUSTMENT_PENDING',
          `discrepancy ${d.id} has an adjustment of ${pending.amount} ${pending.currency} proposed by ${pending.proposedBy} waiting for a second person: confirm or reject it first`,
        );
      if (command.kind === 'WRITE_OFF') return { kind: 'WRITE_OFF' };
      const plan = adjustmentPlanOf(d);
      const effective = policy ?? NO_POLICY;
      if (!needsConfirmation(plan.amount, d.currency, effective))
        return { kind: 'POST', plan, confirms: null };
      return {
        kind: 'PROPOSE',
        plan,
        amount: plan.amount,
        confirmationAbove: effective.confirmationAbove,
      };
    }
    case 'CONFIRM':
    case 'REJECT': {
      const verb = command.kind === 'CONFIRM' ? 'confirm' : 'reject';
      if (pending === null)
        return refuse(
          'DISCREPANCY.NO_PENDING_ADJUSTMENT',
          `discrepancy ${d.id} has no adjustment waiting for confirmation; nothing to ${verb}`,
        );
      if (command.kind === 'REJECT') return { kind: 'REJECT', rejects: pending };
      // The maker is not the checker, whatever roles the token holds; compared under the one
      // normalisation, so a case or width variant of the proposer is the proposer.
      if (principalKey(command.by) === principalKey(pending.proposedBy))
        return refuse(
          'DISCREPANCY.SELF_CONFIRMATION',
          `${command.by} proposed this adjustment and cannot confirm it: another person holding recon.resolve must (or reject it to withdraw)`,
        );
      const stale = staleness(d, pending);
      if (stale !== null)
        return refuse(
          'DISCREPANCY.ADJUSTMENT_STALE',
          `discrepancy ${d.id} changed since ${pending.proposedBy} proposed the adjustment (${stale}); reject it and propose again`,
        );
      return { kind: 'POST', plan: adjustmentPlanOf(d), confirms: pending };
    }
  }
}

/** Why the discrepancy no longer plans what was proposed, or null when it still does. */
function staleness(d: Discrepancy, pending: PendingAdjustment): string | null {
  if (d.class !== pending.class) return `class ${pending.class} → ${d.class}`;
  let plan: AdjustmentPlan;
  try {
    plan = adjustmentPlanOf(d);
  } catch (error) {
    return `it can no longer be adjusted: ${(error as Error).message}`;
  }
  if (plan.kind !== pending.effect) return `effect ${pending.effect} → ${plan.kind}`;
  if (!Money.of(plan.amount, d.currency).equals(Money.of(pending.amount, pending.currency)))
    return `amount ${pending.amount} → ${plan.amount} ${d.currency}`;
  const postings = pendingPostingsOf(plan);
  const same =
    postings.length === pending.postings.length &&
    postings.every((p, i) => {
      const q = pending.postings[i];
      return q !== undefined && p.account === q.account && p.side === q.side && p.amount === q.amount;
    });
  if (!same) return 'the postings differ';
  return null;
}
