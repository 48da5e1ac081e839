import { messagingTablesMigration } from '@app/messaging';

export const CLEARING_SCHEMA = 'clearing';

/** In order of application; a migration, once released, is never edited, only followed by another. */
export const clearingMigrations = [messagingTablesMigration(CLEARING_SCHEMA)];
