export * from './chart.js';
export * from './journal-entry.js';
export * from './ledger-checks.js';
export * from './ledger-error.js';
export * from './ledger.js';
export * from './migrations/index.js';
export * from './ledger-queries.js';
export * from './ledger.module.js';
