/**
 * `npm run bench:settlement [-- --items N --merchants M --json]`: how long closing one settlement
 * cycle takes for M merchants (default 100,000) with N cleared items (default 10,000,000).
 *
 *   setup (timed, reported apart): N cleared items written straight into settlement.cleared_item by
 *     a streamed COPY (bounded memory, one transaction per million rows), all on Friday 2026-09-25
 *     (default terms T+1: its cycle closes Monday 2026-09-28), item i to merchant i mod M, ~95%
 *     payments and ~5% refunds; then the ledger state the close needs, as clearing would have left
 *     it: per merchant with a positive Σ net, one entry Dr 2202 merchant pending / Cr 2203 merchant
 *     settleable of that Σ (clearing posts one such entry per item; one per merchant gives the same
 *     balances), by Ledger.post in chunks of 10,000; then ANALYZE, as autovacuum would;
 *   close (timed): CycleCloseService.close('2026-09-28') as the service runs it, default batches of
 *     1,000 merchants per transaction: items assigned, records and audit rows by COPY, one entry Dr
 *     2203 / Cr 2204 per positive payable;
 *   checks (timed apart): one record per merchant, every item of the cycle in exactly one record of
 *     its own merchant, Σ amount + Σ carry-forward = Σ items' nets = the workload's own sum, one
 *     journal entry per positive record, every 2203 back to zero, runLedgerChecks ok.
 *
 * Works in its own database (cse_bench_settlement), dropped at the end, even on failure, unless
 * --keep. Not part of `npm test`.
 */
import 'reflect-metadata';
import os from 'node:os';
import { Command } from 'commander';
import { Logger } from '@nestjs/common';
import { Ledger, migrateLedgerSchema, runLedgerChecks, type EntryDraft } from '@app/ledger';
import {
  copyRowStream,
  createServiceDataSource,
  ProgressReporter,
  runServiceMigrations,
} from '@app/platform';
import type { DataSource } from 'typeorm';
import { createDatabase, dropDatabase, ensurePostgres, withDatabaseName } from '../../scripts/postgres.mjs';
import {
  CycleCloseService,
  SETTLEMENT_SCHEMA,
  settlementMigrations,
} from '../../apps/settlement/src/index.js';
import { processCpuSeconds, RssSampler, StatementProfile } from './bench-probes.js';
import { fenText } from './clearing-workload.js';

const options = new Command('bench:settlement')
  .option('--items <n>', 'cleared items in the cycle', '10000000')
  .option('--merchants <n>', 'merchants the items spread over', '100000')
  .option('--refund-rate <r>', 'share of items that are refunds', '0.05')
  .option('--profile', 'time every statement of the close transactions (adds a little overhead)')
  .option('--keep', 'keep the database cse_bench_settlement')
  .option('--json', 'print one JSON object on stdout, nothing else')
  .parse(process.argv)
  .opts<{
    items: string;
    merchants: string;
    refundRate: string;
    profile?: boolean;
    keep?: boolean;
    json?: boolean;
  }>();
const ITEMS = Number(options.items);
const MERCHANTS = Number(options.merchants);
const REFUND_RATE = Number(options.refundRate);
if (!Number.isSafeInteger(ITEMS) || ITEMS < 1) throw new Error('items must be a positive integer');
if (!Number.isSafeInteger(MERCHANTS) || MERCHANTS < 1 || MERCHANTS > ITEMS)
  throw new Error('merchants must be a positive integer, at most items');
const BUSINESS_DATE = '2026-09-25'; // Friday
const CLOSE_DATE = '2026-09-28'; // Monday: T+1 of Friday over the weekend
const ROWS_PER_COPY = 1_000_000;
const ENTRIES_PER_POST = 10_000;

Logger.overrideLogger(['error', 'warn']);
const say = (text: string) => {
  if (!options.json) process.stderr.write(`${text}\n`);
};
const seconds = (ms: number) => Number((ms / 1000).toFixed(2));
const since = (t0: number) => performance.now() - t0;

// ---- the workload: deterministic, so its sums are known without reading them back -------------

const merchantOf = (m: number) => `BM${String(m).padStart(6, '0')}`;
/** A 32-bit mix of the index: the same items every run. */
function hash(i: number): number {
  let x = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}
const isRefund = (i: number) => hash(i) % 10_000 < REFUND_RATE * 10_000;
/** Item i's gross, fee and net in fen: payments 1.00–500.00 less 0.6%, refunds 1.00–50.00 back. */
function amountsOf(i: number): { gross: number; fee: number; net: number } {
  const h = hash(i + 0x5bd1e995);
  if (isRefund(i)) {
    const gross = -(100 + (h % 4_901));
    return { gross, fee: 0, net: gross };
  }
  const gross = 100 + (h % 49_901);
  const fee = Math.floor((gross * 6 + 500) / 1_000);
  return { gross, fee, net: gross - fee };
}
const fen = (n: number) => fenText(BigInt(n));
const uuidOf = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
await ensurePostgres({ databaseUrl: serverUrl, quiet: true });
const DATABASE_NAME = 'cse_bench_settlement';
const databaseUrl = withDatabaseName(serverUrl, DATABASE_NAME);
const onLocalhost = /^(127\.|localhost|\[::1\])/.test(new URL(databaseUrl).host);
const postgresCpu = () => (onLocalhost ? processCpuSeconds((_, comm) => comm.startsWith('postgres')) : null);

const failures: string[] = [];
const expectEqual = (what: string, actual: unknown, expected: unknown) => {
  if (String(actual) !== String(expected))
    failures.push(`${what}: ${String(actual)}, expected ${String(expected)}`);
};

let dataSource: DataSource | undefined;
try {
  await dropDatabase(databaseUrl);
  await createDatabase(databaseUrl);
  await migrateLedgerSchema({ databaseUrl, applicationName: 'cse-bench-ledger-migrations' });
  dataSource = createServiceDataSource({
    databaseUrl,
    schema: SETTLEMENT_SCHEMA,
    migrations: settlementMigrations,
    poolMax: 4,
    applicationName: 'cse-settlement',
  });
  await dataSource.initialize();
  await runServiceMigrations(dataSource, SETTLEMENT_SCHEMA);
  const db = dataSource;
  const ledger = new Ledger();

  // ---------------------------------------------------------------------------------------------
  // Setup: the cycle's cleared items, and the ledger as clearing left it.
  say(
    `setup: ${ITEMS.toLocaleString('en-US')} cleared items over ${MERCHANTS.toLocaleString('en-US')} merchants on ${BUSINESS_DATE}`,
  );
  const perMerchant = new Float64Array(MERCHANTS); // Σ net in fen: integers well under 2^53
  let refunds = 0;
  let totalNet = 0n;
  const itemsT0 = performance.now();
  const copying = new ProgressReporter({ label: 'copy', total: ITEMS, unit: 'items', silent: options.json });
  for (let start = 0; start < ITEMS; start += ROWS_PER_COPY) {
    const end = Math.min(ITEMS, start + ROWS_PER_COPY);
    async function* rows() {
      for (let i = start; i < end; i += 1) {
        const a = amountsOf(i);
        const refund = a.net < 0;
        if (refund) refunds += 1;
        perMerchant[i % MERCHANTS]! += a.net;
        totalNet += BigInt(a.net);
        yield [
          uuidOf(i),
          `bench-tx-${i}`,
          merchantOf(i % MERCHANTS),
          'WECHAT',
          refund ? 'REFUND' : 'PAYMENT',
          BUSINESS_DATE,
          'CNY',
          fen(a.gross),
          fen(a.fee),
          '0.00',
          fen(a.net),
          `${BUSINESS_DATE}T10:00:00+08:00`,
        ];
      }
    }
    await db.transaction((tx) =>
      copyRowStream(
        tx,
        'settlement.cleared_item',
        [
          'event_id',
          'transaction_event_id',
          'merchant_id',
          'channel',
          'type',
          'business_date',
          'currency',
          'gross',
          'fee',
          'channel_cost',
          'net',
          'cleared_at',
        ],
        rows(),
        (n) => copying.add(n),
      ),
    );
  }
  copying.finish();
  const itemsMs = since(itemsT0);

  const fundT0 = performance.now();
  let positiveMerchants = 0;
  let payableFen = 0n;
  let carryFen = 0n;
  const funding = new ProgressReporter({
    label: 'fund',
    total: MERCHANTS,
    unit: 'merchants',
    silent: options.json,
  });
  for (let start = 0; start < MERCHANTS; start += ENTRIES_PER_POST) {
    const drafts: EntryDraft[] = [];
    for (let m = start; m < Math.min(MERCHANTS, start + ENTRIES_PER_POST); m += 1) {
      const net = perMerchant[m]!;
      if (net <= 0) {
        carryFen += BigInt(net);
        continue;
      }
      positiveMerchants += 1;
      payableFen += BigInt(net);
      const amount = fen(net);
      drafts.push({
        idempotencyKey: `bench-clearing:${merchantOf(m)}:${BUSINESS_DATE}`,
        businessRef: `bench-clearing:${merchantOf(m)}`,
        effectiveAt: `${BUSINESS_DATE}T10:00:00+08:00`,
        postings: [
          {
            account: { template: 'merchant_pending', owner: merchantOf(m) },
            side: 'DEBIT',
            amount,
            currency: 'CNY',
          },
          {
            account: { template: 'merchant_settleable', owner: merchantOf(m) },
            side: 'CREDIT',
            amount,
            currency: 'CNY',
          },
        ],
      });
    }
    if (drafts.length > 0) await db.transaction((tx) => ledger.post(tx, drafts));
    funding.add(Math.min(MERCHANTS, start + ENTRIES_PER_POST) - start);
  }
  funding.finish();
  const fundMs = since(fundT0);
  const analyzeT0 = performance.now();
  await db.query('ANALYZE');
  const analyzeMs = since(analyzeT0);
  say(
    `setup: items ${seconds(itemsMs)} s (${Math.round((ITEMS * 1000) / itemsMs).toLocaleString('en-US')} rows/s), ` +
      `funding ${seconds(fundMs)} s (${positiveMerchants.toLocaleString('en-US')} entries), ANALYZE ${seconds(analyzeMs)} s`,
  );

  // ---------------------------------------------------------------------------------------------
  // The close.
  const profile = options.profile ? new StatementProfile() : undefined;
  const service = new CycleCloseService(profile ? profile.wrapDataSource(db) : db, ledger);
  const load0 = os.loadavg()[0]!;
  const rss = new RssSampler();
  rss.start();
  const node0 = process.cpuUsage();
  const pg0 = postgresCpu();
  say(`close ${CLOSE_DATE} …`);
  const closeT0 = performance.now();
  const result = await service.close(CLOSE_DATE, { by: 'bench:settlement' });
  const closeMs = since(closeT0);
  const node = process.cpuUsage(node0);
  const pg1 = postgresCpu();
  const mem = rss.stop();
  const load1 = os.loadavg()[0]!;

  // ---------------------------------------------------------------------------------------------
  // Checks.
  const checksT0 = performance.now();
  expectEqual('records created', result.recordsCreated, MERCHANTS);
  expectEqual('items settled', result.itemsSettled, ITEMS);
  expectEqual('merchants examined', result.merchantsExamined, MERCHANTS);
  const [t] = result.totals;
  expectEqual('totals currencies', result.totals.map((x) => x.currency).join(','), 'CNY');
  expectEqual('totals items net', t?.itemsNet, fenText(totalNet));
  expectEqual('totals payable', t?.payable, fenText(payableFen));
  expectEqual('totals carry-forward', t?.carryForward, fenText(carryFen));
  const [items] = await db.query<{ unassigned: number; foreign: number }[]>(
    `SELECT count(*) FILTER (WHERE ci.settlement_record_id IS NULL)::int AS unassigned,
            count(*) FILTER (WHERE r.merchant_id IS DISTINCT FROM ci.merchant_id
                              AND ci.settlement_record_id IS NOT NULL)::int AS foreign
     FROM settlement.cleared_item ci
     LEFT JOIN settlement.settlement_record r ON r.id = ci.settlement_record_id
     WHERE ci.business_date = $1`,
    [BUSINESS_DATE],
  );
  expectEqual('items of the cycle left unassigned', items!.unassigned, 0);
  expectEqual("items in another merchant's record", items!.foreign, 0);
  const [rec] = await db.query<
    {
      records: number;
      merchants: number;
      items: number;
      net: string;
      amount: string;
      carry: string;
      positive: number;
      entries: number;
      per_record_ok: number;
    }[]
  >(
    `WITH counted AS (
       SELECT settlement_record_id AS id, count(*)::int AS n, sum(net) AS net
       FROM settlement.cleared_item WHERE business_date = $2 GROUP BY 1)
     SELECT count(*)::int AS records, count(DISTINCT r.merchant_id)::int AS merchants,
            sum(r.items_count)::bigint::text AS items, sum(r.items_net)::text AS net,
            sum(r.amount)::text AS amount, sum(r.carry_forward)::text AS carry,
            count(*) FILTER (WHERE r.amount > 0)::int AS positive,
            count(r.journal_entry_id)::int AS entries,
            count(*) FILTER (WHERE c.n = r.items_count AND c.net = r.items_net)::int AS per_record_ok
     FROM settlement.settlement_record r LEFT JOIN counted c ON c.id = r.id
     WHERE r.closes_on = $1`,
    [CLOSE_DATE, BUSINESS_DATE],
  );
  expectEqual('records of the date', rec!.records, MERCHANTS);
  expectEqual('merchants with a record', rec!.merchants, MERCHANTS);
  expectEqual('Σ records items_count', rec!.items, ITEMS);
  expectEqual('records whose items_count and items_net match their items', rec!.per_record_ok, MERCHANTS);
  expectEqual('Σ records items_net', rec!.net, fenText(totalNet));
  expectEqual('Σ amount', rec!.amount, fenText(payableFen));
  expectEqual('Σ carry-forward', rec!.carry, fenText(carryFen));
  expectEqual('Σ amount + Σ carry-forward = Σ nets', fenText(payableFen + carryFen), fenText(totalNet));
  expectEqual('records with a positive amount', rec!.positive, positiveMerchants);
  expectEqual('records with a journal entry', rec!.entries, positiveMerchants);
  const [settleable] = await db.query<{ accounts: number; nonzero: number }[]>(
    `SELECT count(*)::int AS accounts,
            count(*) FILTER (WHERE coalesce(b.credit_total, 0) - coalesce(b.debit_total, 0)
                                     + coalesce(d.net, 0) <> 0)::int AS nonzero
     FROM ledger.account a
     LEFT JOIN ledger.account_balance b ON b.account_id = a.id
     LEFT JOIN (SELECT account_id, sum(credit) - sum(debit) AS net FROM ledger.balance_delta GROUP BY 1) d
       ON d.account_id = a.id
     WHERE a.subject_code = '2203'`,
  );
  expectEqual('2203 accounts', settleable!.accounts, positiveMerchants);
  expectEqual('2203 accounts not back to zero', settleable!.nonzero, 0);
  const ledgerT0 = performance.now();
  const ledgerChecks = await runLedgerChecks(db);
  const ledgerChecksMs = since(ledgerT0);
  for (const c of ledgerChecks.checks) if (!c.ok) failures.push(`runLedgerChecks ${c.name}: ${c.detail}`);
  const checksMs = since(checksT0);
  const sizes = await db.query<{ name: string; size: string }[]>(
    `SELECT c.relname AS name, pg_size_pretty(pg_total_relation_size(c.oid)) AS size
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname IN ('settlement', 'ledger') AND c.relkind = 'r'
       AND c.relname IN ('cleared_item', 'settlement_record', 'record_audit', 'journal_entry', 'posting')
     ORDER BY pg_total_relation_size(c.oid) DESC`,
  );

  const summary = {
    bench: 'settlement',
    machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.cpus()[0]?.model ?? '?'}, Node ${process.versions.node}`,
    items: ITEMS,
    merchants: MERCHANTS,
    refunds,
    closeDate: CLOSE_DATE,
    setup: {
      itemsSeconds: seconds(itemsMs),
      itemsPerSecond: Math.round((ITEMS * 1000) / itemsMs),
      fundingSeconds: seconds(fundMs),
      fundingEntries: positiveMerchants,
      analyzeSeconds: seconds(analyzeMs),
    },
    close: {
      seconds: seconds(closeMs),
      recordsPerSecond: Math.round((result.recordsCreated * 1000) / closeMs),
      itemsPerSecond: Math.round((result.itemsSettled * 1000) / closeMs),
      recordsCreated: result.recordsCreated,
      itemsSettled: result.itemsSettled,
      journalEntries: positiveMerchants,
      nodeCpuSeconds: seconds((node.user + node.system) / 1000),
      postgresCpuSeconds: pg0 === null || pg1 === null ? null : Number((pg1 - pg0).toFixed(2)),
      peakRssMiB: mem.peakMiB,
      rssAtStartMiB: mem.startMiB,
      loadAverage: [Number(load0.toFixed(2)), Number(load1.toFixed(2))],
      statements: profile?.rows(closeMs).map((r) => ({
        ...r,
        // The close has no decode step; what is left is Node's work, BEGIN/COMMIT (which runs the
        // deferred foreign key check of every assigned item) and the queries outside transactions.
        label:
          r.calls === 0
            ? 'rest: Node work between statements, BEGIN/COMMIT (deferred FK checks), queries outside the batches'
            : r.label,
        share: Number(r.share.toFixed(3)),
      })),
    },
    checks: {
      seconds: seconds(checksMs),
      ledgerChecksSeconds: seconds(ledgerChecksMs),
      ledgerChecksOk: ledgerChecks.ok,
    },
    tableSizes: Object.fromEntries(sizes.map((s) => [s.name, s.size])),
    failures,
  };
  if (options.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    const n = (v: number) => v.toLocaleString('en-US');
    const c = summary.close;
    const lines = [
      `settlement close of ${CLOSE_DATE}: ${n(ITEMS)} cleared items (${n(refunds)} refunds) over ${n(MERCHANTS)} merchants; ${summary.machine}`,
      `setup   items by COPY ${summary.setup.itemsSeconds} s (${n(summary.setup.itemsPerSecond)} rows/s), ` +
        `funding ${summary.setup.fundingSeconds} s (${n(positiveMerchants)} entries), ANALYZE ${summary.setup.analyzeSeconds} s`,
      `close   ${c.seconds} s: ${n(c.recordsCreated)} records (${n(c.recordsPerSecond)} records/s), ${n(c.itemsSettled)} items ` +
        `(${n(c.itemsPerSecond)} items/s), ${n(c.journalEntries)} journal entries; CPU Node ${c.nodeCpuSeconds} s / ` +
        `Postgres ${c.postgresCpuSeconds ?? 'n/a'} s; peak RSS ${n(c.peakRssMiB)} MiB (${n(c.rssAtStartMiB)} at start); ` +
        `load average ${c.loadAverage[0]} → ${c.loadAverage[1]}`,
      `checks  ${summary.checks.seconds} s: every item in one record of its merchant, Σ amount ${fenText(payableFen)} + ` +
        `Σ carry-forward ${fenText(carryFen)} = Σ nets ${fenText(totalNet)}, runLedgerChecks ` +
        `${ledgerChecks.ok ? 'ok' : 'FAILED'} (${summary.checks.ledgerChecksSeconds} s)`,
      `tables  ${sizes.map((s) => `${s.name} ${s.size}`).join(', ')}`,
    ];
    if (c.statements) {
      lines.push('statements of the close (summed; % of the close):');
      for (const r of c.statements)
        lines.push(
          `  ${(100 * r.share).toFixed(1).padStart(5)}%  ${String(r.ms).padStart(8)} ms  ${String(r.calls).padStart(6)}×  ${r.label}`,
        );
    }
    console.log(lines.join('\n'));
  }
  if (failures.length > 0) {
    console.error(`FAIL: ${failures.length} check(s) failed:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  }
} catch (error) {
  console.error('bench:settlement failed:', error);
  process.exitCode = 1;
} finally {
  if (dataSource?.isInitialized) await dataSource.destroy().catch(() => undefined);
  if (options.keep) say(`kept: database ${DATABASE_NAME}`);
  else
    await dropDatabase(databaseUrl).catch((error: unknown) =>
      console.error(`could not drop the database ${DATABASE_NAME}:`, error),
    );
}
process.exit(process.exitCode ?? 0);
