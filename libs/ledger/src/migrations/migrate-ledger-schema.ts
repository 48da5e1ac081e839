import { createServiceDataSource, runServiceMigrations } from '@app/platform';
import { LEDGER_SCHEMA } from './ledger-schema-name.js';
import { Ledger1764000000200 } from './1764000000200-ledger.js';
import { LedgerMerchantPendingWithoutFloor1764000000700 } from './1764000000700-merchant-pending-without-floor.js';
import { LedgerPostingPath1764000002000 } from './1764000002000-posting-path.js';
import { LedgerPostingIndexesAndColdDeltas1764000003000 } from './1764000003000-posting-indexes-and-cold-deltas.js';

/** The ledger's own migrations, tracked in ledger.migrations like any service's. */
export const ledgerMigrations = [
  Ledger1764000000200,
  LedgerMerchantPendingWithoutFloor1764000000700,
  LedgerPostingPath1764000002000,
  LedgerPostingIndexesAndColdDeltas1764000003000,
];

/**
 * Brings the ledger schema up to date, for a service that posts entries and boots on a database
 * that may be fresh. The ledger keeps its own migrations table (ledger.migrations), so every
 * service's boot and `cse db migrate` apply each migration once; runServiceMigrations' advisory
 * lock serialises services and replicas booting together. Returns the migrations applied.
 */
export async function migrateLedgerSchema(options: {
  databaseUrl: string;
  applicationName: string;
}): Promise<string[]> {
  const dataSource = createServiceDataSource({
    databaseUrl: options.databaseUrl,
    schema: LEDGER_SCHEMA,
    migrations: ledgerMigrations,
    // Two: runServiceMigrations holds its lock on one connection while migrating on the other.
    poolMax: 2,
    applicationName: options.applicationName,
  });
  await dataSource.initialize();
  try {
    return await runServiceMigrations(dataSource, LEDGER_SCHEMA);
  } finally {
    await dataSource.destroy();
  }
}
