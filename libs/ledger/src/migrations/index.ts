import { Ledger1764000000200 } from './1764000000200-ledger.js';

export const LEDGER_SCHEMA = 'ledger';

/** The ledger's own migrations, tracked in ledger.migrations like any service's. */
export const ledgerMigrations = [Ledger1764000000200];
