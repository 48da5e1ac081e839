import { readFileSync } from 'node:fs';
/**
 * Runtime configuration read from the environment once, at the edge. Every limit the services
 * rely on is named here so an operator can find and change it in one place.
 */
export interface PlatformConfig {
  databaseUrl: string;
  dbPoolMax: number;
  migrateOnBoot: boolean;
  kafkaBrokers: string[];
  kafkaClientId: string;
  /** Prepended to every topic name: lets tests and staging share a broker without sharing topics. */
  kafkaTopicPrefix: string;
  kafkaTopicPartitions: number;
  kafkaSessionTimeoutMs: number;
  /**
   * Most bytes (keys, values, headers and a per-record allowance) one relay send carries. Kept
   * under the broker's `message.max.bytes` (1,048,588 by default), which refuses a larger record
   * batch outright: a batch over it would be refused on every retry and jam the outbox behind it.
   * A single message over it is parked, never sent.
   */
  kafkaMessageMaxBytes: number;
  /**
   * A service is not ready (GET /health/ready answers 503) while its oldest unpublished outbox row
   * is older than this: the relay is stuck or far behind, and what it owes (payouts, matched items)
   * is not reaching the other services.
   */
  outboxUnpublishedAgeMaxMs: number;
  httpHost: string;
  httpPort: number;
  /**
   * Largest channel statement an HTTP upload may carry. Uploads stream to a temp file, so this bounds
   * disk, not memory; a larger upload is refused with 413 once it passes the limit.
   */
  statementUploadMaxBytes: number;
  /**
   * Settlement's own clock: the cycle close at the calendar's cut-off and the payout loop. Off with
   * SETTLEMENT_SCHEDULER=off (an operator closing by CLI/REST only); off by default under Jest
   * (NODE_ENV=test), so a test booting the service decides itself when a close or a payout happens.
   */
  settlementScheduler: boolean;
  /** How often settlement requests approved payouts, starts due retries and queries silent payouts. */
  settlementPayoutPollMs: number;
  /** How long after a transient gateway refusal (bank unavailable, rate limited) the next attempt goes. */
  settlementPayoutRetryDelayMs: number;
  /** Attempts per payout, the first included, before its funds return to settleable (1 = never retry). */
  settlementPayoutMaxAttempts: number;
  /**
   * How long a payout may sit without a definitive answer (no answer at all, or a lost one) before
   * settlement asks the gateway about the same attempt again; never a new payment.
   */
  settlementPayoutQueryAfterMs: number;
}

/**
 * How a service's HTTP edge learns who is calling (libs/http CallerIdentity, ADR 011). Secure by
 * default: a service does not start without an identity configuration (a token verification key)
 * unless development mode is chosen explicitly AND it listens on loopback only.
 */
export type HttpAuthConfig =
  | { mode: 'DEVELOPMENT' }
  | {
      mode: 'TOKEN';
      /** HS256 shared secret, at least 32 characters. */
      jwtSecret?: string;
      /** A PEM (SPKI) public key of the identity provider. */
      jwtPublicKey?: string;
      /** With jwtPublicKey: RS256 (default), PS256, ES256 or EdDSA. */
      jwtAlgorithm?: string;
      /** When set, a token must carry exactly this `iss` / include this `aud`. */
      issuer?: string;
      audience?: string;
      /** The claim listing the caller's roles (array, or space-separated string); default `roles`. */
      rolesClaim: string;
      /** The claim naming a merchant user's merchant; default `merchant_id`. */
      merchantClaim: string;
      /** The longest lifetime (exp − iat) a token may have; longer ones are refused. */
      tokenMaxLifetimeS: number;
    };

/** The variables that configure identity, named in the refusal to start without them. */
export const HTTP_AUTH_VARIABLES =
  "HTTP_AUTH_JWT_PUBLIC_KEY_FILE (the identity provider's PEM public key) or HTTP_AUTH_JWT_SECRET (HS256, ≥ 32 characters)";

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost', '::ffff:127.0.0.1']);

/**
 * The identity configuration of a service that serves HTTP, from the environment.
 * @param httpHost the address the service listens on (HTTP_HOST)
 * @throws ConfigError without identity configuration (naming the variables), with AUTH_MODE=development
 *   on a host other than loopback, or with a bad value
 */
export function loadHttpAuthConfig(env: NodeJS.ProcessEnv, httpHost: string): HttpAuthConfig {
  const mode = env.AUTH_MODE || 'token';
  if (mode !== 'token' && mode !== 'development')
    throw new ConfigError(`AUTH_MODE must be token or development, got "${mode}"`);
  const token = httpAuthFromEnv(env);
  if (mode === 'development') {
    if (token !== null)
      throw new ConfigError('AUTH_MODE=development takes no HTTP_AUTH_JWT_* key: unset one or the other');
    if (!LOOPBACK_HOSTS.has(httpHost))
      throw new ConfigError(
        `AUTH_MODE=development trusts whoever calls, so it listens on loopback only; HTTP_HOST is "${httpHost}" ` +
          `(use 127.0.0.1, or configure ${HTTP_AUTH_VARIABLES})`,
      );
    return { mode: 'DEVELOPMENT' };
  }
  if (token === null)
    throw new ConfigError(
      `no identity configuration: set ${HTTP_AUTH_VARIABLES}, with HTTP_AUTH_JWT_ISSUER and HTTP_AUTH_JWT_AUDIENCE; ` +
        'or, for development on this machine only, AUTH_MODE=development with HTTP_HOST=127.0.0.1',
    );
  return token;
}

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/clearing';

/**
 * 1,000,000: ~48 KiB under Kafka's default message.max.bytes (1,048,588), room for the record
 * batch's own framing beyond what the relay counts.
 */
export const KAFKA_MESSAGE_MAX_BYTES_DEFAULT = 1_000_000;
/** 5 minutes: the relay publishes within a second when healthy; minutes behind is an incident. */
export const OUTBOX_UNPUBLISHED_AGE_MAX_MS_DEFAULT = 300_000;

/**
 * 4 GiB: a 10M-line WeChat bill (the largest day the engine is sized for, ADR 013) is about
 * 2.2 GB, with room for longer lines; over the limit the upload is refused (413).
 */
export const STATEMENT_UPLOAD_MAX_BYTES_DEFAULT = 4 * 1024 ** 3;
/** No statement is this large: a value beyond it is a typo, not a setting. */
const STATEMENT_UPLOAD_MAX_BYTES_CEILING = 64 * 1024 ** 3;

export function loadPlatformConfig(
  service: string,
  env: NodeJS.ProcessEnv = process.env,
  defaults: { httpPort?: number } = {},
): PlatformConfig {
  return {
    databaseUrl: env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    dbPoolMax: intFromEnv(env, 'DB_POOL_MAX', 10, 1, 200),
    migrateOnBoot: boolFromEnv(env, 'DB_MIGRATE_ON_BOOT', true),
    kafkaBrokers: (env.KAFKA_BROKERS ?? '127.0.0.1:9092')
      .split(',')
      .map((b) => b.trim())
      .filter((b) => b.length > 0),
    kafkaClientId: env.KAFKA_CLIENT_ID ?? `cse-${service}`,
    kafkaTopicPrefix: env.KAFKA_TOPIC_PREFIX ?? '',
    kafkaTopicPartitions: intFromEnv(env, 'KAFKA_TOPIC_PARTITIONS', 3, 1, 1024),
    kafkaSessionTimeoutMs: intFromEnv(env, 'KAFKA_SESSION_TIMEOUT_MS', 30_000, 6_000, 300_000),
    // 128 KiB at least: a dead letter (value clipped at 64 KiB, plus headers) must always fit.
    // 100 MiB at most: the broker's socket.request.max.bytes default bounds any request.
    kafkaMessageMaxBytes: intFromEnv(
      env,
      'KAFKA_MESSAGE_MAX_BYTES',
      KAFKA_MESSAGE_MAX_BYTES_DEFAULT,
      128 * 1024,
      100 * 1024 * 1024,
    ),
    outboxUnpublishedAgeMaxMs: intFromEnv(
      env,
      'OUTBOX_UNPUBLISHED_AGE_MAX_MS',
      OUTBOX_UNPUBLISHED_AGE_MAX_MS_DEFAULT,
      1_000,
      86_400_000,
    ),
    httpHost: env.HTTP_HOST ?? '127.0.0.1',
    httpPort: intFromEnv(env, 'HTTP_PORT', defaults.httpPort ?? 3000, 0, 65535),
    statementUploadMaxBytes: intFromEnv(
      env,
      'STATEMENT_UPLOAD_MAX_BYTES',
      STATEMENT_UPLOAD_MAX_BYTES_DEFAULT,
      1,
      STATEMENT_UPLOAD_MAX_BYTES_CEILING,
    ),
    settlementScheduler: boolFromEnv(env, 'SETTLEMENT_SCHEDULER', env.NODE_ENV !== 'test'),
    settlementPayoutPollMs: intFromEnv(env, 'SETTLEMENT_PAYOUT_POLL_MS', 5_000, 100, 3_600_000),
    settlementPayoutRetryDelayMs: intFromEnv(
      env,
      'SETTLEMENT_PAYOUT_RETRY_DELAY_MS',
      60_000,
      1_000,
      86_400_000,
    ),
    // 10: PAYOUT_MAX_ATTEMPTS_LIMIT in apps/settlement (past it, a person should look).
    settlementPayoutMaxAttempts: intFromEnv(env, 'SETTLEMENT_PAYOUT_MAX_ATTEMPTS', 3, 1, 10),
    settlementPayoutQueryAfterMs: intFromEnv(
      env,
      'SETTLEMENT_PAYOUT_QUERY_AFTER_MS',
      300_000,
      1_000,
      86_400_000,
    ),
  };
}

const JWT_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'];

function httpAuthFromEnv(env: NodeJS.ProcessEnv): HttpAuthConfig | null {
  const tokenMaxLifetimeS = intFromEnv(env, 'HTTP_AUTH_TOKEN_MAX_LIFETIME_S', 3_600, 60, 86_400);
  const secret = env.HTTP_AUTH_JWT_SECRET || undefined;
  const keyFile = env.HTTP_AUTH_JWT_PUBLIC_KEY_FILE || undefined;
  if (secret === undefined && keyFile === undefined) return null;
  if (secret !== undefined && keyFile !== undefined)
    throw new ConfigError('set HTTP_AUTH_JWT_SECRET or HTTP_AUTH_JWT_PUBLIC_KEY_FILE, not both');
  if (secret !== undefined && secret.length < 32)
    throw new ConfigError(`HTTP_AUTH_JWT_SECRET must be at least 32 characters, got ${secret.length}`);
  let publicKey: string | undefined;
  if (keyFile !== undefined) {
    try {
      publicKey = readFileSync(keyFile, 'utf8');
    } catch (error) {
      throw new ConfigError(`HTTP_AUTH_JWT_PUBLIC_KEY_FILE ${keyFile}: ${(error as Error).message}`);
    }
  }
  const algorithm = env.HTTP_AUTH_JWT_ALGORITHM || undefined;
  if (algorithm !== undefined && (secret !== undefined || !JWT_ALGORITHMS.includes(algorithm)))
    throw new ConfigError(
      `HTTP_AUTH_JWT_ALGORITHM must be one of ${JWT_ALGORITHMS.join(', ')} with a public key, got "${algorithm}"`,
    );
  return {
    mode: 'TOKEN',
    rolesClaim: env.HTTP_AUTH_ROLES_CLAIM || 'roles',
    merchantClaim: env.HTTP_AUTH_MERCHANT_CLAIM || 'merchant_id',
    tokenMaxLifetimeS,
    ...(secret === undefined ? {} : { jwtSecret: secret }),
    ...(publicKey === undefined ? {} : { jwtPublicKey: publicKey, jwtAlgorithm: algorithm ?? 'RS256' }),
    ...(env.HTTP_AUTH_JWT_ISSUER ? { issuer: env.HTTP_AUTH_JWT_ISSUER } : {}),
    ...(env.HTTP_AUTH_JWT_AUDIENCE ? { audience: env.HTTP_AUTH_JWT_AUDIENCE } : {}),
  };
}

export function intFromEnv(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a non-negative integer, got "${raw}"`);
  const value = Number.parseInt(raw, 10);
  if (value < min || value > max)
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

export function boolFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
