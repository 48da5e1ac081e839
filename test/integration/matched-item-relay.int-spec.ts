/**
 * Matched items reach Kafka: the sample day's run marks 24 transactions, the matched-item relay
 * publishes them on the real broker as recon.item-matched.v1 (keyed by merchant, valid against
 * the contract clearing parses with), marks them published, and has nothing left to send after.
 * The same for a run made on import (ADR 013), whose matched lines the relay releases itself —
 * once, whether a re-run comes before or after it.
 */
import path from 'node:path';
import { decodeReconItemMatchedV1, TOPIC, type PaymentsTransactionV1 } from '@app/contracts';
import { OutboxRelay } from '@app/messaging';
import type { DataSource } from 'typeorm';
import {
  DEFAULT_CHANNEL_CALENDAR,
  toInternalTransaction,
  InternalTransactionRepository,
  MatchRunService,
  matchedItemSource,
  StatementImportService,
} from '../../apps/reconciliation/src/index.js';
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

describe.each(['relay first', 're-run first'] as const)(
  'matched-item relay after a run made on import, %s (real Kafka and Postgres)',
  (order) => {
    let db: DataSource;
    const prefix = `${process.env.KAFKA_TOPIC_PREFIX ?? ''}relay_import_${Date.now()}_`;

    beforeAll(async () => {
      await useIsolatedDatabase(order === 'relay first' ? 'matched_on_import_a' : 'matched_on_import_b');
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
    });

    afterAll(async () => {
      await db?.destroy();
    });

    it('publishes each matched transaction once, with its statement line', async () => {
      const imported = await new StatementImportService(db).import({
        channel: 'WECHAT',
        format: 'generic',
        filePath: path.join(SAMPLES_DIR, 'generic-2026-11-22.csv'),
        businessDate: '2026-11-22',
        silent: true,
        match: true,
      });
      const run = imported.matchRun!;
      expect(run.counts.MATCHED).toBe(24);
      const kafka = testKafka();
      const relay = new OutboxRelay(kafka, db, {
        schema: 'reconciliation',
        source: matchedItemSource(prefix),
        batchSizeMax: 10,
      });
      const drain = async (): Promise<number> => {
        let sent = 0;
        for (let batch = await relay.relayOnce(); batch > 0; batch = await relay.relayOnce()) sent += batch;
        return sent;
      };
      let rerunEmitted: number;
      let sent: number;
      try {
        if (order === 'relay first') {
          sent = await drain();
          rerunEmitted = (await new MatchRunService(db).run('WECHAT', '2026-11-22')).emitted;
          sent += await drain();
        } else {
          rerunEmitted = (await new MatchRunService(db).run('WECHAT', '2026-11-22')).emitted;
          sent = await drain();
        }
        expect(await relay.relayOnce()).toBe(0);
      } finally {
        await relay.stop();
      }
      expect(sent).toBe(24);
      // The re-run releases what the relay has not yet; never both.
      expect(rerunEmitted).toBe(order === 'relay first' ? 0 : 24);
      const [state] = await db.query<
        [{ released: number; unpublished: number; through: number; lines: number }]
      >(
        `SELECT (SELECT count(*)::int FROM reconciliation.matched_item) AS released,
                (SELECT count(*)::int FROM reconciliation.matched_item WHERE published_at IS NULL) AS unpublished,
                f.published_through_seq AS through, f.line_count AS lines
         FROM reconciliation.statement_file f WHERE f.id = $1`,
        [imported.statementFileId],
      );
      expect(state).toEqual({ released: 24, unpublished: 0, through: imported.lines, lines: imported.lines });

      const messages = await readTopic(kafka, `${prefix}${TOPIC.reconItemMatchedV1}`, 24);
      expect(messages).toHaveLength(24);
      const transactions = new Set<string>();
      for (const message of messages) {
        const decoded = decodeReconItemMatchedV1(message.value);
        if (!decoded.ok) throw new Error(decoded.reason);
        expect(message.key).toBe(decoded.value.merchantId);
        expect(decoded.value).toMatchObject({ matchedBy: 'MATCH_RUN', channel: 'WECHAT' });
        expect(decoded.value.statementLine).toMatchObject({ statementFileId: imported.statementFileId });
        expect(decoded.value.statementLine?.amount).toBe(decoded.value.transaction.amount);
        transactions.add(decoded.value.transaction.eventId);
      }
      expect(transactions.size).toBe(24);
      const admin = kafka.admin();
      await admin.connect();
      try {
        await admin.deleteTopics({ topics: [`${prefix}${TOPIC.reconItemMatchedV1}`] });
      } finally {
        await admin.disconnect();
      }
    });
  },
);
