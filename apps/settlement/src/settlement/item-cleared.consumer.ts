import { Inject, Injectable } from '@nestjs/common';
import { decodeClearingItemClearedV1, TOPIC, type ClearingItemClearedV1 } from '@app/contracts';
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
import { SETTLEMENT_SCHEMA } from '../migrations/index.js';
import { ClearedItemHandler } from './cleared-item.store.js';

export const ITEM_CLEARED_GROUP = 'settlement.item-cleared';

export const decodeItemClearedMessage = messageDecoder(decodeClearingItemClearedV1);

/**
 * Consumes clearing.item-cleared.v1 into settlement.cleared_item, once per event id (inbox in the
 * same transaction); a message the contract refuses goes to the DLQ (ADR 003).
 */
@Injectable()
export class ItemClearedConsumer extends ManagedConsumer<ClearingItemClearedV1> {
  readonly consumer: EventConsumer<ClearingItemClearedV1>;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    dataSource: DataSource,
    @Inject(PLATFORM_CONFIG) config: PlatformConfig,
  ) {
    super();
    this.consumer = new EventConsumer(kafka, dataSource, {
      name: 'item-cleared',
      ...serviceConsumerOptions(config, ITEM_CLEARED_GROUP, TOPIC.clearingItemClearedV1),
      schema: SETTLEMENT_SCHEMA,
      decode: decodeItemClearedMessage,
      handler: new ClearedItemHandler(),
    });
  }
}
