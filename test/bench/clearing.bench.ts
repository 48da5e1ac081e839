/**
 * `npm run bench:clearing [-- --items N --merchants M --json]`: how fast matched items are cleared
 * into the ledger, against a consumer of the same events that only decodes and validates them, both
 * measured in this one run on this machine.
 *
 *   setup (timed, reported apart): N recon.item-matched.v1 events (default 1,000,000) over M
 *     merchants (default 10,000), WECHAT/CNY, ~95% payments (~10% of them with a coupon) and ~5%
 *     refunds of earlier payments, each with its statement line (see clearing-workload.ts), built
 *     with the contract's types, a sample checked with parseReconItemMatchedV1, published with the
 *     idempotent producer to `<prefix>recon.item-matched.v1` (3 partitions, or KAFKA_TOPIC_PARTITIONS);
 *   ingest only: a kafkajs consumer group reads the topic from the beginning, decodes and validates
 *     every message with the clearing consumer's own decoder (decodeReconItemMatchedV1), counts it
 *     and commits offsets per batch — the ceiling set by the broker, kafkajs and the contract;
 *   clear: the clearing service's ItemMatchedConsumer, constructed as its Nest module wires it
 *     (EventConsumer + ItemClearingHandler + Ledger, config from the environment pointed at this
 *     bench's database and topic prefix), reads the same topic with its own group: inbox, fee rules,
 *     split, one journal entry per item, cleared item, clearing.item-cleared.v1 into the outbox;
 *   checks (timed apart): every count and every total exact against the workload's own arithmetic,
 *     nothing parked or dead-lettered, the trial balance balanced and every runLedgerChecks check ok.
 *
 * Rates run from the first message delivered to the last one counted (ingest only) or applied
 * (clear), so the consumer group's join is in neither. Not measured: the T-day side (reconciliation
 * posts each transaction's receivable/pending entry when it ingests it; clearing debits merchant
 * pending 2202, which has no floor, so it clears without them), and the outbox relay that publishes
 * clearing.item-cleared.v1 (the rows wait in the outbox; they are counted).
 *
 * Works in its own database (cse_bench_clearing) and topic prefix, both removed at the end, even on
 * failure, unless --keep. Not part of `npm test`.
 */
import 'reflect-metadata';
import os from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import { Command } from 'commander';
import { Logger } from '@nestjs/common';
import { dlqTopicOf, parseReconItemMatchedV1, TOPIC } from '@app/contracts';
import { Ledger, LEDGER_SCHEMA, ledgerMigrations, runLedgerChecks, trialBalance } from '@app/ledger';
import { consumerLag, createKafka, createProducer, ensureTopics, topicName } from '@app/messaging';
import {
  createServiceDataSource,
  loadPlatformConfig,
  ProgressReporter,
  runServiceMigrations,
} from '@app/platform';
import type { Consumer, Message } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { ensureKafka } from '../../scripts/kafka-lib.mjs';
import { createDatabase, dropDatabase, ensurePostgres, withDatabaseName } from '../../scripts/postgres.mjs';
import {
  CLEARING_KEY_PREFIX,
  decodeItemMatchedMessage,
  ITEM_MATCHED_GROUP,
  ItemMatchedConsumer,
  CLEARING_SCHEMA,
  clearingMigrations,
} from '../../apps/clearing/src/index.js';
import {
  CpuProfiler,
  processCpuSeconds,
  RssSampler,
  StatementProfile,
  type CpuProfileSummary,
} from './bench-probes.js';
import { ClearingWorkload, fenText, type ExpectedClearing } from './clearing-workload.js';

const options = new Command('bench:clearing')
  .option('--items <n>', 'matched items to publish and clear', '1000000')
  .option('--merchants <n>', 'distinct merchants (message keys)', '10000')
  .option('--partitions <n>', 'topic partitions', process.env.KAFKA_TOPIC_PARTITIONS ?? '3')
  .option('--refund-rate <r>', 'share of items that refund an earlier payment', '0.05')
  .option('--coupon-rate <r>', 'share of payments with a coupon', '0.1')
  .option('--profile', 'time every statement of the clearing transactions (adds a little overhead)')
  .option('--cpu-profile <file>', 'write a sampled CPU profile of the clear phase and summarize it')
  .option('--keep', 'keep the database cse_bench_clearing and the topics')
  .option('--json', 'print one JSON object on stdout, nothing else')
  .parse(process.argv)
  .opts<{
    items: string;
    merchants: string;
    partitions: string;
    refundRate: string;
    couponRate: string;
    profile?: boolean;
    cpuProfile?: string;
    keep?: boolean;
    json?: boolean;
  }>();
const ITEMS = Number(options.items);
const PARTITIONS = Number(options.partitions);
if (!Number.isSafeInteger(PARTITIONS) || PARTITIONS < 1)
  throw new Error('partitions must be a positive integer');
const workload = new ClearingWorkload({
  items: ITEMS,
  merchants: Number(options.merchants),
  refundRate: Number(options.refundRate),
  couponRate: Number(options.couponRate),
});
/** Every event of the first thousand, then one in 997, parsed back through the contract. */
const isSampled = (i: number) => i < 1_000 || i % 997 === 0;
/** Bytes per produce request: under the broker's 1 MiB record-batch limit per partition. */
const SEND_BYTES = PARTITIONS * 640 * 1024;
/** A phase that stops making progress for this long has failed. */
const STALL_MS = 120_000;

Logger.overrideLogger(['error', 'warn']);
const say = (text: string) => {
  if (!options.json) process.stderr.write(`${text}\n`);
};
const seconds = (ms: number) => Number((ms / 1000).toFixed(2));
const since = (t0: number) => performance.now() - t0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const kafkaInfo = await ensureKafka({ quiet: true });
const brokers = kafkaInfo.brokers;
const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
await ensurePostgres({ databaseUrl: serverUrl, quiet: true });
const DATABASE_NAME = 'cse_bench_clearing';
const databaseUrl = withDatabaseName(serverUrl, DATABASE_NAME);
const runId = Date.now().toString(36);
const prefix = `${process.env.KAFKA_TOPIC_PREFIX ?? ''}bench_clearing_${runId}.`;
const topic = topicName(prefix, TOPIC.reconItemMatchedV1);
const itemClearedTopic = topicName(prefix, TOPIC.clearingItemClearedV1);
const ingestOnlyGroup = `${prefix}bench.ingest-only`;
const clearingGroup = `${prefix}${ITEM_MATCHED_GROUP}`;

// The clearing service's configuration as it would read it from its environment.
const config = loadPlatformConfig('clearing', {
  ...process.env,
  DATABASE_URL: databaseUrl,
  KAFKA_BROKERS: brokers,
  KAFKA_TOPIC_PREFIX: prefix,
  KAFKA_TOPIC_PARTITIONS: String(PARTITIONS),
});
const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: config.kafkaClientId });
const admin = kafka.admin();
let adminConnected = false;
let dataSource: DataSource | undefined;
const consumersToStop: (() => Promise<void>)[] = [];

const onLocalhost = /^(127\.|localhost|\[::1\])/.test(new URL(databaseUrl).host);
const postgresCpu = () => (onLocalhost ? processCpuSeconds((_, comm) => comm.startsWith('postgres')) : null);
const kafkaPid = kafkaInfo.external ? undefined : kafkaInfo.pid;
const kafkaCpu = () => (kafkaPid === undefined ? null : processCpuSeconds((pid) => pid === kafkaPid));

interface PhaseResult {
  /** First message delivered → last counted/applied. */
  elapsedMs: number;
  /** Consumer start (group join included) → last counted/applied. */
  sinceStartMs: number;
  perSecond: number;
  nodeCpuUsPerEvent: number;
  postgresCpuUsPerEvent: number | null;
  kafkaCpuUsPerEvent: number | null;
  rssAtStartMiB: number;
  peakRssMiB: number;
  /** The machine's 1-minute load average when the phase started and ended: others' work shows here. */
  loadAverage: [number, number];
}

/**
 * Polls `count` until it reaches ITEMS; `firstAt` tells when the first message was delivered.
 * Fails when nothing moves for STALL_MS.
 */
async function track(
  label: string,
  count: () => number,
  firstAt: () => number | undefined,
): Promise<{ firstAt: number; lastAt: number }> {
  const progress = new ProgressReporter({ label, total: ITEMS, unit: 'events', silent: options.json });
  let reported = 0;
  let movedAt = performance.now();
  for (;;) {
    const n = count();
    if (n !== reported) {
      progress.add(n - reported);
      reported = n;
      movedAt = performance.now();
    }
    if (n >= ITEMS) break;
    if (since(movedAt) > STALL_MS)
      throw new Error(`${label}: stuck at ${n} of ${ITEMS} events for ${STALL_MS / 1000} s`);
    await sleep(5);
  }
  const lastAt = performance.now();
  progress.finish();
  return { firstAt: firstAt() ?? lastAt, lastAt };
}

/** Runs one consumer phase with its CPU and RSS accounting. */
async function phase(
  label: string,
  start: () => Promise<{ count: () => number; firstAt: () => number | undefined }>,
): Promise<PhaseResult> {
  const load0 = os.loadavg()[0]!;
  const rss = new RssSampler();
  rss.start();
  const node0 = process.cpuUsage();
  const pg0 = postgresCpu();
  const kafka0 = kafkaCpu();
  const t0 = performance.now();
  const { count, firstAt } = await start();
  const span = await track(label, count, firstAt);
  const node = process.cpuUsage(node0);
  const pg1 = postgresCpu();
  const kafka1 = kafkaCpu();
  const mem = rss.stop();
  const elapsedMs = span.lastAt - span.firstAt;
  const perEvent = (s0: number | null, s1: number | null) =>
    s0 === null || s1 === null ? null : Number((((s1 - s0) * 1e6) / ITEMS).toFixed(1));
  return {
    elapsedMs,
    sinceStartMs: span.lastAt - t0,
    perSecond: (ITEMS * 1000) / elapsedMs,
    nodeCpuUsPerEvent: Number(((node.user + node.system) / ITEMS).toFixed(1)),
    postgresCpuUsPerEvent: perEvent(pg0, pg1),
    kafkaCpuUsPerEvent: perEvent(kafka0, kafka1),
    rssAtStartMiB: mem.startMiB,
    peakRssMiB: mem.peakMiB,
    loadAverage: [Number(load0.toFixed(2)), Number(os.loadavg()[0]!.toFixed(2))],
  };
}

const failures: string[] = [];
/** Figures in fen print as amounts. */
const shown = (value: unknown) =>
  JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? fenText(v) : v));
const expectEqual = (what: string, actual: unknown, expected: unknown) => {
  if (!isDeepStrictEqual(actual, expected))
    failures.push(`${what}: ${shown(actual)}, expected ${shown(expected)}`);
};

/** "-123.45" → -12345n: a sum Postgres printed, in fen. */
function fenOf(text: string | null): bigint {
  if (text === null) return 0n;
  const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(text);
  if (!m) throw new Error(`not an amount in fen: ${text}`);
  const fen = BigInt(m[2]!) * 100n + BigInt((m[3] ?? '0').padEnd(2, '0'));
  return m[1] === '-' ? -fen : fen;
}

try {
  await dropDatabase(databaseUrl);
  await createDatabase(databaseUrl);
  // As the clearing service boots: its DataSource migrated, the ledger schema brought up to date.
  const ledgerDs = createServiceDataSource({
    databaseUrl,
    schema: LEDGER_SCHEMA,
    migrations: ledgerMigrations,
    applicationName: 'cse-bench',
    poolMax: 2,
  });
  await ledgerDs.initialize();
  await runServiceMigrations(ledgerDs, LEDGER_SCHEMA);
  await ledgerDs.destroy();
  dataSource = createServiceDataSource({
    databaseUrl: config.databaseUrl,
    schema: CLEARING_SCHEMA,
    migrations: clearingMigrations,
    poolMax: config.dbPoolMax,
    applicationName: 'cse-clearing',
  });
  await dataSource.initialize();
  await runServiceMigrations(dataSource, CLEARING_SCHEMA);
  const settings = await dataSource.query<{ name: string; setting: string }[]>(
    `SELECT name, current_setting(name) AS setting FROM pg_settings
     WHERE name IN ('server_version', 'shared_buffers', 'work_mem', 'fsync', 'synchronous_commit', 'max_wal_size')`,
  );

  await admin.connect();
  adminConnected = true;
  await ensureTopics(admin, [topic, dlqTopicOf(topic)], PARTITIONS);

  // ---------------------------------------------------------------------------------------------
  // Setup: the matched items of the day, published as reconciliation's relay would.
  say(
    `setup: ${ITEMS.toLocaleString('en-US')} matched items over ${workload.options.merchants.toLocaleString('en-US')} ` +
      `merchants to ${topic} (${PARTITIONS} partitions)`,
  );
  const setupT0 = performance.now();
  const producer = createProducer(kafka);
  await producer.connect();
  const publishing = new ProgressReporter({
    label: 'publish',
    total: ITEMS,
    unit: 'events',
    silent: options.json,
  });
  let sampled = 0;
  let bytes = 0;
  let pending: Message[] = [];
  let pendingBytes = 0;
  let index = 0;
  let buildMs = 0;
  let sendMs = 0;
  let t = performance.now();
  for (const { key, event } of workload.events()) {
    if (isSampled(index)) {
      const parsed = parseReconItemMatchedV1(event);
      if (!parsed.ok) throw new Error(`generated event ${index} is invalid: ${parsed.reason}`);
      if (!isDeepStrictEqual(parsed.value, event))
        throw new Error(
          `generated event ${index} does not survive parsing unchanged: ${JSON.stringify(event)}`,
        );
      sampled += 1;
    }
    const value = JSON.stringify(event);
    pending.push({ key, value });
    pendingBytes += value.length + key.length;
    index += 1;
    if (pendingBytes >= SEND_BYTES || index === ITEMS) {
      buildMs += since(t);
      t = performance.now();
      await producer.send({ topic, messages: pending, acks: -1 });
      sendMs += since(t);
      t = performance.now();
      publishing.add(pending.length);
      bytes += pendingBytes;
      pending = [];
      pendingBytes = 0;
    }
  }
  await producer.disconnect();
  publishing.finish();
  const setupMs = since(setupT0);
  const expected: ExpectedClearing = workload.expected;
  if (expected.items !== ITEMS) throw new Error(`generated ${expected.items} items, expected ${ITEMS}`);
  say(
    `setup: ${seconds(setupMs)} s (build + validate ${seconds(buildMs)} s, produce ${seconds(sendMs)} s), ` +
      `${expected.payments.toLocaleString('en-US')} payments (${expected.paymentsWithCoupon.toLocaleString('en-US')} with a coupon), ` +
      `${expected.refunds.toLocaleString('en-US')} refunds (${expected.fullRefunds.toLocaleString('en-US')} full), ` +
      `${sampled.toLocaleString('en-US')} events checked with parseReconItemMatchedV1, ${Math.round(bytes / ITEMS)} bytes/event`,
  );

  // ---------------------------------------------------------------------------------------------
  // Ingest only: the same events decoded and validated, nothing else.
  let valid = 0;
  let invalid = 0;
  let firstInvalid: string | undefined;
  const ingestOnly = await phase('ingest only', async () => {
    let firstAt: number | undefined;
    // The same fetch settings as EventConsumer, so both phases ask the broker for the same batches.
    const consumer: Consumer = kafka.consumer({
      groupId: ingestOnlyGroup,
      sessionTimeout: config.kafkaSessionTimeoutMs,
      heartbeatInterval: 3_000,
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxBytes: 16 * 1024 * 1024,
      maxWaitTimeInMs: 250,
    });
    await consumer.connect();
    consumersToStop.push(() => consumer.disconnect());
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 3,
      eachBatch: async ({
        batch,
        resolveOffset,
        commitOffsetsIfNecessary,
        uncommittedOffsets,
        heartbeat,
      }) => {
        firstAt ??= performance.now();
        for (const message of batch.messages) {
          const decoded = decodeItemMatchedMessage(message);
          if (decoded.ok) valid += 1;
          else {
            invalid += 1;
            firstInvalid ??= decoded.reason;
          }
        }
        const last = batch.messages[batch.messages.length - 1];
        if (!last) return;
        resolveOffset(last.offset);
        await commitOffsetsIfNecessary(uncommittedOffsets());
        await heartbeat();
      },
    });
    return { count: () => valid + invalid, firstAt: () => firstAt };
  });
  await consumersToStop.pop()!();
  if (invalid > 0) failures.push(`ingest only: ${invalid} invalid events, the first: ${firstInvalid}`);

  // ---------------------------------------------------------------------------------------------
  // Clear: the clearing service's consumer.
  const [wal0] = await dataSource.query<{ lsn: string; checkpoints: string }[]>(
    `SELECT pg_current_wal_lsn()::text AS lsn, (checkpoints_timed + checkpoints_req)::text AS checkpoints FROM pg_stat_bgwriter`,
  );
  await dataSource.query('CHECKPOINT');
  const statements = new StatementProfile();
  const cpuProfiler = options.cpuProfile ? new CpuProfiler() : undefined;
  let itemMatched: ItemMatchedConsumer | undefined;
  const clear = await phase('clear', async () => {
    let firstAt: number | undefined;
    itemMatched = new ItemMatchedConsumer(
      kafka,
      options.profile ? statements.wrapDataSource(dataSource!) : dataSource!,
      config,
      new Ledger(),
    );
    const consumer = itemMatched;
    consumersToStop.push(() => consumer.beforeApplicationShutdown());
    if (cpuProfiler) await cpuProfiler.start();
    await consumer.onApplicationBootstrap();
    const stats = consumer.consumer.stats;
    return {
      // Parked refunds count as applied; rejected ones as dead-lettered: either way the event is done.
      count: () => {
        if (firstAt === undefined && stats.decodeMs > 0) firstAt = performance.now();
        return stats.applied + stats.deadLettered + stats.duplicates;
      },
      firstAt: () => firstAt,
    };
  });
  const cpuProfile: CpuProfileSummary | undefined = cpuProfiler
    ? await cpuProfiler.stop(options.cpuProfile!)
    : undefined;
  const stats = { ...itemMatched!.consumer.stats };
  // Offsets are committed right after each DB commit: lag 0 means every transaction is in.
  let lag = -1;
  for (let waited = 0; waited < 60_000; waited += 100) {
    lag = await consumerLag(admin, clearingGroup, topic);
    if (lag === 0) break;
    await sleep(100);
  }
  await consumersToStop.pop()!();
  if (lag !== 0) failures.push(`clearing consumer group lag ${lag} after the last event was applied`);
  const [wal1] = await dataSource.query<{ bytes: string; checkpoints: string }[]>(
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::text AS bytes,
            (checkpoints_timed + checkpoints_req - $2)::text AS checkpoints FROM pg_stat_bgwriter`,
    [wal0!.lsn, wal0!.checkpoints],
  );

  // ---------------------------------------------------------------------------------------------
  // Checks: every count and total exact, and the ledger sound.
  say('checks …');
  const checksT0 = performance.now();
  const [counts] = await dataSource.query<Record<string, number>[]>(
    `SELECT (SELECT count(*)::int FROM clearing.inbox) AS inbox,
            (SELECT count(*)::int FROM clearing.refund_awaiting_payment) AS parked,
            (SELECT count(*)::int FROM clearing.outbox WHERE topic = $1) AS "itemClearedOutbox",
            (SELECT count(*)::int FROM clearing.outbox WHERE topic = $2) AS "deadLetters",
            (SELECT count(*)::int FROM ledger.journal_entry) AS "journalEntries",
            (SELECT count(*)::int FROM ledger.journal_entry WHERE idempotency_key LIKE $3) AS "clearingEntries",
            (SELECT count(*)::int FROM ledger.posting) AS postings,
            (SELECT count(*)::int FROM ledger.account) AS accounts`,
    [itemClearedTopic, dlqTopicOf(topic), `${CLEARING_KEY_PREFIX}%`],
  );
  const sums = await dataSource.query<
    {
      type: string;
      n: number;
      amount: string;
      gross: string;
      pending: string;
      fee: string;
      channel_cost: string;
      net: string;
      coupon_merchant_funded: string | null;
      coupon_platform_funded: string | null;
    }[]
  >(
    `SELECT type, count(*)::int AS n, sum(amount)::text AS amount, sum(gross)::text AS gross,
            sum(pending)::text AS pending, sum(fee)::text AS fee, sum(channel_cost)::text AS channel_cost,
            sum(net)::text AS net, sum(coupon_merchant_funded)::text AS coupon_merchant_funded,
            sum(coupon_platform_funded)::text AS coupon_platform_funded
     FROM clearing.cleared_item GROUP BY type`,
  );
  const itemCountsMs = since(checksT0);
  const paymentSums = sums.find((s) => s.type === 'PAYMENT');
  const refundSums = sums.find((s) => s.type === 'REFUND');
  const x = expected;
  expectEqual('cleared payments', paymentSums?.n ?? 0, x.payments);
  expectEqual('cleared refunds', refundSums?.n ?? 0, x.refunds);
  expectEqual(
    'cleared payment totals (fen)',
    {
      amount: fenOf(paymentSums?.amount ?? null),
      gross: fenOf(paymentSums?.gross ?? null),
      pending: fenOf(paymentSums?.pending ?? null),
      fee: fenOf(paymentSums?.fee ?? null),
      channelCost: fenOf(paymentSums?.channel_cost ?? null),
      net: fenOf(paymentSums?.net ?? null),
      couponMerchantFunded: fenOf(paymentSums?.coupon_merchant_funded ?? null),
      couponPlatformFunded: fenOf(paymentSums?.coupon_platform_funded ?? null),
    },
    {
      amount: x.amount,
      gross: x.orderValue,
      pending: x.pending,
      fee: x.fee,
      channelCost: x.channelCost,
      net: x.net,
      couponMerchantFunded: x.couponMerchantFunded,
      couponPlatformFunded: x.couponPlatformFunded,
    },
  );
  expectEqual(
    'cleared refund totals (fen)',
    {
      amount: fenOf(refundSums?.amount ?? null),
      gross: fenOf(refundSums?.gross ?? null),
      pending: fenOf(refundSums?.pending ?? null),
      fee: fenOf(refundSums?.fee ?? null),
      channelCost: fenOf(refundSums?.channel_cost ?? null),
      net: fenOf(refundSums?.net ?? null),
    },
    {
      amount: x.refunded,
      gross: -x.refunded,
      pending: -x.refunded,
      fee: -x.feeReturned,
      channelCost: -x.channelCostReturned,
      net: -x.merchantDebit,
    },
  );
  expectEqual('counts', counts, {
    // One inbox row per event; none parked (every refund follows its payment in its partition),
    // none dead-lettered (every refund is covered by its merchant's settleable).
    inbox: ITEMS,
    parked: 0,
    itemClearedOutbox: ITEMS,
    deadLetters: 0,
    journalEntries: ITEMS,
    clearingEntries: ITEMS,
    postings: x.postings,
    // Per merchant 2202 + 2203; 6001; 6401:WECHAT and 1122:WECHAT.
    accounts: 2 * Math.min(workload.options.merchants, ITEMS) + 3,
  });
  expectEqual(
    'consumer stats',
    { applied: stats.applied, duplicates: stats.duplicates, deadLettered: stats.deadLettered },
    { applied: ITEMS, duplicates: 0, deadLettered: 0 },
  );

  let t0 = performance.now();
  const balance = await trialBalance(dataSource);
  const trialBalanceMs = since(t0);
  if (!balance.balanced) failures.push(`trial balance not balanced: ${JSON.stringify(balance.totals)}`);
  const subject = (code: string) => {
    const row = balance.rows.find((r) => r.code === code && r.currency === 'CNY');
    return { debit: fenOf(row?.debitTotal ?? null), credit: fenOf(row?.creditTotal ?? null) };
  };
  expectEqual(
    'ledger by subject (fen)',
    {
      '2202 merchant pending': subject('2202'),
      '2203 merchant settleable': subject('2203'),
      '6001 fee income': subject('6001'),
      '6401 channel fee expense': subject('6401'),
      '1122 channel receivable': subject('1122'),
    },
    {
      '2202 merchant pending': { debit: x.pending, credit: x.refunded },
      '2203 merchant settleable': { debit: x.merchantDebit, credit: x.net },
      '6001 fee income': { debit: x.feeReturned, credit: x.fee },
      '6401 channel fee expense': { debit: x.channelCost, credit: x.channelCostReturned },
      '1122 channel receivable': { debit: x.channelCostReturned, credit: x.channelCost },
    },
  );
  t0 = performance.now();
  const ledgerChecks = await dataSource.transaction('REPEATABLE READ', (tx) => runLedgerChecks(tx));
  const ledgerChecksMs = since(t0);
  for (const c of ledgerChecks.checks.filter((c) => !c.ok))
    failures.push(`ledger check ${c.name}: ${c.detail}`);
  const checksMs = since(checksT0);

  const sizes = await dataSource.query<{ name: string; size: string }[]>(
    `SELECT n.nspname || '.' || c.relname AS name, pg_size_pretty(pg_total_relation_size(c.oid)) AS size
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND n.nspname IN ('clearing', 'ledger') AND pg_total_relation_size(c.oid) > 1048576
     ORDER BY pg_total_relation_size(c.oid) DESC`,
  );

  // ---------------------------------------------------------------------------------------------
  const ratio = clear.perSecond / ingestOnly.perSecond;
  const summary = {
    items: ITEMS,
    merchants: workload.options.merchants,
    partitions: PARTITIONS,
    machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.cpus()[0]?.model ?? 'unknown cpu'}, Node ${process.versions.node}`,
    postgres: Object.fromEntries(settings.map((s) => [s.name, s.setting])),
    workload: {
      payments: x.payments,
      paymentsWithCoupon: x.paymentsWithCoupon,
      refunds: x.refunds,
      fullRefunds: x.fullRefunds,
      postings: x.postings,
      bytesPerEvent: Math.round(bytes / ITEMS),
      sampleChecked: sampled,
      gross: fenText(x.orderValue - x.refunded),
      fee: fenText(x.fee - x.feeReturned),
      net: fenText(x.net - x.merchantDebit),
    },
    setup: {
      seconds: seconds(setupMs),
      buildAndValidateSeconds: seconds(buildMs),
      produceSeconds: seconds(sendMs),
      publishPerSecond: Math.round((ITEMS * 1000) / setupMs),
    },
    ingestOnly: {
      seconds: seconds(ingestOnly.elapsedMs),
      secondsWithGroupJoin: seconds(ingestOnly.sinceStartMs),
      eventsPerSecond: Math.round(ingestOnly.perSecond),
      nodeCpuUsPerEvent: ingestOnly.nodeCpuUsPerEvent,
      postgresCpuUsPerEvent: ingestOnly.postgresCpuUsPerEvent,
      kafkaCpuUsPerEvent: ingestOnly.kafkaCpuUsPerEvent,
      rssAtStartMiB: ingestOnly.rssAtStartMiB,
      peakRssMiB: ingestOnly.peakRssMiB,
      loadAverage: ingestOnly.loadAverage,
    },
    clearing: {
      seconds: seconds(clear.elapsedMs),
      secondsWithGroupJoin: seconds(clear.sinceStartMs),
      eventsPerSecond: Math.round(clear.perSecond),
      nodeCpuUsPerEvent: clear.nodeCpuUsPerEvent,
      postgresCpuUsPerEvent: clear.postgresCpuUsPerEvent,
      kafkaCpuUsPerEvent: clear.kafkaCpuUsPerEvent,
      rssAtStartMiB: clear.rssAtStartMiB,
      peakRssMiB: clear.peakRssMiB,
      loadAverage: clear.loadAverage,
      walBytesPerEvent: Math.round(Number(wal1!.bytes) / ITEMS),
      checkpoints: Number(wal1!.checkpoints),
      // Summed over the concurrently consumed partitions.
      timeSplitMs: {
        decode: Math.round(stats.decodeMs),
        transactions: Math.round(stats.transactionMs),
        offsetCommits: Math.round(stats.offsetCommitMs),
      },
      ...(options.profile
        ? {
            statements: statements
              .rows(stats.transactionMs)
              .map((r) => ({ ...r, share: Number(r.share.toFixed(4)) })),
          }
        : {}),
      ...(cpuProfile ? { cpuProfile } : {}),
    },
    ratio: Number(ratio.toFixed(3)),
    checks: {
      seconds: seconds(checksMs),
      itemTotalsSeconds: seconds(itemCountsMs),
      trialBalanceSeconds: seconds(trialBalanceMs),
      ledgerChecksSeconds: seconds(ledgerChecksMs),
      counts,
      trialBalanced: balance.balanced,
      ledgerChecksOk: ledgerChecks.ok,
    },
    processMaxRssMiB: Math.round((process.resourceUsage().maxRSS * 1024) / 2 ** 20),
    notMeasured: [
      'the T-day side: reconciliation posts each transaction to 1122/2202 when it ingests it; clearing debits merchant pending 2202, which has no floor, so it clears without those entries',
      'the outbox relay publishing clearing.item-cleared.v1: its rows are written and counted, not published',
    ],
    tableSizes: Object.fromEntries(sizes.map((s) => [s.name, s.size])),
    failures,
  };

  if (options.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    const n = (v: number) => v.toLocaleString('en-US');
    const c = summary.clearing;
    const a = summary.ingestOnly;
    const us = (v: number | null) => (v === null ? 'n/a' : `${v}`);
    const lines = [
      `clearing of ${n(ITEMS)} matched items (${n(x.payments)} payments, ${n(x.refunds)} refunds) over ` +
        `${n(summary.merchants)} merchants, ${PARTITIONS} partitions; ${summary.machine}`,
      `setup        generate + validate + publish ${summary.setup.seconds} s (${n(summary.setup.publishPerSecond)} events/s, ` +
        `${summary.workload.bytesPerEvent} bytes/event)`,
      `ingest only  ${n(a.eventsPerSecond)} events/s (${a.seconds} s; ${a.secondsWithGroupJoin} s with the group join), ` +
        `CPU µs/event Node ${a.nodeCpuUsPerEvent} / Kafka ${us(a.kafkaCpuUsPerEvent)}, peak RSS ${n(a.peakRssMiB)} MiB`,
      `clear        ${n(c.eventsPerSecond)} events/s (${c.seconds} s; ${c.secondsWithGroupJoin} s with the group join), ` +
        `CPU µs/event Node ${c.nodeCpuUsPerEvent} / Postgres ${us(c.postgresCpuUsPerEvent)} / Kafka ${us(c.kafkaCpuUsPerEvent)}, ` +
        `peak RSS ${n(c.peakRssMiB)} MiB (${n(c.rssAtStartMiB)} at start)`,
      `             time split (summed over partitions): decode ${n(c.timeSplitMs.decode)} ms, DB transactions ` +
        `${n(c.timeSplitMs.transactions)} ms, offset commits ${n(c.timeSplitMs.offsetCommits)} ms; ` +
        `WAL ${n(c.walBytesPerEvent)} bytes/event, ${c.checkpoints} checkpoints; ` +
        `load average ${c.loadAverage[0]} → ${c.loadAverage[1]}`,
      `ratio        clear ÷ ingest only ${summary.ratio} (${(ratio * 100).toFixed(1)}%)`,
      `checks       ${summary.checks.seconds} s: ${n(counts!.clearingEntries!)} clearing entries, ${n(counts!.postings!)} postings, ` +
        `${n(counts!.parked!)} parked, ${n(counts!.deadLetters!)} dead-lettered; trial balance ` +
        `${balance.balanced ? 'balanced' : 'NOT balanced'} (${summary.checks.trialBalanceSeconds} s), runLedgerChecks ` +
        `${ledgerChecks.ok ? 'ok' : 'FAILED'} (${summary.checks.ledgerChecksSeconds} s)`,
      `not measured ${summary.notMeasured.join('; ')}`,
      `tables       ${sizes.map((s) => `${s.name} ${s.size}`).join(', ')}`,
    ];
    if (summary.clearing.statements) {
      lines.push(
        'statements of the clearing transactions (summed over partitions; % of time in transactions):',
      );
      for (const r of summary.clearing.statements)
        lines.push(
          `  ${(100 * r.share).toFixed(1).padStart(5)}%  ${String(r.ms).padStart(8)} ms  ${String(r.calls).padStart(6)}×  ${r.label}`,
        );
    }
    if (cpuProfile) {
      lines.push(
        `CPU profile of the clear phase (${cpuProfile.file}, ${n(cpuProfile.sampledMs)} ms sampled), self time:`,
      );
      lines.push(
        `  by area: ${cpuProfile.byArea
          .slice(0, 14)
          .map((r) => `${r.area} ${(100 * r.share).toFixed(1)}%`)
          .join(', ')}`,
      );
      for (const r of cpuProfile.byFunction)
        lines.push(`  ${(100 * r.share).toFixed(1).padStart(5)}%  ${r.fn}`);
    }
    console.log(lines.join('\n'));
  }
  if (failures.length > 0) {
    console.error(`FAIL: ${failures.length} check(s) failed:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  }
} catch (error) {
  console.error('bench:clearing failed:', error);
  process.exitCode = 1;
} finally {
  for (const stop of consumersToStop.reverse()) await stop().catch(() => undefined);
  if (dataSource?.isInitialized) await dataSource.destroy().catch(() => undefined);
  if (options.keep) {
    say(`kept: database ${DATABASE_NAME}, topics ${prefix}*`);
  } else {
    if (adminConnected) {
      await admin.deleteTopics({ topics: [topic, dlqTopicOf(topic)] }).catch(() => undefined);
      await admin.deleteGroups([ingestOnlyGroup, clearingGroup]).catch(() => undefined);
    }
    await dropDatabase(databaseUrl).catch((error: unknown) =>
      console.error(`could not drop the database ${DATABASE_NAME}:`, error),
    );
  }
  if (adminConnected) await admin.disconnect().catch(() => undefined);
}
process.exit(process.exitCode ?? 0);
