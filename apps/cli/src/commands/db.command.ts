import { LEDGER_SCHEMA, ledgerMigrations } from '@app/ledger';
import { grantServiceRole, runServiceMigrations } from '@app/platform';
import { RECONCILIATION_SCHEMA, reconciliationMigrations } from '../../../reconciliation/src/index.js';
import { CLEARING_SCHEMA, clearingMigrations } from '../../../clearing/src/index.js';
import { SETTLEMENT_SCHEMA, settlementMigrations } from '../../../settlement/src/index.js';
import {
  PAYOUT_GATEWAY_SCHEMA,
  payoutGatewayMigrations,
} from '../../../payout-gateway-simulator/src/index.js';
import { emit, table, UsageError, type OutputOptions } from '../output.js';
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

/**
 * `db roles [--prefix cse_]`: one least-privilege login role per service (ADR 012), created or
 * brought up to date; run as the schemas' owner after `db migrate`, then point each service's
 * DATABASE_URL at its role and set DB_MIGRATE_ON_BOOT=false.
 */
export async function rolesCommand(
  options: OutputOptions & { prefix: string },
): Promise<{ role: string; schemas: string[] }[]> {
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(options.prefix))
    throw new UsageError(`--prefix must be lower-case letters, digits and _, got "${options.prefix}"`);
  const results: { role: string; schemas: string[] }[] = [];
  for (const { schema, migrations } of SERVICE_SCHEMAS) {
    if (schema === LEDGER_SCHEMA) continue;
    // The payout gateway stands in for a bank: it keeps no books.
    const ledger = schema !== PAYOUT_GATEWAY_SCHEMA;
    const role = `${options.prefix}${schema}`;
    await withSchemaDataSource(schema, migrations, (dataSource) =>
      grantServiceRole(dataSource, { role, schema, ledger }),
    );
    results.push({ role, schemas: ledger ? [schema, `${LEDGER_SCHEMA} (append)`] : [schema] });
  }
  emit(options, results, () =>
    table(results.map((r) => ({ role: r.role, 'may use': r.schemas.join(', ') }))),
  );
  return results;
}
