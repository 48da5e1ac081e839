import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { decodePaymentsTransactionV1, TOPIC } from '@app/contracts';
import { createKafka, createProducer, ensureTopics, topicName } from '@app/messaging';
import { loadPlatformConfig, ProgressReporter } from '@app/platform';
import type { Message } from 'kafkajs';
import { emit, UsageError, type OutputOptions } from '../output.js';

export interface PublishOptions extends OutputOptions {
  file: string;
  topic?: string;
  /** Publish lines as they are, without validation: for tests that need malformed messages on the topic. */
  raw?: boolean;
  batchSize?: number;
}

export interface PublishResult {
  topic: string;
  file: string;
  published: number;
  elapsedMs: number;
  perSecond: number;
}

const BATCH_SIZE_DEFAULT = 2_000;

/**
 * Publishes a JSON-lines file of payments.transaction.v1 events, keyed by merchant. The whole file
 * is validated first: a bad line stops the command before anything is sent, naming the line and
 * the field, so a backfill is never half published.
 */
export async function publishCommand(options: PublishOptions): Promise<PublishResult> {
  const config = loadPlatformConfig('cli');
  const topic = topicName(config.kafkaTopicPrefix, options.topic ?? TOPIC.paymentsTransactionV1);
  await stat(options.file).catch(() => {
    throw new UsageError(`cannot read ${options.file}`);
  });
  const lineCount = await validateFile(options);

  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: config.kafkaClientId });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [topic], config.kafkaTopicPartitions);
  await admin.disconnect();
  const producer = createProducer(kafka);
  await producer.connect();
  const progress = new ProgressReporter({
    label: `publish ${topic}`,
    total: lineCount,
    unit: 'events',
    silent: options.json,
  });
  const batchSize = options.batchSize ?? BATCH_SIZE_DEFAULT;
  try {
    let batch: Message[] = [];
    for await (const { line } of lines(options.file)) {
      batch.push({ key: keyOf(line), value: line });
      if (batch.length >= batchSize) {
        await producer.send({ topic, messages: batch, acks: -1 });
        progress.add(batch.length);
        batch = [];
      }
    }
    if (batch.length > 0) {
      await producer.send({ topic, messages: batch, acks: -1 });
      progress.add(batch.length);
    }
  } finally {
    await producer.disconnect();
  }
  const done = progress.finish();
  const result: PublishResult = {
    topic,
    file: options.file,
    published: done.count,
    elapsedMs: done.elapsedMs,
    perSecond: Math.round(done.perSecond),
  };
  emit(
    options,
    result,
    () =>
      `published ${result.published} events to ${topic} in ${result.elapsedMs} ms (${result.perSecond}/s)`,
  );
  return result;
}

async function validateFile(options: PublishOptions): Promise<number> {
  let count = 0;
  for await (const { line, lineNo } of lines(options.file)) {
    count += 1;
    if (options.raw) continue;
    const decoded = decodePaymentsTransactionV1(line);
    if (!decoded.ok)
      throw new UsageError(`${options.file}:${lineNo}: ${decoded.reason}; nothing was published`);
  }
  return count;
}

/** Non-blank lines with their 1-based line numbers; CRLF and a UTF-8 BOM are tolerated. */
async function* lines(file: string): AsyncGenerator<{ line: string; lineNo: number }> {
  const reader = createInterface({
    input: createReadStream(file, { encoding: 'utf8' }),
    crlfDelay: Infinity,
  });
  let lineNo = 0;
  for await (const raw of reader) {
    lineNo += 1;
    const line = lineNo === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (line.trim() === '') continue;
    yield { line, lineNo };
  }
}

/** Merchant id is the partition key: one merchant's events stay in order on one partition. */
function keyOf(line: string): string | null {
  try {
    const parsed = JSON.parse(line) as { merchantId?: unknown };
    return typeof parsed.merchantId === 'string' ? parsed.merchantId : null;
  } catch {
    return null;
  }
}
