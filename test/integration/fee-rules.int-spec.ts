/**
 * Fee rules as versioned configuration on the real Postgres (migration 1764000000600): the seeded
 * platform default and channel cost rates, rule selection, new versions closing old ones, the
 * refusals (overlap, a start in the past) and what the database itself refuses (the exclusion
 * constraint, the close-only trigger), and the fee quote.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import {
  FeeError,
  type FeeErrorCode,
  FeeRuleRepository,
  type FeeRuleDraft,
  FeeRulesService,
} from '../../apps/clearing/src/index.js';
import { migrateAll, openDataSource, useIsolatedDatabase } from '../support/infra.js';

/** Instants relative to today, so "the future" stays the future whenever the suite runs. */
const YEAR = new Date().getUTCFullYear();
const futureStart = (yearsAhead: number, month = '01') => `${YEAR + yearsAhead}-${month}-01T00:00:00+08:00`;
const iso = (instant: string) => new Date(instant).toISOString();

/** The seed: 2026-01-01 00:00 in Shanghai. */
const SEED_FROM = '2025-12-31T16:00:00.000Z';
const SAMPLE_DAY = '2026-11-22T21:49:20+08:00';

const percentage = (rate: string): FeeRuleDraft['formula'] => ({
  kind: 'PERCENTAGE',
  rate,
  rounding: 'HALF_UP',
});

function draft(overrides: Partial<FeeRuleDraft> & Pick<FeeRuleDraft, 'effectiveFrom'>): FeeRuleDraft {
  return {
    scope: { merchantId: null, channel: null, paymentMethod: null },
    currency: 'CNY',
    formula: percentage('0.006'),
    refundPolicy: 'PRO_RATA',
    ...overrides,
  };
}

async function feeErrorOf(promise: Promise<unknown>): Promise<{ code: FeeErrorCode; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof FeeError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a FeeError, got a result');
}

async function pgErrorOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { message: string; driverError?: { code?: string }; code?: string };
    return { code: e.driverError?.code ?? e.code ?? '', message: e.message };
  }
  throw new Error('expected the database to refuse');
}

describe('fee rules (real Postgres)', () => {
  let db: DataSource;
  let fees: FeeRulesService;
  const repository = new FeeRuleRepository();

  beforeAll(async () => {
    await useIsolatedDatabase('fee_rules');
    await migrateAll();
    db = await openDataSource('clearing');
    fees = new FeeRulesService(db);
  });

  afterAll(async () => {
    await db?.destroy();
  });

  const ruleCount = async () =>
    (await db.query<[{ n: number }]>('SELECT count(*)::int AS n FROM clearing.fee_rule'))[0].n;

  it('seeds the platform default (0.6% HALF_UP, PRO_RATA) and the WECHAT/ALIPAY cost rates from 2026-01-01 Shanghai', async () => {
    const rule = await fees.inForce({
      merchantId: 'M00001',
      channel: 'WECHAT',
      currency: 'CNY',
      at: SAMPLE_DAY,
    });
    expect(rule).toEqual({
      id: expect.stringMatching(/^\d+$/),
      version: 1,
      scope: { merchantId: null, channel: null, paymentMethod: null },
      currency: 'CNY',
      formula: { kind: 'PERCENTAGE', rate: '0.006', rounding: 'HALF_UP' },
      refundPolicy: 'PRO_RATA',
      effectiveFrom: SEED_FROM,
      effectiveTo: null,
      createdBy: 'migration',
      createdAt: expect.any(String),
      note: 'platform default rate',
    });
    await db.transaction(async (tx) => {
      for (const channel of ['WECHAT', 'ALIPAY'])
        expect(await repository.channelCostRateAt(tx, channel, SAMPLE_DAY)).toEqual({
          channel,
          rate: '0.006',
          rounding: 'HALF_UP',
          effectiveFrom: SEED_FROM,
          effectiveTo: null,
        });
      expect(await repository.channelCostRateAt(tx, 'UNIONPAY', SAMPLE_DAY)).toBeNull();
      // One millisecond before the seed starts there is no rule and no rate.
      expect(await repository.channelCostRateAt(tx, 'WECHAT', '2025-12-31T15:59:59.999Z')).toBeNull();
    });
    expect(
      await feeErrorOf(
        fees.inForce({
          merchantId: 'M00001',
          channel: 'WECHAT',
          currency: 'CNY',
          at: '2025-12-31T15:59:59.999Z',
        }),
      ),
    ).toEqual({ code: 'FEES.NO_RULE', message: expect.stringContaining('no fee rule in force') });
    expect(
      await feeErrorOf(
        fees.inForce({ merchantId: 'M00001', channel: 'WECHAT', currency: 'USD', at: SAMPLE_DAY }),
      ),
    ).toMatchObject({ code: 'FEES.NO_RULE' });
  });

  it('quotes 90.00 CNY paid with a 10.00 coupon (platform 6.00, merchant 4.00) on WECHAT: fee 0.60, net 95.40, channel cost 0.54', async () => {
    const before = await ruleCount();
    const split = await fees.quote({
      merchantId: 'M00001',
      channel: 'WECHAT',
      amount: '90.00',
      currency: 'CNY',
      coupon: { amount: '10.00', merchantFunded: '4.00', platformFunded: '6.00' },
      at: SAMPLE_DAY,
    });
    expect(split).toEqual({
      currency: 'CNY',
      amount: '90.00',
      orderValue: '100.00',
      couponMerchantFunded: '4.00',
      couponPlatformFunded: '6.00',
      pending: '96.00',
      fee: '0.60',
      merchantNet: '95.40',
      channelCost: '0.54',
    });
    // 100.00 paid with the same coupon: the order is worth 110.00.
    expect(
      await fees.quote({
        merchantId: 'M00001',
        channel: 'WECHAT',
        amount: '100.00',
        currency: 'CNY',
        coupon: { amount: '10.00', merchantFunded: '4.00', platformFunded: '6.00' },
        at: SAMPLE_DAY,
      }),
    ).toEqual({
      currency: 'CNY',
      amount: '100.00',
      orderValue: '110.00',
      couponMerchantFunded: '4.00',
      couponPlatformFunded: '6.00',
      pending: '106.00',
      fee: '0.66',
      merchantNet: '105.34',
      channelCost: '0.60',
    });
    // The first line of the sample statement: the channel's own fee is 1.44 on 239.54.
    expect(
      await fees.quote({
        merchantId: 'M00001',
        channel: 'WECHAT',
        amount: '239.54',
        currency: 'CNY',
        at: SAMPLE_DAY,
      }),
    ).toMatchObject({ fee: '1.44', merchantNet: '238.10', channelCost: '1.44' });
    // A channel without a cost rate costs nothing; the default rule still prices it.
    expect(
      await fees.quote({
        merchantId: 'M00001',
        channel: 'UNIONPAY',
        amount: '90.00',
        currency: 'CNY',
        at: SAMPLE_DAY,
      }),
    ).toMatchObject({ fee: '0.54', merchantNet: '89.46', channelCost: '0.00' });
    expect(
      await feeErrorOf(
        fees.quote({
          merchantId: 'M00001',
          channel: 'WECHAT',
          amount: '90.00',
          currency: 'CNY',
          coupon: { amount: '10.00', merchantFunded: '4.00', platformFunded: '5.00' },
          at: SAMPLE_DAY,
        }),
      ),
    ).toEqual({
      code: 'FEES.INVALID_INPUT',
      message: 'coupon: merchantFunded 4.00 + platformFunded 5.00 ≠ amount 10.00 CNY',
    });
    expect(
      await feeErrorOf(
        fees.quote({
          merchantId: 'M00001',
          channel: 'WECHAT',
          amount: '90.001',
          currency: 'CNY',
          at: SAMPLE_DAY,
        }),
      ),
    ).toMatchObject({ code: 'FEES.INVALID_INPUT' });
    expect(await ruleCount()).toBe(before);
  });

  it('prices a merchant with its own rule from its start, and every other merchant with the default', async () => {
    const start = futureStart(2);
    const created = await fees.createVersion(
      draft({
        scope: { merchantId: 'M_SPECIAL', channel: null, paymentMethod: null },
        formula: percentage('0.0038'),
        refundPolicy: 'NONE',
        effectiveFrom: start,
        note: 'contract 2026-17',
      }),
      'finance.li',
    );
    expect(created).toEqual({
      id: expect.stringMatching(/^\d+$/),
      version: 1,
      scope: { merchantId: 'M_SPECIAL', channel: null, paymentMethod: null },
      currency: 'CNY',
      formula: { kind: 'PERCENTAGE', rate: '0.0038', rounding: 'HALF_UP' },
      refundPolicy: 'NONE',
      effectiveFrom: iso(start),
      effectiveTo: null,
      createdBy: 'finance.li',
      createdAt: expect.any(String),
      note: 'contract 2026-17',
    });
    const at = (instant: string, merchantId = 'M_SPECIAL') =>
      fees.inForce({ merchantId, channel: 'WECHAT', currency: 'CNY', at: instant });
    expect((await at(start)).id).toBe(created.id);
    expect((await at(futureStart(3))).id).toBe(created.id);
    expect(await at(new Date(new Date(start).getTime() - 1).toISOString())).toMatchObject({
      version: 1,
      scope: { merchantId: null },
    });
    expect(await at(start, 'M00001')).toMatchObject({ scope: { merchantId: null } });

    // A channel-specific rule of the same merchant is more specific still.
    const wechatOnly = await fees.createVersion(
      draft({
        scope: { merchantId: 'M_SPECIAL', channel: 'WECHAT', paymentMethod: null },
        formula: percentage('0.0025'),
        effectiveFrom: start,
      }),
      'finance.li',
    );
    expect((await at(start)).id).toBe(wechatOnly.id);
    expect(
      (await fees.inForce({ merchantId: 'M_SPECIAL', channel: 'ALIPAY', currency: 'CNY', at: start })).id,
    ).toBe(created.id);

    const quote = (channel: string) =>
      fees.quote({ merchantId: 'M_SPECIAL', channel, amount: '1000.00', currency: 'CNY', at: start });
    expect(await quote('ALIPAY')).toMatchObject({ fee: '3.80', merchantNet: '996.20', channelCost: '6.00' });
    expect(await quote('WECHAT')).toMatchObject({ fee: '2.50', merchantNet: '997.50', channelCost: '6.00' });
  });

  it('closes the open version at the start of a new one from a future date; both are listed with their ranges', async () => {
    const next = futureStart(4);
    const v2 = await fees.createVersion(
      draft({ formula: percentage('0.0055'), effectiveFrom: next, note: 'platform rate cut' }),
      'finance.wang',
    );
    expect(v2).toMatchObject({ version: 2, effectiveFrom: iso(next), effectiveTo: null });

    const defaults = (await fees.list({ currency: 'CNY' })).filter(
      (r) => r.scope.merchantId === null && r.scope.channel === null && r.scope.paymentMethod === null,
    );
    expect(
      defaults.map((r) => [r.version, r.formula.rate, r.effectiveFrom, r.effectiveTo, r.createdBy]),
    ).toEqual([
      [1, '0.006', SEED_FROM, iso(next), 'migration'],
      [2, '0.0055', iso(next), null, 'finance.wang'],
    ]);
    // Past and present transactions keep the old rate; from the new start the new one applies.
    const quoteAt = (instant: string) =>
      fees.quote({
        merchantId: 'M00001',
        channel: 'WECHAT',
        amount: '1000.00',
        currency: 'CNY',
        at: instant,
      });
    expect(await quoteAt(SAMPLE_DAY)).toMatchObject({ fee: '6.00' });
    expect(await quoteAt(new Date(new Date(next).getTime() - 1).toISOString())).toMatchObject({
      fee: '6.00',
    });
    expect(await quoteAt(next)).toMatchObject({ fee: '5.50', merchantNet: '994.50' });

    // A merchant's chain: v1 from one date, v2 from a later one.
    const m2 = { merchantId: 'M2', channel: null, paymentMethod: null };
    await fees.createVersion(
      draft({ scope: m2, formula: percentage('0.005'), effectiveFrom: futureStart(2) }),
      'ops',
    );
    await fees.createVersion(
      draft({ scope: m2, formula: percentage('0.004'), effectiveFrom: futureStart(2, '03') }),
      'ops',
    );
    expect(
      (await fees.list({ merchantId: 'M2' })).map((r) => [
        r.version,
        r.formula.rate,
        r.effectiveFrom,
        r.effectiveTo,
      ]),
    ).toEqual([
      [1, '0.005', iso(futureStart(2)), iso(futureStart(2, '03'))],
      [2, '0.004', iso(futureStart(2, '03')), null],
    ]);
  });

  it('refuses a version overlapping another of its scope with FEES.OVERLAP, and changes nothing', async () => {
    const before = await fees.list({ merchantId: 'M2' });
    // Starts inside v1 and before the open v2: closing v2 there would rewrite v2's start.
    expect(
      await feeErrorOf(
        fees.createVersion(
          draft({
            scope: { merchantId: 'M2', channel: null, paymentMethod: null },
            effectiveFrom: futureStart(2, '02'),
          }),
          'ops',
        ),
      ),
    ).toEqual({
      code: 'FEES.OVERLAP',
      message: expect.stringMatching(/overlaps v1 \(rule \d+\) .*, v2 \(rule \d+\)/),
    });
    // A bounded window inside v1 overlaps v1 alone.
    expect(
      await feeErrorOf(
        fees.createVersion(
          draft({
            scope: { merchantId: 'M2', channel: null, paymentMethod: null },
            effectiveFrom: futureStart(2, '02'),
            effectiveTo: futureStart(2, '03'),
          }),
          'ops',
        ),
      ),
    ).toEqual({
      code: 'FEES.OVERLAP',
      message: expect.stringMatching(/overlaps v1 \(rule \d+\) \[[^\]]+\)$/),
    });
    expect(await fees.list({ merchantId: 'M2' })).toEqual(before);

    // The database refuses it too, whoever writes: the exclusion constraint (23P01).
    const direct = await pgErrorOf(
      db.query(
        `INSERT INTO clearing.fee_rule (merchant_id, currency, formula, refund_policy, version, effective_from, created_by)
         VALUES ('M2', 'CNY', '{"kind":"FIXED","fixed":"1.00"}', 'NONE', 9, $1, 'sql')`,
        [futureStart(3)],
      ),
    );
    expect(direct.code).toBe('23P01');
    expect(direct.message).toContain('fee_rule_no_overlap');
  });

  it('refuses a version starting in the past (FEES.INVALID_RULE), so already-cleared items keep their rule', async () => {
    const before = await ruleCount();
    expect(
      await feeErrorOf(
        fees.createVersion(
          draft({
            scope: { merchantId: 'M_LATE', channel: null, paymentMethod: null },
            effectiveFrom: '2026-06-01T00:00:00+08:00',
          }),
          'finance.li',
        ),
      ),
    ).toEqual({
      code: 'FEES.INVALID_RULE',
      message: expect.stringMatching(
        /^effectiveFrom 2026-06-01T00:00:00\+08:00 is in the past \(now .*\): a change never rewrites past clearing/,
      ),
    });
    // A new default from the past would re-price the sample day: refused the same way.
    expect(
      await feeErrorOf(fees.createVersion(draft({ effectiveFrom: SAMPLE_DAY }), 'finance.li')),
    ).toMatchObject({
      code: 'FEES.INVALID_RULE',
    });
    // A broken formula is refused before anything is written, naming the field.
    expect(
      await feeErrorOf(
        fees.createVersion(draft({ formula: percentage('6'), effectiveFrom: futureStart(5) }), 'finance.li'),
      ),
    ).toEqual({
      code: 'FEES.INVALID_RULE',
      message: expect.stringMatching(/^fee rule \(new\) v3: formula\.rate: "6" is not a rate in \[0, 1\)/),
    });
    expect(await ruleCount()).toBe(before);
  });

  it('keeps rule rows immutable in the database: only an open version may be closed, never into the past', async () => {
    const [m2v1, m2v2] = await fees.list({ merchantId: 'M2' });
    const refusals: { code: string; message: string }[] = [];
    for (const [sql, params] of [
      [`UPDATE clearing.fee_rule SET formula = '{"kind":"FIXED","fixed":"0.00"}' WHERE id = $1`, [m2v2!.id]],
      [`UPDATE clearing.fee_rule SET effective_to = $2 WHERE id = $1`, [m2v1!.id, futureStart(6)]],
      [`UPDATE clearing.fee_rule SET effective_to = '2026-06-01T00:00:00+08:00' WHERE id = $1`, [m2v2!.id]],
      [`DELETE FROM clearing.fee_rule WHERE id = $1`, [m2v1!.id]],
      [`TRUNCATE clearing.channel_cost_rate`, []],
      [`UPDATE clearing.channel_cost_rate SET rate = 0.001 WHERE channel = 'WECHAT'`, []],
    ] as const)
      refusals.push(await pgErrorOf(db.query(sql, [...params])));
    expect(refusals.map((r) => r.code)).toEqual(Array(6).fill('P0001'));
    expect(refusals.map((r) => r.message)).toEqual([
      expect.stringContaining('is immutable'),
      expect.stringContaining('is immutable'),
      expect.stringContaining('would rewrite the past'),
      expect.stringContaining('DELETE refused'),
      expect.stringContaining('TRUNCATE refused'),
      expect.stringContaining('is immutable'),
    ]);
    expect(await fees.list({ merchantId: 'M2' })).toEqual([m2v1, m2v2]);
  });
});
