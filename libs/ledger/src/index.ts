export * from './chart.js';
export * from './journal-entry.js';
export * from './ledger-error.js';
export * from './ledger.js';
export * from './migrations/index.js';
