import type { MigrationInterface, QueryRunner } from 'typeorm';
import { quoteIdent } from '@app/platform';

/**
 * Inbox and outbox live in each service's own schema so that a service's effects, the record that
 * an event was handled and the events it emits commit in ONE transaction (DESIGN.md §4).
 */
export function messagingTablesMigration(schema: string): new () => MigrationInterface {
  const s = quoteIdent(schema);
  return class MessagingTables1764000000000 implements MigrationInterface {
    readonly name = 'MessagingTables1764000000000';

    async up(runner: QueryRunner): Promise<void> {
      await runner.query(`
        CREATE TABLE ${s}.inbox (
          consumer      text        NOT NULL,
          event_id      text        NOT NULL CHECK (length(event_id) BETWEEN 1 AND 128),
          topic         text        NOT NULL,
          partition     integer     NOT NULL,
          kafka_offset  bigint      NOT NULL,
          processed_at  timestamptz NOT NULL DEFAULT now(),
          -- Unique per consumer, not per service: two consumers of one topic each apply the event once.
          PRIMARY KEY (consumer, event_id)
        )`);
      await runner.query(`
        CREATE TABLE ${s}.outbox (
          id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          topic         text        NOT NULL,
          message_key   text,
          value         bytea       NOT NULL,
          headers       jsonb       NOT NULL DEFAULT '{}'::jsonb,
          -- Set where the same logical message may be enqueued twice (e.g. a dead letter for a
          -- redelivered offset); the unique index turns the second enqueue into a no-op.
          dedupe_key    text,
          created_at    timestamptz NOT NULL DEFAULT now(),
          published_at  timestamptz
        )`);
      await runner.query(
        `CREATE UNIQUE INDEX outbox_dedupe_key_uq ON ${s}.outbox (dedupe_key) WHERE dedupe_key IS NOT NULL`,
      );
      // The relay scans only what is still to publish; published rows drop out of this index.
      await runner.query(
        `CREATE INDEX outbox_unpublished_idx ON ${s}.outbox (id) WHERE published_at IS NULL`,
      );
    }

    async down(runner: QueryRunner): Promise<void> {
      await runner.query(`DROP TABLE ${s}.outbox`);
      await runner.query(`DROP TABLE ${s}.inbox`);
    }
  };
}
