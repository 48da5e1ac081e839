import 'reflect-metadata';
import { createKafka } from '@app/messaging';
import { createServiceDataSource, loadPlatformConfig, runServiceMigrations } from '@app/platform';
import { PAYOUT_GATEWAY_SCHEMA, payoutGatewayMigrations } from './migrations/index.js';
import { PayoutGatewaySimulator } from './payout-gateway.js';

// A stand-in for the bank's payout gateway (代付网关) in development and tests; never deployed.
const config = loadPlatformConfig('payout-gateway-simulator');
const dataSource = createServiceDataSource({
  databaseUrl: config.databaseUrl,
  schema: PAYOUT_GATEWAY_SCHEMA,
  migrations: payoutGatewayMigrations,
  applicationName: 'cse-payout-gateway-simulator',
  poolMax: Math.max(2, config.dbPoolMax),
});
await dataSource.initialize();
if (config.migrateOnBoot) await runServiceMigrations(dataSource, PAYOUT_GATEWAY_SCHEMA);
const simulator = new PayoutGatewaySimulator(
  createKafka({ brokers: config.kafkaBrokers, clientId: config.kafkaClientId }),
  dataSource,
  { topicPrefix: config.kafkaTopicPrefix, topicPartitions: config.kafkaTopicPartitions },
);
await simulator.start();
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    void simulator
      .stop()
      .then(() => dataSource.destroy())
      .finally(() => process.exit(0));
  });
