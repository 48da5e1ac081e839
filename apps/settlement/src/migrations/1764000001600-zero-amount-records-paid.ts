import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Records approved with a zero amount used to stay APPROVED for ever (no payout is requested for
 * nothing). Approval now completes them as PAID; this moves the ones already waiting, audited the
 * same way.
 */
export class ZeroAmountRecordsPaid1764000001600 implements MigrationInterface {
  readonly name = 'ZeroAmountRecordsPaid1764000001600';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      WITH moved AS (
        UPDATE settlement.settlement_record SET status = 'PAID', version = version + 1
        WHERE status = 'APPROVED' AND amount = 0
          AND NOT EXISTS (SELECT 1 FROM settlement.payout_request p WHERE p.record_id = settlement_record.id)
        RETURNING id, currency)
      INSERT INTO settlement.record_audit (record_id, by, action, from_status, to_status, detail)
      SELECT id, 'system:migration', 'NO_PAYOUT_NEEDED', 'APPROVED', 'PAID',
             jsonb_build_object('amount', '0', 'currency', currency::text)
      FROM moved`);
  }

  async down(): Promise<void> {
    // Completed records stay completed: moving them back would only make them stuck again.
  }
}
