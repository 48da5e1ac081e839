import { Money, type SettlementPayoutResultV1 } from '@app/contracts';
import type { Ledger } from '@app/ledger';
import type { EventBatchHandler, InboundEvent, Rejection } from '@app/messaging';
import type { EntityManager } from 'typeorm';
import {
  applyPayoutResult,
  DEFAULT_PAYOUT_RETRY_POLICY,
  recordStatusOf,
  type PayoutResult,
  type PayoutRetryPolicy,
} from './payout-attempt.js';
import { recordReturnedFunds } from '../settlement/returned-funds.js';
import { payoutRetriesOf } from './payout-retry.js';
import {
  audit,
  moveRecord,
  paidEntry,
  returnedEntry,
  type PayoutRow,
  type PayoutService,
} from './payout.service.js';

/**
 * Applies the gateway's answers (settlement.payout-result.v1) in the consumer's transaction, after
 * its inbox claim: the pure `applyPayoutResult` decides, and its effects — the ledger entry, the
 * record's status, a query or a scheduled retry, an escalation — commit with the new state. A
 * duplicate or out-of-order answer changes nothing the module does not say it changes; the ledger
 * keys (`payout-paid:<record>`, `payout-returned:<record>`) make each money move once even if
 * that were ever wrong.
 */
export class PayoutResultHandler implements EventBatchHandler<SettlementPayoutResultV1> {
  constructor(
    private readonly ledger: Ledger,
    private readonly payouts: PayoutService,
    private readonly policy: PayoutRetryPolicy = DEFAULT_PAYOUT_RETRY_POLICY,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async handle(
    events: InboundEvent<SettlementPayoutResultV1>[],
    tx: EntityManager,
  ): Promise<{ rejected: Rejection<SettlementPayoutResultV1>[] }> {
    const rejected: Rejection<SettlementPayoutResultV1>[] = [];
    for (const event of events) {
      const reason = await this.applyOne(event.value, tx);
      if (reason !== null) rejected.push({ event, reason });
    }
    return { rejected };
  }

  /** @returns why the answer cannot be applied at all (dead-lettered), or null */
  private async applyOne(result: SettlementPayoutResultV1, tx: EntityManager): Promise<string | null> {
    const recordId = result.settlementRecordId;
    const [payout] = await tx.query<(PayoutRow & { account_no: string })[]>(
      `SELECT p.record_id::text, p.merchant_id, p.currency::text AS currency, p.amount::text, p.account, p.account_no,
              p.status, p.state, p.version, to_char(r.payout_due_on, 'YYYY-MM-DD') AS payout_due_on
       FROM settlement.payout p JOIN settlement.settlement_record r ON r.id = p.record_id
       WHERE p.record_id = $1 FOR UPDATE OF p`,
      [recordId],
    );
    if (!payout || payout.state === null)
      return `no payout was requested for settlement record ${recordId}: answer about attempt ${result.attemptId} cannot be applied`;
    if (
      result.currency !== payout.currency ||
      !Money.of(result.amount, result.currency).equals(Money.of(payout.amount, payout.currency))
    )
      return `answer about attempt ${result.attemptId} names ${result.amount} ${result.currency}, the payout is ${payout.amount} ${payout.currency}`;

    const answer: PayoutResult = {
      attemptId: result.attemptId,
      status: result.status,
      at: result.occurredAt,
      ...(result.failure === undefined ? {} : { failure: result.failure }),
    };
    const step = applyPayoutResult(payout.state, answer, this.policy);
    const at = this.now().toISOString();
    await tx.query(
      `UPDATE settlement.payout_attempt
       SET results = results || $2::jsonb,
           status = CASE WHEN $3 = 'DUPLICATE' THEN status ELSE $4 END
       WHERE attempt_id = $1 AND record_id = $5`,
      [
        result.attemptId,
        JSON.stringify([
          {
            ...answer,
            bankReference: result.bankReference ?? null,
            outcome: step.outcome,
            note: step.note,
            receivedAt: at,
          },
        ]),
        step.outcome,
        result.status,
        recordId,
      ],
    );
    if (step.outcome === 'DUPLICATE') return null;

    const state = step.state;
    const amount = Money.of(payout.amount, payout.currency);
    const retryDue = step.effects.includes('RETRY')
      ? new Date(this.now().getTime() + this.payouts.retryDelay).toISOString()
      : null;
    await tx.query(
      `UPDATE settlement.payout SET status = $2, state = $3, version = version + 1, retry_due_at = $4, updated_at = $5
       WHERE record_id = $1`,
      [recordId, state.status, JSON.stringify(state), retryDue, at],
    );
    for (const effect of step.effects) {
      switch (effect) {
        case 'POST_PAID':
          await this.ledger.post(tx, [
            paidEntry(recordId, payout.merchant_id, payout.account_no, amount, at, result.attemptId),
          ]);
          break;
        case 'RETURN_TO_SETTLEABLE': {
          const returned = returnedEntry(
            recordId,
            payout.merchant_id,
            amount,
            at,
            step.note,
            await payoutRetriesOf(tx, recordId),
          );
          await this.ledger.post(tx, [returned]);
          // Still the merchant's money: the next settlement record pays it, unless retried first.
          await recordReturnedFunds(tx, {
            recordId,
            merchantId: payout.merchant_id,
            amount,
            cause: 'PAYOUT_FAILED',
            ledgerKey: returned.idempotencyKey,
          });
          break;
        }
        case 'QUERY_GATEWAY': {
          const current = state.attempts.at(-1)!;
          await this.payouts.sendAttempt(tx, payout, current.attemptId, current.number, at, 'QUERY');
          break;
        }
        case 'RETRY':
          // startDueRetries sends the next attempt once retry_due_at passes.
          break;
        case 'ESCALATE':
          await audit(tx, recordId, 'system:payout', 'PAYOUT_ESCALATED', null, null, { note: step.note });
          break;
      }
    }
    const from = recordStatusOf(payout.state);
    const to = recordStatusOf(state);
    if (from !== to)
      await moveRecord(tx, recordId, from, to, 'system:payout', 'PAYOUT_RESULT', {
        attemptId: result.attemptId,
        outcome: step.outcome,
        note: step.note,
      });
    return null;
  }
}
