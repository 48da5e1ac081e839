import {
  commandAuditMigration,
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
import { Attribution1764000004200 } from './1764000004200-attribution.js';
import { AdjustmentConfirmation1764000004600 } from './1764000004600-adjustment-confirmation.js';

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
  commandAuditMigration(RECONCILIATION_SCHEMA),
  Attribution1764000004200,
  AdjustmentConfirmation1764000004600,
];
