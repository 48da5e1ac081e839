// The cli app as other code sees it: what apps/cli, scripts/demo.ts, test/ and test/bench import.
// Import this file, never a module under src/ (eslint.config.js fails a deep import into another
// app). main.ts is not here: it bootstraps the service.
export * from './api-client.js';
export * from './commands/clearing.command.js';
export * from './commands/db.command.js';
export * from './commands/ledger.command.js';
export * from './commands/messaging.command.js';
export * from './commands/publish.command.js';
export * from './commands/recon.command.js';
export * from './commands/settlement-payouts.command.js';
export * from './commands/settlement.command.js';
export * from './commands/statement.command.js';
export * from './commands/transactions.command.js';
export * from './output.js';
export * from './schema-data-source.js';
