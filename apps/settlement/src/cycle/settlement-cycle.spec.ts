import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { BusinessCalendar } from '../calendar/business-calendar.js';
import { calendarArb, cnCalendar, dateArb, datesBetween } from '../calendar/calendar-test-support.js';
import { cycleRuleArb } from './cycle-test-support.js';
import {
  type SettlementCycle,
  cycleByKey,
  cycleForLateItem,
  cycleOf,
  nextCycle,
} from './settlement-cycle.js';
import { SettlementError, type SettlementErrorCode } from './settlement-error.js';
import type { SettlementCycleRule } from './settlement-terms.js';

const shanghai = BusinessCalendar.of({ zone: 'Asia/Shanghai' });
const T1 = { cycle: { kind: 'T_PLUS', days: 1 } as SettlementCycleRule };
const T3 = { cycle: { kind: 'T_PLUS', days: 3 } as SettlementCycleRule };
const weekly = (weekday: number) => ({ cycle: { kind: 'WEEKLY', weekday } as SettlementCycleRule });
const monthly = (day: number) => ({ cycle: { kind: 'MONTHLY', day } as SettlementCycleRule });

function tPlus(key: string, first: string, last: string, due: string): SettlementCycle {
  return {
    key,
    kind: 'T_PLUS',
    firstBusinessDate: first,
    lastBusinessDate: last,
    closesOn: due,
    payoutDueOn: due,
  };
}

function settlementError(fn: () => unknown, code: SettlementErrorCode): string {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(SettlementError);
  expect((caught as SettlementError).code).toBe(code);
  return (caught as SettlementError).message;
}

describe('T+N cycles', () => {
  it('T+1 over a weekend: Friday pays Monday; Saturday and Sunday join Monday and pay Tuesday', () => {
    expect(cycleOf('2026-11-20', T1, shanghai)).toEqual(
      tPlus('T+1:2026-11-20', '2026-11-20', '2026-11-20', '2026-11-23'),
    );
    const monday = tPlus('T+1:2026-11-23', '2026-11-21', '2026-11-23', '2026-11-24');
    for (const date of ['2026-11-21', '2026-11-22', '2026-11-23'])
      expect(cycleOf(date, T1, shanghai)).toEqual(monday);
  });

  it('T+1 over National Day: 09-30 pays 10-08; 10-01..10-08 are one cycle paid 10-09', () => {
    expect(cycleOf('2026-09-30', T1, cnCalendar)).toEqual(
      tPlus('T+1:2026-09-30', '2026-09-30', '2026-09-30', '2026-10-08'),
    );
    const reopening = tPlus('T+1:2026-10-08', '2026-10-01', '2026-10-08', '2026-10-09');
    for (const date of datesBetween('2026-10-01', '2026-10-08'))
      expect(cycleOf(date, T1, cnCalendar)).toEqual(reopening);
  });

  it('make-up working days are cycles and payout days of their own', () => {
    // Friday 10-09 pays on the make-up Saturday 10-10; the Saturday's own items pay Monday.
    expect(cycleOf('2026-10-09', T1, cnCalendar).payoutDueOn).toBe('2026-10-10');
    expect(cycleOf('2026-10-10', T1, cnCalendar)).toEqual(
      tPlus('T+1:2026-10-10', '2026-10-10', '2026-10-10', '2026-10-12'),
    );
    expect(cycleOf('2026-10-11', T1, cnCalendar)).toEqual(
      tPlus('T+1:2026-10-12', '2026-10-11', '2026-10-12', '2026-10-13'),
    );
    // Friday 09-18 pays on the make-up Sunday 09-20; Saturday 09-19 joins that Sunday's cycle.
    expect(cycleOf('2026-09-18', T1, cnCalendar).payoutDueOn).toBe('2026-09-20');
    expect(cycleOf('2026-09-19', T1, cnCalendar)).toEqual(
      tPlus('T+1:2026-09-20', '2026-09-19', '2026-09-20', '2026-09-21'),
    );
  });

  it('T+3 counts business days only', () => {
    expect(cycleOf('2026-09-29', T3, cnCalendar)).toEqual(
      tPlus('T+3:2026-09-29', '2026-09-29', '2026-09-29', '2026-10-09'),
    );
  });

  it('23:59:59.999 vs 00:00:00.000 local on the eve of National Day land in different cycles', () => {
    const before = cycleOf(cnCalendar.businessDateOf('2026-09-30T23:59:59.999+08:00'), T1, cnCalendar);
    const after = cycleOf(cnCalendar.businessDateOf('2026-10-01T00:00:00.000+08:00'), T1, cnCalendar);
    expect([before.key, before.payoutDueOn]).toEqual(['T+1:2026-09-30', '2026-10-08']);
    expect([after.key, after.payoutDueOn]).toEqual(['T+1:2026-10-08', '2026-10-09']);
    // With a 23:00 cut-off the same boundary moves an hour earlier.
    const late = BusinessCalendar.of({ ...cnCalendar.toConfig(), cutoffLocalTime: '23:00' });
    expect(cycleOf(late.businessDateOf('2026-09-30T22:59:59.999+08:00'), T1, late).key).toBe(
      'T+1:2026-09-30',
    );
    expect(cycleOf(late.businessDateOf('2026-09-30T23:00:00.000+08:00'), T1, late).key).toBe(
      'T+1:2026-10-08',
    );
  });

  it('a DST weekend changes nothing about business days (Europe/Berlin, 2026-03-29)', () => {
    const berlin = BusinessCalendar.of({ zone: 'Europe/Berlin' });
    const sunday = cycleOf(berlin.businessDateOf('2026-03-29T23:59:59.999+02:00'), T1, berlin);
    expect(sunday).toEqual(tPlus('T+1:2026-03-30', '2026-03-28', '2026-03-30', '2026-03-31'));
    expect(cycleOf(berlin.businessDateOf('2026-03-27T23:59:59.999+01:00'), T1, berlin).payoutDueOn).toBe(
      '2026-03-30',
    );
  });
});

describe('weekly and monthly cycles', () => {
  it('WEEKLY: an ISO week, paid on the weekday of the next week', () => {
    expect(cycleOf('2026-11-18', weekly(1), shanghai)).toEqual({
      key: 'W:2026-W47',
      kind: 'WEEKLY',
      firstBusinessDate: '2026-11-16',
      lastBusinessDate: '2026-11-22',
      closesOn: '2026-11-23',
      payoutDueOn: '2026-11-23',
    });
    expect(cycleOf('2026-11-22', weekly(3), shanghai).payoutDueOn).toBe('2026-11-25');
    expect(cycleOf('2026-11-22', weekly(7), shanghai).payoutDueOn).toBe('2026-11-30'); // Sunday rolls to Monday
  });

  it('WEEKLY: a holiday payout day rolls forward; a make-up Saturday is a payout day', () => {
    expect(cycleOf('2026-10-01', weekly(1), cnCalendar).key).toBe('W:2026-W40');
    expect(cycleOf('2026-10-01', weekly(1), cnCalendar).payoutDueOn).toBe('2026-10-08');
    expect(cycleOf('2026-10-01', weekly(6), cnCalendar).payoutDueOn).toBe('2026-10-10');
  });

  it('WEEKLY: ISO week years cross calendar years (2026 has 53 weeks)', () => {
    const w53 = cycleOf('2027-01-01', weekly(1), shanghai);
    expect(w53).toMatchObject({
      key: 'W:2026-W53',
      firstBusinessDate: '2026-12-28',
      lastBusinessDate: '2027-01-03',
    });
    expect(cycleOf('2026-12-28', weekly(1), shanghai)).toEqual(w53);
    expect(nextCycle(w53, weekly(1), shanghai).key).toBe('W:2027-W01');
  });

  it('MONTHLY: a calendar month, paid on the day of the next month, clamped and rolled', () => {
    expect(cycleOf('2026-01-15', monthly(31), shanghai)).toEqual({
      key: 'M:2026-01',
      kind: 'MONTHLY',
      firstBusinessDate: '2026-01-01',
      lastBusinessDate: '2026-01-31',
      closesOn: '2026-03-02', // 31 → Saturday 02-28 → Monday
      payoutDueOn: '2026-03-02',
    });
    expect(cycleOf('2028-01-31', monthly(31), shanghai).payoutDueOn).toBe('2028-02-29');
    expect(cycleOf('2026-09-01', monthly(1), cnCalendar).payoutDueOn).toBe('2026-10-08');
    expect(cycleOf('2026-11-30', monthly(15), shanghai)).toMatchObject({
      key: 'M:2026-11',
      payoutDueOn: '2026-12-15',
    });
    expect(cycleOf('2026-12-31', monthly(15), shanghai)).toMatchObject({
      key: 'M:2026-12',
      payoutDueOn: '2027-01-15',
    });
  });
});

describe('cycle keys', () => {
  it('read back the cycle that made them', () => {
    for (const [date, terms] of [
      ['2026-10-03', T1],
      ['2026-10-03', T3],
      ['2026-10-03', weekly(2)],
      ['2026-10-03', monthly(30)],
    ] as const) {
      const cycle = cycleOf(date, terms, cnCalendar);
      expect(cycleByKey(cycle.key, terms, cnCalendar)).toEqual(cycle);
    }
  });

  it.each([
    ['T+2:2026-11-20', T1, `cycle key "T+2:2026-11-20" is not a T+1 key 'T+1:YYYY-MM-DD'`],
    ['W:2026-W47', T1, `cycle key "W:2026-W47" is not a T+1 key 'T+1:YYYY-MM-DD'`],
    [
      'T+1:2026-11-21',
      T1,
      'cycle key "T+1:2026-11-21" names 2026-11-21, which is not a business day on this calendar',
    ],
    [
      'T+01:2026-11-20',
      T1,
      'cycle key "T+01:2026-11-20" is not canonical; the cycle\'s key is T+1:2026-11-20',
    ],
    [
      'T+1:2026-02-30',
      T1,
      `cycle key "T+1:2026-02-30" is out of range: date: "2026-02-30" is not a calendar date 'YYYY-MM-DD'`,
    ],
    ['W:2025-W53', weekly(1), 'cycle key "W:2025-W53" names no ISO week'],
    ['W:2026-W00', weekly(1), 'cycle key "W:2026-W00" names no ISO week'],
    ['M:2026-13', monthly(1), 'cycle key "M:2026-13" names no month'],
    ['M:2026-1', monthly(1), `cycle key "M:2026-1" is not a monthly key 'M:YYYY-MM'`],
  ])('refuses %j', (key, terms, message) => {
    expect(settlementError(() => cycleByKey(key, terms, shanghai), 'SETTLEMENT.INVALID_CYCLE_KEY')).toBe(
      message,
    );
  });

  it('refuses a malformed business date as input', () => {
    expect(settlementError(() => cycleOf('2026-11-31', T1, shanghai), 'SETTLEMENT.INVALID_INPUT')).toBe(
      `businessDate: "2026-11-31" is not a calendar date 'YYYY-MM-DD'`,
    );
    settlementError(
      () => cycleOf('2026-11-30', { cycle: { kind: 'T_PLUS', days: 0 } }, shanghai),
      'SETTLEMENT.INVALID_TERMS',
    );
  });
});

describe('late-cleared items', () => {
  it('go to their own cycle while it is open, and to the next open cycle once it is closed', () => {
    const place = (isClosed: ReadonlySet<string> | ((key: string) => boolean)) =>
      cycleForLateItem({ naturalCycleKey: 'T+1:2026-09-30', isClosed, terms: T1, calendar: cnCalendar }).key;
    expect(place(new Set())).toBe('T+1:2026-09-30');
    expect(place(new Set(['T+1:2026-09-29']))).toBe('T+1:2026-09-30');
    expect(place(new Set(['T+1:2026-09-30']))).toBe('T+1:2026-10-08');
    expect(place(new Set(['T+1:2026-09-30', 'T+1:2026-10-08', 'T+1:2026-10-09']))).toBe('T+1:2026-10-10');
    expect(place((key) => key <= 'T+1:2026-10-10')).toBe('T+1:2026-10-12');
  });

  it('a late item of a closed month rides the next month, paid with it', () => {
    const cycle = cycleForLateItem({
      naturalCycleKey: 'M:2026-09',
      isClosed: new Set(['M:2026-09']),
      terms: monthly(1),
      calendar: cnCalendar,
    });
    expect(cycle).toMatchObject({ key: 'M:2026-10', payoutDueOn: '2026-11-02' });
  });

  it('gives up loudly when no cycle is open within reach', () => {
    expect(
      settlementError(
        () =>
          cycleForLateItem({
            naturalCycleKey: 'T+1:2026-09-30',
            isClosed: () => true,
            terms: T1,
            calendar: cnCalendar,
          }),
        'SETTLEMENT.NO_OPEN_CYCLE',
      ),
    ).toBe('no open cycle within 1000 cycles after T+1:2026-09-30');
  });
});

describe('properties over random calendars and terms', () => {
  it('cycles tile the calendar: every date in exactly one cycle, closing after it ends, keys read back', () => {
    fc.assert(
      fc.property(calendarArb, cycleRuleArb, dateArb, (calendar, cycle, date) => {
        const terms = { cycle };
        const current = cycleOf(date, terms, calendar);
        const next = nextCycle(current, terms, calendar);
        expect(current.firstBusinessDate <= date && date <= current.lastBusinessDate).toBe(true);
        expect(cycleOf(current.firstBusinessDate, terms, calendar)).toEqual(current);
        expect(cycleOf(current.lastBusinessDate, terms, calendar)).toEqual(current);
        expect(datesBetween(current.lastBusinessDate, next.firstBusinessDate)).toHaveLength(2);
        expect(next.key).not.toBe(current.key);
        expect(current.closesOn > current.lastBusinessDate).toBe(true);
        expect(calendar.isBusinessDay(current.closesOn) && calendar.isBusinessDay(current.payoutDueOn)).toBe(
          true,
        );
        expect(current.payoutDueOn >= current.closesOn).toBe(true);
        expect(next.closesOn >= current.closesOn).toBe(true);
        expect(cycleByKey(current.key, terms, calendar)).toEqual(current);
        if (cycle.kind === 'T_PLUS') {
          // Only the last date is a business day: the non-business days before it rolled into it.
          const dates = datesBetween(current.firstBusinessDate, current.lastBusinessDate);
          expect(dates.map((d) => calendar.isBusinessDay(d))).toEqual(
            dates.map((_, i) => i === dates.length - 1),
          );
          expect(current.payoutDueOn).toBe(calendar.addBusinessDays(current.lastBusinessDate, cycle.days));
        }
      }),
    );
  });

  it('a late item lands in the first open cycle at or after its own, never a closed one', () => {
    fc.assert(
      fc.property(
        calendarArb,
        cycleRuleArb,
        dateArb,
        fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
        (calendar, cycle, date, closedFlags) => {
          const terms = { cycle };
          // The natural cycle and the ones after it, closed or open at random (closing order need not hold).
          const run: SettlementCycle[] = [cycleOf(date, terms, calendar)];
          while (run.length < closedFlags.length + 1)
            run.push(nextCycle(run[run.length - 1]!, terms, calendar));
          const closed = new Set(run.filter((_, i) => closedFlags[i] === true).map((c) => c.key));
          const placed = cycleForLateItem({
            naturalCycleKey: run[0]!.key,
            isClosed: closed,
            terms,
            calendar,
          });
          expect(closed.has(placed.key)).toBe(false);
          expect(placed).toEqual(run.find((c) => !closed.has(c.key)));
        },
      ),
    );
  });
});
