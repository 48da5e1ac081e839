/**
 * Cycle close on the real Postgres: cleared items of four merchants around a weekend and China's
 * 2026 National Day closed into settlement records with their ledger entries — a negative net
 * carried forward, a minimum payout carried forward, a 10% rolling reserve held and released on its
 * date, a late item landing in the next open cycle, closing a date twice creating nothing; the
 * ledger balanced and every item in exactly one record (DESIGN §7 invariant 3).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Money, type ClearingItemClearedV1 } from '@app/contracts';
import { accountBalance, Ledger, runLedgerChecks, trialBalance } from '@app/ledger';
import type { DataSource } from 'typeorm';
import {
  itemCleared,
  CycleCloseService,
  type CloseResult,
  listSettlementRecords,
} from '../../apps/settlement/src/index.js';
import { migrateAll, openDataSource, useIsolatedDatabase } from '../support/infra.js';
import { clearIntoSettleable } from '../support/settlement-payouts.js';

const CNY = (v: string) => Money.of(v, 'CNY');

describe('settlement cycle close (real Postgres)', () => {
  let db: DataSource;
  const ledger = new Ledger();
  let service: CycleCloseService;
  const nets: string[] = [];

  /** Stores the items and posts what clearing would have: Dr 2202 / Cr 2203 net (reversed for a refund). */
  const clear = async (items: ClearingItemClearedV1[]) => {
    expect(await clearIntoSettleable(db, ledger, items)).toBe(items.length);
    nets.push(...items.map((e) => e.net));
  };

  const records = () =>
    db.query<Record<string, string | number | null>[]>(
      `SELECT merchant_id, cycle_key, to_char(first_business_date, 'YYYY-MM-DD') AS first,
              to_char(last_business_date, 'YYYY-MM-DD') AS last, to_char(closes_on, 'YYYY-MM-DD') AS closes_on,
              to_char(payout_due_on, 'YYYY-MM-DD') AS payout_due_on, items_count, items_net::text, carried_in::text,
              reserve_held::text, reserve_released::text, amount::text, carry_forward::text, status,
              (journal_entry_id IS NOT NULL) AS has_entry
       FROM settlement.settlement_record ORDER BY closes_on, merchant_id, id`,
    );

  const close = (date: string): Promise<CloseResult> => service.close(date, { by: 'ops:alice' });

  beforeAll(async () => {
    await useIsolatedDatabase('settlement_close');
    await migrateAll();
    db = await openDataSource('settlement');
    // Own terms: C pays only from 100.00; D keeps 10% for 7 days.
    await db.query(
      `INSERT INTO settlement.merchant_terms (merchant_id, currency, cycle, minimum_payout, reserve) VALUES
         ('M_C', 'CNY', '{"kind": "T_PLUS", "days": 1}', 100.00, NULL),
         ('M_D', 'CNY', '{"kind": "T_PLUS", "days": 1}', 0, '{"rate": "0.10", "holdDays": 7}')`,
    );
    service = new CycleCloseService(db, ledger, { merchantsPerTransaction: 2 });
    await clear([
      // A: Friday, then the weekend (Monday's cycle), the eve of National Day, a holiday.
      itemCleared('M_A', '2026-09-25', '100.00'),
      itemCleared('M_A', '2026-09-25', '50.50'),
      itemCleared('M_A', '2026-09-26', '10.00'),
      itemCleared('M_A', '2026-09-27', '10.00'),
      itemCleared('M_A', '2026-09-30', '200.00'),
      itemCleared('M_A', '2026-10-03', '30.00'),
      // B: Tuesday's payment clears first, so Monday's refund is covered in 2203.
      itemCleared('M_B', '2026-09-29', '100.00'),
      itemCleared('M_B', '2026-09-28', '10.00'),
      itemCleared('M_B', '2026-09-28', '-40.00'),
      itemCleared('M_C', '2026-09-28', '60.00'),
      itemCleared('M_C', '2026-09-29', '55.00'),
      itemCleared('M_D', '2026-09-28', '200.00'),
      itemCleared('M_D', '2026-09-30', '50.00'),
    ]);
  }, 60_000);

  afterAll(async () => {
    await db?.destroy();
  });

  it('closes Monday 09-28: Friday’s items', async () => {
    const result = await close('2026-09-28');
    expect(result).toMatchObject({ recordsCreated: 1, itemsSettled: 2, nothingNew: false });
    expect(result.totals).toEqual([
      {
        currency: 'CNY',
        records: 1,
        items: 2,
        itemsNet: '150.50',
        payable: '150.50',
        carryForward: '0.00',
        reserveHeld: '0.00',
        reserveReleased: '0.00',
      },
    ]);
    expect(await records()).toEqual([
      {
        merchant_id: 'M_A',
        cycle_key: 'T+1:2026-09-25',
        first: '2026-09-25',
        last: '2026-09-25',
        closes_on: '2026-09-28',
        payout_due_on: '2026-09-28',
        items_count: 2,
        items_net: '150.50',
        carried_in: '0.00',
        reserve_held: '0.00',
        reserve_released: '0.00',
        amount: '150.50',
        carry_forward: '0.00',
        status: 'PENDING_APPROVAL',
        has_entry: true,
      },
    ]);
    expect((await accountBalance(db, '2204:M_A')).posted).toBe('150.50');
  });

  it('closes Tuesday 09-29: the weekend, a negative net and a small amount carried, a reserve held', async () => {
    const result = await close('2026-09-29');
    expect(result).toMatchObject({ recordsCreated: 4, itemsSettled: 6 });
    const rows = (await records()).filter((r) => r.closes_on === '2026-09-29');
    const brief = rows.map((r) => [
      r.merchant_id,
      r.cycle_key,
      r.first,
      r.items_count,
      r.items_net,
      r.carried_in,
      r.reserve_held,
      r.amount,
      r.carry_forward,
      r.has_entry,
    ]);
    expect(brief).toEqual([
      ['M_A', 'T+1:2026-09-28', '2026-09-26', 2, '20.00', '0.00', '0.00', '20.00', '0.00', true],
      ['M_B', 'T+1:2026-09-28', '2026-09-26', 2, '-30.00', '0.00', '0.00', '0.00', '-30.00', false],
      ['M_C', 'T+1:2026-09-28', '2026-09-26', 1, '60.00', '0.00', '0.00', '0.00', '60.00', false],
      ['M_D', 'T+1:2026-09-28', '2026-09-26', 1, '200.00', '0.00', '20.00', '180.00', '0.00', true],
    ]);
    const [hold] = await db.query<{ amount: string; release_on: string }[]>(
      `SELECT amount::text, to_char(release_on, 'YYYY-MM-DD') AS release_on FROM settlement.reserve_hold`,
    );
    // 09-29 + 7 days = 10-06, a holiday: released on the next business day.
    expect(hold).toEqual({ amount: '20.00', release_on: '2026-10-08' });
    expect(await accountBalance(db, '2203:M_D')).toMatchObject({
      posted: '70.00',
      held: '20.00',
      available: '50.00',
    });
  });

  it('puts a late item into the next open cycle, never a closed one; closing a date again creates nothing', async () => {
    await clear([itemCleared('M_A', '2026-09-28', '7.77')]);
    const again = await close('2026-09-29');
    expect(again).toMatchObject({
      recordsCreated: 0,
      itemsSettled: 0,
      recordsAlreadyClosed: 4,
      nothingNew: true,
    });
    const [unsettled] = await db.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM settlement.cleared_item WHERE settlement_record_id IS NULL AND business_date = '2026-09-28'`,
    );
    expect(unsettled!.n).toBe(1);

    const result = await close('2026-09-30');
    expect(result).toMatchObject({ recordsCreated: 3, itemsSettled: 3 });
    const rows = (await records()).filter((r) => r.closes_on === '2026-09-30');
    expect(
      rows.map((r) => [
        r.merchant_id,
        r.cycle_key,
        r.items_count,
        r.items_net,
        r.carried_in,
        r.amount,
        r.carry_forward,
      ]),
    ).toEqual([
      ['M_A', 'T+1:2026-09-29', 1, '7.77', '0.00', '7.77', '0.00'],
      ['M_B', 'T+1:2026-09-29', 1, '100.00', '-30.00', '70.00', '0.00'],
      ['M_C', 'T+1:2026-09-29', 1, '55.00', '60.00', '115.00', '0.00'],
    ]);
  });

  it('closes across National Day: 10-08 pays 09-30 and releases the reserve, 10-09 pays the holidays', async () => {
    const first = await close('2026-10-08');
    expect(first).toMatchObject({ recordsCreated: 2, itemsSettled: 2 });
    const second = await close('2026-10-09');
    expect(second).toMatchObject({ recordsCreated: 1, itemsSettled: 1 });
    const rows = (await records()).filter((r) => String(r.closes_on) >= '2026-10-08');
    expect(
      rows.map((r) => [
        r.merchant_id,
        r.cycle_key,
        r.first,
        r.last,
        r.closes_on,
        r.items_net,
        r.reserve_held,
        r.reserve_released,
        r.amount,
      ]),
    ).toEqual([
      ['M_A', 'T+1:2026-09-30', '2026-09-30', '2026-09-30', '2026-10-08', '200.00', '0.00', '0.00', '200.00'],
      ['M_D', 'T+1:2026-09-30', '2026-09-30', '2026-09-30', '2026-10-08', '50.00', '5.00', '20.00', '65.00'],
      ['M_A', 'T+1:2026-10-08', '2026-10-01', '2026-10-08', '2026-10-09', '30.00', '0.00', '0.00', '30.00'],
    ]);
    expect(await accountBalance(db, '2203:M_D')).toMatchObject({
      posted: '5.00',
      held: '5.00',
      available: '0.00',
    });
    const holds = await db.query<{ amount: string; release_on: string; released: boolean }[]>(
      `SELECT amount::text, to_char(release_on, 'YYYY-MM-DD') AS release_on, released_by_record_id IS NOT NULL AS released
       FROM settlement.reserve_hold ORDER BY record_id`,
    );
    expect(holds).toEqual([
      { amount: '20.00', release_on: '2026-10-08', released: true },
      { amount: '5.00', release_on: '2026-10-15', released: false },
    ]);
    expect((await close('2026-10-09')).nothingNew).toBe(true);
  });

  it('keeps invariant 3 and the ledger sound', async () => {
    const [items] = await db.query<{ total: number; settled: number; in_records: number }[]>(
      `SELECT count(*)::int AS total, count(settlement_record_id)::int AS settled,
              (SELECT sum(items_count)::int FROM settlement.settlement_record) AS in_records
       FROM settlement.cleared_item`,
    );
    expect(items).toEqual({ total: 14, settled: 14, in_records: 14 });
    // Per record: its items' nets are its items_net.
    const mismatched = await db.query<{ id: string }[]>(
      `SELECT r.id FROM settlement.settlement_record r
       LEFT JOIN settlement.cleared_item i ON i.settlement_record_id = r.id
       GROUP BY r.id, r.items_net, r.items_count
       HAVING coalesce(sum(i.net), 0) <> r.items_net OR count(i.event_id) <> r.items_count`,
    );
    expect(mismatched).toEqual([]);
    const [sums] = await db.query<{ paid: string; carried: string; held: string }[]>(
      `SELECT (SELECT sum(amount)::text FROM settlement.settlement_record) AS paid,
              (SELECT coalesce(sum(carry_forward), 0)::text FROM (
                 SELECT DISTINCT ON (merchant_id, currency) carry_forward FROM settlement.settlement_record
                 ORDER BY merchant_id, currency, closes_on DESC, id DESC) latest) AS carried,
              (SELECT sum(amount)::text FROM settlement.reserve_hold WHERE released_by_record_id IS NULL) AS held`,
    );
    const allNets = nets.reduce((s, v) => s.plus(CNY(v)), Money.zero('CNY'));
    expect(allNets.toString()).toBe('843.27');
    expect(CNY(sums!.paid).toString()).toBe('838.27');
    expect(CNY(sums!.paid).plus(CNY(sums!.carried)).plus(CNY(sums!.held)).toString()).toBe('843.27');
    expect((await accountBalance(db, '2204:M_A')).posted).toBe('408.27');

    const audit = await db.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM settlement.record_audit WHERE action = 'CREATED' AND by = 'ops:alice'`,
    );
    expect(audit[0]!.n).toBe(11);
    expect((await trialBalance(db)).balanced).toBe(true);
    const report = await db.transaction('REPEATABLE READ', (tx) => runLedgerChecks(tx));
    expect(report.ok).toBe(true);
  });

  it('refuses to close a day that has not begun, creating nothing', async () => {
    // Settlement's clock at 2026-09-30 23:30 Shanghai: the 1st of October has not begun.
    const early = new CycleCloseService(db, ledger, { now: () => new Date('2026-09-30T15:30:00Z') });
    const [before] = await db.query<{ n: number }[]>(
      'SELECT count(*)::int AS n FROM settlement.settlement_record',
    );
    await expect(early.close('2026-10-01', { by: 'ops:alice' })).rejects.toMatchObject({
      code: 'SETTLEMENT.INVALID_INPUT',
      message:
        "date: 2026-10-01 has not begun yet (today's business date is 2026-09-30 in Asia/Shanghai); a cycle is closed on or after its closing day, never before",
    });
    const [after] = await db.query<{ n: number }[]>(
      'SELECT count(*)::int AS n FROM settlement.settlement_record',
    );
    expect(after!.n).toBe(before!.n);
  });

  it('refuses to re-assign a settled item and to rewrite the audit trail', async () => {
    await expect(
      db.query(`UPDATE settlement.cleared_item SET settlement_record_id = NULL WHERE merchant_id = 'M_A'`),
    ).rejects.toThrow(/only settlement_record_id may change/);
    await expect(db.query(`DELETE FROM settlement.record_audit`)).rejects.toThrow(/append-only/);
  });

  it('lists records by date, merchant and status', async () => {
    const listed = await listSettlementRecords(db, { date: '2026-09-29', status: 'PENDING_APPROVAL' });
    expect(listed.map((r) => [r.merchantId, r.amount, r.carryForward])).toEqual([
      ['M_A', '20.00', '0.00'],
      ['M_B', '0.00', '-30.00'],
      ['M_C', '0.00', '60.00'],
      ['M_D', '180.00', '0.00'],
    ]);
    expect((await listSettlementRecords(db, { merchant: 'M_A' })).map((r) => r.cycleKey)).toEqual([
      'T+1:2026-09-25',
      'T+1:2026-09-28',
      'T+1:2026-09-29',
      'T+1:2026-09-30',
      'T+1:2026-10-08',
    ]);
  });
});
