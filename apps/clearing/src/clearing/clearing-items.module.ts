import { Module } from '@nestjs/common';
import { InternalReconciliationController } from './internal-reconciliation.controller.js';
import { ItemMatchedConsumer } from './item-matched.consumer.js';
import { LedgerSchemaOnBoot } from './ledger-schema.js';

/**
 * Clearing of matched items: the ledger schema brought up to date at boot, the recon.item-matched.v1
 * consumer, and the read-only day views (internal reconciliation, summary). Needs LedgerModule.
 */
@Module({
  controllers: [InternalReconciliationController],
  providers: [LedgerSchemaOnBoot, ItemMatchedConsumer],
  exports: [ItemMatchedConsumer],
})
export class ClearingItemsModule {}
