import { describeValue } from '@app/contracts';
import { DateTime } from 'luxon';
import { CalendarError } from './calendar-error.js';

/**
 * Calendar dates ('YYYY-MM-DD') and the arithmetic on them.
 *
 * A business date (账期日) is a label for a day on the merchant's calendar, not an instant, so it
 * carries no zone. Labels are counted in UTC, where every day is 24 hours long: DST in the
 * calendar's own zone can then never add or lose a day between two labels. The zone matters only
 * where an instant becomes a label (BusinessCalendar.businessDateOf, delegating to @app/contracts).
 *
 * Internally a date is a whole number of days since 1970-01-01 (an "epoch day"), so stepping
 * through a calendar costs an integer add, not a luxon object per step.
 *
 * Dates are bounded to [CALENDAR_DATE_MIN, CALENDAR_DATE_MAX]: far wider than any settlement
 * needs, and it turns a runaway walk (a calendar bug, a huge n) into an error instead of a
 * malformed string such as '+10000-01-01'.
 */

export type EpochDay = number;
/** ISO weekday, as luxon counts: 1 = Monday … 7 = Sunday. */
export type IsoWeekday = 1 | 2 | 3 | 4 | 5 | 6 | 7;

export const CALENDAR_DATE_MIN = '1900-01-01';
export const CALENDAR_DATE_MAX = '2999-12-31';

const ISO_DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MS_PER_DAY = 86_400_000;
const EPOCH_DAY_MIN = Date.UTC(1900, 0, 1) / MS_PER_DAY;
const EPOCH_DAY_MAX = Date.UTC(2999, 11, 31) / MS_PER_DAY;

export function isIsoWeekday(value: unknown): value is IsoWeekday {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 7;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function outOfRange(what: string): CalendarError {
  return new CalendarError(
    'CALENDAR.OUT_OF_RANGE',
    `${what} is outside the supported dates ${CALENDAR_DATE_MIN}..${CALENDAR_DATE_MAX}`,
  );
}

/**
 * @param field names the value in the error message, e.g. 'holidays[3]'
 * @throws CalendarError CALENDAR.INVALID_DATE | CALENDAR.OUT_OF_RANGE
 */
export function toEpochDay(value: unknown, field = 'date'): EpochDay {
  // Hand-checked rather than built with luxon: this runs for every date a cycle touches, and the
  // spec proves it agrees with luxon on every supported date.
  const m = typeof value === 'string' ? ISO_DATE_RE.exec(value) : null;
  const year = Number(m?.[1]);
  const month = Number(m?.[2]);
  const dayOfMonth = Number(m?.[3]);
  if (m === null || month < 1 || month > 12 || dayOfMonth < 1 || dayOfMonth > daysInMonth(year, month)) {
    throw new CalendarError(
      'CALENDAR.INVALID_DATE',
      `${field}: ${describeValue(value)} is not a calendar date 'YYYY-MM-DD'`,
    );
  }
  if (year < 1900 || year > 2999) throw outOfRange(`${field}: ${value as string}`);
  return Date.UTC(year, month - 1, dayOfMonth) / MS_PER_DAY;
}

/** @throws CalendarError CALENDAR.OUT_OF_RANGE when a walk left the supported dates */
export function fromEpochDay(day: EpochDay): string {
  if (!Number.isSafeInteger(day) || day < EPOCH_DAY_MIN || day > EPOCH_DAY_MAX) {
    throw outOfRange(`a date ${describeValue(day)} days after 1970-01-01`);
  }
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

/** 1970-01-01 was a Thursday (4). */
export function weekdayOfEpochDay(day: EpochDay): IsoWeekday {
  return (((((day + 3) % 7) + 7) % 7) + 1) as IsoWeekday;
}

/** The luxon date at UTC midnight of a label: for week-year and month arithmetic. */
export function utcDateTimeOf(day: EpochDay): DateTime<true> {
  return DateTime.fromMillis(day * MS_PER_DAY, { zone: 'UTC' }) as DateTime<true>;
}

export function epochDayOfDateTime(date: DateTime<true>): EpochDay {
  return Math.floor(date.toMillis() / MS_PER_DAY);
}

/** @throws CalendarError for a malformed date or a result outside the supported dates */
export function addCalendarDays(date: string, days: number, field = 'date'): string {
  return fromEpochDay(toEpochDay(date, field) + days);
}

/** @throws CalendarError CALENDAR.INVALID_DATE */
export function weekdayOf(date: string, field = 'date'): IsoWeekday {
  return weekdayOfEpochDay(toEpochDay(date, field));
}
