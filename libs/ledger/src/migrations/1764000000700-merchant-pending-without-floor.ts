import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Merchant pending (2202 商户待清算) loses its NON_NEGATIVE floor. A refund's T-day entry debits
 * 2202 when the refund happens, and its payment may have been cleared on to 2203 days before: 2202
 * then goes below zero until clearing clears the refund (Cr 2202, Dr 2203), which is the normal
 * life of a refund, not an overdraft. The floor that protects the merchant's money is on 2203
 * (settleable), where clearing takes a refund back and a payout takes it out.
 *
 * The ledger reads floors from this table (Ledger.loadChart), so this row is what changes the
 * behaviour; chart.ts says the same for databases built after it.
 */
export class LedgerMerchantPendingWithoutFloor1764000000700 implements MigrationInterface {
  readonly name = 'LedgerMerchantPendingWithoutFloor1764000000700';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(
      `UPDATE ledger.account_template SET balance_floor = 'NONE' WHERE code = 'merchant_pending'`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    // Only safe while no merchant's pending balance is negative; the check below says which is.
    const [below] = (await runner.query(
      `SELECT a.code FROM ledger.account a JOIN ledger.account_balance b ON b.account_id = a.id
       WHERE a.template_code = 'merchant_pending' AND b.credit_total - b.debit_total < 0 LIMIT 1`,
    )) as { code: string }[];
    if (below) throw new Error(`cannot restore the 2202 floor: ${below.code} is below zero`);
    await runner.query(
      `UPDATE ledger.account_template SET balance_floor = 'NON_NEGATIVE' WHERE code = 'merchant_pending'`,
    );
  }
}
