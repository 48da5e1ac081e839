import { describe, expect, it } from '@jest/globals';
import { Money, type RoundingMode } from '@app/contracts';
import fc from 'fast-check';
import { FeeError, type FeeFormula } from './fee.types.js';
import { computeFee } from './fee-calculator.js';
import { validateFormula } from './fee-rule.js';
import { TEST_CURRENCIES, formulaArb, oracleFeeUnits, unitsArb } from './fee-test-support.js';

// The base is an order value Money holds; computeFee is exact over that whole range.
const fee = (formula: FeeFormula, base: string, currency = 'CNY'): string =>
  computeFee(formula, Money.parse(base, currency, { sum: true })).toString();

describe('computeFee: worked examples', () => {
  it('0.6% of a 100.00 CNY order is 0.60', () => {
    expect(fee({ kind: 'PERCENTAGE', rate: '0.006' }, '100.00')).toBe('0.60');
  });

  it('1500 JPY at 3.25% is 49 (48.75 rounded HALF_UP; 48 rounded DOWN)', () => {
    expect(fee({ kind: 'PERCENTAGE', rate: '0.0325' }, '1500', 'JPY')).toBe('49');
    expect(fee({ kind: 'PERCENTAGE', rate: '0.0325', rounding: 'DOWN' }, '1500', 'JPY')).toBe('48');
  });

  it('BHD keeps three digits: 12.345 at 1.5% is 0.185 (0.185175), plus 0.100 fixed is 0.285', () => {
    expect(fee({ kind: 'PERCENTAGE', rate: '0.015' }, '12.345', 'BHD')).toBe('0.185');
    expect(fee({ kind: 'PERCENTAGE_PLUS_FIXED', rate: '0.015', fixed: '0.100' }, '12.345', 'BHD')).toBe(
      '0.285',
    );
    // A tie at the third digit: 0.0025 × 1 = 0.0025.
    expect(fee({ kind: 'PERCENTAGE', rate: '0.0025' }, '1', 'BHD')).toBe('0.003');
    expect(fee({ kind: 'PERCENTAGE', rate: '0.0025', rounding: 'HALF_EVEN' }, '1', 'BHD')).toBe('0.002');
  });

  it('a fixed fee of 0.50 with a minimum of 1.00 is 1.00', () => {
    expect(fee({ kind: 'FIXED', fixed: '0.50', min: '1.00' }, '100.00')).toBe('1.00');
  });

  it('a maximum caps the fee: 1% of 1000.00 capped at 5.00', () => {
    expect(fee({ kind: 'PERCENTAGE', rate: '0.01', max: '5.00' }, '1000.00')).toBe('5.00');
    expect(fee({ kind: 'PERCENTAGE', rate: '0.01', max: '5.00' }, '499.99')).toBe('5.00');
    expect(fee({ kind: 'PERCENTAGE', rate: '0.01', max: '5.00' }, '449.49')).toBe('4.49');
  });

  it('never more than the base: a 0.30 sale under a 1.00 minimum pays 0.30, a zero sale pays 0', () => {
    const formula: FeeFormula = { kind: 'FIXED', fixed: '0.50', min: '1.00' };
    expect(fee(formula, '0.30')).toBe('0.30');
    expect(fee(formula, '0.00')).toBe('0.00');
  });

  it('rounds the percentage once, then adds the fixed part', () => {
    // 0.75 × 0.006 = 0.0045: one HALF_UP rounding gives 0.00; rounding to 0.005 first would give 0.01.
    expect(fee({ kind: 'PERCENTAGE_PLUS_FIXED', rate: '0.006', fixed: '0.10' }, '0.75')).toBe('0.10');
    expect(fee({ kind: 'PERCENTAGE', rate: '0.006' }, '0.75')).toBe('0.00');
  });

  it.each<[RoundingMode, string, string]>([
    ['HALF_UP', '0.01', '0.02'],
    ['HALF_EVEN', '0.00', '0.02'],
    ['HALF_DOWN', '0.00', '0.01'],
    ['UP', '0.01', '0.02'],
    ['DOWN', '0.00', '0.01'],
    ['CEIL', '0.01', '0.02'],
    ['FLOOR', '0.00', '0.01'],
  ])('rounding %s: 0.5%% of 1.00 (0.005) is %s, of 3.00 (0.015) is %s', (rounding, ofOne, ofThree) => {
    expect(fee({ kind: 'PERCENTAGE', rate: '0.005', rounding }, '1.00')).toBe(ofOne);
    expect(fee({ kind: 'PERCENTAGE', rate: '0.005', rounding }, '3.00')).toBe(ofThree);
  });

  describe('TIERED: the tier the whole order value falls in, upTo inclusive', () => {
    const tiered: FeeFormula = {
      kind: 'TIERED',
      tiers: [
        { upTo: '100.00', rate: '0.01', fixed: '0.00' },
        { upTo: '1000.00', rate: '0.005', fixed: '0.20' },
        { upTo: null, rate: '0.003', fixed: '1.00' },
      ],
    };
    it.each([
      ['0.00', '0.00'],
      ['99.99', '1.00'], // 0.9999
      ['100.00', '1.00'], // exactly at the boundary: still the first tier
      ['100.01', '0.70'], // 0.50005 → 0.50, + 0.20
      ['1000.00', '5.20'],
      ['1000.01', '4.00'], // 3.00003 → 3.00, + 1.00: not progressive, so the fee may drop
      ['123456.78', '371.37'], // 370.37034 → 370.37, + 1.00
    ])('%s CNY → %s', (base, expected) => {
      expect(fee(tiered, base)).toBe(expected);
    });
  });

  it('stays exact at the largest amounts with long rates', () => {
    // 999999999999999999999999999999.99 × 0.123456789012345678901234567891, by hand in integers.
    const base = '999999999999999999999999999999.99';
    const rate = '0.123456789012345678901234567891';
    const units = 99999999999999999999999999999999n * 123456789012345678901234567891n;
    const den = 10n ** 30n;
    const expected = Money.fromMinorUnits(
      units / den + (2n * (units % den) >= den ? 1n : 0n),
      'CNY',
    ).toString();
    expect(fee({ kind: 'PERCENTAGE', rate }, base)).toBe(expected);
  });

  it('refuses a negative base and a broken formula, naming the field', () => {
    const negative = () =>
      computeFee({ kind: 'PERCENTAGE', rate: '0.006' }, Money.parse('-1.00', 'CNY', { allowNegative: true }));
    expect(negative).toThrow(FeeError);
    expect(negative).toThrow('fee base -1.00 CNY is negative');
    expect(() => fee({ kind: 'PERCENTAGE', rate: '1.2' }, '1.00')).toThrow(
      'formula.rate: "1.2" is not a rate',
    );
    expect(() => fee({ kind: 'FIXED', fixed: '0.001' }, '1.00')).toThrow(
      'formula.fixed: "0.001" has 3 fraction digits',
    );
    expect(() => fee({ kind: 'FIXED', fixed: '1.00', min: '3.00', max: '2.00' }, '1.00')).toThrow(
      'formula.min: 3.00 is above formula.max 2.00',
    );
    expect(() => fee({ kind: 'TIERED', tiers: [{ upTo: '1.00', rate: '0', fixed: '0' }] }, '2.00')).toThrow(
      'no tier covers 2.00 CNY',
    );
  });
});

describe('computeFee: properties', () => {
  const caseArb = fc
    .constantFrom(...TEST_CURRENCIES)
    .chain((currency) =>
      fc.record({ currency: fc.constant(currency), formula: formulaArb(currency), base: unitsArb() }),
    );

  it('equals an integer-only oracle for every kind, rounding mode and bound, in CNY, JPY and BHD', () => {
    fc.assert(
      fc.property(caseArb, ({ currency, formula, base }) => {
        validateFormula(formula, currency); // the generator only makes valid rules
        const result = computeFee(formula, Money.fromMinorUnits(base, currency));
        expect(result.currency).toBe(currency);
        expect(result.toMinorUnits()).toBe(oracleFeeUnits(formula, base, currency));
        expect(result.isNegative()).toBe(false);
        expect(result.toMinorUnits() <= base).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('prices an order at, just below and just above every tier boundary by the oracle (upTo inclusive)', () => {
    const boundaryArb = fc
      .constantFrom(...TEST_CURRENCIES)
      .chain((currency) =>
        fc.record({
          currency: fc.constant(currency),
          formula: formulaArb(currency).filter((f) => f.kind === 'TIERED' && (f.tiers?.length ?? 0) > 1),
          tier: fc.nat(),
          offset: fc.constantFrom(-1n, 0n, 1n),
        }),
      )
      .map(({ currency, formula, tier, offset }) => {
        const bounded = (formula.tiers ?? []).filter((t) => t.upTo !== null);
        const upTo = bounded[tier % bounded.length]?.upTo ?? '0';
        const base = Money.parse(upTo, currency).toMinorUnits() + offset;
        return { currency, formula, base: base < 0n ? 0n : base };
      });
    fc.assert(
      fc.property(boundaryArb, ({ currency, formula, base }) => {
        const result = computeFee(formula, Money.fromMinorUnits(base, currency));
        expect(result.toMinorUnits()).toBe(oracleFeeUnits(formula, base, currency));
      }),
      { numRuns: 500 },
    );
  });
});
