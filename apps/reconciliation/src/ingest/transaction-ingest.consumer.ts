import { Inject, Injectable } from '@nestjs/common';
import { decodePaymentsTransactionV1, TOPIC, type PaymentsTransactionV1 } from '@app/contracts';
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
import { RECONCILIATION_SCHEMA } from '../migrations/index.js';
import { ChannelCalendarCache } from './channel-calendar.repository.js';
import { InternalTransactionRepository } from './internal-transaction.repository.js';
import { TransactionIngestHandler } from './transaction-ingest.handler.js';

export const TRANSACTION_INGEST_GROUP = 'reconciliation.transaction-ingest';

export const decodeTransactionMessage = messageDecoder(decodePaymentsTransactionV1);

@Injectable()
export class TransactionIngestConsumer extends ManagedConsumer<PaymentsTransactionV1> {
  readonly consumer: EventConsumer<PaymentsTransactionV1>;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    dataSource: DataSource,
    @Inject(PLATFORM_CONFIG) config: PlatformConfig,
    @Inject(Ledger) ledger: Ledger,
  ) {
    super();
    const handler = new TransactionIngestHandler(
      new ChannelCalendarCache(dataSource),
      new InternalTransactionRepository(),
      ledger,
    );
    this.consumer = new EventConsumer(kafka, dataSource, {
      name: 'transaction-ingest',
      ...serviceConsumerOptions(config, TRANSACTION_INGEST_GROUP, TOPIC.paymentsTransactionV1),
      schema: RECONCILIATION_SCHEMA,
      decode: decodeTransactionMessage,
      handler,
    });
  }
}
