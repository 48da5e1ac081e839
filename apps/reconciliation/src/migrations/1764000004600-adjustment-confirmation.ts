import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Large adjustments need a second person (双人复核, issue 15; ADR 007 addendum).
 *
 * - adjustment_policy: per currency, the amount above which an ADJUST of a discrepancy posts
 *   nothing at first and waits for another holder of recon.resolve to confirm it. Configuration,
 *   like settlement.approval_policy; CNY 10,000.00 to begin with. A currency without a row needs a
 *   second person for every adjustment (fail closed).
 * - adjustment_proposal: one row per proposed adjustment, with what it would post (the amount, the
 *   threshold it exceeded, the plan) and its outcome; at most one PENDING per discrepancy. The
 *   discrepancy stays OPEN while one is pending, so match runs, the report's open counts and the
 *   list filters keep their meaning. The trail of every step (proposed, confirmed, rejected,
 *   refused) is discrepancy_history, which stays append-only.
 * - discrepancy.adjustment_confirmed_by: the second person of a confirmed adjustment (resolved_by
 *   stays the person who proposed it and wrote its note).
 */
export class AdjustmentConfirmation1764000004600 implements MigrationInterface {
  readonly name = 'AdjustmentConfirmation1764000004600';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE reconciliation.adjustment_policy (
        currency            char(3)     PRIMARY KEY CHECK (currency ~ '^[A-Z]{3}$'),
        -- Strictly above it, a second person confirms; at or below, the adjustment posts at once.
        confirmation_above  numeric     NOT NULL CHECK (confirmation_above >= 0),
        updated_at          timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(
      `INSERT INTO reconciliation.adjustment_policy (currency, confirmation_above) VALUES ('CNY', 10000.00)`,
    );

    await runner.query(`
      CREATE TABLE reconciliation.adjustment_proposal (
        id                  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        discrepancy_id      bigint      NOT NULL REFERENCES reconciliation.discrepancy (id),
        status              text        NOT NULL DEFAULT 'PENDING'
                                        CHECK (status IN ('PENDING', 'CONFIRMED', 'REJECTED')),
        class               text        NOT NULL,
        proposed_by         text        NOT NULL CHECK (length(proposed_by) BETWEEN 1 AND 200),
        proposed_at         timestamptz NOT NULL DEFAULT now(),
        note                text        NOT NULL,
        proposal_key        text        NOT NULL UNIQUE CHECK (length(proposal_key) BETWEEN 1 AND 200),
        amount              numeric     NOT NULL CHECK (amount > 0),
        currency            char(3)     NOT NULL,
        confirmation_above  numeric     NOT NULL CHECK (confirmation_above >= 0 AND amount > confirmation_above),
        -- What a confirmation would post: compared with the plan of the discrepancy as it is then.
        plan                jsonb       NOT NULL,
        decided_by          text        CHECK (length(decided_by) BETWEEN 1 AND 200),
        decided_at          timestamptz,
        decision_note       text,
        decision_key        text        UNIQUE CHECK (length(decision_key) BETWEEN 1 AND 200),
        journal_entry_id    bigint,
        CHECK ((status = 'PENDING') = (decided_by IS NULL)),
        CHECK ((status = 'PENDING') = (decided_at IS NULL)),
        CHECK ((status = 'PENDING') = (decision_key IS NULL)),
        CHECK ((status = 'CONFIRMED') = (journal_entry_id IS NOT NULL))
      )`);
    await runner.query(`
      CREATE UNIQUE INDEX adjustment_proposal_one_pending ON reconciliation.adjustment_proposal (discrepancy_id)
        WHERE status = 'PENDING'`);
    await runner.query(`
      CREATE INDEX adjustment_proposal_of ON reconciliation.adjustment_proposal (discrepancy_id, id)`);

    await runner.query(`ALTER TABLE reconciliation.discrepancy ADD COLUMN adjustment_confirmed_by text`);

    // The trail names the new steps. Replacing a CHECK is not rewriting a row: the trigger still
    // refuses every UPDATE, DELETE and TRUNCATE of the history.
    await runner.query(`
      ALTER TABLE reconciliation.discrepancy_history
        DROP CONSTRAINT discrepancy_history_action_check,
        ADD CONSTRAINT discrepancy_history_action_check CHECK (action IN (
          'OPENED', 'RECLASSIFIED', 'RESOLVED',
          'ADJUSTMENT_PROPOSED', 'ADJUSTMENT_REJECTED', 'COMMAND_REFUSED'))`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE reconciliation.discrepancy_history
        DROP CONSTRAINT discrepancy_history_action_check,
        ADD CONSTRAINT discrepancy_history_action_check CHECK (action IN ('OPENED', 'RECLASSIFIED', 'RESOLVED'))
        NOT VALID`);
    await runner.query('ALTER TABLE reconciliation.discrepancy DROP COLUMN adjustment_confirmed_by');
    await runner.query('DROP TABLE reconciliation.adjustment_proposal');
    await runner.query('DROP TABLE reconciliation.adjustment_policy');
  }
}
