import { messagingTablesMigration } from '@app/messaging';

export const SETTLEMENT_SCHEMA = 'settlement';

/** In order of application; a migration, once released, is never edited, only followed by another. */
export const settlementMigrations = [messagingTablesMigration(SETTLEMENT_SCHEMA)];
