import { Money } from '@app/contracts';
import type { EntityManager } from 'typeorm';

/**
 * Funds back in settleable (2203) after their record was closed: finance rejected it, or its
 * payout was refused or failed for good. They are still the merchant's and are paid with the
 * merchant's next settlement record, which takes them into its carried_in (cycle close), unless an
 * operator retries the record's payout first (payout-retry.ts). Exactly one of the two consumes a
 * return, under a row lock, so the money is paid once and never left behind.
 */
export type ReturnCause = 'REJECTED' | 'PAYOUT_REFUSED' | 'PAYOUT_FAILED';

export interface OpenReturn {
  id: string;
  record_id: string;
  merchant_id: string;
  currency: string;
  amount: string;
}

/** Called in the transaction that posts the return entry; `ledgerKey` is that entry's key. */
export async function recordReturnedFunds(
  tx: EntityManager,
  r: { recordId: string; merchantId: string; amount: Money; cause: ReturnCause; ledgerKey: string },
): Promise<void> {
  if (!r.amount.isPositive()) return;
  await tx.query(
    `INSERT INTO settlement.returned_funds (record_id, merchant_id, currency, amount, cause, ledger_key)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (ledger_key) DO NOTHING`,
    [r.recordId, r.merchantId, r.amount.currency, r.amount.toString(), r.cause, r.ledgerKey],
  );
}

/**
 * The merchants' returns not yet paid, locked until the caller's transaction ends, in id order
 * (qualified: a bare `id` names the text column selected above, which sorts "10" before "9").
 */
export async function openReturnsOf(tx: EntityManager, merchants: readonly string[]): Promise<OpenReturn[]> {
  return tx.query<OpenReturn[]>(
    `SELECT id::text, record_id::text, merchant_id, currency::text AS currency, amount::text AS amount
     FROM settlement.returned_funds
     WHERE merchant_id = ANY($1) AND consumed_by_record_id IS NULL
     ORDER BY returned_funds.id FOR UPDATE`,
    [merchants],
  );
}

export async function consumeReturns(
  tx: EntityManager,
  consumed: readonly { returnId: string; byRecordId: string }[],
  how: 'NEXT_RECORD' | 'PAYOUT_RETRY',
  at: string,
): Promise<void> {
  if (consumed.length === 0) return;
  const updated = await tx.query<{ id: string }[]>(
    `WITH u AS (
       UPDATE settlement.returned_funds f SET consumed_by_record_id = c.record_id, consumed_how = $3, consumed_at = $4
       FROM unnest($1::bigint[], $2::bigint[]) AS c(id, record_id)
       WHERE f.id = c.id AND f.consumed_by_record_id IS NULL RETURNING f.id)
     SELECT id::text FROM u`,
    [consumed.map((c) => c.returnId), consumed.map((c) => c.byRecordId), how, at],
  );
  // The rows were locked by openReturnsOf in this transaction: anything else is a bug.
  if (updated.length !== consumed.length)
    throw new Error(`returned funds: ${consumed.length - updated.length} returns were consumed concurrently`);
}

/** Σ of returns per (merchant, currency) key as cycle close keys them. */
export function sumReturns(
  returns: readonly OpenReturn[],
  keyOf: (merchantId: string, currency: string) => string,
): Map<string, { total: Money; returns: OpenReturn[] }> {
  const sums = new Map<string, { total: Money; returns: OpenReturn[] }>();
  for (const r of returns) {
    const k = keyOf(r.merchant_id, r.currency);
    const s = sums.get(k) ?? { total: Money.zero(r.currency), returns: [] };
    s.total = s.total.plus(Money.of(r.amount, r.currency));
    s.returns.push(r);
    sums.set(k, s);
  }
  return sums;
}
