import { Money, amountBoundError, invariant } from '@app/contracts';
import { computeFee } from './fee-calculator.js';
import {
  type ChannelCostRate,
  FeeError,
  type FeeRule,
  type PaymentSplit,
  type PaymentToClear,
  type RefundSplit,
  type RefundToClear,
} from './fee.types.js';
import { feeDecimalOf, parseAmount, parseRate, parseRounding } from './fee-values.js';

function inputAmount(value: unknown, currency: string, field: string, allowNegative = false): Money {
  return parseAmount(value, currency, field, 'FEES.INVALID_INPUT', { allowNegative });
}

/**
 * What the channel charges the platform for carrying `amount`: amount × rate, rounded once with the
 * rate's rounding (HALF_UP by default); zero when no rate is configured for the channel.
 * @throws FeeError FEES.INVALID_RULE when the rate or its rounding is broken
 */
export function channelCostOf(amount: Money, rate: ChannelCostRate | null): Money {
  if (rate === null) return Money.zero(amount.currency);
  const field = `channel cost rate of ${rate.channel}`;
  const value = parseRate(rate.rate, `${field}: rate`, 'FEES.INVALID_RULE');
  const rounding = parseRounding(rate.rounding, `${field}: rounding`, 'FEES.INVALID_RULE');
  return Money.ofRounded(feeDecimalOf(amount).times(value), amount.currency, rounding);
}

/**
 * Splits one payment in the vocabulary of fee.types.ts:
 * orderValue = amount + coupon.amount, pending = amount + coupon.platformFunded,
 * fee = computeFee(rule, orderValue) but never above pending, merchantNet = pending − fee.
 *
 * The fee is capped at pending because pending is all the merchant is owed for this payment: when
 * the merchant funded most of the order with its own coupon, a minimum fee could otherwise exceed
 * it and merchantNet would go negative (the merchant paying the platform for a sale).
 *
 * The channel cost is the statement line's own fee when it has one (what the channel actually
 * kept), else the configured rate on the amount paid through the channel (coupons never go through
 * the channel), else zero.
 * @throws FeeError FEES.INVALID_INPUT | FEES.INVALID_RULE
 */
export function splitPayment(
  input: PaymentToClear,
  rule: FeeRule,
  channelCost: ChannelCostRate | null,
): PaymentSplit {
  const currency = input.currency;
  if (currency !== rule.currency) {
    throw new FeeError(
      'FEES.INVALID_INPUT',
      `payment currency ${currency} does not match fee rule ${rule.id}'s currency ${rule.currency}`,
    );
  }
  const amount = inputAmount(input.amount, currency, 'amount');
  let couponAmount = Money.zero(currency);
  let merchantFunded = Money.zero(currency);
  let platformFunded = Money.zero(currency);
  if (input.coupon != null) {
    couponAmount = inputAmount(input.coupon.amount, currency, 'coupon.amount');
    merchantFunded = inputAmount(input.coupon.merchantFunded, currency, 'coupon.merchantFunded');
    platformFunded = inputAmount(input.coupon.platformFunded, currency, 'coupon.platformFunded');
    if (!merchantFunded.plus(platformFunded).equals(couponAmount)) {
      throw new FeeError(
        'FEES.INVALID_INPUT',
        `coupon: merchantFunded ${merchantFunded.toString()} + platformFunded ${platformFunded.toString()} ≠ amount ${couponAmount.toString()} ${currency}`,
      );
    }
  }

  const orderValue = amount.plus(couponAmount);
  // payments.transaction.v1 bounds the order value; a quote or a replayed item is held to the same
  // bound, so every figure of the split (each a part of the order value) is within it too.
  const bound = amountBoundError(orderValue);
  if (bound !== undefined) {
    throw new FeeError('FEES.INVALID_INPUT', `order value amount + coupon.amount: ${bound.message}`);
  }
  const pending = amount.plus(platformFunded);
  const feeByRule = computeFee(rule.formula, orderValue);
  const fee = feeByRule.greaterThan(pending) ? pending : feeByRule;
  const merchantNet = pending.minus(fee);

  let cost: Money;
  if (input.channelFee != null) {
    cost = inputAmount(input.channelFee, currency, 'channelFee', true);
    if (cost.isNegative()) {
      throw new FeeError(
        'FEES.INVALID_INPUT',
        `channelFee: ${cost.toString()} ${currency} is negative; on a payment the channel keeps a fee ≥ 0`,
      );
    }
  } else {
    cost = channelCostOf(amount, channelCost);
  }

  // The split is exact by construction; these guard the construction against later edits.
  invariant(merchantNet.plus(fee).equals(pending), 'payment split: merchantNet + fee ≠ pending');
  invariant(
    merchantNet.plus(fee).plus(merchantFunded).equals(orderValue),
    'payment split: merchantNet + fee + coupon.merchantFunded ≠ orderValue',
  );
  invariant(
    !merchantNet.isNegative() && !fee.isNegative() && !cost.isNegative(),
    () =>
      `payment split has a negative part: net ${merchantNet.toString()}, fee ${fee.toString()}, channel cost ${cost.toString()}`,
  );

  return {
    currency,
    amount: amount.toString(),
    orderValue: orderValue.toString(),
    couponMerchantFunded: merchantFunded.toString(),
    couponPlatformFunded: platformFunded.toString(),
    pending: pending.toString(),
    fee: fee.toString(),
    merchantNet: merchantNet.toString(),
    channelCost: cost.toString(),
  };
}

/**
 * Splits one refund of a cleared payment: how much of the payment's fee goes back to the merchant
 * and what the merchant's settleable balance loses.
 *
 * A refund is of the amount paid through the channel: coupons are not refunded in this model (the
 * payer does not get the coupon back as money and the coupon's funding stays where it was booked),
 * so refunds of one payment add up to at most `payment.amount`, and a refund that brings them to
 * exactly `payment.amount` completes the payment.
 *
 * Fee returned, by policy, always within [0, what is left of the payment's fee]:
 * - NONE: nothing;
 * - FULL: everything still left, with the first refund that finds some left;
 * - PRO_RATA: payment.fee × refund / payment.amount rounded with `rounding` (HALF_UP by default),
 *   except that the refund completing the payment returns exactly what is left, so over any
 *   sequence of partial refunds the whole fee comes back and never a unit more.
 *
 * merchantDebit = amount − feeReturned. It is negative when the fee returned exceeds the refund
 * (FULL on a small first refund, or a fee above the paid amount because the platform funded most
 * of the order): the merchant's balance then grows by the difference.
 * @throws FeeError FEES.INVALID_INPUT (over-refund, currency mismatch, bad amounts)
 */
export function splitRefund(input: RefundToClear): RefundSplit {
  const currency = input.currency;
  const payment = input.payment;
  if (payment.currency !== currency) {
    throw new FeeError(
      'FEES.INVALID_INPUT',
      `refund currency ${currency} does not match its payment's currency ${payment.currency}`,
    );
  }
  const amount = parseAmount(input.amount, currency, 'amount', 'FEES.INVALID_INPUT', { allowZero: false });
  const paid = inputAmount(payment.amount, currency, 'payment.amount');
  const fee = inputAmount(payment.fee, currency, 'payment.fee');
  const refundedBefore = inputAmount(input.refundedBefore, currency, 'refundedBefore');
  const feeReturnedBefore = inputAmount(input.feeReturnedBefore, currency, 'feeReturnedBefore');
  const rounding = parseRounding(input.rounding, 'rounding', 'FEES.INVALID_INPUT');

  const refundable = paid.minus(refundedBefore);
  if (refundable.isNegative()) {
    throw new FeeError(
      'FEES.INVALID_INPUT',
      `refundedBefore ${refundedBefore.toString()} exceeds the payment's amount ${paid.toString()} ${currency}`,
    );
  }
  if (amount.greaterThan(refundable)) {
    throw new FeeError(
      'FEES.INVALID_INPUT',
      `over-refund: ${amount.toString()} ${currency} refunded but only ${refundable.toString()} of the payment's ${paid.toString()} is left (${refundedBefore.toString()} refunded before)`,
    );
  }
  const feeRemaining = fee.minus(feeReturnedBefore);
  if (feeRemaining.isNegative()) {
    throw new FeeError(
      'FEES.INVALID_INPUT',
      `feeReturnedBefore ${feeReturnedBefore.toString()} exceeds the payment's fee ${fee.toString()} ${currency}`,
    );
  }

  let feeReturned: Money;
  switch (input.policy) {
    case 'NONE':
      feeReturned = Money.zero(currency);
      break;
    case 'FULL':
      feeReturned = feeRemaining;
      break;
    case 'PRO_RATA':
      // paid > 0 here: amount > 0 and amount ≤ paid − refundedBefore.
      feeReturned = amount.equals(refundable)
        ? feeRemaining
        : Money.ofRounded(
            feeDecimalOf(fee).times(feeDecimalOf(amount)).div(feeDecimalOf(paid)),
            currency,
            rounding,
          );
      break;
    default:
      throw new FeeError('FEES.INVALID_INPUT', `policy: unknown refund fee policy ${String(input.policy)}`);
  }
  // Rounding up on early refunds could otherwise hand back more than is left for the later ones.
  if (feeReturned.greaterThan(feeRemaining)) feeReturned = feeRemaining;
  if (feeReturned.isNegative()) feeReturned = Money.zero(currency);

  let channelCostReturned = Money.zero(currency);
  if (input.channelFee != null) {
    const channelFee = inputAmount(input.channelFee, currency, 'channelFee', true);
    // A negative fee on a refund line is the channel giving its fee back; a positive one (a charge
    // for the refund itself) is not a return and is not this function's to book.
    if (channelFee.isNegative()) channelCostReturned = channelFee.negated();
  }

  const merchantDebit = amount.minus(feeReturned);
  invariant(
    !feeReturned.isNegative() && !feeReturned.greaterThan(feeRemaining),
    () => `refund fee ${feeReturned.toString()} outside [0, ${feeRemaining.toString()}]`,
  );
  invariant(
    merchantDebit.plus(feeReturned).equals(amount),
    'refund split: merchantDebit + feeReturned ≠ amount',
  );

  return {
    currency,
    amount: amount.toString(),
    feeReturned: feeReturned.toString(),
    merchantDebit: merchantDebit.toString(),
    channelCostReturned: channelCostReturned.toString(),
  };
}
