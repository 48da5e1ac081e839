import {
  CSV_LINE_END,
  UTF8_BOM,
  csvCell,
  csvLine,
  csvLines,
  csvMoney,
  csvString,
  type CsvOptions,
} from '@app/platform';
import type { Discrepancy } from './discrepancy.types.js';

/**
 * The discrepancy report (差错报表) as CSV, for finance to open in Excel or WPS.
 *
 * Cells are RFC 4180 and formula-injection safe (csvCell/csvMoney in @app/platform: reasons and
 * notes come from merchants, channel files and operators). Lines end in CRLF. The header names
 * are English snake_case and their order is part of the contract: finance keeps spreadsheets and
 * macros that read columns by position.
 */

// The generic, injection-safe cell writers live in @app/platform; re-exported so callers of this
// module keep their imports.
export { CSV_LINE_END, UTF8_BOM, csvCell, csvMoney };

export const DISCREPANCY_CSV_COLUMNS = [
  'id',
  'channel',
  'business_date',
  'detected_on',
  'class',
  'side',
  'status',
  'resolution',
  'merchant_id',
  'order_no',
  'refund_no',
  'event_id',
  'statement_file_id',
  'line_no',
  'currency',
  'internal_amount',
  'channel_amount',
  'fee_difference',
  'reason',
  'resolution_note',
  'resolved_by',
  'resolved_at',
  'journal_entry_id',
  'opened_at',
  // Appended (issue 15): positions before them are unchanged for the macros that read by position.
  'adjustment_pending_by',
  'adjustment_pending_amount',
  'adjustment_confirmed_by',
] as const;
export type DiscrepancyCsvColumn = (typeof DISCREPANCY_CSV_COLUMNS)[number];

/** A Record, not a list: the compiler refuses a column without a writer or a writer without a column. */
const WRITERS: Readonly<Record<DiscrepancyCsvColumn, (row: Discrepancy) => string>> = {
  id: (row) => csvCell(row.id),
  channel: (row) => csvCell(row.channel),
  business_date: (row) => csvCell(row.businessDate),
  detected_on: (row) => csvCell(row.detectedOn),
  class: (row) => csvCell(row.class),
  side: (row) => csvCell(row.side),
  status: (row) => csvCell(row.status),
  resolution: (row) => csvCell(row.resolution),
  merchant_id: (row) => csvCell(row.merchantId),
  order_no: (row) => csvCell(row.orderNo),
  refund_no: (row) => csvCell(row.refundNo),
  event_id: (row) => csvCell(row.eventId),
  statement_file_id: (row) => csvCell(row.statementFileId),
  line_no: (row) => csvCell(row.lineNo),
  currency: (row) => csvCell(row.currency),
  internal_amount: (row) => csvMoney(row.internalAmount),
  channel_amount: (row) => csvMoney(row.channelAmount),
  fee_difference: (row) => csvMoney(row.feeDifference),
  reason: (row) => csvCell(row.reason),
  resolution_note: (row) => csvCell(row.resolutionNote),
  resolved_by: (row) => csvCell(row.resolvedBy),
  resolved_at: (row) => csvCell(row.resolvedAt),
  journal_entry_id: (row) => csvCell(row.journalEntryId),
  opened_at: (row) => csvCell(row.openedAt),
  adjustment_pending_by: (row) => csvCell(row.pendingAdjustment?.proposedBy ?? null),
  adjustment_pending_amount: (row) => csvMoney(row.pendingAdjustment?.amount ?? null),
  adjustment_confirmed_by: (row) => csvCell(row.adjustmentConfirmedBy),
};

export type DiscrepancyCsvOptions = CsvOptions;

function discrepancyCells(row: Discrepancy): string[] {
  return DISCREPANCY_CSV_COLUMNS.map((column) => WRITERS[column](row));
}

export function discrepancyCsvLine(row: Discrepancy): string {
  return csvLine(discrepancyCells(row));
}

function* cellsOf(rows: Iterable<Discrepancy>): Generator<string[]> {
  for (const row of rows) yield discrepancyCells(row);
}

/**
 * The header line, then one line per row, each ending in CRLF. Lazy: a 10,000-row export is
 * written line by line as the rows arrive, never held as one string.
 */
export function discrepanciesToCsv(
  rows: Iterable<Discrepancy>,
  options: DiscrepancyCsvOptions = {},
): Generator<string> {
  return csvLines(DISCREPANCY_CSV_COLUMNS, cellsOf(rows), options);
}

export function discrepanciesCsvString(
  rows: Iterable<Discrepancy>,
  options: DiscrepancyCsvOptions = {},
): string {
  return csvString(discrepanciesToCsv(rows, options));
}
