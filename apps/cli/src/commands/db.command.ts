import { LEDGER_SCHEMA, ledgerMigrations } from '@app/ledger';
import { createServiceDataSource, loadPlatformConfig, runServiceMigrations } from '@app/platform';
import {
  RECONCILIATION_SCHEMA,
  reconciliationMigrations,
} from '../../../reconciliation/src/migrations/index.js';
import { CLEARING_SCHEMA, clearingMigrations } from '../../../clearing/src/migrations/index.js';
import { SETTLEMENT_SCHEMA, settlementMigrations } from '../../../settlement/src/migrations/index.js';
import { emit, table, type OutputOptions } from '../output.js';

/** Every service's schema and migrations, in the order a fresh database is built. */
export const SERVICE_SCHEMAS = [
  { schema: LEDGER_SCHEMA, migrations: ledgerMigrations },
  { schema: RECONCILIATION_SCHEMA, migrations: reconciliationMigrations },
  { schema: CLEARING_SCHEMA, migrations: clearingMigrations },
  { schema: SETTLEMENT_SCHEMA, migrations: settlementMigrations },
];

export async function migrateCommand(
  options: OutputOptions,
): Promise<{ schema: string; applied: string[] }[]> {
  const config = loadPlatformConfig('cli');
  const results: { schema: string; applied: string[] }[] = [];
  for (const { schema, migrations } of SERVICE_SCHEMAS) {
    const dataSource = createServiceDataSource({
      databaseUrl: config.databaseUrl,
      schema,
      migrations,
      applicationName: 'cse-cli',
      poolMax: 2,
    });
    await dataSource.initialize();
    try {
      results.push({ schema, applied: await runServiceMigrations(dataSource, schema) });
    } finally {
      await dataSource.destroy();
    }
  }
  emit(options, results, () =>
    table(
      results.map((r) => ({
        schema: r.schema,
        applied: r.applied.length === 0 ? '(up to date)' : r.applied.join(', '),
      })),
    ),
  );
  return results;
}
