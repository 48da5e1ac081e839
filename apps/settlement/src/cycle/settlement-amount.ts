import { Money, MoneyError, describeValue, invariant, minorUnitByCurrency } from '@app/contracts';
import type { BusinessCalendar } from '../calendar/business-calendar.js';
import { CalendarError } from '../calendar/calendar-error.js';
import { addCalendarDays, toEpochDay } from '../calendar/calendar-date.js';
import { SettlementError } from './settlement-error.js';
import { RESERVE_HOLD_DAYS_MAX, type ReserveRule, validateReserveRule } from './settlement-terms.js';

/**
 * What a settlement record pays (结算金额), exactly, in the terms' currency.
 *
 *   itemsNet     = Σ net of the cycle's cleared items (signed: a refund's net is negative)
 *   reserveHeld  = rate × itemsNet rounded HALF_UP to the minor unit when a reserve is configured
 *                  and itemsNet > 0; otherwise 0. Only this cycle's items are reserved, never the
 *                  amount carried in, so nothing is reserved twice.
 *   amount       = itemsNet + carriedForward − reserveHeld + reserveReleased
 *   amount ≥ minimumPayout and amount > 0  → payable = amount, carryForward = 0
 *   otherwise (below the minimum, zero, or negative) → payable = 0, carryForward = amount:
 *                  a small balance waits for the next cycle, a negative one (refunds exceeding
 *                  sales) is recovered from the next cycles, never paid and never dropped.
 *
 * Checked on every call: payable + carryForward = itemsNet + carriedForward − reserveHeld +
 * reserveReleased; payable is 0 or ≥ minimumPayout. Over a run of cycles that telescopes to
 * Σ payable + last carryForward + reserves still held = Σ every item's net.
 *
 * Rolling reserve schedule: an amount held by a cycle is held from that cycle's closesOn and is
 * released on reserveReleaseDate(closesOn, holdDays) — holdDays calendar days later, rolled forward
 * to a business day — by the first cycle that closes on or after that day (releasableReserves).
 */

export interface SettlementAmountInput {
  currency: string;
  /** Signed nets of the cycle's cleared items. */
  items: readonly { net: string }[];
  /** Signed carry-forward of the merchant's previous record ('0' for the first). */
  carriedForward: string;
  /** The merchant's reserve rule, if any. */
  reserve?: ReserveRule | null;
  /** Earlier holds released by this cycle, ≥ 0 (see releasableReserves). */
  reserveReleasedNow: string;
  /** ≥ 0, from the settlement terms. */
  minimumPayout: string;
}

/** Decimal strings at the currency's scale. */
export interface SettlementAmount {
  currency: string;
  itemsNet: string;
  carriedForward: string;
  reserveHeld: string;
  reserveReleased: string;
  /** itemsNet + carriedForward − reserveHeld + reserveReleased, before the minimum-payout rule. */
  amount: string;
  payable: string;
  carryForward: string;
}

function invalidInput(field: string, why: string): SettlementError {
  return new SettlementError('SETTLEMENT.INVALID_INPUT', `${field}: ${why}`);
}

function moneyOf(value: unknown, currency: string, field: string, sign: 'signed' | 'non-negative'): Money {
  if (typeof value !== 'string')
    throw invalidInput(field, `must be a decimal string, got ${describeValue(value)}`);
  let money: Money;
  try {
    // `of` judges the value, not the literal: a numeric column may hand back '12.3000'.
    money = Money.of(value, currency);
  } catch (error) {
    if (error instanceof MoneyError) throw invalidInput(field, error.message);
    throw error;
  }
  if (sign === 'non-negative' && money.isNegative())
    throw invalidInput(field, `must not be negative, got ${value}`);
  return money;
}

/**
 * @throws SettlementError SETTLEMENT.INVALID_INPUT for an unreadable amount or currency,
 *   SETTLEMENT.INVALID_TERMS for a bad reserve rule
 */
export function settlementAmount(input: SettlementAmountInput): SettlementAmount {
  const { currency } = input;
  if (typeof currency !== 'string' || minorUnitByCurrency(currency) === undefined) {
    throw invalidInput('currency', `${describeValue(currency)} is not an ISO 4217 currency code`);
  }
  if (!Array.isArray(input.items))
    throw invalidInput('items', `must be an array, got ${describeValue(input.items)}`);
  const rate = input.reserve == null ? undefined : validateReserveRule(input.reserve);
  const carriedForward = moneyOf(input.carriedForward, currency, 'carriedForward', 'signed');
  const reserveReleased = moneyOf(input.reserveReleasedNow, currency, 'reserveReleasedNow', 'non-negative');
  const minimumPayout = moneyOf(input.minimumPayout, currency, 'minimumPayout', 'non-negative');

  let itemsNet = Money.zero(currency);
  const items: readonly ({ net?: unknown } | null | undefined)[] = input.items;
  items.forEach((item, i) => {
    itemsNet = itemsNet.plus(moneyOf(item?.net, currency, `items[${i}].net`, 'signed'));
  });

  // Exact product (≤ 30 + 3 + 6 digits fits MoneyDecimal's 40), rounded once.
  const reserveHeld =
    rate !== undefined && itemsNet.isPositive()
      ? Money.ofRounded(itemsNet.toDecimal().times(rate), currency, 'HALF_UP')
      : Money.zero(currency);
  const amount = itemsNet.plus(carriedForward).minus(reserveHeld).plus(reserveReleased);
  const pays = amount.isPositive() && !amount.lessThan(minimumPayout);
  const payable = pays ? amount : Money.zero(currency);
  const carryForward = pays ? Money.zero(currency) : amount;

  invariant(
    payable.plus(carryForward).equals(itemsNet.plus(carriedForward).minus(reserveHeld).plus(reserveReleased)),
    () =>
      `settlement amount does not conserve: ${payable.toString()} + ${carryForward.toString()} ≠ ${amount.toString()}`,
  );
  invariant(
    payable.isZero() || (payable.isPositive() && !payable.lessThan(minimumPayout)),
    () => `payable ${payable.toString()} is neither 0 nor ≥ minimum ${minimumPayout.toString()}`,
  );
  invariant(
    !reserveHeld.isNegative() &&
      !reserveHeld.greaterThan(itemsNet.isPositive() ? itemsNet : Money.zero(currency)),
    () => `reserve held ${reserveHeld.toString()} is outside 0..${itemsNet.toString()}`,
  );

  return {
    currency,
    itemsNet: itemsNet.toString(),
    carriedForward: carriedForward.toString(),
    reserveHeld: reserveHeld.toString(),
    reserveReleased: reserveReleased.toString(),
    amount: amount.toString(),
    payable: payable.toString(),
    carryForward: carryForward.toString(),
  };
}

/**
 * The business day an amount held on `heldOn` (the holding cycle's closesOn) is released:
 * `holdDays` calendar days later, rolled forward to a business day.
 * @throws SettlementError SETTLEMENT.INVALID_INPUT
 */
export function reserveReleaseDate(heldOn: string, holdDays: number, calendar: BusinessCalendar): string {
  if (!Number.isInteger(holdDays) || holdDays < 1 || holdDays > RESERVE_HOLD_DAYS_MAX) {
    throw invalidInput(
      'holdDays',
      `must be an integer 1..${RESERVE_HOLD_DAYS_MAX}, got ${describeValue(holdDays)}`,
    );
  }
  try {
    return calendar.businessDayOnOrAfter(addCalendarDays(heldOn, holdDays, 'heldOn'));
  } catch (error) {
    if (error instanceof CalendarError) throw new SettlementError('SETTLEMENT.INVALID_INPUT', error.message);
    throw error;
  }
}

export interface ReserveHold {
  amount: string;
  releaseOn: string;
}

/**
 * Splits outstanding holds into those the cycle closing on `closesOn` releases (releaseOn ≤
 * closesOn) and those still held. Order is kept.
 * @throws SettlementError SETTLEMENT.INVALID_INPUT
 */
export function releasableReserves(
  holds: readonly ReserveHold[],
  closesOn: string,
  currency: string,
): { released: string; stillHeld: ReserveHold[] } {
  if (minorUnitByCurrency(currency) === undefined) {
    throw invalidInput('currency', `${describeValue(currency)} is not an ISO 4217 currency code`);
  }
  const dayOf = (date: string, field: string): number => {
    try {
      return toEpochDay(date, field);
    } catch (error) {
      if (error instanceof CalendarError)
        throw new SettlementError('SETTLEMENT.INVALID_INPUT', error.message);
      throw error;
    }
  };
  const closesOnDay = dayOf(closesOn, 'closesOn');
  let released = Money.zero(currency);
  const stillHeld: ReserveHold[] = [];
  holds.forEach((hold, i) => {
    const amount = moneyOf(hold.amount, currency, `holds[${i}].amount`, 'non-negative');
    if (dayOf(hold.releaseOn, `holds[${i}].releaseOn`) <= closesOnDay) released = released.plus(amount);
    else stillHeld.push(hold);
  });
  return { released: released.toString(), stillHeld };
}
