import { describe, expect, it } from '@jest/globals';
import { Money } from '@app/contracts';
import fc from 'fast-check';
import { BusinessCalendar } from '../calendar/business-calendar.js';
import { calendarArb, cnCalendar, datesBetween } from '../calendar/calendar-test-support.js';
import { cycleRuleArb, reserveRuleArb } from './cycle-test-support.js';
import {
  type ReserveHold,
  type SettlementAmountInput,
  releasableReserves,
  reserveReleaseDate,
  settlementAmount,
} from './settlement-amount.js';
import { type SettlementCycle, cycleForLateItem, cycleOf, nextCycle } from './settlement-cycle.js';
import { SettlementError, type SettlementErrorCode } from './settlement-error.js';

const base: SettlementAmountInput = {
  currency: 'CNY',
  items: [],
  carriedForward: '0',
  reserveReleasedNow: '0',
  minimumPayout: '0',
};
const nets = (...values: string[]) => values.map((net) => ({ net }));

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

describe('settlementAmount: worked examples', () => {
  it('pays Σ net of payments and refunds', () => {
    expect(settlementAmount({ ...base, items: nets('100.00', '50.00', '-30.00') })).toEqual({
      currency: 'CNY',
      itemsNet: '120.00',
      carriedForward: '0.00',
      reserveHeld: '0.00',
      reserveReleased: '0.00',
      amount: '120.00',
      payable: '120.00',
      carryForward: '0.00',
    });
  });

  it('below the minimum payout the whole amount carries to the next cycle, which pays it', () => {
    const first = settlementAmount({ ...base, minimumPayout: '50.00', items: nets('30.00') });
    expect([first.payable, first.carryForward]).toEqual(['0.00', '30.00']);
    const second = settlementAmount({
      ...base,
      minimumPayout: '50.00',
      items: nets('25.00'),
      carriedForward: first.carryForward,
    });
    expect(second).toMatchObject({
      itemsNet: '25.00',
      amount: '55.00',
      payable: '55.00',
      carryForward: '0.00',
    });
    // The minimum itself pays; a fen less does not.
    expect(settlementAmount({ ...base, minimumPayout: '50.00', items: nets('50.00') }).payable).toBe('50.00');
    expect(settlementAmount({ ...base, minimumPayout: '50.00', items: nets('49.99') }).carryForward).toBe(
      '49.99',
    );
  });

  it('a negative net (refunds above sales) is carried forward, not paid, and recovered next cycle', () => {
    const first = settlementAmount({
      ...base,
      items: nets('10.00', '-80.00'),
      reserve: { rate: '0.10', holdDays: 90 },
    });
    expect(first).toMatchObject({
      itemsNet: '-70.00',
      reserveHeld: '0.00',
      payable: '0.00',
      carryForward: '-70.00',
    });
    const second = settlementAmount({ ...base, items: nets('100.00'), carriedForward: first.carryForward });
    expect(second).toMatchObject({ amount: '30.00', payable: '30.00', carryForward: '0.00' });
    // Zero pays nothing and carries nothing.
    expect(settlementAmount({ ...base, items: nets('5.00', '-5.00') })).toMatchObject({
      payable: '0.00',
      carryForward: '0.00',
    });
  });

  it('rolling reserve: 10% of a positive net is held, released 90 days on (rolled to a business day)', () => {
    const reserve = { rate: '0.10', holdDays: 90 };
    const held = settlementAmount({ ...base, items: nets('1000.00'), reserve });
    expect(held).toMatchObject({ reserveHeld: '100.00', amount: '900.00', payable: '900.00' });

    // Held by the cycle closing Monday 2026-07-06; 90 days on is Sunday 10-04, inside National Day.
    const releaseOn = reserveReleaseDate('2026-07-06', 90, cnCalendar);
    expect(releaseOn).toBe('2026-10-08');
    const holds: ReserveHold[] = [{ amount: held.reserveHeld, releaseOn }];
    expect(releasableReserves(holds, '2026-09-30', 'CNY')).toEqual({ released: '0.00', stillHeld: holds });
    const due = releasableReserves(holds, '2026-10-08', 'CNY');
    expect(due).toEqual({ released: '100.00', stillHeld: [] });

    const releasing = settlementAmount({
      ...base,
      items: nets('200.00'),
      reserve,
      reserveReleasedNow: due.released,
    });
    expect(releasing).toMatchObject({
      reserveHeld: '20.00',
      reserveReleased: '100.00',
      amount: '280.00',
      payable: '280.00',
    });
    // A release offsets a negative cycle first.
    const offsetting = settlementAmount({
      ...base,
      items: nets('-50.00'),
      reserve,
      reserveReleasedNow: '100.00',
    });
    expect(offsetting).toMatchObject({ reserveHeld: '0.00', amount: '50.00', payable: '50.00' });
  });

  it('rounds the reserve HALF_UP to the minor unit (CNY, JPY, BHD)', () => {
    expect(
      settlementAmount({ ...base, items: nets('0.05'), reserve: { rate: '0.1', holdDays: 1 } }),
    ).toMatchObject({
      reserveHeld: '0.01',
      payable: '0.04',
    });
    const jpy = settlementAmount({
      ...base,
      currency: 'JPY',
      items: nets('150'),
      reserve: { rate: '0.03', holdDays: 1 },
    });
    expect(jpy).toMatchObject({ reserveHeld: '5', payable: '145' });
    const bhd = settlementAmount({
      ...base,
      currency: 'BHD',
      items: nets('1.001'),
      reserve: { rate: '0.025', holdDays: 1 },
    });
    expect(bhd).toMatchObject({ reserveHeld: '0.025', payable: '0.976' });
  });

  it('reads database numerics by value ("12.3000" is 12.30 CNY)', () => {
    expect(settlementAmount({ ...base, items: nets('12.3000') }).payable).toBe('12.30');
  });

  it.each([
    [
      { ...base, currency: 'RMB' },
      'SETTLEMENT.INVALID_INPUT',
      'currency: "RMB" is not an ISO 4217 currency code',
    ],
    [
      { ...base, items: nets('1.001') },
      'SETTLEMENT.INVALID_INPUT',
      'items[0].net: 1.001 has 3 fraction digits; CNY allows at most 2',
    ],
    [
      { ...base, items: [{ net: 100 as unknown as string }] },
      'SETTLEMENT.INVALID_INPUT',
      'items[0].net: must be a decimal string, got 100',
    ],
    [
      { ...base, items: nets('1e3') },
      'SETTLEMENT.INVALID_INPUT',
      /^items\[0\]\.net: "1e3" is not a plain decimal string/,
    ],
    [
      { ...base, reserveReleasedNow: '-1.00' },
      'SETTLEMENT.INVALID_INPUT',
      'reserveReleasedNow: must not be negative, got -1.00',
    ],
    [
      { ...base, minimumPayout: '-0.01' },
      'SETTLEMENT.INVALID_INPUT',
      'minimumPayout: must not be negative, got -0.01',
    ],
    [
      { ...base, reserve: { rate: '1.5', holdDays: 1 } },
      'SETTLEMENT.INVALID_TERMS',
      'settlement terms: reserve.rate: must be strictly between 0 and 1, got 1.5',
    ],
  ] as const)('refuses %j', (input, code, message) => {
    const text = settlementError(() => settlementAmount(input), code);
    if (typeof message === 'string') expect(text).toBe(message);
    else expect(text).toMatch(message);
  });

  it('refuses a bad reserve schedule input', () => {
    settlementError(() => reserveReleaseDate('2026-07-06', 0, cnCalendar), 'SETTLEMENT.INVALID_INPUT');
    settlementError(() => reserveReleaseDate('2026-07-32', 90, cnCalendar), 'SETTLEMENT.INVALID_INPUT');
    settlementError(
      () => releasableReserves([{ amount: '1.00', releaseOn: 'soon' }], '2026-07-06', 'CNY'),
      'SETTLEMENT.INVALID_INPUT',
    );
    settlementError(
      () => releasableReserves([{ amount: '-1.00', releaseOn: '2026-07-06' }], '2026-07-06', 'CNY'),
      'SETTLEMENT.INVALID_INPUT',
    );
  });
});

const CURRENCIES = ['CNY', 'JPY', 'BHD'] as const;
const unitsArb = (max: bigint) => fc.bigInt({ min: -max, max });
const text = (units: bigint, currency: string) => Money.fromMinorUnits(units, currency).toString();
const unitsOf = (amount: string, currency: string) => Money.of(amount, currency).toMinorUnits();

describe('settlementAmount: properties', () => {
  it('payable ≥ 0, payable is 0 or ≥ the minimum, and payable + carryForward conserves the amount', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CURRENCIES),
        fc.array(unitsArb(10_000_000n), { maxLength: 20 }),
        unitsArb(5_000_000n),
        fc.bigInt({ min: 0n, max: 1_000_000n }),
        fc.bigInt({ min: 0n, max: 2_000_000n }),
        fc.option(reserveRuleArb, { nil: undefined }),
        (currency, itemUnits, carried, released, minimum, reserve) => {
          const result = settlementAmount({
            currency,
            items: itemUnits.map((u) => ({ net: text(u, currency) })),
            carriedForward: text(carried, currency),
            reserve,
            reserveReleasedNow: text(released, currency),
            minimumPayout: text(minimum, currency),
          });
          const payable = unitsOf(result.payable, currency);
          const carry = unitsOf(result.carryForward, currency);
          const itemsNet = itemUnits.reduce((a, b) => a + b, 0n);
          const held = unitsOf(result.reserveHeld, currency);
          expect(unitsOf(result.itemsNet, currency)).toBe(itemsNet);
          expect(payable >= 0n).toBe(true);
          expect(payable === 0n || payable >= minimum).toBe(true);
          expect(payable === 0n || carry === 0n).toBe(true);
          expect(payable + carry).toBe(itemsNet + carried - held + released);
          expect(held >= 0n && held <= (itemsNet > 0n ? itemsNet : 0n)).toBe(true);
          if (reserve === undefined || itemsNet <= 0n) expect(held).toBe(0n);
        },
      ),
    );
  });

  it('nothing is created or lost over a run of cycles with late items, carry-forwards and reserves', () => {
    const itemArb = fc.record({
      offset: fc.integer({ min: 0, max: 120 }), // days after 2026-08-01
      net: unitsArb(500_000n),
      lag: fc.integer({ min: 0, max: 3 }), // closes it misses before it is cleared
    });
    fc.assert(
      fc.property(
        calendarArb,
        cycleRuleArb,
        fc.option(reserveRuleArb, { nil: undefined }),
        fc.bigInt({ min: 0n, max: 300_000n }),
        fc.array(itemArb, { maxLength: 60 }),
        (calendar, cycleRule, reserve, minimum, rawItems) => {
          const currency = 'CNY';
          const terms = { cycle: cycleRule };
          const dates = datesBetween('2026-08-01', '2026-11-29');
          // The run of cycles from the first item date, long enough for every lag and reserve release.
          const run: SettlementCycle[] = [cycleOf(dates[0]!, terms, calendar)];
          while (run.length < 6 || run[run.length - 5]!.lastBusinessDate < dates[dates.length - 1]!) {
            run.push(nextCycle(run[run.length - 1]!, terms, calendar));
          }
          const indexOf = new Map(run.map((c, i) => [c.key, i]));
          const itemsByCycle = run.map((): { net: string }[] => []);
          for (const item of rawItems) {
            const natural = indexOf.get(cycleOf(dates[item.offset]!, terms, calendar).key)!;
            // The item is cleared just before cycle natural + lag closes: every earlier cycle is closed.
            const arrival = natural + item.lag;
            const placed = cycleForLateItem({
              naturalCycleKey: run[natural]!.key,
              isClosed: (key) => indexOf.get(key)! < arrival,
              terms,
              calendar,
            });
            expect(indexOf.get(placed.key)).toBe(arrival);
            itemsByCycle[arrival]!.push({ net: text(item.net, currency) });
          }

          let carried = '0.00';
          let holds: ReserveHold[] = [];
          let paid = 0n;
          run.forEach((cycle, i) => {
            const due = releasableReserves(holds, cycle.closesOn, currency);
            holds = due.stillHeld;
            const result = settlementAmount({
              currency,
              items: itemsByCycle[i]!,
              carriedForward: carried,
              reserve,
              reserveReleasedNow: due.released,
              minimumPayout: text(minimum, currency),
            });
            if (reserve !== undefined && result.reserveHeld !== '0.00') {
              const releaseOn = reserveReleaseDate(cycle.closesOn, reserve.holdDays, calendar);
              expect(releaseOn > cycle.closesOn).toBe(true);
              holds.push({ amount: result.reserveHeld, releaseOn });
            }
            paid += unitsOf(result.payable, currency);
            carried = result.carryForward;
          });

          const stillHeld = holds.reduce((sum, h) => sum + unitsOf(h.amount, currency), 0n);
          const allNets = rawItems.reduce((sum, item) => sum + item.net, 0n);
          expect(itemsByCycle.flat()).toHaveLength(rawItems.length);
          expect(paid + unitsOf(carried, currency) + stillHeld).toBe(allNets);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('a worked month under T+1 with a minimum payout and a reserve (China, National Day 2026)', () => {
  it('carries, holds and pays exactly', () => {
    const calendar = BusinessCalendar.of(cnCalendar.toConfig());
    const terms = { cycle: { kind: 'T_PLUS', days: 1 } as const };
    const reserve = { rate: '0.05', holdDays: 7 };
    const cycles = ['2026-09-30', '2026-10-03', '2026-10-09', '2026-10-10'].map((d) =>
      cycleOf(d, terms, calendar),
    );
    expect(cycles.map((c) => [c.key, c.closesOn])).toEqual([
      ['T+1:2026-09-30', '2026-10-08'],
      ['T+1:2026-10-08', '2026-10-09'],
      ['T+1:2026-10-09', '2026-10-10'],
      ['T+1:2026-10-10', '2026-10-12'],
    ]);
    const items = [nets('300.00', '-20.00'), nets('40.00'), nets('-100.00'), nets('500.00')];
    let carried = '0';
    let holds: ReserveHold[] = [];
    const rows = cycles.map((cycle, i) => {
      const due = releasableReserves(holds, cycle.closesOn, 'CNY');
      holds = due.stillHeld;
      const r = settlementAmount({
        currency: 'CNY',
        items: items[i]!,
        carriedForward: carried,
        reserve,
        reserveReleasedNow: due.released,
        minimumPayout: '100.00',
      });
      if (r.reserveHeld !== '0.00') {
        holds.push({
          amount: r.reserveHeld,
          releaseOn: reserveReleaseDate(cycle.closesOn, reserve.holdDays, calendar),
        });
      }
      carried = r.carryForward;
      return [r.itemsNet, r.reserveHeld, r.reserveReleased, r.payable, r.carryForward];
    });
    expect(rows).toEqual([
      ['280.00', '14.00', '0.00', '266.00', '0.00'], // held until 10-15
      ['40.00', '2.00', '0.00', '0.00', '38.00'], // below 100.00: carried; held until 10-16
      ['-100.00', '0.00', '0.00', '0.00', '-62.00'], // a negative cycle: carried, nothing held
      ['500.00', '25.00', '0.00', '413.00', '0.00'],
    ]);
    expect(holds).toEqual([
      { amount: '14.00', releaseOn: '2026-10-15' },
      { amount: '2.00', releaseOn: '2026-10-16' },
      { amount: '25.00', releaseOn: '2026-10-19' },
    ]);
    // Conservation: 266.00 + 413.00 paid, 0.00 carried, 41.00 held = 280.00 + 40.00 − 100.00 + 500.00.
    const sum = (values: string[]) =>
      values.reduce((total, v) => total.plus(Money.of(v, 'CNY')), Money.zero('CNY'));
    const outcome = sum([...rows.map((r) => r[3]!), carried, ...holds.map((h) => h.amount)]);
    expect(outcome.toString()).toBe('720.00');
    expect(sum(items.flat().map((item) => item.net)).toString()).toBe('720.00');
  });
});
