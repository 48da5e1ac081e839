import {
  InvariantError,
  Money,
  describeValue,
  invariant,
  isoInstantToEpochMillis,
  principalKey,
} from '@app/contracts';

/**
 * Approval of settlement records by platform finance (结算审核, maker-checker / 复核), as pure
 * functions: a record and a command in, a transition or a refusal out, each with the audit entry
 * the caller appends. No clock, no storage: the caller supplies `at` and does the writes.
 *
 * How the caller uses `decide` (one command, one HTTP request with an Idempotency-Key, DESIGN §4):
 * 1. idempotency: a key already stored with the same request hash returns the stored first
 *    result (a refusal included); the same key with a different request is an error naming both;
 * 2. load the record (status, version, approvals, makers) and `decide`;
 * 3. TRANSITION: in ONE database transaction, `UPDATE … SET status, version = versionAfter,
 *    approvals WHERE id = $1 AND version = $expectedVersion`, append `auditEntry`, do the
 *    effects (REQUEST_PAYOUT: the payout state and the settlement.payout-requested.v1 outbox row;
 *    RETURN_TO_SETTLEABLE: the ledger entry 2204 in transit → 2203 settleable), store the
 *    idempotency result. If the UPDATE touched no row, someone else changed the record first:
 *    roll back, reload and `decide` again on the fresh record. That is how two concurrent
 *    approvals resolve to one outcome: the loser's second decision sees the winner's state (the
 *    second approval of a dual-approval record, or NOT_PENDING once it is decided).
 * 4. REFUSAL: append `auditEntry` (an INSERT only: it needs no lock and bumps no version, so a
 *    refused attempt is recorded even when it lost a race) and store the idempotency result.
 */

/**
 * The lifecycle of a settlement record. No state beyond the six the issue names was needed:
 * - a first approval of a record that needs two keeps it PENDING_APPROVAL (the approvals list
 *   says how far it got), so "partially approved" is not a state that could be paid by mistake;
 * - retries, a lost bank answer being queried, and the attempts themselves belong to the payout
 *   state (payout/payout-attempt.ts); the record stays PAYOUT_REQUESTED until the money moved
 *   one way or the other, so its status never claims more than the ledger does.
 */
export const SETTLEMENT_RECORD_STATUSES = [
  'PENDING_APPROVAL',
  'APPROVED',
  'REJECTED',
  'PAYOUT_REQUESTED',
  'PAID',
  'PAYOUT_FAILED',
] as const;
export type SettlementRecordStatus = (typeof SETTLEMENT_RECORD_STATUSES)[number];

/**
 * Every status change a record may make; anything else is a bug (pair assertion for the
 * repository, which checks it again before it writes).
 * - PENDING_APPROVAL → PENDING_APPROVAL: a first approval of two (version bumps, status stays).
 * - APPROVED: approved, payout not requested yet (the caller may hold it for the payout day of the
 *   business calendar); → PAYOUT_REQUESTED when the first attempt's outbox row is written, or
 *   → PAYOUT_FAILED when the payout is refused before anything is sent (a personal type-II
 *   account's inflow limit, payout/payout-account.ts): funds go back to settleable, or
 *   → PAID at once when the amount is zero: nothing to transfer (audited NO_PAYOUT_NEEDED).
 * - PAYOUT_REQUESTED → PAID | PAYOUT_FAILED: as the payout state decides.
 * - REJECTED, PAID, PAYOUT_FAILED are terminal. A failed payout's funds are back in settleable and
 *   are paid with the merchant's next settlement record, not by reviving this one.
 */
export const SETTLEMENT_RECORD_TRANSITIONS: Readonly<
  Record<SettlementRecordStatus, readonly SettlementRecordStatus[]>
> = {
  PENDING_APPROVAL: ['PENDING_APPROVAL', 'APPROVED', 'REJECTED'],
  APPROVED: ['PAYOUT_REQUESTED', 'PAYOUT_FAILED', 'PAID'],
  PAYOUT_REQUESTED: ['PAID', 'PAYOUT_FAILED'],
  REJECTED: [],
  PAID: [],
  PAYOUT_FAILED: [],
};

export function isTerminalRecordStatus(status: SettlementRecordStatus): boolean {
  return SETTLEMENT_RECORD_TRANSITIONS[status].length === 0;
}

/** @throws InvariantError when `from → to` is not in SETTLEMENT_RECORD_TRANSITIONS */
export function assertRecordTransition(from: SettlementRecordStatus, to: SettlementRecordStatus): void {
  const allowed = SETTLEMENT_RECORD_TRANSITIONS[from] as readonly string[] | undefined;
  invariant(
    allowed?.includes(to) === true,
    () => `settlement record cannot go from ${describeValue(from)} to ${describeValue(to)}`,
  );
}

/** A reason is free text for auditors; longer than this is a pasted document, not a reason. */
export const APPROVAL_REASON_MAX_CHARS = 500;

/** Approvals a record above `dualApprovalAbove` needs; at or below it, one is enough. */
export const DUAL_APPROVALS_REQUIRED = 2;

export interface Approval {
  /** The authenticated principal id (not a display name): makers and checkers compare on it exactly. */
  by: string;
  at: string;
}

/** What `decide` needs of a settlement record. */
export interface ApprovalRecord {
  status: SettlementRecordStatus;
  /** Optimistic lock: every applied transition bumps it by one. */
  version: number;
  /** Decimal string at the currency's scale: what the record pays the merchant. */
  amount: string;
  currency: string;
  /** The maker: who submitted the record for approval (a person, or the cycle-close job's principal). */
  submittedBy: string;
  /** Everyone who adjusted the record after submission: makers too. */
  adjustedBy: readonly string[];
  /**
   * Approvals given so far, oldest first. An adjustment changes what was approved, so whoever
   * adjusts a record must clear this list (and bump the version) in the same write.
   */
  approvals: readonly Approval[];
}

export type ApprovalAction = 'APPROVE' | 'REJECT';

export interface ApprovalCommand {
  kind: ApprovalAction;
  /** The authenticated principal issuing the command. */
  by: string;
  /** Required to reject (1..500 characters after trimming); optional to approve. */
  reason?: string;
  /** ISO-8601 instant with an offset, from the caller's clock. */
  at: string;
  /**
   * The version the approver looked at (HTTP If-Match). When given and the record has moved on
   * (an adjustment, another approval), the command is refused: nobody approves a figure they
   * have not seen. Omitted: the command applies to whatever the record is now.
   */
  expectedVersion?: number;
}

export interface ApprovalPolicy {
  /**
   * A decimal string in the record's currency: a record whose amount is strictly above it needs
   * two approvals by two different people. Evaluated when the command is decided, with the
   * policy in force then.
   */
  dualApprovalAbove: string;
}

export type ApprovalRefusalCode =
  | 'NOT_PENDING'
  | 'VERSION_CONFLICT'
  | 'SELF_APPROVAL'
  | 'SAME_APPROVER_TWICE'
  | 'REASON_REQUIRED'
  | 'REASON_TOO_LONG';

export type ApprovalEffect = 'REQUEST_PAYOUT' | 'RETURN_TO_SETTLEABLE';

/** One row of the append-only audit trail: applied transitions and refused attempts alike. */
export interface ApprovalAuditEntry {
  action: ApprovalAction;
  outcome: 'APPLIED' | 'REFUSED';
  by: string;
  at: string;
  from: SettlementRecordStatus;
  /** Equal to `from` for a refusal and for a first approval of two. */
  to: SettlementRecordStatus;
  /** Trimmed; null when none was given. */
  reason: string | null;
  refusalCode: ApprovalRefusalCode | null;
  /** Valid approvals after the action (for a refusal: as they stand), and how many the record needs. */
  approvals: number;
  approvalsRequired: number;
}

export interface ApprovalTransition {
  kind: 'TRANSITION';
  from: SettlementRecordStatus;
  to: SettlementRecordStatus;
  /** The version to write with `WHERE version = expectedVersion`. */
  expectedVersion: number;
  versionAfter: number;
  approvalsAfter: readonly Approval[];
  approvalsRequired: number;
  auditEntry: ApprovalAuditEntry;
  effects: readonly ApprovalEffect[];
}

export interface ApprovalRefusal {
  kind: 'REFUSAL';
  code: ApprovalRefusalCode;
  message: string;
  /** The caller appends it too: a refused attempt (a maker approving their own record) is evidence. */
  auditEntry: ApprovalAuditEntry;
}

export type ApprovalDecision = ApprovalTransition | ApprovalRefusal;

/** How many approvals a record of this amount needs under the policy. */
export function approvalsRequiredFor(amount: Money, policy: ApprovalPolicy): number {
  const threshold = Money.of(policy.dualApprovalAbove, amount.currency);
  return amount.greaterThan(threshold) ? DUAL_APPROVALS_REQUIRED : 1;
}

/**
 * Approvals that count: distinct people, none of them a maker. Someone who approved and later
 * adjusted the record became a maker; their approval no longer counts (an adjustment should
 * have cleared the list anyway; this keeps the rule true even if it did not).
 */
export function validApprovers(record: ApprovalRecord): string[] {
  const makers = makersOf(record);
  const seen = new Set<string>();
  return record.approvals
    .map((approval) => approval.by)
    .filter((by) => {
      const key = principalKey(by);
      if (makers.has(key) || seen.has(key)) return false;
      seen.add(key);
      return true;
    });
}

/** The makers under the one normalisation: `System:Cycle-Close` is `system:cycle-close`. */
function makersOf(record: ApprovalRecord): Set<string> {
  return new Set([record.submittedBy, ...record.adjustedBy].map(principalKey));
}

/** Code points, not UTF-16 units: a 500-character Chinese reason is 500 characters. */
function charCount(text: string): number {
  return [...text].length;
}

function assertPrincipal(value: unknown, field: string): void {
  invariant(
    typeof value === 'string' && value.trim() !== '',
    () => `${field} must be a non-empty principal id, got ${describeValue(value)}`,
  );
}

/** Stored data and the caller's own clock: a breach here is our bug, not the user's input. */
function assertWellFormed(record: ApprovalRecord, command: ApprovalCommand): void {
  invariant(
    (SETTLEMENT_RECORD_STATUSES as readonly unknown[]).includes(record.status),
    () => `record status ${describeValue(record.status)} is not a settlement record status`,
  );
  invariant(
    Number.isSafeInteger(record.version) && record.version >= 0,
    () => `record version must be an integer ≥ 0, got ${describeValue(record.version)}`,
  );
  assertPrincipal(record.submittedBy, 'record.submittedBy');
  record.adjustedBy.forEach((by, i) => assertPrincipal(by, `record.adjustedBy[${i}]`));
  const seen = new Set<string>();
  record.approvals.forEach((approval, i) => {
    assertPrincipal(approval.by, `record.approvals[${i}].by`);
    invariant(!seen.has(approval.by), () => `record.approvals lists ${approval.by} twice`);
    seen.add(approval.by);
  });
  invariant(
    command.kind === 'APPROVE' || command.kind === 'REJECT',
    () => `command.kind must be APPROVE or REJECT, got ${describeValue(command.kind)}`,
  );
  assertPrincipal(command.by, 'command.by');
  invariant(
    command.reason === undefined || typeof command.reason === 'string',
    () => `command.reason must be a string, got ${describeValue(command.reason)}`,
  );
  invariant(
    command.expectedVersion === undefined || Number.isSafeInteger(command.expectedVersion),
    () => `command.expectedVersion must be an integer, got ${describeValue(command.expectedVersion)}`,
  );
  try {
    isoInstantToEpochMillis(command.at);
  } catch (error) {
    throw new InvariantError(`command.at: ${(error as Error).message}`);
  }
}

/**
 * Decides one approval command against a record. Pure: the same inputs give the same decision,
 * and the inputs are not modified.
 *
 * Checks, in order (the first that fails is the refusal):
 * - the record must be PENDING_APPROVAL (NOT_PENDING; terminal records refuse everything);
 * - `expectedVersion`, when given, must be the record's version (VERSION_CONFLICT);
 * - a reason longer than 500 characters (REASON_TOO_LONG); a REJECT without one (REASON_REQUIRED);
 * - APPROVE: the submitter or an adjuster may not approve (SELF_APPROVAL); nobody approves twice
 *   (SAME_APPROVER_TWICE).
 * A REJECT may come from anyone but a checker's rule: the issue restricts approval only, and a
 * maker withdrawing a record they got wrong moves no money out (the amount returns to settleable).
 * @throws InvariantError when the record or command is malformed (a bug upstream, not user input)
 * @throws MoneyError when the record's amount or the policy's threshold is not money in its currency
 */
export function decide(
  record: ApprovalRecord,
  command: ApprovalCommand,
  policy: ApprovalPolicy,
): ApprovalDecision {
  assertWellFormed(record, command);
  const amount = Money.of(record.amount, record.currency);
  const required = approvalsRequiredFor(amount, policy);
  const approvers = validApprovers(record);
  const trimmed = command.reason?.trim() ?? '';
  const reason = trimmed === '' ? null : trimmed;
  const from = record.status;

  const refuse = (code: ApprovalRefusalCode, message: string): ApprovalRefusal => ({
    kind: 'REFUSAL',
    code,
    message,
    auditEntry: {
      action: command.kind,
      outcome: 'REFUSED',
      by: command.by,
      at: command.at,
      from,
      to: from,
      reason,
      refusalCode: code,
      approvals: approvers.length,
      approvalsRequired: required,
    },
  });
  const verb = command.kind === 'APPROVE' ? 'approve' : 'reject';

  if (from !== 'PENDING_APPROVAL') {
    const why = isTerminalRecordStatus(from) ? `is ${from}, a final state` : `is already ${from}`;
    return refuse(
      'NOT_PENDING',
      `cannot ${verb}: the settlement record ${why}; only PENDING_APPROVAL can be`,
    );
  }
  if (command.expectedVersion !== undefined && command.expectedVersion !== record.version) {
    return refuse(
      'VERSION_CONFLICT',
      `cannot ${verb}: the record changed since version ${command.expectedVersion} (now version ${record.version}); reload it and decide again`,
    );
  }
  if (reason !== null && charCount(reason) > APPROVAL_REASON_MAX_CHARS) {
    return refuse(
      'REASON_TOO_LONG',
      `the reason has ${charCount(reason)} characters; at most ${APPROVAL_REASON_MAX_CHARS} are allowed`,
    );
  }

  if (command.kind === 'REJECT') {
    if (reason === null) {
      return refuse('REASON_REQUIRED', 'a rejection needs a reason (1 to 500 characters)');
    }
    return transition(record, command, 'REJECTED', reason, record.approvals, approvers.length, required, [
      'RETURN_TO_SETTLEABLE',
    ]);
  }

  // Compared under the one normalisation (NFKC + lower case): a case or width variant of a maker
  // is the maker.
  const caller = principalKey(command.by);
  if (caller === principalKey(record.submittedBy)) {
    return refuse(
      'SELF_APPROVAL',
      `${command.by} submitted this settlement record and cannot approve it (maker-checker: another person must)`,
    );
  }
  if (record.adjustedBy.some((by) => principalKey(by) === caller)) {
    return refuse(
      'SELF_APPROVAL',
      `${command.by} adjusted this settlement record and cannot approve it (maker-checker: another person must)`,
    );
  }
  if (record.approvals.some((approval) => principalKey(approval.by) === caller)) {
    return refuse(
      'SAME_APPROVER_TWICE',
      `${command.by} has already approved this settlement record (${approvers.length} of ${required} approvals); the next approval must come from someone else`,
    );
  }

  const approvalsAfter = [...record.approvals, { by: command.by, at: command.at }];
  const countAfter = approvers.length + 1;
  const approved = countAfter >= required;
  return transition(
    record,
    command,
    approved ? 'APPROVED' : 'PENDING_APPROVAL',
    reason,
    approvalsAfter,
    countAfter,
    required,
    approved ? ['REQUEST_PAYOUT'] : [],
  );
}

function transition(
  record: ApprovalRecord,
  command: ApprovalCommand,
  to: SettlementRecordStatus,
  reason: string | null,
  approvalsAfter: readonly Approval[],
  approvalCount: number,
  approvalsRequired: number,
  effects: readonly ApprovalEffect[],
): ApprovalTransition {
  assertRecordTransition(record.status, to);
  return {
    kind: 'TRANSITION',
    from: record.status,
    to,
    expectedVersion: record.version,
    versionAfter: record.version + 1,
    approvalsAfter,
    approvalsRequired,
    auditEntry: {
      action: command.kind,
      outcome: 'APPLIED',
      by: command.by,
      at: command.at,
      from: record.status,
      to,
      reason,
      refusalCode: null,
      approvals: approvalCount,
      approvalsRequired,
    },
    effects,
  };
}
