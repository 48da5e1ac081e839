import { Module } from '@nestjs/common';
import { TransactionIngestConsumer } from './transaction-ingest.consumer.js';

@Module({ providers: [TransactionIngestConsumer], exports: [TransactionIngestConsumer] })
export class IngestModule {}
