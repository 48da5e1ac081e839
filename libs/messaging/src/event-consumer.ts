import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { DataSource, EntityManager } from 'typeorm';
import { backoffDelayMs, isTransientDatabaseError, sleep, type BackoffPolicy } from '@app/platform';
import { deadLetterFor, DLQ_HEADER, type DeadLetterKind } from './dead-letter.js';
import { claimInbox } from './inbox.repository.js';
import { ensureTopics } from './kafka-client.js';
import { dlqTopicOf } from '@app/contracts';
import { enqueueOutbox, type OutboxMessage } from './outbox.repository.js';

export type Decoded<T> = { ok: true; eventId: string; value: T } | { ok: false; reason: string };

export interface InboundEvent<T> {
  eventId: string;
  value: T;
  topic: string;
  partition: number;
  message: KafkaMessage;
}

export interface Rejection<T> {
  event: InboundEvent<T>;
  reason: string;
}

/**
 * Applies a batch of first-seen events inside the consumer's transaction. It may reject individual
 * events (a valid message the domain refuses); those go to the DLQ in the same transaction.
 */
export interface EventBatchHandler<T> {
  handle(events: InboundEvent<T>[], tx: EntityManager): Promise<{ rejected?: Rejection<T>[] } | void>;
}

export interface EventConsumerOptions<T> {
  /** Names the consumer in the inbox and in logs; one per handler, stable across deployments. */
  name: string;
  groupId: string;
  topic: string;
  /** The service schema holding the inbox and outbox tables. */
  schema: string;
  decode(message: KafkaMessage): Decoded<T>;
  handler: EventBatchHandler<T>;
  /** Largest number of messages applied in one DB transaction. */
  chunkSizeMax?: number;
  partitionsConsumedConcurrently?: number;
  backoff?: BackoffPolicy;
  /** Attempts for a message whose handler keeps failing with a non-transient error before it is dead-lettered. */
  attemptsMax?: number;
  fromBeginning?: boolean;
  /** Partitions for the topic and its DLQ when they do not exist yet. */
  topicPartitions?: number;
  sessionTimeoutMs?: number;
}

export interface ConsumerStats {
  applied: number;
  duplicates: number;
  deadLettered: number;
  transientRetries: number;
  /** Wall-clock time spent decoding, in DB transactions and committing offsets: where a batch's time goes. */
  decodeMs: number;
  transactionMs: number;
  offsetCommitMs: number;
}

type Item<T> = { message: KafkaMessage; decoded: Decoded<T> };
type Slice<T> = { topic: string; partition: number; items: Item<T>[] };
type BatchControl = Pick<EachBatchPayload, 'heartbeat' | 'isRunning' | 'isStale'>;

/** Thrown to leave a batch without resolving its offsets (shutdown or rebalance): it is redelivered. */
class BatchAbandoned extends Error {}

/**
 * Kafka → Postgres with effects applied once:
 *  - `eachBatch`, no auto-commit: offsets are committed only after the DB transaction commits;
 *  - inbox row per event id in the same transaction as the effects (redelivery is a no-op);
 *  - messages that fail validation, that the handler rejects, or that keep failing go to
 *    `<topic>.dlq` via the outbox: they never block the partition and are never dropped;
 *  - transient failures (DB or broker down) are retried with backoff, heartbeating meanwhile.
 */
export class EventConsumer<T> {
  private readonly log: Logger;
  private consumer: Consumer | undefined;
  private readonly chunkSizeMax: number;
  private readonly attemptsMax: number;
  private readonly backoff: BackoffPolicy;
  readonly stats: ConsumerStats = {
    applied: 0,
    duplicates: 0,
    deadLettered: 0,
    transientRetries: 0,
    decodeMs: 0,
    transactionMs: 0,
    offsetCommitMs: 0,
  };

  constructor(
    private readonly kafka: Kafka,
    private readonly dataSource: DataSource,
    private readonly options: EventConsumerOptions<T>,
  ) {
    this.log = new Logger(`EventConsumer:${options.name}`);
    this.chunkSizeMax = options.chunkSizeMax ?? 5_000;
    this.attemptsMax = options.attemptsMax ?? 3;
    this.backoff = options.backoff ?? { initialDelayMs: 200, maxDelayMs: 10_000 };
  }

  async start(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const topics = [this.options.topic, dlqTopicOf(this.options.topic)];
      await ensureTopics(admin, topics, this.options.topicPartitions ?? 3);
    } finally {
      await admin.disconnect();
    }
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      // How long a crashed member keeps its partitions before the group moves them: shorter means
      // faster take-over after a crash, longer tolerates longer GC or I/O pauses.
      sessionTimeout: this.options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: 3_000,
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxBytes: 16 * 1024 * 1024,
      maxWaitTimeInMs: 250,
      retry: { retries: 10 },
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({
      topics: [this.options.topic],
      fromBeginning: this.options.fromBeginning ?? true,
    });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 3,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.log.log(`consuming ${this.options.topic} as group ${this.options.groupId}`);
  }

  /** Finishes the batch in flight, commits its offsets and leaves the group. */
  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    if (consumer) await consumer.disconnect();
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const messages = batch.messages;
    try {
      for (let start = 0; start < messages.length; start += this.chunkSizeMax) {
        if (!payload.isRunning() || payload.isStale()) return;
        const chunk = messages.slice(start, start + this.chunkSizeMax);
        let t0 = performance.now();
        const slice: Slice<T> = {
          topic: batch.topic,
          partition: batch.partition,
          items: chunk.map((message) => ({ message, decoded: this.decodeSafely(message) })),
        };
        this.stats.decodeMs += performance.now() - t0;
        t0 = performance.now();
        await this.applyWithRetry(slice, payload);
        this.stats.transactionMs += performance.now() - t0;
        const last = chunk[chunk.length - 1]!;
        payload.resolveOffset(last.offset);
        // Committed only now that the DB transaction has: a crash before this line means
        // redelivery, which the inbox turns into a no-op.
        t0 = performance.now();
        await payload.commitOffsetsIfNecessary(payload.uncommittedOffsets());
        await payload.heartbeat();
        this.stats.offsetCommitMs += performance.now() - t0;
      }
    } catch (error) {
      if (error instanceof BatchAbandoned) {
        this.log.log(
          `left ${batch.topic}[${batch.partition}] mid-batch (${error.message}); it will be redelivered`,
        );
        return;
      }
      throw error;
    }
  }

  private decodeSafely(message: KafkaMessage): Decoded<T> {
    try {
      return this.options.decode(message);
    } catch (error) {
      return { ok: false, reason: `decoder failed: ${errorText(error)}` };
    }
  }

  /**
   * Applies a slice; transient failures are retried in place. A permanent failure is narrowed down
   * by halving the slice, so one poison message costs log2(n) extra transactions and the rest of
   * the slice still takes effect.
   */
  private async applyWithRetry(slice: Slice<T>, control: BatchControl): Promise<void> {
    let transientAttempt = 0;
    let permanentAttempt = 0;
    for (;;) {
      try {
        await this.dataSource.transaction('READ COMMITTED', (tx) => this.apply(slice, tx));
        return;
      } catch (error) {
        if (isTransientDatabaseError(error)) {
          transientAttempt += 1;
          this.stats.transientRetries += 1;
          const delay = backoffDelayMs(transientAttempt, this.backoff);
          this.log.warn(
            `transient failure on ${slice.topic}[${slice.partition}] (attempt ${transientAttempt}), retrying in ${delay} ms: ${errorText(error)}`,
          );
          await this.wait(delay, control);
          continue;
        }
        if (slice.items.length > 1) {
          const middle = Math.ceil(slice.items.length / 2);
          await this.applyWithRetry({ ...slice, items: slice.items.slice(0, middle) }, control);
          await this.applyWithRetry({ ...slice, items: slice.items.slice(middle) }, control);
          return;
        }
        permanentAttempt += 1;
        const item = slice.items[0]!;
        if (permanentAttempt < this.attemptsMax) {
          this.log.warn(
            `message ${slice.topic}[${slice.partition}]@${item.message.offset} failed (attempt ${permanentAttempt}): ${errorText(error)}`,
          );
          await this.wait(backoffDelayMs(permanentAttempt, this.backoff), control);
          continue;
        }
        const reason = `handler failed ${permanentAttempt} times: ${errorText(error)}`;
        this.log.error(`dead-lettering ${slice.topic}[${slice.partition}]@${item.message.offset}: ${reason}`);
        await this.deadLetterWithRetry(slice, item, reason, control);
        return;
      }
    }
  }

  private async apply(slice: Slice<T>, tx: EntityManager): Promise<void> {
    const { schema, name, groupId } = this.options;
    const deadLetters: OutboxMessage[] = [];
    const deadLetter = (
      message: KafkaMessage,
      kind: DeadLetterKind,
      reason: string,
      headers?: Record<string, string>,
    ): void => {
      deadLetters.push(
        deadLetterFor(
          { groupId, consumer: name, topic: slice.topic, partition: slice.partition, message },
          kind,
          reason,
          headers,
        ),
      );
    };
    const conflictingDuplicate = (
      message: KafkaMessage,
      eventId: string,
      stored: Buffer,
      received: Buffer,
    ) => {
      const where = `${slice.topic}[${slice.partition}]@${message.offset}`;
      // Not an error of ours, but never silent: the first payload's effects stand, and someone
      // has to find out which of the two the publisher meant.
      this.log.warn(
        `conflicting duplicate: event ${eventId} at ${where} for consumer ${name} has payload sha256 ${received.toString('hex')}, the one applied had ${stored.toString('hex')}; dead-lettered, not applied`,
      );
      deadLetter(
        message,
        'CONFLICTING_DUPLICATE',
        `event id ${eventId} was applied before with another payload (sha256 ${stored.toString('hex')}); this one (sha256 ${received.toString('hex')}) is not applied`,
        {
          [DLQ_HEADER.storedSha256]: stored.toString('hex'),
          [DLQ_HEADER.receivedSha256]: received.toString('hex'),
        },
      );
    };

    // A publisher retry can put the same event twice in one slice: only its first copy counts.
    // Later copies are compared once the claim says what the inbox holds for their id.
    const firstById = new Map<string, { event: InboundEvent<T>; payloadSha256: Buffer }>();
    const laterCopies: { message: KafkaMessage; eventId: string; payloadSha256: Buffer }[] = [];
    let duplicates = 0;
    for (const { message, decoded } of slice.items) {
      if (!decoded.ok) {
        deadLetter(message, 'INVALID', decoded.reason);
        continue;
      }
      const payloadSha256 = payloadHash(message);
      if (firstById.has(decoded.eventId)) {
        laterCopies.push({ message, eventId: decoded.eventId, payloadSha256 });
        continue;
      }
      firstById.set(decoded.eventId, {
        event: {
          eventId: decoded.eventId,
          value: decoded.value,
          topic: slice.topic,
          partition: slice.partition,
          message,
        },
        payloadSha256,
      });
    }

    const candidates = [...firstById.values()];
    const claim = await claimInbox(
      tx,
      schema,
      name,
      candidates.map(({ event, payloadSha256 }) => ({
        eventId: event.eventId,
        topic: event.topic,
        partition: event.partition,
        offset: event.message.offset,
        payloadSha256,
      })),
    );
    const toApply = candidates.filter((c) => claim.fresh.has(c.event.eventId)).map((c) => c.event);
    const storedConflicting = new Map<string, Buffer>();
    for (const conflict of claim.conflicts) {
      const { event, payloadSha256 } = firstById.get(conflict.eventId)!;
      conflictingDuplicate(event.message, event.eventId, conflict.storedSha256, payloadSha256);
      storedConflicting.set(conflict.eventId, conflict.storedSha256);
    }
    duplicates += candidates.length - toApply.length - claim.conflicts.length;
    for (const copy of laterCopies) {
      // What the inbox holds for the id now: the first copy's hash if it was fresh or a plain
      // duplicate, the stored one if the first copy conflicted, nothing known for an old row.
      const stored = claim.unhashed.has(copy.eventId)
        ? undefined
        : (storedConflicting.get(copy.eventId) ?? firstById.get(copy.eventId)!.payloadSha256);
      if (stored === undefined || stored.equals(copy.payloadSha256)) duplicates += 1;
      else conflictingDuplicate(copy.message, copy.eventId, stored, copy.payloadSha256);
    }

    let rejected: Rejection<T>[] = [];
    if (toApply.length > 0) {
      const outcome = await this.options.handler.handle(toApply, tx);
      rejected = outcome?.rejected ?? [];
    }
    for (const r of rejected) deadLetter(r.event.message, 'REJECTED', r.reason);
    await enqueueOutbox(tx, schema, deadLetters);

    // Counted only once the transaction is about to commit; a rollback re-counts on retry.
    this.stats.applied += toApply.length - rejected.length;
    this.stats.duplicates += duplicates;
    this.stats.deadLettered += deadLetters.length;
  }

  private async deadLetterWithRetry(
    slice: Slice<T>,
    item: Item<T>,
    reason: string,
    control: BatchControl,
  ): Promise<void> {
    const message = deadLetterFor(
      {
        groupId: this.options.groupId,
        consumer: this.options.name,
        topic: slice.topic,
        partition: slice.partition,
        message: item.message,
      },
      'HANDLER_FAILED',
      reason,
    );
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.dataSource.transaction((tx) => enqueueOutbox(tx, this.options.schema, [message]));
        this.stats.deadLettered += 1;
        return;
      } catch (error) {
        if (!isTransientDatabaseError(error)) throw error;
        await this.wait(backoffDelayMs(attempt, this.backoff), control);
      }
    }
  }

  /** Sleeps in short steps, heartbeating so the group does not evict us while the DB recovers. */
  private async wait(ms: number, control: BatchControl): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (!control.isRunning()) throw new BatchAbandoned('consumer stopping');
      if (control.isStale()) throw new BatchAbandoned('partition reassigned');
      await sleep(Math.min(1_000, deadline - Date.now()));
      await control.heartbeat();
    }
  }
}

/** The inbox's fingerprint of a payload: SHA-256 of the message value's bytes, as published. */
function payloadHash(message: KafkaMessage): Buffer {
  return createHash('sha256')
    .update(message.value ?? Buffer.alloc(0))
    .digest();
}

export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
