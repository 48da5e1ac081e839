import { Ledger } from '@app/ledger';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SettlementApprovalError } from '../../../settlement/src/approval/approval-error.js';
import type { ApprovalRecordView } from '../../../settlement/src/approval/approval-records.js';
import { ApprovalService } from '../../../settlement/src/approval/approval.service.js';
import { SETTLEMENT_SCHEMA, settlementMigrations } from '../../../settlement/src/migrations/index.js';
import {
  CLOSE_SUBMITTER,
  CycleCloseService,
  SettlementCloseBusyError,
  type CloseResult,
} from '../../../settlement/src/settlement/cycle-close.service.js';
import {
  listSettlementRecords,
  type SettlementRecordView,
} from '../../../settlement/src/settlement/settlement-records.js';
import { SettlementError, toEpochDay } from '../../../settlement/src/domain.js';
import {
  dailySettlementSummary,
  type DailySettlementSummary,
} from '../../../settlement/src/statement/daily-summary.js';
import {
  findStatementRecord,
  merchantStatementCsv,
  verifyStatementTotals,
  statementItems,
} from '../../../settlement/src/statement/merchant-statement.js';
import { emit, table, UsageError, type OutputOptions } from '../output.js';
import { withSchemaDataSource } from '../schema-data-source.js';

/** `settlement close --date D`: closes every cycle that closes on D into settlement records. */
export async function settlementCloseCommand(
  options: OutputOptions & { date: string },
): Promise<CloseResult> {
  try {
    return await withSchemaDataSource(
      SETTLEMENT_SCHEMA,
      settlementMigrations,
      async (dataSource) => {
        const result = await new CycleCloseService(dataSource, new Ledger()).close(options.date, {
          by: CLOSE_SUBMITTER,
        });
        emit(options, result, () => formatClose(result));
        return result;
      },
      3, // one connection holds the per-date lock while batches run on the others
    );
  } catch (error) {
    if (error instanceof SettlementError || error instanceof SettlementCloseBusyError)
      throw new UsageError(error.message);
    throw error;
  }
}

export function formatClose(result: CloseResult): string {
  const head = result.nothingNew
    ? `nothing new for ${result.date}: ${result.recordsAlreadyClosed} record(s) had already closed on it, no item was due`
    : `closed ${result.date}: ${result.recordsCreated} record(s), ${result.itemsSettled} item(s) settled` +
      (result.recordsAlreadyClosed > 0 ? ` (${result.recordsAlreadyClosed} closed on it before)` : '');
  const heldBack = result.merchantsHeldBack.map(
    (m) => `held back ${m.merchantId}: ${m.message} (its items wait for the next close)`,
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

/** `settlement approve <id> --as U [--key K]` and `settlement reject <id> --as U --reason R`. */
export async function settlementDecideCommand(
  options: OutputOptions & {
    id: string;
    as: string;
    key?: string;
    reason?: string;
    action: 'approve' | 'reject';
  },
): Promise<ApprovalRecordView> {
  // One key per CLI call unless given: retrying a lost answer needs the same --key.
  const idempotencyKey = options.key ?? `cli-${options.action}-${randomUUID()}`;
  try {
    return await withSchemaDataSource(SETTLEMENT_SCHEMA, settlementMigrations, async (dataSource) => {
      const service = new ApprovalService(dataSource, new Ledger());
      const record =
        options.action === 'approve'
          ? await service.approve(options.id, { by: options.as, idempotencyKey })
          : await service.reject(options.id, {
              by: options.as,
              reason: options.reason ?? '',
              idempotencyKey,
            });
      emit(
        options,
        record,
        () =>
          `settlement record ${record.id} ${record.merchantId} ${record.netPayout} ${record.currency}: ${record.status} ` +
          `(version ${record.version}, approvals ${record.approvals.length} of ${record.approvalsRequired}, key ${idempotencyKey})`,
      );
      return record;
    });
  } catch (error) {
    if (error instanceof SettlementApprovalError) throw new UsageError(`${error.code}: ${error.message}`);
    throw error;
  }
}

/** `settlement statement <id> [--out file]`: the record's merchant statement CSV (UTF-8 BOM). */
export async function settlementStatementCommand(options: { id: string; out?: string }): Promise<void> {
  await withSchemaDataSource(SETTLEMENT_SCHEMA, settlementMigrations, async (dataSource) => {
    const record = await findStatementRecord(dataSource, options.id);
    if (!record) throw new UsageError(`no settlement record ${options.id}`);
    // Before the first line is written, so an inconsistent record leaves no partial --out file.
    await verifyStatementTotals(dataSource, record);
    const lines = Readable.from(merchantStatementCsv(statementItems(dataSource, record), record));
    if (options.out === undefined) await pipeline(lines, process.stdout, { end: false });
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
