/**
 * Invariant 5 (DESIGN.md §7): nothing in the ledger is ever updated or deleted, and the database
 * enforces it for whoever connects — here the services' own DataSource, with the same role and
 * settings they use. A correction is a reversing entry.
 */
import { Ledger, runLedgerChecks, type EntryDraft, type PostingDraft } from '@app/ledger';
import type { DataSource } from 'typeorm';
import { migrateAll, openDataSource, useIsolatedDatabase } from '../support/infra.js';

const leg = (account: PostingDraft['account'], side: PostingDraft['side'], amount: string): PostingDraft => ({
  account,
  side,
  amount,
  currency: 'CNY',
});

const payment = (key: string, merchant: string): EntryDraft => ({
  idempotencyKey: key,
  businessRef: `T-${key}`,
  effectiveAt: '2026-11-22T10:00:00+08:00',
  postings: [
    leg({ template: 'channel_receivable', owner: 'WECHAT' }, 'DEBIT', '100.00'),
    leg({ template: 'marketing_expense' }, 'DEBIT', '5.00'),
    leg({ template: 'merchant_pending', owner: merchant }, 'CREDIT', '105.00'),
  ],
});

describe('ledger immutability (real Postgres, the services’ own connection)', () => {
  let ds: DataSource;
  const ledger = new Ledger();
  let entryId: string;
  let holdId: string;

  beforeAll(async () => {
    await useIsolatedDatabase('ledger_immutability');
    await migrateAll();
    ds = await openDataSource('ledger');
    const [posted] = await ds.transaction((tx) => ledger.post(tx, [payment('pay-1', 'M1')]));
    entryId = posted!.entryId;
    await ds.transaction((tx) =>
      ledger.post(tx, [
        {
          idempotencyKey: 'clear-1',
          businessRef: 'T-clear-1',
          effectiveAt: '2026-11-22T11:00:00+08:00',
          postings: [
            leg({ template: 'merchant_pending', owner: 'M1' }, 'DEBIT', '105.00'),
            leg({ template: 'merchant_settleable', owner: 'M1' }, 'CREDIT', '104.37'),
            leg({ template: 'fee_income' }, 'CREDIT', '0.63'),
          ],
        },
      ]),
    );
    ({ holdId } = await ds.transaction((tx) =>
      ledger.placeHold(tx, {
        idempotencyKey: 'hold-1',
        account: { template: 'merchant_settleable', owner: 'M1' },
        amount: '4.37',
        currency: 'CNY',
      }),
    ));
    await ds.transaction((tx) => ledger.releaseHold(tx, holdId));
  });
  afterAll(async () => ds?.destroy());

  /** Every fact row, as text: the proof that a refused statement changed nothing. */
  async function facts(): Promise<string> {
    const tables = ['account', 'journal_entry', 'posting', 'hold', 'hold_resolution'];
    const dump: Record<string, unknown> = {};
    for (const t of tables) {
      dump[t] = await ds.query(`SELECT t::text AS row FROM ledger.${t} t ORDER BY 1`);
    }
    return JSON.stringify(dump);
  }

  it('connects as the services do (a sanity check of the premise)', async () => {
    const [who] = await ds.query<{ application_name: string }[]>(
      "SELECT current_setting('application_name') AS application_name",
    );
    expect(who!.application_name).toBe('cse-test');
  });

  const refused: [string, string][] = [
    ['UPDATE journal_entry', "UPDATE ledger.journal_entry SET business_ref = 'tampered' WHERE id = $1"],
    ['UPDATE journal_entry (every row)', "UPDATE ledger.journal_entry SET description = 'tampered'"],
    ['DELETE journal_entry', 'DELETE FROM ledger.journal_entry WHERE id = $1'],
    ['UPDATE posting', "UPDATE ledger.posting SET amount = amount + 0.01 WHERE entry_id = $1 AND side = 'C'"],
    [
      'UPDATE posting side',
      "UPDATE ledger.posting SET side = CASE side WHEN 'D' THEN 'C' ELSE 'D' END WHERE entry_id = $1",
    ],
    ['DELETE posting', 'DELETE FROM ledger.posting WHERE entry_id = $1'],
    ['UPDATE account', "UPDATE ledger.account SET owner_id = 'M2' WHERE code = '2202:M1' AND $1::bigint > 0"],
    ['DELETE hold', 'DELETE FROM ledger.hold WHERE $1::bigint > 0'],
    ['DELETE hold_resolution', 'DELETE FROM ledger.hold_resolution WHERE $1::bigint > 0'],
    ['TRUNCATE posting', 'TRUNCATE ledger.posting'],
    ['TRUNCATE journal_entry CASCADE', 'TRUNCATE ledger.journal_entry CASCADE'],
    ['TRUNCATE hold_resolution', 'TRUNCATE ledger.hold_resolution'],
  ];

  it.each(refused)('refuses %s with the trigger’s message and changes nothing', async (_what, sql) => {
    const before = await facts();
    const params = sql.includes('$1') ? [entryId] : [];
    await expect(ds.query(sql, params)).rejects.toThrow(
      /ledger\.\w+ is append-only: (UPDATE|DELETE|TRUNCATE) refused/,
    );
    // Inside a transaction too: the refusal aborts it, and nothing of it commits.
    await expect(
      ds.transaction(async (tx) => {
        await tx.query("SELECT set_config('application_name', 'cse-test-tx', true)");
        await tx.query(sql, params);
      }),
    ).rejects.toThrow(/append-only/);
    expect(await facts()).toBe(before);
  });

  it('a TRUNCATE of the journal without CASCADE is refused too', async () => {
    const before = await facts();
    // Postgres refuses this one on the foreign keys before the trigger runs; refused either way.
    await expect(ds.query('TRUNCATE ledger.journal_entry')).rejects.toThrow(/append-only|foreign key/);
    expect(await facts()).toBe(before);
  });

  it('corrects with a reversing entry: original and reversal net to zero on every account', async () => {
    const before = await facts();
    const original = (await firstEntryOf(ds, 'clear-1'))!;
    const reversal = await ds.transaction((tx) =>
      ledger.reverse(tx, {
        entryId: original,
        idempotencyKey: 'clear-1-reversal',
        effectiveAt: '2026-11-23T09:00:00+08:00',
        reason: 'fee charged at the wrong rate',
      }),
    );
    expect(reversal.replayed).toBe(false);
    const net = await ds.query<{ code: string; debit: string; credit: string }[]>(
      `SELECT a.code,
              sum(p.amount) FILTER (WHERE p.side = 'D')::text AS debit,
              sum(p.amount) FILTER (WHERE p.side = 'C')::text AS credit
       FROM ledger.posting p JOIN ledger.account a ON a.id = p.account_id
       WHERE p.entry_id IN ($1, $2)
       GROUP BY a.code ORDER BY a.code`,
      [original, reversal.entryId],
    );
    expect(net).toEqual([
      { code: '2202:M1', debit: '105.00', credit: '105.00' },
      { code: '2203:M1', debit: '104.37', credit: '104.37' },
      { code: '6001', debit: '0.63', credit: '0.63' },
    ]);
    // The original is still there, untouched; the reversal points at it.
    const [link] = await ds.query<{ reverses_entry_id: string; business_ref: string }[]>(
      'SELECT reverses_entry_id::text, business_ref FROM ledger.journal_entry WHERE id = $1',
      [reversal.entryId],
    );
    expect(link).toEqual({ reverses_entry_id: original, business_ref: 'T-clear-1' });
    const after = JSON.parse(await facts()) as Record<string, { row: string }[]>;
    const earlier = JSON.parse(before) as Record<string, { row: string }[]>;
    for (const table of Object.keys(earlier)) {
      // Append-only: every earlier row is still there, byte for byte.
      const rows = new Set(after[table]!.map((r) => r.row));
      for (const r of earlier[table]!) expect(rows.has(r.row)).toBe(true);
    }
    const report = await runLedgerChecks(ds);
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.checks.find((c) => c.name === 'reversals_mirror')!.detail).toMatch(/^1 reversals/);
  });

  it('a reversal link must name an existing entry, and nothing can point it elsewhere later', async () => {
    // The database's own guarantee, whoever writes: a constraint trigger that fires for reversals
    // only (migration 1764000003000), where a foreign key was checked for every entry.
    const refusal = async (sql: string, params: unknown[] = []) => {
      try {
        await ds.query(sql, params);
      } catch (error) {
        return (error as { driverError?: { code?: string; message?: string } }).driverError;
      }
      throw new Error(`not refused: ${sql}`);
    };
    const dangling = await refusal(
      `INSERT INTO ledger.journal_entry (idempotency_key, request_hash, business_ref, effective_at, reverses_entry_id)
       VALUES ('rev-dangling', 'x', 'T-x', now(), 987654321)`,
    );
    expect(dangling?.code).toBe('23503');
    expect(dangling?.message).toMatch(/reverses entry 987654321, which does not exist/);
    expect(await firstEntryOf(ds, 'rev-dangling')).toBeUndefined();
    const relinked = await refusal(
      'UPDATE ledger.journal_entry SET reverses_entry_id = $1 WHERE idempotency_key = $2',
      [entryId, 'clear-1-reversal'],
    );
    expect(relinked?.message).toMatch(/append-only: UPDATE refused/);
  });
});

async function firstEntryOf(ds: DataSource, key: string): Promise<string | undefined> {
  const [row] = await ds.query<{ id: string }[]>(
    'SELECT id::text FROM ledger.journal_entry WHERE idempotency_key = $1',
    [key],
  );
  return row?.id;
}
