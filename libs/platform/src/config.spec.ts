import { ConfigError, loadPlatformConfig } from './config.js';

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
      httpHost: '127.0.0.1',
      httpPort: 3001,
    });
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
