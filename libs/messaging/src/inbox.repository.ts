import type { EntityManager } from 'typeorm';
import { copyRows, fastPathUnlessDuplicate, quoteIdent } from '@app/platform';

export interface InboxEntry {
  eventId: string;
  topic: string;
  partition: number;
  offset: string;
  /** SHA-256 of the message value (32 bytes): tells a redelivery from a conflicting re-use of the id. */
  payloadSha256: Buffer;
}

/** An event id claimed before with another payload (stored hash ≠ received hash). */
export interface InboxConflict {
  eventId: string;
  storedSha256: Buffer;
}

export interface InboxClaim {
  /** Ids seen for the first time: only these may take effect. */
  fresh: Set<string>;
  /** Ids already claimed with a different payload; the others not fresh are plain duplicates. */
  conflicts: InboxConflict[];
  /** Ids already claimed by a row from before hashes were kept: nothing to compare with. */
  unhashed: Set<string>;
}

/**
 * Records that `consumer` handles these events, in the caller's transaction, and returns the ids
 * seen for the first time. Only those may take effect: a redelivered event finds its row already
 * there and is skipped, which is what makes at-least-once delivery apply each event once.
 *
 * Each row keeps the payload's hash. A skipped id whose stored hash differs from the one received
 * is reported as a conflict — the same id reused for another event, or a publisher that changed an
 * event it had sent — so the caller can dead-letter it instead of dropping it unseen. A row written
 * before hashes were kept (payload_sha256 null) cannot be compared: treated as a plain duplicate.
 */
export async function claimInbox(
  tx: EntityManager,
  schema: string,
  consumer: string,
  entries: InboxEntry[],
): Promise<InboxClaim> {
  if (entries.length === 0) return { fresh: new Set(), conflicts: [], unhashed: new Set() };
  // Almost always every event is new: COPY them all. A redelivery (after a crash or rebalance)
  // makes COPY fail on the primary key, and only then is the slower set-based upsert used.
  return fastPathUnlessDuplicate(
    tx,
    async () => {
      await copyRows(
        tx,
        `${quoteIdent(schema)}.inbox`,
        ['consumer', 'event_id', 'topic', 'partition', 'kafka_offset', 'payload_sha256'],
        // bytea in COPY's text format: hex input (`\x…`); copyRows escapes the backslash.
        entries.map((e) => [
          consumer,
          e.eventId,
          e.topic,
          e.partition,
          e.offset,
          `\\x${e.payloadSha256.toString('hex')}`,
        ]),
      );
      return { fresh: new Set(entries.map((e) => e.eventId)), conflicts: [], unhashed: new Set() };
    },
    () => claimInboxSkippingSeen(tx, schema, consumer, entries),
  );
}

async function claimInboxSkippingSeen(
  tx: EntityManager,
  schema: string,
  consumer: string,
  entries: InboxEntry[],
): Promise<InboxClaim> {
  const s = quoteIdent(schema);
  const rows = await tx.query<{ event_id: string }[]>(
    `INSERT INTO ${s}.inbox (consumer, event_id, topic, partition, kafka_offset, payload_sha256)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int[], $5::bigint[], $6::bytea[])
     ON CONFLICT (consumer, event_id) DO NOTHING
     RETURNING event_id`,
    [
      consumer,
      entries.map((e) => e.eventId),
      entries.map((e) => e.topic),
      entries.map((e) => e.partition),
      entries.map((e) => e.offset),
      entries.map((e) => e.payloadSha256),
    ],
  );
  const fresh = new Set(rows.map((r) => r.event_id));
  const seen = entries.filter((e) => !fresh.has(e.eventId));
  const conflicts: InboxConflict[] = [];
  const unhashed = new Set<string>();
  if (seen.length === 0) return { fresh, conflicts, unhashed };
  // A statement of its own, after the insert: it sees the rows of transactions that committed
  // while the insert waited on them, which the insert's own snapshot would not.
  const stored = await tx.query<{ event_id: string; payload_sha256: Buffer | null }[]>(
    `SELECT event_id, payload_sha256 FROM ${s}.inbox WHERE consumer = $1 AND event_id = ANY($2::text[])`,
    [consumer, seen.map((e) => e.eventId)],
  );
  const storedById = new Map(stored.map((r) => [r.event_id, r.payload_sha256]));
  for (const e of seen) {
    const storedSha256 = storedById.get(e.eventId) ?? null;
    if (storedSha256 === null) unhashed.add(e.eventId);
    else if (!storedSha256.equals(e.payloadSha256)) conflicts.push({ eventId: e.eventId, storedSha256 });
  }
  return { fresh, conflicts, unhashed };
}
