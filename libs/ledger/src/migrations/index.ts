export { LEDGER_SCHEMA } from './ledger-schema-name.js';
export { ledgerMigrations, migrateLedgerSchema } from './migrate-ledger-schema.js';
