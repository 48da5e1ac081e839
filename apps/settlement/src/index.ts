// The settlement app as other code sees it: what apps/cli, scripts/demo.ts, test/ and test/bench import.
// Import this file, never a module under src/ (eslint.config.js fails a deep import into another
// app). main.ts is not here: it bootstraps the service.
export * from './approval/approval-error.js';
export * from './approval/approval-records.js';
export * from './approval/approval.service.js';
export * from './cycle/settlement-cycle.js';
export * from './domain.js';
export * from './http/http-errors.js';
export * from './migrations/index.js';
export * from './payout/payout-account.js';
export * from './payout/payout-result.consumer.js';
export * from './payout/payout-retry.js';
export * from './payout/payout.service.js';
export * from './scheduler/settlement-scheduler.js';
export * from './settlement.module.js';
export * from './settlement/cleared-item-test-support.js';
export * from './settlement/cleared-item.store.js';
export * from './settlement/cycle-close.service.js';
export * from './settlement/item-cleared.consumer.js';
export * from './settlement/settlement-config.js';
export * from './settlement/settlement-records.js';
export * from './statement/daily-summary.js';
export * from './statement/merchant-statement.js';
