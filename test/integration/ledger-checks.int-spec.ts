/**
 * The checks are only worth running if they fail when the book is wrong. Each case below breaks the
 * book one way, behind the ledger's back (as a bad migration, a hand-written fix or a bug would),
 * inside a transaction that is rolled back afterwards, and expects exactly the checks that should
 * notice to fail, naming the rows at fault.
 */
import {
  Ledger,
  LEDGER_CHECK_DIFFERENCES_MAX,
  runLedgerChecks,
  type EntryDraft,
  type PostingDraft,
} from '@app/ledger';
import type { DataSource, EntityManager } from 'typeorm';
import { migrateAll, openDataSource, useIsolatedDatabase } from '../support/infra.js';

const leg = (account: PostingDraft['account'], side: PostingDraft['side'], amount: string): PostingDraft => ({
  account,
  side,
  amount,
  currency: 'CNY',
});
const entry = (key: string, postings: PostingDraft[]): EntryDraft => ({
  idempotencyKey: key,
  businessRef: `T-${key}`,
  effectiveAt: '2026-11-22T10:00:00+08:00',
  postings,
});
const WECHAT = { template: 'channel_receivable', owner: 'WECHAT' };
const pending = (m: string) => ({ template: 'merchant_pending', owner: m });
const settleable = (m: string) => ({ template: 'merchant_settleable', owner: m });

class RollBack extends Error {}

describe('runLedgerChecks (real Postgres)', () => {
  let ds: DataSource;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    await useIsolatedDatabase('ledger_checks');
    await migrateAll();
    ds = await openDataSource('ledger');
    const ledger = new Ledger();
    const posted = await ds.transaction((tx) =>
      ledger.post(tx, [
        entry('fund-m1', [leg(WECHAT, 'DEBIT', '1000.00'), leg(pending('M1'), 'CREDIT', '1000.00')]),
        entry('clear-m1', [
          leg(pending('M1'), 'DEBIT', '600.00'),
          leg(settleable('M1'), 'CREDIT', '596.40'),
          leg({ template: 'fee_income' }, 'CREDIT', '3.60'),
        ]),
        entry('fund-m2', [
          leg(WECHAT, 'DEBIT', '45.00'),
          leg({ template: 'marketing_expense' }, 'DEBIT', '5.00'),
          leg(pending('M2'), 'CREDIT', '50.00'),
        ]),
        entry('fund-m1-again', [leg(WECHAT, 'DEBIT', '10.00'), leg(pending('M1'), 'CREDIT', '10.00')]),
      ]),
    );
    for (const p of posted) ids[p.idempotencyKey] = p.entryId;
    await ds.transaction((tx) =>
      ledger.placeHold(tx, {
        idempotencyKey: 'hold-m1',
        account: settleable('M1'),
        amount: '100.00',
        currency: 'CNY',
      }),
    );
    const reversal = await ds.transaction((tx) =>
      ledger.reverse(tx, {
        entryId: ids['fund-m2']!,
        idempotencyKey: 'fund-m2-rev',
        effectiveAt: '2026-11-23T10:00:00+08:00',
        reason: 'duplicate',
      }),
    );
    ids['fund-m2-rev'] = reversal.entryId;
  });
  afterAll(async () => ds?.destroy());

  /** Breaks the book inside a transaction, runs the checks there, rolls everything back. */
  async function checksAfter(corrupt: (tx: EntityManager) => Promise<void>) {
    let report: Awaited<ReturnType<typeof runLedgerChecks>> | undefined;
    await expect(
      ds.transaction(async (tx) => {
        // Superuser only: lets the test do what the triggers forbid the services to do.
        await tx.query("SET LOCAL session_replication_role = 'replica'");
        await corrupt(tx);
        report = await runLedgerChecks(tx);
        throw new RollBack();
      }),
    ).rejects.toBeInstanceOf(RollBack);
    return report!;
  }

  /** Writes an entry straight into the tables, and (unless told not to) its projection too. */
  async function rawEntry(
    tx: EntityManager,
    key: string,
    postings: [code: string, side: 'D' | 'C', amount: string][],
    options: { reverses?: string; projection?: boolean } = {},
  ): Promise<string> {
    const [row] = await tx.query<{ id: string }[]>(
      `INSERT INTO ledger.journal_entry (idempotency_key, request_hash, business_ref, effective_at, reverses_entry_id)
       VALUES ($1, 'raw', $1, now(), $2) RETURNING id::text`,
      [key, options.reverses ?? null],
    );
    for (const [index, [code, side, amount]] of postings.entries()) {
      await tx.query(
        `INSERT INTO ledger.posting (entry_id, line, account_id, side, amount, hot_account, currency, effective_at)
         SELECT $1, $5, a.id, $2, $3, t.hot, a.currency, now()
         FROM ledger.account a JOIN ledger.account_template t ON t.code = a.template_code WHERE a.code = $4`,
        [row!.id, side, amount, code, index + 1],
      );
      if (options.projection === false) continue;
      const [debit, credit] = side === 'D' ? [amount, '0'] : ['0', amount];
      await tx.query(
        `INSERT INTO ledger.balance_delta (account_id, debit, credit)
         SELECT a.id, $2, $3 FROM ledger.account a JOIN ledger.account_template t ON t.code = a.template_code
         WHERE a.code = $1 AND t.hot`,
        [code, debit, credit],
      );
      await tx.query(
        `UPDATE ledger.account_balance b SET debit_total = debit_total + $2, credit_total = credit_total + $3
         FROM ledger.account a JOIN ledger.account_template t ON t.code = a.template_code
         WHERE b.account_id = a.id AND a.code = $1 AND NOT t.hot`,
        [code, debit, credit],
      );
    }
    return row!.id;
  }

  const failing = (report: Awaited<ReturnType<typeof runLedgerChecks>>) =>
    report.checks.filter((c) => !c.ok).map((c) => c.name);
  const check = (report: Awaited<ReturnType<typeof runLedgerChecks>>, name: string) =>
    report.checks.find((c) => c.name === name)!;

  it('passes on a healthy book, with one human line per check', async () => {
    for (const db of [ds, ds.manager]) {
      const report = await runLedgerChecks(db);
      expect(failing(report)).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.checks.map((c) => c.name)).toEqual([
        'entries_balanced',
        'trial_balance',
        'account_balances_derived',
        'holds_derived',
        'subjects_balanced',
        'accounts_on_leaf_subjects',
        'floors_hold',
        'reversals_mirror',
        'postings_referenced',
      ]);
      for (const c of report.checks) {
        expect(c.detail).not.toContain('\n');
        expect(c.differences).toEqual([]);
      }
      expect(check(report, 'trial_balance').detail).toBe(
        'Σ debits 1710.00 = Σ credits 1710.00 CNY (postings and balances agree)',
      );
      expect(check(report, 'entries_balanced').detail).toMatch(/^5 journal entries/);
      expect(check(report, 'holds_derived').detail).toMatch(/^1 open holds/);
      expect(check(report, 'reversals_mirror').detail).toMatch(/^1 reversals/);
      // Roots' normal-side balances: the accounting equation, ASSET + EXPENSE = LIABILITY + INCOME.
      expect(check(report, 'subjects_balanced').detail).toContain(
        'CNY: ASSET 1010.00, EXPENSE 0.00, INCOME 3.60, LIABILITY 1006.40',
      );
    }
  });

  it('(a)(b) an entry with one posting: unbalanced, and the trial balance is off', async () => {
    const report = await checksAfter(async (tx) => {
      await rawEntry(tx, 'one-legged', [['2203:M1', 'D', '1.00']]);
    });
    expect(failing(report)).toEqual(['entries_balanced', 'trial_balance']);
    expect(check(report, 'entries_balanced').differences).toEqual([
      expect.objectContaining({ idempotency_key: 'one-legged', postings: '1', debits: '1.00', credits: '0' }),
    ]);
    expect(check(report, 'trial_balance').detail).toContain(
      'postings CNY Σ debits 1711.00 ≠ Σ credits 1710.00',
    );
  });

  it('(a) entries without postings: counted in full, listed up to the limit', async () => {
    const report = await checksAfter(async (tx) => {
      await tx.query(
        `INSERT INTO ledger.journal_entry (idempotency_key, request_hash, business_ref, effective_at)
         SELECT 'empty-' || n, 'raw', 'empty', now() FROM generate_series(1, 150) n`,
      );
    });
    expect(failing(report)).toEqual(['entries_balanced']);
    const c = check(report, 'entries_balanced');
    expect(c.differences).toHaveLength(LEDGER_CHECK_DIFFERENCES_MAX);
    expect(c.detail).toBe(
      `150 (entry, currency) pairs unbalanced, with < 2 postings or lines not numbered 1…n among 155 entries (first ${LEDGER_CHECK_DIFFERENCES_MAX} listed)`,
    );
  });

  it('(c) a balance row that disagrees with its postings, cold or hot', async () => {
    const report = await checksAfter(async (tx) => {
      await tx.query(
        `UPDATE ledger.account_balance SET credit_total = credit_total + 0.01
         WHERE account_id = (SELECT id FROM ledger.account WHERE code = '2202:M1')`,
      );
      await tx.query(
        `INSERT INTO ledger.balance_delta (account_id, debit, credit)
         SELECT id, 0, 0.02 FROM ledger.account WHERE code = '6001'`,
      );
    });
    // The trial balance over the balances and the subject roll-up see it as well.
    expect(failing(report)).toEqual(['trial_balance', 'account_balances_derived', 'subjects_balanced']);
    expect(check(report, 'account_balances_derived').differences).toEqual([
      expect.objectContaining({
        code: '2202:M1',
        problem: 'balance ≠ Σ postings',
        balance_credit: '1010.01',
        posted_credit: '1010.00',
      }),
      expect.objectContaining({ code: '6001', balance_credit: '3.62', posted_credit: '3.60' }),
    ]);
    expect(check(report, 'subjects_balanced').differences).toContainEqual(
      expect.objectContaining({ subject: '2202', problem: 'Σ postings ≠ Σ account balances' }),
    );
  });

  it('(c) an account without its balance row', async () => {
    const report = await checksAfter(async (tx) => {
      await tx.query(
        `DELETE FROM ledger.account_balance WHERE account_id = (SELECT id FROM ledger.account WHERE code = '2202:M2')`,
      );
    });
    expect(check(report, 'account_balances_derived').differences).toEqual([
      expect.objectContaining({ code: '2202:M2', problem: 'no balance row' }),
    ]);
  });

  it('(d) held_total out of step with the open holds, or negative', async () => {
    const report = await checksAfter(async (tx) => {
      await tx.query(
        `UPDATE ledger.account_balance SET held_total = held_total + 1
         WHERE account_id = (SELECT id FROM ledger.account WHERE code = '2203:M1')`,
      );
    });
    expect(failing(report)).toEqual(['holds_derived']);
    expect(check(report, 'holds_derived').differences).toEqual([
      { code: '2203:M1', problem: 'held_total ≠ Σ open holds', held_total: '101.00', open_holds: '100.00' },
    ]);
    const resolved = await checksAfter(async (tx) => {
      // The hold resolved behind the projection's back: held_total still counts it.
      await tx.query(
        `INSERT INTO ledger.hold_resolution (hold_id, kind) SELECT id, 'RELEASED' FROM ledger.hold`,
      );
    });
    expect(failing(resolved)).toEqual(['holds_derived']);
    expect(check(resolved, 'holds_derived').differences).toEqual([
      { code: '2203:M1', problem: 'held_total ≠ Σ open holds', held_total: '100.00', open_holds: '0' },
    ]);
    const negative = await checksAfter(async (tx) => {
      await tx.query('ALTER TABLE ledger.account_balance DROP CONSTRAINT account_balance_held_total_check');
      await tx.query(
        `UPDATE ledger.account_balance SET held_total = -1 WHERE account_id = (SELECT id FROM ledger.account WHERE code = '2202:M1')`,
      );
    });
    expect(check(negative, 'holds_derived').differences).toEqual([
      { code: '2202:M1', problem: 'held_total negative', held_total: '-1', open_holds: '0' },
    ]);
  });

  it('(e)(f) an account on a parent subject: parent ≠ Σ children, and not on a leaf', async () => {
    const report = await checksAfter(async (tx) => {
      // The leaf-only trigger is off under session_replication_role = replica.
      await tx.query(
        `INSERT INTO ledger.account (code, currency, template_code, subject_code, owner_id)
         VALUES ('22:STRAY', 'CNY', 'suspense', '22', NULL)`,
      );
      await tx.query(
        `INSERT INTO ledger.account_balance (account_id) SELECT id FROM ledger.account WHERE code = '22:STRAY'`,
      );
      await rawEntry(tx, 'stray', [
        ['22:STRAY', 'C', '7.00'],
        ['1122:WECHAT', 'D', '7.00'],
      ]);
    });
    expect(failing(report)).toEqual(['subjects_balanced', 'accounts_on_leaf_subjects']);
    expect(check(report, 'subjects_balanced').differences).toEqual([
      {
        subject: '22',
        currency: 'CNY',
        problem: 'parent ≠ Σ children',
        debit_left: '650.00',
        credit_left: '1663.40',
        debit_right: '650.00',
        credit_right: '1656.40',
      },
    ]);
    expect(check(report, 'accounts_on_leaf_subjects').differences).toEqual([
      { code: '22:STRAY', subject_code: '22', template_subject: '2241', problem: 'subject has children' },
    ]);
  });

  it('(e) a subject total from the postings that disagrees with the accounts rolled up', async () => {
    const report = await checksAfter(async (tx) => {
      // Moves 1.00 of projection between two merchants: every account total is off, the
      // trial balance over the balances is not.
      await tx.query(
        `UPDATE ledger.account_balance b SET credit_total = credit_total + CASE a.code WHEN '2202:M1' THEN 1 ELSE -1 END
         FROM ledger.account a WHERE a.id = b.account_id AND a.code IN ('2202:M1', '2203:M1')`,
      );
    });
    expect(failing(report)).toEqual(['account_balances_derived', 'subjects_balanced']);
    expect(check(report, 'subjects_balanced').differences).toEqual([
      expect.objectContaining({ subject: '2202', credit_left: '1060.00', credit_right: '1061.00' }),
      expect.objectContaining({ subject: '2203', credit_left: '596.40', credit_right: '595.40' }),
    ]);
  });

  it('(g) a floored account below zero available', async () => {
    const report = await checksAfter(async (tx) => {
      await rawEntry(tx, 'overdraw', [
        ['2203:M1', 'D', '500.00'],
        ['6001', 'C', '500.00'],
      ]);
    });
    expect(failing(report)).toEqual(['floors_hold']);
    expect(check(report, 'floors_hold').differences).toEqual([
      { code: '2203:M1', balance: '96.40', held: '100.00', available: '-3.60' },
    ]);
  });

  it('(h) a reversal that does not mirror its original, or reverses a reversal', async () => {
    const report = await checksAfter(async (tx) => {
      await rawEntry(
        tx,
        'bad-reversal',
        [
          ['1122:WECHAT', 'C', '10.00'],
          ['2202:M1', 'D', '9.00'],
          ['6001', 'D', '1.00'],
        ],
        { reverses: ids['fund-m1-again']! },
      );
      await rawEntry(
        tx,
        'reversal-of-reversal',
        [
          ['1122:WECHAT', 'D', '45.00'],
          ['6601', 'D', '5.00'],
          ['2202:M2', 'C', '50.00'],
        ],
        { reverses: ids['fund-m2-rev']! },
      );
    });
    expect(failing(report)).toEqual(['reversals_mirror']);
    const differences = check(report, 'reversals_mirror').differences as {
      problem: string;
      amount: string | null;
    }[];
    expect(
      differences
        .filter((d) => d.problem === 'posting not mirrored')
        .map((d) => d.amount)
        .sort(),
    ).toEqual(['1.00', '10.00', '9.00']);
    expect(differences.filter((d) => d.problem === 'reverses a reversal')).toHaveLength(1);
  });

  it('(i) a posting of an entry or an account that does not exist', async () => {
    const report = await checksAfter(async (tx) => {
      // A balanced pair on no entry at all, then a posting on no account in an existing entry.
      for (const [index, side] of ['D', 'C'].entries()) {
        await tx.query(
          `INSERT INTO ledger.posting (entry_id, line, account_id, side, amount, hot_account, currency, effective_at)
           SELECT 987654321, $2, id, $1, 2.00, true, 'CNY', now() FROM ledger.account WHERE code = '6001'`,
          [side, index + 1],
        );
      }
    });
    // 6001's postings no longer match its balance either.
    expect(failing(report)).toEqual(['account_balances_derived', 'subjects_balanced', 'postings_referenced']);
    expect(check(report, 'postings_referenced').differences).toEqual([
      expect.objectContaining({ entry_id: '987654321', problem: 'no such entry' }),
      expect.objectContaining({ entry_id: '987654321', problem: 'no such entry' }),
    ]);
    const ghost = await checksAfter(async (tx) => {
      await tx.query(
        `INSERT INTO ledger.posting (entry_id, line, account_id, side, amount, hot_account, currency, effective_at)
         VALUES ($1, 101, 987654321, 'D', 1.00, false, 'CNY', now()), ($1, 102, 987654321, 'C', 1.00, false, 'CNY', now())`,
        [ids['fund-m1']],
      );
    });
    // Lines 101 and 102 of an entry of two lines are also numbered wrong.
    expect(failing(ghost)).toEqual(['entries_balanced', 'postings_referenced']);
    expect(check(ghost, 'postings_referenced').detail).toMatch(
      /^2 of \d+ postings and \d+ balance deltas name a missing entry or account$/,
    );
  });

  it('(a) a posting line written twice: the entry still balances, its lines are not 1…n', async () => {
    // What the (entry_id, line) key refused before migration 1764000003000: a second copy of an
    // entry's lines. The copy balances, so only the numbering gives it away (and the balances).
    const report = await checksAfter(async (tx) => {
      await tx.query(
        `INSERT INTO ledger.posting (entry_id, line, account_id, side, amount, hot_account, currency, effective_at)
         SELECT entry_id, line, account_id, side, amount, hot_account, currency, effective_at
         FROM ledger.posting WHERE entry_id = $1`,
        [ids['fund-m1']],
      );
    });
    expect(failing(report)).toEqual(['entries_balanced', 'account_balances_derived', 'subjects_balanced']);
    const differences = check(report, 'entries_balanced').differences as Record<string, string>[];
    expect(differences).toEqual([expect.objectContaining({ entry_id: ids['fund-m1'], postings: '4' })]);
    expect(differences[0]!.debits).toBe(differences[0]!.credits);
  });

  it('leaves the book as it was: every corruption above was rolled back', async () => {
    expect(failing(await runLedgerChecks(ds))).toEqual([]);
  });
});
