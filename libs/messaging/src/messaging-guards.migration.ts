import type { MigrationInterface, QueryRunner } from 'typeorm';
import { quoteIdent } from '@app/platform';

/**
 * What keeps one message from jamming an outbox, and a conflicting redelivery from vanishing
 * (ADR 003, addendum "Outbox that never jams; conflicting duplicates"); appended to every service
 * schema that has messaging tables.
 *
 * - `outbox.parked_at`, `park_reason`: a row the broker refuses for good (too large, invalid) is
 *   set aside with the broker's reason; the relay skips it, it is never deleted, and readiness
 *   turns not-ready while one exists.
 * - `outbox.published_value_bytes_max`: the relay publishes at most this many bytes of the value
 *   (dead letters: the whole value stays here for `dlq replay`).
 * - `outbox_unpark`: who put a parked row back in the queue, when and why (append-only audit).
 * - `inbox.payload_sha256`: the hash of the payload that claimed the event id, so a redelivery with
 *   another payload is told apart from a plain duplicate. Rows from before have none (unknown).
 *
 * Nullable columns without defaults are added without rewriting the tables; the checks are NOT
 * VALID so that adding them does not scan millions of existing rows (there is nothing to check in
 * them: every new column is null there).
 */
export function messagingGuardsMigration(schema: string): new () => MigrationInterface {
  const s = quoteIdent(schema);
  return class MessagingGuards1764000004000 implements MigrationInterface {
    readonly name = 'MessagingGuards1764000004000';

    async up(runner: QueryRunner): Promise<void> {
      await runner.query(`
        ALTER TABLE ${s}.outbox
          ADD COLUMN parked_at timestamptz,
          ADD COLUMN park_reason text,
          ADD COLUMN published_value_bytes_max integer,
          ADD CONSTRAINT outbox_parked_with_reason
            CHECK ((parked_at IS NULL) = (park_reason IS NULL) AND length(park_reason) <= 2000) NOT VALID,
          ADD CONSTRAINT outbox_published_value_bytes_max_positive
            CHECK (published_value_bytes_max > 0) NOT VALID`);
      // Parked rows are few and looked up by readiness probes every few seconds.
      await runner.query(
        `CREATE INDEX outbox_parked_idx ON ${s}.outbox (id) WHERE parked_at IS NOT NULL AND published_at IS NULL`,
      );
      await runner.query(`
        CREATE TABLE ${s}.outbox_unpark (
          id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          -- No foreign key: once published, the row is pruned (retention.ts); its audit stays.
          outbox_id    bigint      NOT NULL,
          topic        text        NOT NULL,
          message_key  text,
          parked_at    timestamptz NOT NULL,
          park_reason  text        NOT NULL,
          unparked_by  text        NOT NULL CHECK (length(unparked_by) BETWEEN 1 AND 200),
          reason       text        NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
          unparked_at  timestamptz NOT NULL DEFAULT now()
        )`);
      await runner.query(`
        ALTER TABLE ${s}.inbox
          ADD COLUMN payload_sha256 bytea,
          ADD CONSTRAINT inbox_payload_sha256_length CHECK (octet_length(payload_sha256) = 32) NOT VALID`);
    }

    async down(runner: QueryRunner): Promise<void> {
      await runner.query(`ALTER TABLE ${s}.inbox DROP COLUMN payload_sha256`);
      await runner.query(`DROP TABLE ${s}.outbox_unpark`);
      await runner.query(`DROP INDEX ${s}.outbox_parked_idx`);
      await runner.query(
        `ALTER TABLE ${s}.outbox DROP COLUMN parked_at, DROP COLUMN park_reason, DROP COLUMN published_value_bytes_max`,
      );
    }
  };
}
