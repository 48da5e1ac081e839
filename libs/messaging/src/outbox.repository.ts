import type { EntityManager } from 'typeorm';
import { quoteIdent } from '@app/platform';

export interface OutboxMessage {
  topic: string;
  key: string | null;
  value: Buffer | string;
  headers?: Record<string, string>;
  /** Makes a repeated enqueue of the same logical message a no-op. */
  dedupeKey?: string;
  /**
   * Publish at most this many bytes of `value`; the whole value stays in the row. For dead letters,
   * whose original may be far larger than a broker or a DLQ reader wants (dead-letter.ts).
   */
  publishedValueBytesMax?: number;
}

/** Appends messages to the service's outbox inside the caller's transaction, in one statement. */
export async function enqueueOutbox(
  tx: EntityManager,
  schema: string,
  messages: OutboxMessage[],
): Promise<void> {
  if (messages.length === 0) return;
  const topics: string[] = [];
  const keys: (string | null)[] = [];
  const values: Buffer[] = [];
  const headers: string[] = [];
  const dedupeKeys: (string | null)[] = [];
  const publishedValueBytesMax: (number | null)[] = [];
  for (const m of messages) {
    topics.push(m.topic);
    keys.push(m.key);
    values.push(typeof m.value === 'string' ? Buffer.from(m.value, 'utf8') : m.value);
    headers.push(JSON.stringify(m.headers ?? {}));
    dedupeKeys.push(m.dedupeKey ?? null);
    publishedValueBytesMax.push(m.publishedValueBytesMax ?? null);
  }
  await tx.query(
    `INSERT INTO ${quoteIdent(schema)}.outbox
       (topic, message_key, value, headers, dedupe_key, published_value_bytes_max)
     SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::jsonb[], $5::text[], $6::int[])
     ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING`,
    [topics, keys, values, headers, dedupeKeys, publishedValueBytesMax],
  );
}
