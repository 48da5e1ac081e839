import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { LEDGER_SCHEMA, migrateLedgerSchema } from '@app/ledger';
import { PLATFORM_CONFIG } from '@app/messaging';
import type { PlatformConfig } from '@app/platform';

/**
 * Brings the ledger schema up to date on boot, before the consumer starts (every onModuleInit runs
 * before any onApplicationBootstrap): settlement posts entries at cycle close, and may be the first
 * service to boot on a fresh database.
 */
@Injectable()
export class LedgerSchemaOnBoot implements OnModuleInit {
  constructor(@Inject(PLATFORM_CONFIG) private readonly config: PlatformConfig) {}

  async onModuleInit(): Promise<void> {
    if (!this.config.migrateOnBoot) return;
    const applied = await migrateLedgerSchema({
      databaseUrl: this.config.databaseUrl,
      applicationName: 'cse-settlement-ledger-migrations',
    });
    if (applied.length > 0) new Logger('Migrations').log(`${LEDGER_SCHEMA}: applied ${applied.join(', ')}`);
  }
}
