import { createHash } from 'node:crypto';
import type { IHeaders, KafkaMessage } from 'kafkajs';
import { dlqTopicOf } from '@app/contracts';
import type { OutboxMessage } from './outbox.repository.js';

/**
 * Why a message went to the dead-letter topic; lets operators filter without parsing the reason.
 * CONFLICTING_DUPLICATE: an event id already applied, redelivered with another payload (the first
 * payload's effects stand; a person decides which one was right).
 */
export type DeadLetterKind = 'INVALID' | 'REJECTED' | 'HANDLER_FAILED' | 'CONFLICTING_DUPLICATE';
export const DEAD_LETTER_KINDS: readonly DeadLetterKind[] = [
  'INVALID',
  'REJECTED',
  'HANDLER_FAILED',
  'CONFLICTING_DUPLICATE',
];

export interface DeadLetterSource {
  groupId: string;
  /** The inbox consumer name: a replay releases that consumer's claim only (dead-letter-replay.ts). */
  consumer: string;
  topic: string;
  partition: number;
  message: KafkaMessage;
}

export const DLQ_HEADER = {
  reason: 'dlq-reason',
  kind: 'dlq-kind',
  sourceTopic: 'dlq-source-topic',
  sourcePartition: 'dlq-source-partition',
  sourceOffset: 'dlq-source-offset',
  consumerGroup: 'dlq-consumer-group',
  consumer: 'dlq-consumer',
  failedAt: 'dlq-failed-at',
  /** On a replayed message: `<schema>:<dead letter id>` it was replayed from. */
  replayOf: 'dlq-replay-of',
  /** The original value's size in bytes and SHA-256 (hex), whether or not it was clipped. */
  valueBytes: 'dlq-value-bytes',
  valueSha256: 'dlq-value-sha256',
  /** `true` when the published value is only the first DEAD_LETTER_VALUE_BYTES_MAX bytes. */
  valueTruncated: 'dlq-value-truncated',
  /** CONFLICTING_DUPLICATE: the hash the inbox holds for the event id, and the one that came now. */
  storedSha256: 'dlq-stored-sha256',
  receivedSha256: 'dlq-received-sha256',
} as const;

const REASON_MAX_CHARS = 2_000;

/**
 * Most bytes of the original value a dead letter carries on the broker. The dead-letter topic is
 * for noticing and triaging; the whole value stays in the outbox row (what `dlq replay` sends).
 * Without a bound, a 600 KB poison message made a dead letter that, batched with others, the
 * broker refused on every retry, and nothing behind it in the outbox was ever published.
 */
export const DEAD_LETTER_VALUE_BYTES_MAX = 64 * 1024;

export function sha256Hex(value: Buffer | string): string {
  return createHash('sha256').update(value).digest('hex');
}

/**
 * A dead letter carries the original key and headers, the original value up to
 * DEAD_LETTER_VALUE_BYTES_MAX (its size and SHA-256 in headers), plus the reason in headers, so it
 * can be inspected, fixed and re-published. It travels through the outbox, where the whole value
 * is kept: it is committed with the batch it came from, so a crash can neither lose it nor emit it
 * twice (the dedupe key is the source position).
 */
export function deadLetterFor(
  source: DeadLetterSource,
  kind: DeadLetterKind,
  reason: string,
  extraHeaders: Record<string, string> = {},
): OutboxMessage {
  const { message } = source;
  const value = message.value ?? Buffer.alloc(0);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    const text = headerText(value);
    if (text !== undefined) headers[name] = text;
  }
  headers[DLQ_HEADER.reason] =
    reason.length > REASON_MAX_CHARS ? `${reason.slice(0, REASON_MAX_CHARS)}…` : reason;
  headers[DLQ_HEADER.kind] = kind;
  headers[DLQ_HEADER.sourceTopic] = source.topic;
  headers[DLQ_HEADER.sourcePartition] = String(source.partition);
  headers[DLQ_HEADER.sourceOffset] = message.offset;
  headers[DLQ_HEADER.consumerGroup] = source.groupId;
  headers[DLQ_HEADER.consumer] = source.consumer;
  headers[DLQ_HEADER.failedAt] = new Date().toISOString();
  headers[DLQ_HEADER.valueBytes] = String(value.length);
  headers[DLQ_HEADER.valueSha256] = sha256Hex(value);
  const truncated = value.length > DEAD_LETTER_VALUE_BYTES_MAX;
  headers[DLQ_HEADER.valueTruncated] = String(truncated);
  Object.assign(headers, extraHeaders);
  return {
    topic: dlqTopicOf(source.topic),
    key: message.key === null ? null : message.key.toString('utf8'),
    value,
    headers,
    dedupeKey: `dlq:${source.groupId}:${source.topic}:${source.partition}:${message.offset}`,
    ...(truncated ? { publishedValueBytesMax: DEAD_LETTER_VALUE_BYTES_MAX } : {}),
  };
}

function headerText(value: IHeaders[string]): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.map((v) => v.toString()).join(',');
  return value.toString();
}
