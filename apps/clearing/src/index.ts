// The clearing app as other code sees it: what apps/cli, scripts/demo.ts, test/ and test/bench import.
// Import this file, never a module under src/ (eslint.config.js fails a deep import into another
// app). main.ts is not here: it bootstraps the service.
export * from './clearing.module.js';
export * from './clearing/clearing-entry.js';
export * from './clearing/clearing-summary.js';
export * from './clearing/internal-reconciliation.js';
export * from './clearing/item-matched.consumer.js';
export * from './fees/fee-rule.repository.js';
export * from './fees/fee-rules.service.js';
export * from './fees/fee.types.js';
export * from './migrations/index.js';
