import { quoteIdent } from './service-data-source.js';

/**
 * Least privilege for the services (ADR 012): each runs as a login role that owns nothing, is not a
 * superuser, and may only touch its own schema and append to the ledger. The tables belong to the
 * role that migrates them, so a service cannot disable the ledger's immutability triggers (only an
 * owner can) nor read or write another service's schema.
 */
export interface ServiceRoleSpec {
  /** Lower-case identifier, e.g. cse_settlement. */
  role: string;
  /** The service's own schema: full DML (append-only tables keep their triggers). */
  schema: string;
  /** Whether the service posts to the ledger. */
  ledger: boolean;
}

/** Ledger tables a service appends to; of those, what it may also change. */
const LEDGER_INSERT = [
  'account',
  'account_balance',
  'balance_delta',
  'hold',
  'hold_resolution',
  'journal_entry',
  'posting',
];

/**
 * The statements `grantServiceRole` runs, in order, idempotent. Default privileges cover tables the
 * same owner creates later; re-run it after a migration that adds a ledger table the services write.
 */
export function serviceRoleStatements(spec: ServiceRoleSpec): string[] {
  const role = quoteIdent(spec.role);
  const schema = quoteIdent(spec.schema);
  const statements = [
    `DO $$ BEGIN CREATE ROLE ${role} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
    // A role that already existed is brought back to an ordinary one.
    `ALTER ROLE ${role} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS`,
    `GRANT USAGE ON SCHEMA ${schema} TO ${role}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${role}`,
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO ${role}`,
    // Tables a later migration adds (run by this same owner) come with the same grants.
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${role}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT USAGE, SELECT ON SEQUENCES TO ${role}`,
  ];
  if (spec.ledger)
    statements.push(
      'GRANT USAGE ON SCHEMA ledger TO ' + role,
      'GRANT SELECT ON ALL TABLES IN SCHEMA ledger TO ' + role,
      `GRANT INSERT ON ${LEDGER_INSERT.map((t) => `ledger.${t}`).join(', ')} TO ${role}`,
      // Balances move with every batch (row locks too); compaction folds the balance deltas.
      `GRANT UPDATE ON ledger.account_balance TO ${role}`,
      `GRANT UPDATE, DELETE ON ledger.balance_delta TO ${role}`,
      `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ledger TO ${role}`,
      // A new ledger table is readable at once; what may be written to it is decided when it is added.
      `ALTER DEFAULT PRIVILEGES IN SCHEMA ledger GRANT SELECT ON TABLES TO ${role}`,
    );
  return statements;
}

/** Creates (or updates) the service's role and its grants, as the role that owns the schemas. */
export async function grantServiceRole(
  db: { query: (sql: string) => Promise<unknown> },
  spec: ServiceRoleSpec,
): Promise<void> {
  for (const statement of serviceRoleStatements(spec)) await db.query(statement);
}
