import { describe, expect, it } from '@jest/globals';
import { InvariantError } from '@app/contracts';
import fc from 'fast-check';
import {
  DEFAULT_PAYOUT_RETRY_POLICY,
  PAYOUT_FAILURE_CODES,
  type PayoutEffect,
  type PayoutFailureCode,
  type PayoutResult,
  type PayoutRetryPolicy,
  type PayoutState,
  type PayoutStep,
  applyPayoutResult,
  assertPayoutRetryPolicy,
  recordStatusOf,
  startNextAttempt,
  startPayout,
} from './payout-attempt.js';

const T0 = '2026-11-27T09:00:00+08:00';
const T1 = '2026-11-27T09:00:05+08:00';
const T2 = '2026-11-27T09:05:00+08:00';
const policy = DEFAULT_PAYOUT_RETRY_POLICY; // 3 attempts; BANK_UNAVAILABLE, RATE_LIMITED retryable; TIMEOUT unknown

const paid = (attemptId: string, at = T1): PayoutResult => ({ attemptId, status: 'PAID', at });
const failed = (attemptId: string, code: PayoutFailureCode, transient: boolean, at = T1): PayoutResult => ({
  attemptId,
  status: 'FAILED',
  failure: { code, transient },
  at,
});

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

/** Applies results in order, collecting every effect, the way the consumer would. */
function applyAll(state: PayoutState, results: readonly PayoutResult[], p: PayoutRetryPolicy = policy) {
  const steps: PayoutStep[] = [];
  let s = state;
  for (const result of results) {
    const step = applyPayoutResult(deepFreeze(s), result, p);
    steps.push(step);
    s = step.state;
  }
  return { state: s, steps, effects: steps.flatMap((step) => step.effects) };
}

function retried(state: PayoutState, attemptId: string): PayoutState {
  const next = startNextAttempt(state, attemptId, T2);
  if (!next.ok) throw new Error(next.message);
  return next.state;
}

describe('applyPayoutResult: worked examples', () => {
  const start = startPayout('SR-1', 'a1', T0);

  it('PAID: posts in transit → bank once; the redelivered PAID changes nothing', () => {
    const first = applyPayoutResult(start, paid('a1'), policy);
    expect(first).toEqual({
      state: {
        recordId: 'SR-1',
        status: 'PAID',
        attempts: [
          {
            attemptId: 'a1',
            number: 1,
            requestedAt: T0,
            answers: [{ status: 'PAID', code: null, transient: false, message: null, at: T1 }],
          },
        ],
        paidByAttemptId: 'a1',
        failure: null,
      },
      effects: ['POST_PAID'],
      outcome: 'APPLIED',
      note: 'PAID for attempt 1 (a1) of record SR-1: paid',
    });
    expect(recordStatusOf(first.state)).toBe('PAID');
    const again = applyPayoutResult(first.state, paid('a1', T2), policy);
    expect(again).toEqual({
      state: first.state,
      effects: [],
      outcome: 'DUPLICATE',
      note: 'PAID for attempt 1 (a1) of record SR-1 again: already applied',
    });
  });

  it('TIMEOUT: the answer was lost → query the gateway; no new attempt until it answers; it had paid', () => {
    const lost = applyPayoutResult(start, failed('a1', 'TIMEOUT', true), policy);
    expect([lost.state.status, lost.effects, lost.outcome]).toEqual([
      'OUTCOME_UNKNOWN',
      ['QUERY_GATEWAY'],
      'APPLIED',
    ]);
    expect(lost.note).toBe(
      'FAILED TIMEOUT for attempt 1 (a1) of record SR-1: outcome unknown (the bank may have paid); query the gateway, do not pay again',
    );
    expect(recordStatusOf(lost.state)).toBe('PAYOUT_REQUESTED');
    expect(startNextAttempt(lost.state, 'a2', T2)).toEqual({
      ok: false,
      code: 'NOT_AWAITING_RETRY',
      message:
        'payout of record SR-1 is OUTCOME_UNKNOWN; a new attempt is started only when a retry is scheduled',
    });
    // The query loop's "still unknown" is the same answer again: no second query effect from here.
    expect(applyPayoutResult(lost.state, failed('a1', 'TIMEOUT', true, T2), policy).outcome).toBe(
      'DUPLICATE',
    );
    const answered = applyPayoutResult(lost.state, paid('a1', T2), policy);
    expect([answered.state.status, answered.effects]).toEqual(['PAID', ['POST_PAID']]);
  });

  it('TIMEOUT, then the query says the bank did not pay (BANK_UNAVAILABLE): now a retry is safe', () => {
    const { state, effects } = applyAll(start, [
      failed('a1', 'TIMEOUT', true),
      failed('a1', 'BANK_UNAVAILABLE', true, T2),
    ]);
    expect([state.status, effects]).toEqual(['RETRY_SCHEDULED', ['QUERY_GATEWAY', 'RETRY']]);
  });

  it('FAILED transient then PAID for the same attempt (late truth): POST_PAID once, never a retry afterwards', () => {
    const { state, effects, steps } = applyAll(start, [
      failed('a1', 'BANK_UNAVAILABLE', true),
      paid('a1', T2),
    ]);
    expect(effects).toEqual(['RETRY', 'POST_PAID']);
    expect(steps[1]!.note).toBe(
      'PAID for attempt 1 (a1) of record SR-1: paid after all (the earlier failure was wrong or late); the scheduled retry is cancelled',
    );
    expect(state.status).toBe('PAID');
    expect(startNextAttempt(state, 'a2', T2)).toMatchObject({
      ok: false,
      code: 'NOT_AWAITING_RETRY',
    });
    // Whatever else arrives for a1 now moves nothing.
    const after = applyAll(state, [failed('a1', 'BANK_UNAVAILABLE', true), failed('a1', 'TIMEOUT', true)]);
    expect(after.effects).toEqual([]);
    expect(after.steps.map((s) => s.outcome)).toEqual(['DUPLICATE', 'STALE']);
  });

  it('retry: attempt 2 pays; a1’s redelivered and late answers are stale', () => {
    const afterA1 = applyAll(start, [failed('a1', 'RATE_LIMITED', true)]).state;
    const a2 = retried(afterA1, 'a2');
    expect(a2.attempts.map((a) => [a.attemptId, a.number, a.requestedAt])).toEqual([
      ['a1', 1, T0],
      ['a2', 2, T2],
    ]);
    const { state, effects, steps } = applyAll(a2, [
      failed('a1', 'RATE_LIMITED', true),
      failed('a1', 'ACCOUNT_CLOSED', false),
      paid('a2', T2),
    ]);
    expect(steps.map((s) => s.outcome)).toEqual(['DUPLICATE', 'STALE', 'APPLIED']);
    expect(steps[1]!.note).toBe(
      'FAILED ACCOUNT_CLOSED for attempt 1 (a1) of record SR-1: superseded by attempt 2; nothing changes',
    );
    expect(effects).toEqual(['POST_PAID']);
    expect(state.paidByAttemptId).toBe('a2');
  });

  it('transient failures until maxAttempts: the last one returns the funds', () => {
    const p: PayoutRetryPolicy = { ...policy, maxAttempts: 2 };
    const s1 = applyAll(startPayout('SR-1', 'a1', T0), [failed('a1', 'BANK_UNAVAILABLE', true)], p);
    expect(s1.effects).toEqual(['RETRY']);
    const s2 = applyAll(retried(s1.state, 'a2'), [failed('a2', 'BANK_UNAVAILABLE', true)], p);
    expect(s2.effects).toEqual(['RETURN_TO_SETTLEABLE']);
    expect(s2.state.failure).toEqual({
      attemptId: 'a2',
      code: 'BANK_UNAVAILABLE',
      message: 'not paid on the last of 2 attempts; funds return to settleable',
    });
    expect(recordStatusOf(s2.state)).toBe('PAYOUT_FAILED');
  });

  it('maxAttempts 1 never retries', () => {
    const p: PayoutRetryPolicy = { ...policy, maxAttempts: 1 };
    expect(applyAll(startPayout('SR-1', 'a1', T0), [failed('a1', 'RATE_LIMITED', true)], p).effects).toEqual([
      'RETURN_TO_SETTLEABLE',
    ]);
  });

  it('permanent failure (account closed): funds back once; a later PAID is an anomaly that moves nothing', () => {
    const closed: PayoutResult = {
      attemptId: 'a1',
      status: 'FAILED',
      failure: { code: 'ACCOUNT_CLOSED', transient: false, message: '账户已销户' },
      at: T1,
    };
    const { state, steps, effects } = applyAll(start, [closed, closed, paid('a1', T2)]);
    expect(steps.map((s) => [s.outcome, s.effects])).toEqual([
      ['APPLIED', ['RETURN_TO_SETTLEABLE']],
      ['DUPLICATE', []],
      ['ANOMALY', ['ESCALATE']],
    ]);
    expect(effects.filter((e) => e === 'POST_PAID')).toEqual([]);
    expect(state.status).toBe('FAILED');
    expect(state.failure?.message).toBe(
      'not paid and not retryable (账户已销户); funds return to settleable',
    );
    expect(steps[2]!.note).toBe(
      'PAID for attempt 1 (a1) of record SR-1: the funds were already returned to settleable (ACCOUNT_CLOSED); the bank contradicts itself: correct by hand',
    );
    expect(state.attempts[0]!.answers.map((a) => a.status)).toEqual(['FAILED', 'PAID']); // evidence kept
  });

  it('the account limit is not retried by default', () => {
    expect(applyAll(start, [failed('a1', 'ACCOUNT_LIMIT_EXCEEDED', false)]).effects).toEqual([
      'RETURN_TO_SETTLEABLE',
    ]);
  });

  it('retry needs both: the gateway says transient AND the code is retryable by policy', () => {
    expect(applyAll(start, [failed('a1', 'BANK_UNAVAILABLE', false)]).effects).toEqual([
      'RETURN_TO_SETTLEABLE',
    ]);
    expect(applyAll(start, [failed('a1', 'ACCOUNT_FROZEN', true)]).effects).toEqual(['RETURN_TO_SETTLEABLE']);
  });

  it('TIMEOUT flagged permanent by the gateway is still an unknown outcome: query, not return', () => {
    expect(applyAll(start, [failed('a1', 'TIMEOUT', false)]).effects).toEqual(['QUERY_GATEWAY']);
  });

  it('a superseded attempt’s PAID is honoured while nothing moved, and escalated while the current one is open', () => {
    const a2 = retried(applyAll(start, [failed('a1', 'BANK_UNAVAILABLE', true)]).state, 'a2');
    const late = applyPayoutResult(a2, paid('a1', T2), policy);
    expect([late.state.status, late.state.paidByAttemptId, late.effects]).toEqual([
      'PAID',
      'a1',
      ['POST_PAID', 'ESCALATE'],
    ]);
    expect(late.note).toBe(
      'PAID for attempt 1 (a1) of record SR-1: paid; attempt 2 is still open and may pay too: watch it',
    );
    const twice = applyPayoutResult(late.state, paid('a2', T2), policy);
    expect([twice.outcome, twice.effects, twice.note]).toEqual([
      'ANOMALY',
      ['ESCALATE'],
      'PAID for attempt 2 (a2) of record SR-1: already paid by attempt a1; the bank may have paid twice: recover the second payment',
    ]);
    expect(applyPayoutResult(late.state, failed('a2', 'ACCOUNT_CLOSED', false), policy)).toMatchObject({
      outcome: 'STALE',
      effects: [],
    });
  });

  it('an attempt the record never made: escalated, state untouched', () => {
    const step = applyPayoutResult(start, paid('zz'), policy);
    expect(step).toEqual({
      state: start,
      effects: ['ESCALATE'],
      outcome: 'ANOMALY',
      note: 'PAID for attempt zz, which record SR-1 never requested: nothing moved; check what the bank did',
    });
  });

  it('malformed input and policies are bugs', () => {
    expect(() =>
      applyPayoutResult(start, { ...paid('a1'), failure: { code: 'TIMEOUT', transient: true } }, policy),
    ).toThrow(InvariantError);
    expect(() => applyPayoutResult(start, { attemptId: 'a1', status: 'FAILED', at: T1 }, policy)).toThrow(
      'a FAILED result for a1 needs a known failure code and a transient flag',
    );
    expect(() => applyPayoutResult(start, paid('a1', '2026-11-27 09:00'), policy)).toThrow(InvariantError);
    expect(() => assertPayoutRetryPolicy({ ...policy, maxAttempts: 0 })).toThrow(InvariantError);
    expect(() => assertPayoutRetryPolicy({ ...policy, maxAttempts: 11 })).toThrow(InvariantError);
    expect(() => assertPayoutRetryPolicy({ ...policy, transientCodes: ['TIMEOUT'] })).toThrow(
      'payout retry policy: TIMEOUT cannot be both retryable and outcome-unknown: retrying an unknown outcome could pay twice',
    );
    const scheduled = applyAll(start, [failed('a1', 'BANK_UNAVAILABLE', true)]).state;
    expect(() => startNextAttempt(scheduled, 'a1', T2)).toThrow(
      'attempt id a1 was already used by record SR-1: one payout request per attempt id',
    );
  });
});

describe('applyPayoutResult: properties', () => {
  const ATTEMPT_IDS = ['a1', 'a2', 'a3', 'a4'];
  const p: PayoutRetryPolicy = { ...policy, maxAttempts: 3 };
  const count = (effects: readonly PayoutEffect[], e: PayoutEffect): number =>
    effects.filter((x) => x === e).length;

  const resultArb: fc.Arbitrary<PayoutResult> = fc.oneof(
    fc.record({
      attemptId: fc.constantFrom(...ATTEMPT_IDS, 'zz'),
      status: fc.constant('PAID' as const),
      at: fc.constant(T1),
    }),
    fc.record({
      attemptId: fc.constantFrom(...ATTEMPT_IDS, 'zz'),
      status: fc.constant('FAILED' as const),
      failure: fc.record({ code: fc.constantFrom(...PAYOUT_FAILURE_CODES), transient: fc.boolean() }),
      at: fc.constant(T1),
    }),
  );
  /** A gateway answer (possibly duplicated, reordered, for any attempt) or the retry timer firing. */
  const actionArb = fc.oneof(
    { weight: 4, arbitrary: resultArb.map((result) => ({ kind: 'result' as const, result })) },
    { weight: 1, arbitrary: fc.constant({ kind: 'retryTimer' as const }) },
  );

  it('any sequence: POST_PAID ≤ 1, RETURN ≤ 1, never both, matching the final state; retries only after a definitive failure', () => {
    fc.assert(
      fc.property(fc.array(actionArb, { maxLength: 40 }), (actions) => {
        let state = startPayout('SR-9', 'a1', T0);
        const effects: PayoutEffect[] = [];
        for (const action of actions) {
          if (action.kind === 'retryTimer') {
            const before = state;
            const next = startNextAttempt(state, ATTEMPT_IDS[state.attempts.length] ?? 'a-extra', T2);
            if (!next.ok) continue;
            // A new attempt only after the current one definitively failed (no unknown outcome open).
            const last = before.attempts.at(-1)!;
            expect(before.status).toBe('RETRY_SCHEDULED');
            expect(
              last.answers.some((a) => a.status === 'FAILED' && !p.outcomeUnknownCodes.includes(a.code!)),
            ).toBe(true);
            expect(effects).not.toContain('POST_PAID');
            state = next.state;
            continue;
          }
          const step = applyPayoutResult(deepFreeze(state), action.result, p);
          if (step.outcome === 'DUPLICATE') {
            expect([step.state, step.effects]).toEqual([state, []]);
          }
          if (state.status === 'PAID' || state.status === 'FAILED') {
            expect(step.effects.filter((e) => e !== 'ESCALATE')).toEqual([]); // final means final
          }
          // Redelivery of the very same answer right away is always a no-op.
          const replay = applyPayoutResult(step.state, action.result, p);
          if (step.outcome !== 'ANOMALY' || step.state !== state) {
            expect([replay.outcome, replay.effects]).toEqual(['DUPLICATE', []]);
          }
          effects.push(...step.effects);
          state = step.state;
        }
        const posted = count(effects, 'POST_PAID');
        const returned = count(effects, 'RETURN_TO_SETTLEABLE');
        expect(posted).toBe(state.status === 'PAID' ? 1 : 0);
        expect(returned).toBe(state.status === 'FAILED' ? 1 : 0);
        expect(posted + returned).toBeLessThanOrEqual(1);
        expect(state.attempts.length).toBeLessThanOrEqual(p.maxAttempts);
        expect(new Set(state.attempts.map((a) => a.attemptId)).size).toBe(state.attempts.length);
        expect(count(effects, 'RETRY')).toBeGreaterThanOrEqual(state.attempts.length - 1);
      }),
      { numRuns: 2000 },
    );
  });

  /**
   * An honest bank behind the gateway: each attempt has a truth (paid, or a definitive failure);
   * the gateway may lose answers (TIMEOUT, possibly several times over the caller's query loop),
   * and the network duplicates and reorders everything. Run to quiescence.
   */
  it('honest bank, lossy gateway: the bank never pays twice, and the ledger ends as the bank did', () => {
    const truthArb = fc.record({
      paid: fc.boolean(),
      failureCode: fc.constantFrom<PayoutFailureCode>(
        'BANK_UNAVAILABLE',
        'RATE_LIMITED',
        'ACCOUNT_CLOSED',
        'ACCOUNT_LIMIT_EXCEEDED',
        'HOLDER_NAME_MISMATCH',
      ),
      timeouts: fc.nat({ max: 2 }),
      duplicates: fc.nat({ max: 2 }),
    });
    const seen = new Set<string>();
    fc.assert(
      fc.property(
        fc.array(truthArb, { minLength: p.maxAttempts, maxLength: p.maxAttempts }),
        fc.infiniteStream(fc.nat()),
        (truths, picks) => {
          const pick = picks[Symbol.iterator]();
          const next = (n: number): number => pick.next().value! % n;
          let state = startPayout('SR-7', 'a1', T0);
          const effects: PayoutEffect[] = [];
          const bankPaid: string[] = [];
          const timeoutsLeft = truths.map((t) => t.timeouts);
          let inbox: PayoutResult[] = [];

          const truthAt = (i: number) => truths[i]!;
          const truthOf = (i: number): PayoutResult => {
            const truth = truthAt(i);
            return truth.paid
              ? paid(`a${i + 1}`)
              : failed(
                  `a${i + 1}`,
                  truth.failureCode,
                  ['BANK_UNAVAILABLE', 'RATE_LIMITED'].includes(truth.failureCode),
                );
          };
          /** What the gateway says about attempt i now: a lost answer while any are left, then the truth. */
          const answerOf = (i: number): PayoutResult => {
            if (timeoutsLeft[i]! === 0) return truthOf(i);
            timeoutsLeft[i] = timeoutsLeft[i]! - 1;
            return failed(`a${i + 1}`, 'TIMEOUT', true);
          };
          /** The bank acts once per attempt; the gateway then answers, or loses the answer. */
          const send = (i: number): void => {
            if (truthAt(i).paid) bankPaid.push(`a${i + 1}`);
            const answer = answerOf(i);
            inbox.push(...Array.from({ length: 1 + truthAt(i).duplicates }, () => answer));
          };
          /** The caller's query loop: asks again about the current attempt; the gateway may still not know. */
          const query = (): void => {
            const i = state.attempts.length - 1;
            const answer = answerOf(i);
            inbox.push(answer, ...(truthAt(i).duplicates > 0 ? [answer] : []));
          };

          send(0);
          for (let guard = 0; guard < 200; guard += 1) {
            if (state.status === 'RETRY_SCHEDULED' && next(3) === 0) {
              // The retry timer may fire while old answers are still on their way.
              const started = startNextAttempt(state, `a${state.attempts.length + 1}`, T2);
              expect(started.ok).toBe(true);
              if (started.ok) state = started.state;
              send(state.attempts.length - 1);
            } else if (state.status === 'OUTCOME_UNKNOWN' && next(3) === 0) {
              query(); // the query loop may overtake answers still in flight
            } else if (inbox.length > 0) {
              const k = next(inbox.length); // any queued answer may come first
              const [result] = inbox.splice(k, 1);
              const step = applyPayoutResult(state, result!, p);
              effects.push(...step.effects);
              state = step.state;
            } else if (state.status === 'RETRY_SCHEDULED') {
              const started = startNextAttempt(state, `a${state.attempts.length + 1}`, T2);
              expect(started.ok).toBe(true);
              if (started.ok) state = started.state;
              send(state.attempts.length - 1);
            } else if (state.status === 'OUTCOME_UNKNOWN' || state.status === 'IN_FLIGHT') {
              query();
            } else {
              break;
            }
          }
          inbox = [];

          expect(['PAID', 'FAILED']).toContain(state.status); // nothing left hanging
          expect(bankPaid.length).toBeLessThanOrEqual(1); // never paid twice
          expect(state.status).toBe(bankPaid.length === 1 ? 'PAID' : 'FAILED');
          if (state.status === 'PAID') expect(state.paidByAttemptId).toBe(bankPaid[0]);
          expect(count(effects, 'POST_PAID')).toBe(bankPaid.length);
          expect(count(effects, 'RETURN_TO_SETTLEABLE')).toBe(1 - bankPaid.length);
          expect(effects).not.toContain('ESCALATE');
          seen.add(`${state.status}/${state.attempts.length}`);
        },
      ),
      { numRuns: 3000 },
    );
    // Not vacuous: paid and failed on every attempt number, retries included.
    expect([...seen].sort()).toEqual(['FAILED/1', 'FAILED/2', 'FAILED/3', 'PAID/1', 'PAID/2', 'PAID/3']);
  });
});
