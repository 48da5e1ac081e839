import { Logger } from '@nestjs/common';
import type { Kafka, Message, Producer, TopicMessages } from 'kafkajs';
import type { DataSource, EntityManager } from 'typeorm';
import {
  backoffDelayMs,
  KAFKA_MESSAGE_MAX_BYTES_DEFAULT,
  quoteIdent,
  type BackoffPolicy,
} from '@app/platform';
import { createProducer, ensureTopics } from './kafka-client.js';

/** One message ready to send, with the source row it came from. */
export interface RelayMessage {
  id: string;
  topic: string;
  key: string | null;
  value: Buffer | string;
  headers: Record<string, string>;
}

/** A message the broker refused for good (or that no send could carry), with why. */
export interface ParkedMessage {
  message: RelayMessage;
  /** The broker's error type and message, or the size that kept it from being sent. */
  reason: string;
}

/**
 * Where a relay reads what to publish. The default is the service's outbox table; a service may
 * relay from a table of its own (e.g. a narrow mark table from which it builds each event), with
 * the same guarantees: one relay per source at a time, rows marked only after the broker acked.
 */
export interface RelaySource {
  /** Names the advisory lock that elects one relay per source. */
  readonly name: string;
  /**
   * Up to `limit` unpublished (and not parked) messages, oldest first. `bytesMax` is a hint to
   * bound memory: a source may stop after the row that reaches it (the relay splits what it gets
   * into sends of its own size anyway). Every message returned is either published or parked in
   * the same transaction, so a source may have written marks while fetching.
   */
  fetch(tx: EntityManager, limit: number, bytesMax?: number): Promise<RelayMessage[]>;
  markPublished(tx: EntityManager, ids: string[]): Promise<void>;
  /**
   * Sets aside messages the broker refused for good: skipped by later fetches, never dropped.
   * Absent: each one is handed over to the schema's outbox as a parked row (listed, counted by
   * readiness, with its whole value) and `markPublished` here — the outbox then owns it.
   */
  park?(tx: EntityManager, parked: ParkedMessage[]): Promise<void>;
}

/** The bytes of an outbox row's value the relay publishes. */
const PUBLISHED_BYTES =
  'least(octet_length(value), coalesce(published_value_bytes_max, octet_length(value)))';

export function outboxTableSource(schema: string): RelaySource {
  const s = quoteIdent(schema);
  return {
    name: `outbox-relay:${schema}`,
    async fetch(tx, limit, bytesMax = Number.MAX_SAFE_INTEGER) {
      // Rows past `bytesMax` are cut in the outer query. A value is fetched from TOAST only when it
      // is returned (octet_length reads its length from the header; passing the column through
      // the subquery does not read it), so 1,000 rows of 600 KB are not read into memory at once.
      // A dead letter's value is read clipped (published_value_bytes_max); the row keeps it whole.
      const rows = await tx.query<OutboxRow[]>(
        `SELECT id, topic, message_key, headers, value FROM (
           SELECT id, topic, message_key, headers,
                  CASE WHEN published_value_bytes_max < octet_length(value)
                       THEN substring(value FROM 1 FOR published_value_bytes_max) ELSE value END AS value,
                  sum(${PUBLISHED_BYTES}) OVER (ORDER BY id) - ${PUBLISHED_BYTES} AS bytes_before
           FROM ${s}.outbox
           WHERE published_at IS NULL AND parked_at IS NULL
           ORDER BY id LIMIT $1) head
         WHERE bytes_before < $2
         ORDER BY id`,
        [limit, bytesMax],
      );
      return rows.map((r) => ({
        id: r.id,
        topic: r.topic,
        key: r.message_key,
        value: r.value,
        headers: r.headers,
      }));
    },
    async markPublished(tx, ids) {
      await tx.query(`UPDATE ${s}.outbox SET published_at = now() WHERE id = ANY($1::bigint[])`, [ids]);
    },
    async park(tx, parked) {
      await tx.query(
        `UPDATE ${s}.outbox o SET parked_at = now(), park_reason = p.reason
         FROM unnest($1::bigint[], $2::text[]) AS p(id, reason) WHERE o.id = p.id`,
        [parked.map((p) => p.message.id), parked.map((p) => clipReason(p.reason))],
      );
    },
  };
}

/**
 * The default `park` of a source without its own: the message becomes a parked row of the
 * schema's outbox (whole, with the reason), where it is listed and counted like any parked row;
 * the dedupe key makes a second hand-over of the same source row a no-op.
 */
async function handOverToOutbox(
  tx: EntityManager,
  schema: string,
  source: RelaySource,
  parked: ParkedMessage[],
): Promise<void> {
  await tx.query(
    `INSERT INTO ${quoteIdent(schema)}.outbox (topic, message_key, value, headers, dedupe_key, parked_at, park_reason)
     SELECT topic, message_key, value, headers, dedupe_key, now(), reason
     FROM unnest($1::text[], $2::text[], $3::bytea[], $4::jsonb[], $5::text[], $6::text[])
       AS p(topic, message_key, value, headers, dedupe_key, reason)
     ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING`,
    [
      parked.map((p) => p.message.topic),
      parked.map((p) => p.message.key),
      parked.map((p) =>
        typeof p.message.value === 'string' ? Buffer.from(p.message.value) : p.message.value,
      ),
      parked.map((p) => JSON.stringify(p.message.headers)),
      parked.map((p) => `parked:${source.name}:${p.message.id}`),
      parked.map((p) => clipReason(p.reason)),
    ],
  );
  await source.markPublished(
    tx,
    parked.map((p) => p.message.id),
  );
}

const PARK_REASON_MAX_CHARS = 2_000;
const clipReason = (reason: string) =>
  reason.length > PARK_REASON_MAX_CHARS ? `${reason.slice(0, PARK_REASON_MAX_CHARS - 1)}…` : reason;

export interface OutboxRelayOptions {
  schema: string;
  /** What to relay; the schema's outbox table when absent. */
  source?: RelaySource;
  /** Rows published per transaction. */
  batchSizeMax?: number;
  /**
   * Most bytes one send carries, counted as relayMessageBytes does (KAFKA_MESSAGE_MAX_BYTES): under
   * the broker's message.max.bytes, so a batch is never refused for its total size alone.
   */
  messageMaxBytes?: number;
  /** Poll interval when the outbox is empty. */
  idlePollMs?: number;
  backoff?: BackoffPolicy;
  /** Partitions for a topic the relay is the first to write to (KAFKA_TOPIC_PARTITIONS). */
  topicPartitions?: number;
}

interface OutboxRow {
  id: string;
  topic: string;
  message_key: string | null;
  value: Buffer;
  headers: Record<string, string>;
}

/**
 * Broker answers that refuse the records themselves, not the moment: resending the same bytes
 * gets the same answer for ever. Anything else (broker down, leader moving, timeouts) is retried.
 */
const REFUSED_FOR_GOOD = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
]);

/** `TYPE: message` of the broker's refusal for good in `error` (kafkajs wraps it in `cause`), if any. */
export function brokerRefusalOf(error: unknown): string | undefined {
  let candidate: unknown = error;
  for (let depth = 0; depth < 6 && candidate !== null && typeof candidate === 'object'; depth += 1) {
    const { type, message, cause } = candidate as { type?: unknown; message?: unknown; cause?: unknown };
    if (typeof type === 'string' && REFUSED_FOR_GOOD.has(type)) return `${type}: ${String(message)}`;
    candidate = cause;
  }
  return undefined;
}

/**
 * A record's share of a send: key, value, header names and values, plus an allowance for the
 * record's framing (length, attributes, timestamp and offset deltas, varint lengths), so that 1,000
 * small records with several headers are not counted at half their size on the wire.
 */
export function relayMessageBytes(message: RelayMessage): number {
  let bytes = RECORD_FRAMING_BYTES + Buffer.byteLength(message.value);
  if (message.key !== null) bytes += Buffer.byteLength(message.key);
  for (const [name, value] of Object.entries(message.headers))
    bytes += HEADER_FRAMING_BYTES + Buffer.byteLength(name) + Buffer.byteLength(value);
  return bytes;
}
const RECORD_FRAMING_BYTES = 64;
const HEADER_FRAMING_BYTES = 10;

/** `messages` cut, in order, into runs of at most `bytesMax` (each message fits: checked before). */
function sizedSends(messages: RelayMessage[], bytesMax: number): RelayMessage[][] {
  const sends: RelayMessage[][] = [];
  let current: RelayMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = relayMessageBytes(message);
    if (current.length > 0 && bytes + size > bytesMax) {
      sends.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) sends.push(current);
  return sends;
}

/**
 * Publishes outbox rows to Kafka in id order, at least once, keys preserved (the key is what keeps
 * one merchant's events in order on one partition). One relay per schema at a time: a transaction
 * advisory lock elects it, so replicas never reorder each other's sends.
 *
 * Nothing can jam it: sends are cut under the broker's size limit, and a message the broker
 * refuses for good is found by halving the refused send and parked (kept, skipped, reported by
 * readiness) while everything else is published. Only failures of the moment (broker or database
 * down) hold the queue, and they are retried with backoff.
 */
export class OutboxRelay {
  private readonly log: Logger;
  private producer: Producer | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly batchSizeMax: number;
  private readonly messageMaxBytes: number;
  private readonly idlePollMs: number;
  private readonly backoff: BackoffPolicy;
  published = 0;
  parked = 0;
  /** Topics known to exist: the producer does not auto-create, so the first send to one creates it. */
  private readonly ensuredTopics = new Set<string>();
  private readonly source: RelaySource;

  constructor(
    private readonly kafka: Kafka,
    private readonly dataSource: DataSource,
    private readonly options: OutboxRelayOptions,
  ) {
    this.source = options.source ?? outboxTableSource(options.schema);
    this.log = new Logger(`OutboxRelay:${this.source.name}`);
    this.batchSizeMax = options.batchSizeMax ?? 1_000;
    this.messageMaxBytes = options.messageMaxBytes ?? KAFKA_MESSAGE_MAX_BYTES_DEFAULT;
    this.idlePollMs = options.idlePollMs ?? 200;
    this.backoff = options.backoff ?? { initialDelayMs: 200, maxDelayMs: 10_000 };
  }

  async start(): Promise<void> {
    await this.connect();
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.producer?.disconnect();
    this.producer = undefined;
  }

  /**
   * Publishes one batch; returns how many rows it settled — published, or parked — (0 if empty or
   * another relay holds the lock).
   */
  async relayOnce(): Promise<number> {
    await this.connect();
    const outcome = await this.dataSource.transaction(async (tx) => {
      const [lock] = await tx.query<{ locked: boolean }[]>(
        'SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked',
        [this.source.name],
      );
      if (!lock?.locked) return { published: 0, parked: [] };
      // A few sends' worth per transaction: bounds the memory and the time the transaction is open.
      const rows = await this.source.fetch(tx, this.batchSizeMax, 4 * this.messageMaxBytes);
      if (rows.length === 0) return { published: 0, parked: [] };
      const parked: ParkedMessage[] = [];
      const sendable: RelayMessage[] = [];
      for (const row of rows) {
        const bytes = relayMessageBytes(row);
        if (bytes > this.messageMaxBytes)
          parked.push({
            message: row,
            reason: `${bytes} bytes, more than one send may carry (KAFKA_MESSAGE_MAX_BYTES = ${this.messageMaxBytes}); not sent`,
          });
        else sendable.push(row);
      }
      const published: RelayMessage[] = [];
      if (sendable.length > 0) await this.ensureTopicsOf(sendable);
      for (const send of sizedSends(sendable, this.messageMaxBytes))
        await this.sendParkingRefused(send, published, parked);
      if (published.length > 0)
        await this.source.markPublished(
          tx,
          published.map((r) => r.id),
        );
      if (parked.length > 0) {
        if (this.source.park) await this.source.park(tx, parked);
        else await handOverToOutbox(tx, this.options.schema, this.source, parked);
      }
      return { published: published.length, parked };
    });
    this.published += outcome.published;
    this.parked += outcome.parked.length;
    for (const { message, reason } of outcome.parked)
      this.log.error(
        `parked ${message.id} for ${message.topic} (key ${message.key ?? 'none'}): ${reason}; the rest is published, the row waits for a person`,
      );
    return outcome.published + outcome.parked.length;
  }

  /**
   * Sends `messages` in one request. If the broker refuses it for good, one of its messages is to
   * blame (or a few): each half is sent on its own, down to single messages, which are parked. n
   * messages with k refused cost about 2k·log2(n) extra sends, and the rest keep their order.
   */
  private async sendParkingRefused(
    messages: RelayMessage[],
    published: RelayMessage[],
    parked: ParkedMessage[],
  ): Promise<void> {
    try {
      const producer = await this.connect();
      await producer.sendBatch({ topicMessages: groupByTopic(messages), acks: -1 });
      published.push(...messages);
      return;
    } catch (error) {
      const refusal = brokerRefusalOf(error);
      if (refusal === undefined) throw error; // of the moment: the pass rolls back and is retried
      // The broker may have appended the other partitions of the refused request while the
      // idempotent producer did not count them: its next sequence numbers there would be refused
      // as out of order. A new producer (new producer id) starts clean; what the broker did take
      // is sent again below — at least once, as ever, and consumers dedupe by event id.
      await this.resetProducer();
      if (messages.length === 1) {
        parked.push({ message: messages[0]!, reason: refusal });
        return;
      }
      const middle = Math.ceil(messages.length / 2);
      await this.sendParkingRefused(messages.slice(0, middle), published, parked);
      await this.sendParkingRefused(messages.slice(middle), published, parked);
    }
  }

  private async ensureTopicsOf(rows: RelayMessage[]): Promise<void> {
    const missing = [...new Set(rows.map((r) => r.topic))].filter((t) => !this.ensuredTopics.has(t));
    if (missing.length === 0) return;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, missing, this.options.topicPartitions ?? 3);
    } finally {
      await admin.disconnect();
    }
    for (const topic of missing) this.ensuredTopics.add(topic);
  }

  private async connect(): Promise<Producer> {
    if (!this.producer) {
      // Idempotent producer: a retried send after a lost ack does not duplicate the message.
      const producer = createProducer(this.kafka);
      await producer.connect();
      this.producer = producer;
    }
    return this.producer;
  }

  private async resetProducer(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await producer?.disconnect();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        const settled = await this.relayOnce();
        failures = 0;
        if (settled === 0) await this.idle(this.idlePollMs);
      } catch (error) {
        failures += 1;
        const delay = backoffDelayMs(failures, this.backoff);
        this.log.warn(
          `relay failed (attempt ${failures}), retrying in ${delay} ms: ${(error as Error).message}`,
        );
        await this.idle(delay);
      }
    }
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

function groupByTopic(rows: RelayMessage[]): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  for (const row of rows) {
    const messages = byTopic.get(row.topic) ?? [];
    messages.push({ key: row.key, value: row.value, headers: row.headers });
    byTopic.set(row.topic, messages);
  }
  return [...byTopic.entries()].map(([topic, messages]) => ({ topic, messages }));
}
