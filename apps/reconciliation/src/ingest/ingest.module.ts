import { Module } from '@nestjs/common';
import { LedgerSchemaOnBoot } from './ledger-schema.js';
import { TransactionIngestConsumer } from './transaction-ingest.consumer.js';

@Module({
  providers: [LedgerSchemaOnBoot, TransactionIngestConsumer],
  exports: [TransactionIngestConsumer],
})
export class IngestModule {}
