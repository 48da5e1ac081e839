import { Money } from '@app/contracts';
import { LedgerError, type EntryDraft, type Ledger } from '@app/ledger';
import { createHash } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { consumeReturns } from '../settlement/returned-funds.js';
import { listApprovalRecords, type ApprovalRecordView } from '../approval/approval-records.js';
import { checkInflowLimits, maskAccountNo } from './payout-account.js';
import { PAYOUT_MAX_ATTEMPTS_LIMIT, startPayout, type PayoutState } from './payout-attempt.js';
import { attemptIdOf, audit, inflowSoFar, payoutAccountOf, type PayoutService } from './payout.service.js';

/**
 * "Retry payout" (重新发起代付): an operator asks for a new payout of the SAME settlement record
 * after its payout ended for good — PAYOUT_FAILED because the gateway said the bank did not pay
 * (ACCOUNT_CLOSED, HOLDER_NAME_MISMATCH, …) or because it was refused before sending (no account,
 * inflow limit) — typically once the merchant's payout account was fixed in merchant_terms.
 *
 * What it does, in one transaction: the funds that went back to settleable move to in transit again
 * (Dr 2203 / Cr 2204, ledger key `payout-retry:<record>:<n>`), a new attempt `<record>-<k>` (k the
 * next attempt number) goes to the gateway through the outbox with the account as it stands now,
 * the record goes PAYOUT_FAILED → PAYOUT_REQUESTED, and the audit trail says who asked and why.
 *
 * Why it cannot pay twice: it only starts from a payout that is FAILED/REFUSED, i.e. one whose money
 * already went back (a definite "not paid"); the gateway deduplicates per attempt id and the new
 * attempt has a new id; `payout-paid:<record>` still posts at most once; a late PAID for an old
 * attempt is honoured once and escalated (payout-attempt.ts rules). If the retry fails again, its
 * funds return under `payout-returned:<record>:<n>` (see returnedEntry).
 *
 * Maker-checker is kept light on purpose: the amount was already approved by two eyes; any finance
 * user may ask for the retry, and it is audited (by, reason, key). Refusals change nothing and are
 * audited too; they do not take the Idempotency-Key (only an applied retry answers a replay).
 */

export type PayoutRetryErrorCode =
  | 'NOT_FOUND'
  /** The record is not PAYOUT_FAILED (paid, in flight, pending…): nothing to retry. */
  | 'NOT_RETRYABLE'
  /** The merchant's settleable balance (2203) no longer covers the amount (paid out or offset since). */
  | 'INSUFFICIENT_SETTLEABLE'
  /** merchant_terms has no valid payout account, or the account's inflow limit would be exceeded. */
  | 'PAYOUT_ACCOUNT_INVALID'
  | 'REASON_REQUIRED'
  | 'IDEMPOTENCY_CONFLICT';

export class PayoutRetryError extends Error {
  override readonly name = 'PayoutRetryError';

  constructor(
    readonly code: PayoutRetryErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface RetryPayoutOptions {
  by: string;
  reason: string;
  idempotencyKey: string;
}

/** The audit action of an applied retry; its detail holds the key, request hash and response. */
export const PAYOUT_RETRY_ACTION = 'PAYOUT_RETRY_REQUESTED';
/** The command's name in settlement.command_idempotency. */
const RETRY_COMMAND = 'RETRY_PAYOUT';
const REASON_MAX = 500;
/** Audited when the record exists and the request was well-formed: someone asked, and was told no. */
const AUDITED_REFUSALS: readonly PayoutRetryErrorCode[] = [
  'NOT_RETRYABLE',
  'INSUFFICIENT_SETTLEABLE',
  'PAYOUT_ACCOUNT_INVALID',
];
const RECORD_ID = /^[1-9]\d{0,18}$/;

/** How many retries were applied to the record: the `<n>` of its retry and second-return ledger keys. */
export async function payoutRetriesOf(tx: Pick<EntityManager, 'query'>, recordId: string): Promise<number> {
  const [row] = await tx.query<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM settlement.record_audit WHERE record_id = $1 AND action = $2`,
    [recordId, PAYOUT_RETRY_ACTION],
  );
  return row!.n;
}

export class PayoutRetryService {
  private readonly now: () => Date;

  constructor(
    private readonly dataSource: DataSource,
    private readonly ledger: Ledger,
    private readonly payouts: PayoutService,
    options: { now?: () => Date } = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** @throws PayoutRetryError NOT_FOUND, NOT_RETRYABLE, INSUFFICIENT_SETTLEABLE, PAYOUT_ACCOUNT_INVALID, REASON_REQUIRED, IDEMPOTENCY_CONFLICT */
  async retryPayout(recordId: string, options: RetryPayoutOptions): Promise<ApprovalRecordView> {
    const reason = options.reason.trim();
    if (reason.length === 0 || reason.length > REASON_MAX)
      throw new PayoutRetryError(
        'REASON_REQUIRED',
        `a payout retry needs a reason (1 to ${REASON_MAX} characters)`,
      );
    const key = options.idempotencyKey;
    const hash = createHash('sha256')
      .update(JSON.stringify([recordId, 'RETRY_PAYOUT', options.by, reason]))
      .digest('hex');
    try {
      return await this.dataSource.transaction(async (tx) => {
        // The key is stored with the applied retry in command_idempotency, the namespace approvals
        // and rejections share; the advisory lock makes "look up, then write" atomic for two
        // retries racing with the same key (an approval racing it loses on the primary key).
        await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`payout-retry-key:${key}`]);
        const [stored] = await tx.query<
          { command: string; request_hash: string; response: ApprovalRecordView }[]
        >('SELECT command, request_hash, response FROM settlement.command_idempotency WHERE key = $1', [key]);
        if (stored) {
          if (stored.command !== RETRY_COMMAND || stored.request_hash !== hash) throw keyConflict(key);
          return stored.response;
        }
        if (!RECORD_ID.test(recordId))
          throw new PayoutRetryError('NOT_FOUND', `no settlement record ${recordId}`);
        return await this.apply(tx, recordId, { ...options, reason }, key, hash);
      });
    } catch (error) {
      const refusal =
        error instanceof LedgerError && error.code === 'LEDGER.INSUFFICIENT_FUNDS'
          ? new PayoutRetryError(
              'INSUFFICIENT_SETTLEABLE',
              `the merchant's settleable balance (2203) no longer covers settlement record ${recordId}; nothing was moved (${error.message})`,
            )
          : error;
      if (refusal instanceof PayoutRetryError && AUDITED_REFUSALS.includes(refusal.code))
        await this.dataSource.transaction((tx) =>
          audit(tx, recordId, options.by, 'PAYOUT_RETRY_REFUSED', null, null, {
            code: refusal.code,
            message: refusal.message,
            reason,
            idempotencyKey: key,
          }),
        );
      throw refusal;
    }
  }

  private async apply(
    tx: EntityManager,
    recordId: string,
    options: RetryPayoutOptions,
    key: string,
    hash: string,
  ): Promise<ApprovalRecordView> {
    const [row] = await tx.query<
      {
        record_status: string;
        merchant_id: string;
        currency: string;
        amount: string;
        payout_due_on: string;
        payout_status: string | null;
        state: PayoutState | null;
        payout_account: unknown;
      }[]
    >(
      `SELECT r.status AS record_status, r.merchant_id, r.currency::text AS currency,
              to_char(r.payout_due_on, 'YYYY-MM-DD') AS payout_due_on, t.payout_account
       FROM settlement.settlement_record r
       LEFT JOIN settlement.merchant_terms t ON t.merchant_id = r.merchant_id
       WHERE r.id = $1
       FOR UPDATE OF r`,
      [recordId],
    );
    if (!row) throw new PayoutRetryError('NOT_FOUND', `no settlement record ${recordId}`);
    // Locked too: a late answer about an old attempt is recorded in `state` by the result handler,
    // and must not be overwritten by a state read before it.
    const [payout] = await tx.query<{ amount: string; payout_status: string; state: PayoutState | null }[]>(
      `SELECT amount::text, status AS payout_status, state FROM settlement.payout WHERE record_id = $1 FOR UPDATE`,
      [recordId],
    );
    Object.assign(row, payout ?? { payout_status: null, state: null });
    if (
      row.record_status !== 'PAYOUT_FAILED' ||
      (row.payout_status !== 'FAILED' && row.payout_status !== 'REFUSED')
    )
      throw new PayoutRetryError(
        'NOT_RETRYABLE',
        `settlement record ${recordId} is ${row.record_status}; only a PAYOUT_FAILED record (its funds back in settleable) can have its payout retried`,
      );
    const attempts = row.state?.attempts ?? [];
    if (attempts.length >= PAYOUT_MAX_ATTEMPTS_LIMIT)
      throw new PayoutRetryError(
        'NOT_RETRYABLE',
        `settlement record ${recordId} already has ${attempts.length} payout attempts, the most allowed; settle it by hand`,
      );
    const account = payoutAccountOf(row.payout_account);
    if (account === null)
      throw new PayoutRetryError(
        'PAYOUT_ACCOUNT_INVALID',
        `merchant ${row.merchant_id} has no valid payout account in settlement.merchant_terms; fix it before retrying`,
      );
    const at = this.now().toISOString();
    const amount = Money.of(row.amount, row.currency);
    const check = checkInflowLimits(
      account,
      amount,
      await inflowSoFar(tx, account.accountNo, row.currency, at),
    );
    if (!check.ok) throw new PayoutRetryError('PAYOUT_ACCOUNT_INVALID', check.message);

    // The returned funds are the merchant's next record's unless a retry takes them first.
    const open = await tx.query<{ id: string }[]>(
      `SELECT id::text FROM settlement.returned_funds
       WHERE record_id = $1 AND consumed_by_record_id IS NULL ORDER BY returned_funds.id FOR UPDATE`,
      [recordId],
    );
    if (open.length === 0) {
      const [taken] = await tx.query<{ by: string }[]>(
        `SELECT consumed_by_record_id::text AS by FROM settlement.returned_funds
         WHERE record_id = $1 ORDER BY id DESC LIMIT 1`,
        [recordId],
      );
      throw new PayoutRetryError(
        'NOT_RETRYABLE',
        taken
          ? `the funds of settlement record ${recordId} were already paid on with settlement record ${taken.by}; nothing to retry`
          : `settlement record ${recordId} has no returned funds to pay out again`,
      );
    }
    await consumeReturns(
      tx,
      open.map((o) => ({ returnId: o.id, byRecordId: recordId })),
      'PAYOUT_RETRY',
      this.now().toISOString(),
    );

    const retryNo = (await payoutRetriesOf(tx, recordId)) + 1;
    // Raises LEDGER.INSUFFICIENT_FUNDS (2203 has a floor) when the funds were used since: refused.
    await this.ledger.post(tx, [retryEntry(recordId, row.merchant_id, amount, at, retryNo, options.by)]);

    const attemptNo = attempts.length + 1;
    const attemptId = attemptIdOf(recordId, attemptNo);
    const first = startPayout(recordId, attemptId, at);
    // The old attempts stay as evidence (a late PAID for one is still honoured once, and escalated);
    // the failure is cleared because the payout is open again.
    const state: PayoutState =
      row.state === null
        ? first
        : {
            ...row.state,
            status: 'IN_FLIGHT',
            failure: null,
            attempts: [...row.state.attempts, { ...first.attempts[0]!, number: attemptNo }],
          };
    await tx.query(
      `UPDATE settlement.payout
       SET status = $2, state = $3, account = $4, account_no = $5, requested_at = $6,
           retry_due_at = NULL, version = version + 1, updated_at = $6
       WHERE record_id = $1`,
      [recordId, state.status, JSON.stringify(state), JSON.stringify(account), account.accountNo, at],
    );
    await this.payouts.sendAttempt(
      tx,
      { ...row, record_id: recordId, account },
      attemptId,
      attemptNo,
      at,
      'REQUEST',
    );
    await tx.query(
      `WITH u AS (UPDATE settlement.settlement_record SET status = 'PAYOUT_REQUESTED', version = version + 1
                  WHERE id = $1 AND status = 'PAYOUT_FAILED' RETURNING id)
       SELECT id FROM u`,
      [recordId],
    );
    const [view] = await listApprovalRecords(tx, { ids: [recordId] });
    await tx.query(
      `INSERT INTO settlement.record_audit (record_id, at, by, action, from_status, to_status, reason, detail)
       VALUES ($1, $2, $3, $4, 'PAYOUT_FAILED', 'PAYOUT_REQUESTED', $5, $6)`,
      [
        recordId,
        at,
        options.by,
        PAYOUT_RETRY_ACTION,
        options.reason,
        JSON.stringify({
          retryNo,
          attemptId,
          account: maskAccountNo(account.accountNo),
          idempotencyKey: key,
          requestHash: hash,
          response: view,
        }),
      ],
    );
    await tx.query(
      `INSERT INTO settlement.command_idempotency (key, record_id, command, request_hash, outcome, response)
       VALUES ($1, $2, $3, $4, 'APPLIED', $5)`,
      [key, recordId, RETRY_COMMAND, hash, JSON.stringify(view)],
    );
    return view!;
  }
}

function keyConflict(key: string): PayoutRetryError {
  return new PayoutRetryError(
    'IDEMPOTENCY_CONFLICT',
    `Idempotency-Key "${key}" was already used for a different request; use a new key for a new command`,
  );
}

/** Retried: the returned amount leaves settleable for in transit again (Dr 2203 / Cr 2204). */
function retryEntry(
  recordId: string,
  merchantId: string,
  amount: Money,
  at: string,
  retryNo: number,
  by: string,
): EntryDraft {
  return {
    idempotencyKey: `payout-retry:${recordId}:${retryNo}`,
    businessRef: `settlement:${recordId}`,
    effectiveAt: at,
    description: `settlement record ${recordId}: payout retry ${retryNo} requested by ${by}`,
    metadata: { recordId, merchantId, retryNo, by },
    postings: [
      {
        account: { template: 'merchant_settleable', owner: merchantId },
        side: 'DEBIT',
        amount: amount.toString(),
        currency: amount.currency,
      },
      {
        account: { template: 'merchant_in_transit', owner: merchantId },
        side: 'CREDIT',
        amount: amount.toString(),
        currency: amount.currency,
      },
    ],
  };
}
