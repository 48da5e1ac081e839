/**
 * Blnk-style invariant fuzzing of the ledger against a real Postgres: random sequences of good and
 * deliberately bad operations, and after every single step
 *   - conservation and every derived-balance identity (runLedgerChecks),
 *   - the reference model's balances and holds = the database's (projection + deltas),
 *   - rejection atomicity: a rejected operation throws the expected LedgerError and leaves the book
 *     byte-identical, whether the caller's transaction then rolls back or carries on and commits.
 */
import { Money, MoneyDecimal } from '@app/contracts';
import {
  compactBalanceDeltas,
  Ledger,
  LedgerError,
  runLedgerChecks,
  type EntryDraft,
  type LedgerErrorCode,
  type PostingDraft,
} from '@app/ledger';
import fc from 'fast-check';
import type { DataSource, EntityManager } from 'typeorm';
import { migrateAll, openDataSource, useIsolatedDatabase } from '../support/infra.js';
import {
  LedgerModel,
  codeOf,
  type ModelEntry,
  type ModelHold,
  type Outcome,
} from '../support/ledger-model.js';

const CURRENCY = 'CNY';
const EFFECTIVE_AT = '2026-11-22T10:00:00+08:00';
const MISSING_ID = '999999999';

type Ref = { template: string; owner?: string };
const cny = (units: bigint) => Money.fromMinorUnits(units, CURRENCY).toString();
const units = (amount: { toFixed(): string } | string) =>
  Money.of(typeof amount === 'string' ? amount : amount.toFixed(), CURRENCY).toMinorUnits();
const leg = (account: Ref, side: 'DEBIT' | 'CREDIT', minor: bigint, currency = CURRENCY): PostingDraft => ({
  account,
  side,
  amount: Money.fromMinorUnits(minor, currency).toString(),
  currency,
});

// ----------------------------------------------------------------------------------------------
// What the database holds, read the same way for every comparison.

async function snapshot(db: { query: EntityManager['query'] }): Promise<string> {
  const balances = await db.query<Record<string, string>[]>(
    `SELECT account_id::text, debit_total::text, credit_total::text, held_total::text, updated_at::text
     FROM ledger.account_balance ORDER BY account_id`,
  );
  const deltas = await db.query<Record<string, string>[]>(
    `SELECT account_id::text, count(*)::text AS n, sum(debit)::text AS debit, sum(credit)::text AS credit
     FROM ledger.balance_delta GROUP BY account_id ORDER BY account_id`,
  );
  const counts = await db.query<Record<string, string>[]>(
    `SELECT (SELECT count(*) FROM ledger.account)::text AS accounts,
            (SELECT count(*) FROM ledger.journal_entry)::text AS entries,
            (SELECT count(*) FROM ledger.posting)::text AS postings,
            (SELECT count(*) FROM ledger.hold)::text AS holds,
            (SELECT count(*) FROM ledger.hold_resolution)::text AS resolutions,
            (SELECT count(*) FROM ledger.balance_delta)::text AS deltas`,
  );
  return JSON.stringify({ counts, balances, deltas });
}

interface DbAccount {
  code: string;
  template_code: string;
  owner_id: string | null;
  debit: string;
  credit: string;
  held: string;
}

async function dbAccounts(ds: DataSource): Promise<DbAccount[]> {
  return ds.query<DbAccount[]>(`
    SELECT a.code, a.template_code, a.owner_id,
           (coalesce(b.debit_total, 0) + coalesce(d.debit, 0))::text AS debit,
           (coalesce(b.credit_total, 0) + coalesce(d.credit, 0))::text AS credit,
           coalesce(b.held_total, 0)::text AS held
    FROM ledger.account a
    LEFT JOIN ledger.account_balance b ON b.account_id = a.id
    LEFT JOIN (SELECT account_id, sum(debit) AS debit, sum(credit) AS credit
               FROM ledger.balance_delta GROUP BY account_id) d ON d.account_id = a.id
    ORDER BY a.code`);
}

const refOf = (a: DbAccount): Ref =>
  a.owner_id === null ? { template: a.template_code } : { template: a.template_code, owner: a.owner_id };

function canonical(rows: DbAccount[]): Record<string, { debit: string; credit: string; held: string }> {
  const out: Record<string, { debit: string; credit: string; held: string }> = {};
  for (const r of rows) {
    const t = {
      debit: new MoneyDecimal(r.debit),
      credit: new MoneyDecimal(r.credit),
      held: new MoneyDecimal(r.held),
    };
    if (t.debit.isZero() && t.credit.isZero() && t.held.isZero()) continue;
    out[r.code] = { debit: t.debit.toFixed(), credit: t.credit.toFixed(), held: t.held.toFixed() };
  }
  return out;
}

// ----------------------------------------------------------------------------------------------
// Operations: abstract, resolved against the model when they run, so every sequence is meaningful.

type Op =
  | { kind: 'fund'; m: number; minor: bigint; couponPct: number }
  | { kind: 'clear'; m: number; pct: number; feePermille: number }
  | { kind: 'transit'; m: number; pct: number }
  | {
      kind: 'bad';
      m: number;
      shape: 'unbalanced' | 'unknown_template' | 'mixed_currency' | 'overdraw' | 'currency_mismatch';
      minor: bigint;
      onSettleable: boolean;
    }
  | { kind: 'batch'; m: number; minor: bigint; over: boolean; duplicate: boolean }
  | { kind: 'hold'; m: number; pct: number; over: boolean; onPending: boolean }
  | { kind: 'holdReplay'; pick: number; same: boolean }
  | { kind: 'release'; pick: number }
  | { kind: 'commit'; pick: number; mismatch: boolean }
  | { kind: 'reverse'; pick: number; twice: boolean }
  | { kind: 'replay'; pick: number; same: boolean }
  | { kind: 'compact' };

type Step = Op & { swallow: boolean };

/** Resolved to a merchant when the op runs (see `merchantWith`); 2 merchants per run. */
const m = fc.nat({ max: 99 });
const MERCHANTS = 2;
const pct = fc.integer({ min: 0, max: 100 });
const minor = fc.bigInt({ min: 1n, max: 5_000_000n });
const opArb: fc.Arbitrary<Step> = fc
  .tuple(
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant('fund' as const),
          m,
          minor,
          couponPct: fc.integer({ min: 0, max: 30 }),
        }),
      },
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant('clear' as const),
          m,
          pct,
          feePermille: fc.integer({ min: 0, max: 50 }),
        }),
      },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('transit' as const), m, pct }) },
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('bad' as const),
          m,
          shape: fc.constantFrom(
            'unbalanced',
            'unknown_template',
            'mixed_currency',
            'overdraw',
            'currency_mismatch',
          ),
          minor,
          onSettleable: fc.boolean(),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('batch' as const),
          m,
          minor,
          over: fc.boolean(),
          duplicate: fc.boolean(),
        }),
      },
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant('hold' as const),
          m,
          pct,
          over: fc.nat({ max: 3 }).map((n) => n === 0),
          onPending: fc.nat({ max: 5 }).map((n) => n === 0),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('holdReplay' as const),
          pick: fc.nat(),
          same: fc.boolean(),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }) },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant('commit' as const),
          pick: fc.nat(),
          mismatch: fc.boolean(),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({ kind: fc.constant('reverse' as const), pick: fc.nat(), twice: fc.boolean() }),
      },
      {
        weight: 2,
        arbitrary: fc.record({ kind: fc.constant('replay' as const), pick: fc.nat(), same: fc.boolean() }),
      },
      // Compaction between any two steps: folds every pending delta and changes no balance.
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('compact' as const) }) },
    ),
    fc.boolean(),
  )
  .map(([op, swallow]) => ({ ...op, swallow }));

// ----------------------------------------------------------------------------------------------

describe('ledger invariants under random operations (real Postgres)', () => {
  let ds: DataSource;
  beforeAll(async () => {
    await useIsolatedDatabase('ledger_props');
    await migrateAll();
    ds = await openDataSource('ledger');
    // The platform-wide accounts exist in CNY before the first run, so a JPY entry touching them is
    // a currency mismatch rather than the creation of a JPY fee-income account.
    await ds.transaction((tx) =>
      new Ledger().post(tx, [
        {
          idempotencyKey: 'seed',
          businessRef: 'seed',
          effectiveAt: EFFECTIVE_AT,
          postings: [
            leg({ template: 'marketing_expense' }, 'DEBIT', 100n),
            leg({ template: 'fee_income' }, 'CREDIT', 100n),
          ],
        },
      ]),
    );
  });
  afterAll(async () => ds?.destroy());

  async function verify(model: LedgerModel, context: () => string): Promise<void> {
    const report = await runLedgerChecks(ds);
    if (!report.ok) {
      throw new Error(
        `ledger checks failed after ${context()}:\n${JSON.stringify(
          report.checks.filter((c) => !c.ok),
          null,
          2,
        )}`,
      );
    }
    const actual = canonical(await dbAccounts(ds));
    const expected = Object.fromEntries(model.totals());
    expect({ after: context(), balances: actual }).toEqual({ after: context(), balances: expected });
  }

  /**
   * Runs one ledger call in its own transaction. With `swallow` the caller catches a LedgerError
   * inside the transaction and commits anyway, which only a savepoint-exact rollback survives.
   */
  async function attempt<T>(
    swallow: boolean,
    call: (tx: EntityManager) => Promise<T>,
  ): Promise<{ value: T } | { error: LedgerError }> {
    try {
      return await ds.transaction(async (tx) => {
        if (!swallow) return { value: await call(tx) };
        try {
          return { value: await call(tx) };
        } catch (error) {
          if (error instanceof LedgerError) return { error };
          throw error;
        }
      });
    } catch (error) {
      if (error instanceof LedgerError) return { error };
      throw error;
    }
  }

  it('keeps every invariant after every step of random sequences', async () => {
    let run = 0;
    const stats = { steps: 0, accepted: 0, replayed: 0, ledgerMs: 0, checkMs: 0 };
    const outcomes = new Map<string, number>();
    const started = Date.now();

    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 15, maxLength: 30 }), async (ops) => {
        run += 1;
        const ledger = new Ledger();
        // Each run starts from the book as it is: runs share the platform accounts, nothing else.
        const model = new LedgerModel();
        for (const a of await dbAccounts(ds)) model.load(refOf(a), a.debit, a.credit, a.held);
        const runEntries: ModelEntry[] = [];
        const runHolds: ModelHold[] = [];
        let serial = 0;
        const key = (prefix: string) => `R${run}-${prefix}${(serial += 1)}`;
        const merchant = (i: number) => `R${run}M${i}`;
        const channel: Ref = { template: 'channel_receivable', owner: `R${run}C` };
        const pending = (i: number): Ref => ({ template: 'merchant_pending', owner: merchant(i) });
        const settleable = (i: number): Ref => ({ template: 'merchant_settleable', owner: merchant(i) });
        const inTransit = (i: number): Ref => ({ template: 'merchant_in_transit', owner: merchant(i) });
        const draft = (k: string, postings: PostingDraft[]): EntryDraft => ({
          idempotencyKey: k,
          businessRef: `T-${k}`,
          effectiveAt: EFFECTIVE_AT,
          postings,
        });
        /** Mostly a merchant with money on that account, so the op can succeed; now and then any. */
        const merchantWith = (account: (i: number) => Ref, n: number) => {
          const funded = [...Array(MERCHANTS).keys()].filter((i) => model.available(account(i)).gt(0));
          return n % 10 < 8 && funded.length > 0 ? funded[n % funded.length]! : n % MERCHANTS;
        };
        /** Mostly one of `preferred` (an open hold, an entry not yet reversed); now and then any. */
        const choose = <T>(all: T[], preferred: T[], n: number): T | undefined =>
          n % 10 < 7 && preferred.length > 0
            ? preferred[n % preferred.length]
            : all[n % Math.max(all.length, 1)];
        /** With nothing to act on, an op tries a missing id only now and then, else does nothing. */
        const skip = (all: unknown[], n: number) => all.length === 0 && n % 10 >= 2;
        const pctOf = (available: bigint, p: number) => {
          const x = (available * BigInt(p)) / 100n;
          return x > 0n ? x : 1n;
        };

        /** One ledger call: checks the outcome against `expected`, then every invariant. */
        async function step<T>(
          label: string,
          swallow: boolean,
          expected: Outcome,
          call: (tx: EntityManager) => Promise<T>,
          options: { unchanged?: boolean } = {},
        ): Promise<T | undefined> {
          stats.steps += 1;
          const context = () => `run ${run}, ${label}`;
          const before = await snapshot(ds);
          const callStarted = Date.now();
          const result = await attempt(swallow, call);
          stats.ledgerMs += Date.now() - callStarted;
          if ('error' in result) {
            if (expected.ok) throw new Error(`${context()}: expected success, got ${result.error.message}`);
            expect({ step: context(), code: result.error.code }).toEqual({
              step: context(),
              code: expected.code,
            });
          } else if (!expected.ok) {
            throw new Error(
              `${context()}: expected ${expected.code}, got success ${JSON.stringify(result.value)}`,
            );
          }
          if (!expected.ok || options.unchanged) {
            // Rejection atomicity (and a replay writes nothing): the book is byte-identical.
            expect({ step: context(), book: await snapshot(ds) }).toEqual({ step: context(), book: before });
          }
          const outcome = `${/"kind":"(\w+)"/.exec(label)?.[1] ?? 'setup'}→${'error' in result ? result.error.code.slice(7) : 'ok'}`;
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
          const checkStarted = Date.now();
          await verify(model, context);
          stats.checkMs += Date.now() - checkStarted;
          if ('error' in result) return undefined;
          stats.accepted += 1;
          return result.value;
        }

        /** Posts entries the model has already applied (or refused, for `expected`). */
        async function postEntries(label: string, swallow: boolean, drafts: EntryDraft[], expected: Outcome) {
          const posted = await step(label, swallow, expected, (tx) => ledger.post(tx, drafts));
          if (!posted) return;
          const firstId = new Map<string, string>();
          posted.forEach((p, i) => {
            expect(p.idempotencyKey).toBe(drafts[i]!.idempotencyKey);
            const first = firstId.get(p.idempotencyKey);
            // A key twice in one batch: the second is a replay of the first.
            expect({ key: p.idempotencyKey, replayed: p.replayed }).toEqual({
              key: p.idempotencyKey,
              replayed: first !== undefined,
            });
            if (first) {
              expect(p.entryId).toBe(first);
              return;
            }
            firstId.set(p.idempotencyKey, p.entryId);
            const entry: ModelEntry = {
              id: p.entryId,
              key: p.idempotencyKey,
              draft: drafts[i]!,
              postings: LedgerModel.postingsOf(drafts[i]!),
              reverses: null,
              reversedBy: null,
            };
            model.record(entry);
            runEntries.push(entry);
          });
        }

        /** A well-formed entry: the model decides whether the floors let it through. */
        async function postValid(label: string, swallow: boolean, drafts: EntryDraft[]) {
          const expected = model.tryApply(drafts);
          await postEntries(label, swallow, drafts, expected);
        }

        // Every merchant starts with money pending and settleable, so holds and payouts have work.
        const opening = [...Array(MERCHANTS).keys()].flatMap((i) => [
          draft(key('E'), [leg(channel, 'DEBIT', 100_000n), leg(pending(i), 'CREDIT', 100_000n)]),
          draft(key('E'), [
            leg(pending(i), 'DEBIT', 60_000n),
            leg(settleable(i), 'CREDIT', 59_640n),
            leg({ template: 'fee_income' }, 'CREDIT', 360n),
          ]),
        ]);
        await postValid('opening balances', false, opening);

        for (const [index, generated] of ops.entries()) {
          // A copy: merchants are resolved against the model below, and fast-check's values stay intact.
          const op = { ...generated };
          const describeOp = () =>
            `op ${index} ${JSON.stringify(op, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`;
          switch (op.kind) {
            case 'fund': {
              op.m %= MERCHANTS;
              const coupon = (op.minor * BigInt(op.couponPct)) / 100n;
              const postings = [
                leg(channel, 'DEBIT', op.minor - coupon),
                leg(pending(op.m), 'CREDIT', op.minor),
              ];
              if (coupon > 0n) postings.push(leg({ template: 'marketing_expense' }, 'DEBIT', coupon));
              await postValid(describeOp(), op.swallow, [draft(key('E'), postings)]);
              break;
            }
            case 'clear': {
              op.m = merchantWith(pending, op.m);
              const amount = pctOf(units(model.available(pending(op.m))), op.pct);
              const fee = (amount * BigInt(op.feePermille)) / 1000n;
              const postings = [
                leg(pending(op.m), 'DEBIT', amount),
                leg(settleable(op.m), 'CREDIT', amount - fee),
              ];
              if (fee > 0n) postings.push(leg({ template: 'fee_income' }, 'CREDIT', fee));
              await postValid(describeOp(), op.swallow, [draft(key('E'), postings)]);
              break;
            }
            case 'transit': {
              op.m = merchantWith(settleable, op.m);
              const amount = pctOf(units(model.available(settleable(op.m))), op.pct);
              await postValid(describeOp(), op.swallow, [
                draft(key('E'), [
                  leg(settleable(op.m), 'DEBIT', amount),
                  leg(inTransit(op.m), 'CREDIT', amount),
                ]),
              ]);
              break;
            }
            case 'bad': {
              op.m = merchantWith(op.onSettleable ? settleable : pending, op.m);
              const k = key('X');
              let postings: PostingDraft[];
              let code: LedgerErrorCode;
              switch (op.shape) {
                case 'unbalanced':
                  postings = [leg(channel, 'DEBIT', op.minor), leg(pending(op.m), 'CREDIT', op.minor + 1n)];
                  code = 'LEDGER.UNBALANCED';
                  break;
                case 'unknown_template':
                  postings = [
                    leg(channel, 'DEBIT', op.minor),
                    leg({ template: 'merchant_wallet', owner: merchant(op.m) }, 'CREDIT', op.minor),
                  ];
                  code = 'LEDGER.UNKNOWN_TEMPLATE';
                  break;
                case 'mixed_currency':
                  postings = [leg(channel, 'DEBIT', op.minor), leg(pending(op.m), 'CREDIT', op.minor, 'JPY')];
                  code = 'LEDGER.CURRENCY_MIXED';
                  break;
                case 'currency_mismatch':
                  // Well formed, but the accounts hold CNY: also proves a JPY merchant account the
                  // call may have created on the way is rolled back with it.
                  postings = [
                    leg({ template: 'marketing_expense' }, 'DEBIT', op.minor, 'JPY'),
                    leg(pending(op.m), 'CREDIT', op.minor, 'JPY'),
                  ];
                  code = 'LEDGER.CURRENCY_MISMATCH';
                  break;
                case 'overdraw': {
                  // One minor unit (or more) beyond what a floored merchant account has available:
                  // settleable or in transit (merchant pending has no floor: refunds may take it
                  // below zero until clearing brings it back).
                  const from = op.onSettleable ? settleable(op.m) : inTransit(op.m);
                  const to = op.onSettleable ? inTransit(op.m) : settleable(op.m);
                  const amount = units(model.available(from)) + 1n + (op.minor % 3n === 0n ? op.minor : 0n);
                  postings = [leg(from, 'DEBIT', amount), leg(to, 'CREDIT', amount)];
                  code = 'LEDGER.INSUFFICIENT_FUNDS';
                  expect(model.tryApply([draft(k, postings)])).toEqual({ ok: false, code });
                  break;
                }
              }
              await postEntries(describeOp(), op.swallow, [draft(k, postings)], { ok: false, code });
              break;
            }
            case 'batch': {
              op.m %= MERCHANTS;
              // Clearing and a payout in one call: the payout alone would overdraw settleable, the
              // batch does not (floors are judged on the batch's net effect), unless `over` asks for
              // one unit more.
              const fund = draft(key('E'), [
                leg(pending(op.m), 'DEBIT', op.minor),
                leg(settleable(op.m), 'CREDIT', op.minor),
              ]);
              const amount = units(model.available(settleable(op.m))) + op.minor + (op.over ? 1n : 0n);
              const clear = draft(key('E'), [
                leg(settleable(op.m), 'DEBIT', amount),
                leg(inTransit(op.m), 'CREDIT', amount),
              ]);
              const drafts = op.duplicate ? [fund, clear, structuredClone(fund)] : [fund, clear];
              const expected = model.tryApply([fund, clear]);
              expect(expected.ok).toBe(!op.over);
              await postEntries(describeOp(), op.swallow, drafts, expected);
              break;
            }
            case 'hold': {
              op.m = merchantWith(op.onPending ? pending : settleable, op.m);
              const account = op.onPending ? pending(op.m) : settleable(op.m);
              const available = units(model.available(account));
              const amount = op.over ? (available > 0n ? available : 0n) + 1n : pctOf(available, op.pct);
              const k = key('H');
              const expected: Outcome = op.onPending
                ? { ok: false, code: 'LEDGER.HOLDS_NOT_ALLOWED' }
                : amount > available
                  ? { ok: false, code: 'LEDGER.HOLD_EXCEEDS_AVAILABLE' }
                  : { ok: true };
              const request = {
                idempotencyKey: k,
                account,
                amount: cny(amount),
                currency: CURRENCY,
                reason: describeOp(),
              };
              if (expected.ok) {
                const a = model.account(account);
                a.held = a.held.plus(new MoneyDecimal(request.amount));
              }
              const placed = await step(describeOp(), op.swallow, expected, (tx) =>
                ledger.placeHold(tx, request),
              );
              if (placed) {
                expect(placed.replayed).toBe(false);
                const hold: ModelHold = {
                  id: placed.holdId,
                  key: k,
                  code: codeOf(account),
                  amount: new MoneyDecimal(request.amount),
                  currency: CURRENCY,
                  resolved: false,
                  account,
                };
                model.holds.push(hold);
                runHolds.push(hold);
              }
              break;
            }
            case 'holdReplay': {
              const hold = runHolds[op.pick % Math.max(runHolds.length, 1)];
              if (!hold) break;
              const amount = op.same ? hold.amount.toFixed() : hold.amount.plus('0.01').toFixed();
              const request = {
                idempotencyKey: hold.key,
                account: hold.account,
                amount: cny(units(amount)),
                currency: CURRENCY,
              };
              const result = await step(
                describeOp(),
                op.swallow,
                op.same ? { ok: true } : { ok: false, code: 'LEDGER.IDEMPOTENCY_CONFLICT' },
                (tx) => ledger.placeHold(tx, request),
                { unchanged: true },
              );
              if (result) expect(result).toEqual({ holdId: hold.id, replayed: true });
              break;
            }
            case 'compact': {
              stats.steps += 1;
              const context = () => `run ${run}, ${describeOp()}`;
              await compactBalanceDeltas(ds);
              const [left] = await ds.query<{ n: number }[]>(
                'SELECT count(*)::int AS n FROM ledger.balance_delta',
              );
              expect({ after: context(), deltasLeft: left!.n }).toEqual({ after: context(), deltasLeft: 0 });
              outcomes.set('compact→ok', (outcomes.get('compact→ok') ?? 0) + 1);
              await verify(model, context);
              break;
            }
            case 'release': {
              if (skip(runHolds, op.pick)) break;
              const hold = choose(
                runHolds,
                runHolds.filter((h) => !h.resolved),
                op.pick,
              );
              const expected: Outcome = !hold
                ? { ok: false, code: 'LEDGER.UNKNOWN_HOLD' }
                : hold.resolved
                  ? { ok: false, code: 'LEDGER.HOLD_ALREADY_RESOLVED' }
                  : { ok: true };
              if (hold && expected.ok) {
                model.account(hold.account).held = model.account(hold.account).held.minus(hold.amount);
                hold.resolved = true;
              }
              await step(describeOp(), op.swallow, expected, (tx) =>
                ledger.releaseHold(tx, hold?.id ?? MISSING_ID),
              );
              break;
            }
            case 'commit': {
              if (skip(runHolds, op.pick)) break;
              const hold = choose(
                runHolds,
                runHolds.filter((h) => !h.resolved),
                op.pick,
              );
              const owner = hold?.account.owner ?? merchant(0);
              let amount = hold ? units(hold.amount.toFixed()) : 1n;
              if (op.mismatch) amount = amount > 1n ? amount - 1n : amount + 1n;
              const entry = draft(key('C'), [
                leg({ template: 'merchant_settleable', owner }, 'DEBIT', amount),
                leg({ template: 'merchant_in_transit', owner }, 'CREDIT', amount),
              ]);
              const expected: Outcome = !hold
                ? { ok: false, code: 'LEDGER.UNKNOWN_HOLD' }
                : op.mismatch
                  ? { ok: false, code: 'LEDGER.HOLD_COMMIT_MISMATCH' }
                  : hold.resolved
                    ? { ok: false, code: 'LEDGER.HOLD_ALREADY_RESOLVED' }
                    : model.tryApply([entry], hold);
              const posted = await step(describeOp(), op.swallow, expected, (tx) =>
                ledger.commitHold(tx, hold?.id ?? MISSING_ID, entry),
              );
              if (posted) {
                expect(posted.replayed).toBe(false);
                const recorded: ModelEntry = {
                  id: posted.entryId,
                  key: entry.idempotencyKey,
                  draft: entry,
                  postings: LedgerModel.postingsOf(entry),
                  reverses: null,
                  reversedBy: null,
                  holdId: hold!.id,
                };
                model.record(recorded);
                runEntries.push(recorded);
              }
              break;
            }
            case 'reverse': {
              if (skip(runEntries, op.pick)) break;
              const original = choose(
                runEntries,
                runEntries.filter((e) => !e.reverses && !e.reversedBy),
                op.pick,
              );
              const attemptReversal = async (again: boolean) => {
                const k = key('V');
                const request = {
                  entryId: original?.id ?? MISSING_ID,
                  idempotencyKey: k,
                  effectiveAt: '2026-11-23T09:00:00+08:00',
                  reason: `correction ${k}`,
                };
                const mirror = original ? draft(k, LedgerModel.mirrored(original)) : undefined;
                const expected: Outcome = !original
                  ? { ok: false, code: 'LEDGER.UNKNOWN_ENTRY' }
                  : original.reverses
                    ? { ok: false, code: 'LEDGER.CANNOT_REVERSE_REVERSAL' }
                    : original.reversedBy
                      ? { ok: false, code: 'LEDGER.ALREADY_REVERSED' }
                      : model.tryApply([mirror!]);
                const posted = await step(
                  `${describeOp()}${again ? ' (again)' : ''}`,
                  op.swallow,
                  expected,
                  (tx) => ledger.reverse(tx, request),
                );
                if (!posted) return;
                expect(posted.replayed).toBe(false);
                const reversal: ModelEntry = {
                  id: posted.entryId,
                  key: k,
                  draft: mirror!,
                  postings: LedgerModel.postingsOf(mirror!),
                  reverses: original!.id,
                  reversedBy: null,
                  reversal: { reason: request.reason, effectiveAt: request.effectiveAt },
                };
                model.record(reversal);
                runEntries.push(reversal);
              };
              await attemptReversal(false);
              if (op.twice) await attemptReversal(true);
              break;
            }
            case 'replay': {
              const entry = runEntries[op.pick % Math.max(runEntries.length, 1)];
              if (!entry) break;
              const expected: Outcome = op.same
                ? { ok: true }
                : { ok: false, code: 'LEDGER.IDEMPOTENCY_CONFLICT' };
              const posted = await step(
                describeOp(),
                op.swallow,
                expected,
                async (tx) => {
                  if (entry.reversal) {
                    return ledger.reverse(tx, {
                      entryId: entry.reverses!,
                      idempotencyKey: entry.key,
                      effectiveAt: entry.reversal.effectiveAt,
                      reason: op.same ? entry.reversal.reason : `${entry.reversal.reason}, again`,
                    });
                  }
                  const again = op.same
                    ? entry.draft
                    : { ...entry.draft, businessRef: `${entry.draft.businessRef}-changed` };
                  if (entry.holdId) return ledger.commitHold(tx, entry.holdId, again);
                  const [posted] = await ledger.post(tx, [again]);
                  return posted!;
                },
                { unchanged: true },
              );
              if (posted) {
                expect(posted).toEqual({ entryId: entry.id, idempotencyKey: entry.key, replayed: true });
                stats.replayed += 1;
              }
              break;
            }
          }
        }
      }),
      { numRuns: 25 },
    );
    console.log(
      `ledger properties: 25 runs, ${stats.steps} steps (${stats.accepted} accepted, ${stats.replayed} replays, ` +
        `${stats.steps - stats.accepted} rejected) in ${Date.now() - started} ms ` +
        `(ledger calls ${stats.ledgerMs} ms, checks ${stats.checkMs} ms)\n` +
        [...outcomes]
          .sort()
          .map(([k, n]) => `${k} ${n}`)
          .join(', '),
    );
  });

  it('a rejected post leaves nothing behind in a caller transaction that carries on and commits', async () => {
    const ledger = new Ledger();
    await ds.query('CREATE SCHEMA IF NOT EXISTS caller');
    await ds.query('CREATE TABLE IF NOT EXISTS caller.note (id text PRIMARY KEY)');
    const fund = (k: string, owner: string, minorUnits: bigint): EntryDraft => ({
      idempotencyKey: k,
      businessRef: k,
      effectiveAt: EFFECTIVE_AT,
      postings: [
        leg({ template: 'channel_receivable', owner: 'ATOMIC' }, 'DEBIT', minorUnits),
        leg({ template: 'merchant_pending', owner }, 'CREDIT', minorUnits),
      ],
    });
    const [funded] = await ds.transaction((tx) => ledger.post(tx, [fund('atomic-fund', 'A1', 10_000n)]));
    const [, holdable] = await ds.transaction((tx) =>
      ledger.post(tx, [
        fund('atomic-fund-2', 'A1', 5_000n),
        {
          idempotencyKey: 'atomic-clear',
          businessRef: 'atomic-clear',
          effectiveAt: EFFECTIVE_AT,
          postings: [
            leg({ template: 'merchant_pending', owner: 'A1' }, 'DEBIT', 5_000n),
            leg({ template: 'merchant_settleable', owner: 'A1' }, 'CREDIT', 5_000n),
          ],
        },
      ]),
    );
    expect(holdable!.replayed).toBe(false);
    const { holdId } = await ds.transaction((tx) =>
      ledger.placeHold(tx, {
        idempotencyKey: 'atomic-hold',
        account: { template: 'merchant_settleable', owner: 'A1' },
        amount: '10.00',
        currency: CURRENCY,
      }),
    );
    await ds.transaction((tx) => ledger.releaseHold(tx, holdId));
    await ds.transaction((tx) =>
      ledger.reverse(tx, {
        entryId: funded!.entryId,
        idempotencyKey: 'atomic-rev',
        effectiveAt: EFFECTIVE_AT,
        reason: 'test',
      }),
    );

    // Each rejection fails at a different depth: before any write, after COPYing the entries and
    // postings (floors), on a unique index (double reversal), inside a hold commit, on a new account.
    const rejections: [string, LedgerErrorCode, (tx: EntityManager) => Promise<unknown>][] = [
      [
        'unbalanced',
        'LEDGER.UNBALANCED',
        (tx) =>
          ledger.post(tx, [
            {
              ...fund('atomic-x1', 'A1', 1n),
              postings: [
                leg({ template: 'fee_income' }, 'DEBIT', 1n),
                leg({ template: 'fee_income' }, 'CREDIT', 2n),
              ],
            },
          ]),
      ],
      [
        'overdraw on a new account, after the postings are copied',
        'LEDGER.INSUFFICIENT_FUNDS',
        (tx) =>
          ledger.post(tx, [
            fund('atomic-x2', 'A2', 100n),
            {
              idempotencyKey: 'atomic-x3',
              businessRef: 'x',
              effectiveAt: EFFECTIVE_AT,
              postings: [
                leg({ template: 'merchant_settleable', owner: 'A2' }, 'DEBIT', 101n),
                leg({ template: 'fee_income' }, 'CREDIT', 101n),
              ],
            },
          ]),
      ],
      [
        'reversing twice',
        'LEDGER.ALREADY_REVERSED',
        (tx) =>
          ledger.reverse(tx, {
            entryId: funded!.entryId,
            idempotencyKey: 'atomic-x4',
            effectiveAt: EFFECTIVE_AT,
            reason: 'again',
          }),
      ],
      [
        'committing a released hold',
        'LEDGER.HOLD_ALREADY_RESOLVED',
        (tx) =>
          ledger.commitHold(tx, holdId, {
            idempotencyKey: 'atomic-x5',
            businessRef: 'x',
            effectiveAt: EFFECTIVE_AT,
            postings: [
              leg({ template: 'merchant_settleable', owner: 'A1' }, 'DEBIT', 1_000n),
              leg({ template: 'merchant_in_transit', owner: 'A1' }, 'CREDIT', 1_000n),
            ],
          }),
      ],
      [
        'a key reused with other content',
        'LEDGER.IDEMPOTENCY_CONFLICT',
        (tx) => ledger.post(tx, [fund('atomic-fund', 'A1', 10_001n)]),
      ],
      [
        'a hold beyond the available on a new account',
        'LEDGER.HOLD_EXCEEDS_AVAILABLE',
        (tx) =>
          ledger.placeHold(tx, {
            idempotencyKey: 'atomic-x6',
            account: { template: 'merchant_settleable', owner: 'A3' },
            amount: '0.01',
            currency: CURRENCY,
          }),
      ],
    ];
    for (const [what, code, call] of rejections) {
      const before = await snapshot(ds);
      const note = `note before ${what}`;
      const noteAfter = `note after ${what}`;
      const caught = await ds.transaction(async (tx) => {
        await tx.query('INSERT INTO caller.note (id) VALUES ($1)', [note]);
        let error: unknown;
        try {
          await call(tx);
        } catch (e) {
          error = e;
        }
        // The transaction is still usable: the caller keeps writing after the rejection.
        await tx.query('INSERT INTO caller.note (id) VALUES ($1)', [noteAfter]);
        return error;
      });
      expect({ what, error: caught instanceof LedgerError ? caught.code : String(caught) }).toEqual({
        what,
        error: code,
      });
      const notes = await ds.query<{ id: string }[]>(
        'SELECT id FROM caller.note WHERE id = ANY($1) ORDER BY id',
        [[note, noteAfter]],
      );
      expect(notes.map((n) => n.id).sort()).toEqual([note, noteAfter].sort());
      expect({ what, book: await snapshot(ds) }).toEqual({ what, book: before });
      const keys = await ds.query<{ n: string }[]>(
        `SELECT count(*)::text AS n FROM ledger.journal_entry WHERE idempotency_key IN ('atomic-x2', 'atomic-x3', 'atomic-x4', 'atomic-x5')`,
      );
      expect(keys[0]!.n).toBe('0');
      const accounts = await ds.query<{ code: string }[]>(
        `SELECT code FROM ledger.account WHERE code IN ('2202:A2', '2203:A2', '2203:A3')`,
      );
      expect(accounts).toEqual([]);
    }
    // And a good post after a caught rejection, in the same transaction, commits normally.
    const [late] = await ds.transaction(async (tx) => {
      await expect(ledger.post(tx, [fund('atomic-fund', 'A1', 1n)])).rejects.toThrow(/IDEMPOTENCY_CONFLICT/);
      return ledger.post(tx, [fund('atomic-late', 'A4', 1n)]);
    });
    expect(late!.replayed).toBe(false);
    const report = await runLedgerChecks(ds);
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  });
});
