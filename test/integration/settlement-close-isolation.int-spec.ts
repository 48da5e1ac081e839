/**
 * One merchant's refusal does not stop a cycle close (real Postgres): M_3's settleable cannot cover
 * its payable because a refund of its next cycle cleared first, so the ledger refuses its settlement
 * entry. The close halves its batch down to M_3, holds M_3 back (close_exception, merchantsHeldBack)
 * and closes the four other merchants; the next close settles M_3's items as late items netted with
 * the refund. Approving that zero-amount record completes it (PAID, nothing to transfer) instead of
 * leaving it APPROVED for a payout nobody asks for. The ledger stays balanced throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { accountBalance, Ledger, runLedgerChecks, trialBalance } from '@app/ledger';
import type { DataSource } from 'typeorm';
import {
  itemCleared,
  ApprovalService,
  CycleCloseService,
  dailySettlementSummary,
} from '../../apps/settlement/src/index.js';
import { formatClose } from '../../apps/cli/src/index.js';
import { migrateAll, openDataSource, useIsolatedDatabase } from '../support/infra.js';
import { clearIntoSettleable } from '../support/settlement-payouts.js';

describe('settlement cycle close holds back only the merchant the ledger refuses (real Postgres)', () => {
  let db: DataSource;
  const ledger = new Ledger();
  let service: CycleCloseService;

  const records = () =>
    db.query<
      { merchant_id: string; cycle_key: string; items_count: number; items_net: string; amount: string }[]
    >(
      `SELECT merchant_id, cycle_key, items_count, items_net::text, amount::text
       FROM settlement.settlement_record ORDER BY merchant_id, id`,
    );
  const unassigned = async (merchantId: string) => {
    const [row] = await db.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM settlement.cleared_item WHERE merchant_id = $1 AND settlement_record_id IS NULL`,
      [merchantId],
    );
    return row!.n;
  };

  beforeAll(async () => {
    await useIsolatedDatabase('settlement_close_isolation');
    await migrateAll();
    db = await openDataSource('settlement');
    // Batches of 4: M_1..M_4 together (M_3 refused inside it), M_5 alone.
    service = new CycleCloseService(db, ledger, { merchantsPerTransaction: 4 });
    // Monday's payments; M_3's Tuesday refund clears before Monday's cycle closes on Tuesday.
    expect(
      await clearIntoSettleable(db, ledger, [
        itemCleared('M_1', '2026-09-28', '10.00'),
        itemCleared('M_2', '2026-09-28', '20.00'),
        itemCleared('M_3', '2026-09-28', '100.00'),
        itemCleared('M_4', '2026-09-28', '40.00'),
        itemCleared('M_5', '2026-09-28', '50.00'),
      ]),
    ).toBe(5);
    expect(await clearIntoSettleable(db, ledger, [itemCleared('M_3', '2026-09-29', '-100.00')])).toBe(1);
  }, 60_000);

  afterAll(async () => {
    await db?.destroy();
  });

  it('closes everyone but M_3, whose settleable (0.00) cannot pay 100.00, and says so', async () => {
    expect((await accountBalance(db, '2203:M_3')).posted).toBe('0.00');
    const result = await service.close('2026-09-29', { by: 'ops:alice' });
    expect(result).toMatchObject({ recordsCreated: 4, itemsSettled: 4, merchantsExamined: 5 });
    expect(result.totals[0]).toMatchObject({ currency: 'CNY', records: 4, payable: '120.00' });
    expect(result.merchantsHeldBack).toEqual([
      { merchantId: 'M_3', code: 'LEDGER.INSUFFICIENT_FUNDS', message: expect.stringContaining('2203:M_3') },
    ]);
    expect(formatClose(result)).toContain('held back M_3: LEDGER.INSUFFICIENT_FUNDS');
    expect((await records()).map((r) => [r.merchant_id, r.amount])).toEqual([
      ['M_1', '10.00'],
      ['M_2', '20.00'],
      ['M_4', '40.00'],
      ['M_5', '50.00'],
    ]);
    const exceptions = await db.query<{ closes_on: string; merchant_id: string; code: string; by: string }[]>(
      `SELECT to_char(closes_on, 'YYYY-MM-DD') AS closes_on, merchant_id, code, by FROM settlement.close_exception`,
    );
    expect(exceptions).toEqual([
      { closes_on: '2026-09-29', merchant_id: 'M_3', code: 'LEDGER.INSUFFICIENT_FUNDS', by: 'ops:alice' },
    ]);
    // Finance sees it in the day's summary too.
    expect((await dailySettlementSummary(db, '2026-09-29')).heldBack).toEqual([
      {
        merchantId: 'M_3',
        code: 'LEDGER.INSUFFICIENT_FUNDS',
        message: expect.stringContaining('2203:M_3'),
        at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      },
    ]);
    // M_3's items wait for the next close.
    expect(await unassigned('M_3')).toBe(2);
    // The refused attempts rolled back whole: not even M_3's in-transit account was created.
    await expect(accountBalance(db, '2204:M_3')).rejects.toThrow('no account 2204:M_3');
    expect((await accountBalance(db, '2204:M_4')).posted).toBe('40.00');
    expect((await trialBalance(db)).balanced).toBe(true);
  });

  it('settles M_3 at the next close: the late payment and the refund net to zero', async () => {
    const result = await service.close('2026-09-30', { by: 'ops:alice' });
    expect(result.merchantsHeldBack).toEqual([]);
    expect(result).toMatchObject({ recordsCreated: 1, itemsSettled: 2 });
    const m3 = (await records()).filter((r) => r.merchant_id === 'M_3');
    expect(m3).toEqual([
      { merchant_id: 'M_3', cycle_key: 'T+1:2026-09-29', items_count: 2, items_net: '0.00', amount: '0.00' },
    ]);
    expect(await unassigned('M_3')).toBe(0);
    const report = await db.transaction('REPEATABLE READ', (tx) => runLedgerChecks(tx));
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  });

  it('completes the zero-amount record when it is approved: PAID, no payout requested, audited', async () => {
    const [m3] = await db.query<{ id: string }[]>(
      `SELECT id::text FROM settlement.settlement_record WHERE merchant_id = 'M_3'`,
    );
    const view = await new ApprovalService(db, ledger).approve(m3!.id, {
      by: 'finance:bob',
      idempotencyKey: 'zero-1',
    });
    expect(view).toMatchObject({ status: 'PAID' });
    const audit = await db.query<{ by: string; action: string; from_status: string; to_status: string }[]>(
      `SELECT by, action, from_status, to_status FROM settlement.record_audit WHERE record_id = $1 ORDER BY id`,
      [m3!.id],
    );
    expect(audit.slice(1)).toEqual([
      { by: 'finance:bob', action: 'APPROVE', from_status: 'PENDING_APPROVAL', to_status: 'APPROVED' },
      { by: 'system:payout', action: 'NO_PAYOUT_NEEDED', from_status: 'APPROVED', to_status: 'PAID' },
    ]);
    const [requests] = await db.query<{ n: number }[]>(
      'SELECT count(*)::int AS n FROM settlement.payout_request WHERE record_id = $1',
      [m3!.id],
    );
    expect(requests!.n).toBe(0);
  });
});
