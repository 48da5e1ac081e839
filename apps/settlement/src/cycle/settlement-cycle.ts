import { describeValue } from '@app/contracts';
import { DateTime } from 'luxon';
import type { BusinessCalendar } from '../calendar/business-calendar.js';
import { CalendarError } from '../calendar/calendar-error.js';
import {
  type EpochDay,
  epochDayOfDateTime,
  fromEpochDay,
  toEpochDay,
  utcDateTimeOf,
  weekdayOfEpochDay,
} from '../calendar/calendar-date.js';
import { SettlementError } from './settlement-error.js';
import { type SettlementCycleRule, type SettlementTerms, validateCycleRule } from './settlement-terms.js';

/**
 * Settlement cycles (结算周期): which cycle a cleared item belongs to, when that cycle closes, and
 * when its payout is due.
 *
 * An item's business date (账期日) is the one clearing gave it (clearing.item-cleared.v1
 * `businessDate`); settlement never re-derives it. A cycle covers a contiguous run of business
 * dates [firstBusinessDate, lastBusinessDate], and consecutive cycles tile the calendar with no gap
 * and no overlap, so every date belongs to exactly one cycle. Business dates here are calendar
 * dates and may well be non-business days (工作日) of the merchant's calendar.
 *
 * T_PLUS { days: N } — key 'T+N:D', D a business day:
 *   the cycle of business day D holds D and the non-business days just before it (an item dated
 *   Saturday, Sunday or a holiday belongs to the next business day's cycle: "节假日交易视为下一工作日
 *   交易"). So first = the day after the previous business day, last = D, and the payout is due
 *   D + N business days. Friday → Monday; Saturday and Sunday → Monday's cycle → Tuesday.
 * WEEKLY { weekday: W } — key 'W:YYYY-Www' (ISO week):
 *   the cycle is one ISO week, Monday to Sunday, every date in it whatever the calendar says;
 *   the payout is due on weekday W of the following week, rolled forward to a business day.
 * MONTHLY { day: M } — key 'M:YYYY-MM':
 *   the cycle is one calendar month; the payout is due on day M of the following month (clamped to
 *   that month's last day: 31 → 28 February), rolled forward to a business day.
 *
 * closesOn = payoutDueOn for every kind: a cycle is closed on the business day its payout falls due
 * (the close creates the record, finance approves it, the payout is requested that same day). Not
 * closing earlier keeps the funds in merchant settleable (2203) until they are about to leave
 * rather than "in transit" (2204) for days, and gives items that clear late the longest chance to
 * make their natural cycle. Both are always business days and strictly after lastBusinessDate, so
 * every item of the cycle had at least one night to be reconciled before the close.
 *
 * Late items: an item whose natural cycle is already closed goes into the first cycle after it
 * that is not closed (cycleForLateItem); never a closed one, never an earlier one.
 *
 * Keys are stable for a given calendar and terms. A T+N key depends on the holiday table (it names
 * the business day); a changed table moves only cycles not yet closed — stored records keep theirs.
 */

export interface SettlementCycle {
  key: string;
  kind: SettlementCycleRule['kind'];
  /** First business date (账期日) whose items the cycle holds, inclusive. */
  firstBusinessDate: string;
  /** Last business date whose items the cycle holds, inclusive. */
  lastBusinessDate: string;
  /** The business day the cycle is closed and its record created. */
  closesOn: string;
  /** The business day the payout is due. */
  payoutDueOn: string;
}

/** A late item walks at most this many cycles (four years of T+1) before giving up loudly. */
export const LATE_ITEM_CYCLES_MAX = 1_000;

const T_PLUS_KEY_RE = /^T\+(\d{1,2}):(\d{4}-\d{2}-\d{2})$/;
const WEEKLY_KEY_RE = /^W:(\d{4})-W(\d{2})$/;
const MONTHLY_KEY_RE = /^M:(\d{4})-(\d{2})$/;

const pad2 = (n: number): string => String(n).padStart(2, '0');

function inputError(error: unknown): never {
  if (error instanceof CalendarError) throw new SettlementError('SETTLEMENT.INVALID_INPUT', error.message);
  throw error;
}

function tPlusCycle(anchor: string, days: number, calendar: BusinessCalendar): SettlementCycle {
  const payoutDueOn = calendar.addBusinessDays(anchor, days);
  return {
    key: `T+${days}:${anchor}`,
    kind: 'T_PLUS',
    firstBusinessDate: fromEpochDay(toEpochDay(calendar.previousBusinessDay(anchor)) + 1),
    lastBusinessDate: anchor,
    closesOn: payoutDueOn,
    payoutDueOn,
  };
}

function weeklyCycle(monday: EpochDay, weekday: number, calendar: BusinessCalendar): SettlementCycle {
  const week = utcDateTimeOf(monday);
  const payoutDueOn = calendar.businessDayOnOrAfter(fromEpochDay(monday + 7 + weekday - 1));
  return {
    key: `W:${week.weekYear}-W${pad2(week.weekNumber)}`,
    kind: 'WEEKLY',
    firstBusinessDate: fromEpochDay(monday),
    lastBusinessDate: fromEpochDay(monday + 6),
    closesOn: payoutDueOn,
    payoutDueOn,
  };
}

function monthlyCycle(
  firstOfMonth: DateTime<true>,
  day: number,
  calendar: BusinessCalendar,
): SettlementCycle {
  const next = firstOfMonth.plus({ months: 1 });
  const due = next.set({ day: Math.min(day, next.daysInMonth) });
  const payoutDueOn = calendar.businessDayOnOrAfter(fromEpochDay(epochDayOfDateTime(due)));
  return {
    key: `M:${firstOfMonth.year}-${pad2(firstOfMonth.month)}`,
    kind: 'MONTHLY',
    firstBusinessDate: fromEpochDay(epochDayOfDateTime(firstOfMonth)),
    lastBusinessDate: fromEpochDay(epochDayOfDateTime(next) - 1),
    closesOn: payoutDueOn,
    payoutDueOn,
  };
}

/**
 * The cycle a business date's items belong to under `terms` and `calendar`.
 * @throws SettlementError SETTLEMENT.INVALID_INPUT (bad date) | SETTLEMENT.INVALID_TERMS (bad cycle rule)
 */
export function cycleOf(
  businessDate: string,
  terms: Pick<SettlementTerms, 'cycle'>,
  calendar: BusinessCalendar,
): SettlementCycle {
  validateCycleRule(terms.cycle);
  const rule = terms.cycle;
  try {
    const day = toEpochDay(businessDate, 'businessDate');
    switch (rule.kind) {
      case 'T_PLUS':
        return tPlusCycle(calendar.businessDayOnOrAfter(businessDate), rule.days, calendar);
      case 'WEEKLY':
        return weeklyCycle(day - weekdayOfEpochDay(day) + 1, rule.weekday, calendar);
      case 'MONTHLY':
        return monthlyCycle(utcDateTimeOf(day).startOf('month'), rule.day, calendar);
    }
  } catch (error) {
    return inputError(error);
  }
}

function keyError(key: unknown, why: string): SettlementError {
  return new SettlementError('SETTLEMENT.INVALID_CYCLE_KEY', `cycle key ${describeValue(key)} ${why}`);
}

/**
 * The cycle a key names, under the same terms and calendar that produced it.
 * @throws SettlementError SETTLEMENT.INVALID_CYCLE_KEY
 */
export function cycleByKey(
  key: string,
  terms: Pick<SettlementTerms, 'cycle'>,
  calendar: BusinessCalendar,
): SettlementCycle {
  validateCycleRule(terms.cycle);
  const rule = terms.cycle;
  const text = typeof key === 'string' ? key : '';
  let cycle: SettlementCycle | undefined;
  try {
    switch (rule.kind) {
      case 'T_PLUS': {
        const m = T_PLUS_KEY_RE.exec(text);
        if (m === null || Number(m[1]) !== rule.days)
          throw keyError(key, `is not a T+${rule.days} key 'T+${rule.days}:YYYY-MM-DD'`);
        const anchor = m[2] as string;
        if (!calendar.isBusinessDay(anchor))
          throw keyError(key, `names ${anchor}, which is not a business day on this calendar`);
        cycle = tPlusCycle(anchor, rule.days, calendar);
        break;
      }
      case 'WEEKLY': {
        const m = WEEKLY_KEY_RE.exec(text);
        if (m === null) throw keyError(key, `is not a weekly key 'W:YYYY-Www'`);
        const week = DateTime.fromObject(
          { weekYear: Number(m[1]), weekNumber: Number(m[2]), weekday: 1 },
          { zone: 'UTC' },
        );
        if (!week.isValid || week.weekNumber !== Number(m[2])) throw keyError(key, 'names no ISO week');
        cycle = weeklyCycle(epochDayOfDateTime(week), rule.weekday, calendar);
        break;
      }
      case 'MONTHLY': {
        const m = MONTHLY_KEY_RE.exec(text);
        if (m === null) throw keyError(key, `is not a monthly key 'M:YYYY-MM'`);
        const month = DateTime.fromObject(
          { year: Number(m[1]), month: Number(m[2]), day: 1 },
          { zone: 'UTC' },
        );
        if (!month.isValid) throw keyError(key, 'names no month');
        cycle = monthlyCycle(month, rule.day, calendar);
        break;
      }
    }
  } catch (error) {
    if (error instanceof CalendarError) throw keyError(key, `is out of range: ${error.message}`);
    throw error;
  }
  // Pair assertion: a key names exactly the cycle that produces it.
  if (cycle.key !== key) throw keyError(key, `is not canonical; the cycle's key is ${cycle.key}`);
  return cycle;
}

/** The cycle right after `cycle`: it starts the day after `cycle` ends. */
export function nextCycle(
  cycle: SettlementCycle,
  terms: Pick<SettlementTerms, 'cycle'>,
  calendar: BusinessCalendar,
): SettlementCycle {
  return cycleOf(fromEpochDay(toEpochDay(cycle.lastBusinessDate) + 1), terms, calendar);
}

export interface LateItemPlacement {
  /** The key of the cycle the item's business date belongs to (cycleOf(businessDate).key). */
  naturalCycleKey: string;
  /** Closed cycles, as a set of keys or a predicate over keys. */
  isClosed: ReadonlySet<string> | ((key: string) => boolean);
  terms: Pick<SettlementTerms, 'cycle'>;
  calendar: BusinessCalendar;
}

/**
 * Where an item goes: its natural cycle if that is still open, else the first open cycle after it.
 * A cleared item is never added to a closed record (that record may already be approved or paid);
 * it rides the next open cycle instead, and the record lists its own business date so a statement
 * still shows when the sale happened.
 * @throws SettlementError SETTLEMENT.INVALID_CYCLE_KEY | SETTLEMENT.NO_OPEN_CYCLE (none within
 *   LATE_ITEM_CYCLES_MAX cycles: a data problem to look at, not something to guess around)
 */
export function cycleForLateItem(placement: LateItemPlacement): SettlementCycle {
  const { naturalCycleKey, isClosed, terms, calendar } = placement;
  const closed = typeof isClosed === 'function' ? isClosed : (key: string) => isClosed.has(key);
  let cycle = cycleByKey(naturalCycleKey, terms, calendar);
  for (let walked = 0; walked <= LATE_ITEM_CYCLES_MAX; walked++) {
    if (!closed(cycle.key)) return cycle;
    cycle = nextCycle(cycle, terms, calendar);
  }
  throw new SettlementError(
    'SETTLEMENT.NO_OPEN_CYCLE',
    `no open cycle within ${LATE_ITEM_CYCLES_MAX} cycles after ${naturalCycleKey}`,
  );
}
