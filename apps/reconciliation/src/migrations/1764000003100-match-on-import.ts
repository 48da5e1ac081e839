import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The match run made while a statement is imported (ADR 013): one write per statement line, the
 * line with its class, instead of a line, a match_item row and a matched_item mark per item.
 *
 * - statement_line: no primary key and no per-row channel and business date (the file has them);
 *   `seq` is the row's position in the file's COPY (lines naming no refund number are decided, and
 *   so written, last), read through a BRIN in ranges; `match_class` and `internal_transaction_id`
 *   are what the run made on import said of the line (null for a line imported without a run).
 *   The line numbers stay unique per file because one COPY in one transaction writes them all.
 * - statement_file: `match_run_id` of that run, and `published_through_seq`, how far the
 *   matched-item relay has read the file's MATCHED lines.
 * - matched_item stays the ledger of what was released to clearing (its primary key is "each
 *   once"): the relay writes a line's row when it publishes it. It now carries the line's figures,
 *   so the relay never looks a line up by number.
 */
export class MatchOnImport1764000003100 implements MigrationInterface {
  readonly name = 'MatchOnImport1764000003100';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE reconciliation.statement_line
        DROP CONSTRAINT statement_line_pkey,
        DROP COLUMN channel,
        DROP COLUMN business_date,
        ADD COLUMN seq int,
        ADD COLUMN match_class text CHECK (match_class IN ('MATCHED', 'AMOUNT_MISMATCH', 'STATUS_MISMATCH',
          'MISSING_INTERNAL', 'DUPLICATE')),
        ADD COLUMN internal_transaction_id bigint,
        ADD CONSTRAINT statement_line_pair CHECK (
          (match_class IN ('MATCHED', 'AMOUNT_MISMATCH', 'STATUS_MISMATCH')) = (internal_transaction_id IS NOT NULL))`);
    await runner.query('UPDATE reconciliation.statement_line SET seq = line_no');
    await runner.query('ALTER TABLE reconciliation.statement_line ALTER COLUMN seq SET NOT NULL');
    await runner.query('DROP INDEX reconciliation.statement_line_file_brin');
    await runner.query(`
      CREATE INDEX statement_line_file_seq_brin ON reconciliation.statement_line
        USING brin (statement_file_id, seq) WITH (pages_per_range = 16)`);

    await runner.query(`
      ALTER TABLE reconciliation.statement_file
        ADD COLUMN match_run_id bigint,
        ADD COLUMN published_through_seq int NOT NULL DEFAULT 0 CHECK (published_through_seq >= 0)`);
    await runner.query(`
      CREATE INDEX statement_file_unpublished ON reconciliation.statement_file (id)
        WHERE match_run_id IS NOT NULL AND published_through_seq < line_count`);

    await runner.query(`
      ALTER TABLE reconciliation.matched_item
        ADD COLUMN line_amount numeric,
        ADD COLUMN line_fee numeric,
        ADD COLUMN line_channel_txn_id text,
        ADD COLUMN line_trade_time timestamp without time zone`);
    await runner.query(`
      UPDATE reconciliation.matched_item m
      SET line_amount = l.amount, line_fee = l.fee, line_channel_txn_id = l.channel_txn_id, line_trade_time = l.trade_time
      FROM reconciliation.statement_line l
      WHERE l.statement_file_id = m.statement_file_id AND l.line_no = m.line_no`);
    await runner.query(`
      ALTER TABLE reconciliation.matched_item
        ADD CONSTRAINT matched_item_line_figures CHECK ((line_no IS NULL) OR (line_amount IS NOT NULL AND line_trade_time IS NOT NULL))`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE reconciliation.matched_item
        DROP CONSTRAINT matched_item_line_figures,
        DROP COLUMN line_amount, DROP COLUMN line_fee, DROP COLUMN line_channel_txn_id, DROP COLUMN line_trade_time`);
    await runner.query('DROP INDEX reconciliation.statement_file_unpublished');
    await runner.query(`
      ALTER TABLE reconciliation.statement_file DROP COLUMN match_run_id, DROP COLUMN published_through_seq`);
    await runner.query('DROP INDEX reconciliation.statement_line_file_seq_brin');
    await runner.query(`
      CREATE INDEX statement_line_file_brin ON reconciliation.statement_line USING brin (statement_file_id)`);
    await runner.query(`
      ALTER TABLE reconciliation.statement_line
        DROP CONSTRAINT statement_line_pair,
        DROP COLUMN seq, DROP COLUMN match_class, DROP COLUMN internal_transaction_id,
        ADD COLUMN channel text, ADD COLUMN business_date date`);
    await runner.query(`
      UPDATE reconciliation.statement_line l SET channel = f.channel, business_date = f.business_date
      FROM reconciliation.statement_file f WHERE f.id = l.statement_file_id`);
    await runner.query(`
      ALTER TABLE reconciliation.statement_line
        ALTER COLUMN channel SET NOT NULL, ALTER COLUMN business_date SET NOT NULL,
        ADD PRIMARY KEY (statement_file_id, line_no)`);
  }
}
