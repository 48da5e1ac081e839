import { Money, type ReconItemMatchedV1 } from '@app/contracts';
import { copyRows, fastPathUnlessDuplicate } from '@app/platform';
import type { EntityManager } from 'typeorm';
import type { RefundFeePolicy } from '../fees/fee.types.js';
import { paymentSplitOf, type ClearedItem, type ClearedPayment } from './cleared-item.js';

const COLUMNS = [
  'transaction_event_id',
  'matched_event_id',
  'merchant_id',
  'channel',
  'business_date',
  'type',
  'order_no',
  'refund_no',
  'payment_transaction_event_id',
  'currency',
  'amount',
  'order_value',
  'coupon_merchant_funded',
  'coupon_platform_funded',
  'gross',
  'pending',
  'fee',
  'channel_cost',
  'net',
  'fee_rule_id',
  'fee_rule_version',
  'refund_fee_policy',
  'fee_rounding',
  'journal_entry_id',
  'effective_at',
  'cleared_at',
] as const;

const COLUMN_TYPES: Record<(typeof COLUMNS)[number], string> = {
  transaction_event_id: 'text',
  matched_event_id: 'text',
  merchant_id: 'text',
  channel: 'text',
  business_date: 'date',
  type: 'text',
  order_no: 'text',
  refund_no: 'text',
  payment_transaction_event_id: 'text',
  currency: 'text',
  amount: 'numeric',
  order_value: 'numeric',
  coupon_merchant_funded: 'numeric',
  coupon_platform_funded: 'numeric',
  gross: 'numeric',
  pending: 'numeric',
  fee: 'numeric',
  channel_cost: 'numeric',
  net: 'numeric',
  fee_rule_id: 'bigint',
  fee_rule_version: 'int',
  refund_fee_policy: 'text',
  fee_rounding: 'text',
  journal_entry_id: 'bigint',
  effective_at: 'timestamptz',
  cleared_at: 'timestamptz',
};

export interface ClearedItemRow {
  transaction_event_id: string;
  matched_event_id: string;
  merchant_id: string;
  channel: string;
  business_date: string;
  type: 'PAYMENT' | 'REFUND';
  order_no: string;
  refund_no: string | null;
  payment_transaction_event_id: string | null;
  currency: string;
  amount: string;
  order_value: string | null;
  coupon_merchant_funded: string | null;
  coupon_platform_funded: string | null;
  gross: string;
  pending: string;
  fee: string;
  channel_cost: string;
  net: string;
  fee_rule_id: string;
  fee_rule_version: number;
  refund_fee_policy: RefundFeePolicy | null;
  fee_rounding: string | null;
  journal_entry_id: string;
  effective_at: string;
  cleared_at: string;
}

/**
 * The select list of a ClearedItemRow, columns qualified by `alias`: money, ids and instants as
 * text, so that they never pass through a JS number or Date.
 */
export function clearedItemColumns(alias: string): string {
  return COLUMNS.map((c) => {
    const column = `${alias}.${c}`;
    if (COLUMN_TYPES[c] === 'text' || c === 'fee_rule_version') return `${column} AS ${c}`;
    if (COLUMN_TYPES[c] === 'timestamptz')
      return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${c}`;
    return `${column}::text AS ${c}`;
  }).join(', ');
}

function rowOf(item: ClearedItem): (string | number | null)[] {
  const f = item.figures;
  return [
    item.transactionEventId,
    item.matchedEventId,
    item.merchantId,
    item.channel,
    item.businessDate,
    item.type,
    item.orderNo,
    item.refundNo,
    item.paymentTransactionEventId,
    f.currency,
    f.amount,
    f.orderValue,
    f.couponMerchantFunded,
    f.couponPlatformFunded,
    f.gross,
    f.pending,
    f.fee,
    f.channelCost,
    f.net,
    item.feeRuleId,
    item.feeRuleVersion,
    item.refundFeePolicy,
    item.feeRounding,
    item.journalEntryId,
    item.effectiveAt,
    item.clearedAt,
  ];
}

export function itemOf(row: ClearedItemRow): ClearedItem {
  const c = row.currency;
  const money = (value: string) => Money.of(value, c).toString();
  const optional = (value: string | null) => (value === null ? null : money(value));
  return {
    transactionEventId: row.transaction_event_id,
    matchedEventId: row.matched_event_id,
    merchantId: row.merchant_id,
    channel: row.channel,
    businessDate: row.business_date,
    type: row.type,
    orderNo: row.order_no,
    refundNo: row.refund_no,
    paymentTransactionEventId: row.payment_transaction_event_id,
    effectiveAt: row.effective_at,
    figures: {
      currency: c,
      amount: money(row.amount),
      gross: money(row.gross),
      pending: money(row.pending),
      fee: money(row.fee),
      channelCost: money(row.channel_cost),
      net: money(row.net),
      orderValue: optional(row.order_value),
      couponMerchantFunded: optional(row.coupon_merchant_funded),
      couponPlatformFunded: optional(row.coupon_platform_funded),
    },
    feeRuleId: row.fee_rule_id,
    feeRuleVersion: row.fee_rule_version,
    refundFeePolicy: row.refund_fee_policy,
    feeRounding: row.fee_rounding,
    journalEntryId: row.journal_entry_id,
    clearedAt: row.cleared_at,
  };
}

/** Where a refund looks for its payment: same merchant, channel and order. */
export interface OrderKey {
  merchantId: string;
  channel: string;
  orderNo: string;
}

export const orderKeyOf = (k: OrderKey) => `${k.merchantId}\u0000${k.channel}\u0000${k.orderNo}`;

/** A refund that matched before its payment was cleared, with the message it came in. */
export interface ParkedRefund {
  event: ReconItemMatchedV1;
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
}

/**
 * clearing.cleared_item and clearing.refund_awaiting_payment, in the caller's transaction: every
 * write commits with the journal entries, the inbox rows and the outbox rows of its batch.
 */
export class ClearedItemRepository {
  /**
   * Inserts cleared items; one already there (the same transaction cleared before) is left as it
   * is. Returns the transaction event ids inserted now.
   */
  async insertMany(tx: EntityManager, items: ClearedItem[]): Promise<Set<string>> {
    if (items.length === 0) return new Set();
    const rows = items.map(rowOf);
    // COPY is the fast path; a transaction already cleared is rare and takes the slow one.
    return fastPathUnlessDuplicate(
      tx,
      async () => {
        await copyRows(tx, 'clearing.cleared_item', COLUMNS, rows);
        return new Set(items.map((i) => i.transactionEventId));
      },
      async () => {
        const records = rows.map((row) => Object.fromEntries(COLUMNS.map((c, i) => [c, row[i]])));
        const inserted = await tx.query<{ transaction_event_id: string }[]>(
          `INSERT INTO clearing.cleared_item (${COLUMNS.join(', ')})
           SELECT ${COLUMNS.join(', ')}
           FROM jsonb_to_recordset($1::jsonb) AS x(${COLUMNS.map((c) => `${c} ${COLUMN_TYPES[c]}`).join(', ')})
           ON CONFLICT (transaction_event_id) DO NOTHING
           RETURNING transaction_event_id`,
          [JSON.stringify(records)],
        );
        return new Set(inserted.map((r) => r.transaction_event_id));
      },
    );
  }

  /**
   * The cleared payments of these orders (at most one per merchant, channel and order: reconciliation
   * matches a payment key once), each with the sums of the refunds already cleared against it.
   */
  async paymentsOf(tx: EntityManager, orders: OrderKey[]): Promise<Map<string, ClearedPayment>> {
    const result = new Map<string, ClearedPayment>();
    if (orders.length === 0) return result;
    const unique = [...new Map(orders.map((o) => [orderKeyOf(o), o])).values()];
    const rows = await tx.query<
      (ClearedItemRow & { refunded: string | null; fee_returned: string | null })[]
    >(
      `SELECT ${clearedItemColumns('p')},
              r.refunded::text AS refunded, r.fee_returned::text AS fee_returned
       FROM unnest($1::text[], $2::text[], $3::text[]) AS k(merchant_id, channel, order_no)
       JOIN clearing.cleared_item p
         ON p.merchant_id = k.merchant_id AND p.order_no = k.order_no AND p.channel = k.channel AND p.type = 'PAYMENT'
       LEFT JOIN LATERAL (
         SELECT sum(r.amount) AS refunded, -sum(r.fee) AS fee_returned
         FROM clearing.cleared_item r
         WHERE r.merchant_id = p.merchant_id AND r.order_no = p.order_no AND r.type = 'REFUND'
           AND r.payment_transaction_event_id = p.transaction_event_id) r ON true`,
      [unique.map((o) => o.merchantId), unique.map((o) => o.channel), unique.map((o) => o.orderNo)],
    );
    for (const row of rows) {
      const item = itemOf(row);
      const c = item.figures.currency;
      result.set(orderKeyOf(item), {
        item,
        split: paymentSplitOf(item),
        refundedBefore: Money.of(row.refunded ?? '0', c).toString(),
        feeReturnedBefore: Money.of(row.fee_returned ?? '0', c).toString(),
      });
    }
    return result;
  }

  /** Parks refunds whose payment is not cleared yet; a refund already parked stays as it is. */
  async park(tx: EntityManager, refunds: ParkedRefund[]): Promise<void> {
    if (refunds.length === 0) return;
    await tx.query(
      `INSERT INTO clearing.refund_awaiting_payment (transaction_event_id, matched_event_id, merchant_id, channel,
         business_date, order_no, event, source_topic, source_partition, source_offset, message_key, message_value,
         message_headers)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::date[], $6::text[], $7::jsonb[],
                            $8::text[], $9::int[], $10::text[], $11::text[], $12::bytea[], $13::jsonb[])
       ON CONFLICT (transaction_event_id) DO NOTHING`,
      [
        refunds.map((r) => r.event.transaction.eventId),
        refunds.map((r) => r.event.eventId),
        refunds.map((r) => r.event.merchantId),
        refunds.map((r) => r.event.channel),
        refunds.map((r) => r.event.businessDate),
        refunds.map((r) => r.event.transaction.orderNo),
        refunds.map((r) => JSON.stringify(r.event)),
        refunds.map((r) => r.topic),
        refunds.map((r) => r.partition),
        refunds.map((r) => r.offset),
        refunds.map((r) => r.key),
        refunds.map((r) => r.value),
        refunds.map((r) => JSON.stringify(r.headers)),
      ],
    );
  }

  /** The parked refunds of these orders, locked: the caller clears or dead-letters them. */
  async parkedOf(tx: EntityManager, orders: OrderKey[]): Promise<ParkedRefund[]> {
    if (orders.length === 0) return [];
    const rows = await tx.query<
      {
        event: ReconItemMatchedV1;
        source_topic: string;
        source_partition: number;
        source_offset: string;
        message_key: string | null;
        message_value: Buffer;
        message_headers: Record<string, string>;
      }[]
    >(
      `SELECT w.event, w.source_topic, w.source_partition, w.source_offset, w.message_key, w.message_value,
              w.message_headers
       FROM unnest($1::text[], $2::text[], $3::text[]) AS k(merchant_id, channel, order_no)
       JOIN clearing.refund_awaiting_payment w
         ON w.merchant_id = k.merchant_id AND w.order_no = k.order_no AND w.channel = k.channel
       ORDER BY w.transaction_event_id
       FOR UPDATE OF w`,
      [orders.map((o) => o.merchantId), orders.map((o) => o.channel), orders.map((o) => o.orderNo)],
    );
    return rows.map((r) => ({
      event: r.event,
      topic: r.source_topic,
      partition: r.source_partition,
      offset: r.source_offset,
      key: r.message_key,
      value: r.message_value,
      headers: r.message_headers,
    }));
  }

  async unpark(tx: EntityManager, transactionEventIds: string[]): Promise<void> {
    if (transactionEventIds.length === 0) return;
    await tx.query(
      `WITH gone AS (DELETE FROM clearing.refund_awaiting_payment WHERE transaction_event_id = ANY($1::text[])
                     RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [transactionEventIds],
    );
  }
}
