import {
  commandAuditMigration,
  deadLetterReplayMigration,
  messagingGuardsMigration,
  messagingRetentionMigration,
  messagingTablesMigration,
} from '@app/messaging';
import { FeeRules1764000000600 } from './1764000000600-fee-rules.js';
import { ClearedItems1764000000700 } from './1764000000700-cleared-items.js';

export const CLEARING_SCHEMA = 'clearing';

/** In order of application; a migration, once released, is never edited, only followed by another. */
export const clearingMigrations = [
  messagingTablesMigration(CLEARING_SCHEMA),
  FeeRules1764000000600,
  ClearedItems1764000000700,
  deadLetterReplayMigration(CLEARING_SCHEMA),
  messagingRetentionMigration(CLEARING_SCHEMA),
  messagingGuardsMigration(CLEARING_SCHEMA),
  commandAuditMigration(CLEARING_SCHEMA),
];
