/**
 * Balance deltas (ADR 006): every raise of an account is appended to ledger.balance_delta, only a
 * move that lowers a floored account locks and updates its balance row, and compaction folds the
 * deltas into the rows beside writers. Shown here: pending deltas count towards floors and holds,
 * compaction changes no figure, and compaction running all the time beside writers that credit
 * and pay out the same merchants loses nothing, deadlocks nobody and leaves the books exact.
 */
import {
  accountBalance,
  BalanceDeltaCompactor,
  compactBalanceDeltas,
  Ledger,
  LedgerError,
  runLedgerChecks,
  type EntryDraft,
} from '@app/ledger';
import type { DataSource } from 'typeorm';
import { migrateAll, openDataSource, useIsolatedDatabase } from '../support/infra.js';

const EFFECTIVE_AT = '2026-11-22T10:00:00+08:00';
const settleable = (owner: string) => ({ template: 'merchant_settleable', owner });
const receivable = { template: 'channel_receivable', owner: 'WECHAT' };

/** Money in from the channel: raises the merchant's settleable (a delta, no lock). */
const credit = (key: string, owner: string, amount: string): EntryDraft => ({
  idempotencyKey: key,
  businessRef: key,
  effectiveAt: EFFECTIVE_AT,
  postings: [
    { account: receivable, side: 'DEBIT', amount, currency: 'CNY' },
    { account: settleable(owner), side: 'CREDIT', amount, currency: 'CNY' },
  ],
});

/** Money out of the merchant's settleable: lowers a floored account (lock, floor check). */
const payOut = (key: string, owner: string, amount: string): EntryDraft => ({
  idempotencyKey: key,
  businessRef: key,
  effectiveAt: EFFECTIVE_AT,
  postings: [
    { account: settleable(owner), side: 'DEBIT', amount, currency: 'CNY' },
    { account: receivable, side: 'CREDIT', amount, currency: 'CNY' },
  ],
});

describe('ledger balance deltas and compaction (real Postgres)', () => {
  let ds: DataSource;
  const ledger = new Ledger();

  const deltaRows = async (code?: string) => {
    const [row] = await ds.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM ledger.balance_delta d JOIN ledger.account a ON a.id = d.account_id
       WHERE $1::text IS NULL OR a.code = $1`,
      [code ?? null],
    );
    return row!.n;
  };
  const balanceRow = async (code: string) => {
    const [row] = await ds.query<{ credit: string; debit: string }[]>(
      `SELECT b.credit_total::text AS credit, b.debit_total::text AS debit
       FROM ledger.account_balance b JOIN ledger.account a ON a.id = b.account_id WHERE a.code = $1`,
      [code],
    );
    return row;
  };

  /** Makes the next ledger account id `id` (the test's connection is the database owner). */
  const nextAccountId = async (id: number) => {
    await ds.query("SELECT setval(pg_get_serial_sequence('ledger.account', 'id'), $1, false)", [id]);
  };
  const accountId = async (code: string) => {
    const [row] = await ds.query<{ id: string }[]>('SELECT id::text FROM ledger.account WHERE code = $1', [
      code,
    ]);
    return row?.id;
  };

  beforeAll(async () => {
    await useIsolatedDatabase('ledger_compaction');
    await migrateAll();
    ds = await openDataSource('ledger');
  });
  afterAll(async () => {
    await ds?.destroy();
  });

  it('a raise is a delta; a lowering is checked against the balance row plus the pending deltas', async () => {
    await ds.transaction((tx) => ledger.post(tx, [credit('c-1', 'P1', '10.00')]));
    // Nothing on the row yet: the credit waits in a delta, and the balance already shows it.
    expect(await balanceRow('2203:P1')).toEqual({ credit: '0', debit: '0' });
    expect(await deltaRows('2203:P1')).toBe(1);
    expect((await accountBalance(ds, '2203:P1')).available).toBe('10.00');

    // A hold and a payout are judged on the 10.00 still in the delta.
    const { holdId } = await ds.transaction((tx) =>
      ledger.placeHold(tx, {
        idempotencyKey: 'h-1',
        account: settleable('P1'),
        amount: '4.00',
        currency: 'CNY',
      }),
    );
    await ds.transaction((tx) => ledger.post(tx, [payOut('p-1', 'P1', '6.00')]));
    // The payout went to the row (it lowered a floored account): −6.00 there, +10.00 pending.
    expect(await balanceRow('2203:P1')).toEqual({ credit: '0.00', debit: '6.00' });
    const refused = await ds
      .transaction((tx) => ledger.post(tx, [payOut('p-2', 'P1', '0.01')]))
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(LedgerError);
    expect((refused as LedgerError).message).toMatch(
      /2203:P1 would fall to -0\.01 CNY available \(held 4\.00\)/,
    );

    const before = await accountBalance(ds, '2203:P1');
    expect(before).toMatchObject({ posted: '4.00', held: '4.00', available: '0.00' });
    const folded = await compactBalanceDeltas(ds);
    expect(folded.deltasFolded).toBeGreaterThanOrEqual(1);
    expect(await deltaRows()).toBe(0);
    expect(await balanceRow('2203:P1')).toEqual({ credit: '10.00', debit: '6.00' });
    expect(await accountBalance(ds, '2203:P1')).toEqual(before);

    await ds.transaction((tx) => ledger.releaseHold(tx, holdId));
    expect((await accountBalance(ds, '2203:P1')).available).toBe('4.00');
    expect((await runLedgerChecks(ds)).checks.filter((c) => !c.ok)).toEqual([]);
  });

  it('compaction waits for a writer holding a lower account id instead of deadlocking with it (99 < 100)', async () => {
    // The two accounts straddle a power of ten, where a text sort ("100" < "99") and the numeric
    // lock order part ways: compaction once sorted so and deadlocked with writers.
    await nextAccountId(99);
    await ds.transaction((tx) => ledger.post(tx, [credit('r-99', 'R99', '10.00')]));
    await ds.transaction((tx) => ledger.post(tx, [credit('r-100', 'R100', '10.00')]));
    expect(await accountId('2203:R99')).toBe('99');
    expect(await accountId('2203:R100')).toBe('100');
    const observer = await openDataSource('ledger');
    const deadlocksBefore = await deadlocks(ds);
    try {
      let compaction: Promise<unknown> | undefined;
      // A payout on 99 holds its balance row; compaction must then queue on 99 holding nothing
      // another locker needs, so the same payout transaction can go on to lock 100.
      await ds.transaction(async (tx) => {
        await ledger.post(tx, [payOut('rp-99', 'R99', '3.00')]);
        compaction = compactBalanceDeltas(ds);
        await waitForLockWait(observer);
        await ledger.post(tx, [payOut('rp-100', 'R100', '4.00')]);
      });
      await compaction;
    } finally {
      await observer.destroy();
    }
    expect((await deadlocks(ds)) - deadlocksBefore).toBe(0);
    expect(await balanceRow('2203:R99')).toEqual({ credit: '10.00', debit: '3.00' });
    expect(await balanceRow('2203:R100')).toEqual({ credit: '10.00', debit: '4.00' });
    expect(await deltaRows('2203:R99')).toBe(0);
    expect(await deltaRows('2203:R100')).toBe(0);
  });

  it('compaction running all the time beside writers that credit and pay out the same merchants', async () => {
    const MERCHANTS = ['Q1', 'Q2', 'Q3', 'Q4', 'Q5', 'Q6'];
    // The merchants' ids straddle 1000 (sequence gaps from racing creations aside), so text and
    // numeric order disagree among the rows the writers and the compactor both lock.
    await nextAccountId(997);
    const WRITERS = 4;
    const ROUNDS = 60;
    // Each writer credits every merchant 1.00 + w cents per round and pays out 0.50 of it, in
    // batches that touch all merchants (so writers and compaction contend for the same rows).
    const compactor = new BalanceDeltaCompactor(ds, { LEDGER_COMPACTION_INTERVAL_MS: '5' });
    compactor.onApplicationBootstrap();
    const deadlocksBefore = await deadlocks(ds);
    try {
      await Promise.all(
        Array.from({ length: WRITERS }, async (_, w) => {
          for (let r = 0; r < ROUNDS; r += 1) {
            await ds.transaction((tx) =>
              ledger.post(
                tx,
                MERCHANTS.map((m) => credit(`cc-${w}-${r}-${m}`, m, `1.0${w}`)),
              ),
            );
            await ds.transaction((tx) =>
              ledger.post(
                tx,
                [...MERCHANTS].reverse().map((m) => payOut(`cp-${w}-${r}-${m}`, m, '0.50')),
              ),
            );
          }
        }),
      );
    } finally {
      await compactor.beforeApplicationShutdown();
    }
    // It did run beside the writers: most deltas were folded while they posted.
    expect(compactor.folded).toBeGreaterThan(0);
    // Per merchant: credits 60 × (1.00 + 1.01 + 1.02 + 1.03) = 243.60, payouts 4 × 60 × 0.50 = 120.00.
    for (const m of MERCHANTS) {
      expect((await accountBalance(ds, `2203:${m}`)).posted).toBe('123.60');
    }
    await compactBalanceDeltas(ds);
    expect(await deltaRows()).toBe(0);
    for (const m of MERCHANTS) {
      expect(await balanceRow(`2203:${m}`)).toEqual({ credit: '243.60', debit: '120.00' });
      expect((await accountBalance(ds, `2203:${m}`)).posted).toBe('123.60');
    }
    const report = await runLedgerChecks(ds);
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    // Locks are taken in account-id order by writers and compaction alike: nobody deadlocked.
    expect((await deadlocks(ds)) - deadlocksBefore).toBe(0);
  });

  it('the compactor is off at 0 and refuses a malformed interval', () => {
    const off = new BalanceDeltaCompactor(ds, { LEDGER_COMPACTION_INTERVAL_MS: '0' });
    off.onApplicationBootstrap();
    expect(() => new BalanceDeltaCompactor(ds, { LEDGER_COMPACTION_INTERVAL_MS: '10s' })).toThrow(
      /LEDGER_COMPACTION_INTERVAL_MS must be a non-negative integer, got "10s"/,
    );
  });
});

/** Until another session of this database waits for a heavyweight lock (a row lock, here). */
async function waitForLockWait(observer: DataSource): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [row] = await observer.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
    );
    if (row!.n > 0) return;
    if (Date.now() > deadline) throw new Error('nobody waited for a lock within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function deadlocks(ds: DataSource): Promise<number> {
  const [row] = await ds.query<{ n: string }[]>(
    'SELECT deadlocks::text AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  return Number(row!.n);
}
