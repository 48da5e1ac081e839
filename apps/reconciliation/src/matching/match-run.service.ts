import { CURRENCY_CODES, InvariantError, businessDateBounds, minorUnitOf } from '@app/contracts';
import type { DataSource, EntityManager } from 'typeorm';
import { DEFAULT_CHANNEL_CALENDAR } from '../ingest/channel-calendar.repository.js';
import {
  bind,
  CLASSIFY_SQL,
  DUPLICATES_SQL,
  ITEMS_IN_SQL,
  REFUND_KEYS_SQL,
  RUN_TEMP_TABLES_SQL,
} from './match-run.sql.js';
import {
  DEFAULT_CROSS_DAY_GRACE_DAYS,
  DEFAULT_CROSS_DAY_WINDOW_MINUTES,
  DEFAULT_SUCCESS_STATUSES,
  MATCH_CLASSES,
  type MatchClass,
} from './match.types.js';

export interface MatchRunResult {
  /** bigint as a string. */
  matchRunId: string;
  channel: string;
  businessDate: string;
  /** The statement file matched against; null when (channel, D) has no statement yet. */
  statementFileId: string | null;
  counts: Record<MatchClass, number>;
  /** Our items read (D's and those carried from D−1) and statement lines read. */
  internalItems: number;
  statementLines: number;
  /** Matched items released to clearing by this run (recon.item-matched.v1); 0 on a re-run. */
  emitted: number;
  discrepancies: { opened: number; reclassified: number; resolvedByRematch: number };
  elapsedMs: number;
}

export interface MatchRunOptions {
  /** work_mem for the run's hash joins (a day's items are joined in one statement). */
  workMem?: string;
  /** Longest the run may take (the pool's 120 s default is for requests, not a 10M-item day). */
  statementTimeout?: string;
}

export type MatchRunErrorCode = 'MATCH_RUN.INVALID_REQUEST';

export class MatchRunError extends Error {
  override readonly name = 'MatchRunError';

  constructor(
    readonly code: MatchRunErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ChannelPolicy {
  zone: string;
  cutoffLocalTime: string;
  crossDayWindowMinutes: number;
  crossDayGraceDays: number;
  expectedFeeRate: string | null;
  paymentSuccessStatuses: string[];
  refundSuccessStatuses: string[];
}

const CHANNEL = /^[A-Z0-9_]{1,32}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
export const MINOR_UNITS_JSON = JSON.stringify(
  Object.fromEntries(CURRENCY_CODES.map((c) => [c, minorUnitOf(c)])),
);

/**
 * One match run (对账) of a channel's business date D, set-based (ADR 007): one SQL statement
 * classifies D's internal transactions, the items D−1's latest run left PENDING_CROSS_DAY and
 * the lines of D's latest statement file, by the rules of the pure `classify`, and writes
 *  - a match_run row and every item into match_item (the marks: each item's class in this run),
 *  - one matched_item row per matched transaction never marked before, which the matched-item
 *    relay publishes as recon.item-matched.v1 (once: the transaction id is its key),
 *  - the discrepancy (差错) records: opened for new non-matched items, reclassified while open,
 *    resolved as REMATCH when an open one's item now matches,
 * all in one transaction. Runs of one channel are serialised by an advisory lock; a
 * re-run writes a new match_run with the same classification and emits nothing new.
 */
/** Who an in-process call (administration, tests, benchmarks) is recorded as: not a person. */
export const SYSTEM_LOCAL = 'system:local';

export class MatchRunService {
  private readonly workMem: string;
  private readonly statementTimeout: string;

  constructor(
    private readonly dataSource: DataSource,
    options: MatchRunOptions = {},
  ) {
    this.workMem = options.workMem ?? '256MB';
    this.statementTimeout = options.statementTimeout ?? '1h';
    if (!/^\d{1,5}(kB|MB|GB)$/.test(this.workMem))
      throw new MatchRunError(
        'MATCH_RUN.INVALID_REQUEST',
        `workMem must look like 256MB, got "${this.workMem}"`,
      );
    if (!/^\d{1,6}(ms|s|min|h)$/.test(this.statementTimeout))
      throw new MatchRunError(
        'MATCH_RUN.INVALID_REQUEST',
        `statementTimeout must look like 30min, got "${this.statementTimeout}"`,
      );
  }

  /**
   * @param startedBy the principal starting the run (the HTTP caller; `system:local` for in-process
   *   administration and tests)
   */
  async run(channel: string, businessDate: string, startedBy = SYSTEM_LOCAL): Promise<MatchRunResult> {
    if (!CHANNEL.test(channel))
      throw new MatchRunError('MATCH_RUN.INVALID_REQUEST', `channel must match ${CHANNEL}, got "${channel}"`);
    if (!isDate(businessDate))
      throw new MatchRunError(
        'MATCH_RUN.INVALID_REQUEST',
        `business date must be a valid YYYY-MM-DD, got "${businessDate}"`,
      );
    const started = Date.now();
    return this.dataSource.transaction('REPEATABLE READ', async (tx) => {
      // One run per channel at a time: runs of D and D+1 share the items D carries over, and the
      // marks are written without ON CONFLICT (a speculative insert per item costs twice a plain one).
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [matchRunLockOf(channel)]);
      await tx.query(`SET LOCAL work_mem = '${this.workMem}'`);
      await tx.query(`SET LOCAL statement_timeout = '${this.statementTimeout}'`);
      // The planner cannot estimate joins on computed keys; left alone it sorts a day twice for
      // merge joins. Hash joins (what the classification needs) take a tenth of the time (ADR 007).
      await tx.query('SET LOCAL enable_mergejoin = off');
      const [{ startedAt }] = await tx.query<[{ startedAt: string }]>(
        `SELECT clock_timestamp()::text AS "startedAt"`,
      );
      const policy = await channelPolicyOf(tx, channel);
      const closesAt = businessDateBounds(businessDate, {
        zone: policy.zone,
        cutoffLocalTime: policy.cutoffLocalTime,
      }).end.toISO();
      const statementFileId = await latestStatementOf(tx, channel, businessDate);
      const previousRunId = await latestRunOf(tx, channel, previousDate(businessDate));
      const [{ id: matchRunId }] = await tx.query<[{ id: string }]>(
        `SELECT nextval(pg_get_serial_sequence('reconciliation.match_run', 'id'))::text AS id`,
      );

      const values = {
        channel,
        date: businessDate,
        run: matchRunId,
        file: statementFileId,
        closesAt,
        window: policy.crossDayWindowMinutes,
        grace: policy.crossDayGraceDays,
        feeRate: policy.expectedFeeRate,
        paymentStatuses: policy.paymentSuccessStatuses,
        refundStatuses: policy.refundSuccessStatuses,
        previousRun: previousRunId,
        minorUnits: MINOR_UNITS_JSON,
        matchedAt: startedAt,
      };
      const [itemsIn] = await tx.query<{ internal_in: string; lines_in: number | null }[]>(
        ...bind(ITEMS_IN_SQL, values),
      );
      await tx.query(RUN_TEMP_TABLES_SQL);
      await tx.query(...bind(REFUND_KEYS_SQL, values));
      await tx.query(...bind(DUPLICATES_SQL, values));
      await tx.query('ANALYZE run_refund_key, run_duplicate');
      const [outcome] = await tx.query<
        {
          counts: Partial<Record<MatchClass, number>> | null;
          internal_out: string;
          lines_out: string;
          emitted: string;
        }[]
      >(...bind(CLASSIFY_SQL, values));
      if (outcome === undefined) throw new InvariantError('the match statement returned no row');
      const counts = Object.fromEntries(
        MATCH_CLASSES.map((c) => [c, Number(outcome.counts?.[c] ?? 0)]),
      ) as Record<MatchClass, number>;
      const internalItems = Number(itemsIn?.internal_in ?? 0);
      const statementLines = Number(itemsIn?.lines_in ?? 0);
      // Invariant 6 (DESIGN §7): every item in exactly one class, on each side.
      const classified = MATCH_CLASSES.reduce((sum, c) => sum + counts[c], 0);
      const rowsOut = Number(outcome.internal_out) + Number(outcome.lines_out);
      if (
        Number(outcome.internal_out) !== internalItems ||
        Number(outcome.lines_out) !== statementLines ||
        classified > rowsOut ||
        classified < Math.max(internalItems, statementLines)
      ) {
        throw new InvariantError(
          `match run ${channel} ${businessDate} lost or invented items: internal ${internalItems} in / ${outcome.internal_out} out, lines ${statementLines} in / ${outcome.lines_out} out, ${classified} classified`,
        );
      }

      const discrepancies = await recordDiscrepancies(tx, channel, businessDate, matchRunId);
      await tx.query(
        `INSERT INTO reconciliation.match_run (id, channel, business_date, started_at, finished_at, counts, started_by)
         OVERRIDING SYSTEM VALUE
         VALUES ($1, $2, $3, $4, clock_timestamp(), $5::jsonb, $6)`,
        [matchRunId, channel, businessDate, startedAt, JSON.stringify(counts), startedBy],
      );
      return {
        matchRunId,
        channel,
        businessDate,
        statementFileId,
        counts,
        internalItems,
        statementLines,
        emitted: Number(outcome.emitted),
        discrepancies,
        elapsedMs: Date.now() - started,
      };
    });
  }
}

/** The advisory lock a match run of the channel holds; a discrepancy resolution takes it too. */
export function matchRunLockOf(channel: string): string {
  return `match-run:${channel}`;
}

export function previousDate(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
}

export function isDate(value: string): boolean {
  if (!DATE.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}

/**
 * Turns the run's non-matched items into discrepancy records (one per item, however many runs
 * see it) and closes the open ones whose item matched this time. A RESOLVED discrepancy is
 * never reopened by a run: finance closed it, and its history says how.
 */
export async function recordDiscrepancies(
  tx: EntityManager,
  channel: string,
  businessDate: string,
  matchRunId: string,
): Promise<MatchRunResult['discrepancies']> {
  const reclassified = await tx.query<{ id: string }[]>(
    `WITH before AS (
       SELECT d.id, d.class FROM reconciliation.discrepancy d
       JOIN run_unmatched u ON d.channel = $1 AND d.item_ref = u.item_ref
       WHERE d.status = 'OPEN'),
     updated AS (
       UPDATE reconciliation.discrepancy d
       SET class = u.class, side = u.side, statement_file_id = u.statement_file_id, line_no = u.line_no,
           channel_amount = u.channel_amount, fee_difference = u.fee_difference, reason = u.reason,
           last_match_run_id = $2::bigint, updated_at = now()
       FROM run_unmatched u
       WHERE d.channel = $1 AND d.item_ref = u.item_ref AND d.status = 'OPEN'
       RETURNING d.id, d.class, d.reason),
     history AS (
       INSERT INTO reconciliation.discrepancy_history (discrepancy_id, action, actor, match_run_id, detail)
       SELECT u.id, 'RECLASSIFIED', 'system', $2::bigint, jsonb_build_object('from', b.class, 'to', u.class, 'reason', u.reason)
       FROM updated u JOIN before b USING (id)
       WHERE b.class <> u.class
       RETURNING discrepancy_id)
     SELECT discrepancy_id::text AS id FROM history`,
    [channel, matchRunId],
  );
  const opened = await tx.query<{ id: string }[]>(
    `WITH inserted AS (
       INSERT INTO reconciliation.discrepancy
         (channel, item_ref, business_date, detected_on, class, side, item_type, internal_transaction_id, event_id,
          statement_file_id, line_no, merchant_id, order_no, refund_no, internal_amount, channel_amount,
          currency, fee_difference, reason, first_match_run_id, last_match_run_id)
       SELECT $1, u.item_ref, u.business_date, $3::date, u.class, u.side, u.item_type, u.internal_transaction_id, u.event_id,
              u.statement_file_id, u.line_no, u.merchant_id, u.order_no, u.refund_no, u.internal_amount,
              u.channel_amount, u.currency, u.fee_difference, u.reason, $2::bigint, $2::bigint
       FROM run_unmatched u
       ORDER BY u.item_ref
       ON CONFLICT (channel, item_ref) DO NOTHING
       RETURNING id, class, reason),
     history AS (
       INSERT INTO reconciliation.discrepancy_history (discrepancy_id, action, actor, match_run_id, detail)
       SELECT id, 'OPENED', 'system', $2::bigint, jsonb_build_object('class', class, 'reason', reason)
       FROM inserted
       RETURNING discrepancy_id)
     SELECT discrepancy_id::text AS id FROM history`,
    [channel, matchRunId, businessDate],
  );
  const rematched = await tx.query<{ id: string }[]>(
    `WITH resolved AS (
       UPDATE reconciliation.discrepancy d
       SET status = 'RESOLVED', resolution = 'REMATCH', resolved_by = 'system', resolved_at = now(),
           resolution_note = 'matched by match run ' || $2::bigint, last_match_run_id = $2::bigint, updated_at = now()
       WHERE d.channel = $1 AND d.status = 'OPEN'
         AND (d.internal_transaction_id IN (SELECT internal_transaction_id FROM run_rematched)
              OR (d.statement_file_id, d.line_no) IN (SELECT statement_file_id, line_no FROM run_rematched))
       RETURNING d.id),
     history AS (
       INSERT INTO reconciliation.discrepancy_history (discrepancy_id, action, actor, match_run_id, detail)
       SELECT id, 'RESOLVED', 'system', $2::bigint, jsonb_build_object('resolution', 'REMATCH')
       FROM resolved
       RETURNING discrepancy_id)
     SELECT discrepancy_id::text AS id FROM history`,
    [channel, matchRunId],
  );
  return { opened: opened.length, reclassified: reclassified.length, resolvedByRematch: rematched.length };
}

export async function channelPolicyOf(tx: EntityManager, channel: string): Promise<ChannelPolicy> {
  const rows = await tx.query<
    {
      zone: string | null;
      cutoff: string | null;
      window: number | null;
      grace: number | null;
      rate: string | null;
      payment: string[] | null;
      refund: string[] | null;
    }[]
  >(
    `SELECT c.zone, c.cutoff_local_time AS cutoff, p.cross_day_window_minutes AS window,
            p.cross_day_grace_days AS grace, p.expected_fee_rate::text AS rate,
            p.payment_success_statuses AS payment, p.refund_success_statuses AS refund
     FROM (SELECT $1::text AS channel) k
     LEFT JOIN reconciliation.channel_calendar c ON c.channel = k.channel
     LEFT JOIN reconciliation.channel_match_policy p ON p.channel = k.channel`,
    [channel],
  );
  const row = rows[0];
  return {
    zone: row?.zone ?? DEFAULT_CHANNEL_CALENDAR.zone,
    cutoffLocalTime: row?.cutoff ?? DEFAULT_CHANNEL_CALENDAR.cutoffLocalTime,
    crossDayWindowMinutes: row?.window ?? DEFAULT_CROSS_DAY_WINDOW_MINUTES,
    crossDayGraceDays: row?.grace ?? DEFAULT_CROSS_DAY_GRACE_DAYS,
    expectedFeeRate: row?.rate ?? null,
    paymentSuccessStatuses: (row?.payment ?? [...DEFAULT_SUCCESS_STATUSES.PAYMENT]).map((s) =>
      s.toUpperCase(),
    ),
    refundSuccessStatuses: (row?.refund ?? [...DEFAULT_SUCCESS_STATUSES.REFUND]).map((s) => s.toUpperCase()),
  };
}

/** The latest statement file imported for (channel, D): a corrected file supersedes the first. */
export async function latestStatementOf(
  tx: EntityManager,
  channel: string,
  date: string,
): Promise<string | null> {
  const rows = await tx.query<{ id: string }[]>(
    `SELECT id::text AS id FROM reconciliation.statement_file
     WHERE channel = $1 AND business_date = $2::date
     ORDER BY imported_at DESC, statement_file.id DESC LIMIT 1`,
    [channel, date],
  );
  return rows[0]?.id ?? null;
}

export async function latestRunOf(tx: EntityManager, channel: string, date: string): Promise<string | null> {
  const rows = await tx.query<{ id: string }[]>(
    `SELECT id::text AS id FROM reconciliation.match_run
     WHERE channel = $1 AND business_date = $2::date
     ORDER BY match_run.id DESC LIMIT 1`,
    [channel, date],
  );
  return rows[0]?.id ?? null;
}
