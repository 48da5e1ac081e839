import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Two changes to what each posted entry costs Postgres (docs/BENCHMARKS.md, bench:ledger; ADR 006):
 *
 * - Entry ids come in blocks of 100: `reserveIds` turns each `nextval` v into the ids v … v+99,
 *   so a batch of 2,000 entries takes 20 sequence calls instead of 2,000. Ids stay unique (each
 *   block belongs to one caller) and increasing per caller; they are surrogate keys and gaps mean
 *   nothing. Values handed out before this migration are all below the sequence's last value, so
 *   no block can overlap them.
 * - Postings are indexed by (account_id, effective_at) only: statements and as-of balances find an
 *   account's postings in time order through it, and the few postings sharing one instant are
 *   ordered by (entry_id, line) in a sort. The two trailing columns made every posting's index
 *   entry a third wider for that tie-break alone.
 */
export class LedgerPostingPath1764000002000 implements MigrationInterface {
  readonly name = 'LedgerPostingPath1764000002000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE ledger.journal_entry ALTER COLUMN id SET INCREMENT BY 100');
    await runner.query('DROP INDEX ledger.posting_account_time');
    await runner.query('CREATE INDEX posting_account_time ON ledger.posting (account_id, effective_at)');
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP INDEX ledger.posting_account_time');
    await runner.query(
      'CREATE INDEX posting_account_time ON ledger.posting (account_id, effective_at, entry_id, line)',
    );
    await runner.query('ALTER TABLE ledger.journal_entry ALTER COLUMN id SET INCREMENT BY 1');
  }
}
