/**
 * payments.transaction.v1 → reconciliation.internal_transaction on the real broker and Postgres:
 * the sample day published twice plus three malformed messages.
 */
import { Test, type TestingModule } from '@nestjs/testing';
import { dlqTopicOf, TOPIC } from '@app/contracts';
import { consumerLag, DLQ_HEADER, ensureTopics } from '@app/messaging';
import { Decimal } from 'decimal.js';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import {
  ReconciliationModule,
  TRANSACTION_INGEST_GROUP,
  TransactionIngestConsumer,
} from '../../apps/reconciliation/src/index.js';
import {
  openDataSource,
  publish,
  readLines,
  readTopic,
  SAMPLES_DIR,
  testKafka,
  waitFor,
  useIsolatedDatabase,
} from '../support/infra.js';

const prefix = () => process.env.KAFKA_TOPIC_PREFIX ?? '';

describe('transaction ingest (real Kafka + Postgres)', () => {
  const kafka = testKafka();
  const admin = kafka.admin();
  let app: TestingModule;
  let db: DataSource;
  const topic = () => `${prefix()}${TOPIC.paymentsTransactionV1}`;

  beforeAll(async () => {
    await useIsolatedDatabase('ingest');
    await admin.connect();
    await ensureTopics(admin, [topic(), dlqTopicOf(topic())], 3);
    app = await Test.createTestingModule({ imports: [ReconciliationModule] }).compile();
    app.enableShutdownHooks();
    await app.init();
    db = await openDataSource('reconciliation');
  });

  afterAll(async () => {
    await app?.close();
    await db?.destroy();
    await admin.disconnect();
  });

  const tDayEntries = async () => {
    const [row] = await db.query<{ count: number }[]>(
      `SELECT count(*)::int AS count FROM ledger.journal_entry WHERE idempotency_key LIKE 'recon.t-day:%'`,
    );
    return row!.count;
  };

  it('stores each of the 36 sample transactions once, dead-letters 3 malformed messages, and ends with lag 0', async () => {
    const lines = await readLines(path.join(SAMPLES_DIR, 'internal-events.jsonl'));
    expect(lines).toHaveLength(36);
    const sample = lines.map((value) => ({
      key: (JSON.parse(value) as { merchantId: string }).merchantId,
      value,
    }));
    const malformed = [
      { key: 'M00001', value: '{"eventId":"bad-json","type":"PAYMENT_SUCCEEDED",' },
      {
        key: 'M00002',
        value: JSON.stringify({
          eventId: 'e-number-amount',
          type: 'PAYMENT_SUCCEEDED',
          occurredAt: '2026-11-22T01:00:00.000Z',
          merchantId: 'M00002',
          channel: 'WECHAT',
          orderNo: 'O-NUMBER-AMOUNT',
          amount: 239.54,
          currency: 'CNY',
        }),
      },
      {
        key: null,
        value: JSON.stringify({
          eventId: 'e-no-merchant',
          type: 'PAYMENT_SUCCEEDED',
          occurredAt: '2026-11-22T01:00:00.000Z',
          channel: 'WECHAT',
          orderNo: 'O-NO-MERCHANT',
          amount: '10.00',
          currency: 'CNY',
        }),
      },
    ];
    await publish(kafka, topic(), [...sample, malformed[0]!, ...sample, malformed[1]!, malformed[2]!]);

    const groupId = `${prefix()}${TRANSACTION_INGEST_GROUP}`;
    await waitFor(
      'consumer lag 0',
      () => consumerLag(admin, groupId, topic()),
      (lag) => lag === 0,
    );

    const [stored] = await db.query<
      { count: number; events: number; amount: string; refunds: number; on_business_date: number }[]
    >(
      `SELECT count(*)::int AS count, count(DISTINCT event_id)::int AS events, sum(amount)::text AS amount,
              count(*) FILTER (WHERE event_type = 'REFUND_SUCCEEDED')::int AS refunds,
              count(*) FILTER (WHERE business_date = '2026-11-22')::int AS on_business_date
       FROM reconciliation.internal_transaction`,
    );
    const expectedAmount = lines
      .map((l) => new Decimal((JSON.parse(l) as { amount: string }).amount))
      .reduce((a, b) => a.plus(b), new Decimal(0));
    expect(stored).toEqual({
      count: 36,
      events: 36,
      amount: expectedAmount.toFixed(2),
      refunds: 3,
      on_business_date: 36,
    });
    // Several events are on 2026-11-21 in UTC: only Asia/Shanghai puts all 36 on the 22nd.
    expect(lines.filter((l) => l.includes('"occurredAt":"2026-11-21')).length).toBeGreaterThan(0);

    const [inbox] = await db.query<{ count: number }[]>(
      `SELECT count(*)::int AS count FROM reconciliation.inbox`,
    );
    expect(inbox!.count).toBe(36);
    // Each recorded transaction got its T-day ledger entry in the same transaction, once.
    expect(await tDayEntries()).toBe(36);

    const dead = await readTopic(kafka, dlqTopicOf(topic()), 3);
    expect(dead).toHaveLength(3);
    const byValue = new Map(dead.map((d) => [d.value, d]));
    expect(byValue.get(malformed[0]!.value)?.headers[DLQ_HEADER.reason]).toMatch(/^invalid JSON/);
    expect(byValue.get(malformed[1]!.value)?.headers[DLQ_HEADER.reason]).toMatch(/amount: .*JSON number/);
    expect(byValue.get(malformed[2]!.value)?.headers[DLQ_HEADER.reason]).toMatch(/merchantId/);
    for (const d of dead) {
      expect(d.headers[DLQ_HEADER.kind]).toBe('INVALID');
      expect(d.headers[DLQ_HEADER.sourceTopic]).toBe(topic());
    }

    const stats = app.get(TransactionIngestConsumer).consumer.stats;
    expect(stats).toMatchObject({ applied: 36, deadLettered: 3 });
    // The replay's 36 at least; a rebalance between a batch's DB commit and its offset commit
    // redelivers that batch too (at-least-once), and the inbox absorbs it: applied stays 36.
    expect(stats.duplicates).toBeGreaterThanOrEqual(36);
    expect(await consumerLag(admin, groupId, topic())).toBe(0);
  });

  it('records a re-send under a new event id once, and dead-letters one that contradicts the recorded facts', async () => {
    const [first] = await readLines(path.join(SAMPLES_DIR, 'internal-events.jsonl'));
    const original = JSON.parse(first!) as { eventId: string; merchantId: string; amount: string };
    const resend = { ...original, eventId: `${original.eventId}-resend` };
    const contradiction = { ...original, eventId: `${original.eventId}-contradiction`, amount: '1.00' };
    await publish(kafka, topic(), [
      { key: original.merchantId, value: JSON.stringify(resend) },
      { key: original.merchantId, value: JSON.stringify(contradiction) },
    ]);
    const groupId = `${prefix()}${TRANSACTION_INGEST_GROUP}`;
    await waitFor(
      'consumer lag 0',
      () => consumerLag(admin, groupId, topic()),
      (lag) => lag === 0,
    );

    const [stored] = await db.query<{ count: number }[]>(
      `SELECT count(*)::int AS count FROM reconciliation.internal_transaction`,
    );
    expect(stored!.count).toBe(36);
    expect(await tDayEntries()).toBe(36);
    const dead = await readTopic(kafka, dlqTopicOf(topic()), 4);
    const rejected = dead.filter((d) => d.headers[DLQ_HEADER.kind] === 'REJECTED');
    expect(rejected).toHaveLength(1);
    expect(JSON.parse(rejected[0]!.value)).toMatchObject({ eventId: contradiction.eventId });
    expect(rejected[0]!.headers[DLQ_HEADER.reason]).toBe(
      `conflicts with event ${original.eventId} already recorded for the same transaction: amount ${original.amount} ≠ 1.00`,
    );
  });
});
