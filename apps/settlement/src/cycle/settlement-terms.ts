import { Money, MoneyDecimal, describeValue, minorUnitByCurrency, parseDecimalString } from '@app/contracts';
import type { Decimal } from 'decimal.js';
import { type IsoWeekday, isIsoWeekday } from '../calendar/calendar-date.js';
import { SettlementError } from './settlement-error.js';

/**
 * A merchant's settlement terms (结算条款): configuration, validated once when stored.
 *
 * - cycle: T_PLUS { days: N } (T+N, N in 1..T_PLUS_DAYS_MAX; T+1 is the default),
 *   WEEKLY { weekday } (ISO 1 = Monday … 7 = Sunday: the payout weekday in the week after the
 *   cycle's ISO week), MONTHLY { day } (1..31: the payout day in the month after the cycle's month,
 *   clamped to that month's last day). settlement-cycle.ts gives the exact rules.
 * - minimumPayout: a non-negative amount in `currency`; a cycle whose amount is below it (or not
 *   positive) pays nothing and carries the whole amount forward. Default 0: pay any positive amount.
 * - reserve (optional rolling reserve, 滚动保证金): `rate` of a cycle's positive net is held for
 *   `holdDays` calendar days, then released into the cycle that closes on or after the release day.
 *   rate is a decimal string strictly between 0 and 1 with at most RESERVE_RATE_MAX_FRACTION_DIGITS
 *   fraction digits; holdDays an integer 1..RESERVE_HOLD_DAYS_MAX.
 *
 * Objects are strict: a field the kind does not use (`{ kind: 'WEEKLY', day: 1 }`) is refused, since
 * it means someone misread the configuration.
 */

export const SETTLEMENT_CYCLE_KINDS = ['T_PLUS', 'WEEKLY', 'MONTHLY'] as const;
export type SettlementCycleKind = (typeof SETTLEMENT_CYCLE_KINDS)[number];

export type SettlementCycleRule =
  | { kind: 'T_PLUS'; days: number }
  | { kind: 'WEEKLY'; weekday: IsoWeekday }
  | { kind: 'MONTHLY'; day: number };

export interface ReserveRule {
  /** Decimal string in (0, 1), e.g. '0.10'. */
  rate: string;
  /** Calendar days a held amount stays held before release (rolled to a business day). */
  holdDays: number;
}

export interface SettlementTerms {
  currency: string;
  cycle: SettlementCycleRule;
  /** Non-negative decimal string in `currency`. */
  minimumPayout: string;
  reserve?: ReserveRule | null;
}

export const DEFAULT_SETTLEMENT_CYCLE: SettlementCycleRule = Object.freeze({ kind: 'T_PLUS', days: 1 });
/** T+30 is already a monthly cycle in disguise; beyond it is a typo. */
export const T_PLUS_DAYS_MAX = 30;
/** Card-scheme rolling reserves run 90–180 days; two years covers any contract seen. */
export const RESERVE_HOLD_DAYS_MAX = 730;
/** '0.125' or '0.0525' are real rates; more digits are noise, and bound the exact product's size. */
export const RESERVE_RATE_MAX_FRACTION_DIGITS = 6;

const FIELDS_OF_KIND: Readonly<Record<SettlementCycleKind, readonly string[]>> = {
  T_PLUS: ['kind', 'days'],
  WEEKLY: ['kind', 'weekday'],
  MONTHLY: ['kind', 'day'],
};
const RESERVE_FIELDS = ['rate', 'holdDays'];
const TERMS_FIELDS = ['currency', 'cycle', 'minimumPayout', 'reserve'];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

function invalid(field: string, why: string): SettlementError {
  return new SettlementError('SETTLEMENT.INVALID_TERMS', `settlement terms: ${field}: ${why}`);
}

function refuseUnknownFields(
  value: Record<string, unknown>,
  allowed: readonly string[],
  field: string,
): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw invalid(field === '' ? key : `${field}.${key}`, `unknown field; allowed: ${allowed.join(', ')}`);
    }
  }
}

/** @throws SettlementError SETTLEMENT.INVALID_TERMS */
export function validateCycleRule(rule: unknown, field = 'cycle'): asserts rule is SettlementCycleRule {
  if (!isPlainObject(rule)) throw invalid(field, `must be an object, got ${describeValue(rule)}`);
  const kind = rule.kind;
  if (typeof kind !== 'string' || !(SETTLEMENT_CYCLE_KINDS as readonly string[]).includes(kind)) {
    throw invalid(
      `${field}.kind`,
      `must be one of ${SETTLEMENT_CYCLE_KINDS.join(', ')}, got ${describeValue(kind)}`,
    );
  }
  refuseUnknownFields(rule, FIELDS_OF_KIND[kind as SettlementCycleKind], field);
  switch (kind as SettlementCycleKind) {
    case 'T_PLUS':
      if (!isIntegerIn(rule.days, 1, T_PLUS_DAYS_MAX)) {
        throw invalid(
          `${field}.days`,
          `must be an integer 1..${T_PLUS_DAYS_MAX}, got ${describeValue(rule.days)}`,
        );
      }
      return;
    case 'WEEKLY':
      if (!isIsoWeekday(rule.weekday)) {
        throw invalid(
          `${field}.weekday`,
          `must be an ISO weekday 1 (Monday)..7 (Sunday), got ${describeValue(rule.weekday)}`,
        );
      }
      return;
    case 'MONTHLY':
      if (!isIntegerIn(rule.day, 1, 31)) {
        throw invalid(`${field}.day`, `must be a day of the month 1..31, got ${describeValue(rule.day)}`);
      }
      return;
  }
}

/**
 * @returns the reserve rate, exact
 * @throws SettlementError SETTLEMENT.INVALID_TERMS
 */
export function validateReserveRule(rule: unknown, field = 'reserve'): Decimal {
  if (!isPlainObject(rule)) throw invalid(field, `must be an object, got ${describeValue(rule)}`);
  refuseUnknownFields(rule, RESERVE_FIELDS, field);
  let rate: Decimal;
  try {
    rate = parseDecimalString(rule.rate);
  } catch {
    throw invalid(`${field}.rate`, `must be a decimal string like "0.10", got ${describeValue(rule.rate)}`);
  }
  if (rate.lte(0) || rate.gte(1)) {
    throw invalid(`${field}.rate`, `must be strictly between 0 and 1, got ${rule.rate as string}`);
  }
  if (rate.decimalPlaces() > RESERVE_RATE_MAX_FRACTION_DIGITS) {
    throw invalid(
      `${field}.rate`,
      `has more than ${RESERVE_RATE_MAX_FRACTION_DIGITS} fraction digits: ${rule.rate as string}`,
    );
  }
  if (!isIntegerIn(rule.holdDays, 1, RESERVE_HOLD_DAYS_MAX)) {
    throw invalid(
      `${field}.holdDays`,
      `must be an integer 1..${RESERVE_HOLD_DAYS_MAX} (calendar days), got ${describeValue(rule.holdDays)}`,
    );
  }
  return new MoneyDecimal(rate);
}

/** @throws SettlementError SETTLEMENT.INVALID_TERMS */
export function validateSettlementTerms(terms: unknown): asserts terms is SettlementTerms {
  if (!isPlainObject(terms)) throw invalid('terms', `must be an object, got ${describeValue(terms)}`);
  refuseUnknownFields(terms, TERMS_FIELDS, '');
  const currency = terms.currency;
  if (typeof currency !== 'string' || minorUnitByCurrency(currency) === undefined) {
    throw invalid('currency', `${describeValue(currency)} is not an ISO 4217 currency code`);
  }
  validateCycleRule(terms.cycle);
  const error = Money.validate(terms.minimumPayout, currency);
  if (error !== undefined) throw invalid('minimumPayout', error.message);
  if (terms.reserve != null) validateReserveRule(terms.reserve);
}

/**
 * Terms with the defaults filled in (cycle T+1, minimum payout 0, no reserve), validated, with the
 * minimum payout at the currency's scale ('50' CNY → '50.00').
 * @throws SettlementError SETTLEMENT.INVALID_TERMS
 */
export function settlementTerms(input: {
  currency: string;
  cycle?: SettlementCycleRule;
  minimumPayout?: string;
  reserve?: ReserveRule | null;
}): SettlementTerms {
  if (!isPlainObject(input)) throw invalid('terms', `must be an object, got ${describeValue(input)}`);
  refuseUnknownFields(input, TERMS_FIELDS, '');
  const terms: SettlementTerms = {
    currency: input.currency,
    cycle: input.cycle ?? DEFAULT_SETTLEMENT_CYCLE,
    minimumPayout: input.minimumPayout ?? '0',
  };
  if (input.reserve != null) terms.reserve = input.reserve;
  validateSettlementTerms(terms);
  terms.minimumPayout = Money.parse(terms.minimumPayout, terms.currency).toString();
  return terms;
}
