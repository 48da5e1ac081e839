import { describe, expect, it } from '@jest/globals';
import { InvariantError, Money } from '@app/contracts';
import fc from 'fast-check';
import { type PayoutAccount, checkInflowLimits, maskAccountNo } from './payout-account.js';

const typeII: PayoutAccount = {
  bank: 'ICBC',
  accountNo: '6222020200112233445',
  holder: '张三',
  type: 'PERSONAL_TYPE_II',
};

const cny = (amount: string): Money => Money.of(amount, 'CNY');
const soFar = (today: string, year: string) => ({ receivedToday: cny(today), receivedThisYear: cny(year) });

describe('checkInflowLimits: personal type-II account (CNY 10,000.00 a day, 200,000.00 a year)', () => {
  it('a payout that fits: ok, with the room each limit had', () => {
    expect(checkInflowLimits(typeII, cny('2000.00'), soFar('8000.00', '50000.00'))).toEqual({
      ok: true,
      limits: [
        { period: 'DAILY', limit: cny('10000.00'), received: cny('8000.00'), room: cny('2000.00') },
        { period: 'YEARLY', limit: cny('200000.00'), received: cny('50000.00'), room: cny('150000.00') },
      ],
    });
  });

  it('one fen over the daily limit: refused naming the daily limit, the figures and the room', () => {
    const check = checkInflowLimits(typeII, cny('2000.01'), soFar('8000.00', '50000.00'));
    expect(check).toEqual({
      ok: false,
      code: 'INFLOW_LIMIT_EXCEEDED',
      exceeded: [{ period: 'DAILY', limit: cny('10000.00'), received: cny('8000.00'), room: cny('2000.00') }],
      message:
        'a payout of 2000.01 CNY to personal type-II account (Ⅱ类户) ****3445 at ICBC exceeds the daily inflow limit of 10000.00 CNY (8000.00 already received today, 2000.00 left)',
    });
  });

  it('the yearly limit: 199,500.00 received this year leaves 500.00', () => {
    const check = checkInflowLimits(typeII, cny('600.00'), soFar('0.00', '199500.00'));
    expect(check).toMatchObject({
      ok: false,
      exceeded: [{ period: 'YEARLY', room: cny('500.00') }],
      message:
        'a payout of 600.00 CNY to personal type-II account (Ⅱ类户) ****3445 at ICBC exceeds the yearly inflow limit of 200000.00 CNY (199500.00 already received this year, 500.00 left)',
    });
  });

  it('both limits at once are both named, daily first', () => {
    const check = checkInflowLimits(typeII, cny('12000.00'), soFar('0.00', '195000.00'));
    expect(check.ok).toBe(false);
    if (check.ok || check.code !== 'INFLOW_LIMIT_EXCEEDED') return;
    expect(check.exceeded.map((f) => [f.period, f.room.toString()])).toEqual([
      ['DAILY', '10000.00'],
      ['YEARLY', '5000.00'],
    ]);
    expect(check.message).toContain('exceeds the daily inflow limit');
    expect(check.message).toContain(' and the yearly inflow limit');
  });

  it('exactly the limit is allowed (the limits are inclusive)', () => {
    expect(checkInflowLimits(typeII, cny('10000.00'), soFar('0.00', '0.00')).ok).toBe(true);
    expect(checkInflowLimits(typeII, cny('3000.00'), soFar('0.00', '197000.00')).ok).toBe(true);
  });

  it('already over the limit (inflows from elsewhere counted in): room is 0.00, not negative', () => {
    expect(checkInflowLimits(typeII, cny('0.01'), soFar('10500.00', '10500.00'))).toMatchObject({
      ok: false,
      exceeded: [{ period: 'DAILY', room: cny('0.00') }],
    });
  });

  it('a type-II account takes CNY only', () => {
    expect(checkInflowLimits(typeII, Money.of('10.00', 'USD'), soFar('0.00', '0.00'))).toEqual({
      ok: false,
      code: 'CURRENCY_NOT_ACCEPTED',
      message:
        'a USD payout cannot go to personal type-II account (Ⅱ类户) ****3445 at ICBC: it takes CNY only',
    });
  });

  it('corporate and type-I accounts have no inflow limit', () => {
    for (const type of ['CORPORATE', 'PERSONAL_TYPE_I'] as const) {
      expect(
        checkInflowLimits({ ...typeII, type }, cny('5000000.00'), soFar('90000.00', '900000.00')),
      ).toEqual({ ok: true, limits: [] });
    }
  });

  it('wrong figures are the caller’s bug', () => {
    expect(() => checkInflowLimits(typeII, cny('0.00'), soFar('0.00', '0.00'))).toThrow(InvariantError);
    expect(() => checkInflowLimits(typeII, cny('1.00'), soFar('5.00', '4.00'))).toThrow(
      'inflow today (5.00) cannot exceed inflow this year (4.00)',
    );
    expect(() =>
      checkInflowLimits(typeII, cny('1.00'), {
        receivedToday: Money.of('1.00', 'USD'),
        receivedThisYear: cny('5.00'),
      }),
    ).toThrow(InvariantError);
  });

  it('property: ok exactly when today + amount ≤ 10,000.00 and year + amount ≤ 200,000.00', () => {
    const fen = (max: number) => fc.integer({ min: 0, max });
    const money = (units: number): Money => Money.fromMinorUnits(BigInt(units), 'CNY');
    fc.assert(
      fc.property(fen(1_500_000), fen(1_500_000), fen(25_000_000), (amountFenFrom0, todayFen, extraFen) => {
        const amountFen = amountFenFrom0 + 1;
        const yearFen = todayFen + extraFen;
        const check = checkInflowLimits(typeII, money(amountFen), {
          receivedToday: money(todayFen),
          receivedThisYear: money(yearFen),
        });
        const dailyOk = todayFen + amountFen <= 1_000_000;
        const yearlyOk = yearFen + amountFen <= 20_000_000;
        expect(check.ok).toBe(dailyOk && yearlyOk);
        if (!check.ok && check.code === 'INFLOW_LIMIT_EXCEEDED') {
          expect(check.exceeded.map((f) => f.period)).toEqual([
            ...(dailyOk ? [] : ['DAILY']),
            ...(yearlyOk ? [] : ['YEARLY']),
          ]);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('maskAccountNo', () => {
  it('keeps the last four digits only', () => {
    expect(maskAccountNo('6222020200112233445')).toBe('****3445');
    expect(maskAccountNo('1234')).toBe('****');
  });
});
