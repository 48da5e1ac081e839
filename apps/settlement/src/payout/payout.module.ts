import { Module } from '@nestjs/common';
import { PayoutResultConsumer } from './payout-result.consumer.js';

/** Payout answers in: the settlement.payout-result.v1 consumer. */
@Module({
  providers: [PayoutResultConsumer],
  exports: [PayoutResultConsumer],
})
export class PayoutModule {}
