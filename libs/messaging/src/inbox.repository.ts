import type { EntityManager } from 'typeorm';
import { copyRows, fastPathUnlessDuplicate, quoteIdent } from '@app/platform';

export interface InboxEntry {
  eventId: string;
  topic: string;
  partition: number;
  offset: string;
}

/**
 * Records that `consumer` handles these events, in the caller's transaction, and returns the ids
 * seen for the first time. Only those may take effect: a redelivered event finds its row already
 * there and is skipped, which is what makes at-least-once delivery apply each event once.
 */
export async function claimInbox(
  tx: EntityManager,
  schema: string,
  consumer: string,
  entries: InboxEntry[],
): Promise<Set<string>> {
  if (entries.length === 0) return new Set();
  // Almost always every event is new: COPY them all. A redelivery (after a crash or rebalance)
  // makes COPY fail on the primary key, and only then is the slower set-based upsert used.
  return fastPathUnlessDuplicate(
    tx,
    async () => {
      await copyRows(
        tx,
        `${quoteIdent(schema)}.inbox`,
        ['consumer', 'event_id', 'topic', 'partition', 'kafka_offset'],
        entries.map((e) => [consumer, e.eventId, e.topic, e.partition, e.offset]),
      );
      return new Set(entries.map((e) => e.eventId));
    },
    () => claimInboxSkippingSeen(tx, schema, consumer, entries),
  );
}

async function claimInboxSkippingSeen(
  tx: EntityManager,
  schema: string,
  consumer: string,
  entries: InboxEntry[],
): Promise<Set<string>> {
  const rows = await tx.query<{ event_id: string }[]>(
    `INSERT INTO ${quoteIdent(schema)}.inbox (consumer, event_id, topic, partition, kafka_offset)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int[], $5::bigint[])
     ON CONFLICT (consumer, event_id) DO NOTHING
     RETURNING event_id`,
    [
      consumer,
      entries.map((e) => e.eventId),
      entries.map((e) => e.topic),
      entries.map((e) => e.partition),
      entries.map((e) => e.offset),
    ],
  );
  return new Set(rows.map((r) => r.event_id));
}
