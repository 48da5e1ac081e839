import type { EntityManager } from 'typeorm';
import { quoteIdent } from '@app/platform';

/** A row the relay set aside because the broker refused it for good (outbox-relay.ts). */
export interface ParkedOutboxRow {
  id: string;
  topic: string;
  key: string | null;
  /** Size of the stored value: what the broker was offered (a dead letter's clipped copy excepted). */
  valueBytes: number;
  parkedAt: string;
  reason: string;
}

/** What a service's outbox still owes the broker: the input of readiness and `messaging status`. */
export interface OutboxStatus {
  schema: string;
  /** Rows waiting for the relay (parked rows not counted). */
  unpublished: number;
  oldestUnpublishedAt: string | null;
  oldestUnpublishedAgeMs: number | null;
  parkedCount: number;
  /** The oldest parked rows, at most `parkedLimit`. */
  parked: ParkedOutboxRow[];
}

/**
 * Reads the outbox's backlog with index scans only where the backlog can be large: the count of
 * unpublished rows from the partial index on them, the oldest one from its front, parked rows
 * (few) from their own partial index.
 */
export async function outboxStatus(
  db: Pick<EntityManager, 'query'>,
  schema: string,
  options: { parkedLimit?: number } = {},
): Promise<OutboxStatus> {
  const s = quoteIdent(schema);
  const [counts] = await db.query<{ waiting: number; parked: number }[]>(
    `SELECT (SELECT count(*)::int FROM ${s}.outbox WHERE published_at IS NULL) AS waiting,
            (SELECT count(*)::int FROM ${s}.outbox WHERE parked_at IS NOT NULL AND published_at IS NULL) AS parked`,
  );
  const [oldest] = await db.query<{ created_at: Date; age_ms: string }[]>(
    `SELECT created_at, (extract(epoch FROM clock_timestamp() - created_at) * 1000)::bigint::text AS age_ms
     FROM ${s}.outbox WHERE published_at IS NULL AND parked_at IS NULL ORDER BY id LIMIT 1`,
  );
  const parked = await db.query<
    {
      id: string;
      topic: string;
      message_key: string | null;
      value_bytes: number;
      parked_at: Date;
      park_reason: string;
    }[]
  >(
    `SELECT id::text AS id, topic, message_key, octet_length(value) AS value_bytes, parked_at, park_reason
     FROM ${s}.outbox WHERE parked_at IS NOT NULL AND published_at IS NULL ORDER BY id LIMIT $1`,
    [options.parkedLimit ?? 100],
  );
  return {
    schema,
    unpublished: counts!.waiting - counts!.parked,
    oldestUnpublishedAt: oldest ? oldest.created_at.toISOString() : null,
    oldestUnpublishedAgeMs: oldest ? Math.max(0, Number(oldest.age_ms)) : null,
    parkedCount: counts!.parked,
    parked: parked.map((r) => ({
      id: r.id,
      topic: r.topic,
      key: r.message_key,
      valueBytes: r.value_bytes,
      parkedAt: r.parked_at.toISOString(),
      reason: r.park_reason,
    })),
  };
}

/**
 * Why a service is not ready, empty when it is: a parked row (something the other services were
 * owed will not arrive until a person acts) or an unpublished row older than `unpublishedAgeMaxMs`
 * (the relay is stuck or far behind).
 */
export function outboxNotReadyReasons(status: OutboxStatus, unpublishedAgeMaxMs: number): string[] {
  const reasons: string[] = [];
  if (status.parkedCount > 0)
    reasons.push(
      `${status.parkedCount} outbox row(s) parked: the broker refused them for good (cse messaging status --service ${status.schema})`,
    );
  if (status.oldestUnpublishedAgeMs !== null && status.oldestUnpublishedAgeMs > unpublishedAgeMaxMs)
    reasons.push(
      `the oldest unpublished outbox row is ${status.oldestUnpublishedAgeMs} ms old, more than ${unpublishedAgeMaxMs} ms (OUTBOX_UNPUBLISHED_AGE_MAX_MS)`,
    );
  return reasons;
}
