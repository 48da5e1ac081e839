import { InvariantError, Money, invariant } from '@app/contracts';
import type { EntryDraft, Ledger } from '@app/ledger';
import type { DataSource, EntityManager } from 'typeorm';
import { matchRunLockOf } from '../matching/match-run.service.js';
import type { MatchClass } from '../matching/match.types.js';
import {
  decideAdjustment,
  pendingPostingsOf,
  type AdjustmentCommand,
  type AdjustmentPolicy,
} from './adjustment-confirmation.js';
import type { AdjustmentPlan } from './adjustment.js';
import {
  DISCREPANCY_ACTIONS,
  DISCREPANCY_CLASSES,
  DISCREPANCY_STATUSES,
  DiscrepancyError,
  type AdjustmentDecisionRequest,
  type Discrepancy,
  type DiscrepancyErrorCode,
  type DiscrepancyQuery,
  type DiscrepancySummaryRow,
  type MatchRunSummary,
  type PendingAdjustment,
  type PendingPosting,
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
  d.adjustment_confirmed_by AS "adjustmentConfirmedBy",
  ${UTC_INSTANT('d.opened_at')} AS "openedAt", d.last_match_run_id::text AS "lastMatchRunId",
  p.id::text AS "pendingProposalId", p.proposed_by AS "pendingProposedBy",
  ${UTC_INSTANT('p.proposed_at')} AS "pendingProposedAt", p.note AS "pendingNote", p.class AS "pendingClass",
  p.amount::text AS "pendingAmount", p.currency::text AS "pendingCurrency",
  p.confirmation_above::text AS "pendingConfirmationAbove", p.plan AS "pendingPlan"`;

/**
 * A discrepancy with the adjustment waiting for its second person, if any (at most one: a unique
 * index). Only an OPEN one waits: a match run that closes the case as REMATCH leaves its proposal
 * row PENDING (the run's SQL is not made to know about proposals), and there is nothing left to
 * confirm.
 */
const FROM_DISCREPANCY = `reconciliation.discrepancy d
  LEFT JOIN reconciliation.adjustment_proposal p
    ON p.discrepancy_id = d.id AND p.status = 'PENDING' AND d.status = 'OPEN'`;

interface StoredPlan {
  effect: PendingAdjustment['effect'];
  postings: PendingPosting[];
  releasesToClearing: boolean;
}

interface DiscrepancyRow extends Omit<Discrepancy, 'pendingAdjustment'> {
  pendingProposalId: string | null;
  pendingProposedBy: string | null;
  pendingProposedAt: string | null;
  pendingNote: string | null;
  pendingClass: Discrepancy['class'] | null;
  pendingAmount: string | null;
  pendingCurrency: string | null;
  pendingConfirmationAbove: string | null;
  pendingPlan: StoredPlan | null;
}

/** What an idempotency key was first used for. */
interface KeyUse {
  discrepancyId: string;
  command: 'ADJUST' | 'WRITE_OFF' | 'CONFIRM' | 'REJECT';
  /** The ADJUST was a proposal (it needed a second person). */
  proposal: boolean;
}

type Outcome = ResolveDiscrepancyResult | { refused: DiscrepancyError };

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
      `SELECT ${SELECT_DISCREPANCY} FROM ${FROM_DISCREPANCY}
       WHERE ($1::date IS NULL OR d.detected_on = $1::date)
         AND ($2::text IS NULL OR d.channel = $2)
         AND ($3::text IS NULL OR d.status = $3)
         AND ($4::text IS NULL OR d.class = $4)
         AND ($5::bigint IS NULL OR d.id > $5::bigint)
         AND ($7::boolean IS NULL OR (p.id IS NOT NULL) = $7::boolean)
       ORDER BY d.id LIMIT $6`,
      [
        query.businessDate ?? null,
        query.channel ?? null,
        query.status ?? null,
        query.class ?? null,
        query.afterId ?? null,
        limit,
        query.awaitingConfirmation ?? null,
      ],
    );
    return rows.map(toDiscrepancy);
  }

  async get(id: string): Promise<Discrepancy | null> {
    if (!ID.test(id)) return null;
    const rows = await this.dataSource.query<DiscrepancyRow[]>(
      `SELECT ${SELECT_DISCREPANCY} FROM ${FROM_DISCREPANCY} WHERE d.id = $1`,
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
        `SELECT ${SELECT_DISCREPANCY} FROM ${FROM_DISCREPANCY}
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

  /**
   * ADJUST or WRITE_OFF an open discrepancy. An ADJUST above the currency's threshold
   * (adjustment_policy) posts nothing: it is recorded as pending (confirmationRequired) until
   * another person confirms or rejects it.
   */
  async resolve(request: ResolveDiscrepancyRequest): Promise<ResolveDiscrepancyResult> {
    validateResolveRequest(request);
    return settle(
      await this.dataSource.transaction(async (tx): Promise<Outcome> => {
        const current = await this.lockAndLoad(tx, request.discrepancyId);
        const replay = await this.replayOf(tx, current, request.idempotencyKey, request.action);
        if (replay !== undefined) return replay;
        const policy = request.action === 'ADJUST' ? await policyOf(tx, current.currency) : null;
        const decision = decideAdjustment(current, { kind: request.action, by: request.actor }, policy);
        switch (decision.kind) {
          case 'REFUSE':
            return this.refuse(tx, current, request.action, request.actor, request.idempotencyKey, decision);
          case 'PROPOSE': {
            const plan: StoredPlan = {
              effect: decision.plan.kind,
              postings: pendingPostingsOf(decision.plan),
              releasesToClearing: decision.plan.releaseToClearing,
            };
            const [proposal] = await tx.query<{ id: string }[]>(
              `INSERT INTO reconciliation.adjustment_proposal
                 (discrepancy_id, class, proposed_by, note, proposal_key, amount, currency, confirmation_above, plan)
               VALUES ($1, $2, $3, $4, $5, $6::numeric, $7, $8::numeric, $9::jsonb)
               RETURNING id::text AS id`,
              [
                current.id,
                current.class,
                request.actor,
                request.note,
                request.idempotencyKey,
                decision.amount,
                current.currency,
                decision.confirmationAbove,
                JSON.stringify(plan),
              ],
            );
            await tx.query(`UPDATE reconciliation.discrepancy SET updated_at = now() WHERE id = $1`, [
              current.id,
            ]);
            await appendHistory(tx, current.id, 'ADJUSTMENT_PROPOSED', request.actor, {
              proposalId: proposal?.id,
              note: request.note,
              amount: decision.amount,
              currency: current.currency,
              confirmationAbove: decision.confirmationAbove,
              ...plan,
              idempotencyKey: request.idempotencyKey,
            });
            return {
              discrepancy: await this.reload(tx, current.id),
              replayed: false,
              releasedToClearing: false,
              confirmationRequired: true,
            };
          }
          case 'POST':
          case 'WRITE_OFF':
            return this.apply(tx, current, decision.kind === 'POST' ? decision.plan : null, {
              actor: request.actor,
              note: request.note,
              confirmedBy: null,
              confirmationNote: null,
              proposalId: null,
              idempotencyKey: request.idempotencyKey,
            });
          case 'REJECT':
            throw new InvariantError(`a ${request.action} cannot be decided as REJECT`);
        }
      }),
    );
  }

  /**
   * A second person confirms a pending adjustment: posts exactly what was proposed and, where the
   * plan says so, releases our transaction to clearing, in one transaction. The proposer is refused
   * (DISCREPANCY.SELF_CONFIRMATION), and the refusal stays in discrepancy_history.
   */
  async confirmAdjustment(request: AdjustmentDecisionRequest): Promise<ResolveDiscrepancyResult> {
    validateDecisionRequest(request, false);
    return settle(
      await this.dataSource.transaction(async (tx): Promise<Outcome> => {
        const current = await this.lockAndLoad(tx, request.discrepancyId);
        const replay = await this.replayOf(tx, current, request.idempotencyKey, 'CONFIRM');
        if (replay !== undefined) return replay;
        const decision = decideAdjustment(current, { kind: 'CONFIRM', by: request.actor }, null);
        if (decision.kind === 'REFUSE')
          return this.refuse(tx, current, 'CONFIRM', request.actor, request.idempotencyKey, decision);
        invariant(
          decision.kind === 'POST' && decision.confirms !== null,
          () => `a confirmation of discrepancy ${current.id} was decided as ${decision.kind}`,
        );
        const proposal = decision.confirms;
        const result = await this.apply(tx, current, decision.plan, {
          actor: proposal.proposedBy,
          note: proposal.note,
          confirmedBy: request.actor,
          confirmationNote: request.note ?? null,
          proposalId: proposal.proposalId,
          idempotencyKey: request.idempotencyKey,
        });
        const updated = await tx.query<{ id: string }[]>(
          `WITH confirmed AS (
             UPDATE reconciliation.adjustment_proposal
             SET status = 'CONFIRMED', decided_by = $2, decided_at = now(), decision_note = $3, decision_key = $4,
                 journal_entry_id = $5
             WHERE id = $1 AND status = 'PENDING' RETURNING id)
           SELECT id::text AS id FROM confirmed`,
          [
            proposal.proposalId,
            request.actor,
            request.note ?? null,
            request.idempotencyKey,
            result.discrepancy.journalEntryId,
          ],
        );
        invariant(
          updated.length === 1,
          () => `proposal ${proposal.proposalId} was not pending under its lock`,
        );
        return { ...result, discrepancy: await this.reload(tx, current.id) };
      }),
    );
  }

  /**
   * Rejects a pending adjustment with a reason (anyone holding the role; the proposer withdrawing
   * their own included): nothing is posted, the discrepancy is plain OPEN again.
   */
  async rejectAdjustment(request: AdjustmentDecisionRequest): Promise<ResolveDiscrepancyResult> {
    validateDecisionRequest(request, true);
    return settle(
      await this.dataSource.transaction(async (tx): Promise<Outcome> => {
        const current = await this.lockAndLoad(tx, request.discrepancyId);
        const replay = await this.replayOf(tx, current, request.idempotencyKey, 'REJECT');
        if (replay !== undefined) return replay;
        const decision = decideAdjustment(current, { kind: 'REJECT', by: request.actor }, null);
        if (decision.kind === 'REFUSE')
          return this.refuse(tx, current, 'REJECT', request.actor, request.idempotencyKey, decision);
        invariant(decision.kind === 'REJECT', () => `a rejection was decided as ${decision.kind}`);
        const updated = await tx.query<{ id: string }[]>(
          `WITH rejected AS (
             UPDATE reconciliation.adjustment_proposal
             SET status = 'REJECTED', decided_by = $2, decided_at = now(), decision_note = $3, decision_key = $4
             WHERE id = $1 AND status = 'PENDING' RETURNING id)
           SELECT id::text AS id FROM rejected`,
          [decision.rejects.proposalId, request.actor, request.note, request.idempotencyKey],
        );
        invariant(
          updated.length === 1,
          () => `proposal ${decision.rejects.proposalId} was not pending under its lock`,
        );
        await tx.query(`UPDATE reconciliation.discrepancy SET updated_at = now() WHERE id = $1`, [
          current.id,
        ]);
        await appendHistory(tx, current.id, 'ADJUSTMENT_REJECTED', request.actor, {
          proposalId: decision.rejects.proposalId,
          proposedBy: decision.rejects.proposedBy,
          amount: decision.rejects.amount,
          currency: decision.rejects.currency,
          reason: request.note,
          idempotencyKey: request.idempotencyKey,
        });
        return {
          discrepancy: await this.reload(tx, current.id),
          replayed: false,
          releasedToClearing: false,
          confirmationRequired: false,
        };
      }),
    );
  }

  /**
   * Locks the discrepancy, then reads it with any pending adjustment in a statement of its own: a
   * command that waited for the lock sees what the one before it committed (a join read under
   * FOR UPDATE would re-check the locked row but keep the proposal as it was).
   */
  private async lockAndLoad(tx: EntityManager, id: string): Promise<Discrepancy> {
    const locked = await tx.query<{ id: string }[]>(
      `SELECT id::text AS id FROM reconciliation.discrepancy WHERE id = $1 FOR UPDATE`,
      [id],
    );
    if (locked.length === 0) throw new DiscrepancyError('DISCREPANCY.NOT_FOUND', `no discrepancy ${id}`);
    return this.reload(tx, id);
  }

  private async reload(tx: EntityManager, id: string): Promise<Discrepancy> {
    const [row] = await tx.query<DiscrepancyRow[]>(
      `SELECT ${SELECT_DISCREPANCY} FROM ${FROM_DISCREPANCY} WHERE d.id = $1`,
      [id],
    );
    invariant(row !== undefined, () => `discrepancy ${id} vanished inside its own transaction`);
    return toDiscrepancy(row);
  }

  /**
   * What a key was first used for, across the three places keys live: a resolution, a proposal,
   * a confirmation or rejection. The same command on the same discrepancy is a replay (the current
   * state, nothing new done); anything else under a used key is a conflict.
   */
  private async replayOf(
    tx: EntityManager,
    current: Discrepancy,
    key: string,
    command: KeyUse['command'],
  ): Promise<ResolveDiscrepancyResult | undefined> {
    const uses = await tx.query<KeyUse[]>(
      `SELECT id::text AS "discrepancyId",
              CASE WHEN resolution = 'WRITE_OFF' THEN 'WRITE_OFF'
                   WHEN adjustment_confirmed_by IS NOT NULL THEN 'CONFIRM' ELSE 'ADJUST' END AS command,
              false AS proposal
       FROM reconciliation.discrepancy WHERE resolution_idempotency_key = $1
       UNION ALL
       SELECT discrepancy_id::text, 'ADJUST', true FROM reconciliation.adjustment_proposal WHERE proposal_key = $1
       UNION ALL
       SELECT discrepancy_id::text, CASE status WHEN 'REJECTED' THEN 'REJECT' ELSE 'CONFIRM' END, false
       FROM reconciliation.adjustment_proposal WHERE decision_key = $1`,
      [key],
    );
    const earlier = uses[0];
    if (earlier === undefined) return undefined;
    if (earlier.discrepancyId !== current.id || earlier.command !== command)
      throw new DiscrepancyError(
        'DISCREPANCY.IDEMPOTENCY_CONFLICT',
        `idempotency key "${key}" was already used for ${earlier.command} of discrepancy ${earlier.discrepancyId}; a different request needs a new key`,
      );
    return {
      discrepancy: current,
      replayed: true,
      releasedToClearing: !earlier.proposal && (await this.wasReleased(tx, current.id)),
      confirmationRequired: earlier.proposal,
    };
  }

  /**
   * A refused command is evidence (the proposer confirming their own adjustment above all): its
   * row is appended in the command's transaction, which then commits, and the caller throws.
   */
  private async refuse(
    tx: EntityManager,
    current: Discrepancy,
    command: AdjustmentCommand['kind'],
    actor: string,
    idempotencyKey: string,
    decision: { code: DiscrepancyErrorCode; message: string },
  ): Promise<Outcome> {
    await appendHistory(tx, current.id, 'COMMAND_REFUSED', actor, {
      command,
      code: decision.code,
      message: decision.message,
      proposalId: current.pendingAdjustment?.proposalId ?? null,
      idempotencyKey,
    });
    return { refused: new DiscrepancyError(decision.code, decision.message) };
  }

  /** Resolves the discrepancy: posts the plan (null: a write-off, nothing posted) and releases where it says. */
  private async apply(
    tx: EntityManager,
    current: Discrepancy,
    plan: AdjustmentPlan | null,
    by: ResolvedBy,
  ): Promise<ResolveDiscrepancyResult> {
    let journalEntryId: string | null = null;
    let released = false;
    if (plan !== null) {
      journalEntryId = await this.postAdjustment(tx, current, plan, by);
      if (plan.releaseToClearing) {
        // Not while a match run of the channel is marking items (it may be marking this one).
        await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [matchRunLockOf(current.channel)]);
        released = await this.releaseToClearing(tx, current);
      }
    }
    const resolution = plan === null ? 'WRITE_OFF' : 'ADJUSTMENT';
    await tx.query(
      `UPDATE reconciliation.discrepancy
       SET status = 'RESOLVED', resolution = $2, resolution_note = $3, resolved_by = $4, resolved_at = now(),
           resolution_idempotency_key = $5, journal_entry_id = $6, adjustment_confirmed_by = $7, updated_at = now()
       WHERE id = $1`,
      [current.id, resolution, by.note, by.actor, by.idempotencyKey, journalEntryId, by.confirmedBy],
    );
    await appendHistory(tx, current.id, 'RESOLVED', by.confirmedBy ?? by.actor, {
      resolution,
      note: by.note,
      journalEntryId,
      releasedToClearing: released,
      idempotencyKey: by.idempotencyKey,
      ...(by.proposalId === null
        ? {}
        : {
            proposalId: by.proposalId,
            proposedBy: by.actor,
            confirmedBy: by.confirmedBy,
            confirmationNote: by.confirmationNote,
            amount: plan?.amount,
          }),
    });
    return {
      discrepancy: await this.reload(tx, current.id),
      replayed: false,
      releasedToClearing: released,
      confirmationRequired: false,
    };
  }

  private async postAdjustment(
    tx: EntityManager,
    discrepancy: Discrepancy,
    plan: AdjustmentPlan,
    by: ResolvedBy,
  ): Promise<string> {
    const metadata = {
      discrepancyId: discrepancy.id,
      class: discrepancy.class,
      actor: by.actor,
      note: by.note,
      ...(by.confirmedBy === null ? {} : { confirmedBy: by.confirmedBy, proposalId: by.proposalId }),
    };
    // One entry per discrepancy whichever path posts it: a retried confirmation cannot post twice.
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
      const confirmed = by.confirmedBy === null ? '' : `, confirmed by ${by.confirmedBy}`;
      const reversal = await this.ledger.reverse(tx, {
        entryId: original.id,
        idempotencyKey,
        businessRef: `discrepancy:${discrepancy.id}`,
        effectiveAt: now,
        reason: `${discrepancy.class} resolved by ${by.actor}${confirmed}: ${by.note}`,
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
  private async releaseToClearing(tx: EntityManager, discrepancy: Discrepancy): Promise<boolean> {
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

/** Who a resolution is recorded under: the person who chose it, and the second person if one confirmed it. */
interface ResolvedBy {
  actor: string;
  note: string;
  confirmedBy: string | null;
  confirmationNote: string | null;
  proposalId: string | null;
  idempotencyKey: string;
}

/** A refusal's history row is committed with its transaction; the error is thrown after. */
function settle(outcome: Outcome): ResolveDiscrepancyResult {
  if ('refused' in outcome) throw outcome.refused;
  return outcome;
}

async function appendHistory(
  tx: EntityManager,
  discrepancyId: string,
  action: 'RESOLVED' | 'ADJUSTMENT_PROPOSED' | 'ADJUSTMENT_REJECTED' | 'COMMAND_REFUSED',
  actor: string,
  detail: Record<string, unknown>,
): Promise<void> {
  await tx.query(
    `INSERT INTO reconciliation.discrepancy_history (discrepancy_id, action, actor, detail)
     VALUES ($1, $2, $3, $4::jsonb)`,
    [discrepancyId, action, actor, JSON.stringify(detail)],
  );
}

/** The currency's threshold, or null when it has none (then every adjustment needs a second person). */
async function policyOf(tx: EntityManager, currency: string): Promise<AdjustmentPolicy | null> {
  const [row] = await tx.query<{ above: string }[]>(
    `SELECT confirmation_above::text AS above FROM reconciliation.adjustment_policy WHERE currency = $1`,
    [currency],
  );
  return row === undefined ? null : { confirmationAbove: row.above };
}

function validateDecisionRequest(request: AdjustmentDecisionRequest, noteRequired: boolean): void {
  if (typeof request.discrepancyId !== 'string' || !ID.test(request.discrepancyId))
    throw new DiscrepancyError('DISCREPANCY.NOT_FOUND', `no discrepancy ${String(request.discrepancyId)}`);
  if (typeof request.actor !== 'string' || !ACTOR.test(request.actor))
    throw invalid('actor must be 1–64 letters, digits or _ . @ : - (the authenticated principal)');
  if (noteRequired || request.note !== undefined)
    if (
      typeof request.note !== 'string' ||
      request.note.trim().length === 0 ||
      request.note.length > NOTE_MAX
    )
      throw invalid(
        noteRequired
          ? `reason must say why the adjustment is rejected, 1–${NOTE_MAX} characters`
          : `note must be 1–${NOTE_MAX} characters when given`,
      );
  validateKey(request.idempotencyKey);
}

function validateKey(key: unknown): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > KEY_MAX)
    throw invalid(`idempotency key must be 1–${KEY_MAX} characters`);
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
  validateKey(request.idempotencyKey);
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
    pendingAdjustment: pendingOf(row),
    adjustmentConfirmedBy: row.adjustmentConfirmedBy,
    openedAt: row.openedAt,
    lastMatchRunId: row.lastMatchRunId,
  };
}

function atScaleIfExact(amount: string, currency: string): string {
  try {
    return canonical(amount, currency);
  } catch {
    return amount;
  }
}

function pendingOf(row: DiscrepancyRow): PendingAdjustment | null {
  if (row.pendingProposalId === null) return null;
  invariant(
    row.pendingProposedBy !== null &&
      row.pendingProposedAt !== null &&
      row.pendingNote !== null &&
      row.pendingClass !== null &&
      row.pendingAmount !== null &&
      row.pendingCurrency !== null &&
      row.pendingConfirmationAbove !== null &&
      row.pendingPlan !== null,
    () => `adjustment proposal ${row.pendingProposalId} is missing a column`,
  );
  return {
    proposalId: row.pendingProposalId,
    proposedBy: row.pendingProposedBy,
    proposedAt: row.pendingProposedAt,
    note: row.pendingNote,
    class: row.pendingClass,
    amount: canonical(row.pendingAmount, row.pendingCurrency),
    currency: row.pendingCurrency,
    // At the currency's scale when it fits ("10000.00" for a policy written as 10000).
    confirmationAbove: atScaleIfExact(row.pendingConfirmationAbove, row.pendingCurrency),
    effect: row.pendingPlan.effect,
    postings: row.pendingPlan.postings,
    releasesToClearing: row.pendingPlan.releasesToClearing,
  };
}
