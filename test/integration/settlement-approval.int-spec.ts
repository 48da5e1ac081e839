/**
 * Settlement approval (结算审核, maker-checker) on the real Postgres: records made by a real cycle
 * close, then approved and rejected through ApprovalService — self-approval by the submitter and by
 * an adjuster refused and audited, dual approval above the 50,000.00 CNY threshold, a rejection
 * returning the amount to 2203 settleable, idempotent replays, and 50 concurrent approve/reject
 * calls on one record resolving to exactly one decision and at most one payout request.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Money, type ClearingItemClearedV1 } from '@app/contracts';
import { accountBalance, Ledger, runLedgerChecks, trialBalance } from '@app/ledger';
import { createServiceDataSource, loadPlatformConfig } from '@app/platform';
import type { DataSource } from 'typeorm';
import {
  SettlementApprovalError,
  ApprovalService,
  getApprovalRecord,
  settlementMigrations,
  itemCleared,
  CLOSE_SUBMITTER,
  CycleCloseService,
} from '../../apps/settlement/src/index.js';
import { migrateAll, openDataSource, useIsolatedDatabase } from '../support/infra.js';
import { clearIntoSettleable } from '../support/settlement-payouts.js';

const CNY = (v: string) => Money.of(v, 'CNY');

describe('settlement approval (real Postgres)', () => {
  let db: DataSource;
  /** The service's own pool, big enough for 50 commands to really overlap. */
  let pool: DataSource;
  const ledger = new Ledger();
  let service: ApprovalService;
  const ids = new Map<string, string>();

  const clear = async (items: ClearingItemClearedV1[]) => {
    expect(await clearIntoSettleable(db, ledger, items)).toBe(items.length);
  };

  const audit = (recordId: string) =>
    db.query<
      {
        by: string;
        action: string;
        from_status: string;
        to_status: string;
        reason: string | null;
        outcome: string;
        code: string | null;
      }[]
    >(
      `SELECT by, action, from_status, to_status, reason, detail->>'outcome' AS outcome, detail->>'refusalCode' AS code
       FROM settlement.record_audit WHERE record_id = $1 AND action <> 'CREATED' ORDER BY id`,
      [recordId],
    );
  const statusOf = async (recordId: string) =>
    (
      await db.query<{ status: string; version: number }[]>(
        'SELECT status, version FROM settlement.settlement_record WHERE id = $1',
        [recordId],
      )
    )[0]!;
  const payoutRequests = (recordId: string) =>
    db.query<{ attempt_id: string; amount: string; status: string }[]>(
      'SELECT attempt_id, amount::text, status FROM settlement.payout_request WHERE record_id = $1',
      [recordId],
    );
  const refusedWith = async (promise: Promise<unknown>, code: string) => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SettlementApprovalError);
    expect((error as SettlementApprovalError).code).toBe(code);
    return error as SettlementApprovalError;
  };

  beforeAll(async () => {
    await useIsolatedDatabase('settlement_approval');
    await migrateAll();
    db = await openDataSource('settlement');
    pool = createServiceDataSource({
      databaseUrl: loadPlatformConfig('test').databaseUrl,
      schema: 'settlement',
      migrations: settlementMigrations,
      applicationName: 'cse-test-approval',
      poolMax: 12,
    });
    await pool.initialize();
    service = new ApprovalService(pool, ledger);
    await db.query(
      `INSERT INTO settlement.merchant_terms (merchant_id, currency, cycle, minimum_payout, payout_account) VALUES
         ('M_SMALL', 'CNY', '{"kind": "T_PLUS", "days": 1}', 0,
          '{"bank": "ICBC", "accountNo": "6222020200112233445", "holder": "Small Shop Ltd", "type": "CORPORATE"}')`,
    );
    await clear([
      itemCleared('M_SMALL', '2026-09-25', '100.00'),
      itemCleared('M_BIG', '2026-09-25', '60000.00'),
      itemCleared('M_REJ', '2026-09-25', '250.00'),
      itemCleared('M_RACE', '2026-09-25', '300.00'),
      itemCleared('M_IDEM', '2026-09-25', '80.00'),
    ]);
    const closed = await new CycleCloseService(db, ledger).close('2026-09-28', { by: CLOSE_SUBMITTER });
    expect(closed).toMatchObject({ recordsCreated: 5, itemsSettled: 5 });
    for (const r of await db.query<{ id: string; merchant_id: string }[]>(
      'SELECT id::text, merchant_id FROM settlement.settlement_record',
    ))
      ids.set(r.merchant_id, r.id);
  }, 60_000);

  afterAll(async () => {
    await pool?.destroy();
    await db?.destroy();
  });

  it('shows the approver the net payout and the payee account', async () => {
    const record = await getApprovalRecord(db, ids.get('M_SMALL')!);
    expect(record).toMatchObject({
      merchantId: 'M_SMALL',
      netPayout: '100.00',
      payeeAccount: { bank: 'ICBC', accountNo: '****3445', holder: 'Small Shop Ltd', type: 'CORPORATE' },
      status: 'PENDING_APPROVAL',
      version: 1,
      submittedBy: 'system:cycle-close',
      approvals: [],
      approvalsRequired: 1,
    });
    expect(record!.items.map((i) => [i.type, i.net])).toEqual([['PAYMENT', '100.00']]);
    expect(record!.audit.map((a) => [a.action, a.toStatus])).toEqual([['CREATED', 'PENDING_APPROVAL']]);
  });

  it('refuses self-approval by the submitter and by an adjuster, and audits both', async () => {
    const id = ids.get('M_SMALL')!;
    await db.query(`UPDATE settlement.settlement_record SET adjusted_by = '{ops:carol}' WHERE id = $1`, [id]);
    await refusedWith(
      service.approve(id, { by: CLOSE_SUBMITTER, idempotencyKey: 'self-1' }),
      'SELF_APPROVAL',
    );
    await refusedWith(service.approve(id, { by: 'ops:carol', idempotencyKey: 'self-2' }), 'SELF_APPROVAL');
    expect(await statusOf(id)).toEqual({ status: 'PENDING_APPROVAL', version: 1 });

    const approved = await service.approve(id, { by: 'finance:bob', idempotencyKey: 'small-ok' });
    expect(approved).toMatchObject({ status: 'APPROVED', version: 2, netPayout: '100.00' });
    expect(approved.approvals.map((a) => a.by)).toEqual(['finance:bob']);
    expect(await audit(id)).toEqual([
      {
        by: CLOSE_SUBMITTER,
        action: 'APPROVE',
        from_status: 'PENDING_APPROVAL',
        to_status: 'PENDING_APPROVAL',
        reason: null,
        outcome: 'REFUSED',
        code: 'SELF_APPROVAL',
      },
      {
        by: 'ops:carol',
        action: 'APPROVE',
        from_status: 'PENDING_APPROVAL',
        to_status: 'PENDING_APPROVAL',
        reason: null,
        outcome: 'REFUSED',
        code: 'SELF_APPROVAL',
      },
      {
        by: 'finance:bob',
        action: 'APPROVE',
        from_status: 'PENDING_APPROVAL',
        to_status: 'APPROVED',
        reason: null,
        outcome: 'APPLIED',
        code: null,
      },
    ]);
    expect(await payoutRequests(id)).toEqual([
      { attempt_id: `${id}-1`, amount: '100.00', status: 'REQUESTED' },
    ]);
  });

  it('needs two different approvers above 50,000.00 CNY', async () => {
    const id = ids.get('M_BIG')!;
    const first = await service.approve(id, { by: 'finance:bob', idempotencyKey: 'big-1' });
    expect(first).toMatchObject({
      status: 'PENDING_APPROVAL',
      version: 2,
      approvalsRequired: 2,
      netPayout: '60000.00',
    });
    expect(await payoutRequests(id)).toEqual([]);
    const twice = await refusedWith(
      service.approve(id, { by: 'finance:bob', idempotencyKey: 'big-2' }),
      'SAME_APPROVER_TWICE',
    );
    expect(twice.message).toMatch(/1 of 2 approvals/);
    const second = await service.approve(id, { by: 'finance:dan', idempotencyKey: 'big-3' });
    expect(second).toMatchObject({ status: 'APPROVED', version: 3 });
    expect(second.approvals.map((a) => a.by)).toEqual(['finance:bob', 'finance:dan']);
    expect((await audit(id)).map((a) => [a.by, a.to_status, a.outcome, a.code])).toEqual([
      ['finance:bob', 'PENDING_APPROVAL', 'APPLIED', null],
      ['finance:bob', 'PENDING_APPROVAL', 'REFUSED', 'SAME_APPROVER_TWICE'],
      ['finance:dan', 'APPROVED', 'APPLIED', null],
    ]);
    expect(await payoutRequests(id)).toEqual([
      { attempt_id: `${id}-1`, amount: '60000.00', status: 'REQUESTED' },
    ]);
  });

  it('rejects with a reason: the amount goes back to 2203 settleable', async () => {
    const id = ids.get('M_REJ')!;
    expect((await accountBalance(db, '2203:M_REJ')).posted).toBe('0.00');
    expect((await accountBalance(db, '2204:M_REJ')).posted).toBe('250.00');
    await refusedWith(
      service.reject(id, { by: 'finance:bob', reason: '  ', idempotencyKey: 'rej-0' }),
      'REASON_REQUIRED',
    );
    const rejected = await service.reject(id, {
      by: 'finance:bob',
      reason: ' payee name does not match the contract ',
      idempotencyKey: 'rej-1',
    });
    expect(rejected).toMatchObject({ status: 'REJECTED', version: 2 });
    expect((await accountBalance(db, '2203:M_REJ')).posted).toBe('250.00');
    expect((await accountBalance(db, '2204:M_REJ')).posted).toBe('0.00');
    expect((await audit(id)).map((a) => [a.action, a.to_status, a.reason, a.outcome, a.code])).toEqual([
      ['REJECT', 'PENDING_APPROVAL', null, 'REFUSED', 'REASON_REQUIRED'],
      ['REJECT', 'REJECTED', 'payee name does not match the contract', 'APPLIED', null],
    ]);
    await refusedWith(service.approve(id, { by: 'finance:dan', idempotencyKey: 'rej-2' }), 'NOT_PENDING');
    expect(await payoutRequests(id)).toEqual([]);
  });

  it('replays a key with the first answer; the same key for another request is a conflict', async () => {
    const id = ids.get('M_IDEM')!;
    const first = await service.approve(id, { by: 'finance:bob', idempotencyKey: 'idem-1' });
    const again = await service.approve(id, { by: 'finance:bob', idempotencyKey: 'idem-1' });
    expect(again).toEqual(first);
    expect(first).toMatchObject({ status: 'APPROVED', version: 2 });
    await refusedWith(
      service.reject(id, { by: 'finance:bob', reason: 'changed my mind', idempotencyKey: 'idem-1' }),
      'IDEMPOTENCY_CONFLICT',
    );
    // A refusal replays as the same refusal, without a second audit row.
    await refusedWith(service.approve(id, { by: 'finance:dan', idempotencyKey: 'idem-2' }), 'NOT_PENDING');
    await refusedWith(service.approve(id, { by: 'finance:dan', idempotencyKey: 'idem-2' }), 'NOT_PENDING');
    expect((await audit(id)).map((a) => [a.by, a.outcome, a.code])).toEqual([
      ['finance:bob', 'APPLIED', null],
      ['finance:dan', 'REFUSED', 'NOT_PENDING'],
    ]);
    expect(await payoutRequests(id)).toHaveLength(1);
  });

  it('resolves 50 concurrent approve/reject calls on one record to exactly one decision', async () => {
    const id = ids.get('M_RACE')!;
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        i % 2 === 0
          ? service.approve(id, { by: `checker:${i}`, idempotencyKey: `race-${i}` })
          : service.reject(id, { by: `checker:${i}`, reason: 'wrong account', idempotencyKey: `race-${i}` }),
      ),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(49);
    for (const r of lost) {
      expect(r.reason).toBeInstanceOf(SettlementApprovalError);
      expect(['NOT_PENDING', 'VERSION_CONFLICT']).toContain((r.reason as SettlementApprovalError).code);
    }
    const { status, version } = await statusOf(id);
    expect(['APPROVED', 'REJECTED']).toContain(status);
    expect(version).toBe(2);
    const trail = await audit(id);
    expect(trail).toHaveLength(50);
    const applied = trail.filter((a) => a.outcome === 'APPLIED');
    expect(applied).toHaveLength(1);
    expect(applied[0]!.to_status).toBe(status);
    expect(trail.filter((a) => a.outcome === 'REFUSED')).toHaveLength(49);
    const requests = await payoutRequests(id);
    if (status === 'APPROVED') {
      expect(requests).toEqual([{ attempt_id: `${id}-1`, amount: '300.00', status: 'REQUESTED' }]);
      expect((await accountBalance(db, '2204:M_RACE')).posted).toBe('300.00');
    } else {
      expect(requests).toEqual([]);
      expect((await accountBalance(db, '2203:M_RACE')).posted).toBe('300.00');
      expect((await accountBalance(db, '2204:M_RACE')).posted).toBe('0.00');
    }
  }, 60_000);

  it('keeps the ledger balanced and the trails append-only', async () => {
    expect((await trialBalance(db)).balanced).toBe(true);
    const report = await db.transaction('REPEATABLE READ', (tx) => runLedgerChecks(tx));
    expect(report.ok).toBe(true);
    const [paidOut] = await db.query<{ n: number; total: string }[]>(
      'SELECT count(*)::int AS n, coalesce(sum(amount), 0)::text AS total FROM settlement.payout_request',
    );
    // M_SMALL 100.00 + M_BIG 60000.00 + M_IDEM 80.00, plus M_RACE 300.00 if the race approved it.
    const race = (await statusOf(ids.get('M_RACE')!)).status === 'APPROVED';
    expect(paidOut).toEqual(race ? { n: 4, total: '60480.00' } : { n: 3, total: '60180.00' });
    expect(CNY(paidOut!.total).isPositive()).toBe(true);
    await expect(db.query(`DELETE FROM settlement.command_idempotency`)).rejects.toThrow(/append-only/);
    await expect(db.query(`UPDATE settlement.record_approval SET approver = 'x'`)).rejects.toThrow(
      /append-only/,
    );
  });
});
