/**
 * The messaging runner on the real broker and Postgres, with a small handler of its own:
 * poison messages, rejections, the outbox relay, and a database that goes away and comes back.
 */
import { dlqTopicOf } from '@app/contracts';
import {
  consumerLag,
  createKafka,
  DLQ_HEADER,
  enqueueOutbox,
  ensureTopics,
  EventConsumer,
  messagingTablesMigration,
  OutboxRelay,
  type Decoded,
  type EventBatchHandler,
} from '@app/messaging';
import { createServiceDataSource, runServiceMigrations } from '@app/platform';
import type { KafkaMessage } from 'kafkajs';
import type { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import { ensurePostgres, resetPostgres, stopPostgres } from '../../scripts/postgres.mjs';
import { publish, readTopic, testKafka, useIsolatedDatabase, waitFor } from '../support/infra.js';

const SCHEMA = 'msgtest';

class AppliedTable1764000000001 implements MigrationInterface {
  readonly name = 'AppliedTable1764000000001';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(
      `CREATE TABLE ${SCHEMA}.applied (event_id text PRIMARY KEY, merchant_id text NOT NULL)`,
    );
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE ${SCHEMA}.applied`);
  }
}

interface TestEvent {
  eventId: string;
  merchantId: string;
}

function decode(message: KafkaMessage): Decoded<TestEvent> {
  const value = JSON.parse(message.value?.toString() ?? '') as TestEvent;
  return { ok: true, eventId: value.eventId, value };
}

/** Applies events to msgtest.applied and emits one outbox event each; refuses and fails on cue. */
class TestHandler implements EventBatchHandler<TestEvent> {
  constructor(private readonly emitTopic: string) {}
  async handle(
    events: Parameters<EventBatchHandler<TestEvent>['handle']>[0],
    tx: Parameters<EventBatchHandler<TestEvent>['handle']>[1],
  ) {
    if (events.some((e) => e.eventId.startsWith('poison'))) throw new Error('cannot apply a poison event');
    const rejected = events.filter((e) => e.eventId.startsWith('reject'));
    const accepted = events.filter((e) => !e.eventId.startsWith('reject'));
    await tx.query(
      `INSERT INTO ${SCHEMA}.applied (event_id, merchant_id) SELECT * FROM unnest($1::text[], $2::text[])`,
      [accepted.map((e) => e.eventId), accepted.map((e) => e.value.merchantId)],
    );
    await enqueueOutbox(
      tx,
      SCHEMA,
      accepted.map((e) => ({
        topic: this.emitTopic,
        key: e.value.merchantId,
        value: JSON.stringify({ appliedEventId: e.eventId }),
      })),
    );
    return { rejected: rejected.map((event) => ({ event, reason: `refused ${event.eventId} on purpose` })) };
  }
}

async function openTestDataSource(databaseUrl: string): Promise<DataSource> {
  const ds = createServiceDataSource({
    databaseUrl,
    schema: SCHEMA,
    migrations: [messagingTablesMigration(SCHEMA), AppliedTable1764000000001],
    applicationName: 'cse-test-messaging',
    poolMax: 4,
  });
  await ds.initialize();
  await runServiceMigrations(ds, SCHEMA);
  return ds;
}

const appliedCount = async (ds: DataSource) =>
  (await ds.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM ${SCHEMA}.applied`))[0]!.n;

const events = (prefix: string, n: number, merchants = 7) =>
  Array.from({ length: n }, (_, i) => {
    const merchantId = `M${String(i % merchants).padStart(5, '0')}`;
    return { key: merchantId, value: JSON.stringify({ eventId: `${prefix}-${i}`, merchantId }) };
  });

describe('EventConsumer and OutboxRelay (real Kafka + Postgres)', () => {
  const kafka = testKafka();
  const admin = kafka.admin();
  const topicPrefix = `${process.env.KAFKA_TOPIC_PREFIX ?? ''}msg.`;

  beforeAll(async () => {
    await admin.connect();
  });
  afterAll(async () => {
    await admin.disconnect();
  });

  it('dead-letters a poison message and a rejected one, applies the rest once, relays outbox events with their keys', async () => {
    const ds = await openTestDataSource(await useIsolatedDatabase('messaging'));
    const topic = `${topicPrefix}poison.in`;
    const emitted = `${topicPrefix}poison.out`;
    await ensureTopics(admin, [topic, dlqTopicOf(topic), emitted], 3);
    const client = createKafka({
      brokers: (process.env.KAFKA_BROKERS ?? '').split(','),
      clientId: 'cse-test',
    });
    const consumer = new EventConsumer(client, ds, {
      name: 'poison-test',
      groupId: `${topicPrefix}poison`,
      topic,
      schema: SCHEMA,
      decode,
      handler: new TestHandler(emitted),
      backoff: { initialDelayMs: 10, maxDelayMs: 50 },
    });
    const relay = new OutboxRelay(client, ds, { schema: SCHEMA, idlePollMs: 50 });
    try {
      await consumer.start();
      await relay.start();
      const batch = events('ok', 40);
      batch.splice(7, 0, {
        key: 'M00001',
        value: JSON.stringify({ eventId: 'poison-1', merchantId: 'M00001' }),
      });
      batch.splice(20, 0, {
        key: 'M00002',
        value: JSON.stringify({ eventId: 'reject-1', merchantId: 'M00002' }),
      });
      await publish(kafka, topic, [...batch, ...batch]); // everything twice: redelivery must change nothing

      await waitFor(
        'lag 0',
        () => consumerLag(admin, `${topicPrefix}poison`, topic),
        (lag) => lag === 0,
      );
      expect(await appliedCount(ds)).toBe(40);
      // The poison event is dead-lettered at each offset it was delivered at: it never took effect,
      // so it has no inbox row and each copy is its own failure. The rejected event has an inbox
      // row (rejection is an outcome), so its second copy is a duplicate.
      expect(consumer.stats).toMatchObject({ applied: 40, deadLettered: 3 });

      const dead = await readTopic(kafka, dlqTopicOf(topic), 3);
      expect(dead).toHaveLength(3);
      const failed = dead.filter((d) => d.headers[DLQ_HEADER.kind] === 'HANDLER_FAILED');
      expect(failed).toHaveLength(2);
      expect(new Set(failed.map((d) => d.headers[DLQ_HEADER.sourceOffset])).size).toBe(2);
      for (const d of failed) {
        expect(d.headers[DLQ_HEADER.reason]).toBe('handler failed 3 times: cannot apply a poison event');
        expect(d.key).toBe('M00001');
      }
      const byKind = new Map(dead.map((d) => [d.headers[DLQ_HEADER.kind], d]));
      expect(byKind.get('REJECTED')?.headers[DLQ_HEADER.reason]).toBe('refused reject-1 on purpose');

      const out = await readTopic(kafka, emitted, 40);
      expect(out).toHaveLength(40);
      expect(new Set(out.map((m) => m.value)).size).toBe(40);
      for (const m of out) {
        const { appliedEventId } = JSON.parse(m.value) as { appliedEventId: string };
        const i = Number(appliedEventId.split('-')[1]);
        expect(m.key).toBe(`M${String(i % 7).padStart(5, '0')}`);
      }
      const [unpublished] = await ds.query<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM ${SCHEMA}.outbox WHERE published_at IS NULL`,
      );
      expect(unpublished!.n).toBe(0);
    } finally {
      await relay.stop();
      await consumer.stop();
      await ds.destroy();
    }
  });

  it('keeps running while PostgreSQL is down and applies everything once it is back', async () => {
    // A throwaway cluster of our own: stopping the machine's server would break everything else.
    const databaseUrl = 'postgres://postgres@127.0.0.1:55439/cse_restart';
    await resetPostgres({ databaseUrl, quiet: true });
    await ensurePostgres({ databaseUrl, quiet: true });
    const ds = await openTestDataSource(databaseUrl);
    const topic = `${topicPrefix}restart.in`;
    await ensureTopics(admin, [topic, dlqTopicOf(topic), `${topicPrefix}restart.out`], 3);
    const client = createKafka({
      brokers: (process.env.KAFKA_BROKERS ?? '').split(','),
      clientId: 'cse-test',
    });
    const consumer = new EventConsumer(client, ds, {
      name: 'restart-test',
      groupId: `${topicPrefix}restart`,
      topic,
      schema: SCHEMA,
      decode,
      handler: new TestHandler(`${topicPrefix}restart.out`),
      backoff: { initialDelayMs: 100, maxDelayMs: 500 },
    });
    try {
      await consumer.start();
      await publish(kafka, topic, events('before', 100));
      await waitFor(
        '100 applied',
        () => appliedCount(ds),
        (n) => n === 100,
      );

      await stopPostgres({ databaseUrl, quiet: true });
      await publish(kafka, topic, events('during', 100));
      await waitFor(
        'retries while the database is down',
        async () => consumer.stats.transientRetries,
        (n) => n >= 3,
      );
      expect(await consumerLag(admin, `${topicPrefix}restart`, topic)).toBeGreaterThan(0);

      await ensurePostgres({ databaseUrl, quiet: true });
      await waitFor(
        'lag 0 after the restart',
        () => consumerLag(admin, `${topicPrefix}restart`, topic),
        (l) => l === 0,
      );
      expect(await appliedCount(ds)).toBe(200);
      expect(consumer.stats).toMatchObject({ applied: 200, deadLettered: 0 });
    } finally {
      await consumer.stop();
      await ds.destroy();
      await resetPostgres({ databaseUrl, quiet: true });
    }
  });
});
