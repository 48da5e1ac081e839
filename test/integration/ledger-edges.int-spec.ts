/**
 * Edges of the ledger's API found while fuzzing it: requests a caller can get wrong (or a broker
 * can redeliver) that must end in a typed LedgerError or a replay, never in an InvariantError, a
 * raw database error, or a silent no-op. Each case names what the ledger does today when it fails.
 */
import { InvariantError } from '@app/contracts';
import { Ledger, LedgerError, runLedgerChecks, type EntryDraft, type HoldRequest } from '@app/ledger';
import type { DataSource } from 'typeorm';
import { migrateAll, openDataSource, useIsolatedDatabase } from '../support/infra.js';

const EFFECTIVE_AT = '2026-11-22T10:00:00+08:00';

async function rejection(work: Promise<unknown>): Promise<unknown> {
  try {
    await work;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

function describeError(error: unknown): string {
  if (error instanceof LedgerError) return error.code;
  if (error instanceof InvariantError) return `InvariantError: ${error.message}`;
  const e = error as { name?: string; code?: string; message?: string };
  return `${e.name ?? 'Error'} ${e.code ?? ''}: ${e.message ?? String(error)}`;
}

describe('ledger edges (real Postgres)', () => {
  let ds: DataSource;
  let observer: DataSource;
  const ledger = new Ledger();
  const settleable = (owner: string) => ({ template: 'merchant_settleable', owner });
  const fund = (key: string, owner: string, amount: string): EntryDraft => ({
    idempotencyKey: key,
    businessRef: key,
    effectiveAt: EFFECTIVE_AT,
    postings: [
      {
        account: { template: 'channel_receivable', owner: 'WECHAT' },
        side: 'DEBIT',
        amount,
        currency: 'CNY',
      },
      { account: settleable(owner), side: 'CREDIT', amount, currency: 'CNY' },
    ],
  });
  const hold = (key: string, owner: string, amount: string, currency = 'CNY'): HoldRequest => ({
    idempotencyKey: key,
    account: settleable(owner),
    amount,
    currency,
  });
  const heldOn = async (code: string) => {
    const [row] = await ds.query<{ held: string }[]>(
      `SELECT b.held_total::text AS held FROM ledger.account_balance b JOIN ledger.account a ON a.id = b.account_id WHERE a.code = $1`,
      [code],
    );
    return row?.held;
  };

  beforeAll(async () => {
    await useIsolatedDatabase('ledger_edges');
    await migrateAll();
    ds = await openDataSource('ledger');
    observer = await openDataSource('ledger');
    await ds.transaction((tx) =>
      ledger.post(tx, [
        fund('fund-m1', 'M1', '100.00'),
        fund('fund-m2', 'M2', '100.00'),
        fund('fund-m3', 'M3', '100.00'),
      ]),
    );
  });
  afterAll(async () => {
    await ds?.destroy();
    await observer?.destroy();
  });
  afterEach(async () => {
    expect((await runLedgerChecks(ds)).checks.filter((c) => !c.ok)).toEqual([]);
  });

  // BUG 1: placeHold compares Money of two currencies. Today: InvariantError "currency mismatch in compare".
  it('a hold in another currency than its account is a typed CURRENCY_MISMATCH', async () => {
    const error = await rejection(
      ds.transaction((tx) => ledger.placeHold(tx, hold('h-jpy', 'M1', '10', 'JPY'))),
    );
    expect(describeError(error)).toBe('LEDGER.CURRENCY_MISMATCH');
    expect(await heldOn('2203:M1')).toBe('0');
  });

  // BUG 1 (same cause, replay branch). Today: InvariantError "currency mismatch in compare".
  it('a hold key replayed with another currency is an IDEMPOTENCY_CONFLICT', async () => {
    const first = await ds.transaction((tx) => ledger.placeHold(tx, hold('h-cur', 'M1', '10.00')));
    expect(first.replayed).toBe(false);
    const error = await rejection(
      ds.transaction((tx) => ledger.placeHold(tx, hold('h-cur', 'M1', '10', 'JPY'))),
    );
    expect(describeError(error)).toBe('LEDGER.IDEMPOTENCY_CONFLICT');
  });

  // BUG 2: a replayed commit never checks which hold the replayed entry committed. Today: the
  // second call returns { replayed: true } and hold 2 stays open, its money still held; the caller
  // believes it was paid out.
  it('committing a second hold with an entry key that already committed the first is refused', async () => {
    const h1 = await ds.transaction((tx) => ledger.placeHold(tx, hold('h-commit-1', 'M2', '10.00')));
    const h2 = await ds.transaction((tx) => ledger.placeHold(tx, hold('h-commit-2', 'M2', '10.00')));
    const payout: EntryDraft = {
      idempotencyKey: 'payout-M2-1',
      businessRef: 'S-M2-1',
      effectiveAt: EFFECTIVE_AT,
      postings: [
        { account: settleable('M2'), side: 'DEBIT', amount: '10.00', currency: 'CNY' },
        {
          account: { template: 'merchant_in_transit', owner: 'M2' },
          side: 'CREDIT',
          amount: '10.00',
          currency: 'CNY',
        },
      ],
    };
    const committed = await ds.transaction((tx) => ledger.commitHold(tx, h1.holdId, payout));
    expect(committed.replayed).toBe(false);
    // The true replay (same hold, same entry) is fine and stays a replay.
    expect(await ds.transaction((tx) => ledger.commitHold(tx, h1.holdId, payout))).toEqual({
      ...committed,
      replayed: true,
    });

    const outcome = await ds
      .transaction((tx) => ledger.commitHold(tx, h2.holdId, payout))
      .then((posted) => `resolved as ${JSON.stringify(posted)}`, describeError);
    const [resolution] = await ds.query<{ kind: string }[]>(
      'SELECT kind FROM ledger.hold_resolution WHERE hold_id = $1',
      [h2.holdId],
    );
    expect({ outcome, hold2: resolution?.kind ?? 'open', held: await heldOn('2203:M2') }).toEqual({
      outcome: 'LEDGER.IDEMPOTENCY_CONFLICT',
      hold2: 'open',
      held: '10.00',
    });
  });

  // BUG 3: placeHold has no answer for a key inserted by a concurrent transaction. Today: a raw
  // QueryFailedError 23505 (hold_idempotency_key_key) reaches the caller, e.g. a consumer that got
  // the same event redelivered to another replica during a rebalance.
  it('the same hold requested by two transactions at once: one places it, the other replays it', async () => {
    const request = hold('h-race', 'M3', '1.00');
    const first = ds.createQueryRunner();
    await first.connect();
    await first.startTransaction();
    try {
      const placed = await ledger.placeHold(first.manager, request);
      expect(placed.replayed).toBe(false);
      const second = ds
        .transaction((tx) => ledger.placeHold(tx, request))
        .then(
          (value) => ({ value }),
          (error: unknown) => ({ error: describeError(error) }),
        );
      // Wait until the second request is queued on the first one's balance-row lock, then commit.
      await waitForLockWait(observer);
      await first.commitTransaction();
      expect(await second).toEqual({ value: { holdId: placed.holdId, replayed: true } });
    } finally {
      if (first.isTransactionActive) await first.rollbackTransaction();
      await first.release();
    }
    expect(await heldOn('2203:M3')).toBe('1.00');
  });

  // BUG 4 (minor): ids are bigints in SQL; a malformed one is a raw 22P02/22003 from Postgres.
  it.each([
    ['reverse', 'abc'],
    ['reverse', '99999999999999999999'],
    ['releaseHold', 'abc'],
    ['commitHold', '-'],
  ])('%s with a malformed id %p is a typed "unknown" error', async (method, id) => {
    const error = await rejection(
      ds.transaction<unknown>((tx) => {
        if (method === 'reverse')
          return ledger.reverse(tx, {
            entryId: id,
            idempotencyKey: `rev-${id}`,
            effectiveAt: EFFECTIVE_AT,
            reason: 'x',
          });
        if (method === 'releaseHold') return ledger.releaseHold(tx, id);
        return ledger.commitHold(tx, id, fund(`commit-${id}`, 'M3', '1.00'));
      }),
    );
    expect(describeError(error)).toBe(method === 'reverse' ? 'LEDGER.UNKNOWN_ENTRY' : 'LEDGER.UNKNOWN_HOLD');
  });

  // BUG 5 (minor, journal-entry.ts): businessRef is never validated. Today: a raw 23502 not-null
  // violation from the journal_entry insert.
  it('an entry without a business reference is refused by validation, not by the database', async () => {
    const draft = { ...fund('no-ref', 'M3', '1.00'), businessRef: undefined as unknown as string };
    const error = await rejection(ds.transaction((tx) => ledger.post(tx, [draft])));
    expect(error).toBeInstanceOf(LedgerError);
  });
});

/** Resolves once some other backend of this database waits on a lock. */
async function waitForLockWait(observer: DataSource, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await observer.query<{ n: string }[]>(
      `SELECT count(*)::text AS n FROM pg_stat_activity
       WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
    );
    if (row!.n !== '0') return;
    if (Date.now() > deadline) throw new Error('the second transaction never waited on a lock');
    await new Promise((r) => setTimeout(r, 20));
  }
}
