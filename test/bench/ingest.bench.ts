/**
 * `npm run bench:ingest [-- --events N]`: how fast payments.transaction.v1 reaches Postgres,
 * compared with a consumer that does nothing, both measured in this one run on this machine.
 *
 *   1. publish N events (1,000,000 by default) over 10,000 merchants to a fresh topic;
 *   2. a no-op kafkajs consumer (eachBatch, offsets committed per batch) reads them all;
 *   3. a bare store consumer (the floor of any design that persists each event): per kafkajs batch,
 *      JSON.parse every value and COPY its fields into a table with no key, index, constraint or
 *      trigger, commit, then commit offsets; no validation, no inbox, no ledger;
 *   4. the real ingest path (decode + validate + inbox + internal_transaction + T-day ledger entry,
 *      one DB transaction per chunk, offsets committed after the DB commit) reads them all.
 *
 * Prints events/s for each and the ratios to the no-op consumer. Not part of `npm test`.
 */
import 'reflect-metadata';
import os from 'node:os';
import { Command } from 'commander';
import { Logger } from '@nestjs/common';
import type { KafkaMessage } from 'kafkajs';
import { TOPIC } from '@app/contracts';
import { Ledger, LEDGER_SCHEMA, ledgerMigrations } from '@app/ledger';
import { createKafka, createProducer, ensureTopics, EventConsumer } from '@app/messaging';
import {
  copyRows,
  createServiceDataSource,
  formatDuration,
  ProgressReporter,
  runServiceMigrations,
} from '@app/platform';
import { ensureKafka } from '../../scripts/kafka-lib.mjs';
import { createDatabase, dropDatabase, ensurePostgres, withDatabaseName } from '../../scripts/postgres.mjs';
import {
  ChannelCalendarCache,
  InternalTransactionRepository,
  TransactionIngestHandler,
  decodeTransactionMessage,
  RECONCILIATION_SCHEMA,
  reconciliationMigrations,
} from '../../apps/reconciliation/src/index.js';

const options = new Command('bench:ingest')
  .option('--events <n>', 'events to publish and consume', '1000000')
  .option('--merchants <n>', 'distinct merchants', '10000')
  .option('--partitions <n>', 'topic partitions', '3')
  .parse(process.argv)
  .opts<{ events: string; merchants: string; partitions: string }>();
const EVENTS = Number.parseInt(options.events, 10);
const MERCHANTS = Number.parseInt(options.merchants, 10);
const PARTITIONS = Number.parseInt(options.partitions, 10);

Logger.overrideLogger(['error', 'warn']);

const { brokers } = await ensureKafka({ quiet: true });
const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
await ensurePostgres({ databaseUrl: serverUrl, quiet: true });
const databaseUrl = withDatabaseName(serverUrl, 'cse_bench_ingest');
await dropDatabase(databaseUrl);
await createDatabase(databaseUrl);

const runId = Date.now().toString(36);
const topic = `bench_${runId}.${TOPIC.paymentsTransactionV1}`;
const kafka = createKafka({ brokers: brokers.split(','), clientId: 'cse-bench' });
const admin = kafka.admin();
await admin.connect();
await ensureTopics(admin, [topic, `${topic}.dlq`], PARTITIONS);

// 1. Publish.
const producer = createProducer(kafka);
await producer.connect();
const publishing = new ProgressReporter({ label: 'publish', total: EVENTS, unit: 'events' });
const BATCH = 5_000;
for (let start = 0; start < EVENTS; start += BATCH) {
  const messages = [];
  for (let i = start; i < Math.min(start + BATCH, EVENTS); i += 1) {
    const merchantId = `M${String(i % MERCHANTS).padStart(5, '0')}`;
    messages.push({
      key: merchantId,
      value: JSON.stringify({
        eventId: `bench-${runId}-${i}`,
        type: 'PAYMENT_SUCCEEDED',
        occurredAt: new Date(Date.UTC(2026, 10, 21, 16, 0, 0) + (i % 86_400_000)).toISOString(),
        merchantId,
        channel: 'WECHAT',
        orderNo: `B${runId}${String(i).padStart(10, '0')}`,
        amount: `${1 + (i % 9_973)}.${String(i % 100).padStart(2, '0')}`,
        currency: 'CNY',
        paymentMethod: 'WECHAT_JSAPI',
      }),
    });
  }
  await producer.send({ topic, messages, acks: -1 });
  publishing.add(messages.length);
}
await producer.disconnect();
const published = publishing.finish();

// 2. No-op consumer: the ceiling set by the broker and kafkajs alone.
const noop = await timeConsumer('no-op consumer', (onCount) =>
  plainConsumer('noop', async () => undefined, onCount),
);

const dataSource = createServiceDataSource({
  databaseUrl,
  schema: RECONCILIATION_SCHEMA,
  migrations: reconciliationMigrations,
  applicationName: 'cse-bench',
  poolMax: 10,
});
await dataSource.initialize();
await runServiceMigrations(dataSource, RECONCILIATION_SCHEMA);
// Ingest posts T-day ledger entries: the ledger schema must be there too.
const ledgerDataSource = createServiceDataSource({
  databaseUrl,
  schema: LEDGER_SCHEMA,
  migrations: ledgerMigrations,
  applicationName: 'cse-bench',
  poolMax: 2,
});
await ledgerDataSource.initialize();
await runServiceMigrations(ledgerDataSource, LEDGER_SCHEMA);
await ledgerDataSource.destroy();

// 3. Bare store: the cheapest way to get each event's fields durably into Postgres.
await dataSource.query(
  `CREATE SCHEMA IF NOT EXISTS bench;
   CREATE TABLE bench.bare_event (event_id text, type text, occurred_at text, merchant_id text,
     channel text, order_no text, amount text, currency text, payment_method text)`,
);
const BARE_COLUMNS = [
  'event_id',
  'type',
  'occurred_at',
  'merchant_id',
  'channel',
  'order_no',
  'amount',
  'currency',
  'payment_method',
] as const;
const bare = await timeConsumer('bare store', (onCount) =>
  plainConsumer(
    'bare',
    async (messages) => {
      const rows = messages.map((message) => {
        const e = JSON.parse(message.value?.toString('utf8') ?? 'null') as Record<string, string>;
        return BARE_COLUMNS.map((column) => e[camel(column)] ?? null);
      });
      await dataSource.transaction((tx) => copyRows(tx, 'bench.bare_event', BARE_COLUMNS, rows));
    },
    onCount,
  ),
);
const [bareStored] = await dataSource.query<{ count: number }[]>(
  'SELECT count(*)::int AS count FROM bench.bare_event',
);
await dataSource.query('DROP SCHEMA bench CASCADE');
// 4. The real ingest path, as the reconciliation service runs it.
const real = await timeConsumer('real ingest', async (onCount) => {
  const consumer = new EventConsumer(kafka, dataSource, {
    name: 'transaction-ingest',
    groupId: `bench_${runId}.ingest`,
    topic,
    schema: RECONCILIATION_SCHEMA,
    decode: decodeTransactionMessage,
    handler: new TransactionIngestHandler(
      new ChannelCalendarCache(dataSource),
      new InternalTransactionRepository(),
      new Ledger(),
    ),
    partitionsConsumedConcurrently: PARTITIONS,
  });
  let reported = 0;
  const timer = setInterval(() => {
    onCount(consumer.stats.applied - reported);
    reported = consumer.stats.applied;
  }, 20);
  await consumer.start();
  return async () => {
    clearInterval(timer);
    await consumer.stop();
    const { decodeMs, transactionMs, offsetCommitMs } = consumer.stats;
    console.log(
      `real ingest time split (summed over concurrent partitions): decode ${Math.round(decodeMs)} ms, ` +
        `DB transactions ${Math.round(transactionMs)} ms, offset commits ${Math.round(offsetCommitMs)} ms`,
    );
  };
});
const [stored] = await dataSource.query<{ count: number; entries: number }[]>(
  `SELECT (SELECT count(*)::int FROM reconciliation.internal_transaction) AS count,
          (SELECT count(*)::int FROM ledger.journal_entry WHERE idempotency_key LIKE 'recon.t-day:%') AS entries`,
);
await dataSource.destroy();
await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
await admin.disconnect();

const ratio = real.perSecond / noop.perSecond;
const summary = {
  events: EVENTS,
  partitions: PARTITIONS,
  machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.cpus()[0]?.model ?? 'unknown cpu'}`,
  publishPerSecond: Math.round(published.perSecond),
  noopConsumerPerSecond: Math.round(noop.perSecond),
  bareStorePerSecond: Math.round(bare.perSecond),
  realIngestPerSecond: Math.round(real.perSecond),
  bareStoreRatio: Number((bare.perSecond / noop.perSecond).toFixed(3)),
  ratio: Number(ratio.toFixed(3)),
  storedRows: stored?.count ?? 0,
  tDayEntries: stored?.entries ?? 0,
};
console.log(JSON.stringify(summary, null, 2));
console.log(
  `no-op consumer ${summary.noopConsumerPerSecond.toLocaleString('en-US')} events/s (${formatDuration(noop.elapsedMs)}), ` +
    `bare store ${summary.bareStorePerSecond.toLocaleString('en-US')} events/s (${formatDuration(bare.elapsedMs)}, ` +
    `${(summary.bareStoreRatio * 100).toFixed(1)}%), ` +
    `real ingest ${summary.realIngestPerSecond.toLocaleString('en-US')} events/s (${formatDuration(real.elapsedMs)}), ` +
    `ratio ${(ratio * 100).toFixed(1)}% (target ≥ 50%)`,
);
if ((bareStored?.count ?? 0) !== EVENTS) {
  console.error(`bare store kept ${bareStored?.count ?? 0} rows, expected ${EVENTS}`);
  process.exit(1);
}
if (summary.storedRows !== EVENTS) {
  console.error(`stored ${summary.storedRows} rows, expected ${EVENTS}`);
  process.exit(1);
}
process.exit(0);

/**
 * A kafkajs consumer of the bench topic from the beginning: `handle` each batch, then resolve and
 * commit its offsets (after `handle`, as the real path commits after the DB transaction).
 */
async function plainConsumer(
  group: string,
  handle: (messages: KafkaMessage[]) => Promise<void>,
  onCount: (n: number) => void,
): Promise<() => Promise<void>> {
  const consumer = kafka.consumer({
    groupId: `bench_${runId}.${group}`,
    maxBytesPerPartition: 4 * 1024 * 1024,
    maxBytes: 16 * 1024 * 1024,
    maxWaitTimeInMs: 250,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: PARTITIONS,
    eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, uncommittedOffsets, heartbeat }) => {
      const last = batch.messages[batch.messages.length - 1];
      if (!last) return;
      await handle(batch.messages);
      resolveOffset(last.offset);
      await commitOffsetsIfNecessary(uncommittedOffsets());
      await heartbeat();
      onCount(batch.messages.length);
    },
  });
  return () => consumer.disconnect();
}

function camel(column: string): string {
  return column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

async function timeConsumer(
  label: string,
  start: (onCount: (n: number) => void) => Promise<() => Promise<void>>,
): Promise<{ perSecond: number; elapsedMs: number }> {
  const progress = new ProgressReporter({ label, total: EVENTS, unit: 'events' });
  let seen = 0;
  let finished: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finished = resolve));
  const stop = await start((n) => {
    seen += n;
    progress.add(n);
    if (seen >= EVENTS) finished();
  });
  await done;
  const result = progress.finish();
  await stop();
  return { perSecond: result.perSecond, elapsedMs: result.elapsedMs };
}
