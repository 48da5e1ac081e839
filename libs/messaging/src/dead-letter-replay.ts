import type { MigrationInterface, QueryRunner } from 'typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { quoteIdent } from '@app/platform';
import { DLQ_HEADER, type DeadLetterKind } from './dead-letter.js';
import { enqueueOutbox } from './outbox.repository.js';

/**
 * Re-driving dead letters (死信重放). A message a consumer dead-lettered is kept, byte for byte, in
 * the service's outbox (and on `<topic>.dlq`); once the cause is fixed — a fee rule added, funds
 * back, a bug deployed away — an operator replays it: the original key, value and headers go back
 * onto the source topic through the same outbox, so every consumer of that topic sees it again and
 * their inboxes keep it effect-once. A REJECTED message holds an inbox claim (rejection is an
 * outcome), which would turn the replay into a duplicate; the claim is released in the same
 * transaction, and only that consumer's claim at that exact position, so no other consumer can
 * apply it twice. Each dead letter is replayed at most once, audited (who, when, why); if the
 * replay fails again it is a new dead letter that can be replayed in turn.
 *
 * The replay lands at the end of the partition, after messages that came later for the same key:
 * consumers already tolerate that order (e.g. clearing parks a refund whose payment it has not
 * cleared).
 */

export interface DeadLetterView {
  /** The dead letter's outbox row id: what `replay` takes. */
  id: string;
  kind: DeadLetterKind;
  reason: string;
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: string;
  consumerGroup: string;
  /** The inbox consumer name; absent on dead letters written before it was recorded. */
  consumer: string | null;
  failedAt: string;
  key: string | null;
  /** The original value as text (UTF-8). */
  value: string;
  replayed: { by: string; at: string; reason: string } | null;
}

export interface DeadLetterFilter {
  sourceTopic?: string;
  kind?: DeadLetterKind;
  /** Also list dead letters already replayed (default: only those still to handle). */
  includeReplayed?: boolean;
  limit?: number;
}

export type DeadLetterReplayErrorCode = 'NOT_FOUND' | 'ALREADY_REPLAYED' | 'AMBIGUOUS_CLAIM' | 'BAD_REQUEST';

export class DeadLetterReplayError extends Error {
  constructor(
    readonly code: DeadLetterReplayErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DeadLetterReplayError';
  }
}

export interface DeadLetterReplay {
  id: string;
  sourceTopic: string;
  key: string | null;
  /** Inbox claims released (1 for a REJECTED message, 0 otherwise). */
  claimsReleased: number;
}

interface DeadLetterRow {
  id: string;
  topic: string;
  message_key: string | null;
  value: Buffer;
  headers: Record<string, string>;
  replayed_by: string | null;
  replayed_at: Date | null;
  replay_reason: string | null;
}

const viewOf = (row: DeadLetterRow): DeadLetterView => {
  const h = row.headers;
  return {
    id: row.id,
    kind: h[DLQ_HEADER.kind] as DeadLetterKind,
    reason: h[DLQ_HEADER.reason] ?? '',
    sourceTopic: h[DLQ_HEADER.sourceTopic] ?? '',
    sourcePartition: Number(h[DLQ_HEADER.sourcePartition]),
    sourceOffset: h[DLQ_HEADER.sourceOffset] ?? '',
    consumerGroup: h[DLQ_HEADER.consumerGroup] ?? '',
    consumer: h[DLQ_HEADER.consumer] ?? null,
    failedAt: h[DLQ_HEADER.failedAt] ?? '',
    key: row.message_key,
    value: row.value.toString('utf8'),
    replayed:
      row.replayed_by === null
        ? null
        : { by: row.replayed_by, at: row.replayed_at!.toISOString(), reason: row.replay_reason! },
  };
};

const SELECT_DEAD_LETTERS = (s: string) => `
  SELECT o.id::text AS id, o.topic, o.message_key, o.value, o.headers,
         r.replayed_by, r.replayed_at, r.reason AS replay_reason
  FROM ${s}.outbox o LEFT JOIN ${s}.dead_letter_replay r ON r.dead_letter_id = o.id
  WHERE o.headers ? '${DLQ_HEADER.kind}'`;

/** The service's dead letters, oldest first. */
export async function listDeadLetters(
  db: Pick<EntityManager, 'query'>,
  schema: string,
  filter: DeadLetterFilter = {},
): Promise<DeadLetterView[]> {
  const s = quoteIdent(schema);
  const rows = await db.query<DeadLetterRow[]>(
    `${SELECT_DEAD_LETTERS(s)}
       AND ($1::text IS NULL OR o.headers->>'${DLQ_HEADER.sourceTopic}' = $1)
       AND ($2::text IS NULL OR o.headers->>'${DLQ_HEADER.kind}' = $2)
       AND ($3 OR r.dead_letter_id IS NULL)
     ORDER BY o.id LIMIT $4`,
    [filter.sourceTopic ?? null, filter.kind ?? null, filter.includeReplayed ?? false, filter.limit ?? 1_000],
  );
  return rows.map(viewOf);
}

/**
 * Replays one dead letter onto its source topic (see the module comment).
 * @throws DeadLetterReplayError NOT_FOUND, ALREADY_REPLAYED, AMBIGUOUS_CLAIM (an old dead letter
 *   without its consumer name whose position several consumers of this service claimed), BAD_REQUEST
 */
export async function replayDeadLetter(
  dataSource: DataSource,
  schema: string,
  id: string,
  request: { by: string; reason: string },
): Promise<DeadLetterReplay> {
  if (!/^\d{1,18}$/.test(id))
    throw new DeadLetterReplayError('BAD_REQUEST', `dead letter id must be digits, got "${id}"`);
  const by = request.by.trim();
  const reason = request.reason.trim();
  if (by === '' || reason === '' || reason.length > 500)
    throw new DeadLetterReplayError('BAD_REQUEST', 'a replay needs who asks and why (1 to 500 characters)');
  const s = quoteIdent(schema);
  return dataSource.transaction(async (tx) => {
    // FOR UPDATE: two operators replaying the same dead letter queue here; the second sees the first.
    const [row] = await tx.query<DeadLetterRow[]>(`${SELECT_DEAD_LETTERS(s)} AND o.id = $1 FOR UPDATE OF o`, [
      id,
    ]);
    if (!row) throw new DeadLetterReplayError('NOT_FOUND', `no dead letter ${id} in ${schema}.outbox`);
    const dead = viewOf(row);
    if (dead.kind === 'CONFLICTING_DUPLICATE')
      // Replaying it would meet the same inbox row and be dead-lettered again: the first payload
      // was applied under this id. A corrected event has to come with an event id of its own.
      throw new DeadLetterReplayError(
        'BAD_REQUEST',
        `dead letter ${id} is a CONFLICTING_DUPLICATE (its event id was applied with another payload) and cannot be replayed; publish the corrected event under a new event id`,
      );
    if (dead.replayed)
      throw new DeadLetterReplayError(
        'ALREADY_REPLAYED',
        `dead letter ${id} was replayed by ${dead.replayed.by} at ${dead.replayed.at}; if it failed again it is a new dead letter`,
      );

    const claims = await tx.query<{ consumer: string }[]>(
      `SELECT consumer FROM ${s}.inbox
       WHERE topic = $1 AND partition = $2 AND kafka_offset = $3 AND ($4::text IS NULL OR consumer = $4)`,
      [dead.sourceTopic, dead.sourcePartition, dead.sourceOffset, dead.consumer],
    );
    if (claims.length > 1)
      throw new DeadLetterReplayError(
        'AMBIGUOUS_CLAIM',
        `${claims.length} consumers of ${schema} (${claims.map((c) => c.consumer).join(', ')}) claimed ${dead.sourceTopic}[${dead.sourcePartition}]@${dead.sourceOffset}; the dead letter does not say which rejected it: release the right inbox row by hand`,
      );
    if (claims.length === 1)
      await tx.query(
        `DELETE FROM ${s}.inbox WHERE consumer = $1 AND topic = $2 AND partition = $3 AND kafka_offset = $4`,
        [claims[0]!.consumer, dead.sourceTopic, dead.sourcePartition, dead.sourceOffset],
      );

    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(row.headers))
      if (!name.startsWith('dlq-')) headers[name] = value;
    headers[DLQ_HEADER.replayOf] = `${schema}:${id}`;
    await enqueueOutbox(tx, schema, [
      {
        topic: dead.sourceTopic,
        key: dead.key,
        value: row.value,
        headers,
        dedupeKey: `dlq-replay:${id}`,
      },
    ]);
    await tx.query(
      `INSERT INTO ${s}.dead_letter_replay (dead_letter_id, replayed_by, reason, claims_released)
       VALUES ($1, $2, $3, $4)`,
      [id, by, reason, claims.length],
    );
    return { id, sourceTopic: dead.sourceTopic, key: dead.key, claimsReleased: claims.length };
  });
}

/** The audit of replays, one row per dead letter replayed; appended to each service's migrations. */
export function deadLetterReplayMigration(schema: string): new () => MigrationInterface {
  const s = quoteIdent(schema);
  return class DeadLetterReplay1764000001300 implements MigrationInterface {
    readonly name = 'DeadLetterReplay1764000001300';

    async up(runner: QueryRunner): Promise<void> {
      await runner.query(`
        CREATE TABLE ${s}.dead_letter_replay (
          dead_letter_id   bigint      PRIMARY KEY REFERENCES ${s}.outbox (id),
          replayed_by      text        NOT NULL CHECK (length(replayed_by) BETWEEN 1 AND 200),
          reason           text        NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
          claims_released  int         NOT NULL CHECK (claims_released >= 0),
          replayed_at      timestamptz NOT NULL DEFAULT now()
        )`);
    }

    async down(runner: QueryRunner): Promise<void> {
      await runner.query(`DROP TABLE ${s}.dead_letter_replay`);
    }
  };
}
