import type { ApprovalRefusalCode } from './settlement-approval.js';

export type SettlementApprovalErrorCode =
  | ApprovalRefusalCode
  | 'NOT_FOUND'
  /** The Idempotency-Key was already used for a different request. */
  | 'IDEMPOTENCY_CONFLICT'
  /** The record's currency has no threshold in settlement.approval_policy: configuration, not the caller. */
  | 'NO_APPROVAL_POLICY';

/**
 * An approval command that was not carried out, with a stable code (the HTTP edge maps it to a
 * status, the CLI prints it). Refusals `decide` returns are audited before they are thrown.
 */
export class SettlementApprovalError extends Error {
  override readonly name = 'SettlementApprovalError';

  constructor(
    readonly code: SettlementApprovalErrorCode,
    message: string,
  ) {
    super(message);
  }
}
