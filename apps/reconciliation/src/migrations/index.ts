import {
  deadLetterReplayMigration,
  messagingGuardsMigration,
  messagingRetentionMigration,
  messagingTablesMigration,
} from '@app/messaging';
import { InternalTransactions1764000000100 } from './1764000000100-internal-transactions.js';
import { Statements1764000000300 } from './1764000000300-statements.js';
import { MatchResults1764000000400 } from './1764000000400-match-results.js';
import { Discrepancies1764000000500 } from './1764000000500-discrepancies.js';
import { StatementRejectedLines1764000001900 } from './1764000001900-statement-rejected-lines.js';
import { MatchOnImport1764000003100 } from './1764000003100-match-on-import.js';

export const RECONCILIATION_SCHEMA = 'reconciliation';

/** In order of application; a migration, once released, is never edited, only followed by another. */
export const reconciliationMigrations = [
  messagingTablesMigration(RECONCILIATION_SCHEMA),
  InternalTransactions1764000000100,
  Statements1764000000300,
  MatchResults1764000000400,
  Discrepancies1764000000500,
  deadLetterReplayMigration(RECONCILIATION_SCHEMA),
  messagingRetentionMigration(RECONCILIATION_SCHEMA),
  StatementRejectedLines1764000001900,
  MatchOnImport1764000003100,
  messagingGuardsMigration(RECONCILIATION_SCHEMA),
];
