import { readFile } from 'node:fs/promises';
import { Kafka, logLevel, type Message } from 'kafkajs';
import { createProducer } from '@app/messaging';
import { createServiceDataSource, loadPlatformConfig, runServiceMigrations } from '@app/platform';
import { SERVICE_SCHEMAS } from '../../apps/cli/src/index.js';
import type { DataSource } from 'typeorm';
import { createDatabase, withDatabaseName } from '../../scripts/postgres.mjs';

export { SAMPLES_DIR } from './samples.js';

export function testKafka(): Kafka {
  return new Kafka({
    clientId: 'cse-test',
    brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    logLevel: logLevel.NOTHING,
  });
}

/**
 * Gives the calling test file a database of its own (created empty) and points DATABASE_URL at it,
 * for this process and for any service process the file spawns.
 */
export async function useIsolatedDatabase(label: string): Promise<string> {
  const serverUrl = process.env.CSE_TEST_SERVER_URL;
  const prefix = process.env.CSE_TEST_DATABASE_PREFIX;
  if (!serverUrl || !prefix)
    throw new Error('integration tests need the global set-up (run them through jest)');
  const databaseUrl = withDatabaseName(serverUrl, `${prefix}_${label}`);
  await createDatabase(databaseUrl);
  process.env.DATABASE_URL = databaseUrl;
  return databaseUrl;
}

/** Applies every service's migrations to this run's database (idempotent across test files). */
export async function migrateAll(): Promise<void> {
  const config = loadPlatformConfig('test');
  for (const { schema, migrations } of SERVICE_SCHEMAS) {
    const ds = createServiceDataSource({
      databaseUrl: config.databaseUrl,
      schema,
      migrations,
      applicationName: 'cse-test',
      poolMax: 2,
    });
    await ds.initialize();
    try {
      await runServiceMigrations(ds, schema);
    } finally {
      await ds.destroy();
    }
  }
}

export async function openDataSource(schema: string): Promise<DataSource> {
  const entry = SERVICE_SCHEMAS.find((s) => s.schema === schema);
  if (!entry) throw new Error(`unknown schema ${schema}`);
  const config = loadPlatformConfig('test');
  const ds = createServiceDataSource({
    databaseUrl: config.databaseUrl,
    schema,
    migrations: entry.migrations,
    applicationName: 'cse-test',
    poolMax: 2,
  });
  await ds.initialize();
  return ds;
}

export async function readLines(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8')).split(/\r?\n/).filter((l) => l.trim() !== '');
}

export async function publish(
  kafka: Kafka,
  topic: string,
  messages: Message[],
  batchSize = 5_000,
): Promise<void> {
  const producer = createProducer(kafka);
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += batchSize) {
      await producer.send({ topic, messages: messages.slice(i, i + batchSize), acks: -1 });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Polls until `probe` returns a value `done` accepts; fails with the last value seen. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 60_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!done(last)) {
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`,
      );
    await new Promise((r) => setTimeout(r, intervalMs));
    last = await probe();
  }
  return last;
}

/** Reads every message currently on a topic (from the beginning) with a throwaway group. */
export async function readTopic(kafka: Kafka, topic: string, expected: number, timeoutMs = 30_000) {
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${Date.now()}`, maxWaitTimeInMs: 100 });
  const seen: { key: string | null; value: string; headers: Record<string, string> }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      seen.push({ key: message.key?.toString() ?? null, value: message.value?.toString() ?? '', headers });
    },
  });
  try {
    await waitFor(
      `${expected} messages on ${topic}`,
      async () => seen.length,
      (n) => n >= expected,
      timeoutMs,
    );
    await new Promise((r) => setTimeout(r, 500)); // catch anything beyond the expected count
  } finally {
    await consumer.disconnect();
  }
  return seen;
}
