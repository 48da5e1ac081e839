import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { decodePaymentsTransactionV1, TOPIC, type PaymentsTransactionV1 } from '@app/contracts';
import { Ledger } from '@app/ledger';
import { EventConsumer, KAFKA, PLATFORM_CONFIG, topicName, type Decoded } from '@app/messaging';
import type { PlatformConfig } from '@app/platform';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { DataSource } from 'typeorm';
import { RECONCILIATION_SCHEMA } from '../migrations/index.js';
import { ChannelCalendarCache } from './channel-calendar.repository.js';
import { InternalTransactionRepository } from './internal-transaction.repository.js';
import { TransactionIngestHandler } from './transaction-ingest.handler.js';

export const TRANSACTION_INGEST_GROUP = 'reconciliation.transaction-ingest';

export function decodeTransactionMessage(message: KafkaMessage): Decoded<PaymentsTransactionV1> {
  const result = decodePaymentsTransactionV1(message.value);
  return result.ok ? { ok: true, eventId: result.value.eventId, value: result.value } : result;
}

@Injectable()
export class TransactionIngestConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly consumer: EventConsumer<PaymentsTransactionV1>;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    dataSource: DataSource,
    @Inject(PLATFORM_CONFIG) config: PlatformConfig,
    @Inject(Ledger) ledger: Ledger,
  ) {
    const handler = new TransactionIngestHandler(
      new ChannelCalendarCache(dataSource),
      new InternalTransactionRepository(),
      ledger,
    );
    this.consumer = new EventConsumer(kafka, dataSource, {
      name: 'transaction-ingest',
      groupId: `${config.kafkaTopicPrefix}${TRANSACTION_INGEST_GROUP}`,
      topic: topicName(config.kafkaTopicPrefix, TOPIC.paymentsTransactionV1),
      schema: RECONCILIATION_SCHEMA,
      decode: decodeTransactionMessage,
      handler,
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
