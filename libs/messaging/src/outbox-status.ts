import type { DataSource, EntityManager } from 'typeorm';
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

export type UnparkErrorCode = 'NOT_FOUND' | 'NOT_PARKED' | 'BAD_REQUEST';

export class UnparkError extends Error {
  constructor(
    readonly code: UnparkErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'UnparkError';
  }
}

export interface Unparked {
  id: string;
  topic: string;
  key: string | null;
  parkReason: string;
}

/**
 * Puts a parked outbox row back in the relay's queue, once its cause is dealt with (the topic's
 * `max.message.bytes` raised, KAFKA_MESSAGE_MAX_BYTES with it), audited in `outbox_unpark`. If the
 * broker refuses it again it is parked again, with the new reason. It is published after the rows
 * that went ahead of it for the same key while it was parked.
 * @throws UnparkError NOT_FOUND, NOT_PARKED (not parked, or published since), BAD_REQUEST
 */
export async function unparkOutboxRow(
  dataSource: DataSource,
  schema: string,
  id: string,
  request: { by: string; reason: string },
): Promise<Unparked> {
  if (!/^\d{1,18}$/.test(id))
    throw new UnparkError('BAD_REQUEST', `outbox row id must be digits, got "${id}"`);
  const by = request.by.trim();
  const reason = request.reason.trim();
  if (by === '' || by.length > 200 || reason === '' || reason.length > 500)
    throw new UnparkError('BAD_REQUEST', 'unparking needs who asks and why (1 to 500 characters)');
  const s = quoteIdent(schema);
  return dataSource.transaction(async (tx) => {
    // FOR UPDATE: the relay's park and two operators' unparks of one row queue here.
    const [row] = await tx.query<
      {
        topic: string;
        message_key: string | null;
        parked_at: Date | null;
        park_reason: string | null;
        published_at: Date | null;
      }[]
    >(
      `SELECT topic, message_key, parked_at, park_reason, published_at FROM ${s}.outbox WHERE id = $1 FOR UPDATE`,
      [id],
    );
    if (!row) throw new UnparkError('NOT_FOUND', `no outbox row ${id} in ${schema}`);
    if (row.parked_at === null || row.published_at !== null)
      throw new UnparkError('NOT_PARKED', `outbox row ${id} in ${schema} is not parked`);
    await tx.query(
      `INSERT INTO ${s}.outbox_unpark (outbox_id, topic, message_key, parked_at, park_reason, unparked_by, reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [id, row.topic, row.message_key, row.parked_at, row.park_reason, by, reason],
    );
    await tx.query(`UPDATE ${s}.outbox SET parked_at = NULL, park_reason = NULL WHERE id = $1`, [id]);
    return { id, topic: row.topic, key: row.message_key, parkReason: row.park_reason! };
  });
}
