import fc from 'fast-check';
import { BusinessCalendar, type BusinessCalendarConfig } from './business-calendar.js';
import { type IsoWeekday, fromEpochDay, toEpochDay, weekdayOfEpochDay } from './calendar-date.js';

/**
 * Shared by the settlement specs: a real-world calendar to read examples against and random
 * calendars for properties. Not imported by production code.
 */

/**
 * Mainland China around 2026 National Day (国庆节): 10-01 (Thursday)..10-07 off, with the weekend
 * days 09-20 (Sunday) and 10-10 (Saturday) worked instead (调休上班).
 */
export const CN_NATIONAL_DAY_2026: BusinessCalendarConfig = {
  zone: 'Asia/Shanghai',
  holidays: [
    '2026-10-01',
    '2026-10-02',
    '2026-10-03',
    '2026-10-04',
    '2026-10-05',
    '2026-10-06',
    '2026-10-07',
  ],
  makeUpWorkingDays: ['2026-09-20', '2026-10-10'],
};

export const cnCalendar = BusinessCalendar.of(CN_NATIONAL_DAY_2026);

/** The window random dates and tables are drawn from; walks may leave it, which is fine. */
export const WINDOW_START = '2025-11-01';
export const WINDOW_END = '2027-02-28';
const windowStart = toEpochDay(WINDOW_START);
const windowEnd = toEpochDay(WINDOW_END);

export const dateArb: fc.Arbitrary<string> = fc
  .integer({ min: windowStart, max: windowEnd })
  .map((day) => fromEpochDay(day));

const weekendArb: fc.Arbitrary<IsoWeekday[]> = fc.oneof(
  fc.constant<IsoWeekday[]>([6, 7]),
  fc.uniqueArray(fc.integer({ min: 1, max: 7 }) as fc.Arbitrary<IsoWeekday>, { maxLength: 3 }),
);

/**
 * Random but valid calendars: holidays, some of them in long runs like Golden Week, and make-up
 * days on weekend days that are not holidays.
 */
export const calendarConfigArb: fc.Arbitrary<BusinessCalendarConfig> = fc
  .record({
    zone: fc.constantFrom('Asia/Shanghai', 'Europe/Berlin', 'America/New_York', 'UTC'),
    cutoffLocalTime: fc.constantFrom('00:00', '23:00', '22:30:15'),
    weekendDays: weekendArb,
    singles: fc.array(fc.integer({ min: windowStart, max: windowEnd }), { maxLength: 30 }),
    runs: fc.array(
      fc.record({
        start: fc.integer({ min: windowStart, max: windowEnd }),
        length: fc.integer({ min: 1, max: 12 }),
      }),
      { maxLength: 3 },
    ),
    makeUpCandidates: fc.array(fc.integer({ min: windowStart, max: windowEnd }), { maxLength: 20 }),
  })
  .map(({ zone, cutoffLocalTime, weekendDays, singles, runs, makeUpCandidates }) => {
    const holidays = new Set(singles);
    for (const run of runs) for (let i = 0; i < run.length; i++) holidays.add(run.start + i);
    const makeUps = makeUpCandidates.filter(
      (day) => !holidays.has(day) && weekendDays.includes(weekdayOfEpochDay(day)),
    );
    return {
      zone,
      cutoffLocalTime,
      weekendDays,
      holidays: [...holidays].map(fromEpochDay),
      makeUpWorkingDays: [...new Set(makeUps)].map(fromEpochDay),
    };
  });

export const calendarArb: fc.Arbitrary<BusinessCalendar> = calendarConfigArb.map((config) =>
  BusinessCalendar.of(config),
);

/** Every date from `from` to `to`, both included. */
export function datesBetween(from: string, to: string): string[] {
  const dates: string[] = [];
  for (let day = toEpochDay(from); day <= toEpochDay(to); day++) dates.push(fromEpochDay(day));
  return dates;
}
