import { createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  type ApprovalRecordView,
  SETTLEMENT_SCHEMA,
  settlementMigrations,
  type CloseResult,
  listSettlementRecords,
  type SettlementRecordView,
  toEpochDay,
  dailySettlementSummary,
  type DailySettlementSummary,
  findStatementRecord,
  merchantStatementCsv,
  verifyStatementTotals,
  statementItems,
} from '../../../settlement/src/index.js';
import { ApiClient, idempotencyKeyOf, type ApiCommandOptions } from '../api-client.js';
import { emit, table, terminalSafe, UsageError, type OutputOptions } from '../output.js';
import { withSchemaDataSource } from '../schema-data-source.js';

/**
 * `settlement close --date D`: closes every cycle that closes on D into settlement records, through
 * the settlement service's `POST /cycles/close`: the token's principal is the closer (the records'
 * maker, who may not approve them).
 */
export async function settlementCloseCommand(
  options: OutputOptions & ApiCommandOptions & { date: string },
  client?: ApiClient,
): Promise<CloseResult> {
  const api = client ?? (await ApiClient.for('settlement', options));
  const { body: result } = await api.json<CloseResult>(
    'POST',
    '/cycles/close',
    { date: options.date },
    { 'idempotency-key': idempotencyKeyOf(options, 'close') },
  );
  emit(options, result, () => formatClose(result));
  return result;
}

export function formatClose(result: CloseResult): string {
  const head = result.nothingNew
    ? `nothing new for ${result.date}: ${result.recordsAlreadyClosed} record(s) had already closed on it, no item was due`
    : `closed ${result.date}: ${result.recordsCreated} record(s), ${result.itemsSettled} item(s) settled` +
      (result.recordsAlreadyClosed > 0 ? ` (${result.recordsAlreadyClosed} closed on it before)` : '');
  const heldBack = result.merchantsHeldBack.map(
    (m) =>
      `held back ${terminalSafe(m.merchantId)}: ${terminalSafe(m.message)} (its items wait for the next close)`,
  );
  if (result.totals.length === 0) return [head, ...heldBack].join('\n');
  return [
    head,
    ...heldBack,
    table(
      result.totals.map((t) => ({
        currency: t.currency,
        records: t.records,
        items: t.items,
        'items net': t.itemsNet,
        payable: t.payable,
        'carried forward': t.carryForward,
        'reserve held': t.reserveHeld,
        'reserve released': t.reserveReleased,
      })),
    ),
  ].join('\n');
}

/** `settlement list`: settlement records by close date, merchant and status. */
export async function settlementListCommand(
  options: OutputOptions & { date?: string; merchant?: string; status?: string },
): Promise<SettlementRecordView[]> {
  if (options.date !== undefined) {
    try {
      toEpochDay(options.date, '--date');
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  return withSchemaDataSource(SETTLEMENT_SCHEMA, settlementMigrations, async (dataSource) => {
    const records = await listSettlementRecords(dataSource, options);
    emit(options, records, () =>
      table(
        records.map((r) => ({
          id: r.id,
          merchant: r.merchantId,
          cycle: r.cycleKey,
          dates: `${r.firstBusinessDate}..${r.lastBusinessDate}`,
          'closes on': r.closesOn,
          items: r.itemsCount,
          'items net': r.itemsNet,
          'carried in': r.carriedIn,
          'reserve held': r.reserveHeld,
          'reserve released': r.reserveReleased,
          payable: r.amount,
          'carry forward': r.carryForward,
          currency: r.currency,
          status: r.status,
        })),
      ),
    );
    return records;
  });
}

/**
 * `settlement approve <id>` and `settlement reject <id> --reason R`: the settlement service's
 * `POST /settlement-records/{id}/approve|reject` as the token's principal (maker-checker compares
 * it with the record's maker), idempotent by the key.
 */
export async function settlementDecideCommand(
  options: OutputOptions &
    ApiCommandOptions & {
      id: string;
      reason?: string;
      action: 'approve' | 'reject';
    },
  client?: ApiClient,
): Promise<ApprovalRecordView> {
  recordId(options.id);
  if (options.action === 'reject') reasonOf(options.reason);
  const api = client ?? (await ApiClient.for('settlement', options));
  // One key per CLI call unless given: retrying a lost answer needs the same --idempotency-key.
  const idempotencyKey = idempotencyKeyOf(options, options.action);
  const { body: record } = await api.json<ApprovalRecordView>(
    'POST',
    `/settlement-records/${options.id}/${options.action}`,
    options.action === 'approve' ? {} : { reason: options.reason },
    { 'idempotency-key': idempotencyKey },
  );
  emit(options, record, () => formatDecision(record, idempotencyKey));
  return record;
}

export function formatDecision(record: ApprovalRecordView, idempotencyKey: string): string {
  const by = record.approvals.map((a) => a.by).join(', ');
  return (
    `settlement record ${record.id} ${record.merchantId} ${record.netPayout} ${record.currency}: ${record.status} ` +
    `(version ${record.version}, approvals ${record.approvals.length} of ${record.approvalsRequired}` +
    `${by === '' ? '' : ` by ${by}`}, key ${idempotencyKey})`
  );
}

/** A record id as the API takes it; anything else is a usage error before any call. */
export function recordId(id: string): string {
  if (!/^[1-9]\d{0,18}$/.test(id))
    throw new UsageError(`<id> must be a settlement record id (a positive integer), got "${id}"`);
  return id;
}

/** A reason of 1 to 500 characters. */
export function reasonOf(reason: string | undefined): string {
  if (reason === undefined || reason.trim() === '' || reason.length > 500)
    throw new UsageError('--reason must say why, in 1 to 500 characters');
  return reason;
}

/** `settlement statement <id> [--out file]`: the record's merchant statement CSV (UTF-8 BOM). */
export async function settlementStatementCommand(options: { id: string; out?: string }): Promise<void> {
  await withSchemaDataSource(SETTLEMENT_SCHEMA, settlementMigrations, async (dataSource) => {
    const record = await findStatementRecord(dataSource, options.id);
    if (!record) throw new UsageError(`no settlement record ${options.id}`);
    // Before the first line is written, so an inconsistent record leaves no partial --out file.
    await verifyStatementTotals(dataSource, record);
    const lines = Readable.from(merchantStatementCsv(statementItems(dataSource, record), record));
    // To a terminal (stdout) each line loses any control character but its CRLF; a file gets the bytes.
    if (options.out === undefined) await pipeline(lines, terminalSafeLines(), process.stdout, { end: false });
    else await pipeline(lines, createWriteStream(options.out));
  });
}

/** `settlement summary --date D`: the daily settlement summary of a close date. */
export async function settlementSummaryCommand(
  options: OutputOptions & { date: string },
): Promise<DailySettlementSummary> {
  return withSchemaDataSource(SETTLEMENT_SCHEMA, settlementMigrations, async (dataSource) => {
    const summary = await dailySettlementSummary(dataSource, options.date);
    emit(options, summary, () =>
      [
        `settlement summary of ${summary.date}`,
        table(
          summary.records.map((r) => ({
            status: r.status,
            currency: r.currency,
            records: r.records,
            amount: r.amount,
            'carry forward': r.carryForward,
            'reserve held': r.reserveHeld,
            'reserve released': r.reserveReleased,
          })),
        ),
        'payouts',
        table(
          summary.payouts.map((p) => ({
            status: p.status,
            currency: p.currency,
            payouts: p.payouts,
            amount: p.amount,
          })),
        ),
        ...(summary.heldBack.length === 0
          ? []
          : [
              'held back by the close (no record yet; their items wait for the next close)',
              table(
                summary.heldBack.map((h) => ({ merchant: h.merchantId, code: h.code, reason: h.message })),
              ),
            ]),
      ].join('\n'),
    );
    return summary;
  });
}

/** CSV lines (each ending in CRLF) with every other control character removed. */
function terminalSafeLines(): Transform {
  return new Transform({
    writableObjectMode: true,
    transform(line: string | Buffer, _encoding, callback) {
      const text = String(line);
      const ending = text.endsWith('\r\n') ? '\r\n' : text.endsWith('\n') ? '\n' : '';
      callback(null, `${terminalSafe(text.slice(0, text.length - ending.length))}${ending}`);
    },
  });
}
