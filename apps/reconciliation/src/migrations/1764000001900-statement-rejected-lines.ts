import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Malformed statement lines set aside instead of failing the import, where a channel is configured
 * for it (`channel_match_policy.rejected_lines_max` > 0; 0, the default, keeps failing the import).
 * Each one is kept with its line, field, reason and text, and the discrepancy report lists them:
 * a line we could not read is never silently skipped.
 */
export class StatementRejectedLines1764000001900 implements MigrationInterface {
  readonly name = 'StatementRejectedLines1764000001900';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE reconciliation.channel_match_policy
        ADD COLUMN rejected_lines_max int NOT NULL DEFAULT 0 CHECK (rejected_lines_max BETWEEN 0 AND 100000)`);
    await runner.query(`
      ALTER TABLE reconciliation.statement_file
        ADD COLUMN rejected_line_count int NOT NULL DEFAULT 0 CHECK (rejected_line_count >= 0),
        ADD COLUMN controls_unverified text`);
    await runner.query(`
      CREATE TABLE reconciliation.statement_rejected_line (
        statement_file_id  bigint  NOT NULL REFERENCES reconciliation.statement_file (id),
        line_no            int     NOT NULL CHECK (line_no > 0),
        field              text,
        reason             text    NOT NULL,
        line_text          text    NOT NULL,
        PRIMARY KEY (statement_file_id, line_no)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE IF EXISTS reconciliation.statement_rejected_line');
    await runner.query(
      'ALTER TABLE reconciliation.statement_file DROP COLUMN IF EXISTS rejected_line_count, DROP COLUMN IF EXISTS controls_unverified',
    );
    await runner.query(
      'ALTER TABLE reconciliation.channel_match_policy DROP COLUMN IF EXISTS rejected_lines_max',
    );
  }
}
