import { isAscii } from 'node:buffer';
import { TextDecoder } from 'node:util';
import {
  AMOUNT_MAX_DIGITS,
  Money,
  MoneyError,
  amountMaxOf,
  invariant,
  minorUnitByCurrency,
} from '@app/contracts';
import type { StatementLine } from '../statement-line.js';

/**
 * The common core of the channel statement parsers: bytes in, StatementLines out, one source chunk
 * at a time so memory stays flat whatever the file size. Each format supplies a StatementRecordReader
 * (header handling, cell mapping, control totals); this file owns the control flow: splitting,
 * decoding, running totals, the end-of-stream check.
 *
 * Lines are yielded BEFORE the control totals at the end of the file are checked (they can only be
 * checked once every line has been seen). An importer must stage what it receives and keep it only
 * when `lines()` (or `batches()`) has completed without throwing: a CONTROL_TOTAL_MISMATCH at the end
 * means nothing of the file may be kept.
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
  currency: string;
  minorUnit: number;
  paymentCount: number;
  paymentUnits: MinorUnitSum;
  refundCount: number;
  refundUnits: MinorUnitSum;
  feeUnits: MinorUnitSum;
}

/**
 * An exact running sum of minor units. Adding bigints per line was a visible share of a 10M-line
 * parse, so the sum is kept in a JS number for as long as every partial sum is a safe integer
 * (IEEE addition of two safe integers is exact when the result is one) and moved into a bigint the
 * moment the next addition would leave that range. Never a fraction: these are integer minor units.
 */
export class MinorUnitSum {
  private small = 0;
  private big = 0n;

  add(units: number): void {
    invariant(Number.isSafeInteger(units), () => `MinorUnitSum.add needs a safe integer, got ${units}`);
    const next = this.small + units;
    // An exact sum beyond ±(2^53 − 1) rounds to a value beyond it too, so this test cannot pass a
    // rounded result.
    if (Number.isSafeInteger(next)) {
      this.small = next;
    } else {
      this.big += BigInt(this.small) + BigInt(units);
      this.small = 0;
    }
  }

  addBig(units: bigint): void {
    this.big += units;
  }

  get total(): bigint {
    return this.big + BigInt(this.small);
  }
}

/**
 * Per-currency running sums of the lines yielded so far, exact: in integer minor units read off the
 * amounts' digits (a line's amount is already canonical text), turned into Money when read. Decimal
 * arithmetic per line was most of a 10M-line parse.
 */
export class ComputedTotals {
  private readonly byCurrency = new Map<string, RunningTotals>();
  /** The entry of the previous line: a file is almost always one currency. */
  private last: RunningTotals | undefined;
  private count = 0;

  add(line: StatementLine): void {
    let entry = this.last;
    if (entry === undefined || entry.currency !== line.currency) {
      entry = this.byCurrency.get(line.currency);
      if (entry === undefined) {
        const unit = minorUnitByCurrency(line.currency);
        invariant(unit !== undefined, () => `line ${line.lineNo} has unknown currency ${line.currency}`);
        entry = {
          currency: line.currency,
          minorUnit: unit,
          paymentCount: 0,
          paymentUnits: new MinorUnitSum(),
          refundCount: 0,
          refundUnits: new MinorUnitSum(),
          feeUnits: new MinorUnitSum(),
        };
        this.byCurrency.set(line.currency, entry);
      }
      this.last = entry;
    }
    // The amounts are also asserted here, where they are read anyway (see assertStatementLine): the
    // canonical text every reader emits is recognised by the digit scan, anything else must pass
    // Money.validate. `amount >= 0` is false for NaN and true for "-0.00", which Money accepts too.
    const amount = canonicalMinorUnits(line.amount, entry.minorUnit);
    const amountBig = amount >= 0 ? 0n : checkedMinorUnits(line, 'amount', line.amount, entry);
    const fee = line.fee === null ? 0 : canonicalMinorUnits(line.fee, entry.minorUnit);
    const feeBig = Number.isNaN(fee) ? checkedMinorUnits(line, 'fee', line.fee!, entry) : 0n;
    const sum = line.type === 'PAYMENT' ? entry.paymentUnits : entry.refundUnits;
    if (line.type === 'PAYMENT') entry.paymentCount += 1;
    else entry.refundCount += 1;
    if (amount >= 0) sum.add(amount);
    else sum.addBig(amountBig);
    if (Number.isNaN(fee)) entry.feeUnits.addBig(feeBig);
    else entry.feeUnits.add(fee);
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
        paymentAmount: Money.fromMinorUnits(entry.paymentUnits.total, currency),
        refundCount: entry.refundCount,
        refundAmount: Money.fromMinorUnits(entry.refundUnits.total, currency),
        fee: Money.fromMinorUnits(entry.feeUnits.total, currency),
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

/**
 * The most lines StatementParse.batches() hands out at once. A whole chunk's lines (~12,000 for
 * 1 MiB of CSV) in one array outlived young-generation collections: copying them took ten times the
 * GC time and made the parse twice as slow. A batch this size is consumed while it is still young.
 */
export const BATCH_LINES_MAX = 1024;

/**
 * One run over one file. `batches()` (or `lines()`, one line at a time over it) may be iterated
 * once; `summary()` is there once it has completed.
 */
export class StatementParse {
  private started = false;
  private result: StatementSummary | undefined;

  constructor(
    readonly format: StatementFormat,
    private readonly source: AsyncIterable<Uint8Array>,
    private readonly reader: StatementRecordReader,
    private readonly limits: StatementParserLimits = {},
  ) {}

  /**
   * The lines in file order, a batch at a time: those of one source chunk, in arrays of at most
   * BATCH_LINES_MAX (never empty). What importers use: a hop through an async generator per line
   * cost more than reading the line. When a line fails, the lines before it come out first and the
   * error is thrown on the next pull, so a consumer sees exactly what `lines()` would show it.
   */
  async *batches(): AsyncGenerator<StatementLine[], void, undefined> {
    invariant(!this.started, 'StatementParse.lines() can be iterated once: parse the source again');
    this.started = true;
    const computed = new ComputedTotals();
    const rejected: RejectedLine[] = [];
    let lastLineNo = 0;
    for await (const { firstLineNo, texts } of readPhysicalLineRuns(
      this.source,
      this.reader.encoding,
      this.limits,
    )) {
      lastLineNo = firstLineNo + texts.length - 1;
      for (let from = 0; from < texts.length; from += BATCH_LINES_MAX) {
        const batch: StatementLine[] = [];
        const to = Math.min(from + BATCH_LINES_MAX, texts.length);
        const failure = this.read(texts, from, to, firstLineNo, batch, computed, rejected);
        if (batch.length > 0) yield batch;
        if (failure !== undefined) throw failure.error;
      }
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

  /** The lines one by one: for tests and small callers; an importer iterates `batches()`. */
  async *lines(): AsyncGenerator<StatementLine, void, undefined> {
    for await (const batch of this.batches()) for (const line of batch) yield line;
  }

  /**
   * Reads consecutive physical lines (the first numbered `firstLineNo`) into `batch`. Returns the
   * error that stopped it instead of throwing, so the lines read before it can still go out.
   */
  private read(
    texts: readonly string[],
    from: number,
    to: number,
    firstLineNo: number,
    batch: StatementLine[],
    computed: ComputedTotals,
    rejected: RejectedLine[],
  ): { error: unknown } | undefined {
    try {
      for (let i = from; i < to; i += 1) {
        const text = texts[i]!;
        let line: StatementLine | undefined;
        try {
          line = this.reader.line(text, firstLineNo + i);
        } catch (error) {
          if (!this.setAside(error, text, rejected)) throw error;
          continue;
        }
        if (line === undefined) continue;
        assertStatementLine(line);
        computed.add(line);
        batch.push(line);
      }
    } catch (error) {
      return { error };
    }
    return undefined;
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

/** Reads the whole statement into memory: for tests and small files; an importer iterates `batches()`. */
export async function readStatement(
  parse: StatementParse,
): Promise<{ lines: StatementLine[]; summary: StatementSummary }> {
  const lines: StatementLine[] = [];
  for await (const batch of parse.batches()) for (const line of batch) lines.push(line);
  return { lines, summary: parse.summary() };
}

const LF = 0x0a;
const CR = 0x0d;
const PRIVATE_USE_RE = /[\uE000-\uF8FF]/u;

/** The physical lines one source chunk completed. */
export interface PhysicalLineRun {
  /** The number of `texts[0]` (1-based; one more than the last line of the run before). */
  firstLineNo: number;
  texts: string[];
  /** The line after the last text broke a rule (ENCODING, LINE_TOO_LONG): no line follows it. */
  fault: StatementParseError | undefined;
}

/**
 * Cuts a byte stream into decoded physical lines, one source chunk at a time: `push` each chunk,
 * then `end`. Strips one trailing CR (CRLF files) and a UTF-8 BOM at the very start.
 *
 * The stream is split on LF before decoding. Safe for both encodings: 0x0A is never part of a UTF-8
 * multi-byte sequence nor a GBK/GB18030 trail byte (those are 0x30–0x39 and 0x40–0xFE), so a chunk
 * boundary inside a multi-byte character cannot matter: a line is decoded only once whole.
 *
 * Decoding is exact per line, so an ENCODING error names its line. For UTF-8, though, the complete
 * lines of a chunk are decoded as one run first: that succeeds exactly when each of them would (LF
 * and CR are whole characters) and gives the same text, without a decoder call per line — none at
 * all for ASCII. Only a run that fails is decoded again line by line, to find the culprit. GBK is
 * always decoded per line: Node's decoder for it needs the private-use check, which reports the
 * character's position in its line.
 */
class PhysicalLineSplitter {
  /** Lines handed out so far, which is the number of the last one. */
  private lineCount = 0;
  private readonly lineBytesMax: number;
  private readonly decoder: TextDecoder;
  /** The start of a line whose LF has not arrived yet. */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;

  constructor(
    readonly encoding: StatementEncoding,
    limits: StatementParserLimits = {},
  ) {
    this.lineBytesMax = limits.lineBytesMax ?? STATEMENT_LINE_BYTES_MAX_DEFAULT;
    invariant(this.lineBytesMax > 0, () => `lineBytesMax must be positive, got ${this.lineBytesMax}`);
    // ignoreBOM: the BOM is stripped once, below; a BOM-like sequence later in the file is content.
    this.decoder = new TextDecoder(encoding, { fatal: true, ignoreBOM: true });
  }

  /** The lines this chunk completes. After a run with a fault the splitter is spent. */
  push(chunk: Uint8Array): PhysicalLineRun {
    return this.run((texts) => this.split(chunk, texts));
  }

  /** The last line, when the file does not end in LF (a file ending in LF has no further line). */
  end(): PhysicalLineRun {
    return this.run((texts) => {
      if (this.pendingBytes > 0) this.decodePending(texts);
    });
  }

  private run(split: (texts: string[]) => void): PhysicalLineRun {
    const run: PhysicalLineRun = { firstLineNo: this.lineCount + 1, texts: [], fault: undefined };
    try {
      split(run.texts);
    } catch (error) {
      // The lines before the bad one stand: the caller reads them before it throws this.
      if (!(error instanceof StatementParseError)) throw error;
      run.fault = error;
    }
    return run;
  }

  private split(chunk: Uint8Array, texts: string[]): void {
    let start = 0;
    // A line begun in an earlier chunk, and the first line (which may start with a BOM), are
    // decoded on their own.
    if (this.pendingBytes > 0 || this.lineCount === 0) {
      const lf = chunk.indexOf(LF);
      this.hold(chunk, 0, lf === -1 ? chunk.length : lf);
      if (lf === -1) return;
      this.decodePending(texts);
      start = lf + 1;
    }
    const last = chunk.lastIndexOf(LF);
    if (last >= start) {
      if (this.encoding === 'utf-8') this.splitUtf8(chunk, start, last, texts);
      else this.splitByLine(chunk, start, last, texts);
      start = last + 1;
    }
    this.hold(chunk, start, chunk.length);
  }

  private hold(chunk: Uint8Array, start: number, end: number): void {
    if (end <= start) return;
    this.pendingBytes += end - start;
    if (this.pendingBytes > this.lineBytesMax + 1 /* a CR */) throw this.tooLong();
    this.pending.push(chunk.subarray(start, end));
  }

  private decodePending(texts: string[]): void {
    const parts = this.pending;
    // No parts at all: an empty first line.
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.decodeLine(bytes, texts);
  }

  /** The lines ending at the LFs in chunk[start … last], `last` being one. */
  private splitUtf8(chunk: Uint8Array, start: number, last: number, texts: string[]): void {
    const bytes = chunk.subarray(start, last);
    const ascii = isAscii(bytes);
    let text: string;
    if (ascii) {
      text = asBuffer(chunk).toString('latin1', start, last);
    } else {
      try {
        text = this.decoder.decode(bytes);
      } catch {
        this.splitByLine(chunk, start, last, texts);
        return;
      }
    }
    const limit = this.lineBytesMax + 1; /* a CR */
    // Beyond this many UTF-16 units a line may be over the limit (a unit is at most 3 UTF-8 bytes).
    const countFrom = ascii ? limit : Math.floor(limit / 3);
    let from = 0;
    for (;;) {
      const lf = text.indexOf('\n', from);
      const to = lf === -1 ? text.length : lf;
      if (to - from > countFrom && (ascii || Buffer.byteLength(text.slice(from, to), 'utf8') > limit))
        throw this.tooLong();
      texts.push(text.slice(from, to > from && text.charCodeAt(to - 1) === CR ? to - 1 : to));
      this.lineCount += 1;
      if (lf === -1) return;
      from = lf + 1;
    }
  }

  /** As splitUtf8, one decoder call per line: GBK, and UTF-8 that did not decode as a run. */
  private splitByLine(chunk: Uint8Array, start: number, last: number, texts: string[]): void {
    for (let from = start; from <= last;) {
      const lf = chunk.indexOf(LF, from);
      if (lf - from > this.lineBytesMax + 1 /* a CR */) throw this.tooLong();
      this.decodeLine(chunk.subarray(from, lf), texts);
      from = lf + 1;
    }
  }

  private decodeLine(line: Uint8Array, texts: string[]): void {
    const lineNo = this.lineCount + 1;
    let bytes = line;
    if (lineNo === 1 && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
      if (this.encoding === 'utf-8') bytes = bytes.subarray(3);
    }
    if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, bytes.length - 1);
    let text: string;
    try {
      text = this.decoder.decode(bytes);
    } catch (error) {
      // By code, not `instanceof TypeError`: the error may come from another realm (jest's VM).
      if ((error as { code?: unknown }).code !== 'ERR_ENCODING_INVALID_ENCODED_DATA') throw error;
      throw new StatementParseError(
        'STATEMENT.ENCODING',
        lineNo,
        null,
        `not valid ${this.encoding === 'gbk' ? 'GBK' : 'UTF-8'} text (bytes ${describeBadBytes(bytes, this.encoding)})`,
      );
    }
    // Node's ICU GBK decoder is lenient where it should not be: a lone 0xFF becomes U+F8F5 instead
    // of an error, and GBK's user-defined areas decode to the private-use block too. Neither is
    // text a statement holds, so both are encoding errors.
    const privateUse = this.encoding === 'gbk' ? PRIVATE_USE_RE.exec(text) : null;
    if (privateUse !== null) {
      throw new StatementParseError(
        'STATEMENT.ENCODING',
        lineNo,
        null,
        `not valid GBK text (bytes decoding to private-use U+${privateUse[0].codePointAt(0)!.toString(16).toUpperCase()} at character ${privateUse.index + 1} of the line)`,
      );
    }
    texts.push(text);
    this.lineCount += 1;
  }

  private tooLong(): StatementParseError {
    return new StatementParseError(
      'STATEMENT.LINE_TOO_LONG',
      this.lineCount + 1,
      null,
      `longer than ${this.lineBytesMax} bytes; not a statement line (wrong file or wrong format?)`,
    );
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The source's physical lines a chunk at a time (see PhysicalLineSplitter). A fault is thrown on the
 * pull after the run of lines before it, so a caller reading each run before pulling the next sees
 * the errors in line order, as reading line by line would.
 */
export async function* readPhysicalLineRuns(
  source: AsyncIterable<Uint8Array>,
  encoding: StatementEncoding,
  limits: StatementParserLimits = {},
): AsyncGenerator<PhysicalLineRun, void, undefined> {
  const splitter = new PhysicalLineSplitter(encoding, limits);
  for await (const chunk of source) {
    const run = splitter.push(chunk);
    yield run;
    if (run.fault !== undefined) throw run.fault;
  }
  const run = splitter.end();
  yield run;
  if (run.fault !== undefined) throw run.fault;
}

/** The physical lines one by one, numbered from 1 (see PhysicalLineSplitter). */
export async function* readPhysicalLines(
  source: AsyncIterable<Uint8Array>,
  encoding: StatementEncoding,
  limits: StatementParserLimits = {},
): AsyncGenerator<{ lineNo: number; text: string }, void, undefined> {
  for await (const { firstLineNo, texts } of readPhysicalLineRuns(source, encoding, limits)) {
    for (let i = 0; i < texts.length; i += 1) yield { lineNo: firstLineNo + i, text: texts[i]! };
  }
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

export interface AmountCellOptions {
  allowNegative?: boolean;
  column?: string;
  /**
   * The cell is a total the file states about itself (a summary row, a trailer): a sum of lines,
   * bounded only by what Money holds. A detail line's amount is one item's and must be within
   * AMOUNT_MAX_MINOR_UNITS, so the matcher's and the totals' arithmetic stay exact (ADR 005).
   */
  sum?: boolean;
}

/** A decimal amount in a cell, exact and at the currency's scale. */
export function parseAmountCell(
  raw: string,
  currency: string,
  lineNo: number,
  field: string,
  opts: AmountCellOptions = {},
): Money {
  const value = raw.trim();
  if (value === '') throw malformed(lineNo, field, `is empty${inColumn(opts.column)}; an amount is required`);
  try {
    return Money.parse(value, currency, {
      allowNegative: opts.allowNegative === true,
      sum: opts.sum === true,
    });
  } catch (error) {
    if (!(error instanceof MoneyError)) throw error;
    const why =
      error.code === 'MONEY.NEGATIVE'
        ? 'is negative; a non-negative amount is required here'
        : error.code === 'MONEY.TOO_PRECISE'
          ? `has more fraction digits than ${currency} allows`
          : error.code === 'MONEY.TOO_LARGE'
            ? opts.sum === true
              ? 'is beyond the largest supported total'
              : `is beyond the largest amount one line may carry (${amountMaxOf(currency)} ${currency})`
            : 'is not a decimal amount';
    throw malformed(lineNo, field, `${quote(value)} ${why}${inColumn(opts.column)}`);
  }
}

/** A line's amount or fee that is not canonical: still valid Money text (or our bug), in minor units. */
function checkedMinorUnits(
  line: StatementLine,
  field: 'amount' | 'fee',
  text: string,
  entry: RunningTotals,
): bigint {
  invariant(
    Money.validate(text, entry.currency, { allowNegative: field === 'fee' }) === undefined,
    () => `line ${line.lineNo}: ${field} ${text}`,
  );
  return minorUnitsOf(text, entry.minorUnit, entry.currency);
}

/** Digits a JS number holds exactly whatever they are: 10^15 < 2^53. */
const EXACT_DIGITS = 15;

/**
 * "-12.30" → -1230 for a unit of 2: the amount as the exact integer its digits spell, if it is
 * canonical Money text — `-?(0|[1-9]\d*)`, then exactly `unit` fraction digits — of at most 15
 * digits. NaN for anything else, which the caller checks and sums the bigint way.
 */
export function canonicalMinorUnits(amount: string, unit: number): number {
  const length = amount.length;
  const negative = amount.charCodeAt(0) === 45; /* '-' */
  const first = negative ? 1 : 0;
  const dot = unit === 0 ? length : length - unit - 1;
  if (dot <= first || length - first - (unit === 0 ? 0 : 1) > EXACT_DIGITS) return NaN;
  if (unit !== 0 && amount.charCodeAt(dot) !== 46 /* '.' */) return NaN;
  if (dot - first > 1 && amount.charCodeAt(first) === 48 /* a leading '0' */) return NaN;
  let units = 0;
  for (let i = first; i < length; i += 1) {
    if (i === dot) continue;
    const digit = amount.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return NaN;
    units = units * 10 + digit;
  }
  return negative ? -units : units;
}

/** "12.30" → 1230n, for amounts canonicalMinorUnits leaves alone (more than 15 digits, or not canonical). */
function minorUnitsOf(amount: string, unit: number, currency: string): bigint {
  const dot = amount.indexOf('.');
  if (unit === 0 ? dot === -1 : dot !== -1 && amount.length - dot - 1 === unit)
    return BigInt(dot === -1 ? amount : amount.slice(0, dot) + amount.slice(dot + 1));
  return Money.parse(amount, currency, { allowNegative: true }).toMinorUnits();
}

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
  opts: AmountCellOptions = {},
): string {
  const unit = opts.sum === true ? undefined : minorUnitOfCurrency(currency);
  if (unit !== undefined) {
    const text = plainAmountText(raw, unit, opts.allowNegative === true);
    if (text !== undefined) return text;
  }
  return parseAmountCell(raw, currency, lineNo, field, opts).toString();
}

/**
 * `raw` padded to `unit` fraction digits if it is `-?(0|[1-9]\d{0,14-unit})(\.\d+)?` (within
 * AMOUNT_MAX_DIGITS minor-unit digits) with at most `unit` fraction digits, and negative only where
 * allowed and not zero; otherwise undefined, and the Money path gives the exact error. (A
 * hand-written scan: the regex and its match array were a visible share of a parse.)
 */
function plainAmountText(raw: string, unit: number, allowNegative: boolean): string | undefined {
  const length = raw.length;
  const negative = raw.charCodeAt(0) === 45; /* '-' */
  if (negative && !allowNegative) return undefined;
  let i = negative ? 1 : 0;
  const lead = raw.charCodeAt(i);
  let zero = lead === 48; /* '0' */
  if (zero) {
    i += 1;
  } else if (lead >= 49 && lead <= 57) {
    const from = i;
    for (i += 1; i < length && isDigit(raw.charCodeAt(i)); i += 1);
    if (i - from > AMOUNT_MAX_DIGITS - unit) return undefined;
  } else {
    return undefined;
  }
  if (i === length) {
    if (negative && zero) return undefined;
    return unit === 0 ? raw : `${raw}.${'0'.repeat(unit)}`;
  }
  if (raw.charCodeAt(i) !== 46 /* '.' */) return undefined;
  const fractionDigits = length - i - 1;
  if (fractionDigits === 0 || fractionDigits > unit) return undefined;
  for (i += 1; i < length; i += 1) {
    const c = raw.charCodeAt(i);
    if (!isDigit(c)) return undefined;
    if (c !== 48) zero = false;
  }
  if (negative && zero) return undefined;
  return fractionDigits === unit ? raw : raw + '0'.repeat(unit - fractionDigits);
}

function isDigit(charCode: number): boolean {
  return charCode >= 48 && charCode <= 57;
}

let lastCurrency: string | undefined;
let lastMinorUnit: number | undefined;

/** `minorUnitByCurrency`, remembering the last answer: a file's lines are almost always one currency. */
function minorUnitOfCurrency(currency: string): number | undefined {
  if (currency !== lastCurrency) {
    lastMinorUnit = minorUnitByCurrency(currency);
    lastCurrency = currency;
  }
  return lastMinorUnit;
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

/** `YYYY-MM-DD HH:mm:ss`, a real calendar date and clock time (no zone: the channel's local time). */
export function parseTradeTimeCell(raw: string, lineNo: number, field: string, column?: string): string {
  const value = raw.trim();
  if (!isTradeTime(value)) {
    throw malformed(
      lineNo,
      field,
      `${quote(value)} is not a time of the form YYYY-MM-DD HH:mm:ss${inColumn(column)}`,
    );
  }
  return value;
}

/**
 * Whether `value` is `YYYY-MM-DD HH:mm:ss` naming a real date and clock time: one regex test with the
 * calendar in it, and code for February 29 only (a capturing regex, a Date and a closure per line
 * were a visible share of a parse; so was reading the digits with charCodeAt). It answers as the
 * earlier check — /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/ and a Date.UTC round trip —
 * did, quirk included: Date.UTC takes years 0–99 for 1900–1999, so "0000-02-29" is no date (1900
 * was not a leap year) while "0004-02-29" is.
 */
export function isTradeTime(value: string): boolean {
  if (!TRADE_TIME_RE.test(value)) return false;
  if (!value.startsWith('02-29', 5)) return true;
  const year = Number(value.slice(0, 4));
  return isLeapYear(year < 100 ? 1900 + year : year);
}

const TRADE_TIME_RE = new RegExp(
  [
    '^\\d{4}-',
    '(?:',
    '(?:0[1-9]|1[0-2])-(?:0[1-9]|1\\d|2[0-8])', // days 1–28 of every month
    '|(?:0[13-9]|1[0-2])-(?:29|30)', // 29 and 30 of every month but February
    '|(?:0[13578]|1[02])-31', // 31 of the long months
    '|02-29', // the caller checks the year
    ')',
    ' (?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d$',
  ].join(''),
);

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
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

/**
 * Pair assertion: what a reader hands out must already be a valid line; a breach is our bug. The
 * amount (valid Money text, not negative) and the fee (valid Money text) are asserted by
 * ComputedTotals.add, which reads them right after this.
 */
function assertStatementLine(line: StatementLine): void {
  invariant(
    line.type === 'PAYMENT' || line.type === 'REFUND',
    () => `line ${line.lineNo}: type ${line.type}`,
  );
  invariant(
    line.type === 'REFUND' || line.refundNo === null,
    () => `line ${line.lineNo}: refundNo on a payment`,
  );
  invariant(line.orderNo !== '' && line.status !== '', () => `line ${line.lineNo}: empty orderNo or status`);
}
