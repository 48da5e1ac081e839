// The reconciliation app as other code sees it: what apps/cli, scripts/demo.ts, test/ and test/bench import.
// Import this file, never a module under src/ (eslint.config.js fails a deep import into another
// app). main.ts is not here: it bootstraps the service.
export * from './discrepancy/adjustment.js';
export * from './discrepancy/discrepancy-csv.js';
export * from './discrepancy/discrepancy.service.js';
export * from './discrepancy/discrepancy.types.js';
export * from './http/statement-upload.js';
export * from './ingest/channel-calendar.repository.js';
export * from './ingest/internal-transaction.js';
export * from './ingest/internal-transaction.repository.js';
export * from './ingest/t-day-entry.js';
export * from './ingest/transaction-ingest.consumer.js';
export * from './ingest/transaction-ingest.handler.js';
export * from './matching/classify.js';
export * from './matching/match-run.service.js';
export * from './matching/match.types.js';
export * from './matching/matched-item.source.js';
export * from './migrations/index.js';
export * from './reconciliation.module.js';
export * from './statement/parsers/index.js';
export * from './statement/statement-import.service.js';
export * from './statement/statement-line.js';
