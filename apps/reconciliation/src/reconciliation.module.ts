import { Module } from '@nestjs/common';
import { ServiceRuntimeModule } from '@app/messaging';
import { IngestModule } from './ingest/ingest.module.js';
import { RECONCILIATION_SCHEMA, reconciliationMigrations } from './migrations/index.js';

@Module({
  imports: [
    ServiceRuntimeModule.forService({
      service: 'reconciliation',
      schema: RECONCILIATION_SCHEMA,
      migrations: reconciliationMigrations,
      httpPortDefault: 3001,
    }),
    IngestModule,
  ],
})
export class ReconciliationModule {}
