import { createReadStream } from 'node:fs';
import path from 'node:path';
import {
  copyRows,
  CopyRowBuilder,
  copyTextStream,
  type CopyTextBatch,
  isUniqueViolation,
  ProgressReporter,
} from '@app/platform';
import type { DataSource, EntityManager } from 'typeorm';
import { type ImportMatchRun, openImportRun } from '../matching/import-match.js';
import { SYSTEM_LOCAL, type MatchRunResult } from '../matching/match-run.service.js';
import type { MatchClass } from '../matching/match.types.js';
import { fileSha256 } from './file-digest.js';
import {
  GENERIC_CSV_DEFAULT_OPTIONS,
  statementParserFor,
  type StatementFormat,
  type StatementTotals,
} from './parsers/index.js';
import type { StatementLine } from './statement-line.js';

export type StatementImportErrorCode =
  | 'STATEMENT.ALREADY_IMPORTED'
  | 'STATEMENT.BUSINESS_DATE_REQUIRED'
  | 'STATEMENT.INVALID_REQUEST'
  | 'STATEMENT.REPLACEMENT_FORBIDDEN';

/** An operating error of the import itself (the file's own faults are StatementParseErrors). */
export class StatementImportError extends Error {
  override readonly name = 'StatementImportError';

  constructor(
    readonly code: StatementImportErrorCode,
    message: string,
    /** ALREADY_IMPORTED: the earlier import. */
    readonly earlier: { statementFileId: string; importedAt: string; businessDate: string } | null = null,
  ) {
    super(message);
  }
}

export interface StatementImportRequest {
  channel: string;
  format: StatementFormat;
  filePath: string;
  /**
   * The statement's business date. When absent it is the date part of the lines' trade times, which
   * must then all fall on one date (a file spanning dates, or without lines, needs it explicitly).
   */
  businessDate?: string;
  /** No progress output (e.g. `--json` mode). */
  silent?: boolean;
  /**
   * Also run the day's match in the same pass (ADR 013): each line is classified as it is read and
   * written with its class; the run's other results are written before the import commits.
   */
  match?: boolean;
  /** The principal uploading the file (HTTP caller); `system:local` for in-process calls. */
  uploadedBy?: string;
  /**
   * Whether this caller may supersede a statement already imported for the channel and date (the
   * role recon.statement-replace). Without it, a second file for a reconciled day is refused
   * before anything is kept: a "corrected" statement is how a forged one would arrive.
   */
  mayReplace?: boolean;
}

export interface StatementImportResult {
  /** bigint as a string. */
  statementFileId: string;
  channel: string;
  businessDate: string;
  format: StatementFormat;
  lines: number;
  totals: StatementTotals[];
  /** Malformed lines set aside (channel_match_policy.rejected_lines_max > 0), in statement_rejected_line. */
  rejectedLines: number;
  /** Why the file's own control totals could not be verified (lines were set aside), or null. */
  controlsUnverified: string | null;
  elapsedMs: number;
  linesPerSecond: number;
  /** The match run made with the import (`match: true`), else null. */
  matchRun: MatchRunResult | null;
}

const LINE_COLUMNS = [
  'statement_file_id',
  'line_no',
  'type',
  'order_no',
  'refund_no',
  'channel_txn_id',
  'amount',
  'fee',
  'currency',
  'status',
  'trade_time',
  'seq',
  'match_class',
  'internal_transaction_id',
] as const;

const CHANNEL = /^[A-Z0-9_]{1,32}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Imports one channel statement file into reconciliation.statement_file / statement_line.
 *
 * 1. A first streaming pass computes the file's SHA-256; the same content already imported for the
 *    channel fails with STATEMENT.ALREADY_IMPORTED before anything is written.
 * 2. One transaction: the lines are parsed as a stream into one COPY; only once `batches()` has
 *    completed (control totals verified) is the statement_file row inserted, under an id reserved
 *    from its sequence at the start. Any error — malformed line, control-total mismatch, encoding,
 *    business-date conflict — rolls the whole transaction back: nothing of the file is kept.
 */
/**
 * A statement already imported for the channel and date: only a caller allowed to replace one may
 * supersede it. Checked inside the import's transaction, after the lines are parsed (the date may
 * come from them) and before anything commits.
 */
async function refuseReplacement(tx: EntityManager, channel: string, businessDate: string): Promise<void> {
  const [earlier] = await tx.query<{ id: string; uploaded_by: string }[]>(
    `SELECT id::text AS id, uploaded_by FROM reconciliation.statement_file
     WHERE channel = $1 AND business_date = $2 ORDER BY statement_file.id DESC LIMIT 1`,
    [channel, businessDate],
  );
  if (earlier !== undefined)
    throw new StatementImportError(
      'STATEMENT.REPLACEMENT_FORBIDDEN',
      `${channel} ${businessDate} already has statement file #${earlier.id} (uploaded by ${earlier.uploaded_by}); ` +
        'superseding it needs the role recon.statement-replace; nothing imported',
    );
}

export class StatementImportService {
  constructor(private readonly dataSource: DataSource) {}

  async import(request: StatementImportRequest): Promise<StatementImportResult> {
    const { channel, format, filePath } = request;
    if (!CHANNEL.test(channel))
      throw new StatementImportError(
        'STATEMENT.INVALID_REQUEST',
        `channel must match ${CHANNEL}, got "${channel}"`,
      );
    if (request.businessDate !== undefined && !isDate(request.businessDate))
      throw new StatementImportError(
        'STATEMENT.INVALID_REQUEST',
        `business date must be a valid YYYY-MM-DD, got "${request.businessDate}"`,
      );

    // The content hash is computed on a worker thread from here on; a match import reads it only
    // after loading our side of the day, which the main thread is busy with meanwhile.
    const hashing = fileSha256(filePath);
    hashing.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
    const notImportedBefore = async (manager: EntityManager): Promise<void> => {
      const earlier = await this.findImport(manager, channel, await hashing);
      if (earlier !== null) throw alreadyImported(channel, filePath, earlier);
    };
    if (request.match !== true) await notImportedBefore(this.dataSource.manager);

    const progress = new ProgressReporter({
      label: `statement ${channel} ${path.basename(filePath)}`,
      unit: 'lines',
      silent: request.silent ?? false,
    });
    let result: Omit<StatementImportResult, 'elapsedMs' | 'linesPerSecond'>;
    try {
      // REPEATABLE READ when matching: the run reads the day in one snapshot, like a match run.
      result = await this.dataSource.transaction(
        request.match === true ? 'REPEATABLE READ' : 'READ COMMITTED',
        async (tx) => {
          const [{ id }] = await tx.query<[{ id: string }]>(
            `SELECT nextval(pg_get_serial_sequence('reconciliation.statement_file', 'id'))::text AS id`,
          );
          // A channel may be configured to set malformed lines aside (listed in the report) instead
          // of failing the whole import; by default one bad line fails it.
          const [policy] = await tx.query<{ rejected_lines_max: number }[]>(
            'SELECT rejected_lines_max FROM reconciliation.channel_match_policy WHERE channel = $1',
            [channel],
          );
          const rejectMalformedMax = policy?.rejected_lines_max ?? 0;
          const parser =
            format === 'generic'
              ? statementParserFor('generic', { ...GENERIC_CSV_DEFAULT_OPTIONS, rejectMalformedMax })
              : statementParserFor(format, { rejectMalformedMax });
          let businessDate = request.businessDate ?? null;
          let run: ImportMatchRun | null = null;
          if (request.match === true) {
            // The run loads our side of the day before the first line: the day must be known first.
            businessDate ??= await firstTradeDate(
              format === 'generic'
                ? statementParserFor('generic', { ...GENERIC_CSV_DEFAULT_OPTIONS, rejectMalformedMax })
                : statementParserFor(format, { rejectMalformedMax }),
              filePath,
            );
            if (businessDate === null)
              throw new StatementImportError(
                'STATEMENT.BUSINESS_DATE_REQUIRED',
                'the file has no lines to take the business date from; give it (--date)',
              );
            run = await openImportRun(tx, channel, businessDate);
            // Before the first line is written: the same content again fails here, and the
            // transaction (the run's lock, its reserved ids) rolls back.
            await notImportedBefore(tx);
          }
          const sha256 = await hashing;
          // A 10M-line file is one COPY: longer than the pool's per-statement limit for requests.
          await tx.query(`SET LOCAL statement_timeout = '1h'`);
          // Opened only now, and read from right away (no await before the COPY pulls it): a stream
          // nobody reads yet would report a read error to no one.
          const parse = parser.parse(
            // 64 KiB: a chunk decoded to a string stays in the young generation and dies there; a
            // 1 MiB one went to the large-object space and waited for a full collection.
            createReadStream(filePath, { highWaterMark: 1 << 16 }) as AsyncIterable<Uint8Array>,
          );
          let seq = 0;
          // One COPY for the whole file: the parser (Node) and the load (Postgres) run side by side.
          // Lines come a batch at a time and each batch is rendered in one loop: an async hop and
          // generic rendering per line cost more than parsing the line.
          async function* rows(): AsyncGenerator<CopyTextBatch> {
            const out = new CopyRowBuilder();
            for await (const lines of parse.batches()) {
              const seqBefore = seq;
              const found = run?.lookUp(lines);
              for (let i = 0; i < lines.length; i += 1) {
                const line = lines[i]!;
                if (businessDate === null) businessDate = line.tradeTime.slice(0, 10);
                else if (request.businessDate === undefined && line.tradeTime.slice(0, 10) !== businessDate)
                  throw new StatementImportError(
                    'STATEMENT.BUSINESS_DATE_REQUIRED',
                    `line ${line.lineNo}, field tradeTime: ${line.tradeTime} is not on ${businessDate} like the lines before it; the file spans several dates, give the business date (--date)`,
                  );
                if (run === null) {
                  seq += 1;
                  writeLineRow(out, id, line, seq, null);
                  continue;
                }
                const columns = run.outcomeOf(line, seq + 1, found![i]);
                if (columns === undefined) continue; // decided after the last line
                seq += 1;
                writeLineRow(out, id, line, seq, columns);
              }
              yield { text: out.take(), rows: seq - seqBefore };
            }
            if (run !== null) {
              let seqBefore = seq;
              for (const { line, columns } of run.remainingLines(seq + 1)) {
                seq += 1;
                writeLineRow(out, id, line, seq, columns);
                if (seq - seqBefore === DEFERRED_BATCH_LINES) {
                  yield { text: out.take(), rows: seq - seqBefore };
                  seqBefore = seq;
                }
              }
              yield { text: out.take(), rows: seq - seqBefore };
            }
          }
          await copyTextStream(tx, 'reconciliation.statement_line', LINE_COLUMNS, rows(), (n) =>
            progress.add(n),
          );
          const summary = parse.summary();
          // Fresh statistics before a match run plans its joins over these lines: without them the
          // planner takes a new file for a few hundred rows and picks nested loops (docs/BENCHMARKS.md).
          await tx.query('ANALYZE reconciliation.statement_line');
          if (businessDate === null)
            throw new StatementImportError(
              'STATEMENT.BUSINESS_DATE_REQUIRED',
              'the file has no lines to take the business date from; give it (--date)',
            );
          if (request.mayReplace === false) await refuseReplacement(tx, channel, businessDate);
          const uploadedBy = request.uploadedBy ?? SYSTEM_LOCAL;
          const matchRun = run === null ? null : await run.complete(tx, id, uploadedBy);
          await tx.query(
            `INSERT INTO reconciliation.statement_file
             (id, channel, business_date, format, file_name, content_sha256, line_count, totals,
              rejected_line_count, controls_unverified, match_run_id, uploaded_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12)`,
            [
              id,
              channel,
              businessDate,
              format,
              path.basename(filePath),
              sha256,
              summary.lineCount,
              JSON.stringify(summary.totals),
              summary.rejected.length,
              summary.controlsUnverified,
              matchRun?.matchRunId ?? null,
              uploadedBy,
            ],
          );
          await copyRows(
            tx,
            'reconciliation.statement_rejected_line',
            ['statement_file_id', 'line_no', 'field', 'reason', 'line_text'],
            summary.rejected.map((r) => [id, r.lineNo, r.field, r.reason, r.text]),
          );
          return {
            statementFileId: id,
            channel,
            businessDate,
            format,
            lines: summary.lineCount,
            totals: summary.totals,
            rejectedLines: summary.rejected.length,
            controlsUnverified: summary.controlsUnverified,
            matchRun,
          };
        },
      );
    } catch (error) {
      // Another import of the same content committed first: report it like the early check does.
      if (isUniqueViolation(error)) {
        const winner = await this.findImport(this.dataSource.manager, channel, await hashing);
        if (winner !== null) throw alreadyImported(channel, filePath, winner);
      }
      throw error;
    }
    const { elapsedMs, perSecond } = progress.finish();
    return { ...result, elapsedMs, linesPerSecond: Math.round(perSecond) };
  }

  private async findImport(
    manager: EntityManager,
    channel: string,
    sha256: string,
  ): Promise<{ statementFileId: string; importedAt: string; businessDate: string } | null> {
    const rows = await manager.query<{ statementFileId: string; importedAt: string; businessDate: string }[]>(
      `SELECT id::text AS "statementFileId",
              to_char(imported_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "importedAt",
              to_char(business_date, 'YYYY-MM-DD') AS "businessDate"
       FROM reconciliation.statement_file WHERE channel = $1 AND content_sha256 = $2`,
      [channel, sha256],
    );
    return rows[0] ?? null;
  }
}

function alreadyImported(
  channel: string,
  filePath: string,
  earlier: { statementFileId: string; importedAt: string; businessDate: string },
): StatementImportError {
  return new StatementImportError(
    'STATEMENT.ALREADY_IMPORTED',
    `${path.basename(filePath)}: the same content was already imported for ${channel} as statement file #${earlier.statementFileId} on ${earlier.importedAt} (business date ${earlier.businessDate})`,
    earlier,
  );
}

/**
 * A statement_line row, in LINE_COLUMNS order, into the COPY bytes. What the file holds as free text
 * is escaped (`text`); the other fields are ours (ids, numbers, the match class) or have a format
 * the parser has verified (a canonical amount, an ISO currency code, `YYYY-MM-DD HH:mm:ss`).
 */
function writeLineRow(
  out: CopyRowBuilder,
  statementFileId: string,
  line: StatementLine,
  seq: number,
  match: readonly [MatchClass, string | null] | null,
): void {
  out
    .plain(statementFileId)
    .int(line.lineNo)
    .plain(line.type)
    .text(line.orderNo)
    .text(line.refundNo)
    .text(line.channelTxnId)
    .plain(line.amount);
  if (line.fee === null) out.null();
  else out.plain(line.fee);
  out.plain(line.currency).text(line.status).plain(line.tradeTime).int(seq);
  if (match === null) out.null().null();
  else {
    out.plain(match[0]);
    if (match[1] === null) out.null();
    else out.plain(match[1]);
  }
  out.endRow();
}
/** Lines decided after the last one, rendered and written this many at a time. */
const DEFERRED_BATCH_LINES = 4096;

/** The date part of the first line's trade time, or null for a file without lines. */
async function firstTradeDate(
  parser: ReturnType<typeof statementParserFor>,
  filePath: string,
): Promise<string | null> {
  const parse = parser.parse(
    createReadStream(filePath, { highWaterMark: 1 << 16 }) as AsyncIterable<Uint8Array>,
  );
  for await (const line of parse.lines()) return line.tradeTime.slice(0, 10);
  return null;
}

function isDate(value: string): boolean {
  if (!DATE.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}
