import { Module } from '@nestjs/common';
import { LedgerModule } from '@app/ledger';
import { ServiceRuntimeModule } from '@app/messaging';
import { ClearingItemsModule } from './clearing/clearing-items.module.js';
import { ClearingHttpModule } from './http/clearing-http.module.js';
import { CLEARING_SCHEMA, clearingMigrations } from './migrations/index.js';

@Module({
  imports: [
    ServiceRuntimeModule.forService({
      service: 'clearing',
      schema: CLEARING_SCHEMA,
      migrations: clearingMigrations,
      httpPortDefault: 3002,
    }),
    LedgerModule,
    ClearingHttpModule,
    ClearingItemsModule,
  ],
})
export class ClearingModule {}
