import { Module } from '@nestjs/common';
import { LedgerModule } from '@app/ledger';
import { ServiceRuntimeModule } from '@app/messaging';
import { ReconciliationHttpModule } from './http/reconciliation-http.module.js';
import { IngestModule } from './ingest/ingest.module.js';
import { MatchedItemRelayService } from './matching/matched-item-relay.service.js';
import { RECONCILIATION_SCHEMA, reconciliationMigrations } from './migrations/index.js';

@Module({
  imports: [
    ServiceRuntimeModule.forService({
      service: 'reconciliation',
      schema: RECONCILIATION_SCHEMA,
      migrations: reconciliationMigrations,
      httpPortDefault: 3001,
    }),
    LedgerModule,
    IngestModule,
    ReconciliationHttpModule,
  ],
  providers: [MatchedItemRelayService],
})
export class ReconciliationModule {}
