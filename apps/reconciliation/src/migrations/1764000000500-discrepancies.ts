import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The set-based match run (ADR 007) and the discrepancy (差错) workflow.
 *
 * - channel_match_policy: per-channel matching rules as configuration (cross-day window and grace,
 *   expected fee rate, the channel's success status words).
 * - match_item is written by one INSERT … SELECT per run, ~10M rows for a big day: MATCHED rows
 *   carry no reason or key (both are derivable), and the table gets a BRIN index on the run id
 *   (rows of a run are appended together) instead of a B-tree that would cost more to maintain
 *   than the rows themselves. It now also keeps the internal transaction's id, so a later run
 *   finds carried items by primary key.
 * - statement_line is read by file (the match run joins one file's lines in memory), so the
 *   (channel, business_date, order_no) B-tree goes, replaced by a BRIN on the file id.
 * - discrepancy: one row per non-matched item (not per run), with its lifecycle; discrepancy_history
 *   is its append-only audit trail (who did what when).
 */
export class Discrepancies1764000000500 implements MigrationInterface {
  readonly name = 'Discrepancies1764000000500';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE reconciliation.channel_match_policy (
        channel                   text    PRIMARY KEY CHECK (channel ~ '^[A-Z0-9_]{1,32}$'),
        cross_day_window_minutes  int     NOT NULL DEFAULT 5 CHECK (cross_day_window_minutes BETWEEN 0 AND 1440),
        cross_day_grace_days      int     NOT NULL DEFAULT 1 CHECK (cross_day_grace_days BETWEEN 0 AND 31),
        expected_fee_rate         numeric CHECK (expected_fee_rate >= 0 AND expected_fee_rate < 1),
        payment_success_statuses  text[]  NOT NULL DEFAULT ARRAY['SUCCESS'],
        refund_success_statuses   text[]  NOT NULL DEFAULT ARRAY['SUCCESS', 'REFUND'],
        updated_at                timestamptz NOT NULL DEFAULT now()
      )`);
    // The sample channels' contracted rate (0.6%); a channel without a row gets the defaults and no fee check.
    await runner.query(`
      INSERT INTO reconciliation.channel_match_policy (channel, expected_fee_rate) VALUES
        ('WECHAT', 0.006), ('ALIPAY', 0.006)`);

    await runner.query('DROP INDEX reconciliation.match_item_run_class');
    await runner.query(`
      ALTER TABLE reconciliation.match_item
        ADD COLUMN internal_transaction_id bigint,
        ALTER COLUMN match_key DROP NOT NULL,
        ALTER COLUMN reason DROP NOT NULL,
        ADD CONSTRAINT match_item_internal_id CHECK ((side = 'CHANNEL') = (internal_transaction_id IS NULL)),
        ADD CONSTRAINT match_item_reason CHECK (class = 'MATCHED' OR (reason IS NOT NULL AND match_key IS NOT NULL))`);
    await runner.query(`
      CREATE INDEX match_item_run_brin ON reconciliation.match_item USING brin (match_run_id)`);
    // The next day's run reads a run's pending items: a handful among millions.
    await runner.query(`
      CREATE INDEX match_item_pending ON reconciliation.match_item (match_run_id)
        WHERE class = 'PENDING_CROSS_DAY'`);

    await runner.query('DROP INDEX reconciliation.statement_line_channel_day_order');
    await runner.query(`
      CREATE INDEX statement_line_file_brin ON reconciliation.statement_line USING brin (statement_file_id)`);

    // The mark (对平标记) of a transaction released to clearing, and the outbox of
    // recon.item-matched.v1: one narrow row per transaction, ever (the primary key is what makes
    // "each once" hold across re-runs and resolutions); the relay builds each event from it and the
    // rows it points to, and sets published_at. A JSON outbox row per item was ~860 bytes and most of
    // a 1M-item run's time (docs/BENCHMARKS.md).
    await runner.query(`
      CREATE TABLE reconciliation.matched_item (
        internal_transaction_id  bigint      PRIMARY KEY,
        channel                  text        NOT NULL,
        matched_by               text        NOT NULL CHECK (matched_by IN ('MATCH_RUN', 'DISCREPANCY_RESOLUTION')),
        match_run_id             bigint,
        discrepancy_id           bigint,
        statement_file_id        bigint,
        line_no                  int,
        matched_at               timestamptz NOT NULL,
        published_at             timestamptz,
        CHECK ((matched_by = 'MATCH_RUN') = (match_run_id IS NOT NULL)),
        CHECK ((matched_by = 'DISCREPANCY_RESOLUTION') = (discrepancy_id IS NOT NULL)),
        CHECK ((statement_file_id IS NULL) = (line_no IS NULL))
      )`);
    await runner.query(`
      CREATE INDEX matched_item_unpublished ON reconciliation.matched_item (internal_transaction_id)
        WHERE published_at IS NULL`);

    await runner.query(`
      CREATE TABLE reconciliation.discrepancy (
        id                          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        channel                     text        NOT NULL,
        -- 'txn:<internal transaction id>' when we have the transaction, else 'line:<file id>:<line no>':
        -- a re-run that sees the same item again updates this row instead of opening another.
        item_ref                    text        NOT NULL,
        business_date               date        NOT NULL,
        detected_on                 date        NOT NULL,
        class                       text        NOT NULL CHECK (class IN ('AMOUNT_MISMATCH', 'STATUS_MISMATCH',
                                                  'MISSING_IN_CHANNEL', 'MISSING_INTERNAL', 'DUPLICATE')),
        side                        text        NOT NULL CHECK (side IN ('BOTH', 'INTERNAL', 'CHANNEL')),
        item_type                   text        NOT NULL CHECK (item_type IN ('PAYMENT', 'REFUND')),
        internal_transaction_id     bigint,
        event_id                    text,
        statement_file_id           bigint,
        line_no                     int,
        merchant_id                 text,
        order_no                    text        NOT NULL,
        refund_no                   text,
        internal_amount             numeric,
        channel_amount              numeric,
        currency                    char(3)     NOT NULL,
        fee_difference              numeric,
        reason                      text        NOT NULL,
        status                      text        NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'RESOLVED')),
        resolution                  text        CHECK (resolution IN ('REMATCH', 'ADJUSTMENT', 'WRITE_OFF')),
        resolution_note             text,
        resolved_by                 text,
        resolved_at                 timestamptz,
        resolution_idempotency_key  text,
        journal_entry_id            bigint,
        first_match_run_id          bigint      NOT NULL,
        last_match_run_id           bigint      NOT NULL,
        opened_at                   timestamptz NOT NULL DEFAULT now(),
        updated_at                  timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT discrepancy_item UNIQUE (channel, item_ref),
        CONSTRAINT discrepancy_resolution_key UNIQUE (resolution_idempotency_key),
        CHECK ((status = 'RESOLVED') = (resolution IS NOT NULL AND resolved_by IS NOT NULL AND resolved_at IS NOT NULL)),
        CHECK ((internal_transaction_id IS NULL) = (event_id IS NULL)),
        CHECK ((statement_file_id IS NULL) = (line_no IS NULL))
      )`);
    await runner.query(`
      CREATE INDEX discrepancy_detected ON reconciliation.discrepancy (detected_on, channel, class, id)`);
    await runner.query(`
      CREATE INDEX discrepancy_open ON reconciliation.discrepancy (channel, id) WHERE status = 'OPEN'`);

    await runner.query(`
      CREATE TABLE reconciliation.discrepancy_history (
        id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        discrepancy_id   bigint      NOT NULL REFERENCES reconciliation.discrepancy (id),
        action           text        NOT NULL CHECK (action IN ('OPENED', 'RECLASSIFIED', 'RESOLVED')),
        actor            text        NOT NULL,
        at               timestamptz NOT NULL DEFAULT now(),
        match_run_id     bigint,
        detail           jsonb       NOT NULL DEFAULT '{}'::jsonb
      )`);
    await runner.query(`
      CREATE INDEX discrepancy_history_of ON reconciliation.discrepancy_history (discrepancy_id, id)`);
    // The trail is evidence: like the ledger, it is never rewritten.
    await runner.query(`
      CREATE FUNCTION reconciliation.refuse_history_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'discrepancy_history is append-only: % refused', TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await runner.query(`
      CREATE TRIGGER discrepancy_history_append_only
        BEFORE UPDATE OR DELETE OR TRUNCATE ON reconciliation.discrepancy_history
        FOR EACH STATEMENT EXECUTE FUNCTION reconciliation.refuse_history_change()`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE reconciliation.discrepancy_history');
    await runner.query('DROP FUNCTION reconciliation.refuse_history_change()');
    await runner.query('DROP TABLE reconciliation.discrepancy');
    await runner.query('DROP TABLE reconciliation.matched_item');
    await runner.query('DROP INDEX reconciliation.statement_line_file_brin');
    await runner.query(`
      CREATE INDEX statement_line_channel_day_order
        ON reconciliation.statement_line (channel, business_date, order_no)`);
    await runner.query('DROP INDEX reconciliation.match_item_pending');
    await runner.query('DROP INDEX reconciliation.match_item_run_brin');
    await runner.query(`
      ALTER TABLE reconciliation.match_item
        DROP CONSTRAINT match_item_reason,
        DROP CONSTRAINT match_item_internal_id,
        DROP COLUMN internal_transaction_id`);
    await runner.query(`
      CREATE INDEX match_item_run_class ON reconciliation.match_item (match_run_id, class)`);
    await runner.query('DROP TABLE reconciliation.channel_match_policy');
  }
}
