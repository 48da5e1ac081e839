import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Approval of settlement records (结算审核, maker-checker): who approved what, the commands already
 * answered (Idempotency-Key), the dual-approval threshold, and the payout request an approval
 * creates. Approvals are rows, not a jsonb on the record, so "one approval per person per record"
 * is a UNIQUE the database enforces even if two requests by the same person race.
 */
export class Approval1764000000900 implements MigrationInterface {
  readonly name = 'Approval1764000000900';

  async up(runner: QueryRunner): Promise<void> {
    // Makers besides the submitter: whoever adjusts a record appends themselves here (and clears
    // its approvals) in the same write that bumps its version.
    await runner.query(
      `ALTER TABLE settlement.settlement_record ADD COLUMN adjusted_by text[] NOT NULL DEFAULT '{}'`,
    );
    await runner.query(`
      CREATE TABLE settlement.record_approval (
        record_id  bigint      NOT NULL REFERENCES settlement.settlement_record (id),
        approver   text        NOT NULL CHECK (length(approver) BETWEEN 1 AND 128),
        at         timestamptz NOT NULL,
        PRIMARY KEY (record_id, approver)
      )`);

    // One row per command key: a replay answers with `response` (a refusal included); the same
    // key with another request_hash is a conflict, never a second command.
    await runner.query(`
      CREATE TABLE settlement.command_idempotency (
        key           text        PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 200),
        record_id     bigint      NOT NULL,
        command       text        NOT NULL CHECK (command IN ('APPROVE', 'REJECT')),
        request_hash  text        NOT NULL,
        outcome       text        NOT NULL CHECK (outcome IN ('APPLIED', 'REFUSED')),
        response      jsonb       NOT NULL,
        at            timestamptz NOT NULL DEFAULT now()
      )`);

    // Strictly above the threshold a record needs two approvers (双人复核); per currency.
    await runner.query(`
      CREATE TABLE settlement.approval_policy (
        currency             char(3)     PRIMARY KEY,
        dual_approval_above  numeric     NOT NULL CHECK (dual_approval_above >= 0),
        updated_at           timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(
      `INSERT INTO settlement.approval_policy (currency, dual_approval_above) VALUES ('CNY', 50000.00)`,
    );

    // What an approval asks of the payout side. The record id is the key: a record is asked to be
    // paid at most once, whatever races happen above it.
    await runner.query(`
      CREATE TABLE settlement.payout_request (
        record_id     bigint      PRIMARY KEY REFERENCES settlement.settlement_record (id),
        attempt_id    text        NOT NULL UNIQUE,
        merchant_id   text        NOT NULL,
        currency      char(3)     NOT NULL,
        amount        numeric     NOT NULL CHECK (amount > 0),
        status        text        NOT NULL CHECK (status IN ('REQUESTED')),
        requested_by  text        NOT NULL,
        requested_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`
      CREATE TRIGGER record_approval_append_only BEFORE UPDATE ON settlement.record_approval
      FOR EACH ROW EXECUTE FUNCTION settlement.append_only()`);
    await runner.query(`
      CREATE TRIGGER command_idempotency_append_only BEFORE UPDATE OR DELETE ON settlement.command_idempotency
      FOR EACH ROW EXECUTE FUNCTION settlement.append_only()`);
  }

  async down(runner: QueryRunner): Promise<void> {
    for (const table of ['payout_request', 'approval_policy', 'command_idempotency', 'record_approval'])
      await runner.query(`DROP TABLE IF EXISTS settlement.${table}`);
    await runner.query('ALTER TABLE settlement.settlement_record DROP COLUMN IF EXISTS adjusted_by');
  }
}
