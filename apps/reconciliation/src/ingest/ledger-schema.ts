import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { LEDGER_SCHEMA, ledgerMigrations } from '@app/ledger';
import { PLATFORM_CONFIG } from '@app/messaging';
import { createServiceDataSource, runServiceMigrations, type PlatformConfig } from '@app/platform';

/**
 * Brings the ledger schema up to date on boot, as ServiceRuntimeModule does for the service's own
 * schema: ingest posts T-day entries, so a fresh database must have the ledger's tables before the
 * consumer starts. Nest runs every onModuleInit before any onApplicationBootstrap (where consumers
 * start). The ledger keeps its own migrations table (ledger.migrations), so this and `cse db
 * migrate` or another service's boot apply each migration once; the advisory lock in
 * runServiceMigrations serialises replicas and services booting together.
 */
@Injectable()
export class LedgerSchemaOnBoot implements OnModuleInit {
  constructor(@Inject(PLATFORM_CONFIG) private readonly config: PlatformConfig) {}

  async onModuleInit(): Promise<void> {
    if (!this.config.migrateOnBoot) return;
    const dataSource = createServiceDataSource({
      databaseUrl: this.config.databaseUrl,
      schema: LEDGER_SCHEMA,
      migrations: ledgerMigrations,
      // Two: runServiceMigrations holds its lock on one connection while migrating on the other.
      poolMax: 2,
      applicationName: 'cse-reconciliation-ledger-migrations',
    });
    await dataSource.initialize();
    try {
      const applied = await runServiceMigrations(dataSource, LEDGER_SCHEMA);
      if (applied.length > 0) new Logger('Migrations').log(`${LEDGER_SCHEMA}: applied ${applied.join(', ')}`);
    } finally {
      await dataSource.destroy();
    }
  }
}
