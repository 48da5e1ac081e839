import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One Idempotency-Key namespace for every finance command on a record: payout retries keep their
 * key in settlement.command_idempotency like approvals and rejections (they used to keep it only in
 * their audit row, where an approval could not see it and a look-up scanned the audit trail).
 */
export class RetryKeysInCommandIdempotency1764000001700 implements MigrationInterface {
  readonly name = 'RetryKeysInCommandIdempotency1764000001700';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(
      'ALTER TABLE settlement.command_idempotency DROP CONSTRAINT command_idempotency_command_check',
    );
    await runner.query(`
      ALTER TABLE settlement.command_idempotency ADD CONSTRAINT command_idempotency_command_check
        CHECK (command IN ('APPROVE', 'REJECT', 'RETRY_PAYOUT'))`);
    await runner.query(`
      INSERT INTO settlement.command_idempotency (key, record_id, command, request_hash, outcome, response, at)
      SELECT detail->>'idempotencyKey', record_id, 'RETRY_PAYOUT', detail->>'requestHash', 'APPLIED',
             detail->'response', at
      FROM settlement.record_audit
      WHERE action = 'PAYOUT_RETRY_REQUESTED' AND detail ? 'idempotencyKey'
      ORDER BY id
      ON CONFLICT (key) DO NOTHING`);
  }

  async down(runner: QueryRunner): Promise<void> {
    // command_idempotency is append-only (trigger): the retry rows stay, and so must the constraint.
    await runner.query('SELECT 1');
  }
}
