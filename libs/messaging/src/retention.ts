import type { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import { quoteIdent } from '@app/platform';
import { DLQ_HEADER } from './dead-letter.js';

/**
 * Retention of a service's inbox and outbox. Both grow by one row per event (10 million a day at
 * full volume) and neither is needed for ever:
 *
 * - a published outbox row has done its job once the broker has it; kept `outboxDays` for
 *   diagnosis. Never deleted: rows not yet published (the relay still owes them) and dead letters
 *   (the record of what failed, and what `dlq replay` re-publishes).
 * - an inbox row turns a redelivery into a no-op. Kafka redelivers only what is still on the topic,
 *   so rows older than the source topics' retention (7 days by default) plus a margin for
 *   re-publishing a backfill are safe to drop; INBOX_RETENTION_DAYS_MIN keeps anyone from going
 *   below that. Every consumer's effect tables also carry the event's business key (transaction
 *   event id, order number), a second guard behind the inbox.
 *
 * Deletes run in batches (`batchSize` rows, each its own short statement) so a prune never holds
 * locks the consumers and the relay wait for.
 */
export const OUTBOX_RETENTION_DAYS_DEFAULT = 7;
export const INBOX_RETENTION_DAYS_DEFAULT = 35;
export const INBOX_RETENTION_DAYS_MIN = 8;
const BATCH_SIZE_DEFAULT = 10_000;

export interface RetentionPolicy {
  outboxDays?: number;
  inboxDays?: number;
  batchSize?: number;
  now?: Date;
}

export interface PruneResult {
  schema: string;
  /** Published outbox rows older than this were deleted. */
  outboxBefore: string;
  outboxDeleted: number;
  /** Inbox rows processed before this were deleted. */
  inboxBefore: string;
  inboxDeleted: number;
}

export class RetentionPolicyError extends Error {
  override readonly name = 'RetentionPolicyError';
}

const DAY_MS = 86_400_000;

/** Deletes what `policy` says is no longer needed from `schema`'s outbox and inbox. */
export async function pruneMessaging(
  dataSource: DataSource,
  schema: string,
  policy: RetentionPolicy = {},
): Promise<PruneResult> {
  const outboxDays = wholeDays('outboxDays', policy.outboxDays ?? OUTBOX_RETENTION_DAYS_DEFAULT, 1);
  const inboxDays = wholeDays(
    'inboxDays',
    policy.inboxDays ?? INBOX_RETENTION_DAYS_DEFAULT,
    INBOX_RETENTION_DAYS_MIN,
  );
  const batchSize = wholeDays('batchSize', policy.batchSize ?? BATCH_SIZE_DEFAULT, 1);
  const now = (policy.now ?? new Date()).getTime();
  const outboxBefore = new Date(now - outboxDays * DAY_MS).toISOString();
  const inboxBefore = new Date(now - inboxDays * DAY_MS).toISOString();
  const s = quoteIdent(schema);

  // Old rows sit at the front of the primary key: an index scan from the smallest id finds them
  // without reading the recent ones.
  const outboxDeleted = await deleteInBatches(
    dataSource,
    `WITH doomed AS (
       SELECT id FROM ${s}.outbox
       WHERE published_at IS NOT NULL AND published_at < $1 AND NOT (headers ? '${DLQ_HEADER.kind}')
       ORDER BY id LIMIT $2),
     gone AS (DELETE FROM ${s}.outbox o USING doomed WHERE o.id = doomed.id RETURNING 1)
     SELECT count(*)::int AS n FROM gone`,
    outboxBefore,
    batchSize,
  );
  // The inbox's key is (consumer, event id); the BRIN index on processed_at finds old rows cheaply
  // because rows are appended in time order.
  const inboxDeleted = await deleteInBatches(
    dataSource,
    `WITH doomed AS (
       SELECT consumer, event_id FROM ${s}.inbox WHERE processed_at < $1 LIMIT $2),
     gone AS (
       DELETE FROM ${s}.inbox i USING doomed
       WHERE i.consumer = doomed.consumer AND i.event_id = doomed.event_id RETURNING 1)
     SELECT count(*)::int AS n FROM gone`,
    inboxBefore,
    batchSize,
  );
  return { schema, outboxBefore, outboxDeleted, inboxBefore, inboxDeleted };
}

/** Runs `sql` ($1 = cutoff, $2 = batch size) until a batch deletes fewer rows than it may. */
async function deleteInBatches(
  dataSource: DataSource,
  sql: string,
  before: string,
  batchSize: number,
): Promise<number> {
  let total = 0;
  for (;;) {
    const [row] = await dataSource.query<{ n: number }[]>(sql, [before, batchSize]);
    const n = row?.n ?? 0;
    total += n;
    if (n < batchSize) return total;
  }
}

function wholeDays(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min)
    throw new RetentionPolicyError(
      `${name} must be a whole number${name === 'batchSize' ? '' : ' of days'} ≥ ${min}, got ${String(value)}`,
    );
  return value;
}

/** The index `pruneMessaging` uses to find old inbox rows; added to every service schema. */
export function messagingRetentionMigration(schema: string): new () => MigrationInterface {
  const s = quoteIdent(schema);
  return class MessagingRetention1764000001800 implements MigrationInterface {
    readonly name = 'MessagingRetention1764000001800';

    async up(runner: QueryRunner): Promise<void> {
      // BRIN: a few pages for millions of time-ordered rows, and next to no cost per insert.
      await runner.query(`CREATE INDEX inbox_processed_at_brin ON ${s}.inbox USING brin (processed_at)`);
    }

    async down(runner: QueryRunner): Promise<void> {
      await runner.query(`DROP INDEX IF EXISTS ${s}.inbox_processed_at_brin`);
    }
  };
}
