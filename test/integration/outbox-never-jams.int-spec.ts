/**
 * Issue 15, hole 2: one oversized message jammed an outbox for good. The relay sent up to 1,000
 * rows in one request; the broker refused the request for its size on every retry, so nothing
 * behind the oversized rows was ever published (payout requests stuck) while /health said ok.
 *
 * On the real broker and Postgres: rows the broker refuses for good are parked with its reason
 * while everything else is published, readiness answers 503 while a row is parked, and dead
 * letters of 600 KB messages reach the DLQ clipped, with the original's size and SHA-256.
 */
import { createHash } from 'node:crypto';
import { jest } from '@jest/globals';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { dlqTopicOf } from '@app/contracts';
import {
  consumerLag,
  createKafka,
  DEAD_LETTER_VALUE_BYTES_MAX,
  DLQ_HEADER,
  enqueueOutbox,
  ensureTopics,
  EventConsumer,
  HealthController,
  listDeadLetters,
  OutboxRelay,
  PLATFORM_CONFIG,
  SERVICE_SCHEMA,
  type Readiness,
  type RelaySource,
  unparkOutboxRow,
} from '@app/messaging';
import { loadPlatformConfig } from '@app/platform';
import { ConfigResourceTypes } from 'kafkajs';
import { DataSource } from 'typeorm';
import { messagingStatusCommand, messagingUnparkCommand } from '../../apps/cli/src/index.js';
import {
  migrateAll,
  openDataSource,
  publish,
  readTopic,
  testKafka,
  useIsolatedDatabase,
  waitFor,
} from '../support/infra.js';
import { decode, events, openTestDataSource, SCHEMA, TestHandler } from '../support/messaging-fixture.js';

const BROKER_TOPIC_MAX_BYTES = 100_000;

describe('an outbox never jams (real Kafka + Postgres)', () => {
  const kafka = testKafka();
  const admin = kafka.admin();
  const prefix = `${process.env.KAFKA_TOPIC_PREFIX ?? ''}jam.`;
  const client = createKafka({ brokers: (process.env.KAFKA_BROKERS ?? '').split(','), clientId: 'cse-test' });
  let ds: DataSource;
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    await admin.connect();
    ds = await openTestDataSource(await useIsolatedDatabase('outbox_jam'));
    const module = await Test.createTestingModule({
      controllers: [HealthController],
      providers: [
        { provide: DataSource, useValue: ds },
        { provide: SERVICE_SCHEMA, useValue: SCHEMA },
        { provide: PLATFORM_CONFIG, useValue: loadPlatformConfig('test', {}) },
      ],
    }).compile();
    app = module.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app.close();
    await ds.destroy();
    await admin.disconnect();
  });
  beforeEach(async () => {
    await ds.query(
      `TRUNCATE ${SCHEMA}.outbox, ${SCHEMA}.inbox, ${SCHEMA}.applied, ${SCHEMA}.dead_letter_replay, ${SCHEMA}.outbox_unpark`,
    );
  });

  /** A topic whose own max.message.bytes is below what the relay may send in one request. */
  const createTopicAcceptingAtMost = async (topic: string, bytes: number) => {
    await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: 3,
          replicationFactor: -1,
          configEntries: [{ name: 'max.message.bytes', value: String(bytes) }],
        },
      ],
      waitForLeaders: true,
    });
  };

  const readiness = async () => {
    const response = await fetch(`${base}/health/ready`);
    return { status: response.status, body: (await response.json()) as Readiness };
  };

  it('parks the 2 rows the broker refuses with its reason, publishes the 100 others, and is not ready', async () => {
    // The topic accepts 100 KB records: the relay's own limit (1 MB) lets a 200 KB row through to
    // the broker, whose refusal is what the relay must survive — as when a broker's limit is lower
    // than the deployment assumed.
    const payouts = `${prefix}payout-requested`;
    const results = `${prefix}payout-result`;
    await createTopicAcceptingAtMost(payouts, BROKER_TOPIC_MAX_BYTES);
    await ensureTopics(admin, [results], 3);
    const oversized = (n: number) => ({
      topic: payouts,
      key: `M0000${n}`,
      value: JSON.stringify({ eventId: `oversized-${n}`, memo: 'x'.repeat(200_000) }),
    });
    const normal = (topic: string, i: number) => ({
      topic,
      key: `M${String(i % 7).padStart(5, '0')}`,
      value: JSON.stringify({ eventId: `${topic}-${i}` }),
    });
    // The oversized rows first, as in the incident: everything behind them was stuck.
    await ds.transaction((tx) =>
      enqueueOutbox(tx, SCHEMA, [
        oversized(1),
        ...Array.from({ length: 30 }, (_, i) => normal(payouts, i)),
        oversized(2),
        ...Array.from({ length: 30 }, (_, i) => normal(payouts, 30 + i)),
        ...Array.from({ length: 40 }, (_, i) => normal(results, i)),
      ]),
    );
    expect((await readiness()).status).toBe(200); // nothing old, nothing parked yet

    const relay = new OutboxRelay(client, ds, {
      schema: SCHEMA,
      idlePollMs: 50,
      backoff: { initialDelayMs: 50, maxDelayMs: 200 },
    });
    await relay.start();
    try {
      await waitFor(
        '100 rows published',
        () => countWhere(ds, 'published_at IS NOT NULL'),
        (n) => n === 100,
        60_000,
      );
      await waitFor(
        '2 rows parked',
        () => countWhere(ds, 'parked_at IS NOT NULL'),
        (n) => n === 2,
      );
    } finally {
      await relay.stop();
    }

    // What the broker holds: each of the 100 (at least once), neither oversized row.
    const onPayouts = await readTopic(kafka, payouts, 60);
    const onResults = await readTopic(kafka, results, 40);
    expect(new Set(onPayouts.map((m) => m.value)).size).toBe(60);
    expect(new Set(onResults.map((m) => m.value)).size).toBe(40);
    expect(onPayouts.some((m) => m.value.includes('oversized'))).toBe(false);

    const parked = await ds.query<
      { key: string; published_at: Date | null; parked_at: Date; park_reason: string }[]
    >(
      `SELECT message_key AS key, published_at, parked_at, park_reason FROM ${SCHEMA}.outbox
       WHERE parked_at IS NOT NULL ORDER BY id`,
    );
    expect(parked.map((p) => p.key)).toEqual(['M00001', 'M00002']);
    for (const p of parked) {
      expect(p.published_at).toBeNull();
      expect(p.park_reason).toMatch(/^MESSAGE_TOO_LARGE: .*larger than the max message size/);
    }

    const { status, body } = await readiness();
    expect(status).toBe(503);
    expect(body.status).toBe('not-ready');
    expect(body.outbox).toMatchObject({ unpublished: 0, parkedCount: 2 });
    expect(body.outbox.parked.map((p) => p.topic)).toEqual([payouts, payouts]);
    expect(body.outbox.parked[0]!.reason).toMatch(/^MESSAGE_TOO_LARGE/);
    expect(body.reasons[0]).toMatch(/2 outbox row\(s\) parked/);
    // Liveness is a different question: the process is fine.
    expect((await fetch(`${base}/health`)).status).toBe(200);

    // An operator raises the topic's limit and puts both rows back: they go, readiness recovers.
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: payouts,
          configEntries: [{ name: 'max.message.bytes', value: '1048588' }],
        },
      ],
    });
    for (const p of body.outbox.parked)
      await unparkOutboxRow(ds, SCHEMA, p.id, { by: 'ops.li', reason: 'payouts topic takes 1 MB now' });
    const [audit] = await ds.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM ${SCHEMA}.outbox_unpark WHERE unparked_by = 'ops.li' AND park_reason LIKE 'MESSAGE_TOO_LARGE%'`,
    );
    expect(audit!.n).toBe(2);
    const again = new OutboxRelay(client, ds, { schema: SCHEMA, idlePollMs: 50 });
    await again.start();
    try {
      await waitFor(
        'the 2 unparked rows published',
        () => countWhere(ds, 'published_at IS NOT NULL'),
        (n) => n === 102,
      );
    } finally {
      await again.stop();
    }
    expect((await readiness()).status).toBe(200);
    expect(await readTopic(kafka, payouts, 62)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: 'M00001' }),
        expect.objectContaining({ key: 'M00002' }),
      ]),
    );
  });

  it('parks a row larger than one send may carry without offering it to the broker', async () => {
    const topic = `${prefix}big`;
    await ensureTopics(admin, [topic], 3);
    await ds.transaction((tx) =>
      enqueueOutbox(tx, SCHEMA, [
        { topic, key: 'M00001', value: 'y'.repeat(200_000) },
        { topic, key: 'M00002', value: 'small' },
      ]),
    );
    const relay = new OutboxRelay(client, ds, { schema: SCHEMA, messageMaxBytes: 128 * 1024 });
    try {
      expect(await relay.relayOnce()).toBe(2);
      expect(await relay.relayOnce()).toBe(0);
    } finally {
      await relay.stop();
    }
    const [row] = await ds.query<{ park_reason: string }[]>(
      `SELECT park_reason FROM ${SCHEMA}.outbox WHERE parked_at IS NOT NULL`,
    );
    // 200,000 of value, 6 of key, 64 allowed for the record's framing.
    expect(row!.park_reason).toBe(
      '200070 bytes, more than one send may carry (KAFKA_MESSAGE_MAX_BYTES = 131072); not sent',
    );
    expect(await countWhere(ds, 'published_at IS NOT NULL')).toBe(1);
  });

  it('reads at most four sends worth of rows per pass, however many rows it may take', async () => {
    const topic = `${prefix}bulky`;
    await ensureTopics(admin, [topic], 3);
    await ds.transaction((tx) =>
      enqueueOutbox(
        tx,
        SCHEMA,
        Array.from({ length: 10 }, (_, i) => ({ topic, key: `M${i}`, value: 'z'.repeat(100_000) })),
      ),
    );
    // 128 KiB a send: a pass reads rows that start within 512 KiB — 6 of 100,000 bytes — and
    // sends them one or two at a time.
    const relay = new OutboxRelay(client, ds, { schema: SCHEMA, messageMaxBytes: 128 * 1024 });
    try {
      expect(await relay.relayOnce()).toBe(6);
      expect(await relay.relayOnce()).toBe(4);
    } finally {
      await relay.stop();
    }
    expect(await countWhere(ds, 'published_at IS NOT NULL')).toBe(10);
  });

  it('answers not ready while the oldest unpublished row is older than OUTBOX_UNPUBLISHED_AGE_MAX_MS', async () => {
    await ds.transaction((tx) =>
      enqueueOutbox(tx, SCHEMA, [{ topic: `${prefix}late`, key: null, value: 'owed' }]),
    );
    await ds.query(`UPDATE ${SCHEMA}.outbox SET created_at = now() - interval '10 minutes'`);
    const { status, body } = await readiness();
    expect(status).toBe(503);
    expect(body.outbox.unpublished).toBe(1);
    expect(body.outbox.oldestUnpublishedAgeMs).toBeGreaterThan(590_000);
    expect(body.reasons).toEqual([
      expect.stringMatching(/more than 300000 ms \(OUTBOX_UNPUBLISHED_AGE_MAX_MS\)$/),
    ]);
  });

  it('hands a message a custom source cannot send over to the outbox as a parked row, and moves on', async () => {
    // A source of its own, as reconciliation's matched items: marks from which it builds each event.
    const topic = `${prefix}marks`;
    await createTopicAcceptingAtMost(topic, BROKER_TOPIC_MAX_BYTES);
    await ds.query(
      `CREATE TABLE IF NOT EXISTS ${SCHEMA}.payout_mark (id bigint PRIMARY KEY, memo_bytes int NOT NULL, sent_at timestamptz)`,
    );
    await ds.query(`TRUNCATE ${SCHEMA}.payout_mark`);
    await ds.query(
      `INSERT INTO ${SCHEMA}.payout_mark (id, memo_bytes) SELECT i, CASE WHEN i = 3 THEN 200000 ELSE 10 END FROM generate_series(1, 5) i`,
    );
    const source: RelaySource = {
      name: 'payout-mark-relay:test',
      async fetch(tx, limit) {
        const marks = await tx.query<{ id: string; memo_bytes: number }[]>(
          `SELECT id::text AS id, memo_bytes FROM ${SCHEMA}.payout_mark WHERE sent_at IS NULL ORDER BY id LIMIT $1`,
          [limit],
        );
        return marks.map((m) => ({
          id: m.id,
          topic,
          key: `M${m.id}`,
          value: 'm'.repeat(m.memo_bytes),
          headers: {},
        }));
      },
      async markPublished(tx, ids) {
        await tx.query(`UPDATE ${SCHEMA}.payout_mark SET sent_at = now() WHERE id = ANY($1::bigint[])`, [
          ids,
        ]);
      },
    };
    const relay = new OutboxRelay(client, ds, { schema: SCHEMA, source });
    try {
      expect(await relay.relayOnce()).toBe(5);
      expect(await relay.relayOnce()).toBe(0);
    } finally {
      await relay.stop();
    }
    // At least once: what the broker took from the refused request is sent again while halving.
    const onTopic = await readTopic(kafka, topic, 4);
    expect([...new Set(onTopic.map((m) => m.key))].sort()).toEqual(['M1', 'M2', 'M4', 'M5']);
    const parked = await ds.query<{ dedupe_key: string; bytes: number; park_reason: string }[]>(
      `SELECT dedupe_key, octet_length(value) AS bytes, park_reason FROM ${SCHEMA}.outbox WHERE parked_at IS NOT NULL`,
    );
    expect(parked).toHaveLength(1);
    expect(parked[0]).toMatchObject({ dedupe_key: 'parked:payout-mark-relay:test:3', bytes: 200_000 });
    expect(parked[0]!.park_reason).toMatch(/^MESSAGE_TOO_LARGE/);
    expect((await readiness()).status).toBe(503);
  });

  it('lists parked rows and the backlog per service in `cse messaging status`', async () => {
    await migrateAll();
    const settlement = await openDataSource('settlement');
    const printed: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    });
    try {
      await settlement.transaction((tx) =>
        enqueueOutbox(tx, 'settlement', [
          { topic: `${prefix}settlement.payout-requested.v1`, key: '17', value: 'a payout request' },
          { topic: `${prefix}settlement.payout-requested.v1`, key: '18', value: 'another' },
        ]),
      );
      await settlement.query(
        `UPDATE settlement.outbox SET parked_at = now(), park_reason = 'MESSAGE_TOO_LARGE: refused' WHERE message_key = '17'`,
      );
      const [status] = await messagingStatusCommand({ service: 'settlement', json: true });
      expect(status).toMatchObject({
        schema: 'settlement',
        ready: false,
        unpublished: 1,
        parkedCount: 1,
        parked: [
          {
            key: '17',
            topic: `${prefix}settlement.payout-requested.v1`,
            reason: 'MESSAGE_TOO_LARGE: refused',
          },
        ],
      });
      expect(JSON.parse(printed.join(''))).toEqual([JSON.parse(JSON.stringify(status))]);
      printed.length = 0;
      await messagingStatusCommand({ service: 'settlement' });
      expect(printed.join('')).toMatch(
        /parked \(the broker refused them; not published\):[\s\S]*MESSAGE_TOO_LARGE: refused/,
      );

      const id = status!.parked[0]!.id;
      const unparked = await messagingUnparkCommand({
        id,
        service: 'settlement',
        as: 'ops.li',
        reason: 'fixed',
        json: true,
      });
      expect(unparked).toMatchObject({ id, key: '17', parkReason: 'MESSAGE_TOO_LARGE: refused' });
      await expect(
        messagingUnparkCommand({ id, service: 'settlement', as: 'ops.li', reason: 'again' }),
      ).rejects.toThrow(`NOT_PARKED: outbox row ${id} in settlement is not parked`);
      const [after] = await messagingStatusCommand({ service: 'settlement', json: true });
      expect(after).toMatchObject({ ready: true, unpublished: 2, parkedCount: 0 });
    } finally {
      write.mockRestore();
      await settlement.destroy();
    }
  });

  it('publishes dead letters of two 600 KB messages clipped, with size and SHA-256, and what was behind them', async () => {
    const topic = `${prefix}dead.in`;
    const emitted = `${prefix}dead.out`;
    await ensureTopics(admin, [topic, dlqTopicOf(topic), emitted], 3);
    const consumer = new EventConsumer(client, ds, {
      name: 'jam-test',
      groupId: `${prefix}dead`,
      topic,
      schema: SCHEMA,
      decode,
      handler: new TestHandler(emitted),
      backoff: { initialDelayMs: 10, maxDelayMs: 50 },
    });
    const relay = new OutboxRelay(client, ds, { schema: SCHEMA, idlePollMs: 50 });
    // Not JSON: the decoder refuses them (INVALID). Same key, so their dead letters share a DLQ
    // partition: 1.2 MB in one record batch, over the broker's 1 MB.
    const huge = ['a', 'b'].map((c) => ({ key: 'M00003', value: c.repeat(600 * 1024) }));
    try {
      await consumer.start();
      await publish(kafka, topic, huge, 1); // one per request: each fits the broker, both do not
      await publish(kafka, topic, events('payout', 9));
      await waitFor(
        'lag 0',
        () => consumerLag(admin, `${prefix}dead`, topic),
        (lag) => lag === 0,
      );
      // Everything is in the outbox before the relay starts, as when the incident's relay
      // fetched the two dead letters and the payout requests behind them in one batch.
      expect(await countWhere(ds, 'published_at IS NULL')).toBe(11);
      await relay.start();
      await waitFor(
        'every outbox row published',
        () => countWhere(ds, 'published_at IS NULL'),
        (n) => n === 0,
        60_000,
      );
    } finally {
      await relay.stop();
      await consumer.stop();
    }

    const dead = await readTopic(kafka, dlqTopicOf(topic), 2);
    expect(dead).toHaveLength(2);
    for (const d of dead) {
      const original = huge.find((h) => h.value.startsWith(d.value.slice(0, 1)))!.value;
      expect(Buffer.byteLength(d.value)).toBe(DEAD_LETTER_VALUE_BYTES_MAX);
      expect(original.startsWith(d.value)).toBe(true);
      expect(d.headers).toMatchObject({
        [DLQ_HEADER.kind]: 'INVALID',
        [DLQ_HEADER.valueBytes]: String(600 * 1024),
        [DLQ_HEADER.valueSha256]: createHash('sha256').update(original).digest('hex'),
        [DLQ_HEADER.valueTruncated]: 'true',
      });
    }
    expect(await readTopic(kafka, emitted, 9)).toHaveLength(9);
    expect(await countWhere(ds, 'parked_at IS NOT NULL')).toBe(0);
    // The whole original stays in the database: what `dlq list` shows and `dlq replay` re-sends.
    const letters = await listDeadLetters(ds, SCHEMA);
    expect(letters.map((l) => l.value.length)).toEqual([600 * 1024, 600 * 1024]);
  });
});

async function countWhere(ds: DataSource, condition: string): Promise<number> {
  const [row] = await ds.query<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM ${SCHEMA}.outbox WHERE ${condition}`,
  );
  return row!.n;
}
