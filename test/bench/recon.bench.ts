/**
 * `npm run bench:recon [-- --lines N --discrepancy-rate R --keep --json]`: how long reconciling one
 * channel day takes — statement import, match run, marking and discrepancy records — against a bare
 * COPY + one FULL OUTER JOIN of the same data, both measured in this one run on this machine.
 *
 *   setup (timed, reported apart, in a child process: recon-setup.ts): N internal transactions of
 *     channel BENCH on 2026-11-22 (Asia/Shanghai) COPYed straight into
 *     reconciliation.internal_transaction, then VACUUM ANALYZE; the N-line generic-CSV statement
 *     written to a temp file (see recon-workload.ts for the rules and the discrepancies of every
 *     class, ~0.5% in all);
 *   engine: `StatementImportService.import` of the file with `match: true` (the day's match run
 *     made in the same pass, ADR 013); `--engine set-based` imports, then runs `MatchRunService.run`
 *     (ADR 007). The classes it counts must equal the planned ones exactly (the bench fails otherwise);
 *   baseline: COPY of the raw file bytes into an unindexed table (Postgres parses the CSV), then one
 *     INSERT … SELECT … FULL OUTER JOIN that classifies every pair, also checked against the plan.
 *
 * Before each measured phase the heap is collected (`--expose-gc`), so the setup's garbage (10M
 * generated rows) does not count against the engine: a `statement import` process starts without it.
 * Prints seconds, lines/s and the Node process's peak RSS per phase, the ratio engine ÷ baseline
 * (target ≤ 1.0) and whether the engine stayed under 1 GiB. Works in its own database
 * (cse_bench_recon), dropped at the end unless --keep. `--reuse FILE` measures again on what a
 * `--keep` run left (that database and that statement file, same --lines and --discrepancy-rate):
 * the engine's and the baseline's tables are emptied, the setup is skipped, and both are kept.
 * Not part of `npm test`.
 */
import 'reflect-metadata';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { Logger } from '@nestjs/common';
import { LEDGER_SCHEMA, ledgerMigrations } from '@app/ledger';
import { createServiceDataSource, runServiceMigrations } from '@app/platform';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { DataSource } from 'typeorm';
import { createDatabase, dropDatabase, ensurePostgres, withDatabaseName } from '../../scripts/postgres.mjs';
import {
  MatchRunService,
  RECONCILIATION_SCHEMA,
  reconciliationMigrations,
  StatementImportService,
} from '../../apps/reconciliation/src/index.js';
import { BENCH_BUSINESS_DATE, BENCH_CHANNEL, planWorkload } from './recon-workload.js';
import { importThroughApi, type ApiPhase } from './recon-api-phase.js';

const options = new Command('bench:recon')
  .option('--lines <n>', 'internal transactions, and statement lines', '1000000')
  .option('--discrepancy-rate <r>', 'share of items that are discrepancies, spread over 6 classes', '0.005')
  .option('--keep', 'keep the database cse_bench_recon and the statement file')
  .option('--reuse <file>', 'measure on the database and the statement file a --keep run left')
  .option('--trace-memory', 'print RSS, V8 heap and array buffers every second of a measured phase')
  .option('--json', 'print one JSON object on stdout, nothing else')
  .option(
    '--via-api [rounds]',
    'then import the same file through a running reconciliation service (POST /statements with a token, as `cse statement import --match` sends it), alternating with the in-process import for N rounds (default 1); prints the ratio API ÷ in-process of each round and their median',
  )
  .option(
    '--engine <kind>',
    'on-import (match while importing) | set-based (import, then the SQL run)',
    'on-import',
  )
  .parse(process.argv)
  .opts<{
    lines: string;
    discrepancyRate: string;
    keep?: boolean;
    reuse?: string;
    traceMemory?: boolean;
    json?: boolean;
    viaApi?: boolean | string;
    engine: string;
  }>();
if (options.engine !== 'on-import' && options.engine !== 'set-based')
  throw new Error(`--engine must be on-import or set-based, got "${options.engine}"`);
const MATCH_ON_IMPORT = options.engine === 'on-import';
const API_ROUNDS = options.viaApi === undefined ? 0 : options.viaApi === true ? 1 : Number(options.viaApi);
if (!Number.isInteger(API_ROUNDS) || API_ROUNDS < 0 || API_ROUNDS > 20)
  throw new Error(`--via-api takes a number of rounds 1..20, got "${String(options.viaApi)}"`);
if (API_ROUNDS > 0 && !MATCH_ON_IMPORT) throw new Error('--via-api measures --engine on-import');
const workload = planWorkload(Number(options.lines), Number(options.discrepancyRate));
const LINES = workload.rows;
const RSS_LIMIT_MIB = 1024;
const RATIO_TARGET = 1.0;
/** The import through the API against the same import in-process (issue 15). */
const API_RATIO_TARGET = 1.2;

Logger.overrideLogger(['error', 'warn']);
const say = (text: string) => {
  if (!options.json) process.stderr.write(`${text}\n`);
};

const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
await ensurePostgres({ databaseUrl: serverUrl, quiet: true });
const DATABASE_NAME = 'cse_bench_recon';
const databaseUrl = withDatabaseName(serverUrl, DATABASE_NAME);
const REUSE = options.reuse !== undefined;
const KEEP = options.keep === true || REUSE;
const statementPath =
  options.reuse ??
  path.join(os.tmpdir(), `cse-bench-recon-${process.pid}-${BENCH_CHANNEL}-${BENCH_BUSINESS_DATE}.csv`);

/** Peak RSS of this process over one phase. */
class RssSampler {
  private peak = 0;
  private atStart = 0;
  private maxRssBefore = 0;
  private timer: NodeJS.Timeout | undefined;
  private samples = 0;
  private startedAt = 0;

  start(): void {
    this.atStart = process.memoryUsage.rss();
    this.peak = this.atStart;
    this.maxRssBefore = process.resourceUsage().maxRSS * 1024;
    this.startedAt = performance.now();
    this.timer = setInterval(() => this.sample(), 100);
  }

  /** RSS when the phase started (what the process already held), its peak, and the process's high-water mark. */
  stop(): { startMiB: number; peakMiB: number; processMaxMiB: number } {
    clearInterval(this.timer);
    this.sample();
    // A 100 ms timer misses whatever happens while the event loop is blocked (a long synchronous
    // step); the kernel's high-water mark does not, and when this phase raised it, it is the peak.
    const maxRssAfter = process.resourceUsage().maxRSS * 1024;
    const peak = maxRssAfter > this.maxRssBefore ? Math.max(this.peak, maxRssAfter) : this.peak;
    return { startMiB: mib(this.atStart), peakMiB: mib(peak), processMaxMiB: mib(maxRssAfter) };
  }

  private sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
    this.samples += 1;
    if (options.traceMemory && this.samples % 10 === 0) {
      const m = process.memoryUsage();
      say(
        `  ${((performance.now() - this.startedAt) / 1000).toFixed(1)} s: RSS ${mib(m.rss)} MiB, ` +
          `heap ${mib(m.heapUsed)}/${mib(m.heapTotal)} MiB, array buffers ${mib(m.arrayBuffers)} MiB`,
      );
    }
  }
}

const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
/** A full collection, when the bench runs with --expose-gc (npm run bench:recon does). */
const collectGarbage = () => (globalThis as { gc?: () => void }).gc?.();
const seconds = (ms: number) => Number((ms / 1000).toFixed(2));
const since = (t0: number) => performance.now() - t0;

async function migrate(schema: string, migrations: (new () => object)[], poolMax: number) {
  const ds = createServiceDataSource({
    databaseUrl,
    schema,
    migrations,
    applicationName: 'cse-bench',
    poolMax,
  });
  await ds.initialize();
  await runServiceMigrations(ds, schema);
  return ds;
}

/** Class → count, every planned class present (0 when the run found none). */
function countsOf(rows: { class: string; n: number }[], planned: Record<string, number>) {
  const counts: Record<string, number> = Object.fromEntries(Object.keys(planned).map((c) => [c, 0]));
  for (const { class: c, n } of rows) counts[c] = n;
  return counts;
}

function differences(label: string, actual: Record<string, number>, expected: Record<string, number>) {
  return [...new Set([...Object.keys(expected), ...Object.keys(actual)])]
    .filter((c) => (actual[c] ?? 0) !== (expected[c] ?? 0))
    .map((c) => `${label} ${c}: ${actual[c] ?? 0}, expected ${expected[c] ?? 0}`);
}

/** What an import and its match wrote, emptied (the append-only guards are off for this session only). */
async function emptyEngineTables(): Promise<void> {
  await raw.query('SET session_replication_role = replica');
  await raw.query(
    `TRUNCATE reconciliation.statement_file, reconciliation.statement_line, reconciliation.match_run,
       reconciliation.match_item, reconciliation.matched_item, reconciliation.discrepancy,
       reconciliation.discrepancy_history, reconciliation.statement_rejected_line`,
  );
  await raw.query('SET session_replication_role = DEFAULT');
}

let dataSource: DataSource | undefined;
const raw = new pg.Client({ connectionString: databaseUrl, application_name: 'cse-bench-raw' });
let rawConnected = false;
try {
  if (!REUSE) {
    await dropDatabase(databaseUrl);
    await createDatabase(databaseUrl);
  }
  await (await migrate(LEDGER_SCHEMA, ledgerMigrations, 2)).destroy();
  dataSource = await migrate(RECONCILIATION_SCHEMA, reconciliationMigrations, 10);
  await raw.connect();
  rawConnected = true;
  const settings = await raw.query<{ name: string; setting: string }>(
    `SELECT name, current_setting(name) AS setting FROM pg_settings
     WHERE name IN ('server_version', 'shared_buffers', 'work_mem', 'fsync', 'synchronous_commit', 'max_wal_size')`,
  );

  // ---------------------------------------------------------------------------------------------
  // Setup: our side of the day, and the channel's file.
  say(
    `setup: ${LINES.toLocaleString('en-US')} internal transactions, ${workload.perClass} per discrepancy class`,
  );
  let internalCopyMs = 0;
  let statementFileMs = 0;
  if (REUSE) {
    // What the last run wrote is emptied (the append-only guards are triggers, off for this
    // superuser session only), so the engine meets the same empty tables as a first run.
    if (!fs.existsSync(statementPath)) throw new Error(`--reuse: no statement file ${statementPath}`);
    const [{ n }] = (
      await raw.query<{ n: number }>('SELECT count(*)::int AS n FROM reconciliation.internal_transaction')
    ).rows as [{ n: number }];
    if (n !== LINES)
      throw new Error(`--reuse: ${DATABASE_NAME} holds ${n} internal transactions, --lines is ${LINES}`);
    await emptyEngineTables();
    await raw.query('DROP SCHEMA IF EXISTS bench_baseline CASCADE');
  } else {
    // Generated in a process of its own: the one the engine is measured in never holds the rows.
    const setupRun = spawnSync(
      process.execPath,
      [
        ...process.execArgv.filter((a) => a !== '--expose-gc'),
        path.join(path.dirname(fileURLToPath(import.meta.url)), 'recon-setup.ts'),
        databaseUrl,
        statementPath,
        String(LINES),
        options.discrepancyRate,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 },
    );
    if (setupRun.status !== 0) throw new Error(`setup failed (exit ${setupRun.status}): ${setupRun.stdout}`);
    ({ internalCopyMs, statementFileMs } = JSON.parse(setupRun.stdout) as {
      internalCopyMs: number;
      statementFileMs: number;
    });
  }

  let t0 = performance.now();
  // A day's transactions arrive over the day and autovacuum analyzes the table as they do; a bulk
  // load must not leave the match run planning against an empty-looking table.
  await raw.query('VACUUM ANALYZE reconciliation.internal_transaction');
  const analyzeMs = since(t0);
  const statementFileMiB = mib(fs.statSync(statementPath).size);
  say(
    `setup: internal COPY ${seconds(internalCopyMs)} s, VACUUM ANALYZE ${seconds(analyzeMs)} s, ` +
      `statement file ${seconds(statementFileMs)} s (${statementFileMiB} MiB, ${statementPath})`,
  );

  // ---------------------------------------------------------------------------------------------
  // Engine: import + match run (marking and discrepancy records included), as the service runs them.
  await raw.query('CHECKPOINT');
  collectGarbage();
  say('engine: statement import …');
  const engineRss = new RssSampler();
  const engineCpu0 = process.cpuUsage();
  engineRss.start();
  t0 = performance.now();
  const imported = await new StatementImportService(dataSource).import({
    channel: BENCH_CHANNEL,
    format: 'generic',
    filePath: statementPath,
    businessDate: BENCH_BUSINESS_DATE,
    silent: true,
    match: MATCH_ON_IMPORT,
  });
  const importMs = since(t0);
  say(`engine: import ${seconds(importMs)} s; match run …`);
  t0 = performance.now();
  const run =
    imported.matchRun ?? (await new MatchRunService(dataSource).run(BENCH_CHANNEL, BENCH_BUSINESS_DATE));
  const matchMs = since(t0);
  const engineMem = engineRss.stop();
  const engineCpu = process.cpuUsage(engineCpu0);
  const engineMs = importMs + matchMs;
  const engineCounts: Record<string, number> = { ...run.counts };
  say(`engine: match ${seconds(matchMs)} s`);

  // ---------------------------------------------------------------------------------------------
  // Baseline: the same file and the same internal rows, Postgres alone, no index, one join.
  await raw.query('CREATE SCHEMA bench_baseline');
  await raw.query(`
    CREATE TABLE bench_baseline.statement_raw (
      channel_txn_id text, order_no text, type text, amount numeric, fee numeric, currency text,
      status text, trade_time timestamp)`);
  await raw.query(`
    CREATE TABLE bench_baseline.classified (
      class text, event_id text, order_no text, type text, internal_amount numeric,
      channel_amount numeric, channel_txn_id text)`);
  await raw.query('CHECKPOINT');
  collectGarbage();
  say('baseline: COPY …');
  const baselineRss = new RssSampler();
  baselineRss.start();
  t0 = performance.now();
  await pipeline(
    fs.createReadStream(statementPath, { highWaterMark: 1 << 20 }),
    raw.query(
      copyFrom(
        `COPY bench_baseline.statement_raw
           (channel_txn_id, order_no, type, amount, fee, currency, status, trade_time)
         FROM STDIN WITH (FORMAT csv, HEADER true)`,
      ),
    ),
  );
  const baselineCopyMs = since(t0);
  say(`baseline: COPY ${seconds(baselineCopyMs)} s; FULL OUTER JOIN …`);
  t0 = performance.now();
  await raw.query(
    `INSERT INTO bench_baseline.classified
     SELECT CASE
              WHEN s.order_no IS NULL THEN 'MISSING_IN_CHANNEL'
              WHEN i.order_no IS NULL THEN 'MISSING_INTERNAL'
              WHEN s.status <> 'SUCCESS' THEN 'STATUS_MISMATCH'
              WHEN s.currency <> i.currency OR s.amount <> i.amount THEN 'AMOUNT_MISMATCH'
              ELSE 'MATCHED'
            END,
            i.event_id, coalesce(i.order_no, s.order_no), coalesce(i.type, s.type), i.amount, s.amount,
            s.channel_txn_id
     FROM (SELECT event_id, order_no, amount, currency::text AS currency,
                  CASE event_type WHEN 'PAYMENT_SUCCEEDED' THEN 'PAYMENT' ELSE 'REFUND' END AS type
           FROM reconciliation.internal_transaction
           WHERE channel = $1 AND business_date = $2
             AND event_type IN ('PAYMENT_SUCCEEDED', 'REFUND_SUCCEEDED')) i
     FULL OUTER JOIN bench_baseline.statement_raw s ON s.order_no = i.order_no AND s.type = i.type`,
    [BENCH_CHANNEL, BENCH_BUSINESS_DATE],
  );
  const baselineJoinMs = since(t0);
  const baselineMem = baselineRss.stop();
  const baselineMs = baselineCopyMs + baselineJoinMs;
  say(`baseline: join ${seconds(baselineJoinMs)} s`);
  const baselineCounts = countsOf(
    (
      await raw.query<{ class: string; n: number }>(
        'SELECT class, count(*)::int AS n FROM bench_baseline.classified GROUP BY class',
      )
    ).rows,
    workload.baselineExpected,
  );

  // ---------------------------------------------------------------------------------------------
  // Through the API: the same file, the engine's tables emptied, imported by a reconciliation
  // service process (started as `npm run start:reconciliation` starts it) from this process as
  // `cse statement import --match` sends it: multipart streamed from disk, a bearer token.
  const apiRounds: { inProcessMs: number; inProcessCpuMs: number; api: ApiPhase }[] = [];
  for (let round = 1; round <= API_ROUNDS; round += 1) {
    let inProcessMs = engineMs;
    let inProcessCpuMs = (engineCpu.user + engineCpu.system) / 1000;
    if (round > 1) {
      // Alternated on the same empty tables: a loaded moment of this shared machine hits both sides.
      await emptyEngineTables();
      await raw.query('CHECKPOINT');
      collectGarbage();
      const cpu0 = process.cpuUsage();
      t0 = performance.now();
      await new StatementImportService(dataSource).import({
        channel: BENCH_CHANNEL,
        format: 'generic',
        filePath: statementPath,
        businessDate: BENCH_BUSINESS_DATE,
        silent: true,
        match: true,
      });
      inProcessMs = since(t0);
      const cpu = process.cpuUsage(cpu0);
      inProcessCpuMs = (cpu.user + cpu.system) / 1000;
      say(`round ${round}: in-process import ${seconds(inProcessMs)} s`);
    }
    await emptyEngineTables();
    await raw.query('CHECKPOINT');
    collectGarbage();
    const api = await importThroughApi(databaseUrl, statementPath, say);
    say(
      `round ${round}: API import ${seconds(api.ms)} s (service peak RSS ${api.servicePeakRssMiB} MiB), ` +
        `ratio ${(api.ms / inProcessMs).toFixed(2)}`,
    );
    apiRounds.push({ inProcessMs, inProcessCpuMs, api });
  }
  const apiRatios = apiRounds.map((r) => r.api.ms / r.inProcessMs).sort((a, b) => a - b);
  const apiMedianRatio =
    apiRatios.length === 0
      ? null
      : apiRatios.length % 2 === 1
        ? apiRatios[(apiRatios.length - 1) / 2]!
        : (apiRatios[apiRatios.length / 2 - 1]! + apiRatios[apiRatios.length / 2]!) / 2;

  const sizes = (
    await raw.query<{ name: string; size: string }>(
      `SELECT n.nspname || '.' || c.relname AS name, pg_size_pretty(pg_total_relation_size(c.oid)) AS size
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind = 'r' AND n.nspname IN ('reconciliation', 'bench_baseline')
         AND pg_total_relation_size(c.oid) > 1048576
       ORDER BY pg_total_relation_size(c.oid) DESC`,
    )
  ).rows;

  // ---------------------------------------------------------------------------------------------

  const expectedDiscrepancies = 5 * workload.perClass;
  const failures = [
    ...(imported.lines === LINES ? [] : [`imported ${imported.lines} lines, expected ${LINES}`]),
    ...differences('engine', engineCounts, workload.expected),
    // Each matched transaction released to clearing once; one discrepancy record per non-matched
    // item (PENDING_CROSS_DAY is not a discrepancy yet).
    ...(run.emitted === workload.expected.MATCHED
      ? []
      : [`engine emitted ${run.emitted} matched items, expected ${workload.expected.MATCHED}`]),
    ...(run.discrepancies.opened === expectedDiscrepancies
      ? []
      : [`engine opened ${run.discrepancies.opened} discrepancies, expected ${expectedDiscrepancies}`]),
    ...differences('baseline', baselineCounts, workload.baselineExpected),
    ...apiRounds.flatMap(({ api }, i) => [
      ...(api.lines === LINES ? [] : [`api round ${i + 1} imported ${api.lines} lines, expected ${LINES}`]),
      ...differences(`api round ${i + 1}`, api.counts, workload.expected),
    ]),
  ];
  const ratio = engineMs / baselineMs;
  const summary = {
    lines: LINES,
    internalTransactions: LINES,
    discrepancyRate: Number(options.discrepancyRate),
    perClass: workload.perClass,
    machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.cpus()[0]?.model ?? 'unknown cpu'}, Node ${process.versions.node}`,
    postgres: Object.fromEntries(settings.rows.map((s) => [s.name, s.setting])),
    setup: {
      internalCopySeconds: seconds(internalCopyMs),
      vacuumAnalyzeSeconds: seconds(analyzeMs),
      statementFileSeconds: seconds(statementFileMs),
      statementFileMiB,
      totalSeconds: seconds(internalCopyMs + analyzeMs + statementFileMs),
    },
    engine: {
      importSeconds: seconds(importMs),
      matchSeconds: seconds(matchMs),
      totalSeconds: seconds(engineMs),
      linesPerSecond: Math.round((LINES * 1000) / engineMs),
      rssAtStartMiB: engineMem.startMiB,
      peakRssMiB: engineMem.peakMiB,
      nodeCpuSeconds: seconds((engineCpu.user + engineCpu.system) / 1000),
      matchRunId: run.matchRunId,
      counts: engineCounts,
      expectedCounts: workload.expected,
      emitted: run.emitted,
      discrepancies: run.discrepancies,
    },
    baseline: {
      copySeconds: seconds(baselineCopyMs),
      joinSeconds: seconds(baselineJoinMs),
      totalSeconds: seconds(baselineMs),
      linesPerSecond: Math.round((LINES * 1000) / baselineMs),
      rssAtStartMiB: baselineMem.startMiB,
      peakRssMiB: baselineMem.peakMiB,
      counts: baselineCounts,
      expectedCounts: workload.baselineExpected,
    },
    ...(apiMedianRatio === null
      ? {}
      : {
          api: {
            rounds: apiRounds.map(({ inProcessMs, inProcessCpuMs, api }) => ({
              inProcessSeconds: seconds(inProcessMs),
              inProcessNodeCpuSeconds: seconds(inProcessCpuMs),
              apiSeconds: seconds(api.ms),
              serverImportSeconds: seconds(api.serverElapsedMs),
              linesPerSecond: Math.round((LINES * 1000) / api.ms),
              servicePeakRssMiB: api.servicePeakRssMiB,
              serviceCpuSeconds: seconds(api.serviceCpuMs),
              clientCpuSeconds: seconds(api.clientCpuMs),
              ratio: Number((api.ms / inProcessMs).toFixed(2)),
            })),
            medianRatio: Number(apiMedianRatio.toFixed(2)),
            ratioTarget: API_RATIO_TARGET,
            ratioMet: apiMedianRatio <= API_RATIO_TARGET,
          },
        }),
    ratio: Number(ratio.toFixed(2)),
    ratioTarget: RATIO_TARGET,
    ratioMet: ratio <= RATIO_TARGET,
    rssLimitMiB: RSS_LIMIT_MIB,
    rssMet: engineMem.peakMiB < RSS_LIMIT_MIB,
    processMaxRssMiB: baselineMem.processMaxMiB,
    tableSizes: Object.fromEntries(sizes.map((s) => [s.name, s.size])),
    failures,
  };

  if (options.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    const n = (v: number) => v.toLocaleString('en-US');
    const e = summary.engine;
    const b = summary.baseline;
    console.log(
      [
        `reconciliation of ${n(LINES)} statement lines against ${n(LINES)} internal transactions ` +
          `(${n(workload.perClass)} per discrepancy class), ${summary.machine}`,
        `setup     internal COPY ${summary.setup.internalCopySeconds} s, VACUUM ANALYZE ${summary.setup.vacuumAnalyzeSeconds} s, ` +
          `statement file ${summary.setup.statementFileSeconds} s (${statementFileMiB} MiB): ${summary.setup.totalSeconds} s`,
        `engine    import ${e.importSeconds} s + match ${e.matchSeconds} s = ${e.totalSeconds} s, ` +
          `${n(e.linesPerSecond)} lines/s, peak RSS ${n(e.peakRssMiB)} MiB (${n(e.rssAtStartMiB)} at start), Node CPU ${e.nodeCpuSeconds} s`,
        `          ${Object.entries(e.counts)
          .map(([c, v]) => `${c} ${n(v)}`)
          .join(', ')}; emitted ${n(e.emitted)}, discrepancies opened ${n(e.discrepancies.opened)}`,
        `baseline  COPY ${b.copySeconds} s + FULL OUTER JOIN ${b.joinSeconds} s = ${b.totalSeconds} s, ` +
          `${n(b.linesPerSecond)} lines/s, peak RSS ${n(b.peakRssMiB)} MiB (${n(b.rssAtStartMiB)} at start)`,
        `          ${Object.entries(b.counts)
          .map(([c, v]) => `${c} ${n(v)}`)
          .join(', ')}`,
        `ratio engine ÷ baseline ${summary.ratio} (target ≤ ${RATIO_TARGET}: ${summary.ratioMet ? 'met' : 'NOT met'}); ` +
          `engine peak RSS ${n(e.peakRssMiB)} MiB (limit < ${RSS_LIMIT_MIB} MiB: ${summary.rssMet ? 'met' : 'NOT met'})`,
        `tables    ${sizes.map((s) => `${s.name} ${s.size}`).join(', ')}`,
        ...(summary.api === undefined
          ? []
          : [
              ...summary.api.rounds.map(
                (r, i) =>
                  `api ${i + 1}     in-process ${r.inProcessSeconds} s (Node CPU ${r.inProcessNodeCpuSeconds} s) | ` +
                  `POST /statements (match=true) ${r.apiSeconds} s (the service's import ${r.serverImportSeconds} s; ` +
                  `CPU service ${r.serviceCpuSeconds} s + client ${r.clientCpuSeconds} s), ratio ${r.ratio}; ` +
                  `service peak RSS ${n(r.servicePeakRssMiB)} MiB`,
              ),
              `ratio API ÷ in-process, median of ${summary.api.rounds.length}: ${summary.api.medianRatio} ` +
                `(target ≤ ${API_RATIO_TARGET}: ${summary.api.ratioMet ? 'met' : 'NOT met'})`,
            ]),
      ].join('\n'),
    );
  }
  if (failures.length > 0) {
    console.error(`FAIL: ${failures.length} check(s) failed:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  }
} catch (error) {
  console.error('bench:recon failed:', error);
  process.exitCode = 1;
} finally {
  if (dataSource?.isInitialized) await dataSource.destroy().catch(() => undefined);
  if (rawConnected) await raw.end().catch(() => undefined);
  if (KEEP) {
    say(`kept: database ${DATABASE_NAME}, statement file ${statementPath}`);
  } else {
    fs.rmSync(statementPath, { force: true });
    await dropDatabase(databaseUrl).catch((error: unknown) =>
      console.error(`could not drop the database ${DATABASE_NAME}:`, error),
    );
  }
}
process.exit(process.exitCode ?? 0);
