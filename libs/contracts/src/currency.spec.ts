import {
  CURRENCY_CODES,
  isCurrencyCode,
  minorUnitByCurrency,
  minorUnitOf,
  parseCurrencyCode,
} from './currency.js';
import { MoneyError } from './errors.js';

describe('currency', () => {
  it.each([
    ['CNY', 2],
    ['USD', 2],
    ['EUR', 2],
    ['HKD', 2],
    ['GBP', 2],
    ['SGD', 2],
    ['AUD', 2],
    ['CAD', 2],
    ['CHF', 2],
    ['TWD', 2],
    ['IDR', 2],
    ['HUF', 2],
    ['JPY', 0],
    ['KRW', 0],
    ['VND', 0],
    ['CLP', 0],
    ['ISK', 0],
    ['BHD', 3],
    ['KWD', 3],
    ['JOD', 3],
    ['TND', 3],
    ['OMR', 3],
    ['IQD', 3],
    ['LYD', 3],
    ['CLF', 4],
  ] as const)('%s has %i minor units (ISO 4217, not CLDR display digits)', (code, unit) => {
    expect(minorUnitOf(code)).toBe(unit);
    expect(isCurrencyCode(code)).toBe(true);
  });

  it.each(['XXX', 'cny', 'Cny', 'CN', 'CNYY', '', 'toString', '__proto__', 'HRK', 'XAU'])(
    'refuses %j with a typed MONEY.UNKNOWN_CURRENCY error',
    (code) => {
      expect(isCurrencyCode(code)).toBe(false);
      expect(minorUnitByCurrency(code)).toBeUndefined();
      const error = captureError(() => minorUnitOf(code));
      expect(error).toBeInstanceOf(MoneyError);
      expect((error as MoneyError).code).toBe('MONEY.UNKNOWN_CURRENCY');
      expect((error as MoneyError).message).toBe(
        `unknown currency ${JSON.stringify(code)}: not an active ISO 4217 code`,
      );
    },
  );

  it('isCurrencyCode and parseCurrencyCode take any input without throwing a TypeError', () => {
    for (const value of [null, undefined, 156, {}, ['CNY']]) {
      expect(isCurrencyCode(value)).toBe(false);
      expect(() => parseCurrencyCode(value)).toThrow(MoneyError);
    }
    expect(parseCurrencyCode('JPY')).toBe('JPY');
  });

  it('lists codes sorted, unique, three upper-case letters', () => {
    expect([...CURRENCY_CODES]).toEqual([...CURRENCY_CODES].sort());
    expect(new Set(CURRENCY_CODES).size).toBe(CURRENCY_CODES.length);
    for (const code of CURRENCY_CODES) expect(code).toMatch(/^[A-Z]{3}$/);
    expect(CURRENCY_CODES.length).toBe(164);
    expect(Object.isFrozen(CURRENCY_CODES)).toBe(true);
  });
});

function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
