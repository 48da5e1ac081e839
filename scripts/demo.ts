/**
 * `npm run demo`: the main job on the sample day, from a fresh clone.
 *
 * Today: start the infrastructure, migrate, start the reconciliation service, publish the sample
 * day's transaction events (twice, to show that a replay changes nothing), wait until the service
 * has consumed everything, show what it stored, then import the channel's statements and run
 * reconciliation for the sample day and the next (where the cross-day items are matched); then
 * start the clearing service, wait until it has cleared every matched item, and print the clearing
 * result per merchant and the internal reconciliation (内部对账) of the day. Later issues extend
 * this until the whole day runs end to end (reconciliation → clearing → settlement → payouts).
 */
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Logger } from '@nestjs/common';
import { TOPIC } from '@app/contracts';
import { consumerLag, createKafka, topicName } from '@app/messaging';
import { loadPlatformConfig } from '@app/platform';
import { ensureKafka } from './kafka-lib.mjs';
import { ensurePostgres } from './postgres.mjs';
import { migrateCommand } from '../apps/cli/src/commands/db.command.js';
import { publishCommand } from '../apps/cli/src/commands/publish.command.js';
import { transactionSummaryCommand } from '../apps/cli/src/commands/transactions.command.js';
import { SAMPLES_DIR } from '../test/support/samples.js';
import { withSchemaDataSource } from '../apps/cli/src/schema-data-source.js';
import { MatchRunService } from '../apps/reconciliation/src/matching/match-run.service.js';
import { formatRun, reconReportCommand } from '../apps/cli/src/commands/recon.command.js';
import {
  RECONCILIATION_SCHEMA,
  reconciliationMigrations,
} from '../apps/reconciliation/src/migrations/index.js';
import {
  StatementImportError,
  StatementImportService,
} from '../apps/reconciliation/src/statement/statement-import.service.js';
import { TRANSACTION_INGEST_GROUP } from '../apps/reconciliation/src/ingest/transaction-ingest.consumer.js';
import { ITEM_MATCHED_GROUP } from '../apps/clearing/src/clearing/item-matched.consumer.js';
import { clearingCheckCommand, clearingSummaryCommand } from '../apps/cli/src/commands/clearing.command.js';

const EVENTS_FILE = path.join(SAMPLES_DIR, 'internal-events.jsonl');
const REPORT_CSV = path.resolve('.cache/demo/discrepancies-WECHAT-2026-11-22.csv');
await mkdir(path.dirname(REPORT_CSV), { recursive: true });
const step = (text: string) => process.stdout.write(`\n== ${text}\n`);
Logger.overrideLogger(['error', 'warn']);

step('infrastructure');
const pgResult = await ensurePostgres({ quiet: false });
process.env.DATABASE_URL = pgResult.databaseUrl;
const kafkaResult = await ensureKafka({ quiet: false });
process.env.KAFKA_BROKERS = kafkaResult.brokers;
const config = loadPlatformConfig('demo');

step('migrations');
await migrateCommand({});

step('reconciliation service');
const service = await startService('reconciliation');
const topic = topicName(config.kafkaTopicPrefix, TOPIC.paymentsTransactionV1);
const groupId = `${config.kafkaTopicPrefix}${TRANSACTION_INGEST_GROUP}`;
try {
  for (const round of ['first', 'replay']) {
    step(`publish the sample day's events (${round})`);
    await publishCommand({ file: EVENTS_FILE });
    await waitForLag0(groupId, topic);
  }
  step('stored internal transactions (我方交易) for 2026-11-22');
  await transactionSummaryCommand({ date: '2026-11-22' });

  step('reconciliation (对账) of WECHAT on 2026-11-22 and 2026-11-23');
  await withSchemaDataSource(RECONCILIATION_SCHEMA, reconciliationMigrations, async (dataSource) => {
    const statements = new StatementImportService(dataSource);
    const matching = new MatchRunService(dataSource);
    for (const [date, file] of [
      ['2026-11-22', 'generic-2026-11-22.csv'],
      ['2026-11-23', 'generic-2026-11-23.csv'],
    ] as const) {
      try {
        const imported = await statements.import({
          channel: 'WECHAT',
          format: 'generic',
          filePath: path.join(SAMPLES_DIR, file),
          businessDate: date,
          silent: true,
        });
        process.stdout.write(
          `statement ${file}: ${imported.lines} lines imported (file ${imported.statementFileId})\n`,
        );
      } catch (error) {
        // The demo's database outlives a run: a second demo finds the statement already there.
        if (!(error instanceof StatementImportError && error.code === 'STATEMENT.ALREADY_IMPORTED'))
          throw error;
        process.stdout.write(`statement ${file}: already imported (${error.message})\n`);
      }
      const run = await matching.run('WECHAT', date);
      process.stdout.write(`${formatRun(run)}\n`);
    }
    // The Alipay export of the same day: GBK, trailer totals verified on import.
    try {
      const alipay = await statements.import({
        channel: 'ALIPAY',
        format: 'alipay',
        filePath: path.join(SAMPLES_DIR, 'alipay-2026-11-22.csv'),
        businessDate: '2026-11-22',
        silent: true,
      });
      const totals = alipay.totals
        .map(
          (t) =>
            `${t.paymentCount} payments ${t.paymentAmount}, ${t.refundCount} refunds ${t.refundAmount} ${t.currency}`,
        )
        .join('; ');
      process.stdout.write(
        `statement alipay-2026-11-22.csv: ${alipay.lines} lines imported, totals verified (${totals})\n`,
      );
    } catch (error) {
      if (!(error instanceof StatementImportError && error.code === 'STATEMENT.ALREADY_IMPORTED'))
        throw error;
      process.stdout.write(`statement alipay-2026-11-22.csv: already imported\n`);
    }
  });

  step('discrepancy report (差错报表) of WECHAT 2026-11-22');
  await reconReportCommand({ channel: 'WECHAT', date: '2026-11-22', csv: REPORT_CSV });

  step('released to clearing (recon.item-matched.v1)');
  await waitForOutboxDrained();

  step('clearing service (清分)');
  const clearing = await startService('clearing');
  try {
    await waitForLag0(
      `${config.kafkaTopicPrefix}${ITEM_MATCHED_GROUP}`,
      topicName(config.kafkaTopicPrefix, TOPIC.reconItemMatchedV1),
    );
    step('cleared items of 2026-11-22 per merchant (fee 0.6%, channel cost from the statement)');
    await clearingSummaryCommand({ date: '2026-11-22' });
    step('internal reconciliation (内部对账) of 2026-11-22: cleared items against the ledger');
    const check = await clearingCheckCommand({ date: '2026-11-22' });
    if (!check.ok) throw new Error(`internal reconciliation found ${check.differenceCount} difference(s)`);
  } finally {
    await stopService(clearing);
  }
} finally {
  await stopService(service);
}
process.stdout.write(
  '\nDone. The broker and database keep running; `npm run kafka:stop` stops the broker.\n',
);
process.exit(0);

async function stopService(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function startService(name: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', '@swc-node/register/esm-register', `apps/${name}/src/main.ts`],
    {
      env: { ...process.env, HTTP_PORT: process.env.HTTP_PORT ?? '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not become ready within 60 s`)), 60_000);
    child.once('exit', (code) => reject(new Error(`${name} exited with code ${code} during start-up`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      if (process.env.DEMO_VERBOSE) process.stdout.write(text);
      if (text.includes('ready, HTTP on')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  process.stdout.write(`${name} service started (pid ${child.pid})\n`);
  return child;
}

/** The service's matched-item relay publishes what the runs released; the demo waits until it has. */
async function waitForOutboxDrained(): Promise<void> {
  await withSchemaDataSource(RECONCILIATION_SCHEMA, reconciliationMigrations, async (dataSource) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [row] = await dataSource.query<{ pending: string; published: string }[]>(
        `SELECT count(*) FILTER (WHERE published_at IS NULL)::text AS pending,
                count(*) FILTER (WHERE published_at IS NOT NULL)::text AS published
         FROM reconciliation.matched_item`,
      );
      if (row?.pending === '0') {
        process.stdout.write(
          `${row.published} matched transactions published to ${topicName(config.kafkaTopicPrefix, TOPIC.reconItemMatchedV1)} (each once)\n`,
        );
        return;
      }
      if (Date.now() > deadline)
        throw new Error(`${row?.pending} matched items still unpublished after 60 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });
}

async function waitForLag0(group: string, topicToWatch: string): Promise<void> {
  const admin = createKafka({ brokers: config.kafkaBrokers, clientId: 'cse-demo' }).admin();
  await admin.connect();
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const lag = await consumerLag(admin, group, topicToWatch);
      if (lag === 0) break;
      if (Date.now() > deadline) throw new Error(`consumer lag still ${lag} after 120 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
    process.stdout.write(`consumer group ${group}: lag 0\n`);
  } finally {
    await admin.disconnect();
  }
}
