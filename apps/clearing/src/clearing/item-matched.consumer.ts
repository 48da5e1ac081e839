import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { decodeReconItemMatchedV1, TOPIC, type ReconItemMatchedV1 } from '@app/contracts';
import { Ledger } from '@app/ledger';
import { EventConsumer, KAFKA, PLATFORM_CONFIG, topicName, type Decoded } from '@app/messaging';
import type { PlatformConfig } from '@app/platform';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { DataSource } from 'typeorm';
import { CLEARING_SCHEMA } from '../migrations/index.js';
import { ITEM_MATCHED_CONSUMER, ItemClearingHandler } from './item-clearing.handler.js';

export const ITEM_MATCHED_GROUP = 'clearing.item-matched';

export function decodeItemMatchedMessage(message: KafkaMessage): Decoded<ReconItemMatchedV1> {
  const result = decodeReconItemMatchedV1(message.value);
  return result.ok ? { ok: true, eventId: result.value.eventId, value: result.value } : result;
}

/** Consumes recon.item-matched.v1 and clears each matched item once (ItemClearingHandler). */
@Injectable()
export class ItemMatchedConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly consumer: EventConsumer<ReconItemMatchedV1>;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    dataSource: DataSource,
    @Inject(PLATFORM_CONFIG) config: PlatformConfig,
    @Inject(Ledger) ledger: Ledger,
  ) {
    const groupId = `${config.kafkaTopicPrefix}${ITEM_MATCHED_GROUP}`;
    this.consumer = new EventConsumer(kafka, dataSource, {
      name: ITEM_MATCHED_CONSUMER,
      groupId,
      topic: topicName(config.kafkaTopicPrefix, TOPIC.reconItemMatchedV1),
      schema: CLEARING_SCHEMA,
      decode: decodeItemMatchedMessage,
      handler: new ItemClearingHandler(ledger, { groupId, topicPrefix: config.kafkaTopicPrefix }),
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
