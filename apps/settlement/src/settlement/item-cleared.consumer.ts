import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { decodeClearingItemClearedV1, TOPIC, type ClearingItemClearedV1 } from '@app/contracts';
import { EventConsumer, KAFKA, PLATFORM_CONFIG, topicName, type Decoded } from '@app/messaging';
import type { PlatformConfig } from '@app/platform';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { DataSource } from 'typeorm';
import { SETTLEMENT_SCHEMA } from '../migrations/index.js';
import { ClearedItemHandler } from './cleared-item.store.js';

export const ITEM_CLEARED_GROUP = 'settlement.item-cleared';

export function decodeItemClearedMessage(message: KafkaMessage): Decoded<ClearingItemClearedV1> {
  const result = decodeClearingItemClearedV1(message.value);
  return result.ok ? { ok: true, eventId: result.value.eventId, value: result.value } : result;
}

/**
 * Consumes clearing.item-cleared.v1 into settlement.cleared_item, once per event id (inbox in the
 * same transaction); a message the contract refuses goes to the DLQ (ADR 003).
 */
@Injectable()
export class ItemClearedConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly consumer: EventConsumer<ClearingItemClearedV1>;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    dataSource: DataSource,
    @Inject(PLATFORM_CONFIG) config: PlatformConfig,
  ) {
    this.consumer = new EventConsumer(kafka, dataSource, {
      name: 'item-cleared',
      groupId: `${config.kafkaTopicPrefix}${ITEM_CLEARED_GROUP}`,
      topic: topicName(config.kafkaTopicPrefix, TOPIC.clearingItemClearedV1),
      schema: SETTLEMENT_SCHEMA,
      decode: decodeItemClearedMessage,
      handler: new ClearedItemHandler(),
      topicPartitions: config.kafkaTopicPartitions,
      sessionTimeoutMs: config.kafkaSessionTimeoutMs,
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.consumer.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer.stop();
  }
}
