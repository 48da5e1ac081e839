/**
 * `npm run bench:ledger [-- --entries N --writers W --batch B]`: how fast the ledger posts journal
 * entries, compared with a bare COPY of the same posting rows, both measured in this one run.
 *
 * Each entry is one cleared payment, three postings, exactly one merchant account and two hot ones:
 *
 *   DEBIT  1122:WECHAT   channel_receivable  gross    (hot, asset)
 *   CREDIT 2203:M…       merchant_settleable net      (cold, per merchant, NON_NEGATIVE floor)
 *   CREDIT 6001          fee_income          fee      (hot, income)
 *
 * with fee = ⌊gross × 0.6%⌋ (≥ 0.01) and net = gross − fee exactly, in integer fen. Crediting the
 * merchant's credit-normal account only raises it, so its floor holds without pre-funding.
 *
 *   1. bare COPY: the 3 rows per entry (entry id, account id, side, amount, currency, effective_at)
 *      into a plain table with no index, key, constraint or trigger, via `copyRows`, one transaction
 *      per batch, from W concurrent writers: the floor set by Postgres and the driver alone;
 *   2. indexed floor: the same rows plus one (id, idempotency key) row per entry, by the same COPY,
 *      into tables with only the two indexes any conforming ledger needs: a unique index on the
 *      idempotency key (applied once) and (account_id, effective_at) on postings (balance as of a
 *      time, account statement). No validation, no balances, no immutability trigger. A
 *      reference point, no longer a bound: since 2026-12-04 the ledger B-tree-indexes only the
 *      postings of accounts that are not hot (one in three here), fewer than this does;
 *   3. the ledger: `new Ledger().post(tx, batch)`, one transaction per batch, from W concurrent
 *      writers, each posting for its own slice of the merchants (credits to them are balance
 *      deltas and lock nothing; the hot accounts are shared by all, as in production);
 *   4. checks: counts exact, trial balance Σ debits = Σ credits (from balances and from postings,
 *      which must agree), a sample of balances = Σ postings = what the generator expected, then
 *      compaction of the hot deltas and every ledger check.
 *
 * Prints entries/s for each and the ratios to the bare COPY (target for the ledger ≥ 30%). `--profile` adds where
 * the ledger's time goes, statement by statement. Not part of `npm test`.
 */
import 'reflect-metadata';
import { processCpuSeconds, StatementProfile } from './bench-probes.js';
import os from 'node:os';
import { Command } from 'commander';
import { Logger } from '@nestjs/common';
import { Money } from '@app/contracts';
import {
  accountBalance,
  compactBalanceDeltas,
  Ledger,
  LEDGER_SCHEMA,
  ledgerMigrations,
  runLedgerChecks,
  trialBalance,
  validateEntry,
  DEFAULT_ACCOUNT_TEMPLATES,
  type EntryDraft,
} from '@app/ledger';
import {
  copyRows,
  createServiceDataSource,
  formatDuration,
  ProgressReporter,
  runServiceMigrations,
} from '@app/platform';
import type { EntityManager } from 'typeorm';
import { createDatabase, dropDatabase, ensurePostgres, withDatabaseName } from '../../scripts/postgres.mjs';

const options = new Command('bench:ledger')
  .option('--entries <n>', 'journal entries to post (3 postings each)', '1000000')
  .option('--merchants <n>', 'distinct merchants', '10000')
  .option('--writers <n>', 'concurrent writers, each with its own connection and merchants', '4')
  .option('--batch <n>', 'entries per transaction', '2000')
  .option('--profile', 'time every statement the ledger runs (adds a little overhead)')
  .option('--no-checks', 'skip runLedgerChecks after the run')
  .parse(process.argv)
  .opts<{
    entries: string;
    merchants: string;
    writers: string;
    batch: string;
    profile?: boolean;
    checks: boolean;
  }>();
const ENTRIES = Number.parseInt(options.entries, 10);
const MERCHANTS = Number.parseInt(options.merchants, 10);
const WRITERS = Number.parseInt(options.writers, 10);
const BATCH = Number.parseInt(options.batch, 10);
for (const [name, value] of Object.entries({ ENTRIES, MERCHANTS, WRITERS, BATCH })) {
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
}
if (MERCHANTS < WRITERS) throw new Error('need at least one merchant per writer');

Logger.overrideLogger(['error', 'warn']);

const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
await ensurePostgres({ databaseUrl: serverUrl, quiet: true });
const databaseUrl = withDatabaseName(serverUrl, 'cse_bench_ledger');
await dropDatabase(databaseUrl);
await createDatabase(databaseUrl);
const dataSource = createServiceDataSource({
  databaseUrl,
  schema: LEDGER_SCHEMA,
  migrations: ledgerMigrations,
  applicationName: 'cse-bench',
  poolMax: WRITERS + 2,
});
await dataSource.initialize();
await runServiceMigrations(dataSource, LEDGER_SCHEMA);
// Same durability as the ledger's tables (a regular, logged table), nothing else.
await dataSource.query('CREATE SCHEMA bench');
await dataSource.query(`
  CREATE TABLE bench.posting_copy (
    entry_id bigint, account_id bigint, side char(1), amount numeric, currency char(3), effective_at timestamptz)`);
await dataSource.query(`
  CREATE TABLE bench.entry_floor (id bigint, idempotency_key text NOT NULL UNIQUE, effective_at timestamptz);
  CREATE TABLE bench.posting_floor (
    entry_id bigint, account_id bigint, side char(1), amount numeric, currency char(3), effective_at timestamptz);
  CREATE INDEX ON bench.posting_floor (account_id, effective_at)`);

// ---------------------------------------------------------------------------------------------
// The workload, generated identically for both phases.

const CURRENCY = 'CNY';
const EFFECTIVE_FROM_MS = Date.parse('2026-11-22T00:00:00+08:00');
const merchantId = (m: number) => `M${String(m).padStart(5, '0')}`;
/** Writer w posts entries w, w + W, w + 2W, … for merchants w, w + W, w + 2W, … only. */
const merchantsOf = (w: number) =>
  Array.from({ length: Math.ceil((MERCHANTS - w) / WRITERS) }, (_, k) => w + k * WRITERS);
const entriesOf = (w: number) => Math.ceil((ENTRIES - w) / WRITERS);

interface Payment {
  entry: number;
  merchant: number;
  gross: string;
  net: string;
  fee: string;
  effectiveAt: string;
  grossFen: bigint;
  netFen: bigint;
  feeFen: bigint;
}

/** Entry i of writer w (its k-th). Integer fen throughout: net + fee = gross exactly. */
function payment(w: number, k: number, merchants: number[]): Payment {
  const entry = k * WRITERS + w;
  const grossFen = 200n + BigInt((entry * 7_919) % 999_800); // 2.00 … 9,999.99
  const feeFenRaw = (grossFen * 6n) / 1_000n;
  const feeFen = feeFenRaw < 1n ? 1n : feeFenRaw;
  const netFen = grossFen - feeFen;
  return {
    entry,
    merchant: merchants[k % merchants.length]!,
    gross: fenText(grossFen),
    net: fenText(netFen),
    fee: fenText(feeFen),
    effectiveAt: new Date(EFFECTIVE_FROM_MS + (entry % 86_400) * 1_000).toISOString(),
    grossFen,
    netFen,
    feeFen,
  };
}

/** 12345n → "123.45": positive fen as a CNY decimal string, cheaply (the harness should cost little). */
function fenText(units: bigint): string {
  const digits = units.toString().padStart(3, '0');
  return `${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

function draftOf(p: Payment): EntryDraft {
  return {
    idempotencyKey: `bench:${p.entry}`,
    businessRef: `T${p.entry}`,
    effectiveAt: p.effectiveAt,
    postings: [
      {
        account: { template: 'channel_receivable', owner: 'WECHAT' },
        side: 'DEBIT',
        amount: p.gross,
        currency: CURRENCY,
      },
      {
        account: { template: 'merchant_settleable', owner: merchantId(p.merchant) },
        side: 'CREDIT',
        amount: p.net,
        currency: CURRENCY,
      },
      { account: { template: 'fee_income' }, side: 'CREDIT', amount: p.fee, currency: CURRENCY },
    ],
  };
}

interface WriterStats {
  buildMs: number;
  /** Inside `ledger.post` (or `copyRows`), within the transaction. */
  workMs: number;
  /** BEGIN + COMMIT round trips and the commit's WAL flush. */
  commitMs: number;
  batches: number;
}

/** Runs W writers, each over its entries in batches of BATCH, one transaction per batch. */
async function runWriters(
  label: string,
  work: (tx: EntityManager, batch: Payment[]) => Promise<void>,
): Promise<{ perSecond: number; elapsedMs: number; stats: WriterStats; cpu: CpuSplit }> {
  const progress = new ProgressReporter({ label, total: ENTRIES, unit: 'entries' });
  const nodeCpu0 = process.cpuUsage();
  const pgCpu0 = postgresCpuSeconds();
  const [wal0] = await dataSource.query<{ lsn: string; checkpoints: string }[]>(
    `SELECT pg_current_wal_lsn()::text AS lsn, (checkpoints_timed + checkpoints_req)::text AS checkpoints FROM pg_stat_bgwriter`,
  );
  const stats: WriterStats = { buildMs: 0, workMs: 0, commitMs: 0, batches: 0 };
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      const merchants = merchantsOf(w);
      const total = entriesOf(w);
      for (let start = 0; start < total; start += BATCH) {
        let t0 = performance.now();
        const batch: Payment[] = [];
        for (let k = start; k < Math.min(start + BATCH, total); k += 1) batch.push(payment(w, k, merchants));
        stats.buildMs += performance.now() - t0;
        t0 = performance.now();
        let workMs = 0;
        await dataSource.transaction('READ COMMITTED', async (tx) => {
          const t1 = performance.now();
          await work(tx, batch);
          workMs = performance.now() - t1;
        });
        stats.workMs += workMs;
        stats.commitMs += performance.now() - t0 - workMs;
        stats.batches += 1;
        progress.add(batch.length);
      }
    }),
  );
  const result = progress.finish();
  const nodeCpu = process.cpuUsage(nodeCpu0);
  const pgCpu1 = postgresCpuSeconds();
  // Cluster-wide: anything else writing to this server meanwhile is counted too.
  const [wal1] = await dataSource.query<{ bytes: string; checkpoints: string }[]>(
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::text AS bytes,
            (checkpoints_timed + checkpoints_req - $2)::text AS checkpoints FROM pg_stat_bgwriter`,
    [wal0!.lsn, wal0!.checkpoints],
  );
  const cpu: CpuSplit = {
    nodeUsPerEntry: Number(((nodeCpu.user + nodeCpu.system) / ENTRIES).toFixed(1)),
    postgresUsPerEntry:
      pgCpu0 === null || pgCpu1 === null ? null : Number((((pgCpu1 - pgCpu0) * 1e6) / ENTRIES).toFixed(1)),
    walBytesPerEntry: Math.round(Number(wal1!.bytes) / ENTRIES),
    checkpoints: Number(wal1!.checkpoints),
  };
  return { perSecond: result.perSecond, elapsedMs: result.elapsedMs, stats, cpu };
}

/** CPU time per entry: Node's own, and every Postgres process's (backends, WAL writer, checkpointer). */
interface CpuSplit {
  nodeUsPerEntry: number;
  /** Null unless the server runs on this machine and /proc can be read (Linux). */
  postgresUsPerEntry: number | null;
  walBytesPerEntry: number;
  /** Checkpoints that started during the phase (max_wal_size reached, or timed). */
  checkpoints: number;
}

function postgresCpuSeconds(): number | null {
  if (!/^(127\.|localhost|\[::1\])/.test(new URL(databaseUrl).host)) return null;
  return processCpuSeconds((_pid, comm) => comm.startsWith('postgres'));
}

// Account ids for the bare COPY: the values do not matter to COPY, only their shape.
const HOT_CHANNEL_ID = '1';
const HOT_FEE_ID = '2';
const POSTING_COLUMNS = ['entry_id', 'account_id', 'side', 'amount', 'currency', 'effective_at'];

// ---------------------------------------------------------------------------------------------
// 1. Bare COPY.

await dataSource.query('CHECKPOINT');
const bare = await runWriters('bare COPY', async (tx, batch) => {
  const rows: string[][] = [];
  for (const p of batch) {
    const entryId = String(p.entry + 1);
    rows.push([entryId, HOT_CHANNEL_ID, 'D', p.gross, CURRENCY, p.effectiveAt]);
    rows.push([entryId, String(3 + p.merchant), 'C', p.net, CURRENCY, p.effectiveAt]);
    rows.push([entryId, HOT_FEE_ID, 'C', p.fee, CURRENCY, p.effectiveAt]);
  }
  await copyRows(tx, 'bench.posting_copy', POSTING_COLUMNS, rows);
});

// ---------------------------------------------------------------------------------------------
// 2. Indexed floor.

await dataSource.query('CHECKPOINT');
const floor = await runWriters('indexed floor', async (tx, batch) => {
  const entries: string[][] = [];
  const rows: string[][] = [];
  for (const p of batch) {
    const entryId = String(p.entry + 1);
    entries.push([entryId, `bench:${p.entry}`, p.effectiveAt]);
    rows.push([entryId, HOT_CHANNEL_ID, 'D', p.gross, CURRENCY, p.effectiveAt]);
    rows.push([entryId, String(3 + p.merchant), 'C', p.net, CURRENCY, p.effectiveAt]);
    rows.push([entryId, HOT_FEE_ID, 'C', p.fee, CURRENCY, p.effectiveAt]);
  }
  await copyRows(tx, 'bench.entry_floor', ['id', 'idempotency_key', 'effective_at'], entries);
  await copyRows(tx, 'bench.posting_floor', POSTING_COLUMNS, rows);
});

// ---------------------------------------------------------------------------------------------
// 3. The ledger.

const ledger = new Ledger();
const profile = new StatementProfile();

/** Statement times summed over writers, as % of the time inside `post`. */
function profileReport(p: StatementProfile, postMs: number): string {
  const rows = p.rows(postMs);
  const lines = rows.map(
    (r, i) =>
      `${(100 * r.share).toFixed(1).padStart(5)}%  ${String(r.ms).padStart(8)} ms  ${i === rows.length - 1 ? '       ' : `${String(r.calls).padStart(6)}×`}  ${i === rows.length - 1 ? 'in Node: validation, hashing, building rows and COPY text, GC' : r.label}`,
  );
  return `ledger.post time by statement (summed over writers; % of time inside post):\n${lines.join('\n')}`;
}
await dataSource.query('CHECKPOINT');
const real = await runWriters('ledger post', async (tx, batch) => {
  await ledger.post(options.profile ? profile.wrap(tx) : tx, batch.map(draftOf));
});

// Validation alone (pure CPU, no I/O), on one batch, to separate it from the statements' time.
const templates = new Map(DEFAULT_ACCOUNT_TEMPLATES.map((t) => [t.code, t]));
const merchantsOfWriter0 = merchantsOf(0);
const sampleDrafts = Array.from({ length: Math.min(BATCH, ENTRIES) }, (_, k) =>
  draftOf(payment(0, k, merchantsOfWriter0)),
);
let t0 = performance.now();
for (const d of sampleDrafts) validateEntry(d, templates);
const validateUsPerEntry = ((performance.now() - t0) * 1000) / sampleDrafts.length;

// ---------------------------------------------------------------------------------------------
// 4. Checks.

const failures: string[] = [];
const check = (ok: boolean, what: string) => {
  if (!ok) failures.push(what);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
};

const [counts] = await dataSource.query<
  { entries: string; postings: string; copied: string; floor: string; deltas: string }[]
>(
  `SELECT (SELECT count(*) FROM ledger.journal_entry)::text AS entries,
          (SELECT count(*) FROM ledger.posting)::text AS postings,
          (SELECT count(*) FROM bench.posting_copy)::text AS copied,
          (SELECT count(*) FROM bench.posting_floor)::text AS floor,
          (SELECT count(*) FROM ledger.balance_delta)::text AS deltas`,
);
check(counts!.entries === String(ENTRIES), `journal entries ${counts!.entries} = ${ENTRIES}`);
check(counts!.postings === String(3 * ENTRIES), `postings ${counts!.postings} = 3 × ${ENTRIES}`);
check(counts!.copied === String(3 * ENTRIES), `bare COPY rows ${counts!.copied} = 3 × ${ENTRIES}`);
check(counts!.floor === String(3 * ENTRIES), `indexed floor rows ${counts!.floor} = 3 × ${ENTRIES}`);

// What the generator says the books must hold, computed again here in integer fen.
let grossFen = 0n;
let feeFen = 0n;
const netFenByMerchant = new Array<bigint>(MERCHANTS).fill(0n);
for (let w = 0; w < WRITERS; w += 1) {
  const merchants = merchantsOf(w);
  for (let k = 0; k < entriesOf(w); k += 1) {
    const p = payment(w, k, merchants);
    grossFen += p.grossFen;
    feeFen += p.feeFen;
    netFenByMerchant[p.merchant]! += p.netFen;
  }
}
const fen = (units: bigint) => Money.fromMinorUnits(units, CURRENCY).toString();

t0 = performance.now();
const fromBalances = await trialBalance(dataSource);
const trialFromBalancesMs = performance.now() - t0;
t0 = performance.now();
const fromPostings = await trialBalance(dataSource, { source: 'postings' });
const trialFromPostingsMs = performance.now() - t0;
const totals = fromBalances.totals.find((t) => t.currency === CURRENCY);
check(
  fromBalances.balanced && totals?.debitTotal === fen(grossFen) && totals.creditTotal === fen(grossFen),
  `trial balance from balances: Σ debits ${totals?.debitTotal} = Σ credits ${totals?.creditTotal} = Σ gross ${fen(grossFen)}`,
);
check(
  JSON.stringify(fromPostings.rows) === JSON.stringify(fromBalances.rows),
  'trial balance from postings = trial balance from balances, subject by subject',
);

// Sample: both hot accounts and 100 merchants spread over every writer's slice.
const sample = [
  { code: '1122:WECHAT', expected: fen(grossFen) },
  { code: '6001', expected: fen(feeFen) },
  ...Array.from({ length: Math.min(100, MERCHANTS) }, (_, s) => {
    const m = Math.floor((s * MERCHANTS) / Math.min(100, MERCHANTS));
    return { code: `2203:${merchantId(m)}`, expected: fen(netFenByMerchant[m]!) };
  }),
];
const sampleBad: string[] = [];
for (const { code, expected } of sample) {
  const now = await accountBalance(dataSource, code);
  const posted = await accountBalance(dataSource, code, { asOf: '9999-12-31T00:00:00Z' });
  if (now.posted !== expected || posted.posted !== expected)
    sampleBad.push(`${code}: balance ${now.posted}, Σ postings ${posted.posted}, expected ${expected}`);
}
check(
  sampleBad.length === 0,
  `${sample.length} sampled accounts: balance (+ deltas) = Σ postings = generated` +
    (sampleBad.length > 0 ? `: ${sampleBad.slice(0, 5).join('; ')}` : ''),
);

t0 = performance.now();
const compaction = await compactBalanceDeltas(dataSource);
const compactionMs = performance.now() - t0;
const [left] = await dataSource.query<{ n: string }[]>(
  'SELECT count(*)::text AS n FROM ledger.balance_delta',
);
check(
  compaction.deltasFolded === Number(counts!.deltas) && left!.n === '0',
  `compaction folded ${compaction.deltasFolded} of ${counts!.deltas} deltas in ${Math.round(compactionMs)} ms, ${left!.n} left`,
);
const afterCompaction = await trialBalance(dataSource);
check(
  JSON.stringify(afterCompaction.rows) === JSON.stringify(fromBalances.rows),
  'trial balance unchanged by compaction',
);

let ledgerChecksMs: number | null = null;
if (options.checks) {
  t0 = performance.now();
  const report = await dataSource.transaction('REPEATABLE READ', (tx) => runLedgerChecks(tx));
  ledgerChecksMs = performance.now() - t0;
  for (const c of report.checks) check(c.ok, `ledger check ${c.name}: ${c.detail}`);
}

const [sizes] = await dataSource.query<{ ledger: string; bare: string }[]>(
  `SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid)) FILTER (WHERE n.nspname = 'ledger')) AS ledger,
          pg_size_pretty(sum(pg_total_relation_size(c.oid)) FILTER (WHERE c.relname = 'posting_copy')) AS bare
   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'`,
);
await dataSource.destroy();

// ---------------------------------------------------------------------------------------------

const ratio = real.perSecond / bare.perSecond;
const split = (s: WriterStats) => ({
  buildMs: Math.round(s.buildMs),
  workMs: Math.round(s.workMs),
  commitMs: Math.round(s.commitMs),
  batches: s.batches,
});
const summary = {
  entries: ENTRIES,
  postings: 3 * ENTRIES,
  merchants: MERCHANTS,
  writers: WRITERS,
  batch: BATCH,
  machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.cpus()[0]?.model ?? 'unknown cpu'}`,
  bareCopy: {
    rowsPerSecond: Math.round(3 * bare.perSecond),
    entriesPerSecond: Math.round(bare.perSecond),
    elapsed: formatDuration(bare.elapsedMs),
    timeSplitSummedOverWriters: split(bare.stats),
    cpu: bare.cpu,
  },
  indexedFloor: {
    entriesPerSecond: Math.round(floor.perSecond),
    elapsed: formatDuration(floor.elapsedMs),
    timeSplitSummedOverWriters: split(floor.stats),
    cpu: floor.cpu,
    ratioToBareCopy: Number((floor.perSecond / bare.perSecond).toFixed(3)),
  },
  ledger: {
    entriesPerSecond: Math.round(real.perSecond),
    postingsPerSecond: Math.round(3 * real.perSecond),
    elapsed: formatDuration(real.elapsedMs),
    timeSplitSummedOverWriters: split(real.stats),
    cpu: real.cpu,
    validateUsPerEntry: Number(validateUsPerEntry.toFixed(1)),
  },
  ratio: Number(ratio.toFixed(3)),
  balanceDeltasBeforeCompaction: Number(counts!.deltas),
  compaction: { ...compaction, ms: Math.round(compactionMs) },
  trialBalanceMs: {
    fromBalances: Math.round(trialFromBalancesMs),
    fromPostings: Math.round(trialFromPostingsMs),
  },
  ledgerChecksMs: ledgerChecksMs === null ? null : Math.round(ledgerChecksMs),
  tableSizes: sizes,
  failures,
};
console.log(JSON.stringify(summary, null, 2));
if (options.profile) console.log(profileReport(profile, real.stats.workMs));
console.log(
  `bare COPY ${summary.bareCopy.rowsPerSecond.toLocaleString('en-US')} rows/s = ` +
    `${summary.bareCopy.entriesPerSecond.toLocaleString('en-US')} entries/s (${summary.bareCopy.elapsed}), ` +
    `indexed floor ${summary.indexedFloor.entriesPerSecond.toLocaleString('en-US')} entries/s ` +
    `(${(summary.indexedFloor.ratioToBareCopy * 100).toFixed(1)}%), ` +
    `ledger ${summary.ledger.entriesPerSecond.toLocaleString('en-US')} entries/s (${summary.ledger.elapsed}), ` +
    `ratio ${(ratio * 100).toFixed(1)}% (target ≥ 30%)`,
);
if (failures.length > 0) {
  console.error(`${failures.length} checks failed`);
  process.exit(1);
}
process.exit(0);
