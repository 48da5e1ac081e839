import {
  Money,
  settlementPayoutRequestedEventId,
  TOPIC,
  type SettlementPayoutRequestedV1,
} from '@app/contracts';
import type { EntryDraft, Ledger } from '@app/ledger';
import { enqueueOutbox, topicName } from '@app/messaging';
import type { DataSource, EntityManager } from 'typeorm';
import { SETTLEMENT_SCHEMA } from '../migrations/index.js';
import { recordReturnedFunds } from '../settlement/returned-funds.js';
import {
  checkInflowLimits,
  maskAccountNo,
  PAYOUT_ACCOUNT_TYPES,
  type PayoutAccount,
} from './payout-account.js';
import {
  assertPayoutRetryPolicy,
  DEFAULT_PAYOUT_RETRY_POLICY,
  startNextAttempt,
  startPayout,
  type PayoutRetryPolicy,
  type PayoutState,
} from './payout-attempt.js';

/** Requests picked per call: a batch of small transactions, not one huge one. */
export const PAYOUT_REQUEST_BATCH_MAX = 100;

/** Why a payout was never sent: the funds go straight back to settleable. */
export type PayoutRefusalCode = 'ACCOUNT_LIMIT_EXCEEDED' | 'PAYOUT_ACCOUNT_MISSING';

export interface PayoutRequestOutcome {
  recordId: string;
  outcome: 'REQUESTED' | 'REFUSED';
  attemptId?: string;
  code?: PayoutRefusalCode;
  message?: string;
}

export interface PayoutServiceOptions {
  now?: () => Date;
  /** KAFKA_TOPIC_PREFIX: the outbox row names the topic the relay publishes to. */
  topicPrefix?: string;
  /** How long after a retryable failure the next attempt goes out. */
  retryDelayMs?: number;
  /** How long a payout may wait for a definitive answer before the gateway is asked again. */
  queryAfterMs?: number;
  /** After this many unanswered queries of one attempt, operations are told (once). */
  escalateAfterQueries?: number;
}

/** The payout settings an operator sets in the environment (PlatformConfig), for PayoutService. */
export function payoutServiceOptionsOf(config: {
  kafkaTopicPrefix: string;
  settlementPayoutRetryDelayMs: number;
  settlementPayoutQueryAfterMs: number;
}): PayoutServiceOptions {
  return {
    topicPrefix: config.kafkaTopicPrefix,
    retryDelayMs: config.settlementPayoutRetryDelayMs,
    queryAfterMs: config.settlementPayoutQueryAfterMs,
  };
}

/** The retry policy with the operator's attempt count (SETTLEMENT_PAYOUT_MAX_ATTEMPTS). */
export function payoutRetryPolicyOf(config: { settlementPayoutMaxAttempts: number }): PayoutRetryPolicy {
  const policy = { ...DEFAULT_PAYOUT_RETRY_POLICY, maxAttempts: config.settlementPayoutMaxAttempts };
  assertPayoutRetryPolicy(policy);
  return policy;
}

/** A payout asked about again because its answer is overdue. */
export interface PayoutQuery {
  recordId: string;
  attemptId: string;
  /** How many times this attempt has now been asked about. */
  queryNo: number;
  /** True when this query reached `escalateAfterQueries` and operations were told. */
  escalated: boolean;
}

/** The attempt id of a record's n-th attempt, as approval writes the first (`<record id>-1`). */
export function attemptIdOf(recordId: string, attemptNo: number): string {
  return `${recordId}-${attemptNo}`;
}

export interface PayoutRow {
  record_id: string;
  merchant_id: string;
  currency: string;
  amount: string;
  account: PayoutAccount;
  status: string;
  state: PayoutState | null;
  version: number;
  payout_due_on: string;
}

/**
 * Sends approved records' payouts to the gateway through the settlement outbox (代付请求), and
 * starts retries when they are due. Each record is handled in its own transaction: the payout row
 * (keyed by record id), its first attempt, the outbox row and the record's move to PAYOUT_REQUESTED
 * commit together, or — when the payout may not be sent — the refusal, the ledger entry returning
 * the funds (Dr 2204 / Cr 2203) and the record's move to PAYOUT_FAILED do.
 */
export class PayoutService {
  private readonly now: () => Date;
  private readonly topicPrefix: string;
  private readonly retryDelayMs: number;
  private readonly queryAfterMs: number;
  private readonly escalateAfterQueries: number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly ledger: Ledger,
    options: PayoutServiceOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.topicPrefix = options.topicPrefix ?? '';
    this.retryDelayMs = options.retryDelayMs ?? 60_000;
    this.queryAfterMs = options.queryAfterMs ?? 300_000;
    this.escalateAfterQueries = options.escalateAfterQueries ?? 5;
  }

  /**
   * Requests every payout approval asked for and not yet handled. With `tx`, in the caller's
   * transaction (one unit); otherwise one transaction per record.
   */
  async requestPayouts(tx?: EntityManager): Promise<PayoutRequestOutcome[]> {
    if (tx) return this.requestBatch(tx, PAYOUT_REQUEST_BATCH_MAX);
    const outcomes: PayoutRequestOutcome[] = [];
    for (;;) {
      const batch = await this.dataSource.transaction((t) => this.requestBatch(t, 1));
      if (batch.length === 0) return outcomes;
      outcomes.push(...batch);
    }
  }

  private async requestBatch(tx: EntityManager, limit: number): Promise<PayoutRequestOutcome[]> {
    // SKIP LOCKED: two schedulers split the work instead of queueing behind each other; the payout
    // primary key would refuse a second payout for a record anyway.
    const rows = await tx.query<
      {
        record_id: string;
        attempt_id: string;
        merchant_id: string;
        currency: string;
        amount: string;
        payout_due_on: string;
        payout_account: unknown;
      }[]
    >(
      `SELECT q.record_id::text, q.attempt_id, q.merchant_id, q.currency::text AS currency, q.amount::text,
              to_char(r.payout_due_on, 'YYYY-MM-DD') AS payout_due_on, t.payout_account
       FROM settlement.payout_request q
       JOIN settlement.settlement_record r ON r.id = q.record_id
       LEFT JOIN settlement.merchant_terms t ON t.merchant_id = q.merchant_id
       WHERE q.status = 'REQUESTED' AND r.status = 'APPROVED'
         AND NOT EXISTS (SELECT 1 FROM settlement.payout p WHERE p.record_id = q.record_id)
       ORDER BY q.record_id
       LIMIT $1
       FOR UPDATE OF q, r SKIP LOCKED`,
      [limit],
    );
    const outcomes: PayoutRequestOutcome[] = [];
    for (const row of rows) outcomes.push(await this.requestOne(tx, row));
    return outcomes;
  }

  private async requestOne(
    tx: EntityManager,
    row: {
      record_id: string;
      attempt_id: string;
      merchant_id: string;
      currency: string;
      amount: string;
      payout_due_on: string;
      payout_account: unknown;
    },
  ): Promise<PayoutRequestOutcome> {
    const at = this.now().toISOString();
    const amount = Money.of(row.amount, row.currency);
    const account = payoutAccountOf(row.payout_account);
    if (account === null) {
      return this.refuse(tx, row, null, at, {
        code: 'PAYOUT_ACCOUNT_MISSING',
        message: `merchant ${row.merchant_id} has no valid payout account in settlement.merchant_terms; the payout of record ${row.record_id} cannot be sent`,
      });
    }
    const soFar = await inflowSoFar(tx, account.accountNo, row.currency, at);
    const check = checkInflowLimits(account, amount, soFar);
    if (!check.ok)
      return this.refuse(tx, row, account, at, { code: 'ACCOUNT_LIMIT_EXCEEDED', message: check.message });

    const state = startPayout(row.record_id, row.attempt_id, at);
    await tx.query(
      `INSERT INTO settlement.payout (record_id, merchant_id, currency, amount, account, account_no, status, state, requested_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`,
      [
        row.record_id,
        row.merchant_id,
        row.currency,
        amount.toString(),
        JSON.stringify(account),
        account.accountNo,
        state.status,
        JSON.stringify(state),
        at,
      ],
    );
    await this.sendAttempt(tx, { ...row, account }, row.attempt_id, 1, at, 'REQUEST');
    await moveRecord(tx, row.record_id, 'APPROVED', 'PAYOUT_REQUESTED', 'system:payout', 'PAYOUT_REQUESTED', {
      attemptId: row.attempt_id,
      account: maskAccountNo(account.accountNo),
    });
    return { recordId: row.record_id, outcome: 'REQUESTED', attemptId: row.attempt_id };
  }

  private async refuse(
    tx: EntityManager,
    row: { record_id: string; merchant_id: string; currency: string; amount: string },
    account: PayoutAccount | null,
    at: string,
    refusal: { code: PayoutRefusalCode; message: string },
  ): Promise<PayoutRequestOutcome> {
    await tx.query(
      `INSERT INTO settlement.payout (record_id, merchant_id, currency, amount, account, account_no, status, refusal, requested_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'REFUSED', $7, $8, $8)`,
      [
        row.record_id,
        row.merchant_id,
        row.currency,
        row.amount,
        JSON.stringify(account ?? {}),
        account?.accountNo ?? '',
        JSON.stringify(refusal),
        at,
      ],
    );
    const amount = Money.of(row.amount, row.currency);
    const returned = returnedEntry(row.record_id, row.merchant_id, amount, at, refusal.message);
    await this.ledger.post(tx, [returned]);
    await recordReturnedFunds(tx, {
      recordId: row.record_id,
      merchantId: row.merchant_id,
      amount,
      cause: 'PAYOUT_REFUSED',
      ledgerKey: returned.idempotencyKey,
    });
    await moveRecord(
      tx,
      row.record_id,
      'APPROVED',
      'PAYOUT_FAILED',
      'system:payout',
      'PAYOUT_REFUSED',
      refusal,
    );
    return { recordId: row.record_id, outcome: 'REFUSED', ...refusal };
  }

  /**
   * Writes an attempt's request to the outbox. A QUERY is the same request again (same attempt id,
   * so the same event id): the gateway deduplicates on the attempt id and answers a repeat with
   * what it knows about that attempt, which is how we ask about an unknown outcome without ever
   * risking a second payment.
   * @returns for a QUERY, how many times the attempt has now been asked about; 0 for a REQUEST
   */
  async sendAttempt(
    tx: EntityManager,
    payout: {
      record_id: string;
      merchant_id: string;
      currency: string;
      amount: string;
      payout_due_on: string;
      account: PayoutAccount;
    },
    attemptId: string,
    attemptNo: number,
    at: string,
    kind: 'REQUEST' | 'QUERY',
  ): Promise<number> {
    let queryNo = 0;
    if (kind === 'REQUEST') {
      await tx.query(
        `INSERT INTO settlement.payout_attempt (attempt_id, record_id, attempt_no, status, requested_at)
         VALUES ($1, $2, $3, 'REQUESTED', $4)`,
        [attemptId, payout.record_id, attemptNo, at],
      );
    } else {
      const [row] = await tx.query<{ queries: number }[]>(
        `WITH u AS (UPDATE settlement.payout_attempt SET queries = queries + 1 WHERE attempt_id = $1 RETURNING queries)
         SELECT queries FROM u`,
        [attemptId],
      );
      queryNo = row!.queries;
    }
    const event: SettlementPayoutRequestedV1 = {
      eventId: settlementPayoutRequestedEventId(attemptId),
      occurredAt: at,
      settlementRecordId: payout.record_id,
      attemptId,
      attemptNo,
      merchantId: payout.merchant_id,
      amount: Money.of(payout.amount, payout.currency).toString(),
      currency: payout.currency as SettlementPayoutRequestedV1['currency'],
      payoutAccount: payout.account,
      payoutDueOn: payout.payout_due_on,
    };
    await enqueueOutbox(tx, SETTLEMENT_SCHEMA, [
      {
        topic: topicName(this.topicPrefix, TOPIC.settlementPayoutRequestedV1),
        key: payout.record_id,
        value: JSON.stringify(event),
        headers: { 'payout-request-kind': kind },
        dedupeKey:
          kind === 'REQUEST' ? `payout-request:${attemptId}` : `payout-query:${attemptId}:${queryNo}`,
      },
    ]);
    return queryNo;
  }

  /** Starts the next attempt of every payout whose retry is due; returns the attempt ids sent. */
  async startDueRetries(): Promise<string[]> {
    const sent: string[] = [];
    for (;;) {
      const attemptId = await this.dataSource.transaction(async (tx) => {
        const [row] = await tx.query<PayoutRow[]>(
          `SELECT p.record_id::text, p.merchant_id, p.currency::text AS currency, p.amount::text, p.account,
                  p.status, p.state, p.version, to_char(r.payout_due_on, 'YYYY-MM-DD') AS payout_due_on
           FROM settlement.payout p JOIN settlement.settlement_record r ON r.id = p.record_id
           WHERE p.status = 'RETRY_SCHEDULED' AND p.retry_due_at <= $1
           ORDER BY p.retry_due_at LIMIT 1 FOR UPDATE OF p SKIP LOCKED`,
          [this.now().toISOString()],
        );
        if (!row) return null;
        const at = this.now().toISOString();
        const state = row.state!;
        const next = attemptIdOf(row.record_id, state.attempts.length + 1);
        const started = startNextAttempt(state, next, at);
        // The row was picked as RETRY_SCHEDULED, which its state must say too: stopping quietly
        // here would leave the payout waiting forever, so a disagreement fails loudly.
        if (!started.ok)
          throw new Error(`payout of record ${row.record_id}: column and state disagree: ${started.message}`);
        await tx.query(
          `UPDATE settlement.payout SET status = $2, state = $3, version = version + 1, retry_due_at = NULL, updated_at = $4
           WHERE record_id = $1`,
          [row.record_id, started.state.status, JSON.stringify(started.state), at],
        );
        await this.sendAttempt(tx, row, next, started.state.attempts.length, at, 'REQUEST');
        return next;
      });
      if (attemptId === null) return sent;
      sent.push(attemptId);
    }
  }

  /**
   * Asks the gateway again about every payout whose answer is overdue: IN_FLIGHT (the request or
   * its answer went missing) or OUTCOME_UNKNOWN (a lost answer whose query went unanswered too)
   * with nothing heard for `queryAfterMs`. The query is the current attempt's request sent again
   * (same attempt id): the gateway never pays an attempt twice and answers with what it knows, so
   * this can only settle the outcome, never pay again. Each query restarts the clock; the
   * `escalateAfterQueries`-th is audited as PAYOUT_ESCALATED so a person calls the bank.
   */
  async queryOverdue(): Promise<PayoutQuery[]> {
    const queried: PayoutQuery[] = [];
    for (;;) {
      const query = await this.dataSource.transaction(async (tx) => {
        const now = this.now();
        const [row] = await tx.query<PayoutRow[]>(
          `SELECT p.record_id::text, p.merchant_id, p.currency::text AS currency, p.amount::text, p.account,
                  p.status, p.state, p.version, to_char(r.payout_due_on, 'YYYY-MM-DD') AS payout_due_on
           FROM settlement.payout p JOIN settlement.settlement_record r ON r.id = p.record_id
           WHERE p.status IN ('IN_FLIGHT', 'OUTCOME_UNKNOWN') AND p.updated_at <= $1
           ORDER BY p.updated_at LIMIT 1 FOR UPDATE OF p SKIP LOCKED`,
          [new Date(now.getTime() - this.queryAfterMs).toISOString()],
        );
        if (!row) return null;
        const at = now.toISOString();
        const current = row.state!.attempts.at(-1)!;
        const queryNo = await this.sendAttempt(tx, row, current.attemptId, current.number, at, 'QUERY');
        await tx.query(`UPDATE settlement.payout SET updated_at = $2 WHERE record_id = $1`, [
          row.record_id,
          at,
        ]);
        const escalated = queryNo === this.escalateAfterQueries;
        if (escalated)
          await audit(tx, row.record_id, 'system:payout', 'PAYOUT_ESCALATED', null, null, {
            note: `no definitive answer for attempt ${current.number} (${current.attemptId}) after ${queryNo} queries: ask the bank whether it paid; nothing is paid again meanwhile`,
          });
        return { recordId: row.record_id, attemptId: current.attemptId, queryNo, escalated };
      });
      if (query === null) return queried;
      queried.push(query);
    }
  }

  get retryDelay(): number {
    return this.retryDelayMs;
  }
}

/** The merchant's account from merchant_terms.payout_account, or null when absent or malformed. */
export function payoutAccountOf(value: unknown): PayoutAccount | null {
  if (typeof value !== 'object' || value === null) return null;
  const { bank, accountNo, holder, type } = value as Record<string, unknown>;
  if (typeof bank !== 'string' || typeof accountNo !== 'string' || typeof holder !== 'string') return null;
  if (!(PAYOUT_ACCOUNT_TYPES as readonly unknown[]).includes(type) || !/^\d{8,34}$/.test(accountNo))
    return null;
  return { bank, accountNo, holder, type: type as PayoutAccount['type'] };
}

/**
 * What the account has received from our payouts in the bank's current day and year (Asia/Shanghai
 * calendar): payouts PAID or still in flight, so two payouts requested the same day cannot both
 * squeeze under the limit. A payout that failed or was refused brought nothing in. Takes a
 * transaction-scoped lock on the account: call it in the transaction that writes the payout.
 */
export async function inflowSoFar(tx: EntityManager, accountNo: string, currency: string, at: string) {
  // Serialises payouts to one account until the caller commits: two requests (two scheduler
  // replicas, or the loop and an operator's retry) must not both read "0 received today".
  await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('payout-inflow:' || $1, 0))`, [accountNo]);
  const [row] = await tx.query<{ today: string; year: string }[]>(
    `SELECT coalesce(sum(amount) FILTER (WHERE requested_at >= date_trunc('day', $3::timestamptz AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai'), 0)::text AS today,
            coalesce(sum(amount), 0)::text AS year
     FROM settlement.payout
     WHERE account_no = $1 AND currency = $2 AND status NOT IN ('REFUSED', 'FAILED')
       AND requested_at >= date_trunc('year', $3::timestamptz AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai'
       AND requested_at <= $3::timestamptz`,
    [accountNo, currency, at],
  );
  return { receivedToday: Money.of(row!.today, currency), receivedThisYear: Money.of(row!.year, currency) };
}

/** Moves the record and audits it; the status guard makes a stale move fail loudly. */
export async function moveRecord(
  tx: EntityManager,
  recordId: string,
  from: string,
  to: string,
  by: string,
  action: string,
  detail: object,
): Promise<void> {
  const moved = await tx.query<{ id: string }[]>(
    `WITH u AS (UPDATE settlement.settlement_record SET status = $3, version = version + 1
                WHERE id = $1 AND status = $2 RETURNING id)
     SELECT id::text FROM u`,
    [recordId, from, to],
  );
  if (moved.length === 0)
    throw new Error(`settlement record ${recordId} is not ${from}; cannot move it to ${to}`);
  await audit(tx, recordId, by, action, from, to, detail);
}

export async function audit(
  tx: EntityManager,
  recordId: string,
  by: string,
  action: string,
  from: string | null,
  to: string | null,
  detail: object,
): Promise<void> {
  await tx.query(
    `INSERT INTO settlement.record_audit (record_id, by, action, from_status, to_status, detail)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [recordId, by, action, from, to, JSON.stringify(detail)],
  );
}

/** Paid: the amount leaves 2204 in transit for the bank account it was paid from (Dr 2204 / Cr 1002). */
export function paidEntry(
  recordId: string,
  merchantId: string,
  accountNo: string,
  amount: Money,
  at: string,
  attemptId: string,
): EntryDraft {
  return {
    idempotencyKey: `payout-paid:${recordId}`,
    businessRef: `settlement:${recordId}`,
    effectiveAt: at,
    description: `settlement record ${recordId} paid to ${maskAccountNo(accountNo)} by attempt ${attemptId}`,
    metadata: { recordId, merchantId, attemptId },
    postings: [
      {
        account: { template: 'merchant_in_transit', owner: merchantId },
        side: 'DEBIT',
        amount: amount.toString(),
        currency: amount.currency,
      },
      {
        account: { template: 'bank_deposit', owner: accountNo },
        side: 'CREDIT',
        amount: amount.toString(),
        currency: amount.currency,
      },
    ],
  };
}

/**
 * Not paid, for good: the amount is settleable again (Dr 2204 / Cr 2203). `retryNo`: how many
 * operator retries (payout-retry.ts) the record had; each retry moved the funds out again, so a
 * failure after it returns them under its own key.
 */
export function returnedEntry(
  recordId: string,
  merchantId: string,
  amount: Money,
  at: string,
  why: string,
  retryNo = 0,
): EntryDraft {
  return {
    idempotencyKey: retryNo === 0 ? `payout-returned:${recordId}` : `payout-returned:${recordId}:${retryNo}`,
    businessRef: `settlement:${recordId}`,
    effectiveAt: at,
    description: `settlement record ${recordId} not paid: amount back to settleable`,
    metadata: { recordId, merchantId, why },
    postings: [
      {
        account: { template: 'merchant_in_transit', owner: merchantId },
        side: 'DEBIT',
        amount: amount.toString(),
        currency: amount.currency,
      },
      {
        account: { template: 'merchant_settleable', owner: merchantId },
        side: 'CREDIT',
        amount: amount.toString(),
        currency: amount.currency,
      },
    ],
  };
}
