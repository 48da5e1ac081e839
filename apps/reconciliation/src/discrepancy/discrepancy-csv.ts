import type { Discrepancy } from './discrepancy.types.js';

/**
 * The discrepancy report (差错报表) as CSV, for finance to open in Excel or WPS.
 *
 * Every cell obeys RFC 4180 (quoted when it holds `"`, `,`, CR or LF; quotes doubled) and is
 * guarded against CSV/formula injection (OWASP "CSV Injection"): order numbers, reasons and notes
 * come from merchants, channel files and operators, and a cell such as `=HYPERLINK(...)` or
 * `-2+3+cmd|' /C calc'!A0` would run as a formula on the finance desk. Such a cell gets a leading
 * `'`, which spreadsheets read as "this is text" — the value shows as typed (with the quote
 * visible in some tools), and nothing is evaluated.
 *
 * Lines end in CRLF (RFC 4180). The header names are English snake_case and their order is part of
 * the contract: finance keeps spreadsheets and macros that read columns by position.
 */

/** First characters that make a spreadsheet evaluate a cell (OWASP list: = + - @ TAB CR). */
const FORMULA_TRIGGERS: ReadonlySet<string> = new Set(['=', '+', '-', '@', '\t', '\r']);
const NEEDS_QUOTES = /[",\r\n]/;
const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/;

export const CSV_LINE_END = '\r\n';
/** Excel in zh-CN reads a CSV without a BOM as GBK, which garbles UTF-8 Chinese reasons and notes. */
export const UTF8_BOM = '\uFEFF';

function quoted(text: string): string {
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * One text cell. A number is written with String() and judged like text (so -5 becomes `'-5`):
 * signed figures belong in csvMoney, which keeps them numeric. Null is an empty cell.
 */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  const text = typeof value === 'number' ? String(value) : value;
  return quoted(FORMULA_TRIGGERS.has(text.charAt(0)) ? `'${text}` : text);
}

/**
 * One money cell. A plain decimal string (`-12.30`, `239.54`) is written as it is, so the
 * spreadsheet sees a number and a negative fee difference stays negative and summable; escaping
 * it would turn every negative amount into text. That is safe: a cell made only of an optional
 * leading `-`, digits and one `.` evaluates, at worst, to that number — it can name no function,
 * no cell reference and no DDE command, which every injection payload needs. Anything else (a
 * value not in that form, which our own decimals never are) goes through csvCell's guard.
 */
export function csvMoney(value: string | null): string {
  if (value === null) return '';
  return PLAIN_DECIMAL.test(value) ? value : csvCell(value);
}

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
};

export interface DiscrepancyCsvOptions {
  /** Start with a UTF-8 BOM, for Excel (zh-CN) to read Chinese text. Default false. */
  bom?: boolean;
}

export function discrepancyCsvLine(row: Discrepancy): string {
  return DISCREPANCY_CSV_COLUMNS.map((column) => WRITERS[column](row)).join(',') + CSV_LINE_END;
}

/**
 * The header line, then one line per row, each ending in CRLF. Lazy: a 10,000-row export is
 * written line by line as the rows arrive (e.g. `Readable.from(...)` into an HTTP response),
 * never held as one string.
 */
export function* discrepanciesToCsv(
  rows: Iterable<Discrepancy>,
  options: DiscrepancyCsvOptions = {},
): Generator<string> {
  const header = DISCREPANCY_CSV_COLUMNS.map((column) => csvCell(column)).join(',') + CSV_LINE_END;
  yield options.bom === true ? UTF8_BOM + header : header;
  for (const row of rows) yield discrepancyCsvLine(row);
}

export function discrepanciesCsvString(
  rows: Iterable<Discrepancy>,
  options: DiscrepancyCsvOptions = {},
): string {
  let csv = '';
  for (const line of discrepanciesToCsv(rows, options)) csv += line;
  return csv;
}
