import type { IHeaders, KafkaMessage } from 'kafkajs';
import { dlqTopicOf } from '@app/contracts';
import type { OutboxMessage } from './outbox.repository.js';

/** Why a message went to the dead-letter topic; lets operators filter without parsing the reason. */
export type DeadLetterKind = 'INVALID' | 'REJECTED' | 'HANDLER_FAILED';

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
} as const;

const REASON_MAX_CHARS = 2_000;

/**
 * A dead letter carries the original key, value and headers byte for byte, plus the reason in
 * headers, so it can be inspected, fixed and re-published. It travels through the outbox: it is
 * committed with the batch it came from, so a crash can neither lose it nor emit it twice (the
 * dedupe key is the source position).
 */
export function deadLetterFor(source: DeadLetterSource, kind: DeadLetterKind, reason: string): OutboxMessage {
  const { message } = source;
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
  return {
    topic: dlqTopicOf(source.topic),
    key: message.key === null ? null : message.key.toString('utf8'),
    value: message.value ?? Buffer.alloc(0),
    headers,
    dedupeKey: `dlq:${source.groupId}:${source.topic}:${source.partition}:${message.offset}`,
  };
}

function headerText(value: IHeaders[string]): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.map((v) => v.toString()).join(',');
  return value.toString();
}
