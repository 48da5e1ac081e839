import { Logger } from '@nestjs/common';
import { DataSource, type MixedList, type EntitySchema, type EntityManager } from 'typeorm';

type MigrationClass = new () => object;
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
type EntityTarget = Function | string | EntitySchema;

export interface ServiceDataSourceOptions {
  databaseUrl: string;
  /** The service's own schema: its tables, its inbox/outbox and its TypeORM migrations table live here. */
  schema: string;
  migrations: MigrationClass[];
  entities?: MixedList<EntityTarget>;
  poolMax?: number;
  applicationName: string;
}

/**
 * One DataSource per service, scoped to the service's schema (DESIGN.md §3: nothing reads another
 * service's schema). Never `synchronize`: the schema changes only through reviewed migrations.
 */
export function createServiceDataSource(options: ServiceDataSourceOptions): DataSource {
  const log = new Logger(`Postgres:${options.schema}`);
  return new DataSource({
    type: 'postgres',
    url: options.databaseUrl,
    schema: options.schema,
    applicationName: options.applicationName,
    entities: options.entities ?? [],
    migrations: options.migrations,
    migrationsTableName: 'migrations',
    migrationsRun: false,
    synchronize: false,
    poolSize: options.poolMax ?? 10,
    // An idle pooled client that loses its server (restart, failover) emits `error` on the pool;
    // unhandled, that kills the process. Log it; the pool replaces the client on next checkout.
    poolErrorHandler: (error: Error) => log.warn(`idle connection lost: ${error.message}`),
    extra: {
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
      // Bound every statement so a stuck lock surfaces as an error instead of a silent stall.
      statement_timeout: 120_000,
      idle_in_transaction_session_timeout: 300_000,
    },
  });
}

/**
 * Runs the service's pending migrations. An advisory lock serialises replicas that boot together,
 * and the schema is created first because TypeORM keeps its migrations table inside it.
 */
export async function runServiceMigrations(dataSource: DataSource, schema: string): Promise<string[]> {
  // The lock holds one connection while TypeORM migrates on another: a pool of one would wait forever.
  const poolSize = (dataSource.options as { poolSize?: number }).poolSize ?? 10;
  if (poolSize < 2)
    throw new Error(`runServiceMigrations needs a pool of at least 2 connections, got ${poolSize}`);
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock(hashtext($1))', [`migrations:${schema}`]);
    try {
      await runner.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      return applied.map((m) => m.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [`migrations:${schema}`]);
    }
  } finally {
    await runner.release();
  }
}

/** Runs `work` in one database transaction; everything it writes commits or rolls back together. */
export async function inTransaction<T>(
  dataSource: DataSource,
  work: (tx: EntityManager) => Promise<T>,
): Promise<T> {
  return dataSource.transaction('READ COMMITTED', work);
}

export function quoteIdent(identifier: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(identifier)) {
    throw new Error(`refusing to quote unexpected SQL identifier "${identifier}"`);
  }
  return `"${identifier}"`;
}
