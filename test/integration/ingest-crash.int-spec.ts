/**
 * Crash safety: the reconciliation service is SIGKILLed in the middle of consuming 100,000 events
 * (5% of them re-sent), restarted, and must end with exactly one row per distinct event id.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { dlqTopicOf, TOPIC } from '@app/contracts';
import { consumerLag, ensureTopics } from '@app/messaging';
import type { DataSource } from 'typeorm';
import { TRANSACTION_INGEST_GROUP } from '../../apps/reconciliation/src/index.js';
import {
  migrateAll,
  openDataSource,
  publish,
  testKafka,
  useIsolatedDatabase,
  waitFor,
} from '../support/infra.js';

const DISTINCT_EVENTS = 100_000;
const RESENT_EVERY = 20; // every 20th event is published twice: 5,000 redeliveries

describe('ingest survives SIGKILL (real Kafka + Postgres)', () => {
  const kafka = testKafka();
  const admin = kafka.admin();
  // A prefix of its own: this file's consumer group and topic never meet another test's.
  const prefix = `${process.env.KAFKA_TOPIC_PREFIX ?? ''}crash.`;
  const topic = `${prefix}${TOPIC.paymentsTransactionV1}`;
  const groupId = `${prefix}${TRANSACTION_INGEST_GROUP}`;
  let db: DataSource;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    await useIsolatedDatabase('crash');
    await admin.connect();
    await ensureTopics(admin, [topic, dlqTopicOf(topic)], 3);
    await migrateAll();
    db = await openDataSource('reconciliation');
  });

  afterAll(async () => {
    child?.kill('SIGKILL');
    await db?.destroy();
    await admin.disconnect();
  });

  const storedCount = async () => {
    const [row] = await db.query<{ rows: number; events: number }[]>(
      `SELECT count(*)::int AS rows, count(DISTINCT event_id)::int AS events
       FROM reconciliation.internal_transaction WHERE event_id LIKE 'crash-%'`,
    );
    return row!;
  };
  /** T-day ledger entries of the crash events: one per stored transaction, or the crash split them. */
  const entryCount = async () => {
    const [row] = await db.query<{ entries: number }[]>(
      `SELECT count(*)::int AS entries FROM ledger.journal_entry WHERE idempotency_key LIKE 'recon.t-day:crash-%'`,
    );
    return row!.entries;
  };

  it('stores exactly the distinct events after a SIGKILL mid-stream and a restart', async () => {
    const messages = [];
    for (let i = 0; i < DISTINCT_EVENTS; i += 1) {
      const merchantId = `M${String(i % 1000).padStart(5, '0')}`;
      const value = JSON.stringify({
        eventId: `crash-${i}`,
        type: 'PAYMENT_SUCCEEDED',
        occurredAt: new Date(Date.UTC(2026, 10, 22, 0, 0, 0) + i * 500).toISOString(),
        merchantId,
        channel: 'WECHAT',
        orderNo: `CRASH${String(i).padStart(9, '0')}`,
        amount: `${1 + (i % 997)}.${String(i % 100).padStart(2, '0')}`,
        currency: 'CNY',
      });
      messages.push({ key: merchantId, value });
      if (i % RESENT_EVERY === 0) messages.push({ key: merchantId, value });
    }
    await publish(kafka, topic, messages);

    child = startService(prefix, 'first');
    const atKill = await waitFor(
      'the first run to be mid-stream',
      storedCount,
      (c) => c.rows >= 15_000,
      120_000,
      10,
    );
    child.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));
    const afterKill = await storedCount();
    // The kill really landed mid-stream, or this test proves nothing.
    expect(afterKill.rows).toBeLessThan(DISTINCT_EVENTS);
    expect(afterKill.rows).toBeGreaterThanOrEqual(atKill.rows);
    expect(await entryCount()).toBe(afterKill.rows);

    child = startService(prefix, 'second');
    await waitFor(
      'consumer lag 0 after restart',
      () => consumerLag(admin, groupId, topic),
      (lag) => lag === 0,
      180_000,
      250,
    );
    const final = await storedCount();
    child.kill('SIGTERM');
    await new Promise((resolve) => child!.once('exit', resolve));
    child = undefined;

    expect(final).toEqual({ rows: DISTINCT_EVENTS, events: DISTINCT_EVENTS });
    const [inbox] = await db.query<{ count: number }[]>(
      `SELECT count(*)::int AS count FROM reconciliation.inbox WHERE event_id LIKE 'crash-%'`,
    );
    expect(inbox!.count).toBe(DISTINCT_EVENTS);
    expect(await entryCount()).toBe(DISTINCT_EVENTS);
  });
});

function startService(prefix: string, label: string): ChildProcess {
  const logDir = path.resolve('.cache/test-logs');
  const child = spawn(
    process.execPath,
    ['--import', '@swc-node/register/esm-register', 'apps/reconciliation/src/main.ts'],
    {
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        KAFKA_TOPIC_PREFIX: prefix,
        HTTP_PORT: '0',
        KAFKA_SESSION_TIMEOUT_MS: '6000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  void mkdir(logDir, { recursive: true }).then(() => {
    const log = createWriteStream(path.join(logDir, `ingest-crash-${label}.log`));
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
  });
  return child;
}
