import { DateTime } from 'luxon';
import {
  clearingSummary,
  type ClearingSummary,
  internalReconciliation,
  type InternalReconciliationReport,
  CLEARING_SCHEMA,
  clearingMigrations,
} from '../../../clearing/src/index.js';
import { emit, table, UsageError, type OutputOptions } from '../output.js';
import { withSchemaDataSource } from '../schema-data-source.js';

export interface ClearingDateOptions extends OutputOptions {
  date: string;
}

/**
 * `clearing check`: internal reconciliation (内部对账) of a business date between cleared items and
 * the ledger; exit code 1 when there is any difference.
 */
export async function clearingCheckCommand(
  options: ClearingDateOptions,
): Promise<InternalReconciliationReport> {
  calendarDate(options.date);
  return withSchemaDataSource(CLEARING_SCHEMA, clearingMigrations, async (dataSource) => {
    const report = await internalReconciliation(dataSource, options.date);
    emit(options, report, () => formatCheck(report));
    if (!report.ok) process.exitCode = 1;
    return report;
  });
}

export function formatCheck(report: InternalReconciliationReport): string {
  const head =
    `internal reconciliation of ${report.businessDate}: ${report.items} cleared items, ${report.entries} clearing ` +
    `journal entries, ${report.merchants.length} merchants` +
    (report.awaitingPayment > 0
      ? `; ${report.awaitingPayment} refunds waiting for their payment to clear`
      : '');
  if (report.ok)
    return `${head}\nOK: every item has exactly its entry, every entry its item, and merchant and channel totals agree`;
  const shown = report.differences.length;
  return [
    head,
    `${report.differenceCount} difference(s)${shown < report.differenceCount ? `, first ${shown} listed` : ''}:`,
    table(
      report.differences.map((d) => ({
        kind: d.kind,
        what: d.transactionEventId ?? d.merchantId ?? d.channel ?? '',
        account: d.account ?? '',
        expected: d.expected ?? '',
        actual: d.actual ?? '',
      })),
    ),
    ...report.differences.map((d) => `- ${d.detail}`),
  ].join('\n');
}

/** `clearing summary`: the clearing result (清分结果) of a business date per merchant. */
export async function clearingSummaryCommand(options: ClearingDateOptions): Promise<ClearingSummary> {
  calendarDate(options.date);
  return withSchemaDataSource(CLEARING_SCHEMA, clearingMigrations, async (dataSource) => {
    const summary = await clearingSummary(dataSource, options.date);
    emit(options, summary, () => formatSummary(summary));
    return summary;
  });
}

export function formatSummary(summary: ClearingSummary): string {
  const rows = summary.merchants.map((m) => ({
    merchant: m.merchantId,
    items: m.items,
    payments: m.payments,
    refunds: m.refunds,
    gross: m.gross,
    fees: m.fee,
    'channel cost': m.channelCost,
    'coupon (merchant)': m.couponMerchantFunded,
    'coupon (platform)': m.couponPlatformFunded,
    net: m.net,
    currency: m.currency,
  }));
  const waiting =
    summary.awaitingPayment > 0
      ? `\n${summary.awaitingPayment} refunds waiting for their payment to clear`
      : '';
  return `cleared items (清分结果) of ${summary.businessDate}, per merchant:\n${table(rows)}${waiting}`;
}

function calendarDate(value: string): void {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || !DateTime.fromISO(value).isValid)
    throw new UsageError(`--date must be a date YYYY-MM-DD, got "${value}"`);
}
