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

/** What an event needs from a mark `m` and its transaction `it`. */
const EVENT_COLUMNS = `
       m.internal_transaction_id::text AS "internalTransactionId", m.channel, m.matched_by AS "matchedBy",
       m.match_run_id::text AS "matchRunId", m.discrepancy_id::text AS "discrepancyId",
       ${UTC('m.matched_at')} AS "matchedAt", to_char(it.business_date, 'YYYY-MM-DD') AS "businessDate",
       it.merchant_id AS "merchantId", it.event_id AS "eventId", it.event_type AS "eventType",
       it.order_no AS "orderNo", it.refund_no AS "refundNo", it.amount::text AS amount,
       it.currency::text AS currency, ${UTC('it.occurred_at')} AS "occurredAt",
       it.channel_txn_id AS "channelTxnId", it.payment_method AS "paymentMethod",
       it.coupon_amount::text AS "couponAmount", it.coupon_merchant_funded::text AS "couponMerchantFunded",
       it.coupon_platform_funded::text AS "couponPlatformFunded",
       m.statement_file_id::text AS "statementFileId", m.line_no AS "lineNo", m.line_amount::text AS "lineAmount",
       m.line_fee::text AS "lineFee", m.line_channel_txn_id AS "lineChannelTxnId",
       to_char(m.line_trade_time, 'YYYY-MM-DD HH24:MI:SS') AS "lineTradeTime"`;

/** Unpublished marks in transaction-id order, with their transactions. */
export const UNPUBLISHED_MATCHED_ITEMS_SQL = `
SELECT ${EVENT_COLUMNS}
FROM reconciliation.matched_item m
JOIN reconciliation.internal_transaction it ON it.id = m.internal_transaction_id
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

/**
 * The MATCHED lines of a file matched on import (ADR 013), from the relay's mark onwards: each one
 * is recorded in matched_item as it is published — in the relay's transaction, so a failed send
 * records nothing — and a line whose transaction was released before (a re-run, a resolution)
 * conflicts on the primary key and is not published again. Reads at most `limit` lines per window
 * of `seq`, through the BRIN, and moves the file's mark past every window it has read.
 */
const RELEASE_MATCHED_LINES_SQL = `
WITH batch AS (
  SELECT l.line_no, l.internal_transaction_id, l.amount, l.fee, l.channel_txn_id, l.trade_time
  FROM reconciliation.statement_line l
  WHERE l.statement_file_id = $1 AND l.seq > $2 AND l.seq <= $3 AND l.match_class = 'MATCHED'
),
released AS (
  INSERT INTO reconciliation.matched_item
    (internal_transaction_id, channel, matched_by, match_run_id, statement_file_id, line_no, matched_at,
     published_at, line_amount, line_fee, line_channel_txn_id, line_trade_time)
  SELECT b.internal_transaction_id, f.channel, 'MATCH_RUN', f.match_run_id, f.id, b.line_no, r.started_at,
         now(), b.amount, b.fee, b.channel_txn_id, b.trade_time
  FROM batch b
  JOIN reconciliation.statement_file f ON f.id = $1
  JOIN reconciliation.match_run r ON r.id = f.match_run_id
  ORDER BY b.line_no
  ON CONFLICT (internal_transaction_id) DO NOTHING
  RETURNING *
)
SELECT ${EVENT_COLUMNS}
FROM released m
JOIN reconciliation.internal_transaction it ON it.id = m.internal_transaction_id
ORDER BY m.line_no`;

async function releaseMatchedLines(
  tx: EntityManager,
  limit: number,
): Promise<{ internalTransactionId: string; merchantId: string; event: ReconItemMatchedV1 }[]> {
  const [file] = await tx.query<{ id: string; through: number; lines: number }[]>(
    `SELECT id::text AS id, published_through_seq AS through, line_count AS lines
     FROM reconciliation.statement_file
     WHERE match_run_id IS NOT NULL AND published_through_seq < line_count
     ORDER BY statement_file.id LIMIT 1`,
  );
  if (file === undefined) return [];
  let through = file.through;
  const out: { internalTransactionId: string; merchantId: string; event: ReconItemMatchedV1 }[] = [];
  while (out.length === 0 && through < file.lines) {
    const until = Math.min(through + limit, file.lines);
    const rows = await tx.query<MatchedItemRow[]>(RELEASE_MATCHED_LINES_SQL, [file.id, through, until]);
    for (const row of rows)
      out.push({
        internalTransactionId: row.internalTransactionId,
        merchantId: row.merchantId,
        event: itemMatchedEventOf(row),
      });
    through = until;
  }
  await tx.query(`UPDATE reconciliation.statement_file SET published_through_seq = $2 WHERE id = $1`, [
    file.id,
    through,
  ]);
  return out;
}

const LINE_ID = 'line:';

/**
 * The relay source of recon.item-matched.v1, keyed by merchant: matched_item marks not yet
 * published (re-runs, resolutions), then the MATCHED lines of files matched on import.
 */
export function matchedItemSource(topicPrefix: string): RelaySource {
  const topic = `${topicPrefix}${TOPIC.reconItemMatchedV1}`;
  const message = (id: string, item: { merchantId: string; event: ReconItemMatchedV1 }): RelayMessage => ({
    id,
    topic,
    key: item.merchantId,
    value: JSON.stringify(item.event),
    headers: { contract: TOPIC.reconItemMatchedV1 },
  });
  return {
    name: 'matched-item-relay:reconciliation',
    async fetch(tx, limit): Promise<RelayMessage[]> {
      const items = await unpublishedItemMatchedEvents(tx, limit);
      if (items.length > 0) return items.map((item) => message(item.internalTransactionId, item));
      const lines = await releaseMatchedLines(tx, limit);
      return lines.map((item) => message(`${LINE_ID}${item.internalTransactionId}`, item));
    },
    async markPublished(tx, ids) {
      // A line's mark was written published, in this transaction, by `releaseMatchedLines`.
      const marks = ids.filter((id) => !id.startsWith(LINE_ID));
      if (marks.length === 0) return;
      await tx.query(
        `UPDATE reconciliation.matched_item SET published_at = now()
         WHERE internal_transaction_id = ANY($1::bigint[])`,
        [marks],
      );
    },
  };
}
