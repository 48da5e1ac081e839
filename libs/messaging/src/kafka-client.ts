import { Logger } from '@nestjs/common';
import {
  Kafka,
  logLevel,
  Partitioners,
  type Admin,
  type ITopicConfig,
  type LogEntry,
  type Producer,
} from 'kafkajs';

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
}

/** kafkajs with its logs routed through Nest's logger, so one process has one log format. */
export function createKafka(options: KafkaClientOptions): Kafka {
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      if (ACKNOWLEDGED_WARNINGS.some((w) => entry.log.message.startsWith(w))) return;
      const log = new Logger(`kafkajs:${entry.namespace}`);
      const { message, ...extra } = entry.log;
      const text = `${message} ${JSON.stringify(extra)}`;
      // A broker's error response is retried by kafkajs (e.g. "coordinator is loading" on a fresh
      // broker); if retries run out, the operation itself fails and that is what gets reported.
      const retriedResponse = entry.namespace === 'Connection' && message.startsWith('Response ');
      if (entry.level <= logLevel.ERROR && !retriedResponse) log.error(text);
      else log.warn(text);
    },
    retry: { initialRetryTime: 300, retries: 10, maxRetryTime: 30_000 },
  });
}

/**
 * Warnings about choices made on purpose: retries are bounded so a dead broker surfaces as an error
 * the relay backs off from (delivery stays at-least-once, consumers dedupe by event id), and the
 * partitioner is chosen explicitly below.
 */
const ACKNOWLEDGED_WARNINGS = [
  'Limiting retries for the idempotent producer',
  'KafkaJS v2.0.0 switched default partitioner',
];

/**
 * Idempotent producer with the Java-compatible murmur2 partitioner, so a merchant's events land on
 * the same partition whichever client (ours or a Java publisher) produced them.
 */
export function createProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

/** Kafka topic name for a contract topic, with the deployment's prefix (empty in production). */
export function topicName(prefix: string, contractTopic: string): string {
  return `${prefix}${contractTopic}`;
}

/**
 * Creates missing topics with an explicit partition count rather than relying on broker
 * auto-creation, whose defaults differ between environments.
 */
export async function ensureTopics(admin: Admin, topics: string[], numPartitions: number): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t));
  if (missing.length === 0) return [];
  const config: ITopicConfig[] = missing.map((topic) => ({ topic, numPartitions, replicationFactor: -1 }));
  try {
    await admin.createTopics({ topics: config, waitForLeaders: true });
  } catch (error) {
    // Another process may have created it between listTopics and createTopics.
    if ((error as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw error;
  }
  return missing;
}

/** Messages a consumer group has not yet committed, summed over the topic's partitions. */
export async function consumerLag(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [ends, committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId, topics: [topic] }),
  ]);
  const committedByPartition = new Map<number, bigint>();
  for (const p of committed.find((t) => t.topic === topic)?.partitions ?? []) {
    committedByPartition.set(p.partition, BigInt(p.offset));
  }
  let lag = 0n;
  for (const p of ends) {
    const end = BigInt(p.high);
    const low = BigInt(p.low);
    const done = committedByPartition.get(p.partition) ?? -1n;
    // -1 means the group never committed on this partition: everything from the low watermark is lag.
    lag += end - (done < 0n ? low : done);
  }
  return Number(lag);
}
