/**
 * Inbox/outbox retention on the real Postgres: published outbox rows and inbox rows past their
 * retention are deleted in batches; unpublished rows and dead letters are kept whatever their age;
 * a second prune deletes nothing; a retention shorter than the topics keep messages is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DLQ_HEADER, pruneMessaging, RetentionPolicyError } from '@app/messaging';
import type { DataSource } from 'typeorm';
import { migrateAll, openDataSource, useIsolatedDatabase } from '../support/infra.js';

const NOW = new Date('2026-11-25T02:00:00Z');
const daysAgo = (days: number) => new Date(NOW.getTime() - days * 86_400_000).toISOString();

describe('messaging retention (real Postgres)', () => {
  let db: DataSource;

  const outbox = (topic: string, createdDaysAgo: number, publishedDaysAgo: number | null, dead = false) =>
    db.query(
      `INSERT INTO clearing.outbox (topic, message_key, value, headers, created_at, published_at)
       VALUES ($1, 'k', 'v'::bytea, $2, $3, $4)`,
      [
        topic,
        JSON.stringify(dead ? { [DLQ_HEADER.kind]: 'REJECTED' } : {}),
        daysAgo(createdDaysAgo),
        publishedDaysAgo === null ? null : daysAgo(publishedDaysAgo),
      ],
    );
  const remaining = () => db.query<{ topic: string }[]>('SELECT topic FROM clearing.outbox ORDER BY id');

  beforeAll(async () => {
    await useIsolatedDatabase('messaging_retention');
    await migrateAll();
    db = await openDataSource('clearing');
    for (let i = 0; i < 6; i += 1) await outbox(`old-published-${i}`, 10, 10);
    await outbox('recent-published', 2, 2);
    await outbox('old-unpublished', 30, null);
    await outbox('old-dead-letter.dlq', 30, 30, true);
    for (const [event, age] of [
      ['e1', 40],
      ['e2', 40],
      ['e3', 36],
      ['e4', 10],
    ] as const)
      await db.query(
        `INSERT INTO clearing.inbox (consumer, event_id, topic, partition, kafka_offset, processed_at)
         VALUES ('clearing', $1, 't', 0, 0, $2)`,
        [event, daysAgo(age)],
      );
  }, 60_000);

  afterAll(async () => {
    await db?.destroy();
  });

  it('deletes only what is past retention, in batches, and keeps unpublished rows and dead letters', async () => {
    const result = await pruneMessaging(db, 'clearing', { now: NOW, batchSize: 2 });
    expect(result).toEqual({
      schema: 'clearing',
      outboxBefore: daysAgo(7),
      outboxDeleted: 6,
      inboxBefore: daysAgo(35),
      inboxDeleted: 3,
    });
    expect((await remaining()).map((r) => r.topic)).toEqual([
      'recent-published',
      'old-unpublished',
      'old-dead-letter.dlq',
    ]);
    const inbox = await db.query<{ event_id: string }[]>('SELECT event_id FROM clearing.inbox');
    expect(inbox).toEqual([{ event_id: 'e4' }]);
  });

  it('deletes nothing more on a second run, and honours shorter retentions', async () => {
    expect(await pruneMessaging(db, 'clearing', { now: NOW })).toMatchObject({
      outboxDeleted: 0,
      inboxDeleted: 0,
    });
    expect(await pruneMessaging(db, 'clearing', { now: NOW, outboxDays: 1, inboxDays: 8 })).toMatchObject({
      outboxDeleted: 1,
      inboxDeleted: 1,
    });
    expect((await remaining()).map((r) => r.topic)).toEqual(['old-unpublished', 'old-dead-letter.dlq']);
  });

  it('refuses an inbox retention shorter than the topics keep messages, deleting nothing', async () => {
    await outbox('published-yesterday', 1, 1);
    await expect(pruneMessaging(db, 'clearing', { now: NOW, outboxDays: 0 })).rejects.toThrow(
      RetentionPolicyError,
    );
    await expect(pruneMessaging(db, 'clearing', { now: NOW, inboxDays: 7 })).rejects.toThrow(
      'inboxDays must be a whole number of days ≥ 8, got 7',
    );
    expect(await remaining()).toHaveLength(3);
  });
});
