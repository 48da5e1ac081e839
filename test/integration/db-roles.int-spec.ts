/**
 * Least privilege on the real Postgres (ADR 012): the settlement service's work — clearing into
 * settleable, a cycle close with a rolling reserve (entries, holds), an approval — runs as a role
 * from `grantServiceRole`, and that role cannot rewrite the books: UPDATE/DELETE on journal tables,
 * disabling their triggers, truncating its own audit trail and reading another service's schema
 * are all refused by the database.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { compactBalanceDeltas, Ledger, runLedgerChecks } from '@app/ledger';
import { createServiceDataSource, grantServiceRole } from '@app/platform';
import type { DataSource } from 'typeorm';
import { ApprovalService, itemCleared, CycleCloseService } from '../../apps/settlement/src/index.js';
import { migrateAll, openDataSource, useIsolatedDatabase } from '../support/infra.js';
import { clearIntoSettleable } from '../support/settlement-payouts.js';

describe('service roles: least privilege (real Postgres)', () => {
  const role = `cse_test_settlement_${process.pid}`;
  let admin: DataSource;
  let service: DataSource;

  beforeAll(async () => {
    const url = await useIsolatedDatabase('db_roles');
    await migrateAll();
    admin = await openDataSource('settlement');
    await grantServiceRole(admin, { role, schema: 'settlement', ledger: true });
    await grantServiceRole(admin, { role, schema: 'settlement', ledger: true }); // idempotent
    await admin.query(
      `INSERT INTO settlement.merchant_terms (merchant_id, currency, cycle, minimum_payout, reserve)
       VALUES ('M_R', 'CNY', '{"kind": "T_PLUS", "days": 1}', 0, '{"rate": "0.10", "holdDays": 7}')`,
    );
    const asRole = new URL(url);
    asRole.username = role;
    service = createServiceDataSource({
      databaseUrl: asRole.toString(),
      schema: 'settlement',
      migrations: [],
      applicationName: 'cse-test-role',
      poolMax: 3,
    });
    await service.initialize();
  }, 60_000);

  afterAll(async () => {
    await service?.destroy();
    if (admin) {
      await admin.query(`DROP OWNED BY ${role}`);
      await admin.query(`DROP ROLE ${role}`);
      await admin.destroy();
    }
  });

  it('is an ordinary login role that owns nothing', async () => {
    const [r] = await service.query<{ rolsuper: boolean; owned: number }[]>(
      `SELECT rolsuper, (SELECT count(*)::int FROM pg_class WHERE relowner = r.oid) AS owned
       FROM pg_roles r WHERE rolname = current_user`,
    );
    expect(r).toEqual({ rolsuper: false, owned: 0 });
  });

  it("does the settlement service's work: clear, close with a reserve hold, approve", async () => {
    const ledger = new Ledger();
    expect(await clearIntoSettleable(service, ledger, [itemCleared('M_R', '2026-09-25', '200.00')])).toBe(1);
    const closed = await new CycleCloseService(service, ledger).close('2026-09-28', { by: 'ops:alice' });
    expect(closed).toMatchObject({ recordsCreated: 1, merchantsHeldBack: [] });
    expect(closed.totals[0]).toMatchObject({ payable: '180.00', reserveHeld: '20.00' });
    const [record] = await service.query<{ id: string }[]>(
      'SELECT id::text FROM settlement.settlement_record',
    );
    const approved = await new ApprovalService(service, ledger).approve(record!.id, {
      by: 'finance:bob',
      idempotencyKey: 'role-approve-1',
    });
    expect(approved.status).toBe('APPROVED');
    // The BalanceDeltaCompactor every posting service runs folds the deltas under the same role.
    const folded = await compactBalanceDeltas(service);
    expect(folded.deltasFolded).toBeGreaterThan(0);
    const [left] = await service.query<{ n: number }[]>(
      'SELECT count(*)::int AS n FROM ledger.balance_delta',
    );
    expect(left!.n).toBe(0);
    const report = await service.transaction('REPEATABLE READ', (tx) => runLedgerChecks(tx));
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  });

  it('cannot rewrite the books or reach into another service', async () => {
    const refused: [string, RegExp][] = [
      [`UPDATE ledger.journal_entry SET description = 'x'`, /permission denied for table journal_entry/],
      ['DELETE FROM ledger.posting', /permission denied for table posting/],
      ['UPDATE ledger.hold SET amount = 0', /permission denied for table hold/],
      ['ALTER TABLE ledger.posting DISABLE TRIGGER ALL', /must be owner of table posting/],
      ['TRUNCATE settlement.record_audit', /permission denied for table record_audit/],
      [
        'SELECT count(*) FROM reconciliation.internal_transaction',
        /permission denied for schema reconciliation/,
      ],
      ['CREATE TABLE settlement.rogue (id int)', /permission denied for schema settlement/],
    ];
    for (const [sql, error] of refused) await expect(service.query(sql)).rejects.toThrow(error);
    // A table a later migration adds to its schema is usable at once (default privileges).
    await admin.query('CREATE TABLE settlement.added_later (id int)');
    await service.query('INSERT INTO settlement.added_later VALUES (1)');
    await admin.query('DROP TABLE settlement.added_later');
    // Its own append-only tables stay append-only through their triggers.
    await expect(service.query('DELETE FROM settlement.record_audit')).rejects.toThrow(/append-only/);
    const [entries] = await admin.query<{ n: number }[]>(
      'SELECT count(*)::int AS n FROM ledger.journal_entry',
    );
    expect(entries!.n).toBeGreaterThanOrEqual(2);
  });
});
