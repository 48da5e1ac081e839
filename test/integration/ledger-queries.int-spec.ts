/**
 * The ledger's read side on real Postgres: balances now and as of an instant, and account
 * statements with a running balance, for a merchant's account (postings found by the B-tree on
 * account and time) and for the hot platform accounts (postings found by a BRIN on time, as-of
 * balances as the current balance less what came after; migration 1764000003000). Each figure is
 * computed independently here from the entries the test posted.
 */
import { accountBalance, accountStatement, compactBalanceDeltas, Ledger, type EntryDraft } from '@app/ledger';
import type { DataSource } from 'typeorm';
import { migrateAll, openDataSource, useIsolatedDatabase } from '../support/infra.js';

/** A cleared payment at `at`: gross from the channel, net to the merchant, fee to the platform. */
const payment = (key: string, at: string, gross: string, net: string, fee: string): EntryDraft => ({
  idempotencyKey: key,
  businessRef: key,
  effectiveAt: at,
  postings: [
    {
      account: { template: 'channel_receivable', owner: 'WECHAT' },
      side: 'DEBIT',
      amount: gross,
      currency: 'CNY',
    },
    {
      account: { template: 'merchant_settleable', owner: 'S1' },
      side: 'CREDIT',
      amount: net,
      currency: 'CNY',
    },
    { account: { template: 'fee_income' }, side: 'CREDIT', amount: fee, currency: 'CNY' },
  ],
});

/** A payout of `amount` from the merchant, settled against the channel receivable. */
const payout = (key: string, at: string, amount: string): EntryDraft => ({
  idempotencyKey: key,
  businessRef: key,
  effectiveAt: at,
  postings: [
    { account: { template: 'merchant_settleable', owner: 'S1' }, side: 'DEBIT', amount, currency: 'CNY' },
    { account: { template: 'channel_receivable', owner: 'WECHAT' }, side: 'CREDIT', amount, currency: 'CNY' },
  ],
});

describe('ledger queries: balances as of a time and statements (real Postgres)', () => {
  let ds: DataSource;
  const ledger = new Ledger();

  beforeAll(async () => {
    await useIsolatedDatabase('ledger_queries');
    await migrateAll();
    ds = await openDataSource('ledger');
    // Posted out of time order on purpose: 10:00 and 12:00 first, then 09:00 (back-dated) and 11:00.
    await ds.transaction((tx) =>
      ledger.post(tx, [
        payment('q-10', '2026-11-22T10:00:00+08:00', '100.00', '99.40', '0.60'),
        payment('q-12', '2026-11-22T12:00:00+08:00', '50.00', '49.70', '0.30'),
      ]),
    );
    await ds.transaction((tx) =>
      ledger.post(tx, [
        payment('q-09', '2026-11-22T09:00:00+08:00', '20.00', '19.88', '0.12'),
        payout('q-11', '2026-11-22T11:00:00+08:00', '30.00'),
      ]),
    );
  });
  afterAll(async () => {
    await ds?.destroy();
  });

  // After 09:00 / 10:00 / 11:00 / 12:00, on each account's normal side.
  const EXPECTED = {
    '2203:S1': ['19.88', '119.28', '89.28', '138.98'],
    '6001': ['0.12', '0.72', '0.72', '1.02'],
    '1122:WECHAT': ['20.00', '120.00', '90.00', '140.00'],
  } as const;
  const INSTANTS = ['09:30', '10:30', '11:30', '12:30'].map((t) => `2026-11-22T${t}:00+08:00`);

  it.each(Object.keys(EXPECTED) as (keyof typeof EXPECTED)[])(
    '%s: balance as of each instant, before and after compaction, and now',
    async (code) => {
      const asOf = async () => {
        const figures: string[] = [];
        for (const at of INSTANTS) figures.push((await accountBalance(ds, code, { asOf: at })).posted);
        return figures;
      };
      expect(await asOf()).toEqual(EXPECTED[code]);
      expect((await accountBalance(ds, code, { asOf: '2026-11-22T08:59:59.999+08:00' })).posted).toBe('0.00');
      expect((await accountBalance(ds, code)).posted).toBe(EXPECTED[code][3]);
      await compactBalanceDeltas(ds);
      expect(await asOf()).toEqual(EXPECTED[code]);
      expect((await accountBalance(ds, code)).posted).toBe(EXPECTED[code][3]);
    },
  );

  it.each(Object.keys(EXPECTED) as (keyof typeof EXPECTED)[])(
    '%s: statement of 09:30–11:30 with its opening, running and closing balances',
    async (code) => {
      const statement = await accountStatement(ds, code, {
        from: '2026-11-22T09:30:00+08:00',
        to: '2026-11-22T11:30:00+08:00',
      });
      const [afterNine, afterTen, afterEleven] = EXPECTED[code];
      expect(statement.openingBalance).toBe(afterNine);
      expect(statement.closingBalance).toBe(afterEleven);
      // 6001 has no posting at 11:00 (a payout pays no fee).
      const running = code === '6001' ? [afterTen] : [afterTen, afterEleven];
      expect(statement.lines.map((l) => l.balance)).toEqual(running);
      expect(statement.lines.map((l) => l.businessRef)).toEqual(
        code === '6001' ? ['q-10'] : ['q-10', 'q-11'],
      );
      expect(statement.lineCount).toBe(running.length);
      expect(statement.truncated).toBe(false);
    },
  );

  it('a whole statement of the hot fee account, cut by a limit, keeps the period totals', async () => {
    const statement = await accountStatement(ds, '6001', { limit: 2 });
    expect(statement.openingBalance).toBe('0.00');
    expect(statement.lines.map((l) => [l.businessRef, l.amount, l.balance])).toEqual([
      ['q-09', '0.12', '0.12'],
      ['q-10', '0.60', '0.72'],
    ]);
    expect(statement).toMatchObject({
      lineCount: 3,
      truncated: true,
      creditTotal: '1.02',
      closingBalance: '1.02',
    });
  });
});
