/**
 * The ledger in five calls, as a service uses it: fund a merchant, replay, refuse a conflicting
 * replay, clear with a fee, refuse an overdraft. The fuzzing lives in ledger-properties.int-spec.ts.
 */
import { Ledger, LedgerError, runLedgerChecks, type EntryDraft } from '@app/ledger';
import type { DataSource } from 'typeorm';
import { migrateAll, openDataSource, useIsolatedDatabase } from '../support/infra.js';

const payment = (key: string, merchant: string, gross: string, fee: string, net: string): EntryDraft => ({
  idempotencyKey: key,
  businessRef: key,
  effectiveAt: '2026-11-22T10:00:00+08:00',
  postings: [
    {
      account: { template: 'merchant_pending', owner: merchant },
      side: 'DEBIT',
      amount: gross,
      currency: 'CNY',
    },
    {
      account: { template: 'merchant_settleable', owner: merchant },
      side: 'CREDIT',
      amount: net,
      currency: 'CNY',
    },
    { account: { template: 'fee_income' }, side: 'CREDIT', amount: fee, currency: 'CNY' },
  ],
});

const fund = (key: string, amount: string): EntryDraft => ({
  idempotencyKey: key,
  businessRef: key,
  effectiveAt: '2026-11-22T09:00:00+08:00',
  postings: [
    { account: { template: 'channel_receivable', owner: 'WECHAT' }, side: 'DEBIT', amount, currency: 'CNY' },
    { account: { template: 'merchant_pending', owner: 'M1' }, side: 'CREDIT', amount, currency: 'CNY' },
  ],
});

const settle = (key: string, merchant: string, amount: string): EntryDraft => ({
  idempotencyKey: key,
  businessRef: key,
  effectiveAt: '2026-11-23T10:00:00+08:00',
  postings: [
    { account: { template: 'merchant_settleable', owner: merchant }, side: 'DEBIT', amount, currency: 'CNY' },
    {
      account: { template: 'merchant_in_transit', owner: merchant },
      side: 'CREDIT',
      amount,
      currency: 'CNY',
    },
  ],
});

describe('ledger smoke', () => {
  let ds: DataSource;
  beforeAll(async () => {
    await useIsolatedDatabase('ledger_smoke');
    await migrateAll();
    ds = await openDataSource('ledger');
  });
  afterAll(async () => ds?.destroy());

  it('posts, replays, refuses a conflicting replay and a negative balance', async () => {
    const ledger = new Ledger();
    const [a] = await ds.transaction((tx) => ledger.post(tx, [fund('f1', '100.00')]));
    expect(a!.replayed).toBe(false);
    const [b] = await ds.transaction((tx) => ledger.post(tx, [fund('f1', '100.00')]));
    expect(b).toEqual({ ...a, replayed: true });
    await expect(ds.transaction((tx) => ledger.post(tx, [fund('f1', '100.01')]))).rejects.toThrow(
      /IDEMPOTENCY_CONFLICT/,
    );
    await ds.transaction((tx) => ledger.post(tx, [payment('p1', 'M1', '100.00', '0.60', '99.40')]));
    const overdraft = ds.transaction((tx) => ledger.post(tx, [payment('p2', 'M1', '0.01', '0.00', '0.01')]));
    // A zero fee is an invalid posting before it is an overdraft.
    await expect(overdraft).rejects.toThrow(LedgerError);
    await expect(overdraft).rejects.toThrow(/INVALID_AMOUNT/);
    // M1's settleable account holds 99.40 after p1; moving 99.41 on to settlement overdraws it.
    await expect(ds.transaction((tx) => ledger.post(tx, [settle('s1', 'M1', '99.41')]))).rejects.toThrow(
      /INSUFFICIENT_FUNDS: 2203:M1 would fall to -0.01 CNY/,
    );

    const rows = await ds.query<{ code: string; debit: string; credit: string }[]>(
      `SELECT a.code, (b.debit_total + coalesce(sum(d.debit), 0))::text AS debit,
              (b.credit_total + coalesce(sum(d.credit), 0))::text AS credit
       FROM ledger.account_balance b JOIN ledger.account a ON a.id = b.account_id
       LEFT JOIN ledger.balance_delta d ON d.account_id = a.id
       GROUP BY a.code, b.debit_total, b.credit_total ORDER BY a.code`,
    );
    expect(rows).toEqual([
      { code: '1122:WECHAT', debit: '100.00', credit: '0.00' },
      { code: '2202:M1', debit: '100.00', credit: '100.00' },
      { code: '2203:M1', debit: '0.00', credit: '99.40' },
      { code: '6001', debit: '0.00', credit: '0.60' },
    ]);
    expect((await runLedgerChecks(ds)).ok).toBe(true);
  });
});
