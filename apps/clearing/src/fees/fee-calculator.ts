import type { Decimal } from 'decimal.js';
import { Money, invariant } from '@app/contracts';
import { FeeError, type FeeFormula } from './fee.types.js';
import { FeeDecimal, feeDecimalOf, parseAmount, parseRate, parseRounding } from './fee-values.js';

interface FeeTerms {
  rate: Decimal;
  fixed: Money;
}

/** Rate and fixed part the formula gives for this base; for TIERED, the tier the whole base falls in. */
function termsOf(formula: FeeFormula, base: Money): FeeTerms {
  const currency = base.currency;
  const zero = new FeeDecimal(0);
  const rateOf = (value: unknown, field: string) => parseRate(value, field, 'FEES.INVALID_RULE');
  const fixedOf = (value: unknown, field: string) => parseAmount(value, currency, field, 'FEES.INVALID_RULE');
  switch (formula.kind) {
    case 'PERCENTAGE':
      return { rate: rateOf(formula.rate, 'formula.rate'), fixed: Money.zero(currency) };
    case 'FIXED':
      return { rate: zero, fixed: fixedOf(formula.fixed, 'formula.fixed') };
    case 'PERCENTAGE_PLUS_FIXED':
      return {
        rate: rateOf(formula.rate, 'formula.rate'),
        fixed: fixedOf(formula.fixed, 'formula.fixed'),
      };
    case 'TIERED': {
      const tiers = formula.tiers ?? [];
      for (const [i, tier] of tiers.entries()) {
        // upTo is inclusive: an order of exactly upTo belongs to this tier, not the next.
        if (tier.upTo === null || !base.greaterThan(fixedOf(tier.upTo, `formula.tiers[${i}].upTo`))) {
          return {
            rate: rateOf(tier.rate, `formula.tiers[${i}].rate`),
            fixed: fixedOf(tier.fixed, `formula.tiers[${i}].fixed`),
          };
        }
      }
      throw new FeeError(
        'FEES.INVALID_RULE',
        `formula.tiers: no tier covers ${base.toString()} ${currency} (the last tier's upTo must be null)`,
      );
    }
    default:
      throw new FeeError('FEES.INVALID_RULE', `formula.kind: unknown fee kind ${String(formula.kind)}`);
  }
}

/**
 * The platform fee a formula charges on `base` (the order value).
 *
 * - The percentage part is rounded ONCE to the currency's minor unit with `formula.rounding`
 *   (default HALF_UP); the fixed part is already at that scale and is added after, so the fee is
 *   never rounded twice.
 * - Then clamped to [min, max] (after rounding, so the bounds are exact figures).
 * - Then clamped to the base: a merchant can never owe more than the sale on one item, whatever a
 *   minimum fee says; otherwise a 0.30 sale under a 1.00 minimum would leave the merchant owing the
 *   platform money for having sold something, and the split could not be non-negative.
 * - Never negative: rates, fixed parts and bounds are all ≥ 0.
 * @throws FeeError FEES.INVALID_INPUT (negative base) | FEES.INVALID_RULE (a formula field is broken)
 */
export function computeFee(formula: FeeFormula, base: Money): Money {
  if (base.isNegative()) {
    throw new FeeError(
      'FEES.INVALID_INPUT',
      `fee base ${base.toString()} ${base.currency} is negative; a fee is charged on an order value ≥ 0`,
    );
  }
  const currency = base.currency;
  const rounding = parseRounding(formula.rounding, 'formula.rounding', 'FEES.INVALID_RULE');
  const { rate, fixed } = termsOf(formula, base);
  const min =
    formula.min == null ? undefined : parseAmount(formula.min, currency, 'formula.min', 'FEES.INVALID_RULE');
  const max =
    formula.max == null ? undefined : parseAmount(formula.max, currency, 'formula.max', 'FEES.INVALID_RULE');
  if (min !== undefined && max !== undefined && min.greaterThan(max)) {
    throw new FeeError(
      'FEES.INVALID_RULE',
      `formula.min: ${formula.min} is above formula.max ${formula.max}`,
    );
  }

  const percentage = Money.ofRounded(feeDecimalOf(base).times(rate), currency, rounding);
  let fee = percentage.plus(fixed);
  if (min !== undefined && fee.lessThan(min)) fee = min;
  if (max !== undefined && fee.greaterThan(max)) fee = max;
  if (fee.greaterThan(base)) fee = base;

  invariant(
    !fee.isNegative() && !fee.greaterThan(base),
    () => `fee ${fee.toString()} outside [0, ${base.toString()}] ${currency}`,
  );
  return fee;
}
