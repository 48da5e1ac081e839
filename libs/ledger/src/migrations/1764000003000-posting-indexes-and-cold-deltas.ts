import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What each posting costs the database, cut where the cost bought nothing a reader uses (ADR 006,
 * "Session 6"; docs/BENCHMARKS.md, bench:ledger):
 *
 * - `posting.hot_account` records whether the account was hot when the posting was written, and
 *   the B-tree on (account_id, effective_at) now covers only the other postings. Two postings of
 *   three in a cleared payment go to the two hot platform accounts; their index entries piled onto
 *   two right-hand leaf pages that every writer contended for, to serve statements that read most
 *   of the table anyway. A hot account's postings are found by time through a BRIN range instead
 *   (postings arrive in time order), and its balance as of a recent instant from its current
 *   balance less what came after. A template's `hot` flag is frozen once it has accounts, so every
 *   posting of an account sits on the same side of the split (trigger below).
 * - The (entry_id, line) primary key becomes a BRIN on (entry_id, effective_at): the rows of one
 *   entry are written by one COPY with lines 1…n from an id the sequence gave once, so the key
 *   guarded only the ledger's own code against itself; runLedgerChecks now verifies that every
 *   entry's lines are exactly 1…n, and "the postings of entry E" is a BRIN range read (ids rise
 *   with insertion order).
 * - No row changes in `account_balance`: what a batch adds to an account that cannot fall below a
 *   floor by it (no floor, or a net move towards its normal side) is appended to `balance_delta`
 *   by the ledger, like the hot accounts' deltas; only a move that could break a floor locks the
 *   balance row. Readers of account_balance must add the deltas. A delta row loses its identity
 *   key: nothing refers to one, and compaction takes any rows it can lock (by ctid), in no order;
 *   the sequence call and the key's index entry were a third of what each delta row cost. It
 *   loses its foreign key to the account too, as postings did before it: the referential check
 *   ran a key probe and took a KEY SHARE row lock on the account for every delta row, two thirds
 *   of its cost (accounts are append-only, so an id valid at insert stays valid; runLedgerChecks
 *   verifies every delta's account, and compaction refuses a delta without a balance row).
 * - The reversal link `journal_entry.reverses_entry_id` keeps its guarantee through a constraint
 *   trigger that fires only for a reversal (WHEN … IS NOT NULL) instead of the foreign key, whose
 *   check was queued for every entry posted, all but a handful of them with no link to check.
 *   Entries are never updated or deleted, so existence at insert is all the foreign key enforced.
 */
export class LedgerPostingIndexesAndColdDeltas1764000003000 implements MigrationInterface {
  readonly name = 'LedgerPostingIndexesAndColdDeltas1764000003000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE ledger.posting ADD COLUMN hot_account boolean');
    // Postings are append-only (trigger); this one-off backfill is the migration's, not a change
    // of a fact, and runs before any new posting can be written without the column.
    await runner.query('ALTER TABLE ledger.posting DISABLE TRIGGER posting_append_only');
    await runner.query(
      `UPDATE ledger.posting p SET hot_account = t.hot
       FROM ledger.account a JOIN ledger.account_template t ON t.code = a.template_code
       WHERE a.id = p.account_id`,
    );
    await runner.query('ALTER TABLE ledger.posting ENABLE TRIGGER posting_append_only');
    await runner.query('ALTER TABLE ledger.posting ALTER COLUMN hot_account SET NOT NULL');

    await runner.query('ALTER TABLE ledger.posting DROP CONSTRAINT posting_pkey');
    await runner.query('DROP INDEX ledger.posting_account_time');
    await runner.query(
      'CREATE INDEX posting_account_time ON ledger.posting (account_id, effective_at) WHERE NOT hot_account',
    );
    await runner.query(
      'CREATE INDEX posting_entry_time_brin ON ledger.posting USING brin (entry_id, effective_at) WITH (pages_per_range = 32, autosummarize = on)',
    );

    await runner.query('ALTER TABLE ledger.balance_delta DROP COLUMN id');
    await runner.query('ALTER TABLE ledger.balance_delta DROP CONSTRAINT balance_delta_account_id_fkey');

    await runner.query(
      'ALTER TABLE ledger.journal_entry DROP CONSTRAINT journal_entry_reverses_entry_id_fkey',
    );
    await runner.query(`
      CREATE FUNCTION ledger.reversed_entry_exists() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM 1 FROM ledger.journal_entry WHERE id = NEW.reverses_entry_id;
        IF NOT FOUND THEN
          RAISE EXCEPTION 'journal entry % reverses entry %, which does not exist', NEW.id, NEW.reverses_entry_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'journal_entry_reverses_entry_id_fkey';
        END IF;
        RETURN NULL;
      END $$`);
    await runner.query(
      `CREATE CONSTRAINT TRIGGER journal_entry_reverses_existing AFTER INSERT ON ledger.journal_entry
       FOR EACH ROW WHEN (NEW.reverses_entry_id IS NOT NULL) EXECUTE FUNCTION ledger.reversed_entry_exists()`,
    );

    await runner.query(`
      CREATE FUNCTION ledger.template_hot_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.hot IS DISTINCT FROM OLD.hot
           AND EXISTS (SELECT 1 FROM ledger.account WHERE template_code = OLD.code) THEN
          RAISE EXCEPTION 'account template % has accounts: its hot flag decides how their postings are indexed and cannot change', OLD.code
            USING ERRCODE = 'raise_exception';
        END IF;
        RETURN NEW;
      END $$`);
    await runner.query(
      'CREATE TRIGGER account_template_hot_frozen BEFORE UPDATE ON ledger.account_template FOR EACH ROW EXECUTE FUNCTION ledger.template_hot_frozen()',
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TRIGGER account_template_hot_frozen ON ledger.account_template');
    await runner.query('DROP FUNCTION ledger.template_hot_frozen()');
    await runner.query('DROP TRIGGER journal_entry_reverses_existing ON ledger.journal_entry');
    await runner.query('DROP FUNCTION ledger.reversed_entry_exists()');
    await runner.query(
      'ALTER TABLE ledger.journal_entry ADD CONSTRAINT journal_entry_reverses_entry_id_fkey FOREIGN KEY (reverses_entry_id) REFERENCES ledger.journal_entry (id)',
    );
    await runner.query(
      'ALTER TABLE ledger.balance_delta ADD CONSTRAINT balance_delta_account_id_fkey FOREIGN KEY (account_id) REFERENCES ledger.account (id)',
    );
    await runner.query(
      'ALTER TABLE ledger.balance_delta ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
    );
    await runner.query('DROP INDEX ledger.posting_entry_time_brin');
    await runner.query('DROP INDEX ledger.posting_account_time');
    await runner.query('CREATE INDEX posting_account_time ON ledger.posting (account_id, effective_at)');
    await runner.query('ALTER TABLE ledger.posting ADD PRIMARY KEY (entry_id, line)');
    await runner.query('ALTER TABLE ledger.posting DROP COLUMN hot_account');
  }
}
