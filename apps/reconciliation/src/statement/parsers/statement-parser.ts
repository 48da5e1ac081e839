import { TextDecoder } from 'node:util';
import { Money, MoneyError, invariant, minorUnitByCurrency } from '@app/contracts';
import type { StatementLine, StatementLineType } from '../statement-line.js';

/**
 * The common core of the channel statement parsers: bytes in, StatementLines out, one physical line
 * at a time so memory stays flat whatever the file size. Each format supplies a StatementRecordReader
 * (header handling, cell mapping, control totals); this file owns the control flow: splitting,
 * decoding, running totals, the end-of-stream check.
 *
 * Lines are yielded BEFORE the control totals at the end of the file are checked (they can only be
 * checked once every line has been seen). An importer must stage what it receives and keep it only
 * when `lines()` has completed without throwing: a CONTROL_TOTAL_MISMATCH at the end means nothing
 * of the file may be kept.
 */

export type StatementFormat = 'generic' | 'wechat-all' | 'alipay';
export type StatementEncoding = 'utf-8' | 'gbk';

export type StatementParseErrorCode =
  | 'STATEMENT.MALFORMED_LINE'
  | 'STATEMENT.MISSING_COLUMN'
  | 'STATEMENT.MISSING_CONTROL_TOTAL'
  | 'STATEMENT.CONTROL_TOTAL_MISMATCH'
  | 'STATEMENT.LINE_TOO_LONG'
  | 'STATEMENT.ENCODING'
  | 'STATEMENT.TOO_MANY_REJECTED';

/** An operating error: the file is bad. Points at the 1-based physical line and, when known, the field. */
export class StatementParseError extends Error {
  override readonly name = 'StatementParseError';

  constructor(
    readonly code: StatementParseErrorCode,
    readonly lineNo: number | null,
    readonly field: string | null,
    /** What is wrong, without the location: the location prefix is added here. */
    readonly detail: string,
  ) {
    super(`${describeLocation(lineNo, field)}${detail}`);
  }
}

function describeLocation(lineNo: number | null, field: string | null): string {
  if (lineNo === null && field === null) return '';
  if (lineNo === null) return `field ${field}: `;
  if (field === null) return `line ${lineNo}: `;
  return `line ${lineNo}, field ${field}: `;
}

export interface StatementParserLimits {
  /** A line longer than this fails with LINE_TOO_LONG instead of being buffered without bound. */
  lineBytesMax?: number;
  /**
   * 0 (default): a malformed detail line fails the parse. N > 0: up to N malformed detail lines are
   * set aside (`StatementSummary.rejected`, with line, field and reason) and the rest is parsed; one
   * more fails the parse with TOO_MANY_REJECTED. Headers, summaries and trailers are never set aside.
   */
  rejectMalformedMax?: number;
}

/** A detail line set aside instead of failing the parse (rejectMalformedMax > 0). */
export interface RejectedLine {
  lineNo: number;
  field: string | null;
  reason: string;
  /** The line as read, cut at REJECTED_LINE_TEXT_MAX characters. */
  text: string;
}

export const REJECTED_LINE_TEXT_MAX = 1_000;

/** Far more than any statement line needs (the WeChat ALL bill's are ~250 bytes). */
export const STATEMENT_LINE_BYTES_MAX_DEFAULT = 64 * 1024;

export interface StatementTotals {
  currency: string;
  paymentCount: number;
  paymentAmount: string;
  refundCount: number;
  refundAmount: string;
  /** Σ fee over the lines that carry one, signed as in StatementLine (refund fees negative). */
  fee: string;
}

/** One control total a file states and the figure the parsed lines add up to (equal, or the parse failed). */
export interface ControlTotal {
  name: string;
  lineNo: number;
  stated: string;
  computed: string;
}

export interface StatementSummary {
  format: StatementFormat;
  lineCount: number;
  /** Physical lines read, including headers, comments, summary rows and blank lines. */
  physicalLineCount: number;
  /** Computed from the parsed lines, one entry per currency in order of first appearance. */
  totals: StatementTotals[];
  /** What the file states about itself, every one verified; empty for formats without controls. */
  controls: ControlTotal[];
  /** Detail lines set aside (only with rejectMalformedMax > 0), in file order. */
  rejected: RejectedLine[];
  /**
   * Set when lines were set aside and the file's control totals then disagree with what was kept:
   * the stated totals include lines we could not read, so they can no longer be verified. Says so.
   */
  controlsUnverified: string | null;
}

interface RunningTotals {
  minorUnit: number;
  paymentCount: number;
  paymentUnits: bigint;
  refundCount: number;
  refundUnits: bigint;
  feeUnits: bigint;
}

/**
 * Per-currency running sums of the lines yielded so far, exact: in minor units as bigint (a line's
 * amount is already canonical, so that is a string operation, not arithmetic on a JS number), turned
 * into Money when read. Decimal arithmetic per line was most of a 10M-line parse.
 */
export class ComputedTotals {
  private readonly byCurrency = new Map<string, RunningTotals>();
  private count = 0;

  add(line: StatementLine): void {
    let entry = this.byCurrency.get(line.currency);
    if (entry === undefined) {
      const unit = minorUnitByCurrency(line.currency);
      invariant(unit !== undefined, () => `line ${line.lineNo} has unknown currency ${line.currency}`);
      entry = {
        minorUnit: unit,
        paymentCount: 0,
        paymentUnits: 0n,
        refundCount: 0,
        refundUnits: 0n,
        feeUnits: 0n,
      };
      this.byCurrency.set(line.currency, entry);
    }
    const units = minorUnitsOf(line.amount, entry.minorUnit, line.currency);
    if (line.type === 'PAYMENT') {
      entry.paymentCount += 1;
      entry.paymentUnits += units;
    } else {
      entry.refundCount += 1;
      entry.refundUnits += units;
    }
    if (line.fee !== null) entry.feeUnits += minorUnitsOf(line.fee, entry.minorUnit, line.currency);
    this.count += 1;
  }

  get lineCount(): number {
    return this.count;
  }

  currencies(): string[] {
    return [...this.byCurrency.keys()];
  }

  /** Totals for one currency; zeros when no line of that currency was seen. */
  of(currency: string): {
    paymentCount: number;
    paymentAmount: Money;
    refundCount: number;
    refundAmount: Money;
    fee: Money;
  } {
    const entry = this.byCurrency.get(currency);
    if (entry !== undefined)
      return {
        paymentCount: entry.paymentCount,
        paymentAmount: Money.fromMinorUnits(entry.paymentUnits, currency),
        refundCount: entry.refundCount,
        refundAmount: Money.fromMinorUnits(entry.refundUnits, currency),
        fee: Money.fromMinorUnits(entry.feeUnits, currency),
      };
    const zero = Money.zero(currency);
    return { paymentCount: 0, paymentAmount: zero, refundCount: 0, refundAmount: zero, fee: zero };
  }

  snapshot(): StatementTotals[] {
    return [...this.byCurrency.keys()].map((currency) => {
      const t = this.of(currency);
      return {
        currency,
        paymentCount: t.paymentCount,
        paymentAmount: t.paymentAmount.toString(),
        refundCount: t.refundCount,
        refundAmount: t.refundAmount.toString(),
        fee: t.fee.toString(),
      };
    });
  }
}

/**
 * What a format implements. A fresh reader per file (it holds the file's state: header, position,
 * the control totals seen). `line` receives every physical line, blank ones included (a quoted CSV
 * field may span lines); `end` runs after the last one and returns the verified controls.
 */
export interface StatementRecordReader {
  readonly encoding: StatementEncoding;
  line(text: string, lineNo: number): StatementLine | undefined;
  end(computed: ComputedTotals, lastLineNo: number): ControlTotal[];
  /**
   * After `line` threw MALFORMED_LINE: drop any half-read record and say whether reading can go on
   * with the next line — true only among the detail records (a bad header or summary is fatal).
   */
  recover?(): boolean;
}

export interface StatementParser {
  readonly format: StatementFormat;
  parse(source: AsyncIterable<Uint8Array>): StatementParse;
}

/** One run over one file. `lines()` may be iterated once; `summary()` is there once it has completed. */
export class StatementParse {
  private started = false;
  private result: StatementSummary | undefined;

  constructor(
    readonly format: StatementFormat,
    private readonly source: AsyncIterable<Uint8Array>,
    private readonly reader: StatementRecordReader,
    private readonly limits: StatementParserLimits = {},
  ) {}

  async *lines(): AsyncGenerator<StatementLine, void, undefined> {
    invariant(!this.started, 'StatementParse.lines() can be iterated once: parse the source again');
    this.started = true;
    const computed = new ComputedTotals();
    const rejected: RejectedLine[] = [];
    let lastLineNo = 0;
    for await (const { lineNo, text } of readPhysicalLines(this.source, this.reader.encoding, this.limits)) {
      lastLineNo = lineNo;
      let line: StatementLine | undefined;
      try {
        line = this.reader.line(text, lineNo);
      } catch (error) {
        if (!this.setAside(error, text, rejected)) throw error;
        continue;
      }
      if (line === undefined) continue;
      assertStatementLine(line);
      computed.add(line);
      yield line;
    }
    let controls: ControlTotal[];
    let controlsUnverified: string | null = null;
    try {
      controls = this.reader.end(computed, lastLineNo);
    } catch (error) {
      const mismatch =
        error instanceof StatementParseError &&
        (error.code === 'STATEMENT.CONTROL_TOTAL_MISMATCH' || error.code === 'STATEMENT.MALFORMED_LINE');
      if (rejected.length === 0 || !mismatch) throw error;
      controls = [];
      controlsUnverified = `${rejected.length} line(s) set aside, so the file's own totals cannot be verified against the lines kept (${error.message})`;
    }
    this.result = {
      format: this.format,
      lineCount: computed.lineCount,
      physicalLineCount: lastLineNo,
      totals: computed.snapshot(),
      controls,
      rejected,
      controlsUnverified,
    };
  }

  /** Records a malformed detail line instead of failing, when allowed; false = fail as usual. */
  private setAside(error: unknown, text: string, rejected: RejectedLine[]): boolean {
    const max = this.limits.rejectMalformedMax ?? 0;
    if (max === 0 || !(error instanceof StatementParseError) || error.code !== 'STATEMENT.MALFORMED_LINE')
      return false;
    if (this.reader.recover?.() !== true) return false;
    if (rejected.length >= max)
      throw new StatementParseError(
        'STATEMENT.TOO_MANY_REJECTED',
        error.lineNo,
        error.field,
        `more than ${max} malformed lines (this one: ${error.detail}); the file is refused whole`,
      );
    rejected.push({
      lineNo: error.lineNo ?? 0,
      field: error.field,
      reason: error.detail,
      text: text.length > REJECTED_LINE_TEXT_MAX ? text.slice(0, REJECTED_LINE_TEXT_MAX) : text,
    });
    return true;
  }

  summary(): StatementSummary {
    invariant(
      this.result !== undefined,
      'StatementParse.summary() is known only after lines() has completed',
    );
    return this.result;
  }
}

/** Reads the whole statement into memory: for tests and small files; an importer iterates `lines()`. */
export async function readStatement(
  parse: StatementParse,
): Promise<{ lines: StatementLine[]; summary: StatementSummary }> {
  const lines: StatementLine[] = [];
  for await (const line of parse.lines()) lines.push(line);
  return { lines, summary: parse.summary() };
}

const LF = 0x0a;
const PRIVATE_USE_RE = /[\uE000-\uF8FF]/u;
const CR = 0x0d;

/**
 * Splits the byte stream on LF before decoding, then decodes each line on its own. Safe for both
 * encodings: 0x0A is never part of a UTF-8 multi-byte sequence nor a GBK/GB18030 trail byte (those are
 * 0x30–0x39 and 0x40–0xFE). Decoding per line gives an ENCODING error its line number, and a chunk
 * boundary inside a multi-byte character cannot matter because a line is decoded only once whole.
 * Strips one trailing CR (CRLF files) and a UTF-8 BOM at the very start.
 */
export async function* readPhysicalLines(
  source: AsyncIterable<Uint8Array>,
  encoding: StatementEncoding,
  limits: StatementParserLimits = {},
): AsyncGenerator<{ lineNo: number; text: string }, void, undefined> {
  const lineBytesMax = limits.lineBytesMax ?? STATEMENT_LINE_BYTES_MAX_DEFAULT;
  invariant(lineBytesMax > 0, () => `lineBytesMax must be positive, got ${lineBytesMax}`);
  // ignoreBOM: the BOM is stripped once, below; a BOM-like sequence later in the file is content.
  const decoder = new TextDecoder(encoding, { fatal: true, ignoreBOM: true });
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let lineNo = 0;

  const decode = (parts: Uint8Array[], size: number): { lineNo: number; text: string } => {
    lineNo += 1;
    let bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
    if (lineNo === 1 && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
      if (encoding === 'utf-8') bytes = bytes.subarray(3);
    }
    if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, bytes.length - 1);
    try {
      const text = decoder.decode(bytes);
      // Node's ICU GBK decoder is lenient where it should not be: a lone 0xFF becomes U+F8F5 instead
      // of an error, and GBK's user-defined areas decode to the private-use block too. Neither is
      // text a statement holds, so both are encoding errors.
      const privateUse = encoding === 'gbk' ? PRIVATE_USE_RE.exec(text) : null;
      if (privateUse !== null) {
        throw new StatementParseError(
          'STATEMENT.ENCODING',
          lineNo,
          null,
          `not valid GBK text (bytes decoding to private-use U+${privateUse[0].codePointAt(0)!.toString(16).toUpperCase()} at character ${privateUse.index + 1} of the line)`,
        );
      }
      return { lineNo, text };
    } catch (error) {
      if (error instanceof StatementParseError) throw error;
      // By code, not `instanceof TypeError`: the error may come from another realm (jest's VM).
      if ((error as { code?: unknown }).code !== 'ERR_ENCODING_INVALID_ENCODED_DATA') throw error;
      throw new StatementParseError(
        'STATEMENT.ENCODING',
        lineNo,
        null,
        `not valid ${encoding === 'gbk' ? 'GBK' : 'UTF-8'} text (bytes ${describeBadBytes(bytes, encoding)})`,
      );
    }
  };
  const tooLong = (): StatementParseError =>
    new StatementParseError(
      'STATEMENT.LINE_TOO_LONG',
      lineNo + 1,
      null,
      `longer than ${lineBytesMax} bytes; not a statement line (wrong file or wrong format?)`,
    );

  for await (const chunk of source) {
    let start = 0;
    for (;;) {
      const lf = chunk.indexOf(LF, start);
      const end = lf === -1 ? chunk.length : lf;
      if (end > start) {
        pendingBytes += end - start;
        if (pendingBytes > lineBytesMax + 1 /* a CR */) throw tooLong();
        pending.push(chunk.subarray(start, end));
      }
      if (lf === -1) break;
      yield decode(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      start = lf + 1;
    }
  }
  // A last line without a final LF; a file ending in LF has no further line.
  if (pendingBytes > 0) yield decode(pending, pendingBytes);
}

/** Names the first undecodable bytes, so a bad line can be found with a hex viewer. */
function describeBadBytes(bytes: Uint8Array, encoding: StatementEncoding): string {
  // Only on the error path: feed a streaming decoder byte by byte until it objects.
  const probe = new TextDecoder(encoding, { fatal: true, ignoreBOM: true });
  let at = bytes.length - 1; // an incomplete sequence at the end shows only at the final flush
  for (let i = 0; i < bytes.length; i += 1) {
    try {
      probe.decode(bytes.subarray(i, i + 1), { stream: true });
    } catch {
      at = i;
      break;
    }
  }
  const from = Math.max(0, at - 1);
  const hex = Buffer.from(bytes.subarray(from, at + 1)).toString('hex');
  return `${hex.replace(/(..)(?!$)/g, '$1 ')} near byte ${at + 1} of the line`;
}

// ---- helpers the format readers share -------------------------------------------------------------

export function isBlank(text: string): boolean {
  return text.trim() === '';
}

export function malformed(lineNo: number, field: string | null, detail: string): StatementParseError {
  return new StatementParseError('STATEMENT.MALFORMED_LINE', lineNo, field, detail);
}

/** `"12.3.4"`, bounded so a huge cell cannot flood a log line. */
export function quote(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}

/** A decimal amount in a cell, exact and at the currency's scale. */
export function parseAmountCell(
  raw: string,
  currency: string,
  lineNo: number,
  field: string,
  opts: { allowNegative?: boolean; column?: string } = {},
): Money {
  const value = raw.trim();
  if (value === '') throw malformed(lineNo, field, `is empty${inColumn(opts.column)}; an amount is required`);
  try {
    return Money.parse(value, currency, { allowNegative: opts.allowNegative === true });
  } catch (error) {
    if (!(error instanceof MoneyError)) throw error;
    const why =
      error.code === 'MONEY.NEGATIVE'
        ? 'is negative; a non-negative amount is required here'
        : error.code === 'MONEY.TOO_PRECISE'
          ? `has more fraction digits than ${currency} allows`
          : 'is not a decimal amount';
    throw malformed(lineNo, field, `${quote(value)} ${why}${inColumn(opts.column)}`);
  }
}

/** "12.30" → 1230n when the text has exactly the currency's fraction digits (what the parsers emit). */
function minorUnitsOf(amount: string, unit: number, currency: string): bigint {
  const dot = amount.indexOf('.');
  if (unit === 0 ? dot === -1 : dot !== -1 && amount.length - dot - 1 === unit)
    return BigInt(dot === -1 ? amount : amount.slice(0, dot) + amount.slice(dot + 1));
  return Money.parse(amount, currency, { allowNegative: true }).toMinorUnits();
}

const PLAIN_DECIMAL = /^(-?)(0|[1-9]\d{0,14})(?:\.(\d+))?$/;

/**
 * `parseAmountCell(…).toString()` without building a Decimal for the common case: a plain decimal
 * with at most the currency's fraction digits is padded to them as text. Anything else (a sign
 * where none is allowed, too many digits, negative zero, garbage) takes the Money path and its
 * exact error. A property test holds the two to the same result on every input.
 */
export function parseAmountText(
  raw: string,
  currency: string,
  lineNo: number,
  field: string,
  opts: { allowNegative?: boolean; column?: string } = {},
): string {
  const match = PLAIN_DECIMAL.exec(raw);
  const unit = minorUnitByCurrency(currency);
  if (match !== null && unit !== undefined) {
    const sign = match[1]!;
    const integer = match[2]!;
    const fraction = match[3] ?? '';
    const negativeZero = sign === '-' && integer === '0' && /^0*$/.test(fraction);
    if (fraction.length <= unit && (sign === '' || (opts.allowNegative === true && !negativeZero)))
      return unit === 0 ? sign + integer : `${sign}${integer}.${fraction.padEnd(unit, '0')}`;
  }
  return parseAmountCell(raw, currency, lineNo, field, opts).toString();
}

export function parseCurrencyCell(raw: string, lineNo: number, field: string, column?: string): string {
  const value = raw.trim().toUpperCase();
  if (value === '') throw malformed(lineNo, field, `is empty${inColumn(column)}; a currency is required`);
  if (minorUnitByCurrency(value) === undefined) {
    throw malformed(
      lineNo,
      field,
      `${quote(raw.trim())} is not a supported ISO 4217 currency${inColumn(column)}`,
    );
  }
  return value;
}

export function requiredCell(
  raw: string | undefined,
  lineNo: number,
  field: string,
  column?: string,
): string {
  const value = (raw ?? '').trim();
  if (value === '') throw malformed(lineNo, field, `is empty${inColumn(column)}; a value is required`);
  return value;
}

export function optionalCell(raw: string | undefined): string | null {
  const value = (raw ?? '').trim();
  return value === '' ? null : value;
}

const TRADE_TIME_RE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/** `YYYY-MM-DD HH:mm:ss`, a real calendar date and clock time (no zone: the channel's local time). */
export function parseTradeTimeCell(raw: string, lineNo: number, field: string, column?: string): string {
  const value = raw.trim();
  const m = TRADE_TIME_RE.exec(value);
  const valid =
    m !== null &&
    (() => {
      const [y, mo, d, h, mi, s] = m.slice(1).map((part) => Number.parseInt(part, 10)) as [
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      const date = new Date(Date.UTC(y, mo - 1, d));
      return date.getUTCMonth() === mo - 1 && date.getUTCDate() === d && h < 24 && mi < 60 && s < 60;
    })();
  if (!valid) {
    throw malformed(
      lineNo,
      field,
      `${quote(value)} is not a time of the form YYYY-MM-DD HH:mm:ss${inColumn(column)}`,
    );
  }
  return value;
}

export function parseCountCell(raw: string, lineNo: number, field: string): number {
  const value = raw.trim();
  if (!/^\d{1,9}$/.test(value)) throw malformed(lineNo, field, `${quote(value)} is not a count`);
  return Number.parseInt(value, 10);
}

function inColumn(column: string | undefined): string {
  return column === undefined ? '' : ` (column ${column})`;
}

/**
 * Compares one stated control total with the computed one. Amounts compare by value (Money), so
 * "12.3" and "12.30" agree; the error names the total, where it was stated and both figures.
 */
export function verifyControl(
  name: string,
  lineNo: number,
  stated: Money | number,
  computed: Money | number,
): ControlTotal {
  const equal =
    typeof stated === 'number' || typeof computed === 'number'
      ? stated === computed
      : stated.equals(computed);
  const control = { name, lineNo, stated: String(stated), computed: String(computed) };
  if (!equal) {
    throw new StatementParseError(
      'STATEMENT.CONTROL_TOTAL_MISMATCH',
      lineNo,
      name,
      `the file states ${control.stated}, the parsed lines add up to ${control.computed}`,
    );
  }
  return control;
}

/** Header name → 0-based index; a name appearing twice is ambiguous and fails if it is one we read. */
export function indexHeader(names: readonly string[]): Map<string, number | 'duplicate'> {
  const index = new Map<string, number | 'duplicate'>();
  names.forEach((name, i) => index.set(name, index.has(name) ? 'duplicate' : i));
  return index;
}

/**
 * Resolves the columns a reader needs (ours → header name) to indexes, failing with one
 * MISSING_COLUMN that lists every required column absent from the header.
 */
export function resolveColumns<K extends string>(
  header: Map<string, number | 'duplicate'>,
  wanted: Readonly<Record<K, string | undefined>>,
  required: readonly K[],
  lineNo: number,
  /** The field an error names, when the reader's keys are not StatementLine fields. */
  fieldOf: (key: K) => string = (key) => key,
): Partial<Record<K, number>> {
  const resolved: Partial<Record<K, number>> = {};
  const missing: K[] = [];
  for (const key of Object.keys(wanted) as K[]) {
    const name = wanted[key];
    if (name === undefined) continue;
    const at = header.get(name);
    if (at === 'duplicate') {
      throw new StatementParseError(
        'STATEMENT.MALFORMED_LINE',
        lineNo,
        fieldOf(key),
        `the header names column ${quote(name)} twice`,
      );
    }
    if (at === undefined) {
      if (required.includes(key)) missing.push(key);
      continue;
    }
    resolved[key] = at;
  }
  if (missing.length > 0) {
    throw new StatementParseError(
      'STATEMENT.MISSING_COLUMN',
      lineNo,
      missing.length === 1 ? fieldOf(missing[0]!) : null,
      `the header has no column for ${missing.map((key) => `${fieldOf(key)} (${quote(wanted[key] ?? '')})`).join(', ')}`,
    );
  }
  return resolved;
}

/** Pair assertion: what a reader hands out must already be a valid line; a breach is our bug. */
function assertStatementLine(line: StatementLine): void {
  const types: readonly StatementLineType[] = ['PAYMENT', 'REFUND'];
  invariant(types.includes(line.type), () => `line ${line.lineNo}: type ${line.type}`);
  invariant(
    Money.validate(line.amount, line.currency) === undefined,
    () => `line ${line.lineNo}: amount ${line.amount}`,
  );
  invariant(
    line.fee === null || Money.validate(line.fee, line.currency, { allowNegative: true }) === undefined,
    () => `line ${line.lineNo}: fee ${line.fee}`,
  );
  invariant(
    line.type === 'REFUND' || line.refundNo === null,
    () => `line ${line.lineNo}: refundNo on a payment`,
  );
  invariant(line.orderNo !== '' && line.status !== '', () => `line ${line.lineNo}: empty orderNo or status`);
}
