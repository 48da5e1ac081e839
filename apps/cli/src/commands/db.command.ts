import { LEDGER_SCHEMA, ledgerMigrations } from '@app/ledger';
import { runServiceMigrations } from '@app/platform';
import {
  RECONCILIATION_SCHEMA,
  reconciliationMigrations,
} from '../../../reconciliation/src/migrations/index.js';
import { CLEARING_SCHEMA, clearingMigrations } from '../../../clearing/src/migrations/index.js';
import { SETTLEMENT_SCHEMA, settlementMigrations } from '../../../settlement/src/migrations/index.js';
import {
  PAYOUT_GATEWAY_SCHEMA,
  payoutGatewayMigrations,
} from '../../../payout-gateway-simulator/src/migrations/index.js';
import { emit, table, type OutputOptions } from '../output.js';
import { withSchemaDataSource } from '../schema-data-source.js';

/** Every service's schema and migrations, in the order a fresh database is built. */
export const SERVICE_SCHEMAS = [
  { schema: LEDGER_SCHEMA, migrations: ledgerMigrations },
  { schema: RECONCILIATION_SCHEMA, migrations: reconciliationMigrations },
  { schema: CLEARING_SCHEMA, migrations: clearingMigrations },
  { schema: SETTLEMENT_SCHEMA, migrations: settlementMigrations },
  { schema: PAYOUT_GATEWAY_SCHEMA, migrations: payoutGatewayMigrations },
];

export async function migrateCommand(
  options: OutputOptions,
): Promise<{ schema: string; applied: string[] }[]> {
  const results: { schema: string; applied: string[] }[] = [];
  for (const { schema, migrations } of SERVICE_SCHEMAS) {
    const applied = await withSchemaDataSource(schema, migrations, (dataSource) =>
      runServiceMigrations(dataSource, schema),
    );
    results.push({ schema, applied });
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
