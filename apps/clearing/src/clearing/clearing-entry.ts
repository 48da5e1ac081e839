import { Money } from '@app/contracts';
import type { AccountRef, EntryDraft, PostingDraft } from '@app/ledger';
import type { PaymentSplit, RefundSplit } from '../fees/fee.types.js';

/** Journal entry keys of clearing entries: one per cleared transaction. */
export const CLEARING_KEY_PREFIX = 'clearing:';

export function clearingEntryKey(transactionEventId: string): string {
  return `${CLEARING_KEY_PREFIX}${transactionEventId}`;
}

/** Account templates clearing posts to (DESIGN §6; codes in libs/ledger/src/chart.ts). */
export const CLEARING_TEMPLATE = {
  /** 2202 商户待清算, per merchant; no floor. */
  merchantPending: 'merchant_pending',
  /** 2203 商户可结算, per merchant; NON_NEGATIVE floor. */
  merchantSettleable: 'merchant_settleable',
  /** 6001 手续费收入, platform-wide. */
  feeIncome: 'fee_income',
  /** 6401 渠道手续费支出, per channel. */
  channelFeeExpense: 'channel_fee_expense',
  /** 1122 应收渠道款, per channel. */
  channelReceivable: 'channel_receivable',
} as const;

/**
 * The split of a cleared item as signed movements, the shape of clearing.item-cleared.v1 and of
 * clearing.cleared_item: a payment's figures are ≥ 0 (net may be 0), a refund's ≤ 0 (its net may
 * be positive when the fee returned exceeds the refund). Always net + fee = pending.
 */
export interface ClearingFigures {
  currency: string;
  /** What passed through the channel, > 0 for either type. */
  amount: string;
  /** PAYMENT: +orderValue. REFUND: −amount. */
  gross: string;
  /** Moved out of merchant pending (2202): PAYMENT +pending, REFUND −amount (back into it). */
  pending: string;
  /** Platform fee: + charged, − returned. */
  fee: string;
  /** Channel cost: + charged by the channel, − returned by it. */
  channelCost: string;
  /** Merchant settleable (2203) movement: + owed to the merchant, − taken back. */
  net: string;
  /** PAYMENT only. */
  orderValue: string | null;
  couponMerchantFunded: string | null;
  couponPlatformFunded: string | null;
}

export function paymentFigures(split: PaymentSplit): ClearingFigures {
  return {
    currency: split.currency,
    amount: split.amount,
    gross: split.orderValue,
    pending: split.pending,
    fee: split.fee,
    channelCost: split.channelCost,
    net: split.merchantNet,
    orderValue: split.orderValue,
    couponMerchantFunded: split.couponMerchantFunded,
    couponPlatformFunded: split.couponPlatformFunded,
  };
}

export function refundFigures(split: RefundSplit): ClearingFigures {
  const c = split.currency;
  const negate = (value: string) => Money.of(value, c).negated().toString();
  return {
    currency: c,
    amount: split.amount,
    gross: negate(split.amount),
    pending: negate(split.amount),
    fee: negate(split.feeReturned),
    channelCost: negate(split.channelCostReturned),
    net: negate(split.merchantDebit),
    orderValue: null,
    couponMerchantFunded: null,
    couponPlatformFunded: null,
  };
}

/** What the entry is about, besides its figures. */
export interface ClearingEntryFacts {
  transactionEventId: string;
  type: 'PAYMENT' | 'REFUND';
  merchantId: string;
  channel: string;
  orderNo: string;
  refundNo: string | null;
  businessDate: string;
  /** When the item became clearable (matched, or its payment cleared); deterministic per item. */
  effectiveAt: string;
}

/**
 * The clearing (清分) journal entry of one item, from its signed figures. Each account gets one
 * posting whose side follows the figure's sign (zero: no posting), so payments and refunds, and a
 * refund whose fee returned exceeds it, all come from one rule:
 *
 * | account | signed debit | payment | refund |
 * | --- | --- | --- | --- |
 * | 2202 merchant pending:{merchant} | +pending | Dr pending | Cr amount |
 * | 2203 merchant settleable:{merchant} | −net | Cr merchantNet | Dr merchantDebit |
 * | 6001 fee income | −fee | Cr fee | Dr fee returned |
 * | 6401 channel fee expense:{channel} | +channelCost | Dr channel cost | Cr channel fee returned |
 * | 1122 channel receivable:{channel} | −channelCost | Cr channel cost | Dr channel fee returned |
 *
 * Balanced because net + fee = pending. Pure; the ledger validates it again.
 */
export function clearingEntryOf(facts: ClearingEntryFacts, figures: ClearingFigures): EntryDraft {
  const c = figures.currency;
  const signed = (value: string) => Money.of(value, c);
  const merchant = (template: string): AccountRef => ({ template, owner: facts.merchantId });
  const channel = (template: string): AccountRef => ({ template, owner: facts.channel });
  const legs: [AccountRef, Money][] = [
    [merchant(CLEARING_TEMPLATE.merchantPending), signed(figures.pending)],
    [merchant(CLEARING_TEMPLATE.merchantSettleable), signed(figures.net).negated()],
    [{ template: CLEARING_TEMPLATE.feeIncome }, signed(figures.fee).negated()],
    [channel(CLEARING_TEMPLATE.channelFeeExpense), signed(figures.channelCost)],
    [channel(CLEARING_TEMPLATE.channelReceivable), signed(figures.channelCost).negated()],
  ];
  const postings: PostingDraft[] = [];
  for (const [account, debit] of legs) {
    if (debit.isZero()) continue;
    postings.push({
      account,
      side: debit.isNegative() ? 'CREDIT' : 'DEBIT',
      amount: debit.abs().toString(),
      currency: c,
    });
  }
  const what =
    facts.type === 'PAYMENT'
      ? `clearing payment ${facts.channel} ${facts.orderNo}`
      : `clearing refund ${facts.channel} ${facts.orderNo} ${facts.refundNo ?? ''}`.trimEnd();
  return {
    idempotencyKey: clearingEntryKey(facts.transactionEventId),
    businessRef: `${facts.channel}:${facts.orderNo}`,
    effectiveAt: facts.effectiveAt,
    description: what,
    metadata: { businessDate: facts.businessDate, type: facts.type },
    postings,
  };
}
