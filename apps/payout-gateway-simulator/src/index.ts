// The payout-gateway-simulator app as other code sees it: what apps/cli, scripts/demo.ts, test/ and test/bench import.
// Import this file, never a module under src/ (eslint.config.js fails a deep import into another
// app). main.ts is not here: it bootstraps the service.
export * from './migrations/index.js';
export * from './payout-gateway.js';
