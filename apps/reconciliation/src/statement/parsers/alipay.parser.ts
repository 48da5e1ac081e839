import { Money } from '@app/contracts';
import type { StatementLine } from '../statement-line.js';
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
  parseAmountCell,
  parseCountCell,
  parseTradeTimeCell,
  quote,
  requiredCell,
  resolveColumns,
  verifyControl,
} from './statement-parser.js';

/**
 * An Alipay-style 业务明细 export: GBK bytes; `#` comment lines before the header and after the last
 * row; every field padded with trailing tabs; 业务类型 交易 (payment) or 退款 (refund). The export
 * lists completed business only, so every line is SUCCESS and closed orders are simply absent.
 *
 * - Amounts are 商家实收（元） (what the merchant received; refunds print it negative → emitted as a
 *   positive amount with type REFUND). It equals 订单金额 unless merchant-funded discounts apply, and
 *   it is what the trailer totals add up.
 * - Fees: 服务费（元） is booked from the merchant's side (negative = paid), so fee = −服务费: positive on
 *   payments, negative on refunds (returned), as StatementLine.fee is signed.
 * - Refunds: refundNo = 退款批次号/请求号; channelTxnId = 支付宝交易号, which Alipay keeps for the refund
 *   of a trade (there is no separate refund id in the file).
 * - tradeTime = 完成时间 (when the business completed). Currency is not in the file: CNY unless configured.
 *
 * Controls: `#交易合计：N笔，商家实收共X元[，商家优惠共Y元]` and `#退款合计：N笔，商家实收退款共-X元[…]`
 * must both be present and agree with the parsed lines (count and Σ 商家实收; Σ 商家优惠 when stated).
 */
export interface AlipayOptions extends StatementParserLimits {
  currency?: string;
  /** Default GBK, as Alipay exports; some tools re-save the file as UTF-8. */
  encoding?: StatementEncoding;
}

const COLUMNS = {
  channelTxnId: '支付宝交易号',
  orderNo: '商户订单号',
  businessType: '业务类型',
  completedTime: '完成时间',
  merchantReceived: '商家实收（元）',
  merchantDiscount: '商家优惠（元）',
  refundNo: '退款批次号/请求号',
  serviceFee: '服务费（元）',
} as const;
type Column = keyof typeof COLUMNS;
const REQUIRED: readonly Column[] = [
  'channelTxnId',
  'orderNo',
  'businessType',
  'completedTime',
  'merchantReceived',
  'refundNo',
  'serviceFee',
];

const PAYMENT_TYPE = '交易';
const REFUND_TYPE = '退款';
/** Every line of this export is completed business. */
const COMPLETED_STATUS = 'SUCCESS';

// Full-width punctuation as Alipay prints it; the ASCII forms are accepted too.
const PAYMENT_TRAILER_RE =
  /^#交易合计[:：]\s*(\S+?)笔[,，]\s*商家实收共\s*(\S+?)元(?:[,，]\s*商家优惠共\s*(\S+?)元)?/;
const REFUND_TRAILER_RE =
  /^#退款合计[:：]\s*(\S+?)笔[,，]\s*商家实收退款共\s*(\S+?)元(?:[,，]\s*商家优惠退款共\s*(\S+?)元)?/;

/** Header names compare with ASCII parentheses, so a re-saved file with "(元)" still matches. */
function normaliseName(name: string): string {
  return name.trim().replace(/（/g, '(').replace(/）/g, ')');
}

export class AlipayParser implements StatementParser {
  readonly format = 'alipay' as const;

  constructor(private readonly options: AlipayOptions = {}) {}

  parse(source: AsyncIterable<Uint8Array>): StatementParse {
    return new StatementParse(this.format, source, new AlipayReader(this.options), this.options);
  }
}

interface Trailer {
  lineNo: number;
  count: string;
  received: string;
  discount: string | undefined;
}

type State = 'preamble' | 'details' | 'trailer';

class AlipayReader implements StatementRecordReader {
  readonly encoding: StatementEncoding;
  private readonly currency: string;
  private state: State = 'preamble';
  private at: Partial<Record<Column, number>> = {};
  private width = 0;
  private paymentTrailer: Trailer | undefined;
  private refundTrailer: Trailer | undefined;
  private discountPayments: Money;
  private discountRefunds: Money;

  constructor(options: AlipayOptions) {
    this.encoding = options.encoding ?? 'gbk';
    this.currency = (options.currency ?? 'CNY').toUpperCase();
    this.discountPayments = Money.zero(this.currency);
    this.discountRefunds = Money.zero(this.currency);
  }

  recover(): boolean {
    return this.state === 'details';
  }

  line(text: string, lineNo: number): StatementLine | undefined {
    if (isBlank(text)) return undefined;
    const comment = text.startsWith('#');
    switch (this.state) {
      case 'preamble':
        if (!comment) this.readHeader(text, lineNo);
        return undefined;
      case 'details':
        if (!comment) return this.readDetail(text, lineNo);
        this.state = 'trailer';
        this.readTrailer(text, lineNo);
        return undefined;
      case 'trailer':
        if (!comment) throw malformed(lineNo, null, 'a row after the end of the detail list');
        this.readTrailer(text, lineNo);
        return undefined;
    }
  }

  end(computed: ComputedTotals, lastLineNo: number): ControlTotal[] {
    const missing = (name: string): StatementParseError =>
      new StatementParseError(
        'STATEMENT.MISSING_CONTROL_TOTAL',
        lastLineNo,
        name,
        `the export ends without its #${name} line: truncated file?`,
      );
    if (this.paymentTrailer === undefined) throw missing('交易合计');
    if (this.refundTrailer === undefined) throw missing('退款合计');
    const mine = computed.of(this.currency);
    const p = this.paymentTrailer;
    const r = this.refundTrailer;
    const money = (raw: string, trailer: Trailer, name: string): Money =>
      parseAmountCell(raw, this.currency, trailer.lineNo, name, { allowNegative: true, sum: true });
    const controls = [
      verifyControl(
        '交易合计笔数',
        p.lineNo,
        parseCountCell(p.count, p.lineNo, '交易合计笔数'),
        mine.paymentCount,
      ),
      verifyControl('商家实收', p.lineNo, money(p.received, p, '商家实收'), mine.paymentAmount),
      verifyControl(
        '退款合计笔数',
        r.lineNo,
        parseCountCell(r.count, r.lineNo, '退款合计笔数'),
        mine.refundCount,
      ),
      // Stated negative (money going back out); the lines carry refunds as positive amounts.
      verifyControl(
        '商家实收退款',
        r.lineNo,
        money(r.received, r, '商家实收退款'),
        mine.refundAmount.negated(),
      ),
    ];
    if (this.at.merchantDiscount !== undefined) {
      if (p.discount !== undefined) {
        controls.push(
          verifyControl('商家优惠', p.lineNo, money(p.discount, p, '商家优惠'), this.discountPayments),
        );
      }
      if (r.discount !== undefined) {
        controls.push(
          verifyControl('商家优惠退款', r.lineNo, money(r.discount, r, '商家优惠退款'), this.discountRefunds),
        );
      }
    }
    return controls;
  }

  private readHeader(text: string, lineNo: number): void {
    const names = splitPadded(text).map(normaliseName);
    const wanted = Object.fromEntries(
      Object.entries(COLUMNS).map(([key, name]) => [key, normaliseName(name)]),
    ) as Record<Column, string>;
    this.at = resolveColumns(indexHeader(names), wanted, REQUIRED, lineNo, (key) => FIELD[key]);
    this.width = names.length;
    this.state = 'details';
  }

  private readDetail(text: string, lineNo: number): StatementLine {
    const cells = splitPadded(text);
    const at = this.at;
    if (cells.length !== this.width) {
      const ours = (Object.keys(at) as Column[])
        .filter((key) => at[key]! >= cells.length)
        .sort((a, b) => at[a]! - at[b]!)[0];
      throw malformed(
        lineNo,
        ours === undefined ? null : FIELD[ours],
        `${cells.length} fields, the header has ${this.width}` +
          (ours === undefined ? '' : ` (no ${COLUMNS[ours]})`),
      );
    }
    const cell = (key: Column): string => (at[key] === undefined ? '' : (cells[at[key]] ?? ''));
    const amountOf = (key: Column, field: string): Money =>
      parseAmountCell(cell(key), this.currency, lineNo, field, { allowNegative: true, column: COLUMNS[key] });

    const businessType = requiredCell(cell('businessType'), lineNo, 'type', COLUMNS.businessType);
    if (businessType !== PAYMENT_TYPE && businessType !== REFUND_TYPE) {
      throw malformed(lineNo, 'type', `${quote(businessType)} is neither ${PAYMENT_TYPE} nor ${REFUND_TYPE}`);
    }
    const isRefund = businessType === REFUND_TYPE;
    const received = amountOf('merchantReceived', 'amount');
    // The sign is the direction: a payment credits the merchant, a refund debits. A sign against the
    // type is not something to fix up silently.
    if (isRefund ? received.isPositive() : received.isNegative()) {
      throw malformed(
        lineNo,
        'amount',
        `${quote(cell('merchantReceived').trim())} has the wrong sign for ${businessType} (column ${COLUMNS.merchantReceived})`,
      );
    }
    if (at.merchantDiscount !== undefined) {
      const discount = amountOf('merchantDiscount', COLUMNS.merchantDiscount);
      if (isRefund) this.discountRefunds = this.discountRefunds.plus(discount);
      else this.discountPayments = this.discountPayments.plus(discount);
    }
    return {
      lineNo,
      type: isRefund ? 'REFUND' : 'PAYMENT',
      orderNo: requiredCell(cell('orderNo'), lineNo, 'orderNo', COLUMNS.orderNo),
      refundNo: isRefund ? requiredCell(cell('refundNo'), lineNo, 'refundNo', COLUMNS.refundNo) : null,
      channelTxnId: requiredCell(cell('channelTxnId'), lineNo, 'channelTxnId', COLUMNS.channelTxnId),
      amount: received.abs().toString(),
      fee: amountOf('serviceFee', 'fee').negated().toString(),
      currency: this.currency,
      status: COMPLETED_STATUS,
      tradeTime: parseTradeTimeCell(cell('completedTime'), lineNo, 'tradeTime', COLUMNS.completedTime),
    };
  }

  private readTrailer(text: string, lineNo: number): void {
    const payment = PAYMENT_TRAILER_RE.exec(text);
    if (payment !== null) {
      if (this.paymentTrailer !== undefined) throw malformed(lineNo, '交易合计', 'stated twice');
      this.paymentTrailer = { lineNo, count: payment[1]!, received: payment[2]!, discount: payment[3] };
      return;
    }
    const refund = REFUND_TRAILER_RE.exec(text);
    if (refund !== null) {
      if (this.refundTrailer !== undefined) throw malformed(lineNo, '退款合计', 'stated twice');
      this.refundTrailer = { lineNo, count: refund[1]!, received: refund[2]!, discount: refund[3] };
    }
    // Any other comment (列表结束, 导出时间) carries nothing to check.
  }
}

const FIELD: Record<Column, string> = {
  channelTxnId: 'channelTxnId',
  orderNo: 'orderNo',
  businessType: 'type',
  completedTime: 'tradeTime',
  merchantReceived: 'amount',
  merchantDiscount: COLUMNS.merchantDiscount,
  refundNo: 'refundNo',
  serviceFee: 'fee',
};

/** Alipay pads every field with tabs (so spreadsheets keep long numbers as text): strip them. */
function splitPadded(text: string): string[] {
  return text.split(',').map((cell) => cell.replace(/[\t ]+$/, '').replace(/^[\t ]+/, ''));
}
