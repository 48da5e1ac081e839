import { Kafka, logLevel } from 'kafkajs';
import { dropDatabase } from '../../scripts/postgres.mjs';

/** Leaves nothing behind: the run's database and its prefixed topics are removed. */
export default async function globalTeardown(): Promise<void> {
  if (process.env.KEEP_TEST_DATABASE !== '1' && process.env.DATABASE_URL) await dropDatabase(process.env.DATABASE_URL);
  const prefix = process.env.KAFKA_TOPIC_PREFIX;
  if (!prefix || !process.env.KAFKA_BROKERS) return;
  const admin = new Kafka({ brokers: process.env.KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}
