import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A merchant whose part of a cycle close the ledger refused (e.g. settleable cannot cover the payable
 * because a refund of a later cycle cleared first): the close goes on for everyone else, this row
 * tells finance who was held back and why, and the merchant's items wait for the next close.
 */
export class CloseExceptions1764000001500 implements MigrationInterface {
  readonly name = 'CloseExceptions1764000001500';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE settlement.close_exception (
        id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        closes_on    date        NOT NULL,
        merchant_id  text        NOT NULL,
        code         text        NOT NULL,
        message      text        NOT NULL,
        by           text        NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(
      'CREATE INDEX close_exception_by_date ON settlement.close_exception (closes_on, merchant_id)',
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE IF EXISTS settlement.close_exception');
  }
}
