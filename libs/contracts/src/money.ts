import { Decimal } from 'decimal.js';
import {
  type CurrencyCode,
  type MinorUnit,
  minorUnitByCurrency,
  minorUnitOf,
  unknownCurrencyError,
} from './currency.js';
import { InvariantError, MoneyError, describeValue, invariant } from './errors.js';

/**
 * The one Decimal configuration money arithmetic uses. 40 significant digits is far more than any
 * amount needs; together with MONEY_MAX_INTEGER_DIGITS it guarantees that plus/minus of two Money
 * values never rounds (30 integer digits + 4 fraction digits + 1 carry digit < 40).
 * toExpNeg/toExpPos keep `Decimal#toString()` free of exponents for every value Money can hold.
 */
export const MoneyDecimal = Decimal.clone({
  precision: 40,
  rounding: Decimal.ROUND_HALF_UP,
  toExpNeg: -40,
  toExpPos: 40,
});

/**
 * |value| < 10^30: what a Money can hold, and so the bound on every SUM the engine computes (a day,
 * a cycle, a merchant's balance, the whole book). It keeps Money arithmetic exact (see MoneyDecimal).
 * No single amount from outside comes near it: see AMOUNT_MAX_MINOR_UNITS.
 */
export const MONEY_MAX_INTEGER_DIGITS = 30;

/**
 * The largest amount one item may carry from outside (an event, a statement line, an API body),
 * counted in minor units so it is the same bound for every currency exponent: 15 digits, 10^15 − 1
 * (CNY 9999999999999.99, JPY 999999999999999, BHD 999999999999.999, CLF 99999999999.9999).
 * Chosen so every representation an amount passes through stays exact (ADR 005, "Amounts have a
 * documented bound"):
 * - the matcher and the statement reader count one amount in a JS number of minor units, exact
 *   below 2^53 ≈ 9.007 × 10^15; a difference of two amounts (fee − fee difference) stays below it;
 * - a sum of N amounts stays below MONEY_MAX_INTEGER_DIGITS (10^30 major units ≥ 10^30 minor) while
 *   N < 10^15: the whole book over 100 years of 10^9 items a day, each item's value debited at most
 *   10 times, every item at the bound, is 3.66 × 10^14 bounded debits (exponent 0, the tightest;
 *   exponent 2 has 100× more room);
 * - SQL `numeric` and bigint minor units hold either without loss.
 */
export const AMOUNT_MAX_DIGITS = 15;
/** 10^AMOUNT_MAX_DIGITS − 1: an amount has at most 15 − exponent integer digits. */
export const AMOUNT_MAX_MINOR_UNITS = 10n ** BigInt(AMOUNT_MAX_DIGITS) - 1n;
// The two figures the bound exists for (ADR 005): a difference of two amounts is an exact JS
// number of minor units, and 10^15 of them sum within what Money holds at exponent 0.
invariant(2n * AMOUNT_MAX_MINOR_UNITS < 2n ** 53n, 'AMOUNT_MAX_MINOR_UNITS no longer fits a float64 exactly');
invariant(
  AMOUNT_MAX_MINOR_UNITS * 10n ** 15n < 10n ** BigInt(MONEY_MAX_INTEGER_DIGITS),
  'AMOUNT_MAX_MINOR_UNITS leaves Money no room for 10^15 summands',
);

/** The bound as an amount of `currency`, in its canonical text: "9999999999999.99" for CNY. */
export function amountMaxOf(currency: string): string {
  const unit = minorUnitOf(currency);
  const nines = '9'.repeat(AMOUNT_MAX_DIGITS - unit);
  return unit === 0 ? nines : `${nines}.${'9'.repeat(unit)}`;
}

/** Bounds the work done on untrusted input before the regex runs. */
export const DECIMAL_STRING_MAX_LENGTH = 64;

/**
 * The wire format of a decimal: no exponent, no leading '+', no spaces, no leading zeros, no bare '.'.
 * One spelling per value (apart from trailing fraction zeros), so strings compare and hash sanely.
 */
export const DECIMAL_STRING_PATTERN = '^-?(0|[1-9]\\d*)(\\.\\d+)?$';
/** The same without a sign: what JSON Schemas publish for amounts that cannot be negative. */
export const UNSIGNED_DECIMAL_STRING_PATTERN = '^(0|[1-9]\\d*)(\\.\\d+)?$';

const DECIMAL_STRING_RE = new RegExp(DECIMAL_STRING_PATTERN);
const ALL_ZEROS_RE = /^-?0(\.0+)?$/;
const ZERO = new MoneyDecimal(0);
const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

export type RoundingMode = 'HALF_UP' | 'HALF_EVEN' | 'HALF_DOWN' | 'UP' | 'DOWN' | 'CEIL' | 'FLOOR';

const ROUNDING: Record<RoundingMode, Decimal.Rounding> = {
  HALF_UP: Decimal.ROUND_HALF_UP,
  HALF_EVEN: Decimal.ROUND_HALF_EVEN,
  HALF_DOWN: Decimal.ROUND_HALF_DOWN,
  UP: Decimal.ROUND_UP,
  DOWN: Decimal.ROUND_DOWN,
  CEIL: Decimal.ROUND_CEIL,
  FLOOR: Decimal.ROUND_FLOOR,
};

export interface MoneyParseOptions {
  /** Default false: most wire amounts are magnitudes and the event type carries the direction. */
  allowNegative?: boolean;
  /** Default true: a zero fee or coupon share is legitimate; say `false` where zero is meaningless. */
  allowZero?: boolean;
  /**
   * Default false: the figure is one item's amount and must be within AMOUNT_MAX_MINOR_UNITS.
   * `true` for a figure that is a sum the engine computed (a file's control total, a cycle's
   * payout, a ledger posting): bounded only by what Money holds (MONEY_MAX_INTEGER_DIGITS).
   */
  sum?: boolean;
}

function digits(count: number): string {
  return count === 1 ? '1 fraction digit' : `${count} fraction digits`;
}

function notAString(value: unknown): MoneyError {
  const got = typeof value === 'number' ? `a JSON number (${describeValue(value)})` : describeValue(value);
  return new MoneyError('MONEY.NOT_A_STRING', `must be a decimal string, got ${got}`);
}

function syntaxError(value: string): MoneyError | undefined {
  if (value.length > DECIMAL_STRING_MAX_LENGTH) {
    return new MoneyError(
      'MONEY.MALFORMED',
      `${describeValue(value)} is ${value.length} characters long; a decimal string has at most ${DECIMAL_STRING_MAX_LENGTH}`,
    );
  }
  if (!DECIMAL_STRING_RE.test(value)) {
    return new MoneyError(
      'MONEY.MALFORMED',
      `${describeValue(value)} is not a plain decimal string (digits with an optional '-' and '.'; no exponent, '+', spaces or leading zeros)`,
    );
  }
  return undefined;
}

function amountTooLarge(amount: string, currency: string): MoneyError {
  return new MoneyError(
    'MONEY.TOO_LARGE',
    `${describeValue(amount)} exceeds the largest amount one item may carry (${amountMaxOf(currency)} ${currency}, ${AMOUNT_MAX_DIGITS} digits in minor units)`,
  );
}

/**
 * MONEY.TOO_LARGE when a value the engine derived from one item's amounts (an order value =
 * amount + coupon) is beyond AMOUNT_MAX_MINOR_UNITS; for cross-field rules, where each part is
 * within the bound but their sum must be too.
 */
export function amountBoundError(money: Money): MoneyError | undefined {
  const units = money.toMinorUnits();
  return (units < 0n ? -units : units) > AMOUNT_MAX_MINOR_UNITS
    ? amountTooLarge(money.toString(), money.currency)
    : undefined;
}

/**
 * Parses an untrusted plain decimal without a currency (rates, percentages, raw statement cells).
 * @throws MoneyError MONEY.NOT_A_STRING | MONEY.MALFORMED
 */
export function parseDecimalString(value: unknown): Decimal {
  if (typeof value !== 'string') throw notAString(value);
  const error = syntaxError(value);
  if (error !== undefined) throw error;
  return new MoneyDecimal(value);
}

/**
 * An amount of one currency, always exactly representable in that currency's minor unit.
 * Immutable; arithmetic across currencies is a programmer error and throws InvariantError.
 */
export class Money {
  /**
   * The canonical text, rendered once: amounts are written to COPY rows, hashes and events several
   * times each, and Decimal#toFixed is the costliest thing Money does. A private field is not a
   * property, so Object.freeze leaves it writable while the value itself stays frozen.
   */
  #text: string | undefined;

  private constructor(
    private readonly value: Decimal,
    readonly currency: CurrencyCode,
    readonly minorUnit: MinorUnit,
  ) {
    // Pair assertion: every factory checks scale before calling; a breach here is our bug.
    invariant(
      value.isFinite() && value.decimalPlaces() <= minorUnit,
      () => `Money invariant broken: ${value.toString()} ${currency}`,
    );
    Object.freeze(this);
  }

  /** Every path into a Money instance ends here, so the magnitude bound cannot be bypassed. */
  private static create(value: Decimal, currency: CurrencyCode, minorUnit: MinorUnit): Money {
    if (value.isZero()) return new Money(ZERO, currency, minorUnit); // no "-0.00" ever escapes
    if (value.e >= MONEY_MAX_INTEGER_DIGITS) {
      throw new MoneyError(
        'MONEY.TOO_LARGE',
        `${value.toFixed()} ${currency} exceeds the largest supported amount (${MONEY_MAX_INTEGER_DIGITS} integer digits)`,
      );
    }
    return new Money(value, currency, minorUnit);
  }

  private static currencyOf(currency: string): [CurrencyCode, MinorUnit] {
    const unit = minorUnitOf(currency);
    return [currency as CurrencyCode, unit];
  }

  /**
   * Parses an amount from the wire (event, API body, statement cell). Accepts only a JSON string in
   * plain decimal form with at most the currency's minor-unit fraction digits; "1.10" is fine for
   * CNY, "1.100" is not — the literal is judged, not just its value, so a publisher sending the
   * wrong scale is told rather than silently accepted.
   * @throws MoneyError with a code naming the rule that failed and a message naming the value
   */
  static parse(amount: unknown, currency: string, opts?: MoneyParseOptions): Money {
    const error = Money.validate(amount, currency, opts);
    if (error !== undefined) throw error;
    const [code, unit] = Money.currencyOf(currency);
    const money = Money.create(new MoneyDecimal(amount as string), code, unit);
    // A literal already at the currency's scale is the canonical text (validate ruled out
    // exponents, leading zeros and '+'); zero is left to toFixed, which never says "-0.00".
    const text = amount as string;
    const dot = text.indexOf('.');
    if ((dot === -1 ? 0 : text.length - dot - 1) === unit && !money.isZero()) money.#text = text;
    return money;
  }

  /**
   * The rules of `parse` without building anything: for validators on the ingest path, where an
   * event is checked per message and the Money itself is not needed yet.
   */
  static validate(amount: unknown, currency: string, opts?: MoneyParseOptions): MoneyError | undefined {
    const unit = minorUnitByCurrency(currency);
    if (unit === undefined) return unknownCurrencyError(currency);
    if (typeof amount !== 'string') return notAString(amount);
    const syntax = syntaxError(amount);
    if (syntax !== undefined) return syntax;
    const dot = amount.indexOf('.');
    const fractionDigits = dot === -1 ? 0 : amount.length - dot - 1;
    if (fractionDigits > unit) {
      return new MoneyError(
        'MONEY.TOO_PRECISE',
        `${describeValue(amount)} has ${digits(fractionDigits)}; ${currency} allows at most ${unit}`,
      );
    }
    const negative = amount.charCodeAt(0) === 45; /* '-' */
    const integerDigits = (dot === -1 ? amount.length : dot) - (negative ? 1 : 0);
    if (opts?.sum === true) {
      if (integerDigits > MONEY_MAX_INTEGER_DIGITS) {
        return new MoneyError(
          'MONEY.TOO_LARGE',
          `${describeValue(amount)} exceeds the largest supported amount (${MONEY_MAX_INTEGER_DIGITS} integer digits)`,
        );
      }
    } else if (integerDigits > AMOUNT_MAX_DIGITS - unit) {
      // No leading zeros (the pattern), so more integer digits than the bound's is a larger value.
      return amountTooLarge(amount, currency);
    }
    // The pattern allows no leading zeros, so the value is zero exactly when every digit is '0'.
    if (ALL_ZEROS_RE.test(amount)) {
      if (opts?.allowZero === false) {
        return new MoneyError(
          'MONEY.ZERO',
          `${describeValue(amount)} is zero; a non-zero amount is required`,
        );
      }
    } else if (negative && opts?.allowNegative !== true) {
      return new MoneyError(
        'MONEY.NEGATIVE',
        `${describeValue(amount)} is negative; a non-negative amount is required`,
      );
    }
    return undefined;
  }

  /**
   * For trusted values (our own computations, database numerics). Judges the value, not the
   * literal: Postgres may hand back "12.3000" for a numeric column and that is still 12.30 CNY.
   * Never rounds: a value finer than the minor unit is an error; use `ofRounded` to round on purpose.
   * @throws MoneyError MONEY.MALFORMED | MONEY.TOO_PRECISE | MONEY.TOO_LARGE | MONEY.UNKNOWN_CURRENCY
   */
  static of(value: Decimal | string, currency: string): Money {
    const [code, unit] = Money.currencyOf(currency);
    let decimal: Decimal;
    if (typeof value === 'string') {
      decimal = parseDecimalString(value);
    } else if (Decimal.isDecimal(value)) {
      if (!value.isFinite()) {
        throw new MoneyError('MONEY.MALFORMED', `${value.toString()} is not a finite amount`);
      }
      decimal = new MoneyDecimal(value);
    } else {
      // The type says string or Decimal; a JS number here means a caller bypassed the types.
      throw new InvariantError(`Money.of needs a string or Decimal, got ${describeValue(value)}`);
    }
    if (decimal.decimalPlaces() > unit) {
      throw new MoneyError(
        'MONEY.TOO_PRECISE',
        `${decimal.toFixed()} has ${digits(decimal.decimalPlaces())}; ${code} allows at most ${unit}`,
      );
    }
    return Money.create(decimal, code, unit);
  }

  /** Rounds to the currency's minor unit with an explicit rule: shares, fees, FX results. */
  static ofRounded(value: Decimal | string, currency: string, rounding: RoundingMode): Money {
    const [code, unit] = Money.currencyOf(currency);
    const decimal = typeof value === 'string' ? parseDecimalString(value) : new MoneyDecimal(value);
    if (!decimal.isFinite()) {
      throw new MoneyError('MONEY.MALFORMED', `${decimal.toString()} is not a finite amount`);
    }
    return Money.create(decimal.toDecimalPlaces(unit, ROUNDING[rounding]), code, unit);
  }

  static zero(currency: string): Money {
    const [code, unit] = Money.currencyOf(currency);
    return new Money(ZERO, code, unit);
  }

  /** Exact for any bigint: the decimal point is placed in the digit string, no division happens. */
  static fromMinorUnits(units: bigint, currency: string): Money {
    invariant(typeof units === 'bigint', () => `fromMinorUnits needs a bigint, got ${describeValue(units)}`);
    const [code, unit] = Money.currencyOf(currency);
    const negative = units < 0n;
    const digits = (negative ? -units : units).toString().padStart(unit + 1, '0');
    const split = digits.length - unit;
    const text = unit === 0 ? digits : `${digits.slice(0, split)}.${digits.slice(split)}`;
    return Money.create(new MoneyDecimal(negative ? `-${text}` : text), code, unit);
  }

  static isMoney(value: unknown): value is Money {
    return value instanceof Money;
  }

  private sameCurrency(other: Money, operation: string): void {
    if (!(other instanceof Money)) {
      throw new InvariantError(`${operation} needs a Money, got ${describeValue(other)}`);
    }
    if (other.currency !== this.currency) {
      throw new InvariantError(`currency mismatch in ${operation}: ${this.currency} vs ${other.currency}`);
    }
  }

  plus(other: Money): Money {
    this.sameCurrency(other, 'plus');
    return Money.create(this.value.plus(other.value), this.currency, this.minorUnit);
  }

  minus(other: Money): Money {
    this.sameCurrency(other, 'minus');
    return Money.create(this.value.minus(other.value), this.currency, this.minorUnit);
  }

  negated(): Money {
    return Money.create(this.value.negated(), this.currency, this.minorUnit);
  }

  abs(): Money {
    return this.value.isNegative() ? this.negated() : this;
  }

  isZero(): boolean {
    return this.value.isZero();
  }

  isNegative(): boolean {
    return this.value.isNegative() && !this.value.isZero();
  }

  isPositive(): boolean {
    return this.value.isPositive() && !this.value.isZero();
  }

  compare(other: Money): -1 | 0 | 1 {
    this.sameCurrency(other, 'compare');
    return this.value.comparedTo(other.value) as -1 | 0 | 1;
  }

  equals(other: Money): boolean {
    return this.compare(other) === 0;
  }

  lessThan(other: Money): boolean {
    return this.compare(other) < 0;
  }

  greaterThan(other: Money): boolean {
    return this.compare(other) > 0;
  }

  /** Fixed scale at the currency's minor unit, never an exponent: "100.00", JPY "100", BHD "1.000". */
  toString(): string {
    return (this.#text ??= this.value.toFixed(this.minorUnit));
  }

  /** The wire form. Currency travels beside the amount, as in every contract. */
  toJSON(): string {
    return this.toString();
  }

  /** A MoneyDecimal copy: rates and shares are computed on it, then brought back with `ofRounded`. */
  toDecimal(): Decimal {
    return new MoneyDecimal(this.value);
  }

  /** Exact integer count of minor units (fen, cents, fils): for bigint columns and channel APIs. */
  toMinorUnits(): bigint {
    return BigInt(this.toString().replace('.', ''));
  }

  /**
   * `money > other`, `money * 2` and `+money` would silently go through a float; only string
   * contexts (template literals, String()) are allowed to coerce.
   */
  [Symbol.toPrimitive](hint: 'number' | 'string' | 'default'): string {
    if (hint === 'string') return this.toString();
    throw new InvariantError(
      `Money (${this.toString()} ${this.currency}) cannot be coerced to a ${hint === 'number' ? 'number' : 'primitive'}; use compare/plus/toString`,
    );
  }

  [inspectSymbol](): string {
    return `Money(${this.toString()} ${this.currency})`;
  }
}

/** An amount as integer minor units together with its canonical text (what Money#toString gives). */
export interface MinorUnitAmount {
  units: bigint;
  text: string;
}

/**
 * The rules of `Money.parse`, answered in integer minor units: for hot paths (the ledger's posting
 * path) that only add, compare and print amounts, where a Decimal per amount is most of the cost.
 * Money stays the reference: a property test holds the two to the same answers and errors.
 * @throws MoneyError exactly as `Money.parse` would
 */
export function parseMinorUnits(
  amount: unknown,
  currency: string,
  opts?: MoneyParseOptions,
): MinorUnitAmount {
  const error = Money.validate(amount, currency, opts);
  if (error !== undefined) throw error;
  const text = amount as string;
  const unit = minorUnitOf(currency);
  const dot = text.indexOf('.');
  const fraction = dot === -1 ? 0 : text.length - dot - 1;
  // validate ruled out exponents, '+', spaces and a scale finer than the minor unit, so the digits
  // with the point taken out and zeros padded to the scale are the count of minor units.
  const units = BigInt(
    (dot === -1 ? text : text.slice(0, dot) + text.slice(dot + 1)) + ZERO_PADDING[unit - fraction]!,
  );
  // A literal already at the currency's scale is canonical, as in Money.parse; zero never is
  // ("-0.00", "0" → "0.00").
  return { units, text: fraction === unit && units !== 0n ? text : formatMinorUnits(units, currency) };
}

/** Canonical text of a count of minor units: `Money.fromMinorUnits(units, currency).toString()`, without a Decimal. */
export function formatMinorUnits(units: bigint, currency: string): string {
  const unit = minorUnitOf(currency);
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(unit + 1, '0');
  const split = digits.length - unit;
  const text = unit === 0 ? digits : `${digits.slice(0, split)}.${digits.slice(split)}`;
  return negative ? `-${text}` : text;
}

const ZERO_PADDING = ['', '0', '00', '000', '0000'];
