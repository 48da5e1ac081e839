// Types for the plain-JS broker helpers, for TypeScript callers (tests, benchmarks, the demo).
export interface EnsureKafkaResult {
  brokers: string;
  reused: boolean;
  pid?: number;
  startedInMs?: number;
  fetchedJars?: boolean;
  formatted?: boolean;
  clusterId?: string;
  external?: boolean;
}
export function ensureKafka(options?: {
  quiet?: boolean;
  env?: NodeJS.ProcessEnv;
}): Promise<EnsureKafkaResult>;
export function stopKafka(options?: {
  quiet?: boolean;
  env?: NodeJS.ProcessEnv;
  timeoutS?: number;
}): Promise<unknown>;
export function resetKafka(options?: { quiet?: boolean; env?: NodeJS.ProcessEnv }): Promise<unknown>;
export const REPO_ROOT: string;
