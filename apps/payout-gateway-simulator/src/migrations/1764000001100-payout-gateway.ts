import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The simulated payout gateway's own book: one row per attempt id it was asked to pay (its
 * idempotency key: a repeated attempt id is answered from this row and never paid again), and the
 * failure modes configured by account-number prefix.
 */
export class PayoutGateway1764000001100 implements MigrationInterface {
  readonly name = 'PayoutGateway1764000001100';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE payout_gateway.payment (
        attempt_id      text        PRIMARY KEY,
        record_id       text        NOT NULL,
        account_no      text        NOT NULL,
        currency        char(3)     NOT NULL,
        amount          numeric     NOT NULL CHECK (amount > 0),
        mode            text        NOT NULL,
        -- Whether the bank moved the money: the fact, whatever the first answer said.
        paid            boolean     NOT NULL,
        bank_reference  text,
        failure_code    text,
        -- Requests seen for this attempt id; the 2nd and later are status queries.
        requests        int         NOT NULL DEFAULT 1 CHECK (requests >= 1),
        answers         int         NOT NULL DEFAULT 0 CHECK (answers >= 0),
        created_at      timestamptz NOT NULL DEFAULT now(),
        CHECK (paid = (bank_reference IS NOT NULL))
      )`);
    await runner.query(`
      CREATE TABLE payout_gateway.account_rule (
        account_prefix  text        PRIMARY KEY CHECK (account_prefix ~ '^[0-9]{1,34}$'),
        mode            text        NOT NULL CHECK (mode IN
                          ('PAY', 'ACCOUNT_CLOSED', 'ACCOUNT_LIMIT_EXCEEDED', 'TIMEOUT_THEN_PAID'))
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE IF EXISTS payout_gateway.account_rule');
    await runner.query('DROP TABLE IF EXISTS payout_gateway.payment');
  }
}
