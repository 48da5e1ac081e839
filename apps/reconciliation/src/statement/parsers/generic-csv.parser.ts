import { invariant } from '@app/contracts';
import type { StatementLine, StatementLineType } from '../statement-line.js';
import {
  type ComputedTotals,
  type ControlTotal,
  type StatementEncoding,
  type StatementParser,
  type StatementParserLimits,
  type StatementRecordReader,
  StatementParse,
  StatementParseError,
  indexHeader,
  isBlank,
  malformed,
  optionalCell,
  parseAmountText,
  parseCurrencyCell,
  parseTradeTimeCell,
  quote,
  requiredCell,
  resolveColumns,
} from './statement-parser.js';

/**
 * Plain CSV with a header row (RFC 4180: quoted fields may hold commas, doubled quotes and line
 * breaks) and a per-channel mapping from our fields to header names. No control totals.
 *
 * Refunds: a file without a refund-number column (like the sample) gives refund lines with
 * `refundNo: null`; the refund is then known by orderNo + type REFUND, and `channelTxnId` carries the
 * channel's own refund id (the sample's 5000… numbers, which the WeChat bill prints as 微信退款单号).
 * Nothing is guessed: our merchant refund number is not derivable from the channel's id.
 */
export interface GenericCsvColumns {
  orderNo: string;
  /** Optional: the merchant refund number, read on REFUND lines only. */
  refundNo?: string;
  type: string;
  amount: string;
  /** Optional: signed as StatementLine.fee (positive charged, negative returned); empty cell → null. */
  fee?: string;
  /** Optional when `currency` is configured. */
  currency?: string;
  status: string;
  tradeTime: string;
  channelTxnId?: string;
}

export interface GenericCsvOptions extends StatementParserLimits {
  columns: GenericCsvColumns;
  /** The file's type words → ours, matched exactly after trimming, e.g. `{ '支付': 'PAYMENT', '退款': 'REFUND' }`. */
  typeValues: Readonly<Record<string, StatementLineType>>;
  /** For files without a currency column. */
  currency?: string;
  encoding?: StatementEncoding;
  /** A quoted field may span lines; a record spanning more than this many is taken as a runaway quote. */
  recordLinesMax?: number;
}

/** The layout of `samples/generic-*.csv`. */
export const GENERIC_CSV_DEFAULT_OPTIONS: GenericCsvOptions = Object.freeze({
  columns: Object.freeze({
    orderNo: 'order_no',
    type: 'type',
    amount: 'amount',
    fee: 'fee',
    currency: 'currency',
    status: 'status',
    tradeTime: 'trade_time',
    channelTxnId: 'channel_txn_id',
  }),
  typeValues: Object.freeze({ PAYMENT: 'PAYMENT', REFUND: 'REFUND' }),
});

export const GENERIC_CSV_RECORD_LINES_MAX_DEFAULT = 32;

export class GenericCsvParser implements StatementParser {
  readonly format = 'generic' as const;

  constructor(private readonly options: GenericCsvOptions = GENERIC_CSV_DEFAULT_OPTIONS) {
    // Configuration is ours, not the file's: a bad one is a programmer error.
    invariant(
      options.columns.currency !== undefined || options.currency !== undefined,
      'GenericCsvOptions needs a currency column or a fixed currency',
    );
    invariant(Object.keys(options.typeValues).length > 0, 'GenericCsvOptions.typeValues is empty');
  }

  parse(source: AsyncIterable<Uint8Array>): StatementParse {
    return new StatementParse(this.format, source, new GenericCsvReader(this.options), this.options);
  }
}

type Column = keyof GenericCsvColumns;

/** Where each field is in a record (-1: no such column), and what its errors name. */
interface Layout {
  orderNo: number;
  refundNo: number;
  type: number;
  amount: number;
  fee: number;
  currency: number;
  status: number;
  tradeTime: number;
  channelTxnId: number;
  amountOptions: { column: string | undefined };
  feeOptions: { allowNegative: true; column: string | undefined };
}

class GenericCsvReader implements StatementRecordReader {
  readonly encoding: StatementEncoding;
  private columns: Partial<Record<Column, number>> | undefined;
  private layout: Layout | undefined;
  private headerSize = 0;
  /** A record whose quoted field continues on the next physical line. */
  private pending: { text: string; lineNo: number; lines: number } | undefined;
  private readonly recordLinesMax: number;
  /** The file's type words, own properties of `typeValues` only (a word like "constructor" is no type). */
  private readonly typeByWord: ReadonlyMap<string, StatementLineType | undefined>;
  private readonly fixedCurrency: string | undefined;
  /** The last currency cell and what it parsed to: one lookup per file, not per line. */
  private currencyCell: string | undefined;
  private currencyOfCell = '';

  constructor(private readonly options: GenericCsvOptions) {
    this.encoding = options.encoding ?? 'utf-8';
    this.recordLinesMax = options.recordLinesMax ?? GENERIC_CSV_RECORD_LINES_MAX_DEFAULT;
    const { typeValues } = options;
    this.typeByWord = new Map(Object.getOwnPropertyNames(typeValues).map((word) => [word, typeValues[word]]));
    this.fixedCurrency = options.currency?.toUpperCase();
  }

  line(text: string, lineNo: number): StatementLine | undefined {
    let recordText = text;
    let recordLineNo = lineNo;
    if (this.pending !== undefined) {
      recordText = `${this.pending.text}\n${text}`;
      recordLineNo = this.pending.lineNo;
      if (this.pending.lines + 1 > this.recordLinesMax) {
        throw malformed(
          recordLineNo,
          null,
          `a quoted field is still open after ${this.recordLinesMax} lines`,
        );
      }
    } else if (isBlank(text)) {
      return undefined;
    }
    const cells = splitCsvRecord(recordText, recordLineNo);
    if (cells === undefined) {
      this.pending = { text: recordText, lineNo: recordLineNo, lines: (this.pending?.lines ?? 0) + 1 };
      return undefined;
    }
    this.pending = undefined;
    if (this.layout === undefined) {
      this.readHeader(cells, recordLineNo);
      return undefined;
    }
    return this.readRecord(cells, recordLineNo, this.layout);
  }

  recover(): boolean {
    this.pending = undefined;
    return this.columns !== undefined;
  }

  end(_computed: ComputedTotals, lastLineNo: number): ControlTotal[] {
    if (this.pending !== undefined) {
      throw malformed(
        this.pending.lineNo,
        null,
        `a quoted field is never closed (file ends at line ${lastLineNo})`,
      );
    }
    if (this.columns === undefined) {
      throw new StatementParseError('STATEMENT.MISSING_COLUMN', null, null, 'the file has no header row');
    }
    return [];
  }

  private readHeader(cells: string[], lineNo: number): void {
    const required: Column[] = ['orderNo', 'type', 'amount', 'status', 'tradeTime'];
    if (this.options.currency === undefined) required.push('currency');
    const { columns } = this.options;
    const wanted: Record<Column, string | undefined> = {
      orderNo: columns.orderNo,
      refundNo: columns.refundNo,
      type: columns.type,
      amount: columns.amount,
      fee: columns.fee,
      currency: columns.currency,
      status: columns.status,
      tradeTime: columns.tradeTime,
      channelTxnId: columns.channelTxnId,
    };
    // Optional columns that are configured must be there too: a mapping naming a column the file
    // lacks is a wrong mapping, not a file with no fees.
    for (const key of Object.keys(wanted) as Column[]) {
      if (wanted[key] !== undefined && !required.includes(key)) required.push(key);
    }
    const at = resolveColumns(indexHeader(cells.map((cell) => cell.trim())), wanted, required, lineNo);
    this.columns = at;
    this.layout = {
      orderNo: at.orderNo ?? -1,
      refundNo: at.refundNo ?? -1,
      type: at.type ?? -1,
      amount: at.amount ?? -1,
      fee: at.fee ?? -1,
      currency: at.currency ?? -1,
      status: at.status ?? -1,
      tradeTime: at.tradeTime ?? -1,
      channelTxnId: at.channelTxnId ?? -1,
      amountOptions: { column: columns.amount },
      feeOptions: { allowNegative: true, column: columns.fee },
    };
    this.headerSize = cells.length;
  }

  // Straight-line code, no closures: this runs once per line of files of millions of lines. The
  // order of the checks is the order a line's errors are reported in.
  private readRecord(cells: string[], lineNo: number, at: Layout): StatementLine {
    if (cells.length < this.headerSize) {
      const columns = this.columns!;
      const missing = (Object.keys(columns) as Column[]).find((key) => columns[key]! >= cells.length);
      throw malformed(
        lineNo,
        missing ?? null,
        `${cells.length} fields, the header has ${this.headerSize}${missing === undefined ? '' : ` (no ${this.options.columns[missing]})`}`,
      );
    }
    if (cells.length > this.headerSize && cells.slice(this.headerSize).some((cell) => !isBlank(cell))) {
      throw malformed(lineNo, null, `${cells.length} fields, the header has ${this.headerSize}`);
    }
    const names = this.options.columns;

    const typeWord = requiredCell(cell(cells, at.type), lineNo, 'type', names.type);
    const type = this.typeByWord.get(typeWord);
    if (type === undefined) {
      throw malformed(
        lineNo,
        'type',
        `${quote(typeWord)} is not one of ${Object.keys(this.options.typeValues).map(quote).join(', ')}`,
      );
    }
    let currency: string;
    if (at.currency === -1) {
      currency = this.fixedCurrency!;
    } else {
      const raw = cells[at.currency] ?? '';
      if (raw !== this.currencyCell) {
        this.currencyOfCell = parseCurrencyCell(raw, lineNo, 'currency', names.currency);
        this.currencyCell = raw;
      }
      currency = this.currencyOfCell;
    }
    const feeText = optionalCell(cell(cells, at.fee));
    const orderNo = requiredCell(cells[at.orderNo], lineNo, 'orderNo', names.orderNo);
    const refundNo =
      type === 'REFUND' && at.refundNo !== -1
        ? requiredCell(cells[at.refundNo], lineNo, 'refundNo', names.refundNo)
        : null;
    const channelTxnId = optionalCell(cell(cells, at.channelTxnId));
    const amount = parseAmountText(cells[at.amount] ?? '', currency, lineNo, 'amount', at.amountOptions);
    const fee = feeText === null ? null : parseAmountText(feeText, currency, lineNo, 'fee', at.feeOptions);
    const status = requiredCell(cells[at.status], lineNo, 'status', names.status).toUpperCase();
    const tradeTime = parseTradeTimeCell(cells[at.tradeTime] ?? '', lineNo, 'tradeTime', names.tradeTime);
    return { lineNo, type, orderNo, refundNo, channelTxnId, amount, fee, currency, status, tradeTime };
  }
}

/** The cell of an optional column (-1: not in the file). */
function cell(cells: readonly string[], at: number): string | undefined {
  return at === -1 ? undefined : cells[at];
}

/**
 * One RFC 4180 record. Returns undefined when the text ends inside a quoted field (the record goes
 * on on the next physical line). A quote inside an unquoted field, or text after a closing quote, is
 * malformed: guessing what such a line meant is how amounts end up in the wrong column.
 */
export function splitCsvRecord(text: string, lineNo: number, delimiter = ','): string[] | undefined {
  // Without a quote the rules below reduce to a plain split; most records have none. (By hand:
  // String#split is a runtime call, twice the cost of indexOf and slice per cell.)
  if (!text.includes('"') && delimiter.length === 1) {
    const cells: string[] = [];
    let from = 0;
    for (let next = text.indexOf(delimiter); next !== -1; next = text.indexOf(delimiter, from)) {
      cells.push(text.slice(from, next));
      from = next + 1;
    }
    cells.push(text.slice(from));
    return cells;
  }
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let value = '';
      i += 1;
      for (;;) {
        const close = text.indexOf('"', i);
        if (close === -1) return undefined;
        value += text.slice(i, close);
        if (text[close + 1] === '"') {
          value += '"';
          i = close + 2;
          continue;
        }
        i = close + 1;
        break;
      }
      if (i < text.length && text[i] !== delimiter) {
        throw malformed(lineNo, null, `field ${cells.length + 1} has text after its closing quote`);
      }
      cells.push(value);
    } else {
      const next = text.indexOf(delimiter, i);
      const value = next === -1 ? text.slice(i) : text.slice(i, next);
      if (value.includes('"')) {
        throw malformed(
          lineNo,
          null,
          `field ${cells.length + 1} has a quote but is not quoted: ${quote(value)}`,
        );
      }
      cells.push(value);
      i = next === -1 ? text.length : next;
    }
    if (i >= text.length) return cells;
    i += 1; // the delimiter
    if (i === text.length) {
      cells.push('');
      return cells;
    }
  }
}
