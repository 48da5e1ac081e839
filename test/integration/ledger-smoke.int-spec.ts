import { Ledger, LedgerError, type EntryDraft } from '@app/ledger';
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

describe('ledger smoke', () => {
  let ds: DataSource;
  beforeAll(async () => {
    await useIsolatedDatabase('ledger_smoke');
    await migrateAll();
    ds = await openDataSource('ledger');
  });
  afterAll(async () => ds?.destroy());

  it('posts, replays, refuses a negative balance', async () => {
    const ledger = new Ledger();
    const fund = (key: string, amount: string): EntryDraft => ({
      idempotencyKey: key,
      businessRef: key,
      effectiveAt: '2026-11-22T09:00:00+08:00',
      postings: [
        {
          account: { template: 'channel_receivable', owner: 'WECHAT' },
          side: 'DEBIT',
          amount,
          currency: 'CNY',
        },
        { account: { template: 'merchant_pending', owner: 'M1' }, side: 'CREDIT', amount, currency: 'CNY' },
      ],
    });
    const [a] = await ds.transaction((tx) => ledger.post(tx, [fund('f1', '100.00')]));
    expect(a!.replayed).toBe(false);
    const [b] = await ds.transaction((tx) => ledger.post(tx, [fund('f1', '100.00')]));
    expect(b).toEqual({ ...a, replayed: true });
    await expect(ds.transaction((tx) => ledger.post(tx, [fund('f1', '100.01')]))).rejects.toThrow(
      LedgerError,
    );
    await ds.transaction((tx) => ledger.post(tx, [payment('p1', 'M1', '100.00', '0.60', '99.40')]));
    await expect(
      ds.transaction((tx) => ledger.post(tx, [payment('p2', 'M1', '0.01', '0.00', '0.01')])),
    ).rejects.toThrow(/INVALID_AMOUNT|INSUFFICIENT_FUNDS/);
    const rows = await ds.query<{ code: string; debit_total: string; credit_total: string }[]>(
      `SELECT a.code, b.debit_total::text, b.credit_total::text FROM ledger.account_balance b JOIN ledger.account a ON a.id = b.account_id ORDER BY a.code`,
    );
    console.log(rows);
  });
});
