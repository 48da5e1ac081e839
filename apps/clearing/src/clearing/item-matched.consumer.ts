import { Inject, Injectable } from '@nestjs/common';
import { decodeReconItemMatchedV1, TOPIC, type ReconItemMatchedV1 } from '@app/contracts';
import { Ledger } from '@app/ledger';
import {
  EventConsumer,
  KAFKA,
  ManagedConsumer,
  messageDecoder,
  PLATFORM_CONFIG,
  serviceConsumerOptions,
} from '@app/messaging';
import type { PlatformConfig } from '@app/platform';
import type { Kafka } from 'kafkajs';
import { DataSource } from 'typeorm';
import { CLEARING_SCHEMA } from '../migrations/index.js';
import { ITEM_MATCHED_CONSUMER, ItemClearingHandler } from './item-clearing.handler.js';

export const ITEM_MATCHED_GROUP = 'clearing.item-matched';

export const decodeItemMatchedMessage = messageDecoder(decodeReconItemMatchedV1);

/** Consumes recon.item-matched.v1 and clears each matched item once (ItemClearingHandler). */
@Injectable()
export class ItemMatchedConsumer extends ManagedConsumer<ReconItemMatchedV1> {
  readonly consumer: EventConsumer<ReconItemMatchedV1>;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    dataSource: DataSource,
    @Inject(PLATFORM_CONFIG) config: PlatformConfig,
    @Inject(Ledger) ledger: Ledger,
  ) {
    super();
    const options = serviceConsumerOptions(config, ITEM_MATCHED_GROUP, TOPIC.reconItemMatchedV1);
    this.consumer = new EventConsumer(kafka, dataSource, {
      name: ITEM_MATCHED_CONSUMER,
      ...options,
      schema: CLEARING_SCHEMA,
      decode: decodeItemMatchedMessage,
      handler: new ItemClearingHandler(ledger, {
        groupId: options.groupId,
        topicPrefix: config.kafkaTopicPrefix,
      }),
    });
  }
}
