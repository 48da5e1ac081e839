/**
 * Issue 15, hole 5: the same event id with a different body disappeared — the inbox made it a
 * duplicate, with no dead letter and no log line. Through the real consumer machinery (broker,
 * inbox, outbox, relay): a redelivery with the same payload stays a silent no-op; one with another
 * payload becomes a CONFLICTING_DUPLICATE dead letter carrying both hashes, and nothing of it is
 * applied.
 */
import { createHash } from 'node:crypto';
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { dlqTopicOf } from '@app/contracts';
import {
  consumerLag,
  createKafka,
  DLQ_HEADER,
  ensureTopics,
  EventConsumer,
  OutboxRelay,
  replayDeadLetter,
} from '@app/messaging';
import { publish, readTopic, testKafka, useIsolatedDatabase, waitFor } from '../support/infra.js';
import {
  appliedCount,
  decode,
  openTestDataSource,
  SCHEMA,
  TestHandler,
} from '../support/messaging-fixture.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('a redelivered event id with another payload (real Kafka + Postgres)', () => {
  const kafka = testKafka();
  const admin = kafka.admin();
  const prefix = `${process.env.KAFKA_TOPIC_PREFIX ?? ''}dup.`;

  beforeAll(async () => {
    await admin.connect();
  });
  afterAll(async () => {
    await admin.disconnect();
  });

  it('dead-letters it as CONFLICTING_DUPLICATE with both hashes and a warning; the same payload again is nothing', async () => {
    const ds = await openTestDataSource(await useIsolatedDatabase('inbox_conflict'));
    const topic = `${prefix}in`;
    const emitted = `${prefix}out`;
    const group = `${prefix}group`;
    await ensureTopics(admin, [topic, dlqTopicOf(topic), emitted], 3);
    const client = createKafka({
      brokers: (process.env.KAFKA_BROKERS ?? '').split(','),
      clientId: 'cse-test',
    });
    const consumer = new EventConsumer(client, ds, {
      name: 'conflict-test',
      groupId: group,
      topic,
      schema: SCHEMA,
      decode,
      handler: new TestHandler(emitted),
      backoff: { initialDelayMs: 10, maxDelayMs: 50 },
    });
    const relay = new OutboxRelay(client, ds, { schema: SCHEMA, idlePollMs: 50 });
    const warnings: string[] = [];
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      warnings.push(String(message));
    });

    const original = JSON.stringify({ eventId: 'pay-1', merchantId: 'M00001' });
    const altered = JSON.stringify({ eventId: 'pay-1', merchantId: 'M00009' });
    const fresh = JSON.stringify({ eventId: 'pay-2', merchantId: 'M00002' });
    const freshAltered = JSON.stringify({ eventId: 'pay-2', merchantId: 'M00008' });
    const lagZero = () =>
      waitFor(
        'lag 0',
        () => consumerLag(admin, group, topic),
        (lag) => lag === 0,
      );
    try {
      await consumer.start();
      await relay.start();
      await publish(kafka, topic, [{ key: 'M00001', value: original }]);
      await lagZero();
      expect(await appliedCount(ds)).toBe(1);

      // In later batches: the inbox row answers, not the in-batch dedupe.
      await publish(kafka, topic, [{ key: 'M00001', value: original }]);
      await lagZero();
      await publish(kafka, topic, [{ key: 'M00001', value: altered }]);
      await lagZero();
      // And both kinds inside one batch, after an event seen for the first time.
      await publish(kafka, topic, [
        { key: 'M00002', value: fresh },
        { key: 'M00002', value: fresh },
        { key: 'M00002', value: freshAltered },
      ]);
      await lagZero();
      // Another body first, then the applied one: only the other body conflicts, with what the
      // inbox holds (not with the copy that came first in the batch).
      await publish(kafka, topic, [
        { key: 'M00001', value: altered },
        { key: 'M00001', value: original },
      ]);
      await lagZero();
      await waitFor(
        'the outbox published',
        async () =>
          (
            await ds.query<{ n: number }[]>(
              `SELECT count(*)::int AS n FROM ${SCHEMA}.outbox WHERE published_at IS NULL`,
            )
          )[0]!.n,
        (n) => n === 0,
      );
    } finally {
      await relay.stop();
      await consumer.stop();
      warn.mockRestore();
    }

    const applied = await ds.query<{ event_id: string; merchant_id: string }[]>(
      `SELECT event_id, merchant_id FROM ${SCHEMA}.applied ORDER BY event_id`,
    );
    expect(applied).toEqual([
      { event_id: 'pay-1', merchant_id: 'M00001' },
      { event_id: 'pay-2', merchant_id: 'M00002' },
    ]);
    // The three same-payload redeliveries are duplicates, silently; the three others dead letters.
    expect(consumer.stats).toMatchObject({ applied: 2, duplicates: 3, deadLettered: 3 });

    const dead = await readTopic(kafka, dlqTopicOf(topic), 3);
    expect(dead.map((d) => d.value).sort()).toEqual([altered, altered, freshAltered].sort());
    const appliedBody = new Map([
      [altered, original],
      [freshAltered, fresh],
    ]);
    for (const letter of dead) {
      const stored = appliedBody.get(letter.value)!;
      expect(letter.headers).toMatchObject({
        [DLQ_HEADER.kind]: 'CONFLICTING_DUPLICATE',
        [DLQ_HEADER.storedSha256]: sha256(stored),
        [DLQ_HEADER.receivedSha256]: sha256(letter.value),
        [DLQ_HEADER.consumer]: 'conflict-test',
      });
      expect(letter.headers[DLQ_HEADER.reason]).toContain(sha256(stored));
    }
    const conflictWarnings = warnings.filter((w) => w.startsWith('conflicting duplicate'));
    expect(conflictWarnings).toHaveLength(3);
    expect(conflictWarnings[0]).toMatch(
      new RegExp(
        `^conflicting duplicate: event pay-1 at ${topic.replace(/\./g, '\\.')}\\[\\d\\]@\\d+ for consumer conflict-test`,
      ),
    );

    // Replaying it would only meet the inbox row again: refused, with what to do instead.
    const [row] = await ds.query<{ id: string }[]>(
      `SELECT id::text AS id FROM ${SCHEMA}.outbox WHERE headers->>'dlq-kind' = 'CONFLICTING_DUPLICATE' LIMIT 1`,
    );
    await expect(replayDeadLetter(ds, SCHEMA, row!.id, { by: 'ops.li', reason: 'try' })).rejects.toThrow(
      /cannot be replayed; publish the corrected event under a new event id/,
    );
    await ds.destroy();
  });

  it('treats an inbox row written before payload hashes were kept as unknown: a plain duplicate', async () => {
    const ds = await openTestDataSource(await useIsolatedDatabase('inbox_legacy'));
    const topic = `${prefix}legacy.in`;
    const group = `${prefix}legacy`;
    await ensureTopics(admin, [topic, dlqTopicOf(topic), `${prefix}legacy.out`], 3);
    await ds.query(
      `INSERT INTO ${SCHEMA}.inbox (consumer, event_id, topic, partition, kafka_offset) VALUES ('legacy-test', 'old-1', $1, 0, 0)`,
      [topic],
    );
    const client = createKafka({
      brokers: (process.env.KAFKA_BROKERS ?? '').split(','),
      clientId: 'cse-test',
    });
    const consumer = new EventConsumer(client, ds, {
      name: 'legacy-test',
      groupId: group,
      topic,
      schema: SCHEMA,
      decode,
      handler: new TestHandler(`${prefix}legacy.out`),
    });
    try {
      await consumer.start();
      await publish(kafka, topic, [
        { key: 'M1', value: JSON.stringify({ eventId: 'old-1', merchantId: 'M1' }) },
      ]);
      await waitFor(
        'lag 0',
        () => consumerLag(admin, group, topic),
        (lag) => lag === 0,
      );
    } finally {
      await consumer.stop();
    }
    expect(consumer.stats).toMatchObject({ applied: 0, duplicates: 1, deadLettered: 0 });
    await ds.destroy();
  });
});
