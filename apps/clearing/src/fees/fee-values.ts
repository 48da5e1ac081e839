import { Decimal } from 'decimal.js';
import {
  DECIMAL_STRING_MAX_LENGTH,
  Money,
  MoneyError,
  type MoneyParseOptions,
  MONEY_MAX_INTEGER_DIGITS,
  type RoundingMode,
  TimeError,
  describeValue,
  invariant,
  isoInstantToEpochMillis,
  parseDecimalString,
} from '@app/contracts';
import { FeeError, type FeeErrorCode } from './fee.types.js';

/**
 * Parsers shared by rule validation, the calculator and the split: each turns a wire string into
 * a value or throws a FeeError naming the field, so an operator reading the error knows which cell
 * of which rule (or which field of which input) to fix.
 */

/** A Record, so adding a mode to RoundingMode without listing it here fails to compile. */
const ROUNDING_MODE_SET: Record<RoundingMode, true> = {
  HALF_UP: true,
  HALF_EVEN: true,
  HALF_DOWN: true,
  UP: true,
  DOWN: true,
  CEIL: true,
  FLOOR: true,
};
export const ROUNDING_MODES = Object.freeze(Object.keys(ROUNDING_MODE_SET) as RoundingMode[]);

/** What a formula, a channel cost rate or a refund uses when it names no rounding. */
export const DEFAULT_FEE_ROUNDING: RoundingMode = 'HALF_UP';

/**
 * Fee arithmetic (amount × rate, fee × refund / amount) runs at a precision where the one rounding
 * to the minor unit is the only rounding: an amount has ≤ MONEY_MAX_INTEGER_DIGITS + 4 significant
 * digits and a rate ≤ DECIMAL_STRING_MAX_LENGTH, so their product is exact below 100 digits. A
 * quotient that does not terminate is a fraction with a denominator below 10^34 minor units, so it
 * sits at least 10^-34 units away from any rounding boundary, far above the 10^-60 that
 * truncating at 100 digits can move it.
 */
export const FEE_DECIMAL_PRECISION = 100;
invariant(
  MONEY_MAX_INTEGER_DIGITS + 4 + DECIMAL_STRING_MAX_LENGTH < FEE_DECIMAL_PRECISION,
  'FEE_DECIMAL_PRECISION no longer covers an amount × rate exactly',
);

export const FeeDecimal = Decimal.clone({
  precision: FEE_DECIMAL_PRECISION,
  rounding: Decimal.ROUND_HALF_UP,
  toExpNeg: -FEE_DECIMAL_PRECISION,
  toExpPos: FEE_DECIMAL_PRECISION,
});

export function feeDecimalOf(money: Money): Decimal {
  return new FeeDecimal(money.toDecimal());
}

/**
 * A rate: a plain decimal string in [0, 1) ('0.006' = 0.6%). A rate of 1 or more would take the
 * whole sale or more, which is never a fee; it is almost always a percentage typed as one ('6' for 6%).
 */
export function parseRate(value: unknown, field: string, code: FeeErrorCode): Decimal {
  let rate: Decimal;
  try {
    rate = parseDecimalString(value);
  } catch (error) {
    if (error instanceof MoneyError) throw new FeeError(code, `${field}: ${error.message}`);
    throw error;
  }
  // The sign is judged on the literal: '-0' is a negative spelling even though its value is 0.
  if ((value as string).startsWith('-') || rate.greaterThanOrEqualTo(1)) {
    throw new FeeError(
      code,
      `${field}: ${describeValue(value)} is not a rate in [0, 1) (a rate is a fraction: 0.6% is "0.006")`,
    );
  }
  return new FeeDecimal(rate);
}

/** An amount at the currency's minor unit ("0.50" CNY, "1" JPY, "0.125" BHD), ≥ 0 unless allowed. */
export function parseAmount(
  value: unknown,
  currency: string,
  field: string,
  code: FeeErrorCode,
  opts?: MoneyParseOptions,
): Money {
  const error = Money.validate(value, currency, opts);
  if (error !== undefined) throw new FeeError(code, `${field}: ${error.message} (${currency})`);
  return Money.parse(value, currency, opts);
}

export function parseRounding(value: unknown, field: string, code: FeeErrorCode): RoundingMode {
  if (value == null) return DEFAULT_FEE_ROUNDING;
  if (typeof value !== 'string' || !Object.hasOwn(ROUNDING_MODE_SET, value)) {
    throw new FeeError(
      code,
      `${field}: must be one of ${ROUNDING_MODES.join(', ')}, got ${describeValue(value)}`,
    );
  }
  return value as RoundingMode;
}

/** Epoch milliseconds of an ISO instant with an offset, so instants in any offset compare rightly. */
export function parseInstant(value: unknown, field: string, code: FeeErrorCode): number {
  try {
    return isoInstantToEpochMillis(value);
  } catch (error) {
    if (error instanceof TimeError) throw new FeeError(code, `${field}: ${error.message}`);
    throw error;
  }
}
