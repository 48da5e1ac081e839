import { Logger } from '@nestjs/common';
import type { Kafka, Message, Producer, TopicMessages } from 'kafkajs';
import type { DataSource, EntityManager } from 'typeorm';
import { backoffDelayMs, quoteIdent, type BackoffPolicy } from '@app/platform';
import { createProducer, ensureTopics } from './kafka-client.js';

/** One message ready to send, with the source row it came from. */
export interface RelayMessage {
  id: string;
  topic: string;
  key: string | null;
  value: Buffer | string;
  headers: Record<string, string>;
}

/**
 * Where a relay reads what to publish. The default is the service's outbox table; a service may
 * relay from a table of its own (e.g. a narrow mark table from which it builds each event), with
 * the same guarantees: one relay per source at a time, rows marked only after the broker acked.
 */
export interface RelaySource {
  /** Names the advisory lock that elects one relay per source. */
  readonly name: string;
  /** Up to `limit` unpublished messages, oldest first. */
  fetch(tx: EntityManager, limit: number): Promise<RelayMessage[]>;
  markPublished(tx: EntityManager, ids: string[]): Promise<void>;
}

export function outboxTableSource(schema: string): RelaySource {
  const s = quoteIdent(schema);
  return {
    name: `outbox-relay:${schema}`,
    async fetch(tx, limit) {
      const rows = await tx.query<OutboxRow[]>(
        `SELECT id, topic, message_key, value, headers FROM ${s}.outbox
         WHERE published_at IS NULL ORDER BY id LIMIT $1`,
        [limit],
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
  };
}

export interface OutboxRelayOptions {
  schema: string;
  /** What to relay; the schema's outbox table when absent. */
  source?: RelaySource;
  /** Rows published per transaction. */
  batchSizeMax?: number;
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
 * Publishes outbox rows to Kafka in id order, at least once, keys preserved (the key is what keeps
 * one merchant's events in order on one partition). One relay per schema at a time: a transaction
 * advisory lock elects it, so replicas never reorder each other's sends.
 */
export class OutboxRelay {
  private readonly log: Logger;
  private producer: Producer | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly batchSizeMax: number;
  private readonly idlePollMs: number;
  private readonly backoff: BackoffPolicy;
  published = 0;
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

  /** Publishes one batch; returns how many rows went out (0 if empty or another relay holds the lock). */
  async relayOnce(): Promise<number> {
    const producer = await this.connect();
    return this.dataSource.transaction(async (tx) => {
      const [lock] = await tx.query<{ locked: boolean }[]>(
        'SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked',
        [this.source.name],
      );
      if (!lock?.locked) return 0;
      const rows = await this.source.fetch(tx, this.batchSizeMax);
      if (rows.length === 0) return 0;
      await this.ensureTopicsOf(rows);
      await producer.sendBatch({ topicMessages: groupByTopic(rows), acks: -1 });
      await this.source.markPublished(
        tx,
        rows.map((r) => r.id),
      );
      return rows.length;
    });
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

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        const sent = await this.relayOnce();
        this.published += sent;
        failures = 0;
        if (sent === 0) await this.idle(this.idlePollMs);
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
