import { InvariantError, describeValue, invariant, isoInstantToEpochMillis } from '@app/contracts';
import type { SettlementRecordStatus } from '../approval/settlement-approval.js';

/**
 * The payout of one approved settlement record (代付): its attempts at the payout gateway and what
 * each answer the gateway sends back (settlement.payout-result.v1) does to the money. Pure: state
 * and an answer in, the next state and the effects out; the caller writes the state (with the
 * record's optimistic lock), the ledger entries and outbox rows in one transaction.
 *
 * The money rules (DESIGN §6, §7 invariant 4):
 * - POST_PAID: 2204 in transit → 1002 bank; RETURN_TO_SETTLEABLE: 2204 in transit → 2203
 *   settleable. Each happens at most once per record, never both, and exactly when the payout
 *   ends PAID or FAILED respectively.
 * - `attemptId` is the idempotency key the gateway passes to the bank. A new attempt (a new key)
 *   is started only after the bank said for certain that the previous one did NOT pay (a
 *   definitive failure); an unknown outcome (TIMEOUT: the bank may have paid and the answer was
 *   lost) is resolved by querying the gateway about the same attempt, never by paying again.
 * - A PAID answer is a fact about money the bank moved, so it is honoured whichever attempt it
 *   names, as long as this record's money has not moved yet. A FAILED answer only counts for the
 *   current attempt: for a superseded attempt it changes nothing (the attempt after it is what
 *   decides). Anything that contradicts money already moved (a second PAID, a PAID after the funds
 *   were returned) moves no money and is escalated to operations: the bank may have paid twice.
 * - Answers are judged in arrival order; their `at` is kept as evidence only (the gateway's clock
 *   is not ours).
 */

/**
 * Why a payout failed, as the gateway reports it. Which codes may be retried and which mean
 * "outcome unknown" is policy (PayoutRetryPolicy), not fixed here.
 */
export const PAYOUT_FAILURE_CODES = [
  /** The destination's inflow limit (Ⅱ类户 daily/yearly, or the bank's own). */
  'ACCOUNT_LIMIT_EXCEEDED',
  'ACCOUNT_CLOSED',
  'ACCOUNT_NOT_FOUND',
  /** Frozen by the bank or a court (冻结). */
  'ACCOUNT_FROZEN',
  /** The holder name does not match the account (户名不符). */
  'HOLDER_NAME_MISMATCH',
  /** The bank refused for now and did not pay: safe to try again with a new attempt. */
  'BANK_UNAVAILABLE',
  'RATE_LIMITED',
  /** No answer in time: the bank may or may not have paid. */
  'TIMEOUT',
] as const;
export type PayoutFailureCode = (typeof PAYOUT_FAILURE_CODES)[number];

export interface PayoutRetryPolicy {
  /** Attempts per record, the first included (1 = never retry). */
  maxAttempts: number;
  /** Failures that may be retried with a new attempt, when the gateway also flags them transient. */
  transientCodes: readonly PayoutFailureCode[];
  /** Failures that mean "we do not know whether the bank paid": query, never retry. */
  outcomeUnknownCodes: readonly PayoutFailureCode[];
}

/** A bound on retries however the policy is configured: past it, a person should look. */
export const PAYOUT_MAX_ATTEMPTS_LIMIT = 10;

/**
 * ACCOUNT_LIMIT_EXCEEDED is not retried: a daily limit frees up tomorrow, not in minutes, and the
 * funds are safer back in settleable, paid with the merchant's next record.
 */
export const DEFAULT_PAYOUT_RETRY_POLICY: PayoutRetryPolicy = Object.freeze({
  maxAttempts: 3,
  transientCodes: Object.freeze(['BANK_UNAVAILABLE', 'RATE_LIMITED'] as const),
  outcomeUnknownCodes: Object.freeze(['TIMEOUT'] as const),
});

/** @throws InvariantError when the policy cannot be applied (a configuration mistake caught at boot) */
export function assertPayoutRetryPolicy(policy: PayoutRetryPolicy): void {
  invariant(
    Number.isSafeInteger(policy.maxAttempts) &&
      policy.maxAttempts >= 1 &&
      policy.maxAttempts <= PAYOUT_MAX_ATTEMPTS_LIMIT,
    () =>
      `payout retry policy: maxAttempts must be an integer in 1..${PAYOUT_MAX_ATTEMPTS_LIMIT}, got ${describeValue(policy.maxAttempts)}`,
  );
  for (const code of [...policy.transientCodes, ...policy.outcomeUnknownCodes]) {
    invariant(
      (PAYOUT_FAILURE_CODES as readonly unknown[]).includes(code),
      () => `payout retry policy: ${describeValue(code)} is not a payout failure code`,
    );
  }
  const both = policy.transientCodes.filter((code) => policy.outcomeUnknownCodes.includes(code));
  invariant(
    both.length === 0,
    () =>
      `payout retry policy: ${both.join(', ')} cannot be both retryable and outcome-unknown: retrying an unknown outcome could pay twice`,
  );
}

/** A payout answer as settlement.payout-result.v1 carries it. */
export interface PayoutResult {
  attemptId: string;
  status: 'PAID' | 'FAILED';
  /** Present exactly when FAILED. */
  failure?: { code: PayoutFailureCode; transient: boolean; message?: string };
  at: string;
}

/** One distinct answer the gateway gave for an attempt. */
export interface PayoutAnswer {
  status: 'PAID' | 'FAILED';
  code: PayoutFailureCode | null;
  transient: boolean;
  /** The gateway's own words, kept for the auditor; not part of what makes two answers the same. */
  message: string | null;
  at: string;
}

export interface PayoutAttempt {
  /** The idempotency key sent to the gateway; unique within the record (a UUID in practice). */
  attemptId: string;
  /** 1-based. */
  number: number;
  requestedAt: string;
  /** Every distinct answer for this attempt, in arrival order: the evidence an auditor reads. */
  answers: readonly PayoutAnswer[];
}

/**
 * - IN_FLIGHT: the current attempt was sent; no answer yet.
 * - OUTCOME_UNKNOWN: the current attempt's answer was lost; the caller queries the gateway (with
 *   backoff, and alerts if it stays unknown) until a definitive answer for the SAME attempt arrives.
 * - RETRY_SCHEDULED: the current attempt definitively failed with a retryable code; the caller
 *   starts the next attempt after its backoff with `startNextAttempt`, which refuses if a late
 *   PAID has arrived in between.
 * - PAID, FAILED: final; the money has moved (to the bank, or back to settleable).
 */
export const PAYOUT_STATUSES = ['IN_FLIGHT', 'OUTCOME_UNKNOWN', 'RETRY_SCHEDULED', 'PAID', 'FAILED'] as const;
export type PayoutStatus = (typeof PAYOUT_STATUSES)[number];

export interface PayoutState {
  recordId: string;
  status: PayoutStatus;
  /** Oldest first, never empty; the last is the current attempt. */
  attempts: readonly PayoutAttempt[];
  /** The attempt whose PAID was posted, once PAID. */
  paidByAttemptId: string | null;
  /** Why the funds went back to settleable, once FAILED. */
  failure: { attemptId: string; code: PayoutFailureCode; message: string } | null;
}

/**
 * - POST_PAID: journal 2204 → 1002; RETURN_TO_SETTLEABLE: journal 2204 → 2203;
 * - RETRY: schedule `startNextAttempt` (the new attempt's outbox row is written then, not now);
 * - QUERY_GATEWAY: ask the gateway about the current attempt; its answer comes back through
 *   `applyPayoutResult` like any other;
 * - ESCALATE: tell operations; `note` says why. Never moves money by itself.
 */
export type PayoutEffect = 'POST_PAID' | 'RETURN_TO_SETTLEABLE' | 'RETRY' | 'QUERY_GATEWAY' | 'ESCALATE';

/**
 * - APPLIED: the answer counted;
 * - DUPLICATE: this attempt already gave this very answer (redelivery); nothing changes at all;
 * - STALE: a new answer that no longer matters (a superseded attempt's failure, a failure after the
 *   money moved, a lost answer after a definitive one); only recorded as evidence;
 * - ANOMALY: the answer contradicts what the bank already told us, or names an attempt this record
 *   never made; no money moves, operations are told.
 */
export type PayoutResultOutcome = 'APPLIED' | 'DUPLICATE' | 'STALE' | 'ANOMALY';

export interface PayoutStep {
  state: PayoutState;
  effects: readonly PayoutEffect[];
  outcome: PayoutResultOutcome;
  /** One line for the audit trail and logs. */
  note: string;
}

export type StartNextAttempt =
  { ok: true; state: PayoutState } | { ok: false; code: 'NOT_AWAITING_RETRY'; message: string };

function assertInstant(value: unknown, field: string): void {
  try {
    isoInstantToEpochMillis(value);
  } catch (error) {
    throw new InvariantError(`${field}: ${(error as Error).message}`);
  }
}

function assertId(value: unknown, field: string): void {
  invariant(
    typeof value === 'string' && value.trim() !== '',
    () => `${field} must be a non-empty id, got ${describeValue(value)}`,
  );
}

/** The payout state when an approved record's first attempt is requested (its outbox row written). */
export function startPayout(recordId: string, attemptId: string, at: string): PayoutState {
  assertId(recordId, 'recordId');
  assertId(attemptId, 'attemptId');
  assertInstant(at, 'at');
  return {
    recordId,
    status: 'IN_FLIGHT',
    attempts: [{ attemptId, number: 1, requestedAt: at, answers: [] }],
    paidByAttemptId: null,
    failure: null,
  };
}

/**
 * Starts the next attempt when a retry is due. Refused unless the payout is RETRY_SCHEDULED: the
 * retry timer may fire after a late PAID (the bank did pay), and then nothing must be sent.
 * @throws InvariantError when `attemptId` was used before by this record (one request per attempt id)
 */
export function startNextAttempt(state: PayoutState, attemptId: string, at: string): StartNextAttempt {
  assertState(state);
  assertId(attemptId, 'attemptId');
  assertInstant(at, 'at');
  if (state.status !== 'RETRY_SCHEDULED') {
    return {
      ok: false,
      code: 'NOT_AWAITING_RETRY',
      message: `payout of record ${state.recordId} is ${state.status}; a new attempt is started only when a retry is scheduled`,
    };
  }
  invariant(
    state.attempts.every((attempt) => attempt.attemptId !== attemptId),
    () =>
      `attempt id ${attemptId} was already used by record ${state.recordId}: one payout request per attempt id`,
  );
  // RETRY is only scheduled below the policy's maxAttempts (applyPayoutResult), itself capped; the
  // pair assertion of that rule. (Not the policy itself: lowering it must not break a scheduled retry.)
  invariant(
    state.attempts.length < PAYOUT_MAX_ATTEMPTS_LIMIT,
    () =>
      `record ${state.recordId} already has ${state.attempts.length} attempts, the most any policy allows`,
  );
  return {
    ok: true,
    state: {
      ...state,
      status: 'IN_FLIGHT',
      attempts: [
        ...state.attempts,
        { attemptId, number: state.attempts.length + 1, requestedAt: at, answers: [] },
      ],
    },
  };
}

/** The settlement record's status while the payout is in this state. */
export function recordStatusOf(state: PayoutState): SettlementRecordStatus {
  switch (state.status) {
    case 'PAID':
      return 'PAID';
    case 'FAILED':
      return 'PAYOUT_FAILED';
    default:
      return 'PAYOUT_REQUESTED';
  }
}

function currentAttempt(state: PayoutState): PayoutAttempt {
  const current = state.attempts.at(-1);
  invariant(current !== undefined, () => `payout of record ${state.recordId} has no attempt`);
  return current;
}

function assertState(state: PayoutState): void {
  invariant(
    (PAYOUT_STATUSES as readonly unknown[]).includes(state.status),
    () => `payout status ${describeValue(state.status)} is not one of ${PAYOUT_STATUSES.join(', ')}`,
  );
  invariant(state.attempts.length > 0, () => `payout of record ${state.recordId} has no attempt`);
  invariant(
    (state.status === 'PAID') === (state.paidByAttemptId !== null) &&
      (state.status === 'FAILED') === (state.failure !== null),
    () => `payout of record ${state.recordId} is ${state.status} but its paid/failure fields disagree`,
  );
}

function assertResult(result: PayoutResult): void {
  assertId(result.attemptId, 'result.attemptId');
  assertInstant(result.at, 'result.at');
  if (result.status === 'PAID') {
    invariant(result.failure === undefined, () => `a PAID result for ${result.attemptId} carries a failure`);
    return;
  }
  invariant(
    result.status === 'FAILED',
    () => `result.status must be PAID or FAILED, got ${describeValue(result.status)}`,
  );
  invariant(
    result.failure !== undefined &&
      (PAYOUT_FAILURE_CODES as readonly unknown[]).includes(result.failure.code) &&
      typeof result.failure.transient === 'boolean',
    () => `a FAILED result for ${result.attemptId} needs a known failure code and a transient flag`,
  );
}

function sameAnswer(a: PayoutAnswer, b: PayoutAnswer): boolean {
  return a.status === b.status && a.code === b.code && a.transient === b.transient;
}

function isDefinitive(answer: PayoutAnswer, policy: PayoutRetryPolicy): boolean {
  return answer.status === 'PAID' || !policy.outcomeUnknownCodes.includes(answer.code!);
}

/**
 * Applies one gateway answer to a record's payout. See the module comment for the rules; in short,
 * for an answer about attempt A (current attempt C, payout status S):
 * - A unknown to this record: ANOMALY, ESCALATE.
 * - A already gave this answer: DUPLICATE, nothing.
 * - PAID, money not moved yet (S is IN_FLIGHT, OUTCOME_UNKNOWN or RETRY_SCHEDULED): → PAID,
 *   POST_PAID; when A ≠ C and C may still pay (IN_FLIGHT/OUTCOME_UNKNOWN), ESCALATE too.
 *   PAID when S is PAID (by another attempt) or FAILED: ANOMALY, ESCALATE, no money.
 * - FAILED when S is PAID or FAILED, or A ≠ C: STALE.
 * - FAILED with an outcome-unknown code (TIMEOUT) on C: IN_FLIGHT → OUTCOME_UNKNOWN, QUERY_GATEWAY
 *   once; STALE when C already has a definitive answer (a lost answer never overrides a known one).
 * - FAILED, retryable (gateway says transient and the code is in transientCodes): → RETRY_SCHEDULED,
 *   RETRY while attempts < maxAttempts; on the last attempt → FAILED, RETURN_TO_SETTLEABLE.
 * - FAILED otherwise (permanent): → FAILED, RETURN_TO_SETTLEABLE.
 * @throws InvariantError when the state, result or policy is malformed
 */
export function applyPayoutResult(
  state: PayoutState,
  result: PayoutResult,
  policy: PayoutRetryPolicy,
): PayoutStep {
  assertState(state);
  assertResult(result);
  assertPayoutRetryPolicy(policy);
  const record = `record ${state.recordId}`;
  const attempt = state.attempts.find((a) => a.attemptId === result.attemptId);
  if (attempt === undefined) {
    return {
      state,
      effects: ['ESCALATE'],
      outcome: 'ANOMALY',
      note: `${result.status} for attempt ${result.attemptId}, which ${record} never requested: nothing moved; check what the bank did`,
    };
  }
  const answer: PayoutAnswer = {
    status: result.status,
    code: result.failure?.code ?? null,
    transient: result.failure?.transient ?? false,
    message: result.failure?.message ?? null,
    at: result.at,
  };
  const label = `attempt ${attempt.number} (${attempt.attemptId}) of ${record}`;
  const said = answer.status === 'PAID' ? 'PAID' : `FAILED ${answer.code}`;
  if (attempt.answers.some((seen) => sameAnswer(seen, answer))) {
    return { state, effects: [], outcome: 'DUPLICATE', note: `${said} for ${label} again: already applied` };
  }

  const current = currentAttempt(state);
  const isCurrent = attempt === current;
  const hadDefinitive = attempt.answers.some((seen) => isDefinitive(seen, policy));
  const recorded: PayoutState = {
    ...state,
    attempts: state.attempts.map((a) => (a === attempt ? { ...a, answers: [...a.answers, answer] } : a)),
  };
  const step = (
    outcome: PayoutResultOutcome,
    effects: readonly PayoutEffect[],
    note: string,
    change: Partial<PayoutState> = {},
  ): PayoutStep => ({
    state: { ...recorded, ...change },
    effects,
    outcome,
    note: `${said} for ${label}: ${note}`,
  });

  if (answer.status === 'PAID') {
    switch (state.status) {
      case 'PAID':
        return step(
          'ANOMALY',
          ['ESCALATE'],
          `already paid by attempt ${state.paidByAttemptId}; the bank may have paid twice: recover the second payment`,
        );
      case 'FAILED':
        return step(
          'ANOMALY',
          ['ESCALATE'],
          `the funds were already returned to settleable (${state.failure!.code}); the bank contradicts itself: correct by hand`,
        );
      default: {
        const currentMayPay =
          !isCurrent && (state.status === 'IN_FLIGHT' || state.status === 'OUTCOME_UNKNOWN');
        return step(
          'APPLIED',
          currentMayPay ? ['POST_PAID', 'ESCALATE'] : ['POST_PAID'],
          currentMayPay
            ? `paid; attempt ${current.number} is still open and may pay too: watch it`
            : state.status === 'RETRY_SCHEDULED'
              ? 'paid after all (the earlier failure was wrong or late); the scheduled retry is cancelled'
              : 'paid',
          { status: 'PAID', paidByAttemptId: attempt.attemptId },
        );
      }
    }
  }

  const code = answer.code!;
  if (state.status === 'PAID' || state.status === 'FAILED') {
    return step('STALE', [], `the payout is already ${state.status}; nothing changes`);
  }
  if (!isCurrent) {
    return step('STALE', [], `superseded by attempt ${current.number}; nothing changes`);
  }
  if (policy.outcomeUnknownCodes.includes(code)) {
    if (hadDefinitive) {
      return step('STALE', [], 'a lost answer after a definitive one; nothing changes');
    }
    if (state.status === 'IN_FLIGHT') {
      return step(
        'APPLIED',
        ['QUERY_GATEWAY'],
        'outcome unknown (the bank may have paid); query the gateway, do not pay again',
        { status: 'OUTCOME_UNKNOWN' },
      );
    }
    return step('APPLIED', [], 'outcome still unknown; keep querying');
  }

  const failure = (why: string) => ({ attemptId: attempt.attemptId, code, message: why });
  if (answer.transient && policy.transientCodes.includes(code)) {
    if (state.status === 'RETRY_SCHEDULED') {
      return step('APPLIED', [], 'a retry is already scheduled');
    }
    if (state.attempts.length < policy.maxAttempts) {
      return step(
        'APPLIED',
        ['RETRY'],
        `not paid; retry as attempt ${state.attempts.length + 1} of ${policy.maxAttempts}`,
        { status: 'RETRY_SCHEDULED' },
      );
    }
    const why = `not paid on the last of ${policy.maxAttempts} attempts; funds return to settleable`;
    return step('APPLIED', ['RETURN_TO_SETTLEABLE'], why, { status: 'FAILED', failure: failure(why) });
  }
  const why = `not paid and not retryable${result.failure?.message === undefined ? '' : ` (${result.failure.message})`}; funds return to settleable`;
  return step('APPLIED', ['RETURN_TO_SETTLEABLE'], why, { status: 'FAILED', failure: failure(why) });
}
