import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Who did it, on the row itself (ADR 011): the principal who uploaded each statement file and who
 * started each match run. Rows from before attribution say so instead of naming anyone.
 */
export class Attribution1764000004200 implements MigrationInterface {
  readonly name = 'Attribution1764000004200';

  async up(runner: QueryRunner): Promise<void> {
    for (const [table, column] of [
      ['statement_file', 'uploaded_by'],
      ['match_run', 'started_by'],
    ] as const) {
      await runner.query(
        `ALTER TABLE reconciliation.${table} ADD COLUMN ${column} text NOT NULL DEFAULT 'unknown:before-attribution'
           CHECK (length(${column}) BETWEEN 1 AND 200)`,
      );
      // Only the rows already there take the default: every new row names its principal.
      await runner.query(`ALTER TABLE reconciliation.${table} ALTER COLUMN ${column} DROP DEFAULT`);
    }
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE reconciliation.match_run DROP COLUMN started_by');
    await runner.query('ALTER TABLE reconciliation.statement_file DROP COLUMN uploaded_by');
  }
}
