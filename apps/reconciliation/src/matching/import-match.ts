import { StringDecoder } from 'node:string_decoder';
import { InvariantError, businessDateBounds, invariant } from '@app/contracts';
import { copyRows } from '@app/platform';
import { to as copyTo } from 'pg-copy-streams';
import type { EntityManager } from 'typeorm';
import type { StatementLine } from '../statement/statement-line.js';
import { InternalItemIndex } from './internal-item-index.js';
import {
  type MatchRunResult,
  channelPolicyOf,
  latestRunOf,
  matchRunLockOf,
  previousDate,
  recordDiscrepancies,
} from './match-run.service.js';
import { RUN_TEMP_TABLES_SQL, bind } from './match-run.sql.js';
import type { MatchClass } from './match.types.js';
import { type LineOutcome, StatementMatcher, detached, detachedLine } from './statement-matcher.js';

/**
 * The match run made while a statement file is imported (ADR 013). The importer hands every
 * parsed line to `outcomeOf` and writes the line with the two columns it returns in the same
 * COPY; lines the matcher decides only at the end (refund lines naming no refund number) come
 * from `remainingLines`, written last; `complete` then writes what is not a line: the few
 * non-matched items (match_item), the discrepancies, the match_run row. One write per line,
 * where the set-based run wrote a line, a match_item row and a matched_item mark.
 *
 * Matched lines are released to clearing by the matched-item relay, which records each in
 * matched_item as it publishes it (that primary key keeps "each once" across runs).
 */

/** The run's columns of a statement_line row: match_class, internal_transaction_id. */
export type LineMatchColumns = readonly [MatchClass, string | null];

interface ExceptionRow {
  class: MatchClass;
  key: string;
  internalId: string | null;
  line: StatementLine | null;
  seq: number | null;
  feeDifference: string | null;
  reason: string | null;
  carriedFrom: string | null;
}

export class ImportMatchRun {
  private readonly exceptions = new Map<number, ExceptionRow>();
  private readonly rematched: { internalId: string; lineNo: number }[] = [];
  private result: ReturnType<StatementMatcher['finish']> | undefined;

  constructor(
    readonly matchRunId: string,
    readonly channel: string,
    readonly businessDate: string,
    private readonly index: InternalItemIndex,
    private readonly matcher: StatementMatcher,
    private readonly openDiscrepancyItems: ReadonlySet<string>,
    private readonly sql: {
      closesAt: string;
      window: number;
      grace: number;
      startedAt: string;
    },
  ) {}

  /** The line's columns, or undefined when it is decided at the end (see `remainingLines`). */
  outcomeOf(line: StatementLine, seq: number): LineMatchColumns | undefined {
    const outcome = this.matcher.match(line);
    if (outcome === null) return undefined;
    return this.columnsOf(line, seq, outcome);
  }

  /** The lines decided at the end, with their columns: the importer writes them after the others. */
  remainingLines(): { line: StatementLine; columns: LineMatchColumns }[] {
    invariant(this.result === undefined, 'ImportMatchRun.remainingLines twice');
    this.result = this.matcher.finish();
    return this.result.deferred.map(({ line, outcome }) => ({
      line,
      columns: this.columnsOf(line, null, outcome),
    }));
  }

  /**
   * Writes the rest of the run, in the importer's transaction: corrections of lines a later line
   * took the pair from, the non-matched items, their discrepancies and the match_run row.
   * `firstDeferredSeq`: the seq the first of `remainingLines` was written at.
   */
  async complete(
    tx: EntityManager,
    statementFileId: string,
    firstDeferredSeq: number,
  ): Promise<MatchRunResult> {
    const result = this.result;
    invariant(result !== undefined, 'ImportMatchRun.complete before remainingLines');
    result.deferred.forEach(({ outcome }, i) => {
      const row = this.exceptions.get(outcome.lineNo);
      if (row !== undefined) row.seq = firstDeferredSeq + i;
    });
    for (const correction of result.corrections) {
      const row = this.exceptions.get(correction.lineNo);
      invariant(row !== undefined, () => `line ${correction.lineNo} is corrected but was not an exception`);
      this.exceptions.set(correction.lineNo, { ...this.exceptionOf(row.line!, correction), seq: row.seq });
    }
    if (result.corrections.length > 0) {
      const corrected = result.corrections.map((c) => {
        const row = this.exceptions.get(c.lineNo)!;
        return [row.seq, c.class, c.internalId] as const;
      });
      await tx.query(
        `UPDATE reconciliation.statement_line l SET match_class = c.class, internal_transaction_id = c.id
         FROM unnest($2::int[], $3::text[], $4::bigint[]) AS c(seq, class, id)
         WHERE l.statement_file_id = $1 AND l.seq = c.seq`,
        [statementFileId, corrected.map((c) => c[0]), corrected.map((c) => c[1]), corrected.map((c) => c[2])],
      );
    }

    await tx.query(RUN_TEMP_TABLES_SQL);
    await tx.query(`
      CREATE TEMP TABLE run_exception (
        class text NOT NULL, match_key text NOT NULL, internal_transaction_id bigint, line_no int,
        line_type text, line_order_no text, line_refund_no text, line_amount numeric, line_currency char(3),
        fee_difference numeric, reason text, carried_from date
      ) ON COMMIT DROP`);
    const rows = [...this.exceptions.values()].filter((r) => r.class !== 'MATCHED');
    for (const item of result.internalOnly) {
      rows.push({
        class: item.class,
        key: item.key,
        internalId: item.internalId,
        line: null,
        seq: null,
        feeDifference: null,
        reason: null,
        carriedFrom: item.carriedFrom,
      });
    }
    await copyRows(
      tx,
      'run_exception',
      [
        'class',
        'match_key',
        'internal_transaction_id',
        'line_no',
        'line_type',
        'line_order_no',
        'line_refund_no',
        'line_amount',
        'line_currency',
        'fee_difference',
        'reason',
        'carried_from',
      ],
      rows.map((r) => [
        r.class,
        r.key,
        r.internalId,
        r.line?.lineNo ?? null,
        r.line?.type ?? null,
        r.line?.orderNo ?? null,
        r.line?.refundNo ?? null,
        r.line?.amount ?? null,
        r.line?.currency ?? null,
        r.feeDifference,
        r.reason,
        r.carriedFrom,
      ]),
    );
    await tx.query(
      ...bind(EXCEPTIONS_SQL, {
        run: this.matchRunId,
        file: statementFileId,
        date: this.businessDate,
        closesAt: this.sql.closesAt,
        window: this.sql.window,
        grace: this.sql.grace,
      }),
    );
    await copyRows(
      tx,
      'run_rematched',
      ['internal_transaction_id', 'statement_file_id', 'line_no'],
      this.rematched.map((r) => [r.internalId, statementFileId, r.lineNo]),
    );
    const discrepancies = await recordDiscrepancies(tx, this.channel, this.businessDate, this.matchRunId);
    await tx.query(
      `INSERT INTO reconciliation.match_run (id, channel, business_date, started_at, finished_at, counts)
       OVERRIDING SYSTEM VALUE
       VALUES ($1, $2, $3, $4, clock_timestamp(), $5::jsonb)`,
      [this.matchRunId, this.channel, this.businessDate, this.sql.startedAt, JSON.stringify(result.counts)],
    );
    return {
      matchRunId: this.matchRunId,
      channel: this.channel,
      businessDate: this.businessDate,
      statementFileId,
      counts: result.counts,
      internalItems: this.index.size,
      statementLines: result.lines,
      // Queued for release: the relay publishes each MATCHED line whose item was never released.
      emitted: result.counts.MATCHED,
      discrepancies,
      elapsedMs: Date.now() - Date.parse(this.sql.startedAt),
    };
  }

  private columnsOf(line: StatementLine, seq: number | null, outcome: LineOutcome): LineMatchColumns {
    if (outcome.class === 'MATCHED') {
      if (outcome.internalId !== null && this.openDiscrepancyItems.has(outcome.internalId))
        this.rematched.push({ internalId: outcome.internalId, lineNo: line.lineNo });
    } else {
      this.exceptions.set(line.lineNo, { ...this.exceptionOf(line, outcome), seq });
    }
    return [outcome.class, outcome.internalId];
  }

  private exceptionOf(line: StatementLine, outcome: LineOutcome): Omit<ExceptionRow, 'seq'> {
    invariant(outcome.key !== null, () => `line ${line.lineNo}: a ${outcome.class} outcome without a key`);
    return {
      class: outcome.class,
      key: detached(outcome.key),
      internalId: outcome.internalId,
      line: detachedLine(line),
      feeDifference: outcome.feeDifference,
      reason: outcome.reason === null ? null : detached(outcome.reason),
      carriedFrom: outcome.carriedFrom,
    };
  }
}

/**
 * Opens the import's match run of (channel, D): takes the channel's match-run lock (runs and
 * resolutions of the channel wait), reads the policy and D−1's pending items, and loads our side
 * of the day into an index. Call inside the import's transaction.
 */
export async function openImportRun(
  tx: EntityManager,
  channel: string,
  businessDate: string,
): Promise<ImportMatchRun> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [matchRunLockOf(channel)]);
  const [{ startedAt }] = await tx.query<[{ startedAt: string }]>(
    `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "startedAt"`,
  );
  const policy = await channelPolicyOf(tx, channel);
  const closesAt = businessDateBounds(businessDate, {
    zone: policy.zone,
    cutoffLocalTime: policy.cutoffLocalTime,
  }).end.toISO();
  invariant(closesAt !== null, () => `no cut-off instant for ${channel} ${businessDate}`);
  const previousRunId = await latestRunOf(tx, channel, previousDate(businessDate));
  const [{ id: matchRunId }] = await tx.query<[{ id: string }]>(
    `SELECT nextval(pg_get_serial_sequence('reconciliation.match_run', 'id'))::text AS id`,
  );
  const open = await tx.query<{ id: string }[]>(
    `SELECT internal_transaction_id::text AS id FROM reconciliation.discrepancy
     WHERE channel = $1 AND status = 'OPEN' AND internal_transaction_id IS NOT NULL`,
    [channel],
  );
  const index = await loadInternalIndex(tx, {
    channel,
    businessDate,
    closesAt,
    windowMinutes: policy.crossDayWindowMinutes,
    previousRunId,
  });
  const matcher = new StatementMatcher(index, {
    businessDate,
    crossDayGraceDays: policy.crossDayGraceDays,
    expectedFeeRate: policy.expectedFeeRate,
    successStatuses: {
      PAYMENT: new Set(policy.paymentSuccessStatuses),
      REFUND: new Set(policy.refundSuccessStatuses),
    },
  });
  return new ImportMatchRun(
    matchRunId,
    channel,
    businessDate,
    index,
    matcher,
    new Set(open.map((r) => r.id)),
    {
      closesAt,
      window: policy.crossDayWindowMinutes,
      grace: policy.crossDayGraceDays,
      startedAt,
    },
  );
}

/**
 * D's payments and refunds of the channel, and the items D−1's latest run left pending, streamed
 * out of Postgres with one COPY and parsed as they come. COPY takes no parameters, so the values
 * are literals — each one validated to a shape that cannot close a literal.
 */
export async function loadInternalIndex(
  tx: EntityManager,
  q: {
    channel: string;
    businessDate: string;
    closesAt: string;
    windowMinutes: number;
    previousRunId: string | null;
  },
): Promise<InternalItemIndex> {
  invariant(/^[A-Z0-9_]{1,32}$/.test(q.channel), () => `channel ${q.channel}`);
  invariant(/^\d{4}-\d{2}-\d{2}$/.test(q.businessDate), () => `business date ${q.businessDate}`);
  invariant(/^[0-9T:.+\-Z]{10,40}$/.test(q.closesAt), () => `cut-off ${q.closesAt}`);
  invariant(Number.isInteger(q.windowMinutes) && q.windowMinutes >= 0, 'window');
  invariant(q.previousRunId === null || /^\d{1,19}$/.test(q.previousRunId), 'previous run id');
  const [{ n }] = await tx.query<[{ n: string }]>(
    `SELECT (SELECT count(*) FROM reconciliation.internal_transaction
             WHERE channel = $1 AND business_date = $2::date
               AND event_type IN ('PAYMENT_SUCCEEDED', 'REFUND_SUCCEEDED'))
          + (SELECT count(*) FROM reconciliation.match_item
             WHERE match_run_id = $3::bigint AND class = 'PENDING_CROSS_DAY') AS n`,
    [q.channel, q.businessDate, q.previousRunId],
  );
  const index = new InternalItemIndex(Number(n));
  const columns = `it.id, it.event_type, it.order_no, it.refund_no, it.amount, it.currency`;
  const sql = `COPY (
      SELECT ${columns},
             ('${q.closesAt}'::timestamptz - it.occurred_at) <= make_interval(mins => ${q.windowMinutes}),
             NULL::date
      FROM reconciliation.internal_transaction it
      WHERE it.channel = '${q.channel}' AND it.business_date = '${q.businessDate}'::date
        AND it.event_type IN ('PAYMENT_SUCCEEDED', 'REFUND_SUCCEEDED')
      ${
        q.previousRunId === null
          ? ''
          : `UNION ALL
      SELECT ${columns}, false, it.business_date
      FROM reconciliation.match_item mi
      JOIN reconciliation.internal_transaction it ON it.id = mi.internal_transaction_id
      WHERE mi.match_run_id = ${q.previousRunId} AND mi.class = 'PENDING_CROSS_DAY'`
      }
    ) TO STDOUT`;
  const runner = tx.queryRunner;
  invariant(runner?.isTransactionActive === true, 'loadInternalIndex must run inside a transaction');
  const client = (await runner.connect()) as { query: (stream: unknown) => AsyncIterable<Buffer> };
  const decoder = new StringDecoder('utf8');
  let rest = '';
  // Fields by position, without an array per row: id, event_type, order_no, refund_no, amount,
  // currency, in_window, carried_from.
  const addRows = (text: string, from: number, to: number): void => {
    let start = from;
    while (start < to) {
      const end = text.indexOf('\n', start);
      const t1 = text.indexOf('\t', start);
      const t2 = text.indexOf('\t', t1 + 1);
      const t3 = text.indexOf('\t', t2 + 1);
      const t4 = text.indexOf('\t', t3 + 1);
      const t5 = text.indexOf('\t', t4 + 1);
      const t6 = text.indexOf('\t', t5 + 1);
      const t7 = text.indexOf('\t', t6 + 1);
      const t8 = text.indexOf('\t', t7 + 1);
      if (t7 === -1 || t7 > end || (t8 !== -1 && t8 < end))
        throw new InvariantError(`internal index row is not 8 fields: ${text.slice(start, end)}`);
      index.add({
        id: text.slice(start, t1),
        kind: text.charCodeAt(t1 + 1) === 82 /* R */ ? 'REFUND' : 'PAYMENT',
        orderNo: copyTextValue(text.slice(t2 + 1, t3))!,
        refundNo: copyTextValue(text.slice(t3 + 1, t4)),
        amount: text.slice(t4 + 1, t5),
        currency: text.slice(t5 + 1, t6),
        inCrossDayWindow: text.charCodeAt(t6 + 1) === 116 /* t */,
        carriedFrom: copyTextValue(text.slice(t7 + 1, end)),
      });
      start = end + 1;
    }
  };
  for await (const chunk of client.query(copyTo(sql))) {
    const text = rest + decoder.write(chunk);
    const last = text.lastIndexOf('\n') + 1;
    addRows(text, 0, last);
    rest = text.slice(last);
  }
  rest += decoder.end();
  invariant(rest === '', 'internal index COPY ended inside a row');
  invariant(
    index.size === Number(n),
    () => `internal index: ${n} items counted, ${index.size} read (the day changed under the run?)`,
  );
  return index;
}

/** A field of COPY's text format: \N is null, backslash escapes as Postgres writes them. */
export function copyTextValue(field: string): string | null {
  if (field === '\\N') return null;
  if (!field.includes('\\')) return field;
  return field.replace(/\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|(.))/g, (_, octal, hex, c) => {
    if (octal !== undefined) return String.fromCharCode(Number.parseInt(octal as string, 8));
    if (hex !== undefined) return String.fromCharCode(Number.parseInt(hex as string, 16));
    const escapes: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
    return escapes[c as string] ?? (c as string);
  });
}

/**
 * The run's non-matched items, from run_exception (lines' reasons come from the matcher; our items
 * alone get theirs here, from the transaction rows), into match_item and run_unmatched.
 */
const EXCEPTIONS_SQL = `
WITH e AS (
  SELECT e.*, it.id AS own_id, it.event_id, it.event_type, it.merchant_id, it.order_no, it.refund_no,
         it.amount, it.currency, it.occurred_at,
         CASE WHEN e.class = 'DUPLICATE' OR e.internal_transaction_id IS NULL THEN 'CHANNEL'
              WHEN e.line_no IS NULL THEN 'INTERNAL' ELSE 'BOTH' END AS side
  FROM run_exception e
  LEFT JOIN reconciliation.internal_transaction it ON it.id = e.internal_transaction_id
),
described AS (
  SELECT e.*,
         coalesce(e.reason,
           'our ' || CASE WHEN e.event_type = 'PAYMENT_SUCCEEDED' THEN 'payment ' ELSE 'refund ' END
           || e.amount || ' ' || e.currency || ' (' || e.match_key || ')'
           || CASE
                WHEN e.class = 'PENDING_CROSS_DAY' AND e.carried_from IS NOT NULL THEN
                  ' of ' || e.carried_from || ' is not on ' || :date::date || '''s statement yet (grace '
                  || :grace::int || ' day(s), ' || (:date::date - e.carried_from) || ' elapsed)'
                WHEN e.class = 'PENDING_CROSS_DAY' THEN
                  ' at ' || to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
                  || ' is ' || ceil(extract(epoch FROM :closesAt::timestamptz - e.occurred_at))::bigint
                  || 's before the cut-off (window ' || :window::int || ' min); expected on a later statement'
                WHEN e.carried_from IS NOT NULL THEN
                  ' of ' || e.carried_from || ' is on no statement up to ' || :date::date
                  || ' (grace ' || :grace::int || ' day(s) elapsed)'
                ELSE ' is not on the channel''s statement of ' || :date::date
              END) AS full_reason
  FROM e
),
items AS (
  INSERT INTO reconciliation.match_item
    (match_run_id, class, side, match_key, internal_transaction_id, event_id, statement_file_id, line_no,
     order_no, refund_no, reason, fee_difference, original_business_date)
  SELECT :run::bigint, d.class, d.side, d.match_key, d.own_id, d.event_id,
         CASE WHEN d.line_no IS NULL THEN NULL ELSE :file::bigint END, d.line_no,
         coalesce(d.order_no, d.line_order_no),
         CASE WHEN d.own_id IS NULL THEN d.line_refund_no ELSE d.refund_no END,
         d.full_reason, d.fee_difference, d.carried_from
  FROM described d
)
INSERT INTO run_unmatched
SELECT CASE WHEN d.side = 'CHANNEL' THEN 'line:' || :file::bigint || ':' || d.line_no ELSE 'txn:' || d.own_id END,
       d.class, d.side,
       CASE WHEN d.own_id IS NULL THEN d.line_type
            WHEN d.event_type = 'PAYMENT_SUCCEEDED' THEN 'PAYMENT' ELSE 'REFUND' END,
       d.own_id, d.event_id,
       CASE WHEN d.line_no IS NULL THEN NULL ELSE :file::bigint END, d.line_no,
       d.merchant_id, coalesce(d.order_no, d.line_order_no),
       CASE WHEN d.own_id IS NULL THEN d.line_refund_no ELSE d.refund_no END,
       d.amount, d.line_amount, coalesce(d.currency, d.line_currency),
       d.fee_difference, d.full_reason, coalesce(d.carried_from, :date::date)
FROM described d
WHERE d.class NOT IN ('MATCHED', 'PENDING_CROSS_DAY')`;
