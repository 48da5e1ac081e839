import { copyRows } from '@app/platform';
import type { DataSource, EntityManager } from 'typeorm';
import { DEFAULT_CHANNEL_CALENDAR } from '../ingest/channel-calendar.repository.js';
import type { ChannelCalendar } from '../ingest/internal-transaction.js';
import type { StatementLine } from '../statement/statement-line.js';
import { classify } from './classify.js';
import type { InternalItem, MatchClass, MatchResultRow } from './match.types.js';

export interface MatchRunResult {
  /** bigint as a string. */
  matchRunId: string;
  channel: string;
  businessDate: string;
  /** The statement file matched against; null when (channel, D) has no statement yet. */
  statementFileId: string | null;
  counts: Record<MatchClass, number>;
}

const ITEM_COLUMNS = [
  'match_run_id',
  'class',
  'side',
  'match_key',
  'event_id',
  'statement_file_id',
  'line_no',
  'order_no',
  'refund_no',
  'reason',
  'fee_difference',
  'original_business_date',
] as const;

interface InternalRow {
  eventId: string;
  kind: InternalItem['kind'];
  merchantId: string;
  orderNo: string;
  refundNo: string | null;
  amount: string;
  currency: string;
  occurredAt: string;
}

/** A stored statement line is a StatementLine plus the file it came from. */
type LineRow = StatementLine & { statementFileId: string };

/**
 * Internal transactions as InternalItems. Money leaves Postgres as text (numeric::text keeps the
 * stored scale), instants as ISO UTC with milliseconds.
 *
 * PAYMENT_REVERSED is not loaded: a reversal (冲正) undoes a payment on our side and never appears
 * as its own line on a channel statement, so it is not an item to match; how reversals net against
 * their payment is left to the clearing side.
 */
const INTERNAL_SELECT = `
  it.event_id AS "eventId",
  CASE it.event_type WHEN 'PAYMENT_SUCCEEDED' THEN 'PAYMENT' ELSE 'REFUND' END AS "kind",
  it.merchant_id AS "merchantId",
  it.order_no AS "orderNo",
  it.refund_no AS "refundNo",
  it.amount::text AS amount,
  it.currency::text AS currency,
  to_char(it.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "occurredAt"`;

/**
 * One match run (对账) of a channel's business date D: loads D's internal transactions, the items
 * D−1's latest run left PENDING_CROSS_DAY and the lines of D's latest statement file (one query
 * each, in one REPEATABLE READ snapshot), classifies them with the pure `classify`, and writes a
 * new match_run with every match_item (COPY) in the same transaction.
 *
 * Re-running a day writes another match_run with the same classification; nothing is updated or
 * deleted, and nothing is emitted.
 * TODO(matching): marking items handled and emitting discrepancies / clearing input exactly once per
 * (channel, date) is a later issue; it must key on the latest run, not on every run.
 */
export class MatchRunService {
  constructor(private readonly dataSource: DataSource) {}

  async run(channel: string, businessDate: string): Promise<MatchRunResult> {
    return this.dataSource.transaction('REPEATABLE READ', async (tx) => {
      const [{ startedAt }] = await tx.query<[{ startedAt: string }]>(
        `SELECT clock_timestamp()::text AS "startedAt"`,
      );
      const calendar = await this.calendarOf(tx, channel);
      const internalItems = await this.loadInternal(tx, channel, businessDate);
      const pendingItems = await this.loadPending(tx, channel, businessDate);
      const lineRows = await this.loadLines(tx, channel, businessDate);
      const statementFileId = lineRows[0]?.statementFileId ?? null;

      const result = classify({
        businessDate,
        internalItems,
        pendingItems,
        lines: lineRows.map(toStatementLine),
        policy: { zone: calendar.zone, cutoffLocalTime: calendar.cutoffLocalTime },
      });

      const [{ id }] = await tx.query<[{ id: string }]>(
        `INSERT INTO reconciliation.match_run (channel, business_date, started_at, finished_at, counts)
         VALUES ($1, $2, $3, clock_timestamp(), $4::jsonb)
         RETURNING id::text AS id`,
        [channel, businessDate, startedAt, JSON.stringify(result.counts)],
      );
      await copyRows(
        tx,
        'reconciliation.match_item',
        ITEM_COLUMNS,
        result.rows.map((row) => itemRow(id, statementFileId, row)),
      );
      return { matchRunId: id, channel, businessDate, statementFileId, counts: result.counts };
    });
  }

  private async calendarOf(tx: EntityManager, channel: string): Promise<ChannelCalendar> {
    const rows = await tx.query<{ zone: string; cutoffLocalTime: string }[]>(
      `SELECT zone, cutoff_local_time AS "cutoffLocalTime"
       FROM reconciliation.channel_calendar WHERE channel = $1`,
      [channel],
    );
    return rows[0] ?? DEFAULT_CHANNEL_CALENDAR;
  }

  private async loadInternal(tx: EntityManager, channel: string, date: string): Promise<InternalItem[]> {
    const rows = await tx.query<InternalRow[]>(
      `SELECT ${INTERNAL_SELECT}
       FROM reconciliation.internal_transaction it
       WHERE it.channel = $1 AND it.business_date = $2::date
         AND it.event_type IN ('PAYMENT_SUCCEEDED', 'REFUND_SUCCEEDED')`,
      [channel, date],
    );
    return rows.map(toInternalItem);
  }

  /** The PENDING_CROSS_DAY items of D−1's latest run, mapped back to their transactions by event_id. */
  private async loadPending(tx: EntityManager, channel: string, date: string): Promise<InternalItem[]> {
    const rows = await tx.query<InternalRow[]>(
      `WITH previous AS (
         SELECT id FROM reconciliation.match_run
         WHERE channel = $1 AND business_date = $2::date - 1
         ORDER BY id DESC LIMIT 1)
       SELECT ${INTERNAL_SELECT}
       FROM previous
       JOIN reconciliation.match_item mi ON mi.match_run_id = previous.id AND mi.class = 'PENDING_CROSS_DAY'
       JOIN reconciliation.internal_transaction it ON it.event_id = mi.event_id AND it.channel = $1`,
      [channel, date],
    );
    return rows.map(toInternalItem);
  }

  /** The lines of the latest statement file imported for (channel, D). */
  private async loadLines(tx: EntityManager, channel: string, date: string): Promise<LineRow[]> {
    return tx.query<LineRow[]>(
      `WITH latest AS (
         SELECT id FROM reconciliation.statement_file
         WHERE channel = $1 AND business_date = $2::date
         ORDER BY imported_at DESC, id DESC LIMIT 1)
       SELECT l.statement_file_id::text AS "statementFileId", l.line_no AS "lineNo", l.type,
              l.order_no AS "orderNo", l.refund_no AS "refundNo", l.channel_txn_id AS "channelTxnId",
              l.amount::text AS amount, l.fee::text AS fee, l.currency::text AS currency, l.status,
              to_char(l.trade_time, 'YYYY-MM-DD HH24:MI:SS') AS "tradeTime"
       FROM latest JOIN reconciliation.statement_line l ON l.statement_file_id = latest.id
       ORDER BY l.line_no`,
      [channel, date],
    );
  }
}

function toInternalItem(r: InternalRow): InternalItem {
  return {
    eventId: r.eventId,
    kind: r.kind,
    merchantId: r.merchantId,
    orderNo: r.orderNo,
    refundNo: r.refundNo,
    amount: r.amount,
    currency: r.currency,
    occurredAt: r.occurredAt,
  };
}

function toStatementLine({ statementFileId: _file, ...line }: LineRow): StatementLine {
  return line;
}

function itemRow(
  matchRunId: string,
  statementFileId: string | null,
  row: MatchResultRow,
): (string | number | null)[] {
  return [
    matchRunId,
    row.class,
    row.side,
    row.key,
    row.internal?.eventId ?? null,
    row.line === undefined ? null : statementFileId,
    row.line?.lineNo ?? null,
    row.internal?.orderNo ?? row.line?.orderNo ?? '',
    row.internal?.refundNo ?? row.line?.refundNo ?? null,
    row.reason,
    row.feeDifference ?? null,
    row.originalBusinessDate ?? null,
  ];
}
