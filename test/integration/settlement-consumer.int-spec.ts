/**
 * clearing.item-cleared.v1 into settlement on the real Kafka and Postgres: the settlement service
 * booted (Nest, its schema and the ledger's migrated at boot), a few cleared items published twice
 * and stored once each, an invalid message dead-lettered with its reason.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { dlqTopicOf, TOPIC } from '@app/contracts';
import { consumerLag, DLQ_HEADER, ensureTopics } from '@app/messaging';
import type { DataSource } from 'typeorm';
import { ITEM_CLEARED_GROUP, SettlementModule, itemCleared } from '../../apps/settlement/src/index.js';
import {
  openDataSource,
  publish,
  readTopic,
  testKafka,
  useIsolatedDatabase,
  waitFor,
} from '../support/infra.js';

describe('settlement consumes clearing.item-cleared.v1 (real Kafka + Postgres)', () => {
  const kafka = testKafka();
  const admin = kafka.admin();
  const basePrefix = process.env.KAFKA_TOPIC_PREFIX ?? '';
  const prefix = `${basePrefix}settlement_e2e_${Date.now()}.`;
  const topic = `${prefix}${TOPIC.clearingItemClearedV1}`;
  const group = `${prefix}${ITEM_CLEARED_GROUP}`;
  let app: INestApplication;
  let db: DataSource;

  beforeAll(async () => {
    await useIsolatedDatabase('settlement_consumer');
    process.env.KAFKA_TOPIC_PREFIX = prefix;
    await admin.connect();
    await ensureTopics(admin, [topic, dlqTopicOf(topic)], 3);
    app = await NestFactory.create(SettlementModule, { logger: ['error', 'warn'] });
    app.enableShutdownHooks();
    await app.init();
    db = await openDataSource('settlement');
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await db?.destroy();
    await admin.disconnect();
    process.env.KAFKA_TOPIC_PREFIX = basePrefix;
  });

  it('stores each cleared item once, however often it is delivered; dead-letters what the contract refuses', async () => {
    const events = [
      itemCleared('M_K1', '2026-09-28', '99.00'),
      itemCleared('M_K1', '2026-09-28', '-9.50'),
      itemCleared('M_K2', '2026-09-29', '0.01'),
    ];
    const messages = events.map((e) => ({ key: e.merchantId, value: JSON.stringify(e) }));
    await publish(kafka, topic, messages);
    await publish(kafka, topic, [
      ...messages,
      { key: 'M_K3', value: JSON.stringify({ ...events[0], net: '1.00' }) },
    ]);
    await waitFor(
      `lag 0 of ${group}`,
      () => consumerLag(admin, group, topic),
      (lag) => lag === 0,
      90_000,
    );
    const rows = await db.query<Record<string, string>[]>(
      `SELECT merchant_id, to_char(business_date, 'YYYY-MM-DD') AS business_date, type, gross::text, fee::text,
              net::text, settlement_record_id
       FROM settlement.cleared_item ORDER BY merchant_id, net DESC`,
    );
    expect(rows).toEqual([
      {
        merchant_id: 'M_K1',
        business_date: '2026-09-28',
        type: 'PAYMENT',
        gross: '100.00',
        fee: '1.00',
        net: '99.00',
        settlement_record_id: null,
      },
      {
        merchant_id: 'M_K1',
        business_date: '2026-09-28',
        type: 'REFUND',
        gross: '-9.50',
        fee: '0.00',
        net: '-9.50',
        settlement_record_id: null,
      },
      {
        merchant_id: 'M_K2',
        business_date: '2026-09-29',
        type: 'PAYMENT',
        gross: '1.01',
        fee: '1.00',
        net: '0.01',
        settlement_record_id: null,
      },
    ]);
    const [inbox] = await db.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM settlement.inbox WHERE consumer = 'item-cleared'`,
    );
    expect(inbox!.n).toBe(3);
    const dead = await readTopic(kafka, dlqTopicOf(topic), 1);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.headers[DLQ_HEADER.kind]).toBe('INVALID');
    expect(dead[0]!.headers[DLQ_HEADER.reason]).toMatch(/net/);
  }, 120_000);
});
