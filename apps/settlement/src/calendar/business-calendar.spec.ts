import { describe, expect, it } from '@jest/globals';
import { TimeError } from '@app/contracts';
import fc from 'fast-check';
import { ADD_BUSINESS_DAYS_MAX, BusinessCalendar, type BusinessCalendarConfig } from './business-calendar.js';
import { CalendarError, type CalendarErrorCode } from './calendar-error.js';
import { calendarArb, cnCalendar, dateArb, datesBetween } from './calendar-test-support.js';

function calendarError(fn: () => unknown, code: CalendarErrorCode): CalendarError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(CalendarError);
  expect((caught as CalendarError).code).toBe(code);
  return caught as CalendarError;
}

function invalidConfig(config: BusinessCalendarConfig): string {
  return calendarError(() => BusinessCalendar.of(config), 'CALENDAR.INVALID_CONFIG').message;
}

const shanghai = BusinessCalendar.of({ zone: 'Asia/Shanghai' });
const berlin = BusinessCalendar.of({ zone: 'Europe/Berlin' });
const newYork = BusinessCalendar.of({ zone: 'America/New_York' });

/** T+1 as the settlement cycle reads it: a non-business date rolls to the next business day first. */
function tPlusOnePayout(calendar: BusinessCalendar, instant: string): string {
  return calendar.addBusinessDays(calendar.businessDayOnOrAfter(calendar.businessDateOf(instant)), 1);
}

describe('BusinessCalendar.of: configuration', () => {
  it('defaults to cut-off 00:00 and a Saturday/Sunday weekend, and normalises tables', () => {
    const calendar = BusinessCalendar.of({
      zone: 'Asia/Shanghai',
      holidays: ['2026-10-02', '2026-10-01', '2026-10-02'],
    });
    expect(calendar.toConfig()).toEqual({
      zone: 'Asia/Shanghai',
      cutoffLocalTime: '00:00',
      weekendDays: [6, 7],
      holidays: ['2026-10-01', '2026-10-02'],
      makeUpWorkingDays: [],
    });
    expect(Object.isFrozen(calendar)).toBe(true);
  });

  it('refuses a zone that is not IANA (a fixed offset would lose DST)', () => {
    expect(invalidConfig({ zone: 'UTC+8' })).toBe(
      'business calendar: zone: "UTC+8" is not an IANA time zone (e.g. Asia/Shanghai)',
    );
    expect(invalidConfig({ zone: 'Mars/Olympus' })).toMatch(/^business calendar: zone: "Mars\/Olympus"/);
    expect(invalidConfig({ zone: undefined as unknown as string })).toMatch(
      /^business calendar: zone: undefined/,
    );
  });

  it.each(['24:00', '7:00', '23:60', 'noon', ''])('refuses cut-off %j', (cutoffLocalTime) => {
    expect(invalidConfig({ zone: 'Asia/Shanghai', cutoffLocalTime })).toMatch(
      /^business calendar: cutoffLocalTime: cut-off .* is not a local time 'HH:mm' or 'HH:mm:ss'/,
    );
  });

  it('refuses a date that is both a holiday and a make-up working day', () => {
    expect(
      invalidConfig({ zone: 'Asia/Shanghai', holidays: ['2026-10-10'], makeUpWorkingDays: ['2026-10-10'] }),
    ).toBe('business calendar: makeUpWorkingDays: 2026-10-10 is also a holiday; a date is one or the other');
  });

  it('refuses a make-up day on a weekday: it would change nothing, so it is a typo', () => {
    expect(invalidConfig({ zone: 'Asia/Shanghai', makeUpWorkingDays: ['2026-10-12'] })).toBe(
      'business calendar: makeUpWorkingDays: 2026-10-12 is a Monday, already a working day; a make-up day must fall on a weekend day',
    );
  });

  it('names the malformed entry of a table', () => {
    expect(invalidConfig({ zone: 'Asia/Shanghai', holidays: ['2026-10-01', '2026-02-30'] })).toBe(
      `business calendar: holidays[1]: "2026-02-30" is not a calendar date 'YYYY-MM-DD'`,
    );
    expect(invalidConfig({ zone: 'Asia/Shanghai', makeUpWorkingDays: ['2026/10/10'] })).toBe(
      `business calendar: makeUpWorkingDays[0]: "2026/10/10" is not a calendar date 'YYYY-MM-DD'`,
    );
    expect(invalidConfig({ zone: 'Asia/Shanghai', holidays: '2026-10-01' as unknown as string[] })).toBe(
      `business calendar: holidays: must be an array of 'YYYY-MM-DD' dates, got "2026-10-01"`,
    );
    expect(invalidConfig({ zone: 'Asia/Shanghai', holidays: ['1899-12-31'] })).toBe(
      'business calendar: holidays[0]: 1899-12-31 is outside the supported dates 1900-01-01..2999-12-31',
    );
  });

  it('refuses weekend days that are not distinct ISO weekdays, or a week without a working day', () => {
    const weekend = (weekendDays: unknown) =>
      invalidConfig({
        zone: 'Asia/Shanghai',
        weekendDays: weekendDays as BusinessCalendarConfig['weekendDays'],
      });
    expect(weekend([0])).toBe(
      'business calendar: weekendDays[0]: must be an ISO weekday 1 (Monday)..7 (Sunday), got 0',
    );
    expect(weekend([6, 6])).toBe('business calendar: weekendDays[1]: 6 is listed twice');
    expect(weekend([1, 2, 3, 4, 5, 6, 7])).toBe(
      'business calendar: weekendDays: at least one weekday must be a working day',
    );
  });

  it('refuses a table larger than the limit', () => {
    const holidays = datesBetween('2000-01-01', '2030-12-31');
    expect(invalidConfig({ zone: 'Asia/Shanghai', holidays })).toMatch(/exceed 10000 dates$/);
  });
});

describe('business days', () => {
  it('T+1 over a weekend: Friday → Monday; Saturday and Sunday roll to Monday, so they pay Tuesday', () => {
    expect(shanghai.addBusinessDays('2026-11-20', 1)).toBe('2026-11-23');
    expect(shanghai.nextBusinessDay('2026-11-21')).toBe('2026-11-23');
    expect(shanghai.businessDayOnOrAfter('2026-11-22')).toBe('2026-11-23');
    expect(shanghai.addBusinessDays(shanghai.businessDayOnOrAfter('2026-11-21'), 1)).toBe('2026-11-24');
    expect(shanghai.previousBusinessDay('2026-11-23')).toBe('2026-11-20');
  });

  it('T+1 over National Day: 09-30 pays 10-08; holiday items roll to 10-08 and pay 10-09', () => {
    for (const date of datesBetween('2026-10-01', '2026-10-07'))
      expect(cnCalendar.isBusinessDay(date)).toBe(false);
    expect(cnCalendar.addBusinessDays('2026-09-30', 1)).toBe('2026-10-08');
    expect(cnCalendar.businessDayOnOrAfter('2026-10-03')).toBe('2026-10-08');
    expect(cnCalendar.addBusinessDays('2026-10-08', 1)).toBe('2026-10-09');
    expect(cnCalendar.previousBusinessDay('2026-10-08')).toBe('2026-09-30');
  });

  it('make-up working days (调休): Saturday 10-10 and Sunday 09-20 are business days', () => {
    expect(cnCalendar.isBusinessDay('2026-10-10')).toBe(true);
    expect(cnCalendar.isBusinessDay('2026-10-11')).toBe(false);
    expect(cnCalendar.addBusinessDays('2026-10-09', 1)).toBe('2026-10-10'); // Friday → Saturday
    expect(cnCalendar.addBusinessDays('2026-10-10', 1)).toBe('2026-10-12'); // Saturday → Monday
    expect(cnCalendar.addBusinessDays('2026-09-18', 1)).toBe('2026-09-20'); // Friday → Sunday
    expect(cnCalendar.businessDayOnOrAfter('2026-09-19')).toBe('2026-09-20');
    expect(cnCalendar.addBusinessDays('2026-09-30', 3)).toBe('2026-10-10');
    expect(cnCalendar.addBusinessDays('2026-10-12', -3)).toBe('2026-10-08');
  });

  it('a holiday on a weekday, a custom weekend', () => {
    const gulf = BusinessCalendar.of({ zone: 'Asia/Riyadh', weekendDays: [5, 6], holidays: ['2026-11-22'] });
    expect(gulf.isBusinessDay('2026-11-20')).toBe(false); // Friday
    expect(gulf.isBusinessDay('2026-11-22')).toBe(false); // Sunday, a holiday here
    expect(gulf.addBusinessDays('2026-11-19', 1)).toBe('2026-11-23');
  });

  it('n = 0 leaves the date alone; n is bounded and integral', () => {
    expect(cnCalendar.addBusinessDays('2026-10-03', 0)).toBe('2026-10-03');
    calendarError(() => cnCalendar.addBusinessDays('2026-10-03', 1.5), 'CALENDAR.INVALID_DATE');
    calendarError(
      () => cnCalendar.addBusinessDays('2026-10-03', ADD_BUSINESS_DAYS_MAX + 1),
      'CALENDAR.INVALID_DATE',
    );
    expect(calendarError(() => cnCalendar.isBusinessDay('2026-13-01'), 'CALENDAR.INVALID_DATE').message).toBe(
      `date: "2026-13-01" is not a calendar date 'YYYY-MM-DD'`,
    );
    calendarError(() => cnCalendar.nextBusinessDay('2999-12-31'), 'CALENDAR.OUT_OF_RANGE');
  });
});

describe('businessDateOf: instants become business dates by zone and cut-off (delegated to @app/contracts)', () => {
  it('cut-off 00:00: 23:59:59.999 local is Friday, paid Monday; 00:00:00.000 is Saturday, paid Tuesday', () => {
    expect(shanghai.businessDateOf('2026-11-20T23:59:59.999+08:00')).toBe('2026-11-20');
    expect(shanghai.businessDateOf('2026-11-20T15:59:59.999Z')).toBe('2026-11-20');
    expect(tPlusOnePayout(shanghai, '2026-11-20T23:59:59.999+08:00')).toBe('2026-11-23');
    expect(shanghai.businessDateOf('2026-11-21T00:00:00.000+08:00')).toBe('2026-11-21');
    expect(tPlusOnePayout(shanghai, '2026-11-21T00:00:00.000+08:00')).toBe('2026-11-24');
  });

  it('cut-off 23:00: the day closes at 23:00 local, so 23:00 Friday is already Saturday', () => {
    const calendar = BusinessCalendar.of({ zone: 'Asia/Shanghai', cutoffLocalTime: '23:00' });
    expect(calendar.businessDateOf('2026-11-20T22:59:59.999+08:00')).toBe('2026-11-20');
    expect(calendar.businessDateOf('2026-11-20T23:00:00.000+08:00')).toBe('2026-11-21');
    expect(calendar.businessDateOf('2026-11-20T23:59:59.999+08:00')).toBe('2026-11-21');
    expect(calendar.businessDateOf('2026-11-21T00:00:00.000+08:00')).toBe('2026-11-21');
    expect(tPlusOnePayout(calendar, '2026-11-20T22:59:59.999+08:00')).toBe('2026-11-23');
    expect(tPlusOnePayout(calendar, '2026-11-20T23:00:00.000+08:00')).toBe('2026-11-24');
    const { start, end } = calendar.businessDateBounds('2026-11-21');
    expect(start.toISO()).toBe('2026-11-20T15:00:00.000Z');
    expect(end.toISO()).toBe('2026-11-21T15:00:00.000Z');
  });

  it('Europe/Berlin 2026-03-29 (clocks spring forward): a 23-hour business date', () => {
    expect(berlin.businessDateOf('2026-03-28T23:59:59.999+01:00')).toBe('2026-03-28');
    expect(berlin.businessDateOf('2026-03-29T00:00:00.000+01:00')).toBe('2026-03-29');
    expect(berlin.businessDateOf('2026-03-29T02:30:00.000+01:00')).toBe('2026-03-29'); // 03:30 CEST
    expect(berlin.businessDateOf('2026-03-29T23:59:59.999+02:00')).toBe('2026-03-29');
    expect(berlin.businessDateOf('2026-03-30T00:00:00.000+02:00')).toBe('2026-03-30');
    const { start, end } = berlin.businessDateBounds('2026-03-29');
    expect(end.diff(start, 'hours').hours).toBe(23);
    // The DST Sunday is still a weekend day: Friday's items pay Monday, Sunday's pay Tuesday.
    expect(tPlusOnePayout(berlin, '2026-03-27T23:59:59.999+01:00')).toBe('2026-03-30');
    expect(tPlusOnePayout(berlin, '2026-03-29T23:59:59.999+02:00')).toBe('2026-03-31');
  });

  it('Europe/Berlin 2026-10-25 (clocks fall back): a 25-hour business date; both 02:30s are that day', () => {
    expect(berlin.businessDateOf('2026-10-25T02:30:00.000+02:00')).toBe('2026-10-25');
    expect(berlin.businessDateOf('2026-10-25T02:30:00.000+01:00')).toBe('2026-10-25');
    expect(berlin.businessDateOf('2026-10-25T23:59:59.999+01:00')).toBe('2026-10-25');
    expect(berlin.businessDateOf('2026-10-26T00:00:00.000+01:00')).toBe('2026-10-26');
    const { start, end } = berlin.businessDateBounds('2026-10-25');
    expect(start.toISO()).toBe('2026-10-24T22:00:00.000Z');
    expect(end.toISO()).toBe('2026-10-25T23:00:00.000Z');
    expect(end.diff(start, 'hours').hours).toBe(25);
  });

  it('America/New_York 2026-03-08 and 2026-11-01: local midnight on both sides of each switch', () => {
    expect(newYork.businessDateOf('2026-03-07T23:59:59.999-05:00')).toBe('2026-03-07');
    expect(newYork.businessDateOf('2026-03-08T00:00:00.000-05:00')).toBe('2026-03-08');
    expect(newYork.businessDateOf('2026-03-08T23:59:59.999-04:00')).toBe('2026-03-08');
    expect(newYork.businessDateOf('2026-03-09T00:00:00.000-04:00')).toBe('2026-03-09');
    expect(newYork.businessDateOf('2026-10-31T23:59:59.999-04:00')).toBe('2026-10-31');
    expect(newYork.businessDateOf('2026-11-01T23:59:59.999-05:00')).toBe('2026-11-01');
    expect(newYork.businessDateOf('2026-11-02T00:00:00.000-05:00')).toBe('2026-11-02');
    expect(newYork.businessDateOf('2026-11-02T04:59:59.999Z')).toBe('2026-11-01');
    // Friday 11-06 23:59:59.999 EST is Friday (paid Monday); one millisecond later is Saturday.
    expect(tPlusOnePayout(newYork, '2026-11-06T23:59:59.999-05:00')).toBe('2026-11-09');
    expect(tPlusOnePayout(newYork, '2026-11-07T00:00:00.000-05:00')).toBe('2026-11-10');
  });

  it('a cut-off inside the skipped hour closes the day at the jump (contracts convention)', () => {
    const calendar = BusinessCalendar.of({ zone: 'America/New_York', cutoffLocalTime: '02:30' });
    expect(calendar.businessDateOf('2026-03-08T01:59:59.999-05:00')).toBe('2026-03-08');
    expect(calendar.businessDateOf('2026-03-08T03:00:00.000-04:00')).toBe('2026-03-09');
  });

  it('passes a malformed instant through as the contracts TimeError', () => {
    expect(() => shanghai.businessDateOf('2026-11-20T23:59:59')).toThrow(TimeError);
  });
});

describe('properties over random calendars', () => {
  it('nextBusinessDay / previousBusinessDay: the nearest business day, none skipped', () => {
    fc.assert(
      fc.property(calendarArb, dateArb, (calendar, date) => {
        const next = calendar.nextBusinessDay(date);
        const previous = calendar.previousBusinessDay(date);
        expect(next > date && calendar.isBusinessDay(next)).toBe(true);
        expect(previous < date && calendar.isBusinessDay(previous)).toBe(true);
        const between = [...datesBetween(previous, next)].filter(
          (d) => d !== previous && d !== next && d !== date,
        );
        expect(between.some((d) => calendar.isBusinessDay(d))).toBe(false);
        expect(calendar.businessDayOnOrAfter(date)).toBe(calendar.isBusinessDay(date) ? date : next);
      }),
    );
  });

  it('addBusinessDays counts exactly n business days, composes, and inverts on business days', () => {
    fc.assert(
      fc.property(
        calendarArb,
        dateArb,
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 40 }),
        (calendar, date, a, b) => {
          const later = calendar.addBusinessDays(date, a);
          const counted = datesBetween(date, later).filter((d) => d !== date && calendar.isBusinessDay(d));
          expect(counted).toHaveLength(a);
          expect(calendar.addBusinessDays(later, b)).toBe(calendar.addBusinessDays(date, a + b));
          const start = calendar.businessDayOnOrAfter(date);
          expect(calendar.addBusinessDays(calendar.addBusinessDays(start, a), -a)).toBe(start);
        },
      ),
    );
  });

  it('businessDateOf agrees with businessDateBounds and never goes backwards in time', () => {
    const instantArb = fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2027, 0, 1) });
    fc.assert(
      fc.property(
        calendarArb,
        instantArb,
        fc.integer({ min: 0, max: 3 * 86_400_000 }),
        (calendar, ms, gap) => {
          const instant = new Date(ms);
          const date = calendar.businessDateOf(instant);
          const { start, end } = calendar.businessDateBounds(date);
          expect(start.toMillis() <= ms && ms < end.toMillis()).toBe(true);
          expect(calendar.businessDateOf(new Date(ms + gap)) >= date).toBe(true);
        },
      ),
    );
  });
});
