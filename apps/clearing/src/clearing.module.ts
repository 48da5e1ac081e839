import { Module } from '@nestjs/common';
import { ServiceRuntimeModule } from '@app/messaging';
import { CLEARING_SCHEMA, clearingMigrations } from './migrations/index.js';

@Module({
  imports: [
    ServiceRuntimeModule.forService({
      service: 'clearing',
      schema: CLEARING_SCHEMA,
      migrations: clearingMigrations,
      httpPortDefault: 3002,
    }),
  ],
})
export class ClearingModule {}
