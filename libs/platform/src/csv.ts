/**
 * CSV for finance to open in Excel or WPS: reports, statements, exports.
 *
 * Every cell obeys RFC 4180 (quoted when it holds `"`, `,`, CR or LF; quotes doubled) and is
 * guarded against CSV/formula injection (OWASP "CSV Injection"): order numbers, reasons and notes
 * come from merchants, channel files and operators, and a cell such as `=HYPERLINK(...)` or
 * `-2+3+cmd|' /C calc'!A0` would run as a formula on the finance desk. Such a cell gets a leading
 * `'`, which spreadsheets read as "this is text" — the value shows as typed (with the quote
 * visible in some tools), and nothing is evaluated.
 *
 * Lines end in CRLF (RFC 4180).
 */

/** First characters that make a spreadsheet evaluate a cell (OWASP list: = + - @ TAB CR). */
const FORMULA_TRIGGERS: ReadonlySet<string> = new Set(['=', '+', '-', '@', '\t', '\r']);

/**
 * Whether a cell's first character starts a formula. Beyond ASCII, any character whose compatibility
 * form (NFKC) begins with a trigger counts too: the full-width ＝＋－＠ (U+FF1D, U+FF0B, U+FF0D,
 * U+FF20) that a Chinese input method types by default, the small forms ﹦﹢﹣﹫, super- and
 * subscript ⁺⁼₊₌, ⩵ and ﬩. Spreadsheets in CJK locales fold such input to the ASCII sign (WPS,
 * Excel with IME conversion), so `＝HYPERLINK(...)` from a channel file is as live as `=...`.
 * ASCII cells, the common case, never pay for the normalisation.
 */
function startsFormula(text: string): boolean {
  const first = text.charAt(0);
  if (FORMULA_TRIGGERS.has(first)) return true;
  return first.charCodeAt(0) >= 0x80 && FORMULA_TRIGGERS.has(first.normalize('NFKC').charAt(0));
}
const NEEDS_QUOTES = /[",\r\n]/;
const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/;

export const CSV_LINE_END = '\r\n';
/** Excel in zh-CN reads a CSV without a BOM as GBK, which garbles UTF-8 Chinese text. */
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
  return quoted(startsFormula(text) ? `'${text}` : text);
}

/**
 * One money cell. A plain decimal string (`-12.30`, `239.54`) is written as it is, so the
 * spreadsheet sees a number and a negative figure stays negative and summable; escaping it would
 * turn every negative amount into text. That is safe: a cell made only of an optional leading
 * `-`, digits and one `.` evaluates, at worst, to that number — it can name no function, no cell
 * reference and no DDE command, which every injection payload needs. Anything else (a value not
 * in that form, which our own decimals never are) goes through csvCell's guard.
 */
export function csvMoney(value: string | null): string {
  if (value === null) return '';
  return PLAIN_DECIMAL.test(value) ? value : csvCell(value);
}

/** One line of already-written cells, CRLF-terminated. */
export function csvLine(cells: readonly string[]): string {
  return cells.join(',') + CSV_LINE_END;
}

export interface CsvOptions {
  /** Start with a UTF-8 BOM, for Excel (zh-CN) to read Chinese text. Default false. */
  bom?: boolean;
}

/**
 * The header line (the column names through csvCell), then one line per row of already-written
 * cells (each through csvCell or csvMoney). Lazy: a 10,000-row export is written line by line as
 * the rows arrive (e.g. `Readable.from(...)` into an HTTP response), never held as one string.
 */
export function* csvLines(
  columns: readonly string[],
  rows: Iterable<readonly string[]>,
  options: CsvOptions = {},
): Generator<string> {
  const header = csvLine(columns.map((column) => csvCell(column)));
  yield options.bom === true ? UTF8_BOM + header : header;
  for (const cells of rows) yield csvLine(cells);
}

/** Joins lines into one string (small exports and tests). */
export function csvString(lines: Iterable<string>): string {
  let csv = '';
  for (const line of lines) csv += line;
  return csv;
}
