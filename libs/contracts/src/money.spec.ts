import { Decimal } from 'decimal.js';
import fc from 'fast-check';
import { CURRENCY_CODES, minorUnitOf } from './currency.js';
import { InvariantError, MoneyError, type MoneyErrorCode } from './errors.js';
import {
  AMOUNT_MAX_MINOR_UNITS,
  DECIMAL_STRING_PATTERN,
  MONEY_MAX_INTEGER_DIGITS,
  amountBoundError,
  amountMaxOf,
  Money,
  MoneyDecimal,
  formatMinorUnits,
  parseDecimalString,
  parseMinorUnits,
} from './money.js';

function moneyError(fn: () => unknown): MoneyError {
  try {
    fn();
  } catch (error) {
    if (error instanceof MoneyError) return error;
    throw error;
  }
  throw new Error('expected a MoneyError');
}

function expectCode(fn: () => unknown, code: MoneyErrorCode): MoneyError {
  const error = moneyError(fn);
  expect(error.code).toBe(code);
  return error;
}

// Arithmetic is tested over the whole range Money holds (sums), not only one item's bound.
const cny = (amount: string) => Money.parse(amount, 'CNY', { allowNegative: true, sum: true });

describe('Money.parse', () => {
  it.each([
    ['100', 'CNY', '100.00'],
    ['100.5', 'CNY', '100.50'],
    ['100.50', 'CNY', '100.50'],
    ['0.01', 'CNY', '0.01'],
    ['239.54', 'CNY', '239.54'],
    ['100', 'JPY', '100'],
    ['1', 'BHD', '1.000'],
    ['1.25', 'BHD', '1.250'],
    ['0.001', 'KWD', '0.001'],
    ['9999999999999.99', 'USD', '9999999999999.99'],
    ['999999999999999', 'JPY', '999999999999999'],
    ['99999999999.9999', 'CLF', '99999999999.9999'],
  ])('accepts %j %s and prints it at the currency scale as %j', (amount, currency, printed) => {
    const money = Money.parse(amount, currency);
    expect(money.toString()).toBe(printed);
    expect(money.currency).toBe(currency);
  });

  it('refuses a JSON number with a message naming it, whatever its value', () => {
    for (const value of [239.54, 100, 0, -1, Number.NaN]) {
      const error = expectCode(() => Money.parse(value, 'CNY'), 'MONEY.NOT_A_STRING');
      expect(error.message).toBe(`must be a decimal string, got a JSON number (${String(value)})`);
    }
  });

  it.each([
    [null, 'must be a decimal string, got null'],
    [undefined, 'must be a decimal string, got undefined'],
    [true, 'must be a decimal string, got true'],
    [{}, 'must be a decimal string, got an object'],
    [['1.00'], 'must be a decimal string, got an array'],
    [1n, 'must be a decimal string, got 1n'],
  ])('refuses the non-string %p', (value, message) => {
    expect(expectCode(() => Money.parse(value, 'CNY'), 'MONEY.NOT_A_STRING').message).toBe(message);
  });

  it.each([
    '1e3',
    '1E3',
    '',
    ' 1',
    '1 ',
    '+1',
    '007',
    '00.1',
    '01',
    '1.',
    '.5',
    '1,00',
    '1_000',
    '0x10',
    'Infinity',
    'NaN',
    '--1',
    '-',
    '1.2.3',
    '١٢',
    '１２',
    '12\n',
    '-.5',
    '1e-2',
  ])('refuses the malformed string %j, naming it', (value) => {
    const error = expectCode(() => Money.parse(value, 'CNY'), 'MONEY.MALFORMED');
    expect(error.message).toBe(
      `${JSON.stringify(value)} is not a plain decimal string (digits with an optional '-' and '.'; no exponent, '+', spaces or leading zeros)`,
    );
  });

  it('bounds the length of what it will look at', () => {
    const long = '1'.repeat(65);
    expect(expectCode(() => Money.parse(long, 'CNY'), 'MONEY.MALFORMED').message).toContain(
      'is 65 characters long',
    );
  });

  it.each([
    ['1.005', 'CNY', '"1.005" has 3 fraction digits; CNY allows at most 2'],
    ['1.000', 'CNY', '"1.000" has 3 fraction digits; CNY allows at most 2'],
    ['100.5', 'JPY', '"100.5" has 1 fraction digit; JPY allows at most 0'],
    ['100.0', 'JPY', '"100.0" has 1 fraction digit; JPY allows at most 0'],
    ['1.0005', 'BHD', '"1.0005" has 4 fraction digits; BHD allows at most 3'],
  ])(
    'refuses %j %s as too precise: the literal is judged, not only its value',
    (amount, currency, message) => {
      expect(expectCode(() => Money.parse(amount, currency), 'MONEY.TOO_PRECISE').message).toBe(message);
    },
  );

  it('refuses negatives unless allowed, and then keeps the sign', () => {
    expect(expectCode(() => Money.parse('-1.00', 'CNY'), 'MONEY.NEGATIVE').message).toBe(
      '"-1.00" is negative; a non-negative amount is required',
    );
    expect(Money.parse('-1.00', 'CNY', { allowNegative: true }).toString()).toBe('-1.00');
    expect(Money.parse('-0.5', 'CNY', { allowNegative: true }).isNegative()).toBe(true);
  });

  it('accepts zero by default and refuses it when asked', () => {
    expect(Money.parse('0', 'CNY').toString()).toBe('0.00');
    expect(Money.parse('0.00', 'CNY').isZero()).toBe(true);
    expect(expectCode(() => Money.parse('0.00', 'CNY', { allowZero: false }), 'MONEY.ZERO').message).toBe(
      '"0.00" is zero; a non-zero amount is required',
    );
  });

  it('reads "-0" as zero, never as a negative or a "-0.00"', () => {
    const zero = Money.parse('-0.00', 'CNY');
    expect(zero.toString()).toBe('0.00');
    expect(zero.isNegative()).toBe(false);
    expect(zero.isZero()).toBe(true);
    expectCode(() => Money.parse('-0', 'CNY', { allowZero: false }), 'MONEY.ZERO');
  });

  it(`refuses a sum of more than ${MONEY_MAX_INTEGER_DIGITS} integer digits`, () => {
    const max = '9'.repeat(MONEY_MAX_INTEGER_DIGITS);
    expect(Money.parse(max, 'CNY', { sum: true }).toString()).toBe(`${max}.00`);
    expect(Money.parse(`-${max}.99`, 'CNY', { allowNegative: true, sum: true }).toString()).toBe(
      `-${max}.99`,
    );
    expect(expectCode(() => Money.parse(`1${max}`, 'CNY', { sum: true }), 'MONEY.TOO_LARGE').message).toBe(
      `"1${max}" exceeds the largest supported amount (30 integer digits)`,
    );
  });

  it('refuses one amount beyond AMOUNT_MAX_MINOR_UNITS (10^15 − 1 minor units) in every currency', () => {
    expect(AMOUNT_MAX_MINOR_UNITS).toBe(10n ** 15n - 1n);
    for (const code of CURRENCY_CODES) {
      const max = amountMaxOf(code);
      expect(Money.parse(max, code).toMinorUnits()).toBe(AMOUNT_MAX_MINOR_UNITS);
      expect(Money.parse(`-${max}`, code, { allowNegative: true }).toMinorUnits()).toBe(
        -AMOUNT_MAX_MINOR_UNITS,
      );
      const over = Money.fromMinorUnits(AMOUNT_MAX_MINOR_UNITS + 1n, code).toString();
      expect(expectCode(() => Money.parse(over, code), 'MONEY.TOO_LARGE').message).toBe(
        `"${over}" exceeds the largest amount one item may carry (${max} ${code}, 15 digits in minor units)`,
      );
      // A sum may go past it: the bound is on one item, Money holds the totals.
      expect(Money.parse(over, code, { sum: true }).toMinorUnits()).toBe(AMOUNT_MAX_MINOR_UNITS + 1n);
    }
    expect(amountMaxOf('CNY')).toBe('9999999999999.99');
    expect(amountMaxOf('JPY')).toBe('999999999999999');
    expect(amountMaxOf('BHD')).toBe('999999999999.999');
    const thirty = '9'.repeat(30);
    expect(Money.validate(thirty, 'CNY')?.message).toBe(
      `"${thirty}" exceeds the largest amount one item may carry (9999999999999.99 CNY, 15 digits in minor units)`,
    );
  });

  it('amountBoundError judges a derived value (an order value) against the same bound', () => {
    const max = Money.parse('9999999999999.99', 'CNY');
    expect(amountBoundError(max)).toBeUndefined();
    expect(amountBoundError(max.negated())).toBeUndefined();
    expect(amountBoundError(max.plus(Money.parse('0.01', 'CNY')))?.code).toBe('MONEY.TOO_LARGE');
  });

  it('refuses an unknown currency before looking at the amount', () => {
    expectCode(() => Money.parse('1.00', 'XXX'), 'MONEY.UNKNOWN_CURRENCY');
    expectCode(() => Money.parse(1, 'cny'), 'MONEY.UNKNOWN_CURRENCY');
  });

  it('validate applies the same rules without throwing or building', () => {
    expect(Money.validate('239.54', 'CNY')).toBeUndefined();
    expect(Money.validate('1.005', 'CNY')?.code).toBe('MONEY.TOO_PRECISE');
    expect(Money.validate(239.54, 'CNY')?.code).toBe('MONEY.NOT_A_STRING');
    expect(Money.validate('0', 'CNY', { allowZero: false })?.code).toBe('MONEY.ZERO');
    expect(Money.validate('1', 'XXX')?.code).toBe('MONEY.UNKNOWN_CURRENCY');
  });
});

describe('Money.of / ofRounded / zero / fromMinorUnits', () => {
  it('of judges the value: a database numeric with trailing zeros is fine', () => {
    expect(Money.of('12.3000', 'CNY').toString()).toBe('12.30');
    expect(Money.of(new Decimal('1.50'), 'CNY').toString()).toBe('1.50');
    expect(Money.of(new MoneyDecimal('-3'), 'JPY').toString()).toBe('-3');
    expect(Money.of('100.000', 'JPY').toString()).toBe('100');
  });

  it('of never rounds', () => {
    expect(expectCode(() => Money.of('12.345', 'CNY'), 'MONEY.TOO_PRECISE').message).toBe(
      '12.345 has 3 fraction digits; CNY allows at most 2',
    );
    expectCode(() => Money.of(new Decimal('1.5'), 'JPY'), 'MONEY.TOO_PRECISE');
    expectCode(() => Money.of(new Decimal(Number.NaN), 'CNY'), 'MONEY.MALFORMED');
    expectCode(() => Money.of(new Decimal(Number.POSITIVE_INFINITY), 'CNY'), 'MONEY.MALFORMED');
    expectCode(() => Money.of('1e3', 'CNY'), 'MONEY.MALFORMED');
    expectCode(() => Money.of(new Decimal('1e30'), 'CNY'), 'MONEY.TOO_LARGE');
  });

  it('of refuses a JS number as a programmer error', () => {
    expect(() => Money.of(1.5 as unknown as string, 'CNY')).toThrow(InvariantError);
  });

  it.each([
    ['1.005', 'HALF_UP', '1.01'],
    ['1.005', 'HALF_EVEN', '1.00'],
    ['1.015', 'HALF_EVEN', '1.02'],
    ['1.005', 'HALF_DOWN', '1.00'],
    ['1.001', 'UP', '1.01'],
    ['1.009', 'DOWN', '1.00'],
    ['-1.239', 'DOWN', '-1.23'],
    ['-1.231', 'FLOOR', '-1.24'],
    ['-1.239', 'CEIL', '-1.23'],
    ['-0.001', 'HALF_UP', '0.00'],
  ] as const)('ofRounded(%j, CNY, %s) = %j', (value, mode, expected) => {
    expect(Money.ofRounded(value, 'CNY', mode).toString()).toBe(expected);
  });

  it('ofRounded takes a computed Decimal (a fee at a rate) and rounds only once', () => {
    const fee = Money.parse('239.54', 'CNY').toDecimal().times('0.006'); // 1.43724
    expect(Money.ofRounded(fee, 'CNY', 'HALF_UP').toString()).toBe('1.44');
    expect(Money.ofRounded(fee, 'JPY', 'HALF_UP').toString()).toBe('1');
  });

  it('zero prints at scale', () => {
    expect(Money.zero('CNY').toString()).toBe('0.00');
    expect(Money.zero('JPY').toString()).toBe('0');
    expect(Money.zero('BHD').toString()).toBe('0.000');
    expectCode(() => Money.zero('XXX'), 'MONEY.UNKNOWN_CURRENCY');
  });

  it.each([
    [23954n, 'CNY', '239.54'],
    [-5n, 'CNY', '-0.05'],
    [0n, 'CNY', '0.00'],
    [100n, 'JPY', '100'],
    [5n, 'BHD', '0.005'],
    [1250n, 'BHD', '1.250'],
  ] as const)('fromMinorUnits(%p, %s) = %j and back', (units, currency, printed) => {
    const money = Money.fromMinorUnits(units, currency);
    expect(money.toString()).toBe(printed);
    expect(money.toMinorUnits()).toBe(units);
  });

  it('fromMinorUnits refuses a number and amounts past the bound', () => {
    expect(() => Money.fromMinorUnits(5 as unknown as bigint, 'CNY')).toThrow(InvariantError);
    expectCode(() => Money.fromMinorUnits(10n ** 32n, 'CNY'), 'MONEY.TOO_LARGE');
    expect(Money.fromMinorUnits(10n ** 32n - 1n, 'CNY').toString()).toBe(`${'9'.repeat(30)}.99`);
  });
});

describe('Money arithmetic and comparison', () => {
  it('adds exactly where floats do not', () => {
    expect(cny('0.1').plus(cny('0.2')).toString()).toBe('0.30');
    expect(cny('0.1').plus(cny('0.2')).equals(cny('0.3'))).toBe(true);
    expect(cny('1000000000000000000000.01').plus(cny('0.01')).toString()).toBe('1000000000000000000000.02');
  });

  it('minus, negated, abs and the sign tests', () => {
    const a = cny('10.00');
    const b = cny('12.50');
    expect(a.minus(b).toString()).toBe('-2.50');
    expect(a.minus(b).isNegative()).toBe(true);
    expect(a.minus(b).abs().toString()).toBe('2.50');
    expect(a.negated().toString()).toBe('-10.00');
    expect(a.minus(a).toString()).toBe('0.00');
    expect(a.minus(a).isZero()).toBe(true);
    expect(a.negated().negated().equals(a)).toBe(true);
    expect(a.isPositive()).toBe(true);
    expect(Money.zero('CNY').isPositive()).toBe(false);
    expect(Money.zero('CNY').negated().toString()).toBe('0.00');
  });

  it('compares by value, not by spelling', () => {
    expect(cny('1.5').equals(cny('1.50'))).toBe(true);
    expect(cny('1.49').compare(cny('1.5'))).toBe(-1);
    expect(cny('1.5').compare(cny('1.49'))).toBe(1);
    expect(cny('1.5').compare(cny('1.50'))).toBe(0);
    expect(cny('1.49').lessThan(cny('1.5'))).toBe(true);
    expect(cny('-1').greaterThan(cny('-2'))).toBe(true);
  });

  it('throws an InvariantError on a currency mismatch: that is a bug, not input', () => {
    const yuan = cny('1.00');
    const dollar = Money.parse('1.00', 'USD');
    for (const op of [
      () => yuan.plus(dollar),
      () => yuan.minus(dollar),
      () => yuan.compare(dollar),
      () => yuan.equals(dollar),
      () => yuan.lessThan(dollar),
    ]) {
      expect(op).toThrow(InvariantError);
      expect(op).toThrow('currency mismatch');
    }
    expect(() => yuan.plus('1.00' as unknown as Money)).toThrow(InvariantError);
  });

  it('refuses to leave the supported range through arithmetic', () => {
    const max = cny(`${'9'.repeat(30)}.99`);
    expectCode(() => max.plus(cny('0.01')), 'MONEY.TOO_LARGE');
    expectCode(() => max.negated().minus(cny('0.01')), 'MONEY.TOO_LARGE');
  });
});

describe('Money representations', () => {
  it('serialises as its string, so JSON never carries a number', () => {
    expect(JSON.stringify({ amount: cny('239.5') })).toBe('{"amount":"239.50"}');
    // eslint-disable-next-line @typescript-eslint/restrict-template-expressions -- the point of the test
    expect(`${cny('239.5')}`).toBe('239.50');
    expect(String(Money.parse('7', 'JPY'))).toBe('7');
  });

  it('refuses numeric coercion: no money > other, +money or money * 2', () => {
    const a = cny('2.00');
    const b = cny('1.00');
    expect(() => (a as unknown as number) > (b as unknown as number)).toThrow(InvariantError);
    expect(() => +(a as unknown as number)).toThrow(InvariantError);
    expect(() => (a as unknown as number) * 2).toThrow(InvariantError);
    expect(() => `${'x'}${(a as unknown as string) + ''}`).toThrow(InvariantError);
  });

  it('is immutable', () => {
    const a = cny('1.00');
    expect(Object.isFrozen(a)).toBe(true);
    expect(() => {
      (a as unknown as { currency: string }).currency = 'USD';
    }).toThrow(TypeError);
    const decimal = a.toDecimal();
    expect(decimal.plus(1).toString()).toBe('2');
    expect(a.toString()).toBe('1.00');
  });

  it('toDecimal keeps full precision and never uses an exponent', () => {
    expect(cny('123456789012345678901234567890.12').toDecimal().toString()).toBe(
      '123456789012345678901234567890.12',
    );
    expect(Money.parse('0.0001', 'CLF').toDecimal().toString()).toBe('0.0001');
  });

  it('isMoney tells Money apart from look-alikes', () => {
    expect(Money.isMoney(cny('1'))).toBe(true);
    expect(Money.isMoney({ currency: 'CNY', toString: () => '1.00' })).toBe(false);
  });
});

describe('parseDecimalString', () => {
  it('parses plain decimals without a currency, any scale', () => {
    expect(parseDecimalString('0.0060').equals('0.006')).toBe(true);
    expect(parseDecimalString('-12.3456789').toString()).toBe('-12.3456789');
  });

  it('has the same syntax rules as Money.parse', () => {
    expectCode(() => parseDecimalString('1e3'), 'MONEY.MALFORMED');
    expectCode(() => parseDecimalString(''), 'MONEY.MALFORMED');
    expectCode(() => parseDecimalString(0.5), 'MONEY.NOT_A_STRING');
  });
});

describe('Money properties', () => {
  const currency = fc.constantFrom(...CURRENCY_CODES);
  // Up to the full supported range, so huge values are exercised as much as tiny ones.
  const minorUnitsIn = (code: string) => {
    const limit = 10n ** BigInt(MONEY_MAX_INTEGER_DIGITS + minorUnitOf(code)) - 1n;
    return fc.oneof(fc.bigInt({ min: -limit, max: limit }), fc.bigInt({ min: -1000n, max: 1000n }));
  };
  const moneyOf = (code: string) => minorUnitsIn(code).map((units) => Money.fromMinorUnits(units, code));
  const plainDecimal = new RegExp(DECIMAL_STRING_PATTERN);

  it('fromMinorUnits(x).toString() parses back to the same minor units', () => {
    fc.assert(
      fc.property(
        currency.chain((code) => fc.tuple(fc.constant(code), minorUnitsIn(code))),
        ([code, units]) => {
          const printed = Money.fromMinorUnits(units, code).toString();
          expect(Money.parse(printed, code, { allowNegative: true, sum: true }).toMinorUnits()).toBe(units);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a.plus(b).minus(b) equals a, and addition is exact (associative, commutative)', () => {
    // Halve the range so a sum of three never leaves it.
    const third = (code: string) => {
      const limit = 10n ** BigInt(MONEY_MAX_INTEGER_DIGITS - 1 + minorUnitOf(code));
      return fc.bigInt({ min: -limit, max: limit }).map((units) => Money.fromMinorUnits(units, code));
    };
    fc.assert(
      fc.property(
        currency.chain((code) => fc.tuple(third(code), third(code), third(code))),
        ([a, b, c]) => {
          expect(a.plus(b).minus(b).equals(a)).toBe(true);
          expect(a.plus(b).equals(b.plus(a))).toBe(true);
          expect(
            a
              .plus(b)
              .plus(c)
              .equals(a.plus(b.plus(c))),
          ).toBe(true);
          expect(a.plus(b).toMinorUnits()).toBe(a.toMinorUnits() + b.toMinorUnits());
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('toString is a plain decimal at exactly the minor-unit scale, never an exponent', () => {
    fc.assert(
      fc.property(
        currency.chain((code) => moneyOf(code)),
        (money) => {
          const printed = money.toString();
          expect(printed).not.toMatch(/[eE]/);
          expect(printed).toMatch(plainDecimal);
          const unit = minorUnitOf(money.currency);
          const fraction = printed.split('.')[1];
          expect(fraction?.length ?? 0).toBe(unit);
          expect(money.toDecimal().toString()).not.toMatch(/[eE]/);
        },
      ),
      { numRuns: 2000 },
    );
    expect(Money.fromMinorUnits(1n, 'CLF').toString()).toBe('0.0001');
    expect(Money.fromMinorUnits(10n ** 32n - 1n, 'USD').toString()).not.toMatch(/e/);
  });

  it('parse refuses every string with more fraction digits than the minor unit', () => {
    const tooPrecise = currency.chain((code) =>
      fc.record({
        code: fc.constant(code),
        integer: fc.bigInt({ min: 0n, max: 10n ** 20n }),
        fraction: fc
          .integer({ min: 1, max: 12 })
          .chain((extra) => fc.stringMatching(new RegExp(`^\\d{${minorUnitOf(code) + extra}}$`))),
        negative: fc.boolean(),
      }),
    );
    fc.assert(
      fc.property(tooPrecise, ({ code, integer, fraction, negative }) => {
        const text = `${negative ? '-' : ''}${integer}.${fraction}`;
        expect(Money.validate(text, code, { allowNegative: true })?.code).toBe('MONEY.TOO_PRECISE');
        expect(() => Money.parse(text, code, { allowNegative: true })).toThrow(MoneyError);
      }),
      { numRuns: 1000 },
    );
  });

  it('parse accepts every plain decimal within the minor unit and keeps its value', () => {
    fc.assert(
      fc.property(
        currency.chain((code) =>
          fc.tuple(
            fc.constant(code),
            fc.bigInt({ min: 0n, max: 10n ** 29n }),
            fc.stringMatching(new RegExp(`^\\d{0,${minorUnitOf(code)}}$`)),
          ),
        ),
        ([code, integer, fraction]) => {
          const text = fraction === '' ? `${integer}` : `${integer}.${fraction}`;
          const money = Money.parse(text, code, { sum: true });
          expect(money.toDecimal().equals(new Decimal(text))).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("parseMinorUnits / formatMinorUnits (the ledger's fast path) agree with Money", () => {
  const currencyArb = fc.constantFrom(...CURRENCY_CODES);
  // Well-formed literals of any scale up to 5 and any sign, plus arbitrary strings: both the
  // accepted and the refused ones must get Money.parse's answer.
  const literalArb = fc.oneof(
    fc
      .tuple(
        fc.boolean(),
        fc.bigInt({ min: 0n, max: 10n ** 31n }),
        fc.option(fc.stringMatching(/^\d{1,5}$/), { nil: undefined }),
      )
      .map(
        ([negative, whole, fraction]) =>
          `${negative ? '-' : ''}${whole}${fraction === undefined ? '' : `.${fraction}`}`,
      ),
    fc.string({ maxLength: 12 }),
    fc.constantFrom('0', '-0', '0.00', '-0.0', '1e3', '+1', '01', '.5', '5.', ' 1', '1.', ''),
  );
  const optionsArb = fc.record({ allowNegative: fc.boolean(), allowZero: fc.boolean(), sum: fc.boolean() });

  it('gives the same minor units, canonical text and error as Money.parse for any input', () => {
    fc.assert(
      fc.property(literalArb, currencyArb, optionsArb, (literal, currency, opts) => {
        let expected: { units: bigint; text: string } | MoneyError;
        try {
          const money = Money.parse(literal, currency, opts);
          expected = { units: money.toMinorUnits(), text: money.toString() };
        } catch (error) {
          expected = error as MoneyError;
        }
        if (expected instanceof MoneyError) {
          const error = moneyError(() => parseMinorUnits(literal, currency, opts));
          expect([error.code, error.message]).toEqual([expected.code, expected.message]);
        } else {
          expect(parseMinorUnits(literal, currency, opts)).toEqual(expected);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('formats any count of minor units as Money.fromMinorUnits does', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 29n), max: 10n ** 29n }), currencyArb, (units, currency) => {
        expect(formatMinorUnits(units, currency)).toBe(Money.fromMinorUnits(units, currency).toString());
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['100', 'CNY', 10000n, '100.00'],
    ['100.5', 'CNY', 10050n, '100.50'],
    ['-0.5', 'CNY', -50n, '-0.50'],
    ['0', 'CNY', 0n, '0.00'],
    ['-0.0', 'CNY', 0n, '0.00'],
    ['1500', 'JPY', 1500n, '1500'],
    ['12.345', 'BHD', 12345n, '12.345'],
    ['1.2', 'BHD', 1200n, '1.200'],
  ])('%s %s → %s minor units, "%s"', (literal, currency, units, text) => {
    expect(parseMinorUnits(literal, currency, { allowNegative: true })).toEqual({ units, text });
  });

  it('refuses a JS number and an unknown currency as Money.parse does', () => {
    expect(moneyError(() => parseMinorUnits(1.5, 'CNY')).code).toBe('MONEY.NOT_A_STRING');
    expect(moneyError(() => parseMinorUnits('1.50', 'XXQ')).code).toBe('MONEY.UNKNOWN_CURRENCY');
  });
});
