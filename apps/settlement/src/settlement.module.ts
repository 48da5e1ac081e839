import { Module } from '@nestjs/common';
import { LedgerModule } from '@app/ledger';
import { ServiceRuntimeModule } from '@app/messaging';
import { SettlementHttpModule } from './http/settlement-http.module.js';
import { SETTLEMENT_SCHEMA, settlementMigrations } from './migrations/index.js';
import { PayoutModule } from './payout/payout.module.js';
import { SettlementSchedulerModule } from './scheduler/settlement-scheduler.js';
import { SettlementItemsModule } from './settlement/settlement-items.module.js';

@Module({
  imports: [
    ServiceRuntimeModule.forService({
      service: 'settlement',
      schema: SETTLEMENT_SCHEMA,
      migrations: settlementMigrations,
      httpPortDefault: 3003,
    }),
    LedgerModule,
    SettlementItemsModule,
    SettlementHttpModule,
    PayoutModule,
    SettlementSchedulerModule,
  ],
})
export class SettlementModule {}
