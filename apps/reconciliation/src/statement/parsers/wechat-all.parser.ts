import { Money } from '@app/contracts';
import type { StatementLine } from '../statement-line.js';
import {
  type ComputedTotals,
  type ControlTotal,
  type StatementParser,
  type StatementParserLimits,
  type StatementRecordReader,
  StatementParse,
  StatementParseError,
  indexHeader,
  isBlank,
  malformed,
  parseAmountCell,
  parseCountCell,
  parseCurrencyCell,
  parseTradeTimeCell,
  quote,
  requiredCell,
  resolveColumns,
  verifyControl,
} from './statement-parser.js';

/**
 * A WeChat-Pay-style "ALL" bill (全部订单): a header row of column names (order not fixed, columns
 * found by name), detail rows whose every field starts with a backtick, then a summary header row
 * (总交易单数,…) and one summary row.
 *
 * - Payment rows (交易状态 SUCCESS, CLOSED, REVOKED, …): amount = 应结订单金额 (the settlement amount;
 *   equal to 订单金额 unless a non-recharge coupon paid part), channelTxnId = 微信订单号, status = 交易状态.
 * - Refund rows (交易状态 REFUND): amount = 退款金额, refundNo = 商户退款单号, channelTxnId = 微信退款单号
 *   (the refund's own id, as the generic file prints it), status = 退款状态 (SUCCESS, PROCESSING,
 *   REFUNDCLOSE, CHANGE — the refund's outcome; the type already says it is a refund), fee = 手续费
 *   (negative: returned).
 *
 * Controls, checked against the parsed lines when the file ends:
 * - 总交易单数 counts every detail row: payments of every status (CLOSED ones too) plus refund rows
 *   (the sample: 27 SUCCESS + 3 CLOSED + 3 REFUND = 33);
 * - 应结订单总金额 = Σ amount of payment lines, CLOSED included (refund rows print 0.00 there);
 * - 退款总金额 = Σ amount of refund lines; 手续费总金额 = Σ fee of all lines (refund fees negative);
 * - 订单总金额 / 申请退款总金额 / 充值券退款总金额, when both the column and the total are present, against
 *   the Σ of their own columns.
 */
export interface WechatAllOptions extends StatementParserLimits {
  /** Used for the totals of a bill with no detail rows (货币种类 is per row). Default CNY. */
  currency?: string;
}

/** Our field → the bill's column header. */
const DETAIL_COLUMNS = {
  tradeTime: '交易时间',
  channelTxnId: '微信订单号',
  orderNo: '商户订单号',
  tradeStatus: '交易状态',
  currency: '货币种类',
  settlementAmount: '应结订单金额',
  channelRefundNo: '微信退款单号',
  refundNo: '商户退款单号',
  refundAmount: '退款金额',
  refundStatus: '退款状态',
  fee: '手续费',
  orderAmount: '订单金额',
  refundRequestAmount: '申请退款金额',
  rechargeCouponRefundAmount: '充值券退款金额',
} as const;
type DetailColumn = keyof typeof DETAIL_COLUMNS;
/** The StatementLine field (or, for columns only the controls use, the column) an error names. */
const DETAIL_FIELD: Record<DetailColumn, string> = {
  tradeTime: 'tradeTime',
  channelTxnId: 'channelTxnId',
  orderNo: 'orderNo',
  tradeStatus: 'status',
  currency: 'currency',
  settlementAmount: 'amount',
  channelRefundNo: 'channelTxnId',
  refundNo: 'refundNo',
  refundAmount: 'amount',
  refundStatus: 'status',
  fee: 'fee',
  orderAmount: DETAIL_COLUMNS.orderAmount,
  refundRequestAmount: DETAIL_COLUMNS.refundRequestAmount,
  rechargeCouponRefundAmount: DETAIL_COLUMNS.rechargeCouponRefundAmount,
};
const DETAIL_REQUIRED: readonly DetailColumn[] = [
  'tradeTime',
  'channelTxnId',
  'orderNo',
  'tradeStatus',
  'currency',
  'settlementAmount',
  'channelRefundNo',
  'refundNo',
  'refundAmount',
  'refundStatus',
  'fee',
];

const SUMMARY_COLUMNS = {
  count: '总交易单数',
  settlementAmount: '应结订单总金额',
  refundAmount: '退款总金额',
  fee: '手续费总金额',
  orderAmount: '订单总金额',
  refundRequestAmount: '申请退款总金额',
  rechargeCouponRefundAmount: '充值券退款总金额',
} as const;
type SummaryColumn = keyof typeof SUMMARY_COLUMNS;
const SUMMARY_REQUIRED: readonly SummaryColumn[] = ['count', 'settlementAmount', 'refundAmount', 'fee'];
/** Optional totals and the detail column each one adds up. */
const EXTRA_CONTROLS = ['orderAmount', 'refundRequestAmount', 'rechargeCouponRefundAmount'] as const;

const REFUND_TRADE_STATUS = 'REFUND';
const DEFAULT_CURRENCY = 'CNY';

export class WechatAllParser implements StatementParser {
  readonly format = 'wechat-all' as const;

  constructor(private readonly options: WechatAllOptions = {}) {}

  parse(source: AsyncIterable<Uint8Array>): StatementParse {
    return new StatementParse(this.format, source, new WechatAllReader(this.options), this.options);
  }
}

type State = 'header' | 'details' | 'summaryRow' | 'done';

class WechatAllReader implements StatementRecordReader {
  readonly encoding = 'utf-8' as const;
  private state: State = 'header';
  private detail: Partial<Record<DetailColumn, number>> = {};
  private detailSize = 0;
  private summary: { lineNo: number; cells: Partial<Record<SummaryColumn, string>> } | undefined;
  private summaryHeader: { names: string[]; lineNo: number } | undefined;
  private currency: string | undefined;
  /** Σ of the columns that only the optional controls need. */
  private readonly extraSums = new Map<(typeof EXTRA_CONTROLS)[number], Money>();

  constructor(private readonly options: WechatAllOptions) {}

  recover(): boolean {
    return this.state === 'details';
  }

  line(text: string, lineNo: number): StatementLine | undefined {
    if (isBlank(text)) return undefined;
    switch (this.state) {
      case 'header':
        this.readHeader(text, lineNo);
        return undefined;
      case 'details':
        if (text.startsWith('`')) return this.readDetail(splitBackticked(text), lineNo);
        // The summary header is found by its names too: its column order is not fixed either.
        if (text.split(',').some((name) => name.trim() === SUMMARY_COLUMNS.count)) {
          this.summaryHeader = { names: text.split(',').map((name) => name.trim()), lineNo };
          this.state = 'summaryRow';
          return undefined;
        }
        throw malformed(lineNo, null, `neither a detail row (starting with \`) nor the summary header`);
      case 'summaryRow':
        this.readSummary(text, lineNo);
        return undefined;
      case 'done':
        throw malformed(lineNo, null, 'text after the summary row');
    }
  }

  end(computed: ComputedTotals, lastLineNo: number): ControlTotal[] {
    if (this.summary === undefined) {
      throw new StatementParseError(
        'STATEMENT.MISSING_CONTROL_TOTAL',
        lastLineNo,
        null,
        `the bill ends without its summary (${SUMMARY_COLUMNS.count},…) rows: truncated file?`,
      );
    }
    const currency = this.currency ?? this.options.currency ?? DEFAULT_CURRENCY;
    const { lineNo, cells } = this.summary;
    const mine = computed.of(currency);
    const amount = (key: SummaryColumn): Money =>
      parseAmountCell(cells[key] ?? '', currency, lineNo, SUMMARY_COLUMNS[key], {
        allowNegative: true,
        sum: true,
      });
    const controls = [
      verifyControl(
        SUMMARY_COLUMNS.count,
        lineNo,
        parseCountCell(cells.count ?? '', lineNo, SUMMARY_COLUMNS.count),
        computed.lineCount,
      ),
      verifyControl(SUMMARY_COLUMNS.settlementAmount, lineNo, amount('settlementAmount'), mine.paymentAmount),
      verifyControl(SUMMARY_COLUMNS.refundAmount, lineNo, amount('refundAmount'), mine.refundAmount),
      verifyControl(SUMMARY_COLUMNS.fee, lineNo, amount('fee'), mine.fee),
    ];
    for (const key of EXTRA_CONTROLS) {
      if (cells[key] === undefined || this.detail[key] === undefined) continue;
      controls.push(
        verifyControl(
          SUMMARY_COLUMNS[key],
          lineNo,
          amount(key),
          this.extraSums.get(key) ?? Money.zero(currency),
        ),
      );
    }
    return controls;
  }

  private readHeader(text: string, lineNo: number): void {
    if (text.startsWith('`')) throw malformed(lineNo, null, 'a detail row before the header row');
    const names = text.split(',').map((name) => name.trim());
    this.detail = resolveColumns(
      indexHeader(names),
      DETAIL_COLUMNS,
      DETAIL_REQUIRED,
      lineNo,
      (key) => DETAIL_FIELD[key],
    );
    this.detailSize = names.length;
    this.state = 'details';
  }

  private readDetail(cells: string[], lineNo: number): StatementLine {
    const at = this.detail;
    if (cells.length < this.detailSize) {
      // Name the first missing field we read; failing that, the first missing column of the file.
      const ours = (Object.keys(at) as DetailColumn[])
        .filter((key) => at[key]! >= cells.length)
        .sort((a, b) => at[a]! - at[b]!)[0];
      throw malformed(
        lineNo,
        ours === undefined ? null : DETAIL_FIELD[ours],
        `${cells.length} fields, the header has ${this.detailSize}` +
          (ours === undefined ? '' : ` (no ${DETAIL_COLUMNS[ours]})`),
      );
    }
    checkWidth(cells, this.detailSize, lineNo, 'the header');
    const cell = (key: DetailColumn): string => (at[key] === undefined ? '' : (cells[at[key]] ?? ''));
    const currency = parseCurrencyCell(cell('currency'), lineNo, 'currency', DETAIL_COLUMNS.currency);
    if (this.currency === undefined) this.currency = currency;
    else if (currency !== this.currency) {
      // The summary row has one figure per total: it cannot describe a bill of two currencies.
      throw malformed(lineNo, 'currency', `${currency} in a bill whose rows so far are ${this.currency}`);
    }
    const amountOf = (key: DetailColumn, field: string, allowNegative = false): Money =>
      parseAmountCell(cell(key), currency, lineNo, field, { allowNegative, column: DETAIL_COLUMNS[key] });

    const tradeStatus = requiredCell(
      cell('tradeStatus'),
      lineNo,
      'status',
      DETAIL_COLUMNS.tradeStatus,
    ).toUpperCase();
    const isRefund = tradeStatus === REFUND_TRADE_STATUS;
    const common = {
      lineNo,
      orderNo: requiredCell(cell('orderNo'), lineNo, 'orderNo', DETAIL_COLUMNS.orderNo),
      fee: amountOf('fee', 'fee', true).toString(),
      currency,
      tradeTime: parseTradeTimeCell(cell('tradeTime'), lineNo, 'tradeTime', DETAIL_COLUMNS.tradeTime),
    };
    for (const key of EXTRA_CONTROLS) {
      if (at[key] === undefined) continue;
      const value = amountOf(key, DETAIL_COLUMNS[key]);
      this.extraSums.set(key, (this.extraSums.get(key) ?? Money.zero(currency)).plus(value));
    }
    if (isRefund) {
      return {
        ...common,
        type: 'REFUND',
        refundNo: requiredCell(cell('refundNo'), lineNo, 'refundNo', DETAIL_COLUMNS.refundNo),
        channelTxnId: requiredCell(
          cell('channelRefundNo'),
          lineNo,
          'channelTxnId',
          DETAIL_COLUMNS.channelRefundNo,
        ),
        amount: amountOf('refundAmount', 'amount').toString(),
        status: requiredCell(
          cell('refundStatus'),
          lineNo,
          'status',
          DETAIL_COLUMNS.refundStatus,
        ).toUpperCase(),
      };
    }
    return {
      ...common,
      type: 'PAYMENT',
      refundNo: null,
      channelTxnId: requiredCell(cell('channelTxnId'), lineNo, 'channelTxnId', DETAIL_COLUMNS.channelTxnId),
      amount: amountOf('settlementAmount', 'amount').toString(),
      status: tradeStatus,
    };
  }

  private readSummary(text: string, lineNo: number): void {
    if (!text.startsWith('`'))
      throw malformed(lineNo, null, 'the summary header is not followed by a summary row');
    const header = this.summaryHeader!;
    const cells = splitBackticked(text);
    checkWidth(cells, header.names.length, lineNo, `the summary header (line ${header.lineNo})`);
    const at = resolveColumns(
      indexHeader(header.names),
      SUMMARY_COLUMNS,
      SUMMARY_REQUIRED,
      header.lineNo,
      (key) => SUMMARY_COLUMNS[key],
    );
    const values: Partial<Record<SummaryColumn, string>> = {};
    for (const key of Object.keys(at) as SummaryColumn[]) values[key] = cells[at[key]!] ?? '';
    this.summary = { lineNo, cells: values };
    this.state = 'done';
  }
}

/**
 * "`a,`b,`" → ["a", "b", ""]. Splitting on ",`" rather than "," keeps a comma inside a value (a
 * product name, the merchant data package) in its field.
 */
function splitBackticked(text: string): string[] {
  return text.trimEnd().slice(1).split(',`');
}

function checkWidth(cells: string[], size: number, lineNo: number, against: string): void {
  if (cells.length !== size) {
    throw malformed(
      lineNo,
      null,
      `${cells.length} fields, ${against} has ${size} (${quote(cells.join(','))})`,
    );
  }
}
