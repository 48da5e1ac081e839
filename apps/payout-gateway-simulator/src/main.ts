import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { createKafka } from '@app/messaging';
import { createServiceDataSource, loadPlatformConfig, runServiceMigrations } from '@app/platform';
import { PAYOUT_GATEWAY_SCHEMA, payoutGatewayMigrations } from './migrations/index.js';
import { PayoutGatewaySimulator } from './payout-gateway.js';

// A stand-in for the bank's payout gateway (代付网关) in development and tests; never deployed.
// Its schema is migrated here on boot (DB_MIGRATE_ON_BOOT); the consumer creates the request topic
// and its DLQ, the relay the result topic. HTTP serves only GET /health, like the other services.
const logger = new Logger('payout-gateway-simulator');
const config = loadPlatformConfig('payout-gateway-simulator', process.env, { httpPort: 3004 });
const dataSource = createServiceDataSource({
  databaseUrl: config.databaseUrl,
  schema: PAYOUT_GATEWAY_SCHEMA,
  migrations: payoutGatewayMigrations,
  applicationName: 'cse-payout-gateway-simulator',
  poolMax: Math.max(2, config.dbPoolMax),
});
await dataSource.initialize();
if (config.migrateOnBoot) {
  const applied = await runServiceMigrations(dataSource, PAYOUT_GATEWAY_SCHEMA);
  if (applied.length > 0) logger.log(`${PAYOUT_GATEWAY_SCHEMA}: applied ${applied.join(', ')}`);
}
const simulator = new PayoutGatewaySimulator(
  createKafka({ brokers: config.kafkaBrokers, clientId: config.kafkaClientId }),
  dataSource,
  {
    topicPrefix: config.kafkaTopicPrefix,
    topicPartitions: config.kafkaTopicPartitions,
    messageMaxBytes: config.kafkaMessageMaxBytes,
  },
);
await simulator.start();

const health = createServer((req, res) => {
  if (req.method !== 'GET' || req.url?.split('?')[0] !== '/health') {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"NOT_FOUND"}');
    return;
  }
  dataSource.query('SELECT 1').then(
    () =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: 'ok', schema: PAYOUT_GATEWAY_SCHEMA, database: 'up' })),
    () =>
      res
        .writeHead(503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: 'down', schema: PAYOUT_GATEWAY_SCHEMA, database: 'down' })),
  );
});
health.listen(config.httpPort, config.httpHost);
await once(health, 'listening');
logger.log(`ready, HTTP on ${config.httpHost}:${config.httpPort}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    health.close();
    void simulator
      .stop()
      .then(() => dataSource.destroy())
      .finally(() => process.exit(0));
  });
