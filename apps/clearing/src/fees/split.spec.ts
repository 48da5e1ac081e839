import { describe, expect, it } from '@jest/globals';
import { Money } from '@app/contracts';
import fc from 'fast-check';
import {
  type ChannelCostRate,
  FeeError,
  type FeeErrorCode,
  type FeeFormula,
  type FeeRule,
  type PaymentSplit,
  REFUND_FEE_POLICIES,
  type RefundFeePolicy,
  type RefundToClear,
} from './fee.types.js';
import { channelCostOf, splitPayment, splitRefund } from './split.js';
import {
  TEST_CURRENCIES,
  amountText,
  couponArb,
  divRound,
  exactFeeFraction,
  oracleFeeUnits,
  rateFraction,
  roundingArb,
  ruleArb,
  unitsArb,
  unitsOf,
} from './fee-test-support.js';

function expectFeeError(fn: () => unknown, code: FeeErrorCode, message: string | RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(FeeError);
  expect((caught as FeeError).code).toBe(code);
  expect((caught as FeeError).message).toMatch(message);
}

function ruleOf(formula: FeeFormula, currency = 'CNY'): FeeRule {
  return {
    id: '1',
    version: 1,
    scope: { merchantId: null, channel: null, paymentMethod: null },
    currency,
    formula,
    refundPolicy: 'PRO_RATA',
    effectiveFrom: '2026-01-01T00:00:00+08:00',
    effectiveTo: null,
  };
}

const wechatCost: ChannelCostRate = {
  channel: 'WECHAT',
  rate: '0.006',
  effectiveFrom: '2026-01-01T00:00:00+08:00',
  effectiveTo: null,
};

describe('splitPayment: worked examples', () => {
  it('100.00 CNY order at 0.6%, 10.00 coupon (6.00 platform, 4.00 merchant), 90.00 paid', () => {
    const split = splitPayment(
      {
        amount: '90.00',
        currency: 'CNY',
        coupon: { amount: '10.00', merchantFunded: '4.00', platformFunded: '6.00' },
      },
      ruleOf({ kind: 'PERCENTAGE', rate: '0.006' }),
      wechatCost,
    );
    expect(split).toEqual({
      currency: 'CNY',
      amount: '90.00',
      orderValue: '100.00',
      couponMerchantFunded: '4.00',
      couponPlatformFunded: '6.00',
      pending: '96.00',
      fee: '0.60',
      merchantNet: '95.40',
      channelCost: '0.54', // 0.6% of the 90.00 that went through the channel
    });
  });

  it('without a coupon the order value is the amount; JPY and BHD keep their scales', () => {
    expect(
      splitPayment(
        { amount: '1500', currency: 'JPY' },
        ruleOf({ kind: 'PERCENTAGE', rate: '0.0325' }, 'JPY'),
        null,
      ),
    ).toEqual({
      currency: 'JPY',
      amount: '1500',
      orderValue: '1500',
      couponMerchantFunded: '0',
      couponPlatformFunded: '0',
      pending: '1500',
      fee: '49',
      merchantNet: '1451',
      channelCost: '0',
    });
    expect(
      splitPayment(
        {
          amount: '12.345',
          currency: 'BHD',
          coupon: { amount: '1.000', merchantFunded: '0.250', platformFunded: '0.750' },
        },
        ruleOf({ kind: 'PERCENTAGE_PLUS_FIXED', rate: '0.015', fixed: '0.100' }, 'BHD'),
        { ...wechatCost, rate: '0.0125', rounding: 'DOWN' },
      ),
    ).toEqual({
      currency: 'BHD',
      amount: '12.345',
      orderValue: '13.345',
      couponMerchantFunded: '0.250',
      couponPlatformFunded: '0.750',
      pending: '13.095',
      fee: '0.300', // 13.345 × 0.015 = 0.200175 → 0.200, + 0.100
      merchantNet: '12.795',
      channelCost: '0.154', // 12.345 × 0.0125 = 0.1543125, DOWN
    });
  });

  it("the statement line's channel fee wins over the configured rate", () => {
    const split = splitPayment(
      { amount: '90.00', currency: 'CNY', channelFee: '0.55' },
      ruleOf({ kind: 'PERCENTAGE', rate: '0.006' }),
      wechatCost,
    );
    expect(split.channelCost).toBe('0.55');
    expect(
      splitPayment(
        { amount: '90.00', currency: 'CNY', channelFee: '0' },
        ruleOf({ kind: 'PERCENTAGE', rate: '0.006' }),
        wechatCost,
      ).channelCost,
    ).toBe('0.00');
    expect(
      splitPayment(
        { amount: '90.00', currency: 'CNY', channelFee: null },
        ruleOf({ kind: 'PERCENTAGE', rate: '0.006' }),
        wechatCost,
      ).channelCost,
    ).toBe('0.54');
  });

  it('caps the fee at pending when the merchant funded most of the order', () => {
    // Order 100.00, merchant coupon 99.50, 0.50 paid: the 1.00 minimum fee would exceed pending 0.50.
    const split = splitPayment(
      {
        amount: '0.50',
        currency: 'CNY',
        coupon: { amount: '99.50', merchantFunded: '99.50', platformFunded: '0.00' },
      },
      ruleOf({ kind: 'FIXED', fixed: '0.50', min: '1.00' }),
      null,
    );
    expect(split).toMatchObject({ orderValue: '100.00', pending: '0.50', fee: '0.50', merchantNet: '0.00' });
  });

  it('refuses bad input, naming the field', () => {
    const rule = ruleOf({ kind: 'PERCENTAGE', rate: '0.006' });
    expectFeeError(
      () =>
        splitPayment(
          {
            amount: '90.00',
            currency: 'CNY',
            coupon: { amount: '10.00', merchantFunded: '4.00', platformFunded: '5.00' },
          },
          rule,
          null,
        ),
      'FEES.INVALID_INPUT',
      'coupon: merchantFunded 4.00 + platformFunded 5.00 ≠ amount 10.00 CNY',
    );
    expectFeeError(
      () => splitPayment({ amount: '90.00', currency: 'USD' }, rule, null),
      'FEES.INVALID_INPUT',
      "payment currency USD does not match fee rule 1's currency CNY",
    );
    expectFeeError(
      () => splitPayment({ amount: '90.001', currency: 'CNY' }, rule, null),
      'FEES.INVALID_INPUT',
      /^amount: "90\.001" has 3 fraction digits/,
    );
    expectFeeError(
      () => splitPayment({ amount: '-1.00', currency: 'CNY' }, rule, null),
      'FEES.INVALID_INPUT',
      /^amount: .*negative/,
    );
    expectFeeError(
      () =>
        splitPayment(
          {
            amount: '90.00',
            currency: 'CNY',
            coupon: { amount: '1.00', merchantFunded: '-1.00', platformFunded: '2.00' },
          },
          rule,
          null,
        ),
      'FEES.INVALID_INPUT',
      /^coupon\.merchantFunded: .*negative/,
    );
    expectFeeError(
      () => splitPayment({ amount: '90.00', currency: 'CNY', channelFee: '-0.54' }, rule, null),
      'FEES.INVALID_INPUT',
      'channelFee: -0.54 CNY is negative; on a payment the channel keeps a fee ≥ 0',
    );
    expectFeeError(
      () => splitPayment({ amount: '90.00', currency: 'CNY' }, rule, { ...wechatCost, rate: '6' }),
      'FEES.INVALID_RULE',
      /channel cost rate of WECHAT: rate: "6" is not a rate/,
    );
  });
});

describe('channelCostOf', () => {
  it('rounds amount × rate once with the rate’s rounding; zero without a rate', () => {
    const cny = (a: string) => Money.parse(a, 'CNY');
    expect(channelCostOf(cny('90.00'), wechatCost).toString()).toBe('0.54');
    expect(channelCostOf(cny('0.75'), wechatCost).toString()).toBe('0.00'); // 0.0045 HALF_UP
    expect(channelCostOf(cny('0.75'), { ...wechatCost, rounding: 'UP' }).toString()).toBe('0.01');
    expect(channelCostOf(cny('90.00'), null).toString()).toBe('0.00');
    expect(channelCostOf(Money.parse('1500', 'JPY'), { ...wechatCost, rate: '0.0038' }).toString()).toBe('6'); // 5.7
  });
});

describe('splitPayment: properties', () => {
  const caseArb = fc.constantFrom(...TEST_CURRENCIES).chain((currency) =>
    fc.record({
      currency: fc.constant(currency),
      amount: unitsArb(),
      coupon: couponArb(currency),
      rule: ruleArb(currency),
      channelRate: fc.option(
        fc.record({ rate: fc.constantFrom('0', '0.006', '0.0038', '0.02'), rounding: roundingArb }),
        { nil: null },
      ),
    }),
  );

  it('sums exactly, every part ≥ 0, and the fee is its rule’s within one minor unit or a clamp bound', () => {
    fc.assert(
      fc.property(caseArb, ({ currency, amount, coupon, rule, channelRate }) => {
        const rate: ChannelCostRate | null =
          channelRate === null
            ? null
            : {
                channel: 'WECHAT',
                rate: channelRate.rate,
                rounding: channelRate.rounding,
                effectiveFrom: '2026-01-01T00:00:00Z',
                effectiveTo: null,
              };
        const split = splitPayment({ amount: amountText(amount, currency), currency, coupon }, rule, rate);
        const u = (field: keyof Omit<PaymentSplit, 'currency'>) => unitsOf(split[field], currency);

        const merchantFunded = coupon === undefined ? 0n : unitsOf(coupon.merchantFunded, currency);
        const platformFunded = coupon === undefined ? 0n : unitsOf(coupon.platformFunded, currency);
        expect(u('amount')).toBe(amount);
        expect(u('orderValue')).toBe(amount + merchantFunded + platformFunded);
        expect(u('pending')).toBe(amount + platformFunded);
        expect(u('merchantNet') + u('fee') + u('couponMerchantFunded')).toBe(u('orderValue'));
        expect(u('merchantNet') + u('fee')).toBe(u('pending'));
        for (const field of [
          'merchantNet',
          'fee',
          'channelCost',
          'couponMerchantFunded',
          'couponPlatformFunded',
        ] as const) {
          expect(u(field) >= 0n).toBe(true);
        }

        // Within one minor unit of base × rate + fixed, or pinned to a bound that clamped it.
        const fee = u('fee');
        const [num, den] = exactFeeFraction(rule.formula, u('orderValue'), currency);
        const distance = fee * den > num ? fee * den - num : num - fee * den;
        const bounds = [rule.formula.min, rule.formula.max]
          .filter((b): b is string => b != null)
          .map((b) => unitsOf(b, currency))
          .concat([u('orderValue'), u('pending')]);
        expect(distance <= den || bounds.includes(fee)).toBe(true);
        // And exactly what the integer oracle says, capped at pending.
        const byRule = oracleFeeUnits(rule.formula, u('orderValue'), currency);
        expect(fee).toBe(byRule < u('pending') ? byRule : u('pending'));

        // The channel's cost is on what went through it, the amount, never the coupon.
        if (rate === null) {
          expect(u('channelCost')).toBe(0n);
        } else {
          const [rateNum, rateDen] = rateFraction(rate.rate);
          expect(u('channelCost')).toBe(divRound(amount * rateNum, rateDen, rate.rounding ?? 'HALF_UP'));
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('splitRefund: worked examples', () => {
  const payment = splitPayment(
    { amount: '100.00', currency: 'CNY' },
    ruleOf({ kind: 'PERCENTAGE', rate: '0.006' }),
    null,
  );
  const refund = (
    amount: string,
    before: [string, string],
    policy: RefundFeePolicy,
    extra: Partial<RefundToClear> = {},
  ) =>
    splitRefund({
      amount,
      currency: 'CNY',
      payment,
      refundedBefore: before[0],
      feeReturnedBefore: before[1],
      policy,
      ...extra,
    });

  it('PRO_RATA: three refunds of a third of 100.00 with fee 0.60 return exactly 0.60', () => {
    const first = refund('33.33', ['0.00', '0.00'], 'PRO_RATA');
    const second = refund('33.33', ['33.33', first.feeReturned], 'PRO_RATA');
    const third = refund(
      '33.34',
      [
        '66.66',
        Money.parse(first.feeReturned, 'CNY').plus(Money.parse(second.feeReturned, 'CNY')).toString(),
      ],
      'PRO_RATA',
    );
    expect([first, second, third]).toEqual([
      {
        currency: 'CNY',
        amount: '33.33',
        feeReturned: '0.20',
        merchantDebit: '33.13',
        channelCostReturned: '0.00',
      }, // 0.19998
      {
        currency: 'CNY',
        amount: '33.33',
        feeReturned: '0.20',
        merchantDebit: '33.13',
        channelCostReturned: '0.00',
      },
      {
        currency: 'CNY',
        amount: '33.34',
        feeReturned: '0.20',
        merchantDebit: '33.14',
        channelCostReturned: '0.00',
      }, // what is left
    ]);
  });

  it('PRO_RATA: the completing refund takes what rounding left over (fee 0.61 → 0.20 + 0.20 + 0.21)', () => {
    const p = { ...payment, fee: '0.61', merchantNet: '99.39' };
    const r = (amount: string, before: string, feeBefore: string) =>
      splitRefund({
        amount,
        currency: 'CNY',
        payment: p,
        refundedBefore: before,
        feeReturnedBefore: feeBefore,
        policy: 'PRO_RATA',
      }).feeReturned;
    expect([r('33.33', '0', '0'), r('33.33', '33.33', '0.20'), r('33.34', '66.66', '0.40')]).toEqual([
      '0.20',
      '0.20',
      '0.21',
    ]);
  });

  it('PRO_RATA uses the refund’s rounding mode', () => {
    // 0.60 × 0.75 / 100.00 = 0.0045
    expect(refund('0.75', ['0', '0'], 'PRO_RATA').feeReturned).toBe('0.00');
    expect(refund('0.75', ['0', '0'], 'PRO_RATA', { rounding: 'UP' }).feeReturned).toBe('0.01');
  });

  it('FULL returns the whole remaining fee with the first refund; NONE returns nothing', () => {
    expect(refund('10.00', ['0', '0'], 'FULL')).toMatchObject({ feeReturned: '0.60', merchantDebit: '9.40' });
    expect(refund('10.00', ['10.00', '0.60'], 'FULL')).toMatchObject({
      feeReturned: '0.00',
      merchantDebit: '10.00',
    });
    expect(refund('100.00', ['0', '0'], 'NONE')).toMatchObject({
      feeReturned: '0.00',
      merchantDebit: '100.00',
    });
  });

  it('FULL on a refund smaller than the fee leaves a negative merchant debit (the merchant gains)', () => {
    expect(refund('0.10', ['0', '0'], 'FULL')).toMatchObject({ feeReturned: '0.60', merchantDebit: '-0.50' });
  });

  it('a negative channel fee on the refund line is the channel returning its fee', () => {
    expect(refund('90.00', ['0', '0'], 'NONE', { channelFee: '-0.54' }).channelCostReturned).toBe('0.54');
    expect(refund('90.00', ['0', '0'], 'NONE', { channelFee: '0.54' }).channelCostReturned).toBe('0.00');
    expect(refund('90.00', ['0', '0'], 'NONE', { channelFee: null }).channelCostReturned).toBe('0.00');
  });

  it('refuses an over-refund and inconsistent history', () => {
    expectFeeError(
      () => refund('66.68', ['33.33', '0.20'], 'PRO_RATA'),
      'FEES.INVALID_INPUT',
      "over-refund: 66.68 CNY refunded but only 66.67 of the payment's 100.00 is left (33.33 refunded before)",
    );
    expectFeeError(() => refund('100.01', ['0', '0'], 'NONE'), 'FEES.INVALID_INPUT', /^over-refund/);
    expectFeeError(
      () => refund('1.00', ['100.01', '0'], 'NONE'),
      'FEES.INVALID_INPUT',
      /^refundedBefore 100\.01 exceeds/,
    );
    expectFeeError(
      () => refund('1.00', ['0', '0.61'], 'FULL'),
      'FEES.INVALID_INPUT',
      /^feeReturnedBefore 0\.61 exceeds the payment's fee 0\.60/,
    );
    expectFeeError(() => refund('0.00', ['0', '0'], 'FULL'), 'FEES.INVALID_INPUT', /^amount: .*zero/);
    expectFeeError(
      () => refund('1.00', ['0', '0'], 'FULL', { currency: 'USD' }),
      'FEES.INVALID_INPUT',
      /refund currency USD does not match/,
    );
    expectFeeError(
      () => refund('1.00', ['0', '0'], 'SOME' as never),
      'FEES.INVALID_INPUT',
      /policy: unknown refund fee policy SOME/,
    );
  });
});

describe('splitRefund: properties', () => {
  /** A cleared payment and a sequence of refunds that sums to at most its amount (exactly it when `complete`). */
  const caseArb = fc
    .constantFrom(...TEST_CURRENCIES)
    .chain((currency) =>
      fc.record({
        currency: fc.constant(currency),
        amount: unitsArb(1n),
        coupon: couponArb(currency),
        rule: ruleArb(currency),
        policy: fc.constantFrom(...REFUND_FEE_POLICIES),
        rounding: roundingArb,
      }),
    )
    .chain((c) =>
      fc.record({
        c: fc.constant(c),
        cuts: fc.uniqueArray(fc.bigInt({ min: 1n, max: c.amount }), { maxLength: 8 }),
        complete: fc.boolean(),
      }),
    )
    .map(({ c, cuts, complete }) => {
      const points = [...new Set(complete ? [...cuts, c.amount] : cuts)].sort((a, b) =>
        a < b ? -1 : a > b ? 1 : 0,
      );
      const refunds = points.map((p, i) => p - (i === 0 ? 0n : (points[i - 1] ?? 0n)));
      return { ...c, refunds, complete: points.at(-1) === c.amount };
    });

  it('Σ fee returned ≤ fee charged; a full refund under PRO_RATA or FULL returns exactly the fee; over-refund is refused', () => {
    fc.assert(
      fc.property(caseArb, ({ currency, amount, coupon, rule, policy, rounding, refunds, complete }) => {
        const payment = splitPayment({ amount: amountText(amount, currency), currency, coupon }, rule, null);
        const fee = unitsOf(payment.fee, currency);
        let refunded = 0n;
        let returned = 0n;
        for (const r of refunds) {
          const split = splitRefund({
            amount: amountText(r, currency),
            currency,
            payment,
            refundedBefore: amountText(refunded, currency),
            feeReturnedBefore: amountText(returned, currency),
            policy,
            rounding,
          });
          const back = unitsOf(split.feeReturned, currency);
          expect(back >= 0n && back <= fee - returned).toBe(true);
          expect(unitsOf(split.merchantDebit, currency) + back).toBe(r);
          if (policy === 'NONE') expect(back).toBe(0n);
          if (policy === 'FULL') expect(back).toBe(fee - returned);
          if (policy === 'PRO_RATA' && refunded + r < amount) {
            const share = divRound(fee * r, amount, rounding ?? 'HALF_UP');
            expect(back).toBe(share < fee - returned ? share : fee - returned);
          }
          refunded += r;
          returned += back;
        }
        expect(returned <= fee).toBe(true);
        if (complete && policy !== 'NONE') expect(returned).toBe(fee);

        // One minor unit more than what is left is an over-refund, whatever came before.
        expectFeeError(
          () =>
            splitRefund({
              amount: amountText(amount - refunded + 1n, currency),
              currency,
              payment,
              refundedBefore: amountText(refunded, currency),
              feeReturnedBefore: amountText(returned, currency),
              policy,
              rounding,
            }),
          'FEES.INVALID_INPUT',
          /^over-refund/,
        );
      }),
      { numRuns: 500 },
    );
  });
});
