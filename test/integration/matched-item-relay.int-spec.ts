/**
 * Matched items reach Kafka: the sample day's run marks 24 transactions, the matched-item relay
 * publishes them on the real broker as recon.item-matched.v1 (keyed by merchant, valid against
 * the contract clearing parses with), marks them published, and has nothing left to send after.
 */
import path from 'node:path';
import { decodeReconItemMatchedV1, TOPIC, type PaymentsTransactionV1 } from '@app/contracts';
import { OutboxRelay } from '@app/messaging';
import type { DataSource } from 'typeorm';
import { DEFAULT_CHANNEL_CALENDAR } from '../../apps/reconciliation/src/ingest/channel-calendar.repository.js';
import { toInternalTransaction } from '../../apps/reconciliation/src/ingest/internal-transaction.js';
import { InternalTransactionRepository } from '../../apps/reconciliation/src/ingest/internal-transaction.repository.js';
import { MatchRunService } from '../../apps/reconciliation/src/matching/match-run.service.js';
import { matchedItemSource } from '../../apps/reconciliation/src/matching/matched-item.source.js';
import { StatementImportService } from '../../apps/reconciliation/src/statement/statement-import.service.js';
import {
  migrateAll,
  openDataSource,
  readLines,
  readTopic,
  SAMPLES_DIR,
  testKafka,
  useIsolatedDatabase,
} from '../support/infra.js';

describe('matched-item relay (real Kafka and Postgres)', () => {
  let db: DataSource;
  const prefix = `${process.env.KAFKA_TOPIC_PREFIX ?? ''}relay_${Date.now()}_`;

  beforeAll(async () => {
    await useIsolatedDatabase('matched_item_relay');
    await migrateAll();
    db = await openDataSource('reconciliation');
    const events = (await readLines(path.join(SAMPLES_DIR, 'internal-events.jsonl'))).map(
      (l) => JSON.parse(l) as PaymentsTransactionV1,
    );
    await db.transaction((tx) =>
      new InternalTransactionRepository().insertMany(
        tx,
        events.map((e) => toInternalTransaction(e, DEFAULT_CHANNEL_CALENDAR)),
      ),
    );
    await new StatementImportService(db).import({
      channel: 'WECHAT',
      format: 'generic',
      filePath: path.join(SAMPLES_DIR, 'generic-2026-11-22.csv'),
      businessDate: '2026-11-22',
      silent: true,
    });
  });

  afterAll(async () => {
    await db?.destroy();
  });

  it('publishes each matched transaction once, keyed by merchant, as a valid recon.item-matched.v1', async () => {
    const run = await new MatchRunService(db).run('WECHAT', '2026-11-22');
    expect(run.emitted).toBe(24);
    const kafka = testKafka();
    const relay = new OutboxRelay(kafka, db, {
      schema: 'reconciliation',
      source: matchedItemSource(prefix),
      batchSizeMax: 10,
    });
    try {
      let sent = 0;
      for (let batch = await relay.relayOnce(); batch > 0; batch = await relay.relayOnce()) sent += batch;
      expect(sent).toBe(24);
      expect(await relay.relayOnce()).toBe(0);
    } finally {
      await relay.stop();
    }
    const [state] = await db.query<[{ published: string; unpublished: string }]>(
      `SELECT count(*) FILTER (WHERE published_at IS NOT NULL)::text AS published,
              count(*) FILTER (WHERE published_at IS NULL)::text AS unpublished
       FROM reconciliation.matched_item`,
    );
    expect(state).toEqual({ published: '24', unpublished: '0' });

    const messages = await readTopic(kafka, `${prefix}${TOPIC.reconItemMatchedV1}`, 24);
    expect(messages).toHaveLength(24);
    const eventIds = new Set<string>();
    for (const message of messages) {
      const decoded = decodeReconItemMatchedV1(message.value);
      if (!decoded.ok) throw new Error(decoded.reason);
      expect(message.key).toBe(decoded.value.merchantId);
      expect(decoded.value).toMatchObject({
        matchedBy: 'MATCH_RUN',
        matchRunId: run.matchRunId,
        channel: 'WECHAT',
      });
      expect(decoded.value.statementLine?.amount).toBe(decoded.value.transaction.amount);
      eventIds.add(decoded.value.eventId);
    }
    expect(eventIds.size).toBe(24);

    // A re-run marks nothing new, so nothing more is published.
    expect((await new MatchRunService(db).run('WECHAT', '2026-11-22')).emitted).toBe(0);
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: [`${prefix}${TOPIC.reconItemMatchedV1}`] });
    } finally {
      await admin.disconnect();
    }
  });
});
