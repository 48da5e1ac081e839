import { Module } from '@nestjs/common';
import { ItemClearedConsumer } from './item-cleared.consumer.js';
import { LedgerSchemaOnBoot } from './ledger-schema.js';

/** Cleared items in: the ledger schema brought up to date at boot and the clearing.item-cleared.v1 consumer. */
@Module({
  providers: [LedgerSchemaOnBoot, ItemClearedConsumer],
  exports: [ItemClearedConsumer],
})
export class SettlementItemsModule {}
