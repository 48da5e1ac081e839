// Plain ESM: Jest loads global set-up natively, without its TypeScript transform.
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { dropDatabase, withDatabaseName } from '../../scripts/postgres.mjs';

/** Leaves nothing behind: the run's databases and its prefixed topics are removed. */
export default async function globalTeardown() {
  const serverUrl = process.env.CSE_TEST_SERVER_URL;
  const dbPrefix = process.env.CSE_TEST_DATABASE_PREFIX;
  if (serverUrl && dbPrefix && process.env.KEEP_TEST_DATABASE !== '1') {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    const { rows } = await client.query('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [
      dbPrefix,
    ]);
    await client.end();
    for (const { datname } of rows) await dropDatabase(withDatabaseName(serverUrl, datname));
  }
  const topicPrefix = process.env.KAFKA_TOPIC_PREFIX;
  if (!topicPrefix || !process.env.KAFKA_BROKERS) return;
  const admin = new Kafka({
    brokers: process.env.KAFKA_BROKERS.split(','),
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(topicPrefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}
