// Plain ESM: Jest loads global set-up natively, without its TypeScript transform.
/**
 * Integration tier set-up, run once per `jest` invocation: a real Kafka broker (started or reused)
 * and a real Postgres server. Each test file then creates a database of its own
 * (`useIsolatedDatabase`), and topics carry a per-run prefix, so neither runs nor files see each
 * other's rows or messages. Workers inherit the environment set here.
 */
import { randomBytes } from 'node:crypto';
import { ensureKafka } from '../../scripts/kafka-lib.mjs';
import { ensurePostgres } from '../../scripts/postgres.mjs';

export default async function globalSetup() {
  const runId = `${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}_${process.pid}`;
  const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  await ensurePostgres({ databaseUrl: serverUrl, quiet: true });
  const { brokers } = await ensureKafka({ quiet: false });

  process.env.CSE_TEST_SERVER_URL = serverUrl;
  process.env.CSE_TEST_DATABASE_PREFIX = `cse_test_${runId}`;
  process.env.KAFKA_BROKERS = brokers;
  process.env.KAFKA_TOPIC_PREFIX = `test_${runId}.`;
  // Tests run with authentication on, like production (ADR 011): every service booted by a test
  // verifies HS256 tokens with this run's secret; test/support/identity.ts mints them.
  process.env.HTTP_AUTH_JWT_SECRET ??= randomBytes(32).toString('base64url');
  delete process.env.AUTH_MODE;
}
