import {
  type BusinessCalendar as ContractsCalendar,
  DEFAULT_CUTOFF_LOCAL_TIME,
  TimeError,
  businessDateBounds,
  businessDateOf,
  describeValue,
} from '@app/contracts';
import type { DateTime } from 'luxon';
import { CalendarError } from './calendar-error.js';
import {
  type EpochDay,
  type IsoWeekday,
  fromEpochDay,
  isIsoWeekday,
  toEpochDay,
  weekdayOfEpochDay,
} from './calendar-date.js';

/**
 * A merchant's business calendar (营业日历): which days are business days (工作日), and so when a
 * settlement cycle closes and on which day a payout is due.
 *
 * Rules, in order of precedence:
 *   1. a make-up working day (调休上班日) is a business day, although it falls on a weekend day;
 *   2. a holiday (节假日) is not a business day, whatever weekday it falls on;
 *   3. a weekend day (default Saturday and Sunday) is not a business day;
 *   4. every other day is a business day.
 * A date cannot be both a holiday and a make-up day (the configuration is refused), and a make-up
 * day must fall on a weekend day: on a weekday it would change nothing, so it is a typo.
 *
 * The zone and cut-off say which business date (账期日) an instant belongs to; that rule lives in
 * @app/contracts (businessDateOf) and is delegated to, never re-implemented here. Dates are
 * 'YYYY-MM-DD' labels counted in UTC (see calendar-date.ts), so DST cannot move a business day.
 *
 * Limits: at most CALENDAR_TABLE_MAX holidays plus make-up days, |n| ≤ ADD_BUSINESS_DAYS_MAX for
 * addBusinessDays. A week always keeps at least one working weekday, so every walk ends.
 */

export const DEFAULT_WEEKEND_DAYS: readonly IsoWeekday[] = Object.freeze([6, 7] as IsoWeekday[]);
/** ~27 years of a dense holiday table; more is a configuration mistake, not a calendar. */
export const CALENDAR_TABLE_MAX = 10_000;
/** ~14 years of business days; more is a bug in the caller. */
export const ADD_BUSINESS_DAYS_MAX = 3_660;

const WEEKDAY_NAMES = ['', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

export interface BusinessCalendarConfig {
  /** IANA zone, e.g. 'Asia/Shanghai'. */
  zone: string;
  /** 'HH:mm' or 'HH:mm:ss' local time; default '00:00', the end of the calendar day. */
  cutoffLocalTime?: string;
  /** ISO weekdays (1 = Monday … 7 = Sunday) that are not working days; default [6, 7]. */
  weekendDays?: readonly IsoWeekday[];
  /** Dates that are not business days. */
  holidays?: readonly string[];
  /** Weekend dates that are business days (调休上班日). */
  makeUpWorkingDays?: readonly string[];
}

function invalidConfig(field: string, why: string): CalendarError {
  return new CalendarError('CALENDAR.INVALID_CONFIG', `business calendar: ${field}: ${why}`);
}

function datesOf(value: unknown, field: string): Set<EpochDay> {
  if (value === undefined) return new Set();
  if (!Array.isArray(value))
    throw invalidConfig(field, `must be an array of 'YYYY-MM-DD' dates, got ${describeValue(value)}`);
  const days = new Set<EpochDay>();
  value.forEach((date: unknown, i) => {
    try {
      days.add(toEpochDay(date, `${field}[${i}]`));
    } catch (error) {
      if (error instanceof CalendarError) {
        throw new CalendarError('CALENDAR.INVALID_CONFIG', `business calendar: ${error.message}`);
      }
      throw error;
    }
  });
  return days;
}

function weekendOf(value: unknown): IsoWeekday[] {
  if (value === undefined) return [...DEFAULT_WEEKEND_DAYS];
  if (!Array.isArray(value))
    throw invalidConfig('weekendDays', `must be an array of ISO weekdays 1..7, got ${describeValue(value)}`);
  const days = new Set<IsoWeekday>();
  value.forEach((day: unknown, i) => {
    if (!isIsoWeekday(day)) {
      throw invalidConfig(
        `weekendDays[${i}]`,
        `must be an ISO weekday 1 (Monday)..7 (Sunday), got ${describeValue(day)}`,
      );
    }
    if (days.has(day)) throw invalidConfig(`weekendDays[${i}]`, `${day} is listed twice`);
    days.add(day);
  });
  if (days.size === 7) throw invalidConfig('weekendDays', 'at least one weekday must be a working day');
  return [...days].sort((a, b) => a - b);
}

export class BusinessCalendar {
  private readonly weekend: readonly boolean[];
  private readonly holidayDays: ReadonlySet<EpochDay>;
  private readonly makeUpDays: ReadonlySet<EpochDay>;

  private constructor(
    readonly zone: string,
    readonly cutoffLocalTime: string,
    readonly weekendDays: readonly IsoWeekday[],
    holidayDays: ReadonlySet<EpochDay>,
    makeUpDays: ReadonlySet<EpochDay>,
  ) {
    this.weekend = Array.from({ length: 8 }, (_, d) => weekendDays.includes(d as IsoWeekday));
    this.holidayDays = holidayDays;
    this.makeUpDays = makeUpDays;
    Object.freeze(this);
  }

  /**
   * Validates a configuration and builds the calendar; every failure names the field.
   * @throws CalendarError CALENDAR.INVALID_CONFIG
   */
  static of(config: BusinessCalendarConfig): BusinessCalendar {
    if (typeof config !== 'object' || config === null) {
      throw invalidConfig('config', `must be an object, got ${describeValue(config)}`);
    }
    const cutoffLocalTime = config.cutoffLocalTime ?? DEFAULT_CUTOFF_LOCAL_TIME;
    try {
      // The contracts own zone and cut-off validation; one probe runs both checks.
      businessDateBounds('2026-01-01', { zone: config.zone, cutoffLocalTime });
    } catch (error) {
      if (error instanceof TimeError) {
        throw invalidConfig(error.code === 'TIME.INVALID_CUTOFF' ? 'cutoffLocalTime' : 'zone', error.message);
      }
      throw error;
    }
    const weekendDays = weekendOf(config.weekendDays);
    const holidays = datesOf(config.holidays, 'holidays');
    const makeUps = datesOf(config.makeUpWorkingDays, 'makeUpWorkingDays');
    if (holidays.size + makeUps.size > CALENDAR_TABLE_MAX) {
      throw invalidConfig(
        'holidays',
        `${holidays.size} holidays and ${makeUps.size} make-up days exceed ${CALENDAR_TABLE_MAX} dates`,
      );
    }
    for (const day of [...makeUps].sort((a, b) => a - b)) {
      const date = fromEpochDay(day);
      if (holidays.has(day)) {
        throw invalidConfig('makeUpWorkingDays', `${date} is also a holiday; a date is one or the other`);
      }
      const weekday = weekdayOfEpochDay(day);
      if (!weekendDays.includes(weekday)) {
        throw invalidConfig(
          'makeUpWorkingDays',
          `${date} is a ${WEEKDAY_NAMES[weekday]}, already a working day; a make-up day must fall on a weekend day`,
        );
      }
    }
    return new BusinessCalendar(config.zone, cutoffLocalTime, Object.freeze(weekendDays), holidays, makeUps);
  }

  /** The configuration back, normalised: sorted, de-duplicated, defaults filled in. */
  toConfig(): Required<BusinessCalendarConfig> {
    const sorted = (days: ReadonlySet<EpochDay>) => [...days].sort((a, b) => a - b).map(fromEpochDay);
    return {
      zone: this.zone,
      cutoffLocalTime: this.cutoffLocalTime,
      weekendDays: [...this.weekendDays],
      holidays: sorted(this.holidayDays),
      makeUpWorkingDays: sorted(this.makeUpDays),
    };
  }

  /** @throws CalendarError CALENDAR.INVALID_DATE | CALENDAR.OUT_OF_RANGE */
  isBusinessDay(date: string): boolean {
    return this.isBusinessEpochDay(toEpochDay(date));
  }

  /** The first business day strictly after `date` (which need not be a business day). */
  nextBusinessDay(date: string): string {
    return fromEpochDay(this.step(toEpochDay(date), 1));
  }

  /** The last business day strictly before `date`. */
  previousBusinessDay(date: string): string {
    return fromEpochDay(this.step(toEpochDay(date), -1));
  }

  /** `date` itself when it is a business day, else the next one: how a due date rolls forward (顺延). */
  businessDayOnOrAfter(date: string): string {
    const day = toEpochDay(date);
    return fromEpochDay(this.isBusinessEpochDay(day) ? day : this.step(day, 1));
  }

  /**
   * n > 0: the n-th business day after `date`; n < 0: the |n|-th before; n = 0: `date` unchanged,
   * business day or not. `date` itself never counts, so Saturday + 1 is Monday, as is Friday + 1.
   * @throws CalendarError CALENDAR.INVALID_DATE for a malformed date or n that is not an integer
   *   within ±ADD_BUSINESS_DAYS_MAX
   */
  addBusinessDays(date: string, n: number): string {
    if (!Number.isSafeInteger(n) || Math.abs(n) > ADD_BUSINESS_DAYS_MAX) {
      throw new CalendarError(
        'CALENDAR.INVALID_DATE',
        `business days to add must be an integer within ±${ADD_BUSINESS_DAYS_MAX}, got ${describeValue(n)}`,
      );
    }
    let day = toEpochDay(date);
    const direction = n < 0 ? -1 : 1;
    for (let i = 0; i < Math.abs(n); i++) day = this.step(day, direction);
    return fromEpochDay(day);
  }

  /**
   * The business date (账期日) of an instant under this calendar's zone and cut-off.
   * @throws TimeError from @app/contracts for a malformed instant
   */
  businessDateOf(instant: string | Date | DateTime): string {
    return businessDateOf(instant, this.zoneAndCutoff());
  }

  /** The half-open span of instants [start, end) that makes up a business date. */
  businessDateBounds(date: string): { start: DateTime<true>; end: DateTime<true> } {
    toEpochDay(date); // same message and range as every other date here
    return businessDateBounds(date, this.zoneAndCutoff());
  }

  private zoneAndCutoff(): ContractsCalendar {
    return { zone: this.zone, cutoffLocalTime: this.cutoffLocalTime };
  }

  private isBusinessEpochDay(day: EpochDay): boolean {
    if (this.makeUpDays.has(day)) return true;
    if (this.holidayDays.has(day)) return false;
    return !this.weekend[weekdayOfEpochDay(day)];
  }

  /**
   * The nearest business day strictly after (1) or before (−1) `day`. Always ends: a week keeps a
   * working weekday and the holiday table is finite; callers format the result with fromEpochDay,
   * which refuses a day outside the supported range.
   */
  private step(day: EpochDay, direction: 1 | -1): EpochDay {
    let next = day + direction;
    while (!this.isBusinessEpochDay(next)) next += direction;
    return next;
  }
}
