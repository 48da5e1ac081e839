import { Money, invariant } from '@app/contracts';
import type { EntryDraft, Ledger } from '@app/ledger';
import type { DataSource, EntityManager } from 'typeorm';
import { matchRunLockOf } from '../matching/match-run.service.js';
import type { MatchClass } from '../matching/match.types.js';
import { adjustmentPlanOf, type AdjustmentPlan } from './adjustment.js';
import {
  DISCREPANCY_ACTIONS,
  DISCREPANCY_CLASSES,
  DISCREPANCY_STATUSES,
  DiscrepancyError,
  type Discrepancy,
  type DiscrepancyQuery,
  type DiscrepancySummaryRow,
  type MatchRunSummary,
  type ReconReport,
  type ReconReportQuery,
  type ResolveDiscrepancyRequest,
  type ResolveDiscrepancyResult,
} from './discrepancy.types.js';

const LIST_LIMIT_DEFAULT = 1_000;
const LIST_LIMIT_MAX = 10_000;
const ACTOR = /^[\p{L}\p{N}_.@:-]{1,64}$/u;
const NOTE_MAX = 500;
const KEY_MAX = 200;
const CHANNEL = /^[A-Z0-9_]{1,32}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const ID = /^[1-9]\d{0,18}$/;

const UTC_INSTANT = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const SELECT_DISCREPANCY = `
  d.id::text AS id, d.channel, to_char(d.business_date, 'YYYY-MM-DD') AS "businessDate",
  to_char(d.detected_on, 'YYYY-MM-DD') AS "detectedOn", d.class, d.side, d.item_type AS "itemType", d.event_id AS "eventId",
  d.statement_file_id::text AS "statementFileId", d.line_no AS "lineNo", d.merchant_id AS "merchantId",
  d.order_no AS "orderNo", d.refund_no AS "refundNo", d.internal_amount::text AS "internalAmount",
  d.channel_amount::text AS "channelAmount", d.currency::text AS currency,
  d.fee_difference::text AS "feeDifference", d.reason, d.status, d.resolution,
  d.resolution_note AS "resolutionNote", d.resolved_by AS "resolvedBy",
  ${UTC_INSTANT('d.resolved_at')} AS "resolvedAt", d.journal_entry_id::text AS "journalEntryId",
  ${UTC_INSTANT('d.opened_at')} AS "openedAt", d.last_match_run_id::text AS "lastMatchRunId"`;

interface DiscrepancyRow extends Discrepancy {
  internalTransactionId: string | null;
  resolutionIdempotencyKey: string | null;
}

/**
 * Discrepancies (差错): the list, the report (差错报表) and their resolution by finance.
 *
 * Resolution happens once per discrepancy, under an idempotency key (the HTTP `Idempotency-Key`):
 * a replay of the same key returns the first result, another key on a resolved discrepancy is
 * refused. An ADJUSTMENT posts the correcting journal entry in the same transaction as the status
 * change, and, when it leaves our transaction standing against a channel line (an amount
 * difference), releases the item to clearing: a matched_item row, keyed by the transaction like
 * a match run's, so an item reaches clearing once whichever way it got matched.
 */
export class DiscrepancyService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly ledger: Ledger,
  ) {}

  async list(query: DiscrepancyQuery): Promise<Discrepancy[]> {
    const limit = query.limit ?? LIST_LIMIT_DEFAULT;
    if (!Number.isInteger(limit) || limit < 1 || limit > LIST_LIMIT_MAX)
      throw invalid(`limit must be a whole number 1–${LIST_LIMIT_MAX}, got ${String(limit)}`);
    if (query.businessDate !== undefined) checkDate(query.businessDate);
    if (query.channel !== undefined) checkChannel(query.channel);
    if (query.status !== undefined && !DISCREPANCY_STATUSES.includes(query.status))
      throw invalid(`status must be one of ${DISCREPANCY_STATUSES.join(', ')}, got "${query.status}"`);
    if (query.class !== undefined && !DISCREPANCY_CLASSES.includes(query.class))
      throw invalid(`class must be one of ${DISCREPANCY_CLASSES.join(', ')}, got "${query.class}"`);
    if (query.afterId !== undefined && !ID.test(query.afterId))
      throw invalid(`afterId must be a discrepancy id, got "${query.afterId}"`);
    const rows = await this.dataSource.query<DiscrepancyRow[]>(
      `SELECT ${SELECT_DISCREPANCY} FROM reconciliation.discrepancy d
       WHERE ($1::date IS NULL OR d.detected_on = $1::date)
         AND ($2::text IS NULL OR d.channel = $2)
         AND ($3::text IS NULL OR d.status = $3)
         AND ($4::text IS NULL OR d.class = $4)
         AND ($5::bigint IS NULL OR d.id > $5::bigint)
       ORDER BY d.id LIMIT $6`,
      [
        query.businessDate ?? null,
        query.channel ?? null,
        query.status ?? null,
        query.class ?? null,
        query.afterId ?? null,
        limit,
      ],
    );
    return rows.map(toDiscrepancy);
  }

  async get(id: string): Promise<Discrepancy | null> {
    if (!ID.test(id)) return null;
    const rows = await this.dataSource.query<DiscrepancyRow[]>(
      `SELECT ${SELECT_DISCREPANCY} FROM reconciliation.discrepancy d WHERE d.id = $1`,
      [id],
    );
    return rows[0] === undefined ? null : toDiscrepancy(rows[0]);
  }

  /** The discrepancy report of a business date: the latest run per channel, the summary, every discrepancy detected. */
  async report(query: ReconReportQuery): Promise<ReconReport> {
    checkDate(query.businessDate);
    if (query.channel !== undefined) checkChannel(query.channel);
    const channel = query.channel ?? null;
    return this.dataSource.transaction('REPEATABLE READ', async (tx) => {
      const runs = await tx.query<
        (Omit<MatchRunSummary, 'counts'> & { counts: Record<MatchClass, number> })[]
      >(
        `SELECT DISTINCT ON (r.channel) r.id::text AS "matchRunId", r.channel,
                to_char(r.business_date, 'YYYY-MM-DD') AS "businessDate",
                (SELECT f.id::text FROM reconciliation.statement_file f
                 WHERE f.channel = r.channel AND f.business_date = r.business_date AND f.imported_at <= r.started_at
                 ORDER BY f.imported_at DESC, f.id DESC LIMIT 1) AS "statementFileId",
                r.counts, ${UTC_INSTANT('r.finished_at')} AS "finishedAt"
         FROM reconciliation.match_run r
         WHERE r.business_date = $1::date AND ($2::text IS NULL OR r.channel = $2)
         ORDER BY r.channel, r.id DESC`,
        [query.businessDate, channel],
      );
      const summary = await tx.query<
        (Omit<DiscrepancySummaryRow, 'open' | 'resolved'> & { open: string; resolved: string })[]
      >(
        `SELECT d.channel, d.class, d.currency::text AS currency,
                count(*) FILTER (WHERE d.status = 'OPEN') AS open,
                count(*) FILTER (WHERE d.status = 'RESOLVED') AS resolved,
                coalesce(sum(d.internal_amount), 0)::text AS "internalAmount",
                coalesce(sum(d.channel_amount), 0)::text AS "channelAmount"
         FROM reconciliation.discrepancy d
         WHERE d.detected_on = $1::date AND ($2::text IS NULL OR d.channel = $2)
         GROUP BY d.channel, d.class, d.currency
         ORDER BY d.channel, array_position($3::text[], d.class), d.currency`,
        [query.businessDate, channel, [...DISCREPANCY_CLASSES]],
      );
      const detail = await tx.query<DiscrepancyRow[]>(
        `SELECT ${SELECT_DISCREPANCY} FROM reconciliation.discrepancy d
         WHERE d.detected_on = $1::date AND ($2::text IS NULL OR d.channel = $2)
         ORDER BY d.channel, array_position($3::text[], d.class), d.id`,
        [query.businessDate, channel, [...DISCREPANCY_CLASSES]],
      );
      const rejectedLines = await tx.query<ReconReport['rejectedLines']>(
        `SELECT f.id::text AS "statementFileId", f.channel, r.line_no AS "lineNo", r.field, r.reason,
                r.line_text AS text
         FROM reconciliation.statement_rejected_line r
         JOIN reconciliation.statement_file f ON f.id = r.statement_file_id
         WHERE f.business_date = $1::date AND ($2::text IS NULL OR f.channel = $2)
         ORDER BY f.channel, f.id, r.line_no`,
        [query.businessDate, channel],
      );
      return {
        businessDate: query.businessDate,
        channel,
        runs,
        summary: summary.map((s) => ({
          ...s,
          internalAmount: canonical(s.internalAmount, s.currency),
          channelAmount: canonical(s.channelAmount, s.currency),
          open: Number(s.open),
          resolved: Number(s.resolved),
        })),
        discrepancies: detail.map(toDiscrepancy),
        rejectedLines,
      };
    });
  }

  async resolve(request: ResolveDiscrepancyRequest): Promise<ResolveDiscrepancyResult> {
    validateResolveRequest(request);
    return this.dataSource.transaction(async (tx) => {
      const byKey = await tx.query<{ id: string; resolution: string }[]>(
        `SELECT id::text AS id, resolution FROM reconciliation.discrepancy WHERE resolution_idempotency_key = $1`,
        [request.idempotencyKey],
      );
      const [current] = await tx.query<DiscrepancyRow[]>(
        `SELECT ${SELECT_DISCREPANCY}, d.internal_transaction_id::text AS "internalTransactionId",
                d.resolution_idempotency_key AS "resolutionIdempotencyKey"
         FROM reconciliation.discrepancy d WHERE d.id = $1 FOR UPDATE`,
        [request.discrepancyId],
      );
      if (current === undefined)
        throw new DiscrepancyError('DISCREPANCY.NOT_FOUND', `no discrepancy ${request.discrepancyId}`);
      const earlier = byKey[0];
      if (earlier !== undefined) {
        if (earlier.id !== current.id || earlier.resolution !== resolutionOf(request.action))
          throw new DiscrepancyError(
            'DISCREPANCY.IDEMPOTENCY_CONFLICT',
            `idempotency key "${request.idempotencyKey}" already resolved discrepancy ${earlier.id} as ${earlier.resolution}; a different request needs a new key`,
          );
        return {
          discrepancy: toDiscrepancy(current),
          replayed: true,
          releasedToClearing: await this.wasReleased(tx, current.id),
        };
      }
      if (current.status === 'RESOLVED')
        throw new DiscrepancyError(
          'DISCREPANCY.ALREADY_RESOLVED',
          `discrepancy ${current.id} was already resolved (${current.resolution}) by ${current.resolvedBy} at ${current.resolvedAt}`,
        );

      let journalEntryId: string | null = null;
      let released = false;
      if (request.action === 'ADJUST') {
        const plan = adjustmentPlanOf(current);
        journalEntryId = await this.postAdjustment(tx, current, plan, request);
        if (plan.releaseToClearing) {
          // Not while a match run of the channel is marking items (it may be marking this one).
          await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [matchRunLockOf(current.channel)]);
          released = await this.releaseToClearing(tx, current);
        }
      }
      await tx.query(
        `UPDATE reconciliation.discrepancy
         SET status = 'RESOLVED', resolution = $2, resolution_note = $3, resolved_by = $4, resolved_at = now(),
             resolution_idempotency_key = $5, journal_entry_id = $6, updated_at = now()
         WHERE id = $1`,
        [
          current.id,
          resolutionOf(request.action),
          request.note,
          request.actor,
          request.idempotencyKey,
          journalEntryId,
        ],
      );
      await tx.query(
        `INSERT INTO reconciliation.discrepancy_history (discrepancy_id, action, actor, detail)
         VALUES ($1, 'RESOLVED', $2, $3::jsonb)`,
        [
          current.id,
          request.actor,
          JSON.stringify({
            resolution: resolutionOf(request.action),
            note: request.note,
            journalEntryId,
            releasedToClearing: released,
            idempotencyKey: request.idempotencyKey,
          }),
        ],
      );
      const [after] = await tx.query<DiscrepancyRow[]>(
        `SELECT ${SELECT_DISCREPANCY} FROM reconciliation.discrepancy d WHERE d.id = $1`,
        [current.id],
      );
      invariant(after !== undefined, () => `discrepancy ${current.id} vanished inside its own transaction`);
      return { discrepancy: toDiscrepancy(after), replayed: false, releasedToClearing: released };
    });
  }

  private async postAdjustment(
    tx: EntityManager,
    discrepancy: DiscrepancyRow,
    plan: AdjustmentPlan,
    request: ResolveDiscrepancyRequest,
  ): Promise<string> {
    const metadata = {
      discrepancyId: discrepancy.id,
      class: discrepancy.class,
      actor: request.actor,
      note: request.note,
    };
    const idempotencyKey = `recon.adjustment:${discrepancy.id}`;
    const [{ now }] = await tx.query<[{ now: string }]>(`SELECT ${UTC_INSTANT('now()')} AS now`);
    if (plan.kind === 'REVERSE_T_DAY_ENTRY') {
      const entries = await tx.query<{ id: string }[]>(
        `SELECT id::text AS id FROM ledger.journal_entry WHERE idempotency_key = $1`,
        [plan.tDayIdempotencyKey],
      );
      const original = entries[0];
      if (original === undefined)
        throw new DiscrepancyError(
          'DISCREPANCY.INVALID_REQUEST',
          `discrepancy ${discrepancy.id}: our transaction ${discrepancy.eventId} has no T-day journal entry (${plan.tDayIdempotencyKey}) to reverse`,
        );
      const reversal = await this.ledger.reverse(tx, {
        entryId: original.id,
        idempotencyKey,
        businessRef: `discrepancy:${discrepancy.id}`,
        effectiveAt: now,
        reason: `${discrepancy.class} resolved by ${request.actor}: ${request.note}`,
      });
      return reversal.entryId;
    }
    const draft: EntryDraft = {
      idempotencyKey,
      businessRef: `discrepancy:${discrepancy.id}`,
      effectiveAt: now,
      description: plan.description,
      metadata,
      postings: plan.postings,
    };
    const [posted] = await this.ledger.post(tx, [draft]);
    invariant(posted !== undefined, () => `ledger posted nothing for discrepancy ${discrepancy.id}`);
    return posted.entryId;
  }

  /** Marks our transaction matched by this resolution; the matched-item relay publishes it (once). */
  private async releaseToClearing(tx: EntityManager, discrepancy: DiscrepancyRow): Promise<boolean> {
    const inserted = await tx.query<{ id: string }[]>(
      `INSERT INTO reconciliation.matched_item
         (internal_transaction_id, channel, matched_by, discrepancy_id, statement_file_id, line_no, matched_at,
          line_amount, line_fee, line_channel_txn_id, line_trade_time)
       SELECT d.internal_transaction_id, d.channel, 'DISCREPANCY_RESOLUTION', d.id,
              CASE WHEN l.line_no IS NULL THEN NULL ELSE d.statement_file_id END, l.line_no, now(),
              l.amount, l.fee, l.channel_txn_id, l.trade_time
       FROM reconciliation.discrepancy d
       -- One line, read once per resolution (the file's lines are found through a BRIN).
       LEFT JOIN LATERAL (
         SELECT sl.line_no, sl.amount, sl.fee, sl.channel_txn_id, sl.trade_time
         FROM reconciliation.statement_line sl
         WHERE sl.statement_file_id = d.statement_file_id AND sl.line_no = d.line_no
         LIMIT 1) l ON true
       WHERE d.id = $1 AND d.internal_transaction_id IS NOT NULL
       ON CONFLICT (internal_transaction_id) DO NOTHING
       RETURNING internal_transaction_id::text AS id`,
      [discrepancy.id],
    );
    return inserted.length === 1;
  }

  private async wasReleased(tx: EntityManager, discrepancyId: string): Promise<boolean> {
    const rows = await tx.query<{ released: boolean }[]>(
      `SELECT coalesce((detail ->> 'releasedToClearing')::boolean, false) AS released
       FROM reconciliation.discrepancy_history
       WHERE discrepancy_id = $1 AND action = 'RESOLVED' ORDER BY id DESC LIMIT 1`,
      [discrepancyId],
    );
    return rows[0]?.released ?? false;
  }
}

function resolutionOf(action: ResolveDiscrepancyRequest['action']): 'ADJUSTMENT' | 'WRITE_OFF' {
  return action === 'ADJUST' ? 'ADJUSTMENT' : 'WRITE_OFF';
}

function validateResolveRequest(request: ResolveDiscrepancyRequest): void {
  if (typeof request.discrepancyId !== 'string' || !ID.test(request.discrepancyId))
    throw new DiscrepancyError('DISCREPANCY.NOT_FOUND', `no discrepancy ${String(request.discrepancyId)}`);
  if (!DISCREPANCY_ACTIONS.includes(request.action))
    throw invalid(`action must be one of ${DISCREPANCY_ACTIONS.join(', ')}, got "${String(request.action)}"`);
  if (typeof request.actor !== 'string' || !ACTOR.test(request.actor))
    throw invalid('actor must be 1–64 letters, digits or _ . @ : - (the operator id recorded as resolvedBy)');
  if (typeof request.note !== 'string' || request.note.trim().length === 0 || request.note.length > NOTE_MAX)
    throw invalid(`note must say why, 1–${NOTE_MAX} characters`);
  if (
    typeof request.idempotencyKey !== 'string' ||
    request.idempotencyKey.length === 0 ||
    request.idempotencyKey.length > KEY_MAX
  )
    throw invalid(`idempotency key must be 1–${KEY_MAX} characters`);
}

function checkDate(value: string): void {
  const d = new Date(`${value}T00:00:00Z`);
  if (!DATE.test(value) || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== value)
    throw invalid(`business date must be a valid YYYY-MM-DD, got "${value}"`);
}

function checkChannel(value: string): void {
  if (!CHANNEL.test(value)) throw invalid(`channel must match ${CHANNEL}, got "${value}"`);
}

function invalid(message: string): DiscrepancyError {
  return new DiscrepancyError('DISCREPANCY.INVALID_REQUEST', message);
}

/** Amounts at the currency's scale, as everywhere else ("12.30", not "12.3"). */
function canonical(amount: string, currency: string): string {
  return Money.of(amount, currency).toString();
}

function toDiscrepancy(row: DiscrepancyRow): Discrepancy {
  return {
    id: row.id,
    channel: row.channel,
    businessDate: row.businessDate,
    detectedOn: row.detectedOn,
    class: row.class,
    side: row.side,
    itemType: row.itemType,
    eventId: row.eventId,
    statementFileId: row.statementFileId,
    lineNo: row.lineNo,
    merchantId: row.merchantId,
    orderNo: row.orderNo,
    refundNo: row.refundNo,
    internalAmount: row.internalAmount === null ? null : canonical(row.internalAmount, row.currency),
    channelAmount: row.channelAmount === null ? null : canonical(row.channelAmount, row.currency),
    currency: row.currency,
    feeDifference: row.feeDifference === null ? null : canonical(row.feeDifference, row.currency),
    reason: row.reason,
    status: row.status,
    resolution: row.resolution,
    resolutionNote: row.resolutionNote,
    resolvedBy: row.resolvedBy,
    resolvedAt: row.resolvedAt,
    journalEntryId: row.journalEntryId,
    openedAt: row.openedAt,
    lastMatchRunId: row.lastMatchRunId,
  };
}
