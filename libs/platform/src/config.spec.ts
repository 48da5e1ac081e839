import { ConfigError, loadHttpAuthConfig, loadPlatformConfig } from './config.js';

describe('loadPlatformConfig', () => {
  it('has working defaults for a laptop', () => {
    expect(loadPlatformConfig('reconciliation', {}, { httpPort: 3001 })).toEqual({
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/clearing',
      dbPoolMax: 10,
      migrateOnBoot: true,
      kafkaBrokers: ['127.0.0.1:9092'],
      kafkaClientId: 'cse-reconciliation',
      kafkaTopicPrefix: '',
      kafkaTopicPartitions: 3,
      kafkaSessionTimeoutMs: 30_000,
      kafkaMessageMaxBytes: 1_000_000,
      outboxUnpublishedAgeMaxMs: 300_000,
      httpHost: '127.0.0.1',
      httpPort: 3001,
      statementUploadMaxBytes: 4_294_967_296,
      settlementScheduler: true,
      settlementPayoutPollMs: 5_000,
      settlementPayoutRetryDelayMs: 60_000,
      settlementPayoutMaxAttempts: 3,
      settlementPayoutQueryAfterMs: 300_000,
    });
  });

  it('reads HTTP authentication: a shared secret or a public key file, never both, never a short secret', () => {
    const secret = 'x'.repeat(32);
    const auth = (env: NodeJS.ProcessEnv, host = '127.0.0.1') => loadHttpAuthConfig(env, host);
    expect(
      auth({
        HTTP_AUTH_JWT_SECRET: secret,
        HTTP_AUTH_JWT_ISSUER: 'https://id.example',
        HTTP_AUTH_JWT_AUDIENCE: 'cse',
      }),
    ).toEqual({
      mode: 'TOKEN',
      jwtSecret: secret,
      issuer: 'https://id.example',
      audience: 'cse',
      rolesClaim: 'roles',
      merchantClaim: 'merchant_id',
      tokenMaxLifetimeS: 3_600,
    });
    expect(() => auth({ HTTP_AUTH_JWT_SECRET: 'short' })).toThrow(
      'HTTP_AUTH_JWT_SECRET must be at least 32 characters, got 5',
    );
    expect(() => auth({ HTTP_AUTH_JWT_SECRET: secret, HTTP_AUTH_JWT_PUBLIC_KEY_FILE: '/k.pem' })).toThrow(
      'not both',
    );
    expect(() => auth({ HTTP_AUTH_JWT_PUBLIC_KEY_FILE: '/nonexistent/key.pem' })).toThrow(
      'HTTP_AUTH_JWT_PUBLIC_KEY_FILE /nonexistent/key.pem: ENOENT',
    );
    expect(() => auth({ HTTP_AUTH_JWT_SECRET: secret, HTTP_AUTH_JWT_ALGORITHM: 'RS256' })).toThrow(
      'HTTP_AUTH_JWT_ALGORITHM must be one of RS256, PS256, ES256, EdDSA with a public key',
    );
    expect(auth({ HTTP_AUTH_JWT_SECRET: secret, HTTP_AUTH_TOKEN_MAX_LIFETIME_S: '900' })).toMatchObject({
      tokenMaxLifetimeS: 900,
    });
    expect(() => auth({ HTTP_AUTH_JWT_SECRET: secret, HTTP_AUTH_TOKEN_MAX_LIFETIME_S: '999999' })).toThrow(
      'HTTP_AUTH_TOKEN_MAX_LIFETIME_S must be between 60 and 86400',
    );
  });

  it('is secure by default: no identity configuration, no start; development mode only on loopback', () => {
    for (const host of ['0.0.0.0', '10.1.2.3', '127.0.0.1'])
      expect(() => loadHttpAuthConfig({}, host)).toThrow(
        /no identity configuration: set HTTP_AUTH_JWT_PUBLIC_KEY_FILE .* or HTTP_AUTH_JWT_SECRET/,
      );
    for (const host of ['127.0.0.1', '::1', 'localhost'])
      expect(loadHttpAuthConfig({ AUTH_MODE: 'development' }, host)).toEqual({ mode: 'DEVELOPMENT' });
    for (const host of ['0.0.0.0', '::', '192.168.1.5'])
      expect(() => loadHttpAuthConfig({ AUTH_MODE: 'development' }, host)).toThrow(
        `AUTH_MODE=development trusts whoever calls, so it listens on loopback only; HTTP_HOST is "${host}"`,
      );
    expect(() => loadHttpAuthConfig({ AUTH_MODE: 'dev' }, '127.0.0.1')).toThrow(ConfigError);
    expect(() =>
      loadHttpAuthConfig({ AUTH_MODE: 'development', HTTP_AUTH_JWT_SECRET: 'x'.repeat(32) }, '127.0.0.1'),
    ).toThrow('AUTH_MODE=development takes no HTTP_AUTH_JWT_* key');
  });

  it('reads the payout retry delay, attempts and query interval, refusing values past their bounds', () => {
    const config = loadPlatformConfig('x', {
      SETTLEMENT_PAYOUT_RETRY_DELAY_MS: '120000',
      SETTLEMENT_PAYOUT_MAX_ATTEMPTS: '1',
      SETTLEMENT_PAYOUT_QUERY_AFTER_MS: '900000',
    });
    expect([
      config.settlementPayoutRetryDelayMs,
      config.settlementPayoutMaxAttempts,
      config.settlementPayoutQueryAfterMs,
    ]).toEqual([120_000, 1, 900_000]);
    expect(() => loadPlatformConfig('x', { SETTLEMENT_PAYOUT_MAX_ATTEMPTS: '11' })).toThrow(
      new ConfigError('SETTLEMENT_PAYOUT_MAX_ATTEMPTS must be between 1 and 10, got 11'),
    );
    expect(() => loadPlatformConfig('x', { SETTLEMENT_PAYOUT_RETRY_DELAY_MS: '999' })).toThrow(
      new ConfigError('SETTLEMENT_PAYOUT_RETRY_DELAY_MS must be between 1000 and 86400000, got 999'),
    );
  });

  it('runs the settlement scheduler unless turned off, and off by default under Jest', () => {
    expect(loadPlatformConfig('x', { SETTLEMENT_SCHEDULER: 'off' }).settlementScheduler).toBe(false);
    expect(loadPlatformConfig('x', { NODE_ENV: 'test' }).settlementScheduler).toBe(false);
    expect(
      loadPlatformConfig('x', { NODE_ENV: 'test', SETTLEMENT_SCHEDULER: 'on' }).settlementScheduler,
    ).toBe(true);
    expect(() => loadPlatformConfig('x', { SETTLEMENT_SCHEDULER: 'sometimes' })).toThrow(
      new ConfigError('SETTLEMENT_SCHEDULER must be true or false, got "sometimes"'),
    );
  });

  it('reads the payout poll interval in milliseconds, within 100 ms and one hour', () => {
    expect(loadPlatformConfig('x', { SETTLEMENT_PAYOUT_POLL_MS: '250' }).settlementPayoutPollMs).toBe(250);
    expect(() => loadPlatformConfig('x', { SETTLEMENT_PAYOUT_POLL_MS: '99' })).toThrow(
      new ConfigError('SETTLEMENT_PAYOUT_POLL_MS must be between 100 and 3600000, got 99'),
    );
    expect(() => loadPlatformConfig('x', { SETTLEMENT_PAYOUT_POLL_MS: '5s' })).toThrow(
      'SETTLEMENT_PAYOUT_POLL_MS must be a non-negative integer, got "5s"',
    );
  });

  it('reads the statement upload limit in bytes, within 1 byte and 64 GiB', () => {
    expect(loadPlatformConfig('x', { STATEMENT_UPLOAD_MAX_BYTES: '65536' }).statementUploadMaxBytes).toBe(
      65_536,
    );
    expect(
      loadPlatformConfig('x', { STATEMENT_UPLOAD_MAX_BYTES: '68719476736' }).statementUploadMaxBytes,
    ).toBe(64 * 1024 ** 3);
    expect(() => loadPlatformConfig('x', { STATEMENT_UPLOAD_MAX_BYTES: '2GiB' })).toThrow(
      new ConfigError('STATEMENT_UPLOAD_MAX_BYTES must be a non-negative integer, got "2GiB"'),
    );
    expect(() => loadPlatformConfig('x', { STATEMENT_UPLOAD_MAX_BYTES: '0' })).toThrow(
      'STATEMENT_UPLOAD_MAX_BYTES must be between 1 and 68719476736, got 0',
    );
    expect(() => loadPlatformConfig('x', { STATEMENT_UPLOAD_MAX_BYTES: '68719476737' })).toThrow(
      'STATEMENT_UPLOAD_MAX_BYTES must be between 1 and 68719476736, got 68719476737',
    );
  });

  it('reads the relay send limit and the outbox age past which a service is not ready, within bounds', () => {
    const config = loadPlatformConfig('x', {
      KAFKA_MESSAGE_MAX_BYTES: '524288',
      OUTBOX_UNPUBLISHED_AGE_MAX_MS: '60000',
    });
    expect(config.kafkaMessageMaxBytes).toBe(524_288);
    expect(config.outboxUnpublishedAgeMaxMs).toBe(60_000);
    // Below 128 KiB a clipped dead letter (64 KiB of value plus headers) could not be sent.
    expect(() => loadPlatformConfig('x', { KAFKA_MESSAGE_MAX_BYTES: '65536' })).toThrow(
      'KAFKA_MESSAGE_MAX_BYTES must be between 131072 and 104857600, got 65536',
    );
    expect(() => loadPlatformConfig('x', { OUTBOX_UNPUBLISHED_AGE_MAX_MS: '999' })).toThrow(
      'OUTBOX_UNPUBLISHED_AGE_MAX_MS must be between 1000 and 86400000, got 999',
    );
  });

  it('reads brokers as a list and booleans strictly', () => {
    const config = loadPlatformConfig('x', { KAFKA_BROKERS: 'a:9092, b:9092', DB_MIGRATE_ON_BOOT: 'false' });
    expect(config.kafkaBrokers).toEqual(['a:9092', 'b:9092']);
    expect(config.migrateOnBoot).toBe(false);
  });

  it('names the variable and the value it refuses', () => {
    expect(() => loadPlatformConfig('x', { DB_POOL_MAX: '10.5' })).toThrow(
      new ConfigError('DB_POOL_MAX must be a non-negative integer, got "10.5"'),
    );
    expect(() => loadPlatformConfig('x', { DB_POOL_MAX: '0' })).toThrow(
      'DB_POOL_MAX must be between 1 and 200, got 0',
    );
    expect(() => loadPlatformConfig('x', { DB_MIGRATE_ON_BOOT: 'maybe' })).toThrow(
      'DB_MIGRATE_ON_BOOT must be true or false',
    );
  });
});
