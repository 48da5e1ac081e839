/**
 * Eight writers post 5,000 entries each at once, the way eight consumer replicas would: every entry
 * hits the hot platform accounts (channel receivable, fee income), the writer's own merchants, and
 * for half the writers two SHARED merchant accounts, in random order, so that balance-row locks
 * really contend. Each writer also re-sends 10% of its entries later (a redelivery). Nothing may
 * surface to a writer, every redelivery must be answered with the original entry, and the book
 * must come out exact to the minor unit.
 */
import { Money, MoneyDecimal } from '@app/contracts';
import {
  DEFAULT_ACCOUNT_TEMPLATES,
  Ledger,
  accountCodeOf,
  ledgerMigrations,
  runLedgerChecks,
  type EntryDraft,
  type PostedEntry,
  type PostingDraft,
} from '@app/ledger';
import { createServiceDataSource, loadPlatformConfig, quoteIdent } from '@app/platform';
import type { Decimal } from 'decimal.js';
import type { DataSource } from 'typeorm';
import { migrateAll, openDataSource, useIsolatedDatabase } from '../support/infra.js';

const WRITERS = 8;
const ENTRIES_PER_WRITER = 5_000;
const BATCH_SIZE = 50;
const MERCHANTS_PER_WRITER = 10;
const RESEND_RATIO = 0.1;
const SHARED = ['SHARED1', 'SHARED2'];
/** Every 4th batch of a writer also carries 3 of its neighbour's entries from the same batch slot. */
const CONTESTED_EVERY_BATCHES = 4;
const CONTESTED_PER_BATCH = 3;
const CURRENCY = 'CNY';

/** mulberry32: small, seeded, good enough to spread amounts and orders. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Planned {
  draft: EntryDraft;
  /** original: the writer's own first send; resend: its own later redelivery; contested: another
   * writer's entry, sent in the same batch slot as that writer's own send. */
  kind: 'original' | 'resend' | 'contested';
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

describe('ledger under concurrent writers (real Postgres)', () => {
  let ds: DataSource;
  beforeAll(async () => {
    await useIsolatedDatabase('ledger_concurrency');
    await migrateAll();
    // A deadlock costs deadlock_timeout (1 s) before Postgres breaks it; racing redeliveries make
    // some on purpose, so detect them sooner in this test's own database.
    const admin = await openDataSource('ledger');
    await admin.query(
      `ALTER DATABASE ${quoteIdent(await currentDatabase(admin))} SET deadlock_timeout = '100ms'`,
    );
    await admin.destroy();
    ds = createServiceDataSource({
      databaseUrl: loadPlatformConfig('test').databaseUrl,
      schema: 'ledger',
      migrations: ledgerMigrations,
      applicationName: 'cse-test-ledger-concurrency',
      poolMax: 12,
    });
    await ds.initialize();
  });
  afterAll(async () => ds?.destroy());

  it('8 writers × 5,000 entries with redeliveries and shared hot and cold accounts: exact, once each', async () => {
    const seed = Number(process.env.LEDGER_CONCURRENCY_SEED ?? Date.now() % 2 ** 31);
    const random = prng(seed);
    const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
    const cny = (minor: number) => Money.fromMinorUnits(BigInt(minor), CURRENCY).toString();

    // Every writer's entries, then its batches: originals in order, its own redeliveries in a later
    // batch, and a few of its neighbour's entries sent in the same batch slot as the neighbour's
    // own (a redelivery racing the first delivery on another consumer).
    const originals = Array.from({ length: WRITERS }, (_, w) =>
      Array.from({ length: ENTRIES_PER_WRITER }, (_, i): EntryDraft => {
        const merchant = `W${w}M${int(0, MERCHANTS_PER_WRITER - 1)}`;
        const net = int(1, 100_000);
        const fee = int(0, Math.floor(net / 100));
        const shared = w % 2 === 0 && random() < 0.5 ? SHARED.map(() => int(1, 1_000)) : [];
        const gross = net + fee + shared.reduce((s, x) => s + x, 0);
        const postings: PostingDraft[] = [
          leg({ template: 'channel_receivable', owner: 'WECHAT' }, 'DEBIT', cny(gross)),
          leg({ template: 'merchant_settleable', owner: merchant }, 'CREDIT', cny(net)),
        ];
        if (fee > 0) postings.push(leg({ template: 'fee_income' }, 'CREDIT', cny(fee)));
        shared.forEach((amount, s) =>
          postings.push(leg({ template: 'merchant_settleable', owner: SHARED[s]! }, 'CREDIT', cny(amount))),
        );
        return {
          idempotencyKey: `W${w}-E${i}`,
          businessRef: `T-W${w}-${i}`,
          effectiveAt: '2026-11-22T10:00:00+08:00',
          postings: shuffle(postings, random),
        };
      }),
    );
    const batchCount = ENTRIES_PER_WRITER / BATCH_SIZE;
    const plans: Planned[][][] = originals.map((entries) =>
      Array.from({ length: batchCount + 1 }, (_, b) =>
        entries
          .slice(b * BATCH_SIZE, (b + 1) * BATCH_SIZE)
          .map((draft) => ({ draft, kind: 'original' as const })),
      ),
    );
    originals.forEach((entries, w) => {
      for (const i of shuffle([...entries.keys()], random).slice(0, ENTRIES_PER_WRITER * RESEND_RATIO)) {
        const later = int(Math.floor(i / BATCH_SIZE) + 1, batchCount); // batchCount: one extra batch at the end
        plans[w]![later]!.push({ draft: structuredClone(entries[i]!), kind: 'resend' });
      }
      for (let b = 0; b < batchCount; b += CONTESTED_EVERY_BATCHES) {
        const neighbour = plans[(w + 1) % WRITERS]![b]!;
        for (const i of shuffle([...Array(BATCH_SIZE).keys()], random).slice(0, CONTESTED_PER_BATCH)) {
          neighbour.push({ draft: structuredClone(entries[b * BATCH_SIZE + i]!), kind: 'contested' });
        }
      }
    });
    // Within a batch, everything interleaves: two writers meet the same keys in different orders.
    const batches = plans.map((p) => p.filter((b) => b.length > 0).map((b) => shuffle(b, random)));

    const expected = new Map<string, { debit: Decimal; credit: Decimal }>();
    for (const d of originals.flat()) {
      for (const p of d.postings) {
        const code = codeOf(p);
        const t = expected.get(code) ?? { debit: new MoneyDecimal(0), credit: new MoneyDecimal(0) };
        if (p.side === 'DEBIT') t.debit = t.debit.plus(p.amount);
        else t.credit = t.credit.plus(p.amount);
        expected.set(code, t);
      }
    }

    const deadlocksBefore = await deadlocks(ds);
    const started = Date.now();
    const results = await Promise.allSettled(
      batches.map(async (writerBatches) => {
        const ledger = new Ledger();
        const answers: { planned: Planned; posted: PostedEntry }[] = [];
        for (const batch of writerBatches) {
          const posted = await ds.transaction((tx) =>
            ledger.post(
              tx,
              batch.map((p) => p.draft),
            ),
          );
          posted.forEach((p, i) => answers.push({ planned: batch[i]!, posted: p }));
        }
        return answers;
      }),
    );
    const elapsedMs = Date.now() - started;
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    expect(failures).toEqual([]);

    // Per key: one entry id whoever asked, exactly one first delivery, and a later redelivery by the
    // same writer is always a replay.
    const answers = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    const byKey = new Map<string, { entryId: string; replayed: boolean; kind: string }[]>();
    for (const { planned, posted } of answers) {
      expect(posted.idempotencyKey).toBe(planned.draft.idempotencyKey);
      const list = byKey.get(posted.idempotencyKey) ?? [];
      list.push({ entryId: posted.entryId, replayed: posted.replayed, kind: planned.kind });
      byKey.set(posted.idempotencyKey, list);
    }
    expect(byKey.size).toBe(WRITERS * ENTRIES_PER_WRITER);
    const resends = answers.filter((a) => a.planned.kind === 'resend');
    const contested = answers.filter((a) => a.planned.kind === 'contested');
    expect(resends).toHaveLength(WRITERS * ENTRIES_PER_WRITER * RESEND_RATIO);
    let contestsWon = 0;
    for (const [key, list] of byKey) {
      expect({ key, ids: new Set(list.map((a) => a.entryId)).size }).toEqual({ key, ids: 1 });
      expect({ key, first: list.filter((a) => !a.replayed).length }).toEqual({ key, first: 1 });
      for (const a of list.filter((x) => x.kind === 'resend'))
        expect({ key, replayed: a.replayed }).toEqual({ key, replayed: true });
      if (list.some((a) => a.kind === 'contested' && !a.replayed)) contestsWon += 1;
    }
    expect(new Set([...byKey.values()].map((l) => l[0]!.entryId)).size).toBe(WRITERS * ENTRIES_PER_WRITER);

    const [{ entries }] = await ds.query<[{ entries: string }]>(
      'SELECT count(*)::text AS entries FROM ledger.journal_entry',
    );
    expect(entries).toBe(String(WRITERS * ENTRIES_PER_WRITER));

    // Exact balances, both ways: projection (+ hot deltas) and Σ postings.
    const rows = await ds.query<
      { code: string; debit: string; credit: string; posted_debit: string; posted_credit: string }[]
    >(`
      SELECT a.code,
             (b.debit_total + coalesce(d.debit, 0))::text AS debit,
             (b.credit_total + coalesce(d.credit, 0))::text AS credit,
             coalesce(p.debit, 0)::text AS posted_debit,
             coalesce(p.credit, 0)::text AS posted_credit
      FROM ledger.account a
      JOIN ledger.account_balance b ON b.account_id = a.id
      LEFT JOIN (SELECT account_id, sum(debit) AS debit, sum(credit) AS credit
                 FROM ledger.balance_delta GROUP BY account_id) d ON d.account_id = a.id
      LEFT JOIN (SELECT account_id, sum(amount) FILTER (WHERE side = 'D') AS debit,
                        sum(amount) FILTER (WHERE side = 'C') AS credit
                 FROM ledger.posting GROUP BY account_id) p ON p.account_id = a.id
      ORDER BY a.code`);
    const norm = (x: string) => new MoneyDecimal(x).toFixed(2);
    const actual = Object.fromEntries(
      rows.map((r) => [
        r.code,
        {
          debit: norm(r.debit),
          credit: norm(r.credit),
          postedDebit: norm(r.posted_debit),
          postedCredit: norm(r.posted_credit),
        },
      ]),
    );
    const wanted = Object.fromEntries(
      [...expected].map(([code, t]) => [
        code,
        {
          debit: t.debit.toFixed(2),
          credit: t.credit.toFixed(2),
          postedDebit: t.debit.toFixed(2),
          postedCredit: t.credit.toFixed(2),
        },
      ]),
    );
    expect(actual).toEqual(wanted);

    const report = await runLedgerChecks(ds);
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    const trial = report.checks.find((c) => c.name === 'trial_balance')!;
    const total = [...expected.values()].reduce((s, t) => s.plus(t.debit), new MoneyDecimal(0));
    expect(trial.detail).toContain(`Σ debits ${total.toFixed(2)} = Σ credits ${total.toFixed(2)} CNY`);

    await new Promise((r) => setTimeout(r, 1_500)); // backends report to pg_stat_database about once a second
    console.log(
      `ledger concurrency (seed ${seed}): ${WRITERS} writers × ${ENTRIES_PER_WRITER} entries ` +
        `+ ${resends.length} redeliveries + ${contested.length} racing redeliveries (${contestsWon} won the race) ` +
        `in ${batches.flat().length} batches: ${elapsedMs} ms, ${Math.round((WRITERS * ENTRIES_PER_WRITER * 1000) / elapsedMs)} entries/s; ` +
        `deadlocks Postgres broke (retried inside the ledger): ${(await deadlocks(ds)) - deadlocksBefore}; ${trial.detail}`,
    );
  });

  it('a deadlock inside a ledger call is broken by Postgres and retried by the ledger, unseen by the caller', async () => {
    // Only a move that lowers a floored account locks its balance row: the deadlock needs
    // debits to merchants' settleable accounts, funded first.
    const credit = (owner: string, amount: string) =>
      leg({ template: 'merchant_settleable', owner }, 'CREDIT', amount);
    const debit = (amount: string) =>
      leg({ template: 'channel_receivable', owner: 'WECHAT' }, 'DEBIT', amount);
    const payOut = (owner: string, amount: string) =>
      leg({ template: 'merchant_settleable', owner }, 'DEBIT', amount);
    const refund = (amount: string) =>
      leg({ template: 'channel_receivable', owner: 'WECHAT' }, 'CREDIT', amount);
    const draft = (key: string, postings: PostingDraft[]): EntryDraft => ({
      idempotencyKey: key,
      businessRef: key,
      effectiveAt: '2026-11-22T10:00:00+08:00',
      postings,
    });
    await ds.transaction((tx) =>
      new Ledger().post(tx, [
        draft('dl-open', [debit('2.00'), credit('DL1', '1.00'), credit('DL2', '1.00')]),
      ]),
    );
    const rows = await ds.query<{ id: string }[]>(
      `SELECT b.account_id::text AS id FROM ledger.account_balance b JOIN ledger.account a ON a.id = b.account_id
       WHERE a.code IN ('2203:DL1', '2203:DL2') ORDER BY b.account_id`,
    );
    const [low, high] = rows.map((r) => r.id);

    /** One deadlock between a caller and a ledger call, the ledger's side made the victim. */
    async function deadlockWith(ledger: Ledger, key: string) {
      const caller = ds.createQueryRunner();
      await caller.connect();
      await caller.startTransaction();
      try {
        // The caller holds the second row the ledger will lock, outside any ledger savepoint, and
        // checks for deadlocks late, so that Postgres picks the ledger's side as the victim.
        await caller.query("SET LOCAL deadlock_timeout = '10s'");
        await caller.query('SELECT 1 FROM ledger.account_balance WHERE account_id = $1 FOR UPDATE', [high]);
        // The ledger locks rows in id order: it takes `low`, then queues on `high` behind the caller.
        const posted = ds
          .transaction((tx) =>
            ledger.post(tx, [draft(key, [refund('1.00'), payOut('DL2', '0.50'), payOut('DL1', '0.50')])]),
          )
          .then(
            ([p]) => ({ posted: p! }),
            (error: { driverError?: { code?: string }; code?: string }) => ({
              error: error.driverError?.code ?? error.code,
            }),
          );
        await waitForLockWait(ds);
        // Closing the cycle. This returns only because Postgres killed the ledger's attempt (after
        // its deadlock_timeout, 100 ms here), which rolled back to its savepoint and gave `low` up;
        // had the caller been the victim, this query would throw.
        const closing = Date.now();
        await caller.query('SELECT 1 FROM ledger.account_balance WHERE account_id = $1 FOR UPDATE', [low]);
        expect(Date.now() - closing).toBeGreaterThanOrEqual(50);
        await caller.commitTransaction();
        return await posted;
      } finally {
        if (caller.isTransactionActive) await caller.rollbackTransaction();
        await caller.release();
      }
    }

    // The control: with a single attempt, the deadlock reaches the caller.
    expect(await deadlockWith(new Ledger({ conflictAttemptsMax: 1 }), 'dl-control')).toEqual({
      error: '40P01',
    });
    // The ledger as configured: the same deadlock is retried inside it and never seen.
    const outcome = await deadlockWith(new Ledger(), 'dl-post');
    if (!('posted' in outcome)) throw new Error(`deadlock surfaced: ${outcome.error}`);
    expect(outcome.posted.replayed).toBe(false);
    const keys = await ds.query<{ idempotency_key: string }[]>(
      `SELECT idempotency_key FROM ledger.journal_entry WHERE idempotency_key LIKE 'dl-%' ORDER BY idempotency_key`,
    );
    expect(keys.map((k) => k.idempotency_key)).toEqual(['dl-open', 'dl-post']);
    expect((await runLedgerChecks(ds)).ok).toBe(true);
  });
});

async function currentDatabase(ds: DataSource): Promise<string> {
  const [row] = await ds.query<{ name: string }[]>('SELECT current_database() AS name');
  return row!.name;
}

async function deadlocks(ds: DataSource): Promise<number> {
  const [row] = await ds.query<{ n: string }[]>(
    'SELECT deadlocks::text AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  return Number(row!.n);
}

function leg(account: PostingDraft['account'], side: PostingDraft['side'], amount: string): PostingDraft {
  return { account, side, amount, currency: CURRENCY };
}

function codeOf(p: PostingDraft): string {
  return accountCodeOf(
    DEFAULT_ACCOUNT_TEMPLATES.find((t) => t.code === p.account.template)!,
    p.account.owner,
  );
}

/** Resolves once some backend of this database waits on a lock. */
async function waitForLockWait(ds: DataSource, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await ds.query<{ n: string }[]>(
      `SELECT count(*)::text AS n FROM pg_stat_activity
       WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
    );
    if (row!.n !== '0') return;
    if (Date.now() > deadline) throw new Error('no transaction ever waited on a lock');
    await new Promise((r) => setTimeout(r, 10));
  }
}
