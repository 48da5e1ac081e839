/**
 * One line of a channel statement (渠道对账单), whatever the file format: what the channel says
 * happened. Money stays a decimal string at the currency's scale; `amount` is positive for both
 * payments and refunds (the type carries the direction) and `fee` is signed as the channel books
 * it from the merchant's side (positive = charged, negative = returned on a refund).
 */
export type StatementLineType = 'PAYMENT' | 'REFUND';

export interface StatementLine {
  /** 1-based line number in the source file: every error and every discrepancy points back to it. */
  lineNo: number;
  type: StatementLineType;
  orderNo: string;
  /** Refunds only. */
  refundNo: string | null;
  channelTxnId: string | null;
  amount: string;
  fee: string | null;
  currency: string;
  /** The channel's status word as printed (e.g. SUCCESS, REFUND, CLOSED), normalised to upper case. */
  status: string;
  /** Local wall-clock time as printed in the file, `YYYY-MM-DD HH:mm:ss` (the channel's zone). */
  tradeTime: string;
}
