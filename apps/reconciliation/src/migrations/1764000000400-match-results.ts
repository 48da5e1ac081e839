import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Match results (对账结果): one match_run row per run of (channel, business date) and one match_item
 * row per classified item. Every run writes a new match_run with all its items, so a re-run of the
 * same day never duplicates or overwrites an earlier run: the latest run of (channel, date) is the
 * current answer.
 *
 * TODO(matching): marking items as handled and emitting discrepancies/clearing input exactly once
 * per (channel, date) belongs to a later issue; these tables only record what each run classified.
 */
export class MatchResults1764000000400 implements MigrationInterface {
  readonly name = 'MatchResults1764000000400';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE reconciliation.match_run (
        id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        channel        text        NOT NULL,
        business_date  date        NOT NULL,
        started_at     timestamptz NOT NULL,
        finished_at    timestamptz NOT NULL,
        counts         jsonb       NOT NULL
      )`);
    // "The latest run of (channel, date)" — read by the next day's run for its pending items.
    await runner.query(`
      CREATE INDEX match_run_channel_day
        ON reconciliation.match_run (channel, business_date, id)`);
    // No foreign key (like statement_line): a run and its items are written in ONE transaction.
    await runner.query(`
      CREATE TABLE reconciliation.match_item (
        match_run_id            bigint  NOT NULL,
        class                   text    NOT NULL CHECK (class IN ('MATCHED', 'AMOUNT_MISMATCH', 'STATUS_MISMATCH',
                                          'MISSING_IN_CHANNEL', 'MISSING_INTERNAL', 'PENDING_CROSS_DAY', 'DUPLICATE')),
        side                    text    NOT NULL CHECK (side IN ('BOTH', 'INTERNAL', 'CHANNEL')),
        match_key               text    NOT NULL,
        event_id                text,
        statement_file_id       bigint,
        line_no                 int,
        order_no                text    NOT NULL,
        refund_no               text,
        reason                  text    NOT NULL,
        fee_difference          numeric,
        original_business_date  date,
        CHECK ((side = 'CHANNEL') = (event_id IS NULL)),
        CHECK ((side = 'INTERNAL') = (line_no IS NULL)),
        CHECK ((statement_file_id IS NULL) = (line_no IS NULL))
      )`);
    await runner.query(`
      CREATE INDEX match_item_run_class
        ON reconciliation.match_item (match_run_id, class)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE reconciliation.match_item');
    await runner.query('DROP TABLE reconciliation.match_run');
  }
}
