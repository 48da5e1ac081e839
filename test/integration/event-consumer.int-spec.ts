/**
 * The messaging runner on the real broker and Postgres, with a small handler of its own:
 * poison messages, rejections, the outbox relay, and a database that goes away and comes back.
 */
import { dlqTopicOf } from '@app/contracts';
import {
  consumerLag,
  createKafka,
  DLQ_HEADER,
  ensureTopics,
  EventConsumer,
  OutboxRelay,
} from '@app/messaging';
import { ensurePostgres, resetPostgres, stopPostgres } from '../../scripts/postgres.mjs';
import { publish, readTopic, testKafka, useIsolatedDatabase, waitFor } from '../support/infra.js';
import {
  appliedCount,
  decode,
  events,
  openTestDataSource,
  SCHEMA,
  TestHandler,
} from '../support/messaging-fixture.js';

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
