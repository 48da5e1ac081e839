/**
 * The broker goes away and comes back under a running consumer and outbox relay. A broker of this
 * test's own (other ports, other data directory, the same jars) is stopped, so no other test's
 * broker is disturbed.
 */
import path from 'node:path';
import { dlqTopicOf } from '@app/contracts';
import {
  consumerLag,
  createKafka,
  enqueueOutbox,
  ensureTopics,
  EventConsumer,
  OutboxRelay,
} from '@app/messaging';
import { Kafka, logLevel } from 'kafkajs';
import { ensureKafka, resetKafka, stopKafka } from '../../scripts/kafka-lib.mjs';
import { publish, readTopic, useIsolatedDatabase, waitFor } from '../support/infra.js';
import {
  appliedCount,
  decode,
  events,
  openTestDataSource,
  SCHEMA,
  TestHandler,
} from '../support/messaging-fixture.js';

const brokerEnv = {
  ...process.env,
  KAFKA_HOME_DIR: path.resolve('.cache/kafka-restart-test'),
  KAFKA_LIBS_DIR: path.resolve('.cache/kafka/libs'),
  KAFKA_PORT: '19192',
  KAFKA_CONTROLLER_PORT: '19193',
  KAFKA_HEAP_MAX: '384m',
};
const BROKERS = ['127.0.0.1:19192'];

describe('consumer and relay across a broker restart (real Kafka + Postgres)', () => {
  afterAll(async () => {
    await resetKafka({ env: brokerEnv, quiet: true });
  });

  it('retries while the broker is down and delivers everything once it is back', async () => {
    await resetKafka({ env: brokerEnv, quiet: true });
    await ensureKafka({ env: brokerEnv, quiet: true });
    const ds = await openTestDataSource(await useIsolatedDatabase('broker_restart'));
    const kafka = createKafka({ brokers: BROKERS, clientId: 'cse-test' });
    const reader = new Kafka({ brokers: BROKERS, clientId: 'cse-test-reader', logLevel: logLevel.NOTHING });
    const admin = reader.admin();
    await admin.connect();
    const topic = 'restart.in';
    const emitted = 'restart.out';
    await ensureTopics(admin, [topic, dlqTopicOf(topic), emitted], 3);
    const consumer = new EventConsumer(kafka, ds, {
      name: 'broker-restart-test',
      groupId: 'broker-restart',
      topic,
      schema: SCHEMA,
      decode,
      handler: new TestHandler(emitted),
      sessionTimeoutMs: 6_000,
    });
    const relay = new OutboxRelay(kafka, ds, {
      schema: SCHEMA,
      idlePollMs: 50,
      backoff: { initialDelayMs: 100, maxDelayMs: 1_000 },
    });
    const unpublished = async () =>
      (
        await ds.query<{ n: number }[]>(
          `SELECT count(*)::int AS n FROM ${SCHEMA}.outbox WHERE published_at IS NULL`,
        )
      )[0]!.n;
    try {
      await consumer.start();
      await relay.start();
      await publish(reader, topic, events('before', 50));
      await waitFor(
        '50 applied and relayed',
        async () => [await appliedCount(ds), await unpublished()],
        ([a, u]) => a === 50 && u === 0,
      );

      await admin.disconnect();
      await stopKafka({ env: brokerEnv, quiet: true });
      // Events the service emits while the broker is down wait in the outbox.
      await ds.transaction((tx) =>
        enqueueOutbox(
          tx,
          SCHEMA,
          Array.from({ length: 20 }, (_, i) => ({
            topic: emitted,
            key: 'M00000',
            value: JSON.stringify({ during: i }),
          })),
        ),
      );
      await new Promise((r) => setTimeout(r, 3_000));
      expect(await unpublished()).toBe(20);

      await ensureKafka({ env: brokerEnv, quiet: true });
      await admin.connect();
      await waitFor('the outbox drained after the restart', unpublished, (n) => n === 0, 120_000, 250);
      await publish(reader, topic, events('after', 50));
      await waitFor(
        'lag 0 after the restart',
        () => consumerLag(admin, 'broker-restart', topic),
        (lag) => lag === 0,
        120_000,
        250,
      );
      expect(await appliedCount(ds)).toBe(100);

      const out = await readTopic(reader, emitted, 120, 60_000);
      expect(out).toHaveLength(120);
      expect(out.filter((m) => m.value.startsWith('{"during"'))).toHaveLength(20);
    } finally {
      await relay.stop();
      await consumer.stop();
      await admin.disconnect().catch(() => undefined);
      await ds.destroy();
    }
  });
});
