import type { ClearingItemClearedV1 } from '@app/contracts';
import type { EventBatchHandler, InboundEvent } from '@app/messaging';
import { copyRows, fastPathUnlessDuplicate } from '@app/platform';
import type { EntityManager } from 'typeorm';

const COLUMNS = [
  'event_id',
  'transaction_event_id',
  'merchant_id',
  'channel',
  'type',
  'business_date',
  'currency',
  'gross',
  'fee',
  'channel_cost',
  'net',
  'cleared_at',
  'order_no',
  'refund_no',
  'coupon_merchant_funded',
  'coupon_platform_funded',
] as const;
const TYPES = [
  'uuid',
  'text',
  'text',
  'text',
  'text',
  'date',
  'text',
  'numeric',
  'numeric',
  'numeric',
  'numeric',
  'timestamptz',
  'text',
  'text',
  'numeric',
  'numeric',
];

/** Absent optional fields (a payment's refund number, a refund's coupon parts) are stored as NULL. */
function rowOf(e: ClearingItemClearedV1): (string | null)[] {
  return [
    e.eventId,
    e.transactionEventId,
    e.merchantId,
    e.channel,
    e.type,
    e.businessDate,
    e.currency,
    e.gross,
    e.fee,
    e.channelCost,
    e.net,
    e.occurredAt,
    e.orderNo,
    e.refundNo ?? null,
    e.couponMerchantFunded ?? null,
    e.couponPlatformFunded ?? null,
  ];
}

/**
 * Stores cleared items, many per statement: one COPY per chunk, which is what a 10M-item day
 * needs. The consumer's inbox already let only first-seen event ids through, so a duplicate here
 * is another event id for a transaction already stored (not something clearing emits: its ids are
 * derived from the transaction) or a racing redelivery; the COPY then fails on a unique index and
 * the chunk falls back to INSERT … ON CONFLICT DO NOTHING, which keeps the first.
 * @returns the event ids actually stored
 */
export async function storeClearedItems(tx: EntityManager, events: ClearingItemClearedV1[]): Promise<number> {
  if (events.length === 0) return 0;
  const rows = events.map(rowOf);
  return fastPathUnlessDuplicate(
    tx,
    async () => {
      await copyRows(tx, 'settlement.cleared_item', COLUMNS, rows);
      return rows.length;
    },
    async () => {
      const columns = COLUMNS.map((_, i) => rows.map((r) => r[i] ?? null));
      const inserted = await tx.query<{ event_id: string }[]>(
        `INSERT INTO settlement.cleared_item (${COLUMNS.join(', ')})
         SELECT * FROM unnest(${TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})
         ON CONFLICT DO NOTHING RETURNING event_id`,
        columns,
      );
      return inserted.length;
    },
  );
}

/** The consumer's handler: every first-seen clearing.item-cleared.v1 becomes one cleared item. */
export class ClearedItemHandler implements EventBatchHandler<ClearingItemClearedV1> {
  async handle(events: InboundEvent<ClearingItemClearedV1>[], tx: EntityManager): Promise<void> {
    await storeClearedItems(
      tx,
      events.map((e) => e.value),
    );
  }
}
