import { MoneyDecimal } from '@app/contracts';
import type { DataSource, EntityManager } from 'typeorm';
import { CLEARING_KEY_PREFIX, CLEARING_TEMPLATE } from './clearing-entry.js';

/** Differences listed in full; past this many, the report says how many there are in all. */
export const DIFFERENCES_LISTED_MAX = 1_000;

export type DifferenceKind =
  | 'ENTRY_MISSING'
  | 'ENTRY_KEY_MISMATCH'
  | 'POSTING_MISMATCH'
  | 'ENTRY_WITHOUT_ITEM'
  | 'MERCHANT_TOTAL_MISMATCH'
  | 'CHANNEL_TOTAL_MISMATCH';

export interface Difference {
  kind: DifferenceKind;
  detail: string;
  transactionEventId?: string;
  journalEntryId?: string;
  merchantId?: string;
  channel?: string;
  account?: string;
  side?: 'D' | 'C';
  expected?: string | null;
  actual?: string | null;
}

/** Σ of a figure over the items, and the same money in the ledger's postings of their entries. */
export interface Compared {
  split: string;
  ledger: string;
}

export interface MerchantTotals {
  merchantId: string;
  currency: string;
  items: number;
  /** Moved out of merchant pending (2202): debits − credits of its entries on 2202. */
  pending: Compared;
  /** Merchant settleable (2203): credits − debits. */
  net: Compared;
  /** Fee income (6001): credits − debits. */
  fee: Compared;
}

export interface InternalReconciliationReport {
  businessDate: string;
  ok: boolean;
  /** Cleared items of the date, and the clearing journal entries that carry it. */
  items: number;
  entries: number;
  /** Matched refunds of the date still waiting for their payment to clear: not a difference. */
  awaitingPayment: number;
  merchants: MerchantTotals[];
  differenceCount: number;
  differences: Difference[];
}

/**
 * Internal reconciliation (内部对账) of one business date, between clearing's cleared items and the
 * ledger (DESIGN §6): every cleared item has exactly its journal entry (it exists, its key is
 * clearing:<transaction>, its postings are the item's split, account by account), every clearing
 * entry of the date has its cleared item, and per merchant Σ net = its 2203 postings, Σ fee = 6001,
 * Σ pending = 2202; per channel Σ channel cost = 6401 and 1122. Set-based SQL in one snapshot
 * (REPEATABLE READ), so a day of millions of items is compared in the database, not in Node.
 */
export async function internalReconciliation(
  dataSource: DataSource,
  businessDate: string,
): Promise<InternalReconciliationReport> {
  return dataSource.transaction('REPEATABLE READ', (tx) => internalReconciliationIn(tx, businessDate));
}

/**
 * Postings have a BRIN on entry_id, not a key (ledger migration 1764000003000): the day's entry ids
 * bound the range read, instead of a scan of every posting ever made.
 */
const POSTINGS_OF_ITEMS = `p.entry_id BETWEEN (SELECT min(journal_entry_id) FROM items) AND (SELECT max(journal_entry_id) FROM items)`;

/** The expected postings of an item: one per account, signed debit as in clearingEntryOf. */
const EXPECTED_LEGS = `
  CROSS JOIN LATERAL (VALUES
    ('${CLEARING_TEMPLATE.merchantPending}', i.merchant_id, i.pending),
    ('${CLEARING_TEMPLATE.merchantSettleable}', i.merchant_id, -i.net),
    ('${CLEARING_TEMPLATE.feeIncome}', NULL, -i.fee),
    ('${CLEARING_TEMPLATE.channelFeeExpense}', i.channel, i.channel_cost),
    ('${CLEARING_TEMPLATE.channelReceivable}', i.channel, -i.channel_cost)) AS x(template, owner, debit)`;

/** The same, in the caller's transaction (its snapshot, its uncommitted writes). */
export async function internalReconciliationIn(
  tx: EntityManager,
  businessDate: string,
): Promise<InternalReconciliationReport> {
  const differences: Difference[] = [];
  let differenceCount = 0;
  const add = (found: Difference[], total: number) => {
    differenceCount += total;
    differences.push(...found.slice(0, Math.max(0, DIFFERENCES_LISTED_MAX - differences.length)));
  };

  const [counts] = await tx.query<{ items: number; entries: number; awaiting: number }[]>(
    `SELECT (SELECT count(*)::int FROM clearing.cleared_item WHERE business_date = $1) AS items,
            (SELECT count(*)::int FROM ledger.journal_entry
              WHERE idempotency_key LIKE '${CLEARING_KEY_PREFIX}%' AND metadata->>'businessDate' = $1::text) AS entries,
            (SELECT count(*)::int FROM clearing.refund_awaiting_payment WHERE business_date = $1) AS awaiting`,
    [businessDate],
  );

  // 1. Each item's entry exists and is keyed by its transaction.
  const entries = await tx.query<
    {
      transaction_event_id: string;
      journal_entry_id: string;
      idempotency_key: string | null;
      total: number;
    }[]
  >(
    `SELECT i.transaction_event_id, i.journal_entry_id::text AS journal_entry_id, e.idempotency_key,
            count(*) OVER ()::int AS total
     FROM clearing.cleared_item i LEFT JOIN ledger.journal_entry e ON e.id = i.journal_entry_id
     WHERE i.business_date = $1
       AND (e.id IS NULL OR e.idempotency_key <> '${CLEARING_KEY_PREFIX}' || i.transaction_event_id)
     ORDER BY i.transaction_event_id
     LIMIT ${DIFFERENCES_LISTED_MAX}`,
    [businessDate],
  );
  add(
    entries.map((r) =>
      r.idempotency_key === null
        ? {
            kind: 'ENTRY_MISSING',
            transactionEventId: r.transaction_event_id,
            journalEntryId: r.journal_entry_id,
            detail: `cleared item ${r.transaction_event_id} names journal entry ${r.journal_entry_id}, which does not exist`,
          }
        : {
            kind: 'ENTRY_KEY_MISMATCH',
            transactionEventId: r.transaction_event_id,
            journalEntryId: r.journal_entry_id,
            expected: `${CLEARING_KEY_PREFIX}${r.transaction_event_id}`,
            actual: r.idempotency_key,
            detail: `cleared item ${r.transaction_event_id}: journal entry ${r.journal_entry_id} is keyed ${r.idempotency_key}`,
          },
    ),
    entries[0]?.total ?? 0,
  );

  // 2. Each entry's postings are the item's split, account by account and side by side.
  const postings = await tx.query<
    {
      transaction_event_id: string;
      journal_entry_id: string;
      template: string;
      owner: string | null;
      side: 'D' | 'C';
      expected: string | null;
      actual: string | null;
      total: number;
    }[]
  >(
    `WITH items AS (
       SELECT * FROM clearing.cleared_item WHERE business_date = $1),
     expected AS (
       SELECT i.transaction_event_id, i.journal_entry_id, x.template, x.owner,
              CASE WHEN x.debit > 0 THEN 'D' ELSE 'C' END AS side, abs(x.debit) AS amount, i.currency
       FROM items i ${EXPECTED_LEGS}
       WHERE x.debit <> 0),
     actual AS (
       SELECT i.transaction_event_id, i.journal_entry_id, a.template_code AS template, a.owner_id AS owner,
              p.side, sum(p.amount) AS amount, p.currency
       FROM items i JOIN ledger.posting p ON p.entry_id = i.journal_entry_id
       JOIN ledger.account a ON a.id = p.account_id
       WHERE ${POSTINGS_OF_ITEMS}
       GROUP BY i.transaction_event_id, i.journal_entry_id, a.template_code, a.owner_id, p.side, p.currency)
     SELECT coalesce(x.transaction_event_id, y.transaction_event_id) AS transaction_event_id,
            coalesce(x.journal_entry_id, y.journal_entry_id)::text AS journal_entry_id,
            coalesce(x.template, y.template) AS template, coalesce(x.owner, y.owner) AS owner,
            coalesce(x.side, y.side) AS side,
            x.amount::text || CASE WHEN x.amount IS NULL THEN '' ELSE ' ' || x.currency END AS expected,
            y.amount::text || CASE WHEN y.amount IS NULL THEN '' ELSE ' ' || y.currency END AS actual,
            count(*) OVER ()::int AS total
     FROM expected x
     FULL JOIN actual y
       ON y.transaction_event_id = x.transaction_event_id AND y.template = x.template
      AND y.owner IS NOT DISTINCT FROM x.owner AND y.side = x.side AND y.currency = x.currency
     WHERE x.amount IS DISTINCT FROM y.amount
       -- An entry that does not exist has no postings: already reported as ENTRY_MISSING.
       AND EXISTS (SELECT 1 FROM ledger.journal_entry e
                   WHERE e.id = coalesce(x.journal_entry_id, y.journal_entry_id))
     ORDER BY 1, 3, 4, 5
     LIMIT ${DIFFERENCES_LISTED_MAX}`,
    [businessDate],
  );
  add(
    postings.map((r) => {
      const account = r.owner === null ? r.template : `${r.template}:${r.owner}`;
      return {
        kind: 'POSTING_MISMATCH',
        transactionEventId: r.transaction_event_id,
        journalEntryId: r.journal_entry_id,
        account,
        side: r.side,
        expected: r.expected,
        actual: r.actual,
        detail: `entry ${r.journal_entry_id} of ${r.transaction_event_id}: ${r.side === 'D' ? 'debit' : 'credit'} ${account} is ${r.actual ?? 'missing'}, the split says ${r.expected ?? 'none'}`,
      };
    }),
    postings[0]?.total ?? 0,
  );

  // 3. Every clearing entry of the date (or without one) belongs to its cleared item.
  const orphans = await tx.query<{ id: string; idempotency_key: string; total: number }[]>(
    `SELECT e.id::text AS id, e.idempotency_key, count(*) OVER ()::int AS total
     FROM ledger.journal_entry e
     WHERE e.idempotency_key LIKE '${CLEARING_KEY_PREFIX}%'
       AND (e.metadata->>'businessDate' = $1::text OR e.metadata->>'businessDate' IS NULL)
       AND NOT EXISTS (SELECT 1 FROM clearing.cleared_item i
                       WHERE i.transaction_event_id = substr(e.idempotency_key, ${CLEARING_KEY_PREFIX.length + 1})
                         AND i.journal_entry_id = e.id)
     ORDER BY e.id
     LIMIT ${DIFFERENCES_LISTED_MAX}`,
    [businessDate],
  );
  add(
    orphans.map((r) => ({
      kind: 'ENTRY_WITHOUT_ITEM',
      journalEntryId: r.id,
      transactionEventId: r.idempotency_key.slice(CLEARING_KEY_PREFIX.length),
      detail: `journal entry ${r.id} (${r.idempotency_key}) has no cleared item`,
    })),
    orphans[0]?.total ?? 0,
  );

  // 4. Per merchant and per channel: the sums of the split against the sums of the postings.
  const merchantRows = await tx.query<
    {
      merchant_id: string;
      currency: string;
      items: number;
      split_pending: string;
      split_net: string;
      split_fee: string;
      ledger_pending: string;
      ledger_net: string;
      ledger_fee: string;
    }[]
  >(
    `WITH items AS (
       SELECT * FROM clearing.cleared_item WHERE business_date = $1),
     split AS (
       SELECT merchant_id, currency, count(*)::int AS items, sum(pending) AS pending, sum(net) AS net,
              sum(fee) AS fee
       FROM items GROUP BY merchant_id, currency),
     booked AS (
       SELECT i.merchant_id, p.currency,
              sum(CASE WHEN a.template_code = '${CLEARING_TEMPLATE.merchantPending}'
                       THEN CASE p.side WHEN 'D' THEN p.amount ELSE -p.amount END END) AS pending,
              sum(CASE WHEN a.template_code = '${CLEARING_TEMPLATE.merchantSettleable}'
                       THEN CASE p.side WHEN 'C' THEN p.amount ELSE -p.amount END END) AS net,
              sum(CASE WHEN a.template_code = '${CLEARING_TEMPLATE.feeIncome}'
                       THEN CASE p.side WHEN 'C' THEN p.amount ELSE -p.amount END END) AS fee
       FROM items i JOIN ledger.posting p ON p.entry_id = i.journal_entry_id
       JOIN ledger.account a ON a.id = p.account_id
       WHERE ${POSTINGS_OF_ITEMS}
       GROUP BY i.merchant_id, p.currency)
     SELECT s.merchant_id, s.currency, s.items,
            s.pending::text AS split_pending, s.net::text AS split_net, s.fee::text AS split_fee,
            coalesce(b.pending, 0)::text AS ledger_pending, coalesce(b.net, 0)::text AS ledger_net,
            coalesce(b.fee, 0)::text AS ledger_fee
     FROM split s LEFT JOIN booked b ON b.merchant_id = s.merchant_id AND b.currency = s.currency
     ORDER BY s.merchant_id, s.currency`,
    [businessDate],
  );
  const merchants: MerchantTotals[] = merchantRows.map((r) => ({
    merchantId: r.merchant_id,
    currency: r.currency,
    items: r.items,
    pending: { split: r.split_pending, ledger: r.ledger_pending },
    net: { split: r.split_net, ledger: r.ledger_net },
    fee: { split: r.split_fee, ledger: r.ledger_fee },
  }));
  const totalMismatches: Difference[] = [];
  for (const m of merchants) {
    for (const [figure, account] of [
      ['pending', '2202 merchant pending'],
      ['net', '2203 merchant settleable'],
      ['fee', '6001 fee income'],
    ] as const) {
      const { split, ledger } = m[figure];
      if (!sameNumeric(split, ledger))
        totalMismatches.push({
          kind: 'MERCHANT_TOTAL_MISMATCH',
          merchantId: m.merchantId,
          account,
          expected: `${split} ${m.currency}`,
          actual: `${ledger} ${m.currency}`,
          detail: `merchant ${m.merchantId}: Σ ${figure} of ${m.items} cleared items is ${split} ${m.currency}, ${account} postings of their entries ${ledger}`,
        });
    }
  }
  const channelRows = await tx.query<
    { channel: string; currency: string; split_cost: string; expense: string; receivable: string }[]
  >(
    `WITH items AS (
       SELECT * FROM clearing.cleared_item WHERE business_date = $1),
     split AS (
       SELECT channel, currency, sum(channel_cost) AS cost FROM items GROUP BY channel, currency),
     booked AS (
       SELECT i.channel, p.currency,
              sum(CASE WHEN a.template_code = '${CLEARING_TEMPLATE.channelFeeExpense}'
                       THEN CASE p.side WHEN 'D' THEN p.amount ELSE -p.amount END END) AS expense,
              sum(CASE WHEN a.template_code = '${CLEARING_TEMPLATE.channelReceivable}'
                       THEN CASE p.side WHEN 'C' THEN p.amount ELSE -p.amount END END) AS receivable
       FROM items i JOIN ledger.posting p ON p.entry_id = i.journal_entry_id
       JOIN ledger.account a ON a.id = p.account_id
       WHERE ${POSTINGS_OF_ITEMS}
       GROUP BY i.channel, p.currency)
     SELECT s.channel, s.currency, s.cost::text AS split_cost, coalesce(b.expense, 0)::text AS expense,
            coalesce(b.receivable, 0)::text AS receivable
     FROM split s LEFT JOIN booked b ON b.channel = s.channel AND b.currency = s.currency
     ORDER BY s.channel, s.currency`,
    [businessDate],
  );
  for (const r of channelRows) {
    for (const [booked, account] of [
      [r.expense, '6401 channel fee expense'],
      [r.receivable, '1122 channel receivable'],
    ] as const) {
      if (!sameNumeric(r.split_cost, booked))
        totalMismatches.push({
          kind: 'CHANNEL_TOTAL_MISMATCH',
          channel: r.channel,
          account,
          expected: `${r.split_cost} ${r.currency}`,
          actual: `${booked} ${r.currency}`,
          detail: `channel ${r.channel}: Σ channel cost of the cleared items is ${r.split_cost} ${r.currency}, ${account} postings of their entries ${booked}`,
        });
    }
  }
  add(totalMismatches, totalMismatches.length);

  return {
    businessDate,
    ok: differenceCount === 0,
    items: counts!.items,
    entries: counts!.entries,
    awaitingPayment: counts!.awaiting,
    merchants,
    differenceCount,
    differences,
  };
}

/** numeric as text compares by value: '1.50' = '1.5'. */
function sameNumeric(a: string, b: string): boolean {
  return new MoneyDecimal(a).equals(b);
}
