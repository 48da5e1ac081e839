/**
 * Test support for the fee specs (not exported from index.ts): fast-check arbitraries of rules and
 * payments, and an oracle that prices a formula in whole minor units with bigint arithmetic, so the
 * specs check the Decimal code against arithmetic that shares none of its code.
 */
import { AMOUNT_MAX_MINOR_UNITS, Money, type RoundingMode } from '@app/contracts';
import fc from 'fast-check';
import type { Coupon, FeeFormula, FeeRule, FeeTier } from './fee.types.js';
import { ROUNDING_MODES } from './fee-values.js';

export const TEST_CURRENCIES = ['CNY', 'JPY', 'BHD'] as const;

export const amountText = (units: bigint, currency: string): string =>
  Money.fromMinorUnits(units, currency).toString();

export const unitsOf = (amount: string, currency: string): bigint =>
  Money.parse(amount, currency, { allowNegative: true }).toMinorUnits();

/** Minor units of a typical amount, with a tail of tiny and of very large ones. */
export const unitsArb = (min = 0n): fc.Arbitrary<bigint> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.bigInt({ min, max: min + 100_000n }) },
    { weight: 2, arbitrary: fc.bigInt({ min, max: 10n ** 9n }) },
    // Up to a third of one item's bound, so an amount plus a two-part coupon stays within it.
    { weight: 1, arbitrary: fc.bigInt({ min, max: AMOUNT_MAX_MINOR_UNITS / 3n }) },
  );

/** A rate in [0, 1) with 1–8 fraction digits, spelled as the wire spells it. */
export const rateArb: fc.Arbitrary<string> = fc
  .integer({ min: 1, max: 8 })
  .chain((digits) =>
    fc
      .bigInt({ min: 0n, max: 10n ** BigInt(digits) - 1n })
      .map((n) => `0.${n.toString().padStart(digits, '0')}`),
  );

export const roundingArb: fc.Arbitrary<RoundingMode | undefined> = fc.option(
  fc.constantFrom(...ROUNDING_MODES),
  {
    nil: undefined,
  },
);

/** Fixed parts and bounds: from nothing up to a few thousand in major units. */
const smallUnitsArb = fc.oneof(fc.bigInt({ min: 0n, max: 200n }), fc.bigInt({ min: 0n, max: 5_000_000n }));

const tiersArb = (currency: string): fc.Arbitrary<FeeTier[]> =>
  fc
    .array(fc.record({ step: fc.bigInt({ min: 1n, max: 10n ** 8n }), rate: rateArb, fixed: smallUnitsArb }), {
      minLength: 1,
      maxLength: 5,
    })
    .map((rows) => {
      let upTo = 0n;
      return rows.map((row, i) => {
        upTo += row.step;
        return {
          upTo: i === rows.length - 1 ? null : amountText(upTo, currency),
          rate: row.rate,
          fixed: amountText(row.fixed, currency),
        };
      });
    });

export const formulaArb = (currency: string): fc.Arbitrary<FeeFormula> => {
  const fixed = smallUnitsArb.map((u) => amountText(u, currency));
  const kinds = fc.oneof(
    rateArb.map((rate): FeeFormula => ({ kind: 'PERCENTAGE', rate })),
    fixed.map((f): FeeFormula => ({ kind: 'FIXED', fixed: f })),
    fc
      .tuple(rateArb, fixed)
      .map(([rate, f]): FeeFormula => ({ kind: 'PERCENTAGE_PLUS_FIXED', rate, fixed: f })),
    tiersArb(currency).map((tiers): FeeFormula => ({ kind: 'TIERED', tiers })),
  );
  const bounds = fc.record({
    a: fc.option(smallUnitsArb, { nil: undefined }),
    b: fc.option(smallUnitsArb, { nil: undefined }),
  });
  return fc.tuple(kinds, bounds, roundingArb).map(([formula, { a, b }, rounding]) => {
    const out: FeeFormula = { ...formula };
    if (a !== undefined && b !== undefined) {
      out.min = amountText(a < b ? a : b, currency);
      out.max = amountText(a < b ? b : a, currency);
    } else if (a !== undefined) {
      out.min = amountText(a, currency);
    } else if (b !== undefined) {
      out.max = amountText(b, currency);
    }
    if (rounding !== undefined) out.rounding = rounding;
    return out;
  });
};

export const ruleArb = (currency: string): fc.Arbitrary<FeeRule> =>
  fc
    .record({
      formula: formulaArb(currency),
      refundPolicy: fc.constantFrom('NONE' as const, 'FULL' as const, 'PRO_RATA' as const),
    })
    .map(({ formula, refundPolicy }) => ({
      id: '1',
      version: 1,
      scope: { merchantId: null, channel: null, paymentMethod: null },
      currency,
      formula,
      refundPolicy,
      effectiveFrom: '2026-01-01T00:00:00Z',
      effectiveTo: null,
    }));

export const couponArb = (currency: string): fc.Arbitrary<Coupon | undefined> =>
  fc.option(
    fc.tuple(unitsArb(), unitsArb()).map(([merchant, platform]) => ({
      amount: amountText(merchant + platform, currency),
      merchantFunded: amountText(merchant, currency),
      platformFunded: amountText(platform, currency),
    })),
    { nil: undefined },
  );

/** n / d ≥ 0 rounded to an integer with `mode`; for non-negative values CEIL = UP and FLOOR = DOWN. */
export function divRound(n: bigint, d: bigint, mode: RoundingMode): bigint {
  const q = n / d;
  const r = n % d;
  if (r === 0n) return q;
  switch (mode) {
    case 'UP':
    case 'CEIL':
      return q + 1n;
    case 'DOWN':
    case 'FLOOR':
      return q;
    case 'HALF_UP':
      return 2n * r >= d ? q + 1n : q;
    case 'HALF_DOWN':
      return 2n * r > d ? q + 1n : q;
    case 'HALF_EVEN':
      return 2n * r > d || (2n * r === d && q % 2n === 1n) ? q + 1n : q;
  }
}

/** A rate string as an exact fraction num / den. */
export function rateFraction(rate: string): [bigint, bigint] {
  const [whole = '0', fraction = ''] = rate.split('.');
  return [BigInt(whole + fraction), 10n ** BigInt(fraction.length)];
}

/** Rate and fixed part (in minor units) the formula applies to a base of `baseUnits`. */
export function oracleTerms(formula: FeeFormula, baseUnits: bigint, currency: string): [string, bigint] {
  switch (formula.kind) {
    case 'PERCENTAGE':
      return [formula.rate ?? '', 0n];
    case 'FIXED':
      return ['0', unitsOf(formula.fixed ?? '', currency)];
    case 'PERCENTAGE_PLUS_FIXED':
      return [formula.rate ?? '', unitsOf(formula.fixed ?? '', currency)];
    case 'TIERED': {
      const tier = (formula.tiers ?? []).find(
        (t) => t.upTo === null || baseUnits <= unitsOf(t.upTo, currency),
      );
      if (tier === undefined) throw new Error('oracle: no tier');
      return [tier.rate, unitsOf(tier.fixed, currency)];
    }
  }
}

/** The fee in minor units by the rule text of computeFee, in integers only. */
export function oracleFeeUnits(formula: FeeFormula, baseUnits: bigint, currency: string): bigint {
  const [rate, fixed] = oracleTerms(formula, baseUnits, currency);
  const [num, den] = rateFraction(rate);
  let fee = divRound(baseUnits * num, den, formula.rounding ?? 'HALF_UP') + fixed;
  if (formula.min != null && fee < unitsOf(formula.min, currency)) fee = unitsOf(formula.min, currency);
  if (formula.max != null && fee > unitsOf(formula.max, currency)) fee = unitsOf(formula.max, currency);
  return fee > baseUnits ? baseUnits : fee;
}

/** base × rate + fixed before any rounding or clamping, as an exact fraction of minor units. */
export function exactFeeFraction(formula: FeeFormula, baseUnits: bigint, currency: string): [bigint, bigint] {
  const [rate, fixed] = oracleTerms(formula, baseUnits, currency);
  const [num, den] = rateFraction(rate);
  return [baseUnits * num + fixed * den, den];
}
