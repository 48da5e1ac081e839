import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { KAFKA, OutboxRelay, PLATFORM_CONFIG } from '@app/messaging';
import type { PlatformConfig } from '@app/platform';
import type { Kafka } from 'kafkajs';
import { DataSource } from 'typeorm';
import { RECONCILIATION_SCHEMA } from '../migrations/index.js';
import { matchedItemSource } from './matched-item.source.js';

/** Publishes matched_item marks as recon.item-matched.v1 for clearing, beside the outbox relay. */
@Injectable()
export class MatchedItemRelayService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly relay: OutboxRelay;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    dataSource: DataSource,
    @Inject(PLATFORM_CONFIG) config: PlatformConfig,
  ) {
    this.relay = new OutboxRelay(kafka, dataSource, {
      schema: RECONCILIATION_SCHEMA,
      source: matchedItemSource(config.kafkaTopicPrefix),
      topicPartitions: config.kafkaTopicPartitions,
      messageMaxBytes: config.kafkaMessageMaxBytes,
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.relay.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.relay.stop();
  }
}
