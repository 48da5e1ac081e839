import { Money } from '@app/contracts';
import type { EntryDraft, PostingDraft, Side } from '@app/ledger';
import type { InternalTransaction } from './internal-transaction.js';

/** Journal entry keys of T-day entries: one per internal transaction, by the event that recorded it. */
export const T_DAY_KEY_PREFIX = 'recon.t-day:';

/** Account templates of the T-day entries (DESIGN.md §6; codes in libs/ledger/src/chart.ts). */
export const T_DAY_TEMPLATE = {
  /** 1122 应收渠道款, one per channel. */
  channelReceivable: 'channel_receivable',
  /** 2202 商户待清算, one per merchant; no floor: a refund may precede its clearing (ADR 008). */
  merchantPending: 'merchant_pending',
  /** 6601 营销费用, platform-wide. */
  marketingExpense: 'marketing_expense',
} as const;

/** The facts of an internal transaction a T-day entry is built from. */
export type TDayFacts = Pick<
  InternalTransaction,
  | 'eventId'
  | 'eventType'
  | 'merchantId'
  | 'channel'
  | 'orderNo'
  | 'refundNo'
  | 'amount'
  | 'currency'
  | 'couponPlatformFunded'
  | 'occurredAt'
  | 'businessDate'
>;

/**
 * The T-day (交易日) journal entry of one internal transaction: the money the channel now owes us
 * against what we now owe the merchant, before any reconciliation or clearing.
 *
 * - PAYMENT_SUCCEEDED: Dr 1122 channel receivable `amount` (what the payer paid through the
 *   channel); Dr 6601 marketing expense the coupon's platform-funded part, when there is one;
 *   Cr 2202 merchant pending `amount` + platform-funded part, which is the order value less the
 *   merchant-funded part of the coupon (that part the merchant gives away and is never owed).
 *   Balanced by construction.
 * - REFUND_SUCCEEDED: Dr 2202 merchant pending / Cr 1122 channel receivable, `amount`: the money
 *   went back to the payer through the channel, out of what we owe the merchant. A refunded
 *   coupon (the platform taking back its subsidy, or the merchant's) is not modelled yet: a refund
 *   event's coupon, if any, is ignored here.
 * - PAYMENT_REVERSED (冲正): the mirror of the payment's entry, built from the reversal event's own
 *   facts (`amount` and, when the publisher restates it, the coupon): the channel never owed the
 *   money, the merchant is owed nothing, and the platform's coupon subsidy did not happen. Not
 *   `Ledger.reverse` of the payment's entry: that needs the entry to exist, and reversals may
 *   arrive before their payment (different publishers) or reverse a payment recorded before
 *   T-day entries existed; it would also cost a look-up and a call per reversal where this is
 *   one more draft in the batch. The entries share the businessRef `<channel>:<orderNo>`, so a
 *   payment and its reversal are found together.
 *
 * Pure: no I/O, and only the ledger validates more than the contract already did.
 */
export function tDayEntryOf(t: TDayFacts): EntryDraft {
  const amount = Money.parse(t.amount, t.currency, { allowZero: false });
  const platformFunded =
    t.couponPlatformFunded === null
      ? Money.zero(t.currency)
      : Money.parse(t.couponPlatformFunded, t.currency);
  const channel = { template: T_DAY_TEMPLATE.channelReceivable, owner: t.channel };
  const merchant = { template: T_DAY_TEMPLATE.merchantPending, owner: t.merchantId };
  const marketing = { template: T_DAY_TEMPLATE.marketingExpense };
  const leg = (account: PostingDraft['account'], side: Side, money: Money): PostingDraft => ({
    account,
    side,
    amount: money.toString(),
    currency: t.currency,
  });

  // A reversal is the payment's legs with the sides swapped.
  const paymentLegs = (toChannel: Side, toMerchant: Side): PostingDraft[] => [
    leg(channel, toChannel, amount),
    ...(platformFunded.isPositive() ? [leg(marketing, toChannel, platformFunded)] : []),
    leg(merchant, toMerchant, amount.plus(platformFunded)),
  ];
  let postings: PostingDraft[];
  switch (t.eventType) {
    case 'PAYMENT_SUCCEEDED':
      postings = paymentLegs('DEBIT', 'CREDIT');
      break;
    case 'PAYMENT_REVERSED':
      postings = paymentLegs('CREDIT', 'DEBIT');
      break;
    case 'REFUND_SUCCEEDED':
      postings = [leg(merchant, 'DEBIT', amount), leg(channel, 'CREDIT', amount)];
      break;
  }

  return {
    idempotencyKey: `${T_DAY_KEY_PREFIX}${t.eventId}`,
    businessRef: `${t.channel}:${t.orderNo}`,
    effectiveAt: t.occurredAt,
    description: describe(t),
    metadata: { businessDate: t.businessDate },
    postings,
  };
}

function describe(t: TDayFacts): string {
  switch (t.eventType) {
    case 'PAYMENT_SUCCEEDED':
      return `T-day payment ${t.channel} ${t.orderNo}`;
    case 'REFUND_SUCCEEDED':
      return `T-day refund ${t.channel} ${t.orderNo} ${t.refundNo ?? ''}`.trimEnd();
    case 'PAYMENT_REVERSED':
      return `T-day reversal ${t.channel} ${t.orderNo}`;
  }
}

/**
 * Whether an entry can only add to what merchants are owed. Such entries can never break the
 * merchant pending floor, so when a batch is refused they are posted first (see TDayLedger).
 */
export function creditsMerchantOnly(t: Pick<TDayFacts, 'eventType'>): boolean {
  return t.eventType === 'PAYMENT_SUCCEEDED';
}
