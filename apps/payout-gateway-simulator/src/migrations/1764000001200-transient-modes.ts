import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Failure modes for settlement's retry and follow-up paths: a bank that refuses for now (transient,
 * safe to try again with a new attempt), once or always, and one whose first answer never comes.
 */
export class PayoutGatewayTransientModes1764000001200 implements MigrationInterface {
  readonly name = 'PayoutGatewayTransientModes1764000001200';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE payout_gateway.account_rule DROP CONSTRAINT account_rule_mode_check');
    await runner.query(`
      ALTER TABLE payout_gateway.account_rule ADD CONSTRAINT account_rule_mode_check CHECK (mode IN
        ('PAY', 'ACCOUNT_CLOSED', 'ACCOUNT_LIMIT_EXCEEDED', 'TIMEOUT_THEN_PAID',
         'BANK_UNAVAILABLE', 'BANK_UNAVAILABLE_ONCE', 'NO_ANSWER_THEN_PAID'))`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE payout_gateway.account_rule DROP CONSTRAINT account_rule_mode_check');
    await runner.query(`
      ALTER TABLE payout_gateway.account_rule ADD CONSTRAINT account_rule_mode_check CHECK (mode IN
        ('PAY', 'ACCOUNT_CLOSED', 'ACCOUNT_LIMIT_EXCEEDED', 'TIMEOUT_THEN_PAID'))`);
  }
}
