import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Payouts (代付) of approved records: the pure payout state (payout-attempt.ts) per record, kept as
 * jsonb under an optimistic `version`, and one row per attempt sent to the gateway with every
 * answer it gave (the auditor's evidence). The record id is the payout's key, so a record is paid
 * through at most one payout whatever races happen; the attempt id is the gateway's idempotency key.
 */
export class Payouts1764000001000 implements MigrationInterface {
  readonly name = 'Payouts1764000001000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE settlement.payout (
        record_id     bigint      PRIMARY KEY REFERENCES settlement.payout_request (record_id),
        merchant_id   text        NOT NULL,
        currency      char(3)     NOT NULL,
        amount        numeric     NOT NULL CHECK (amount > 0),
        -- The account as it stood when the payout was requested (the event carries the same).
        account       jsonb       NOT NULL,
        account_no    text        NOT NULL,
        -- REFUSED: never sent (inflow limit, no account); the funds went back to settleable at once.
        status        text        NOT NULL CHECK (status IN
                        ('IN_FLIGHT', 'OUTCOME_UNKNOWN', 'RETRY_SCHEDULED', 'PAID', 'FAILED', 'REFUSED')),
        -- The pure module's PayoutState; null only when REFUSED.
        state         jsonb,
        refusal       jsonb,
        version       int         NOT NULL DEFAULT 1 CHECK (version >= 1),
        retry_due_at  timestamptz,
        requested_at  timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now(),
        CHECK ((status = 'REFUSED') = (state IS NULL))
      )`);
    // The inflow check sums what an account has received or has in flight in a bank day/year.
    await runner.query(
      `CREATE INDEX payout_account_inflow ON settlement.payout (account_no, requested_at) WHERE status <> 'REFUSED'`,
    );
    await runner.query(
      `CREATE INDEX payout_retry_due ON settlement.payout (retry_due_at) WHERE status = 'RETRY_SCHEDULED'`,
    );
    await runner.query(`
      CREATE TABLE settlement.payout_attempt (
        attempt_id    text        PRIMARY KEY CHECK (length(attempt_id) BETWEEN 1 AND 64),
        record_id     bigint      NOT NULL REFERENCES settlement.payout (record_id),
        attempt_no    int         NOT NULL CHECK (attempt_no >= 1),
        -- REQUESTED until the gateway answers; then the latest answer's status.
        status        text        NOT NULL CHECK (status IN ('REQUESTED', 'PAID', 'FAILED')),
        requested_at  timestamptz NOT NULL,
        -- Status queries sent about this attempt (a re-sent request with the same attempt id).
        queries       int         NOT NULL DEFAULT 0 CHECK (queries >= 0),
        -- Every answer received, duplicates included, with what settlement made of it.
        results       jsonb       NOT NULL DEFAULT '[]'::jsonb,
        UNIQUE (record_id, attempt_no)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE IF EXISTS settlement.payout_attempt');
    await runner.query('DROP TABLE IF EXISTS settlement.payout');
  }
}
