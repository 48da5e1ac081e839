import { describe, expect, it } from '@jest/globals';
import { FeeError, type FeeErrorCode, type FeeFormula, type FeeRule } from './fee.types.js';
import { rangesOverlap, selectRule, validateFeeRule, validateFormula } from './fee-rule.js';

function feeError(fn: () => unknown): FeeError {
  try {
    fn();
  } catch (error) {
    if (error instanceof FeeError) return error;
    throw error;
  }
  throw new Error('expected a FeeError');
}

function expectFeeError(fn: () => unknown, code: FeeErrorCode, message: string | RegExp): void {
  const error = feeError(fn);
  expect(error.code).toBe(code);
  expect(error.message).toMatch(message);
}

function rule(overrides: Partial<FeeRule> = {}): FeeRule {
  return {
    id: '1',
    version: 1,
    scope: { merchantId: null, channel: null, paymentMethod: null },
    currency: 'CNY',
    formula: { kind: 'PERCENTAGE', rate: '0.006' },
    refundPolicy: 'PRO_RATA',
    effectiveFrom: '2026-01-01T00:00:00+08:00',
    effectiveTo: null,
    ...overrides,
  };
}

const formula = (f: FeeFormula) => rule({ formula: f });

describe('validateFeeRule', () => {
  it.each<[string, FeeRule]>([
    ['platform default percentage', rule()],
    [
      'merchant, channel and method scope, closed range',
      rule({
        scope: { merchantId: 'M00042', channel: 'WECHAT', paymentMethod: 'BANK_CARD' },
        effectiveTo: '2026-06-01T00:00:00Z',
      }),
    ],
    ['fixed with min and max', formula({ kind: 'FIXED', fixed: '0.50', min: '1.00', max: '1.00' })],
    [
      'percentage plus fixed, every optional field',
      formula({
        kind: 'PERCENTAGE_PLUS_FIXED',
        rate: '0',
        fixed: '0',
        min: '0',
        max: '9.99',
        rounding: 'HALF_EVEN',
      }),
    ],
    [
      'tiered',
      formula({
        kind: 'TIERED',
        tiers: [
          { upTo: '100.00', rate: '0.01', fixed: '0' },
          { upTo: '1000', rate: '0.006', fixed: '0.10' },
          { upTo: null, rate: '0.003', fixed: '1.00' },
        ],
      }),
    ],
    [
      'a single unbounded tier',
      formula({ kind: 'TIERED', tiers: [{ upTo: null, rate: '0.999999', fixed: '0' }] }),
    ],
    ['JPY without fraction digits', rule({ currency: 'JPY', formula: { kind: 'FIXED', fixed: '30' } })],
    ['BHD at three digits', rule({ currency: 'BHD', formula: { kind: 'FIXED', fixed: '0.125' } })],
    [
      'optional fields given as null',
      formula({ kind: 'PERCENTAGE', rate: '0.01', min: null, max: null } as never),
    ],
  ])('accepts %s', (_name, r) => {
    expect(() => validateFeeRule(r)).not.toThrow();
  });

  it.each<[string, FeeRule, RegExp]>([
    ['version 0', rule({ version: 0 }), /^fee rule 1 v0: version: must be an integer ≥ 1, got 0$/],
    ['fractional version', rule({ version: 1.5 }), /version: must be an integer ≥ 1/],
    ['unknown currency', rule({ currency: 'XXX' }), /currency: "XXX" is not an ISO 4217/],
    [
      'lower-case channel',
      rule({ scope: { merchantId: null, channel: 'wechat', paymentMethod: null } }),
      /scope\.channel: must be null \(any\) or match \^\[A-Z0-9_\]\{1,32\}\$, got "wechat"/,
    ],
    [
      'empty merchant id',
      rule({ scope: { merchantId: '', channel: null, paymentMethod: null } }),
      /scope\.merchantId: must be null/,
    ],
    [
      'payment method with a space',
      rule({ scope: { merchantId: null, channel: null, paymentMethod: 'BANK CARD' } }),
      /scope\.paymentMethod: must be null/,
    ],
    [
      'missing scope field',
      rule({ scope: { merchantId: null, channel: null } as never }),
      /scope\.paymentMethod: must be null \(any\) or match .*, got undefined/,
    ],
    [
      'unknown refund policy',
      rule({ refundPolicy: 'SOME' as never }),
      /refundPolicy: must be one of NONE, FULL, PRO_RATA/,
    ],
    [
      'effectiveFrom without offset',
      rule({ effectiveFrom: '2026-01-01T00:00:00' }),
      /effectiveFrom: .*no UTC offset/,
    ],
    [
      'effectiveTo equal to effectiveFrom',
      rule({ effectiveFrom: '2026-01-01T00:00:00+08:00', effectiveTo: '2025-12-31T16:00:00Z' }),
      /effectiveTo: "2025-12-31T16:00:00Z" must be after effectiveFrom "2026-01-01T00:00:00\+08:00"/,
    ],
    ['rate of 1', formula({ kind: 'PERCENTAGE', rate: '1' }), /formula\.rate: "1" is not a rate in \[0, 1\)/],
    [
      'negative rate',
      formula({ kind: 'PERCENTAGE', rate: '-0.001' }),
      /formula\.rate: "-0\.001" is not a rate/,
    ],
    ['negative zero rate', formula({ kind: 'PERCENTAGE', rate: '-0' }), /formula\.rate: "-0" is not a rate/],
    [
      'rate in exponent form',
      formula({ kind: 'PERCENTAGE', rate: '6e-3' }),
      /formula\.rate: "6e-3" is not a plain decimal/,
    ],
    [
      'rate as a JSON number',
      formula({ kind: 'PERCENTAGE', rate: 0.006 as never }),
      /formula\.rate: must be a decimal string/,
    ],
    [
      'fixed finer than the minor unit',
      formula({ kind: 'FIXED', fixed: '0.505' }),
      /formula\.fixed: "0\.505" has 3 fraction digits; CNY allows at most 2/,
    ],
    [
      'JPY fixed with a fraction',
      rule({ currency: 'JPY', formula: { kind: 'FIXED', fixed: '0.5' } }),
      /formula\.fixed: "0\.5" has 1 fraction digit; JPY allows at most 0/,
    ],
    ['negative fixed', formula({ kind: 'FIXED', fixed: '-1.00' }), /formula\.fixed: .*negative/],
    [
      'min above max',
      formula({ kind: 'FIXED', fixed: '1.00', min: '2.00', max: '1.00' }),
      /formula\.min: 2\.00 is above formula\.max 1\.00/,
    ],
    [
      'bad min',
      formula({ kind: 'FIXED', fixed: '1.00', min: '0.001' }),
      /formula\.min: "0\.001" has 3 fraction digits/,
    ],
    [
      'bad rounding',
      formula({ kind: 'FIXED', fixed: '1.00', rounding: 'BANKERS' as never }),
      /formula\.rounding: must be one of HALF_UP/,
    ],
    ['unknown kind', formula({ kind: 'FLAT' as never }), /formula\.kind: must be one of PERCENTAGE, FIXED/],
    [
      'PERCENTAGE without rate',
      formula({ kind: 'PERCENTAGE' }),
      /formula\.rate: is required for a PERCENTAGE rule/,
    ],
    [
      'PERCENTAGE with fixed',
      formula({ kind: 'PERCENTAGE', rate: '0.01', fixed: '0.10' }),
      /formula\.fixed: is not allowed on a PERCENTAGE rule/,
    ],
    [
      'FIXED with rate',
      formula({ kind: 'FIXED', fixed: '0.10', rate: '0.01' }),
      /formula\.rate: is not allowed on a FIXED rule/,
    ],
    [
      'PERCENTAGE_PLUS_FIXED without fixed',
      formula({ kind: 'PERCENTAGE_PLUS_FIXED', rate: '0.01' }),
      /formula\.fixed: is required for a PERCENTAGE_PLUS_FIXED rule/,
    ],
    [
      'tiers on a PERCENTAGE rule',
      formula({ kind: 'PERCENTAGE', rate: '0.01', tiers: [{ upTo: null, rate: '0.01', fixed: '0' }] }),
      /formula\.tiers: is not allowed on a PERCENTAGE rule/,
    ],
    [
      'TIERED with rate',
      formula({ kind: 'TIERED', rate: '0.01', tiers: [{ upTo: null, rate: '0.01', fixed: '0' }] }),
      /formula\.rate: is not allowed on a TIERED rule/,
    ],
    [
      'unknown formula field',
      formula({ kind: 'PERCENTAGE', rate: '0.01', cap: '1' } as never),
      /formula\.cap: is not a field of a fee formula/,
    ],
    ['no tiers', formula({ kind: 'TIERED', tiers: [] }), /formula\.tiers: needs at least one tier/],
    ['TIERED without tiers', formula({ kind: 'TIERED' }), /formula\.tiers: is required for a TIERED rule/],
    [
      'bounded last tier',
      formula({ kind: 'TIERED', tiers: [{ upTo: '100.00', rate: '0.01', fixed: '0' }] }),
      /formula\.tiers\[0\]\.upTo: the last tier must be unbounded \(null\), got "100\.00"/,
    ],
    [
      'unbounded tier before the last',
      formula({
        kind: 'TIERED',
        tiers: [
          { upTo: null, rate: '0.01', fixed: '0' },
          { upTo: null, rate: '0.02', fixed: '0' },
        ],
      }),
      /formula\.tiers\[0\]\.upTo: only the last tier may be unbounded/,
    ],
    [
      'tiers not ascending',
      formula({
        kind: 'TIERED',
        tiers: [
          { upTo: '100.00', rate: '0.01', fixed: '0' },
          { upTo: '100.00', rate: '0.02', fixed: '0' },
          { upTo: null, rate: '0.02', fixed: '0' },
        ],
      }),
      /formula\.tiers\[1\]\.upTo: 100\.00 must be above the previous tier's 100\.00/,
    ],
    [
      'tier rate out of range',
      formula({ kind: 'TIERED', tiers: [{ upTo: null, rate: '1.5', fixed: '0' }] }),
      /formula\.tiers\[0\]\.rate: "1\.5" is not a rate/,
    ],
    [
      'tier without fixed',
      formula({ kind: 'TIERED', tiers: [{ upTo: null, rate: '0.01' }] } as never),
      /formula\.tiers\[0\]\.fixed: must be a decimal string, got undefined/,
    ],
    [
      'tier with a stray field',
      formula({ kind: 'TIERED', tiers: [{ upTo: null, rate: '0.01', fixed: '0', min: '1' }] } as never),
      /formula\.tiers\[0\]\.min: is not a field of a tier/,
    ],
    [
      'tier upTo at the wrong scale',
      formula({
        kind: 'TIERED',
        tiers: [
          { upTo: '99.999', rate: '0.01', fixed: '0' },
          { upTo: null, rate: '0.01', fixed: '0' },
        ],
      }),
      /formula\.tiers\[0\]\.upTo: "99\.999" has 3 fraction digits/,
    ],
  ])('refuses %s, naming the field', (_name, r, message) => {
    expectFeeError(() => validateFeeRule(r), 'FEES.INVALID_RULE', message);
  });

  it('prefixes every message with the rule id and version', () => {
    expectFeeError(
      () => validateFeeRule(rule({ id: '42', version: 3, formula: { kind: 'PERCENTAGE', rate: '6' } })),
      'FEES.INVALID_RULE',
      /^fee rule 42 v3: formula\.rate: "6" is not a rate in \[0, 1\) \(a rate is a fraction: 0\.6% is "0\.006"\)$/,
    );
  });

  it('validateFormula alone judges amounts against the given currency', () => {
    expect(() => validateFormula({ kind: 'FIXED', fixed: '0.125' }, 'BHD')).not.toThrow();
    expectFeeError(
      () => validateFormula({ kind: 'FIXED', fixed: '0.125' }, 'CNY'),
      'FEES.INVALID_RULE',
      /formula\.fixed/,
    );
  });
});

describe('rangesOverlap', () => {
  const r = (effectiveFrom: string | null, effectiveTo: string | null) => ({ effectiveFrom, effectiveTo });
  const jan = '2026-01-01T00:00:00Z';
  const feb = '2026-02-01T00:00:00Z';
  const mar = '2026-03-01T00:00:00Z';

  it.each([
    ['disjoint', r(jan, feb), r(mar, null), false],
    ['touching: to = the next from (a version handing over)', r(jan, feb), r(feb, mar), false],
    ['touching, other order', r(feb, mar), r(jan, feb), false],
    ['sharing a month', r(jan, mar), r(feb, null), true],
    ['both open-ended', r(jan, null), r(mar, null), true],
    ['open start before a closed range', r(null, feb), r(jan, mar), true],
    ['open start ending where the other begins', r(null, feb), r(feb, null), false],
    ['both fully open', r(null, null), r(null, null), true],
    ['one inside the other', r(jan, mar), r(feb, feb.replace('01T', '02T')), true],
    ['an empty range overlaps nothing', r(feb, feb), r(jan, mar), false],
    [
      'the same instant in another offset counts as the same',
      r(jan, '2026-02-01T08:00:00+08:00'),
      r(feb, null),
      false,
    ],
    ['one millisecond of overlap', r(jan, '2026-02-01T00:00:00.001Z'), r(feb, null), true],
  ])('%s', (_name, a, b, expected) => {
    expect(rangesOverlap(a, b)).toBe(expected);
    expect(rangesOverlap(b, a)).toBe(expected);
  });

  it('refuses a bound that is not an instant', () => {
    expectFeeError(
      () => rangesOverlap(r('2026-01-01', null), r(jan, null)),
      'FEES.INVALID_RULE',
      /a\.effectiveFrom/,
    );
  });
});

describe('selectRule', () => {
  const tx = {
    merchantId: 'M00042',
    channel: 'WECHAT',
    paymentMethod: 'BANK_CARD',
    currency: 'CNY',
    at: '2026-11-22T13:49:20+08:00',
  };
  const scoped = (
    id: string,
    merchantId: string | null,
    channel: string | null,
    paymentMethod: string | null,
    extra: Partial<FeeRule> = {},
  ) => rule({ id, scope: { merchantId, channel, paymentMethod }, ...extra });

  const platform = scoped('platform', null, null, null);
  const platformChannel = scoped('platform-channel', null, 'WECHAT', null);
  const platformChannelMethod = scoped('platform-channel-method', null, 'WECHAT', 'BANK_CARD');
  const platformMethod = scoped('platform-method', null, null, 'BANK_CARD');
  const merchant = scoped('merchant', 'M00042', null, null);
  const merchantMethod = scoped('merchant-method', 'M00042', null, 'BANK_CARD');
  const merchantChannel = scoped('merchant-channel', 'M00042', 'WECHAT', null);
  const merchantAll = scoped('merchant-all', 'M00042', 'WECHAT', 'BANK_CARD');
  const byRank = [
    platform,
    platformMethod,
    platformChannel,
    platformChannelMethod,
    merchant,
    merchantMethod,
    merchantChannel,
    merchantAll,
  ];

  it('picks the most specific: merchant, then channel, then payment method', () => {
    for (let i = 0; i < byRank.length; i += 1) {
      const candidates = byRank.slice(0, i + 1);
      // Order of the input must not matter.
      expect(selectRule(candidates, tx).id).toBe(byRank[i]?.id);
      expect(selectRule([...candidates].reverse(), tx).id).toBe(byRank[i]?.id);
    }
  });

  it('a merchant rule for any channel beats a platform rule for the exact channel and method', () => {
    expect(selectRule([platformChannelMethod, merchant], tx).id).toBe('merchant');
  });

  it('ignores rules of another merchant, channel, method or currency', () => {
    const rules = [
      platform,
      scoped('other-merchant', 'M00043', null, null),
      scoped('other-channel', null, 'ALIPAY', null),
      scoped('other-method', null, null, 'BALANCE'),
      scoped('other-currency', 'M00042', 'WECHAT', 'BANK_CARD', { currency: 'USD' }),
    ];
    expect(selectRule(rules, tx).id).toBe('platform');
  });

  it('a transaction without a payment method matches only any-method rules', () => {
    expect(
      selectRule([platform, platformMethod, merchant, merchantMethod], { ...tx, paymentMethod: null }).id,
    ).toBe('merchant');
    expect(selectRule([platform, platformMethod], { ...tx, paymentMethod: undefined }).id).toBe('platform');
  });

  it('a rule is in force on [from, to): from inclusive, to exclusive, in any offset', () => {
    const v1 = scoped('v1', 'M00042', null, null, {
      version: 1,
      effectiveFrom: '2026-06-01T00:00:00+08:00',
      effectiveTo: '2026-11-22T00:00:00+08:00',
    });
    const v2 = scoped('v2', 'M00042', null, null, {
      version: 2,
      effectiveFrom: '2026-11-21T16:00:00Z', // = 2026-11-22T00:00:00+08:00
      effectiveTo: null,
    });
    const rules = [platform, v1, v2];
    expect(selectRule(rules, { ...tx, at: '2026-11-21T23:59:59.999+08:00' }).id).toBe('v1');
    expect(selectRule(rules, { ...tx, at: '2026-11-22T00:00:00+08:00' }).id).toBe('v2');
    expect(selectRule(rules, { ...tx, at: '2026-11-21T16:00:00Z' }).id).toBe('v2');
    // Before the merchant's first version, the platform default applies.
    expect(selectRule(rules, { ...tx, at: '2026-05-31T23:59:59.999+08:00' }).id).toBe('platform');
    expect(selectRule(rules, { ...tx, at: '2026-05-31T16:00:00Z' }).id).toBe('v1');
    // The platform default starts at 2026-01-01T00:00:00+08:00 = 2025-12-31T16:00:00Z; before it, nothing.
    expect(selectRule(rules, { ...tx, at: '2025-12-31T16:00:00Z' }).id).toBe('platform');
    expectFeeError(
      () => selectRule(rules, { ...tx, at: '2025-12-31T15:59:59.999Z' }),
      'FEES.NO_RULE',
      /at 2025-12-31T15:59:59\.999Z$/,
    );
  });

  it('refuses to guess between two equally specific rules in force', () => {
    const a = scoped('7', 'M00042', 'WECHAT', null, { version: 1 });
    const b = scoped('9', 'M00042', 'WECHAT', null, { version: 2, effectiveFrom: '2026-06-01T00:00:00Z' });
    expectFeeError(
      () => selectRule([platform, a, b], tx),
      'FEES.OVERLAP',
      /^2 equally specific fee rules are in force for merchant M00042, channel WECHAT, payment method BANK_CARD, currency CNY at 2026-11-22T13:49:20\+08:00: rule 7 v1 \(merchant M00042, channel WECHAT, method any, \[2026-01-01T00:00:00\+08:00, ∞\)\); rule 9 v2 /,
    );
    // A more specific rule settles it: the overlap is only an error where it decides.
    expect(selectRule([platform, a, b, merchantAll], tx).id).toBe('merchant-all');
  });

  it('says what was looked for when no rule applies', () => {
    expectFeeError(
      () => selectRule([scoped('x', 'M1', null, null)], { ...tx, paymentMethod: null }),
      'FEES.NO_RULE',
      'no fee rule in force for merchant M00042, channel WECHAT, payment method (none), currency CNY at 2026-11-22T13:49:20+08:00',
    );
    expectFeeError(() => selectRule([], tx), 'FEES.NO_RULE', /payment method BANK_CARD, currency CNY/);
  });

  it('refuses a lookup instant without an offset', () => {
    expectFeeError(
      () => selectRule([platform], { ...tx, at: '2026-11-22 13:49:20' }),
      'FEES.INVALID_INPUT',
      /^at: /,
    );
  });
});
