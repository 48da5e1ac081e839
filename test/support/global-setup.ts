/**
 * Integration tier set-up, run once per `jest` invocation: a real Kafka broker (started or reused)
 * and a real Postgres with a database of its own for this run, so runs never see each other's rows.
 * Topics get a per-run prefix for the same reason. Workers inherit the environment set here.
 */
import { ensureKafka } from '../../scripts/kafka-lib.mjs';
import { createDatabase, ensurePostgres, withDatabaseName } from '../../scripts/postgres.mjs';

export default async function globalSetup(): Promise<void> {
  const runId = `${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}_${process.pid}`;
  const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  await ensurePostgres({ databaseUrl: serverUrl, quiet: true });
  const databaseUrl = withDatabaseName(serverUrl, `cse_test_${runId}`);
  await createDatabase(databaseUrl);
  const { brokers } = await ensureKafka({ quiet: false });

  process.env.DATABASE_URL = databaseUrl;
  process.env.KAFKA_BROKERS = brokers;
  process.env.KAFKA_TOPIC_PREFIX = `test_${runId}.`;
  process.env.CSE_TEST_RUN_ID = runId;
}
