// Types for the plain-JS Postgres helpers, for TypeScript callers (tests, benchmarks, the demo).
export const DEFAULT_DATABASE_URL: string;
export interface EnsurePostgresResult {
  databaseUrl: string;
  host: string;
  port: number;
  database: string;
  version?: string;
  reused: boolean;
  throwaway: boolean;
  databaseCreated: boolean;
  totalMs: number;
}
export function ensurePostgres(options?: {
  databaseUrl?: string;
  quiet?: boolean;
  timeoutMs?: number;
  announce?: boolean;
}): Promise<EnsurePostgresResult>;
export function createDatabase(databaseUrl: string): Promise<{ database: string; created: boolean }>;
export function dropDatabase(databaseUrl: string): Promise<{ database: string; dropped: boolean }>;
export function withDatabaseName(databaseUrl: string, name: string): string;
export function stopPostgres(options?: { databaseUrl?: string; quiet?: boolean }): Promise<unknown>;
export function resetPostgres(options?: { databaseUrl?: string; quiet?: boolean }): Promise<unknown>;
