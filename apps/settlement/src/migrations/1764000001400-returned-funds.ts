import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Funds that went back to settleable after a record was closed (rejected by finance, payout refused
 * or failed for good): each is paid with the merchant's next settlement record (its carried_in),
 * unless an operator retries that record's payout first; `consumed_by_record_id` says which
 * happened, so the money is paid at most once and never forgotten.
 */
export class ReturnedFunds1764000001400 implements MigrationInterface {
  readonly name = 'ReturnedFunds1764000001400';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE settlement.returned_funds (
        id                     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        record_id              bigint      NOT NULL REFERENCES settlement.settlement_record (id),
        merchant_id            text        NOT NULL,
        currency               char(3)     NOT NULL,
        amount                 numeric     NOT NULL CHECK (amount > 0),
        cause                  text        NOT NULL CHECK (cause IN ('REJECTED', 'PAYOUT_REFUSED', 'PAYOUT_FAILED')),
        -- The journal entry that returned the funds: one row per money movement.
        ledger_key             text        NOT NULL UNIQUE,
        returned_at            timestamptz NOT NULL DEFAULT now(),
        consumed_by_record_id  bigint      REFERENCES settlement.settlement_record (id),
        consumed_how           text        CHECK (consumed_how IN ('NEXT_RECORD', 'PAYOUT_RETRY')),
        consumed_at            timestamptz,
        CHECK ((consumed_by_record_id IS NULL) = (consumed_how IS NULL)
               AND (consumed_how IS NULL) = (consumed_at IS NULL))
      )`);
    await runner.query(
      `CREATE INDEX returned_funds_open ON settlement.returned_funds (merchant_id, currency)
       WHERE consumed_by_record_id IS NULL`,
    );
    // Funds already returned before this table existed: owed to the next record like any other.
    await runner.query(`
      INSERT INTO settlement.returned_funds (record_id, merchant_id, currency, amount, cause, ledger_key, returned_at)
      SELECT r.id, r.merchant_id, r.currency, r.amount,
             CASE WHEN r.status = 'REJECTED' THEN 'REJECTED'
                  WHEN p.status = 'REFUSED' THEN 'PAYOUT_REFUSED' ELSE 'PAYOUT_FAILED' END,
             'migrated:' || r.id, now()
      FROM settlement.settlement_record r LEFT JOIN settlement.payout p ON p.record_id = r.id
      WHERE r.status IN ('REJECTED', 'PAYOUT_FAILED') AND r.amount > 0`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE IF EXISTS settlement.returned_funds');
  }
}
