import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { CalendarError } from './calendar-error.js';
import {
  CALENDAR_DATE_MAX,
  CALENDAR_DATE_MIN,
  addCalendarDays,
  fromEpochDay,
  toEpochDay,
  weekdayOf,
} from './calendar-date.js';

describe('calendar dates', () => {
  it('counts days in UTC, so a DST switch in any zone never adds or loses a day', () => {
    expect(addCalendarDays('2026-03-28', 1)).toBe('2026-03-29');
    expect(addCalendarDays('2026-03-29', 1)).toBe('2026-03-30');
    expect(addCalendarDays('2026-10-25', -1)).toBe('2026-10-24');
    expect(addCalendarDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(weekdayOf('2026-11-20')).toBe(5);
    expect(weekdayOf('2026-11-22')).toBe(7);
    expect(toEpochDay('1970-01-01')).toBe(0);
  });

  it.each(['2026-02-29', '2026-13-01', '2026-1-01', '20261101', ' 2026-11-01', '2026-11-01T00:00', 20261101])(
    'refuses %j',
    (value) => {
      expect(() => toEpochDay(value, 'holidays[0]')).toThrow(
        new CalendarError(
          'CALENDAR.INVALID_DATE',
          `holidays[0]: ${JSON.stringify(value)} is not a calendar date 'YYYY-MM-DD'`,
        ),
      );
    },
  );

  it('refuses dates outside the supported range, and walks that leave it', () => {
    expect(() => toEpochDay('1899-12-31')).toThrow(/outside the supported dates/);
    expect(() => addCalendarDays(CALENDAR_DATE_MAX, 1)).toThrow(/outside the supported dates/);
    expect(() => addCalendarDays(CALENDAR_DATE_MIN, -1)).toThrow(/outside the supported dates/);
  });

  it('accepts exactly the strings luxon reads as dates, leap years included', () => {
    const pad = (n: number, width: number) => String(n).padStart(width, '0');
    fc.assert(
      fc.property(
        fc.integer({ min: 1900, max: 2999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        (year, month, day) => {
          const text = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
          const luxon = DateTime.fromISO(text, { zone: 'UTC' });
          if (luxon.isValid) expect(toEpochDay(text) * 86_400_000).toBe(luxon.toMillis());
          else expect(() => toEpochDay(text)).toThrow(CalendarError);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('round-trips and agrees with luxon on every date and weekday', () => {
    const min = toEpochDay(CALENDAR_DATE_MIN);
    const max = toEpochDay(CALENDAR_DATE_MAX);
    fc.assert(
      fc.property(fc.integer({ min, max }), (day) => {
        const date = fromEpochDay(day);
        const luxon = DateTime.fromISO(date, { zone: 'UTC' });
        expect(luxon.isValid).toBe(true);
        expect(toEpochDay(date)).toBe(day);
        expect(weekdayOf(date)).toBe(luxon.weekday);
        expect(luxon.toMillis()).toBe(day * 86_400_000);
      }),
    );
  });
});
