import { TOPIC, reconItemMatchedEventId, type ReconItemMatchedV1 } from '@app/contracts';
import type { RelayMessage, RelaySource } from '@app/messaging';
import type { EntityManager } from 'typeorm';

/** One matched_item row with what its event needs, as Postgres hands it over (money as text). */
export interface MatchedItemRow {
  internalTransactionId: string;
  channel: string;
  matchedBy: 'MATCH_RUN' | 'DISCREPANCY_RESOLUTION';
  matchRunId: string | null;
  discrepancyId: string | null;
  matchedAt: string;
  businessDate: string;
  merchantId: string;
  eventId: string;
  eventType: 'PAYMENT_SUCCEEDED' | 'REFUND_SUCCEEDED';
  orderNo: string;
  refundNo: string | null;
  amount: string;
  currency: string;
  occurredAt: string;
  channelTxnId: string | null;
  paymentMethod: string | null;
  couponAmount: string | null;
  couponMerchantFunded: string | null;
  couponPlatformFunded: string | null;
  statementFileId: string | null;
  lineNo: number | null;
  lineAmount: string | null;
  lineFee: string | null;
  lineChannelTxnId: string | null;
  lineTradeTime: string | null;
}

const UTC = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** Unpublished marks in transaction-id order, joined to the transaction and its statement line. */
export const UNPUBLISHED_MATCHED_ITEMS_SQL = `
SELECT m.internal_transaction_id::text AS "internalTransactionId", m.channel, m.matched_by AS "matchedBy",
       m.match_run_id::text AS "matchRunId", m.discrepancy_id::text AS "discrepancyId",
       ${UTC('m.matched_at')} AS "matchedAt", to_char(it.business_date, 'YYYY-MM-DD') AS "businessDate",
       it.merchant_id AS "merchantId", it.event_id AS "eventId", it.event_type AS "eventType",
       it.order_no AS "orderNo", it.refund_no AS "refundNo", it.amount::text AS amount,
       it.currency::text AS currency, ${UTC('it.occurred_at')} AS "occurredAt",
       it.channel_txn_id AS "channelTxnId", it.payment_method AS "paymentMethod",
       it.coupon_amount::text AS "couponAmount", it.coupon_merchant_funded::text AS "couponMerchantFunded",
       it.coupon_platform_funded::text AS "couponPlatformFunded",
       m.statement_file_id::text AS "statementFileId", m.line_no AS "lineNo", l.amount::text AS "lineAmount",
       l.fee::text AS "lineFee", l.channel_txn_id AS "lineChannelTxnId",
       to_char(l.trade_time, 'YYYY-MM-DD HH24:MI:SS') AS "lineTradeTime"
FROM reconciliation.matched_item m
JOIN reconciliation.internal_transaction it ON it.id = m.internal_transaction_id
LEFT JOIN reconciliation.statement_line l ON l.statement_file_id = m.statement_file_id AND l.line_no = m.line_no
WHERE m.published_at IS NULL
ORDER BY m.internal_transaction_id
LIMIT $1`;

/**
 * The recon.item-matched.v1 event of a mark. Optional fields are left out, never null; the
 * contract's own parser accepts every event this builds (matched-item relay tests hold it to that).
 */
export function itemMatchedEventOf(row: MatchedItemRow): ReconItemMatchedV1 {
  const coupon =
    row.couponAmount === null
      ? undefined
      : {
          amount: row.couponAmount,
          merchantFunded: row.couponMerchantFunded ?? '0',
          platformFunded: row.couponPlatformFunded ?? '0',
        };
  return {
    eventId: reconItemMatchedEventId(row.channel, row.eventId),
    occurredAt: row.matchedAt,
    matchedBy: row.matchedBy,
    ...(row.matchRunId === null ? {} : { matchRunId: row.matchRunId }),
    ...(row.discrepancyId === null ? {} : { discrepancyId: row.discrepancyId }),
    channel: row.channel,
    businessDate: row.businessDate,
    merchantId: row.merchantId,
    transaction: {
      eventId: row.eventId,
      type: row.eventType,
      orderNo: row.orderNo,
      ...(row.refundNo === null ? {} : { refundNo: row.refundNo }),
      amount: row.amount,
      currency: row.currency,
      occurredAt: row.occurredAt,
      ...(row.channelTxnId === null ? {} : { channelTxnId: row.channelTxnId }),
      ...(row.paymentMethod === null ? {} : { paymentMethod: row.paymentMethod }),
      ...(coupon === undefined ? {} : { coupon }),
    },
    ...(row.statementFileId === null || row.lineNo === null || row.lineAmount === null
      ? {}
      : {
          statementLine: {
            statementFileId: row.statementFileId,
            lineNo: row.lineNo,
            amount: row.lineAmount,
            ...(row.lineFee === null ? {} : { fee: row.lineFee }),
            ...(row.lineChannelTxnId === null ? {} : { channelTxnId: row.lineChannelTxnId }),
            tradeTime: row.lineTradeTime ?? '',
          },
        }),
  } as ReconItemMatchedV1;
}

/** Reads up to `limit` unpublished marks as events (oldest transaction first). */
export async function unpublishedItemMatchedEvents(
  tx: EntityManager,
  limit: number,
): Promise<{ internalTransactionId: string; merchantId: string; event: ReconItemMatchedV1 }[]> {
  const rows = await tx.query<MatchedItemRow[]>(UNPUBLISHED_MATCHED_ITEMS_SQL, [limit]);
  return rows.map((row) => ({
    internalTransactionId: row.internalTransactionId,
    merchantId: row.merchantId,
    event: itemMatchedEventOf(row),
  }));
}

/** The relay source that publishes matched_item marks as recon.item-matched.v1, keyed by merchant. */
export function matchedItemSource(topicPrefix: string): RelaySource {
  const topic = `${topicPrefix}${TOPIC.reconItemMatchedV1}`;
  return {
    name: 'matched-item-relay:reconciliation',
    async fetch(tx, limit): Promise<RelayMessage[]> {
      const items = await unpublishedItemMatchedEvents(tx, limit);
      return items.map((item) => ({
        id: item.internalTransactionId,
        topic,
        key: item.merchantId,
        value: JSON.stringify(item.event),
        headers: { contract: TOPIC.reconItemMatchedV1 },
      }));
    },
    async markPublished(tx, ids) {
      await tx.query(
        `UPDATE reconciliation.matched_item SET published_at = now()
         WHERE internal_transaction_id = ANY($1::bigint[])`,
        [ids],
      );
    },
  };
}
