import { Module } from '@nestjs/common';
import { ServiceRuntimeModule } from '@app/messaging';
import { SETTLEMENT_SCHEMA, settlementMigrations } from './migrations/index.js';

@Module({
  imports: [
    ServiceRuntimeModule.forService({
      service: 'settlement',
      schema: SETTLEMENT_SCHEMA,
      migrations: settlementMigrations,
      httpPortDefault: 3003,
    }),
  ],
})
export class SettlementModule {}
