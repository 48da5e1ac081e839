import type { CommandAuditEntry, CommandAuditSink } from '@app/http';
import { Logger } from '@nestjs/common';
import type { MigrationInterface, QueryRunner } from 'typeorm';
import type { DataSource } from 'typeorm';
import { quoteIdent } from '@app/platform';

/**
 * Each service's append-only command audit (ADR 011): every command and every refusal of its HTTP
 * API — who (the normalised principal, null when unauthenticated), with which roles, what, on
 * which target, under which request id, and how it ended. Written by the access guard (refusals)
 * and the command audit interceptor (outcomes), never updated: a trigger refuses UPDATE, DELETE
 * and TRUNCATE for every role but the schema owner's migrations.
 */
export function commandAuditMigration(schema: string): new () => MigrationInterface {
  const s = quoteIdent(schema);
  return class CommandAudit1764000004100 implements MigrationInterface {
    readonly name = 'CommandAudit1764000004100';

    async up(runner: QueryRunner): Promise<void> {
      await runner.query(`
        CREATE TABLE ${s}.command_audit (
          id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          at           timestamptz NOT NULL DEFAULT clock_timestamp(),
          principal    text        CHECK (length(principal) BETWEEN 1 AND 200),
          roles        text[]      NOT NULL,
          action       text        NOT NULL CHECK (length(action) BETWEEN 1 AND 200),
          target       text        CHECK (length(target) <= 500),
          request_id   text        NOT NULL CHECK (length(request_id) BETWEEN 1 AND 100),
          outcome      text        NOT NULL CHECK (outcome IN ('APPLIED', 'REFUSED', 'FAILED')),
          http_status  smallint    NOT NULL,
          code         text,
          detail       text        CHECK (length(detail) <= 2000)
        )`);
      await runner.query(`CREATE INDEX command_audit_principal_idx ON ${s}.command_audit (principal, at)`);
      await runner.query(`
        CREATE FUNCTION ${s}.command_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'command_audit is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
        END $$`);
      await runner.query(`
        CREATE TRIGGER command_audit_append_only BEFORE UPDATE OR DELETE ON ${s}.command_audit
        FOR EACH ROW EXECUTE FUNCTION ${s}.command_audit_append_only()`);
      await runner.query(`
        CREATE TRIGGER command_audit_no_truncate BEFORE TRUNCATE ON ${s}.command_audit
        FOR EACH STATEMENT EXECUTE FUNCTION ${s}.command_audit_append_only()`);
    }

    async down(runner: QueryRunner): Promise<void> {
      await runner.query(`DROP TABLE ${s}.command_audit`);
      await runner.query(`DROP FUNCTION ${s}.command_audit_append_only()`);
    }
  };
}

/** Appends audit rows to `<schema>.command_audit`. */
export class PostgresCommandAudit implements CommandAuditSink {
  private readonly logger = new Logger('CommandAudit');
  private readonly table: string;

  constructor(
    private readonly dataSource: DataSource,
    schema: string,
  ) {
    this.table = `${quoteIdent(schema)}.command_audit`;
  }

  async append(entry: CommandAuditEntry): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO ${this.table} (principal, roles, action, target, request_id, outcome, http_status, code, detail)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        entry.principal,
        [...entry.roles].map((r) => r.slice(0, 100)).slice(0, 50),
        entry.action.slice(0, 200),
        entry.target?.slice(0, 500) ?? null,
        entry.requestId,
        entry.outcome,
        entry.httpStatus,
        entry.code?.slice(0, 200) ?? null,
        entry.detail?.slice(0, 2000) ?? null,
      ],
    );
    this.logger.debug(`${entry.outcome} ${entry.action} by ${entry.principal ?? '(unauthenticated)'}`);
  }
}
