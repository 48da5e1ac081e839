import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import type { DecodeResult } from '@app/contracts';
import type { PlatformConfig } from '@app/platform';
import type { KafkaMessage } from 'kafkajs';
import type { Decoded, EventConsumer } from './event-consumer.js';
import { topicName } from './kafka-client.js';

/** A contract's decoder (bytes → event) as EventConsumer wants it: the event's own id named. */
export function messageDecoder<T extends { eventId: string }>(
  decode: (value: Uint8Array | string | null | undefined) => DecodeResult<T>,
): (message: KafkaMessage) => Decoded<T> {
  return (message) => {
    const result = decode(message.value);
    return result.ok ? { ok: true, eventId: result.value.eventId, value: result.value } : result;
  };
}

/**
 * Where a service consumer reads and how it joins its group, from the platform config: the prefix
 * (tests and staging share a broker) on both the group and the topic.
 */
export function serviceConsumerOptions(
  config: PlatformConfig,
  group: string,
  topic: string,
): { groupId: string; topic: string; topicPartitions: number; sessionTimeoutMs: number } {
  return {
    groupId: `${config.kafkaTopicPrefix}${group}`,
    topic: topicName(config.kafkaTopicPrefix, topic),
    topicPartitions: config.kafkaTopicPartitions,
    sessionTimeoutMs: config.kafkaSessionTimeoutMs,
  };
}

/**
 * A Nest provider owning one EventConsumer: it starts once the application has booted (its
 * migrations ran) and stops before shutdown, committing what it applied.
 */
export abstract class ManagedConsumer<T> implements OnApplicationBootstrap, BeforeApplicationShutdown {
  abstract readonly consumer: EventConsumer<T>;

  async onApplicationBootstrap(): Promise<void> {
    await this.consumer.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer.stop();
  }
}
