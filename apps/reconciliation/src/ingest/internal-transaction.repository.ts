import { invariant } from '@app/contracts';
import { copyRows, fastPathUnlessDuplicate } from '@app/platform';
import type { EntityManager } from 'typeorm';
import { businessKeyOf, type InternalTransaction } from './internal-transaction.js';

export interface RecordedTransaction {
  eventId: string;
  merchantId: string;
  amount: string;
  currency: string;
  businessKey: string;
}

const COPY_COLUMNS = [
  'event_id',
  'event_type',
  'merchant_id',
  'channel',
  'order_no',
  'refund_no',
  'channel_txn_id',
  'payment_method',
  'amount',
  'currency',
  'coupon_amount',
  'coupon_merchant_funded',
  'coupon_platform_funded',
  'occurred_at',
  'business_date',
  'business_zone',
  'metadata',
] as const;

function copyValues(t: InternalTransaction): (string | null)[] {
  return [
    t.eventId,
    t.eventType,
    t.merchantId,
    t.channel,
    t.orderNo,
    t.refundNo,
    t.channelTxnId,
    t.paymentMethod,
    t.amount,
    t.currency,
    t.couponAmount,
    t.couponMerchantFunded,
    t.couponPlatformFunded,
    t.occurredAt,
    t.businessDate,
    t.businessZone,
    t.metadata === null ? null : JSON.stringify(t.metadata),
  ];
}

interface RecordedRow {
  event_id: string;
  merchant_id: string;
  amount: string;
  currency: string;
  channel: string;
  event_type: InternalTransaction['eventType'];
  order_no: string;
  refund_no: string | null;
}

/**
 * Set-based writes: a batch of thousands of transactions is one INSERT (rows shipped as one JSON
 * document), never one round trip per row.
 */
export class InternalTransactionRepository {
  /** Inserts the batch; returns the rows NOT inserted because their business key is already recorded. */
  async insertMany(tx: EntityManager, rows: InternalTransaction[]): Promise<InternalTransaction[]> {
    if (rows.length === 0) return [];
    // COPY when no business key repeats (the normal case); the upsert below only after a conflict.
    return fastPathUnlessDuplicate(
      tx,
      async () => {
        await copyRows(tx, 'reconciliation.internal_transaction', COPY_COLUMNS, rows.map(copyValues));
        return [];
      },
      () => this.insertSkippingRecorded(tx, rows),
    );
  }

  private async insertSkippingRecorded(
    tx: EntityManager,
    rows: InternalTransaction[],
  ): Promise<InternalTransaction[]> {
    const inserted = await tx.query<{ event_id: string }[]>(
      `INSERT INTO reconciliation.internal_transaction (
         event_id, event_type, merchant_id, channel, order_no, refund_no, channel_txn_id, payment_method,
         amount, currency, coupon_amount, coupon_merchant_funded, coupon_platform_funded,
         occurred_at, business_date, business_zone, metadata)
       SELECT t."eventId", t."eventType", t."merchantId", t.channel, t."orderNo", t."refundNo", t."channelTxnId",
              t."paymentMethod", t.amount, t.currency, t."couponAmount", t."couponMerchantFunded",
              t."couponPlatformFunded", t."occurredAt", t."businessDate", t."businessZone", t.metadata
       FROM jsonb_to_recordset($1::jsonb) AS t(
         "eventId" text, "eventType" text, "merchantId" text, channel text, "orderNo" text, "refundNo" text,
         "channelTxnId" text, "paymentMethod" text, amount numeric, currency text, "couponAmount" numeric,
         "couponMerchantFunded" numeric, "couponPlatformFunded" numeric, "occurredAt" timestamptz,
         "businessDate" date, "businessZone" text, metadata jsonb)
       ON CONFLICT (channel, event_type, order_no, (coalesce(refund_no, ''))) DO NOTHING
       RETURNING event_id`,
      [JSON.stringify(rows)],
    );
    if (inserted.length === rows.length) return [];
    const insertedIds = new Set(inserted.map((r) => r.event_id));
    return rows.filter((r) => !insertedIds.has(r.eventId));
  }

  /**
   * Takes back rows this transaction inserted for events it then rejects (their ledger entry was
   * refused): a rejected event leaves no trace but its inbox row and its dead letter. By event id:
   * the inbox lets an event id through once, so the only rows with these ids are the ones just
   * inserted.
   */
  async deleteInsertedInThisTransaction(tx: EntityManager, rows: InternalTransaction[]): Promise<void> {
    if (rows.length === 0) return;
    const [deleted] = await tx.query<{ n: number }[]>(
      `WITH gone AS (
         DELETE FROM reconciliation.internal_transaction
         WHERE event_id = ANY($1::text[])
         RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [rows.map((r) => r.eventId)],
    );
    invariant(
      deleted?.n === rows.length,
      () => `took back ${deleted?.n} internal transactions of ${rows.length} inserted in this transaction`,
    );
  }

  /** The recorded transactions holding these business keys. */
  async findByBusinessKeys(
    tx: EntityManager,
    rows: InternalTransaction[],
  ): Promise<Map<string, RecordedTransaction>> {
    const found = await tx.query<RecordedRow[]>(
      `SELECT it.event_id, it.merchant_id, it.amount::text AS amount, it.currency, it.channel, it.event_type,
              it.order_no, it.refund_no
       FROM reconciliation.internal_transaction it
       JOIN unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS k(channel, event_type, order_no, refund_no)
         ON it.channel = k.channel AND it.event_type = k.event_type AND it.order_no = k.order_no
        AND coalesce(it.refund_no, '') = k.refund_no`,
      [
        rows.map((r) => r.channel),
        rows.map((r) => r.eventType),
        rows.map((r) => r.orderNo),
        rows.map((r) => r.refundNo ?? ''),
      ],
    );
    const byKey = new Map<string, RecordedTransaction>();
    for (const r of found) {
      const businessKey = businessKeyOf({
        channel: r.channel,
        eventType: r.event_type,
        orderNo: r.order_no,
        refundNo: r.refund_no,
      });
      byKey.set(businessKey, {
        eventId: r.event_id,
        merchantId: r.merchant_id,
        amount: r.amount,
        currency: r.currency,
        businessKey,
      });
    }
    return byKey;
  }
}
