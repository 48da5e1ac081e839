/**
 * Shared by the payout int-specs: approved settlement records ready to be paid. Each merchant gets
 * T+1 terms (minimum payout 0) with its payout account (or none), one cleared item of `net` on
 * Friday 2026-09-25 posted 2202 pending → 2203 settleable as clearing would, the cycle closed on
 * Monday 2026-09-28 and every record approved by a finance user other than the submitter.
 */
import { Money, type ClearingItemClearedV1 } from '@app/contracts';
import type { Ledger } from '@app/ledger';
import type { DataSource } from 'typeorm';
import {
  ApprovalService,
  type PayoutAccount,
  itemCleared,
  storeClearedItems,
  CLOSE_SUBMITTER,
  CycleCloseService,
} from '../../apps/settlement/src/index.js';

export const PAYOUT_BUSINESS_DATE = '2026-09-25';
export const PAYOUT_CLOSE_DATE = '2026-09-28';

export interface PayoutMerchant {
  merchantId: string;
  net: string;
  /** null: no payout account on file (the payout is refused before anything is sent). */
  account: { no: string; type: PayoutAccount['type'] } | null;
}

export function payoutAccountJson(merchantId: string, account: { no: string; type: string }): string {
  return JSON.stringify({
    bank: 'ICBC',
    accountNo: account.no,
    holder: `${merchantId} Ltd`,
    type: account.type,
  });
}

/**
 * Stores cleared items in settlement and posts what clearing would have: Dr 2202 / Cr 2203 net
 * (reversed for a refund). @returns how many items were stored (new ones only)
 */
export async function clearIntoSettleable(
  db: DataSource,
  ledger: Ledger,
  items: readonly ClearingItemClearedV1[],
): Promise<number> {
  return db.transaction(async (tx) => {
    const stored = await storeClearedItems(tx, [...items]);
    await ledger.post(
      tx,
      items.map((e) => {
        const n = Money.of(e.net, e.currency);
        const [debit, credit] = n.isPositive()
          ? ['merchant_pending', 'merchant_settleable']
          : ['merchant_settleable', 'merchant_pending'];
        return {
          idempotencyKey: `test-clearing:${e.transactionEventId}`,
          businessRef: e.transactionEventId,
          effectiveAt: e.occurredAt,
          postings: [
            {
              account: { template: debit, owner: e.merchantId },
              side: 'DEBIT' as const,
              amount: n.abs().toString(),
              currency: e.currency,
            },
            {
              account: { template: credit, owner: e.merchantId },
              side: 'CREDIT' as const,
              amount: n.abs().toString(),
              currency: e.currency,
            },
          ],
        };
      }),
    );
    return stored;
  });
}

/** @returns record id by merchant id */
export async function seedApprovedRecords(
  db: DataSource,
  ledger: Ledger,
  merchants: readonly PayoutMerchant[],
): Promise<Map<string, string>> {
  for (const m of merchants)
    await db.query(
      `INSERT INTO settlement.merchant_terms (merchant_id, currency, cycle, minimum_payout, payout_account)
       VALUES ($1, 'CNY', '{"kind": "T_PLUS", "days": 1}', 0, $2)`,
      [m.merchantId, m.account === null ? null : payoutAccountJson(m.merchantId, m.account)],
    );
  const items: ClearingItemClearedV1[] = merchants.map((m) =>
    itemCleared(m.merchantId, PAYOUT_BUSINESS_DATE, m.net),
  );
  await clearIntoSettleable(db, ledger, items);
  await new CycleCloseService(db, ledger).close(PAYOUT_CLOSE_DATE, { by: CLOSE_SUBMITTER });
  const ids = new Map<string, string>();
  for (const r of await db.query<{ id: string; merchant_id: string }[]>(
    'SELECT id::text, merchant_id FROM settlement.settlement_record',
  ))
    ids.set(r.merchant_id, r.id);
  const approvals = new ApprovalService(db, ledger);
  for (const [merchant, recordId] of ids)
    await approvals.approve(recordId, { by: 'finance:bob', idempotencyKey: `approve-${merchant}` });
  return ids;
}
