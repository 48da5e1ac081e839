import type { RoundingMode } from '@app/contracts';

/**
 * Fee rules (手续费规则) and the clearing split (清分), as plain data. Money is a decimal string at
 * the currency's scale everywhere; rates are decimal strings ('0.006' = 0.6%).
 *
 * Vocabulary, for a payment of an order with a coupon (DESIGN §5):
 * - `amount`: what the payer paid through the channel (the statement's figure);
 * - `orderValue` = amount + coupon.amount: the merchant's sale, the base of the platform fee;
 * - `pending` = amount + coupon.platformFunded = orderValue − coupon.merchantFunded: what the T-day
 *   entry credited to merchant pending (2202);
 * - `fee`: the platform's fee charged to the merchant (6001 fee income);
 * - `merchantNet` = pending − fee: what clearing moves to merchant settleable (2203);
 * - `channelCost`: what the channel charges the platform (6401 against 1122), not the merchant's.
 * The split of the order value is exact: merchantNet + fee + coupon.merchantFunded = orderValue,
 * and merchantNet + fee = pending.
 */

export const FEE_KINDS = ['PERCENTAGE', 'FIXED', 'PERCENTAGE_PLUS_FIXED', 'TIERED'] as const;
export type FeeKind = (typeof FEE_KINDS)[number];

/**
 * What happens to the fee when the payment is refunded: NONE keeps it; FULL returns the payment's
 * whole remaining fee with the first refund; PRO_RATA returns fee × refund / amount paid (rounded
 * with the rule's mode), and the refund that completes the paid amount returns exactly what is
 * left. Never more than was charged, over any sequence of partial refunds. (A FULL return on a
 * small refund can exceed the refund: the merchant's settleable balance then goes up.)
 */
export const REFUND_FEE_POLICIES = ['NONE', 'FULL', 'PRO_RATA'] as const;
export type RefundFeePolicy = (typeof REFUND_FEE_POLICIES)[number];

/** A tier of a TIERED rule: applies to an order value ≤ upTo (null: no upper bound), tiers ascending. */
export interface FeeTier {
  upTo: string | null;
  rate: string;
  fixed: string;
}

export interface FeeFormula {
  kind: FeeKind;
  /** PERCENTAGE, PERCENTAGE_PLUS_FIXED. */
  rate?: string;
  /** FIXED, PERCENTAGE_PLUS_FIXED. */
  fixed?: string;
  /** TIERED: the tier the whole order value falls in decides rate and fixed (not progressive). */
  tiers?: FeeTier[];
  /** Bounds on the computed fee, applied after rounding. */
  min?: string;
  max?: string;
  /** To the currency's minor unit; default HALF_UP. */
  rounding?: RoundingMode;
}

/** Who a rule applies to: null = any. The most specific scope in force wins (see `selectRule`). */
export interface FeeRuleScope {
  merchantId: string | null;
  channel: string | null;
  paymentMethod: string | null;
}

export interface FeeRule {
  /** bigint as a string. */
  id: string;
  /** Rules with one scope form a version chain: 1, 2, 3… */
  version: number;
  scope: FeeRuleScope;
  currency: string;
  formula: FeeFormula;
  refundPolicy: RefundFeePolicy;
  /** ISO instants; [from, to), to null = open-ended. */
  effectiveFrom: string;
  effectiveTo: string | null;
}

/** What the channel charges the platform: a rate of the amount paid through it. */
export interface ChannelCostRate {
  channel: string;
  rate: string;
  rounding?: RoundingMode;
  effectiveFrom: string;
  effectiveTo: string | null;
}

export interface Coupon {
  amount: string;
  merchantFunded: string;
  platformFunded: string;
}

export interface PaymentToClear {
  amount: string;
  currency: string;
  coupon?: Coupon;
  /**
   * The channel's own fee from the statement line when it has one: then it is the channel cost
   * (what the channel actually kept); otherwise the channel cost rate gives it.
   */
  channelFee?: string | null;
}

export interface PaymentSplit {
  currency: string;
  amount: string;
  orderValue: string;
  couponMerchantFunded: string;
  couponPlatformFunded: string;
  pending: string;
  fee: string;
  merchantNet: string;
  channelCost: string;
}

export interface RefundToClear {
  /** What the payer got back through the channel (positive). */
  amount: string;
  currency: string;
  /** The split the refunded payment was cleared with. */
  payment: PaymentSplit;
  /** Σ refund amounts and Σ fee returned by earlier refunds of the same payment. */
  refundedBefore: string;
  feeReturnedBefore: string;
  policy: RefundFeePolicy;
  rounding?: RoundingMode;
  /** The channel's fee on the refund line (negative when the channel returns its fee). */
  channelFee?: string | null;
}

export interface RefundSplit {
  currency: string;
  amount: string;
  /** Fee returned to the merchant (≥ 0, ≤ what is left of the payment's fee). */
  feeReturned: string;
  /** amount − feeReturned: what the merchant's settleable balance loses. */
  merchantDebit: string;
  /** Channel fee returned to the platform (≥ 0). */
  channelCostReturned: string;
}

export type FeeErrorCode = 'FEES.INVALID_RULE' | 'FEES.NO_RULE' | 'FEES.INVALID_INPUT' | 'FEES.OVERLAP';

export class FeeError extends Error {
  override readonly name = 'FeeError';

  constructor(
    readonly code: FeeErrorCode,
    message: string,
  ) {
    super(message);
  }
}
