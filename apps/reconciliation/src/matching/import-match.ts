import { InvariantError, businessDateBounds, invariant } from '@app/contracts';
import { copyRows, copyTextValue } from '@app/platform';
import { to as copyTo } from 'pg-copy-streams';
import type { EntityManager } from 'typeorm';
import type { StatementLine } from '../statement/statement-line.js';
import { type AsciiInternalItem, InternalItemIndex } from './internal-item-index.js';
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

  /** The items a batch of lines names, for `outcomeOf` (see StatementMatcher.lookUp). */
  lookUp(lines: readonly StatementLine[]): Int32Array {
    return this.matcher.lookUp(lines);
  }

  /**
   * The line's columns, or undefined when it is decided at the end (see `remainingLines`).
   * `found`: the line's entry in `lookUp`'s answer for its batch.
   */
  outcomeOf(line: StatementLine, seq: number, found?: number): LineMatchColumns | undefined {
    const outcome = this.matcher.match(line, found);
    if (outcome === null) return undefined;
    return this.columnsOf(line, seq, outcome);
  }

  /**
   * The lines decided at the end, with their columns, for the importer to write after the others
   * from seq `firstSeq` on, one after another.
   */
  *remainingLines(firstSeq: number): Generator<{ line: StatementLine; columns: LineMatchColumns }> {
    invariant(this.result === undefined, 'ImportMatchRun.remainingLines twice');
    this.result = this.matcher.finish();
    const deferred = this.result.deferred;
    for (let k = 0; k < deferred.size; k += 1) {
      const line = deferred.line(k);
      yield { line, columns: this.columnsOf(line, firstSeq + k, deferred.outcome(k)) };
    }
    // Every item is decided and every line has its columns: what is left to write needs none of
    // the index (internalOnly carries its ids and keys).
    this.index.release();
  }

  /**
   * Writes the rest of the run, in the importer's transaction: corrections of lines a later line
   * took the pair from, the non-matched items, their discrepancies and the match_run row.
   */
  async complete(tx: EntityManager, statementFileId: string, startedBy: string): Promise<MatchRunResult> {
    const result = this.result;
    invariant(result !== undefined, 'ImportMatchRun.complete before remainingLines');
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
      `INSERT INTO reconciliation.match_run (id, channel, business_date, started_at, finished_at, counts, started_by)
       OVERRIDING SYSTEM VALUE
       VALUES ($1, $2, $3, $4, clock_timestamp(), $5::jsonb, $6)`,
      [
        this.matchRunId,
        this.channel,
        this.businessDate,
        this.sql.startedAt,
        JSON.stringify(result.counts),
        startedBy,
      ],
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
  // Narrow output (a boolean for the type, the window as one comparison with a constant): Postgres's
  // COPY out is the load's bottleneck. `timestamptz - interval` is not folded into a constant (it
  // depends on the session's time zone in general), so the window's start is computed here: the
  // same instant, minutes being exact.
  const windowOpens = new Date(Date.parse(q.closesAt) - q.windowMinutes * 60_000).toISOString();
  invariant(/^[0-9T:.\-Z]{24}$/.test(windowOpens), () => `window start ${windowOpens}`);
  const columns = `it.id, it.event_type = 'REFUND_SUCCEEDED', it.order_no, it.refund_no, it.amount, it.currency`;
  const sql = `COPY (
      SELECT ${columns},
             it.occurred_at >= '${windowOpens}'::timestamptz,
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
  // The table is sized from the planner's estimate (a count would read the day once more, ~2 s at
  // 10M items); it grows if the estimate falls short.
  const [plan] = await tx.query<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }[]>(
    `EXPLAIN (FORMAT JSON) ${sql.slice('COPY ('.length, sql.lastIndexOf(') TO STDOUT'))}`,
  );
  const index = new InternalItemIndex(Math.min(plan?.['QUERY PLAN'][0].Plan['Plan Rows'] ?? 0, 12_000_000));
  const client = (await runner.connect()) as { query: (stream: unknown) => AsyncIterable<Buffer> };
  const rows = new CopyRowReader(index);
  const copy = client.query(copyTo(sql)) as AsyncIterable<Buffer> & { rowCount: number };
  for await (const chunk of copy) rows.write(chunk);
  rows.end();
  invariant(
    index.size === copy.rowCount,
    () => `internal index: COPY sent ${copy.rowCount} rows, ${index.size} read`,
  );
  return index;
}

const TAB = 0x09;
const BACKSLASH = 0x5c;

/**
 * The loader's rows, read from COPY's output bytes: id, is_refund, order_no, refund_no, amount,
 * currency, in_window, carried_from. A row whose key holds a byte ≥ 0x80 or an escape (never seen
 * in order numbers, but possible) is decoded and goes through the string path.
 */
export class CopyRowReader {
  private rest: Buffer | null = null;
  private readonly tabs = new Int32Array(8);
  private readonly item: AsciiInternalItem = {
    bytes: new Uint8Array(0),
    id: 0,
    refund: false,
    orderStart: 0,
    orderEnd: 0,
    refundStart: 0,
    refundEnd: 0,
    amountStart: 0,
    amountEnd: 0,
    currency: '',
    inCrossDayWindow: false,
    carriedFrom: null,
  };
  private currencyBytes = -1;

  constructor(private readonly index: InternalItemIndex) {}

  /** Adds the chunk's whole rows; a row cut at the chunk's end waits for the next chunk. */
  write(chunk: Buffer): void {
    const bytes = this.rest === null ? chunk : Buffer.concat([this.rest, chunk]);
    const last = bytes.lastIndexOf(0x0a) + 1;
    this.read(bytes, last);
    this.rest = last === bytes.length ? null : Buffer.from(bytes.subarray(last));
  }

  end(): void {
    invariant(this.rest === null, 'internal index COPY ended inside a row');
    this.index.flushAdded();
  }

  /** Adds every row of bytes[0, end); `end` is just past a newline. */
  private read(bytes: Uint8Array, end: number): void {
    const tabs = this.tabs;
    const item = this.item;
    item.bytes = bytes;
    let start = 0;
    while (start < end) {
      let fields = 0;
      let plain = true;
      let at = start;
      for (; bytes[at] !== 0x0a; at += 1) {
        const c = bytes[at]!;
        if (c === TAB) {
          if (fields === 8) break;
          tabs[fields++] = at;
        } else if (c >= 0x80 || c === BACKSLASH) {
          // \N (null) is expected in refund_no and carried_from only.
          if (fields !== 3 && fields !== 7) plain = false;
          else if (c >= 0x80 || bytes[at + 1] !== 0x4e || bytes[at - 1] !== TAB) plain = false;
        }
      }
      if (fields !== 7 || bytes[at] !== 0x0a)
        throw new InvariantError(
          `internal index row is not 8 fields: ${Buffer.from(bytes.buffer, bytes.byteOffset + start, Math.min(at, end) - start).toString()}`,
        );
      if (!plain) {
        this.readDecoded(Buffer.from(bytes.buffer, bytes.byteOffset + start, at - start).toString('utf8'));
      } else {
        item.id = digitsOf(bytes, start, tabs[0]!);
        item.refund = bytes[tabs[0]! + 1] === 116; /* t */
        item.orderStart = tabs[1]! + 1;
        item.orderEnd = tabs[2]!;
        const refundNull = bytes[tabs[2]! + 1] === BACKSLASH;
        item.refundStart = refundNull ? 0 : tabs[2]! + 1;
        item.refundEnd = refundNull ? 0 : tabs[3]!;
        item.amountStart = tabs[3]! + 1;
        item.amountEnd = tabs[4]!;
        item.currency = this.currencyAt(bytes, tabs[4]! + 1, tabs[5]!);
        item.inCrossDayWindow = bytes[tabs[5]! + 1] === 116; /* t */
        item.carriedFrom =
          bytes[tabs[6]! + 1] === BACKSLASH
            ? null
            : Buffer.from(bytes.buffer, bytes.byteOffset + tabs[6]! + 1, at - tabs[6]! - 1).toString(
                'latin1',
              );
        this.index.addAscii(item);
      }
      start = at + 1;
    }
    this.index.flushAdded();
  }

  /** The row's currency: the last one seen again (one per channel day, nearly always) without a string. */
  private currencyAt(bytes: Uint8Array, from: number, to: number): string {
    const code = to - from === 3 ? (bytes[from]! << 16) | (bytes[from + 1]! << 8) | bytes[from + 2]! : -1;
    if (code !== -1 && code === this.currencyBytes) return this.item.currency;
    this.currencyBytes = code;
    return Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from).toString('latin1');
  }

  private readDecoded(row: string): void {
    const f = row.split('\t');
    this.currencyBytes = -1;
    this.index.add({
      id: f[0]!,
      kind: f[1] === 't' ? 'REFUND' : 'PAYMENT',
      orderNo: copyTextValue(f[2]!)!,
      refundNo: copyTextValue(f[3]!),
      amount: f[4]!,
      currency: f[5]!,
      inCrossDayWindow: f[6] === 't',
      carriedFrom: copyTextValue(f[7]!),
    });
  }
}

/** A positive integer of ASCII digits, bytes[start, end). */
function digitsOf(bytes: Uint8Array, start: number, end: number): number {
  let value = 0;
  invariant(end > start && end - start <= 16, 'internal transaction id');
  for (let i = start; i < end; i += 1) {
    const d = bytes[i]! - 48;
    invariant(d >= 0 && d <= 9, 'internal transaction id');
    value = value * 10 + d;
  }
  return value;
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
