import {
  Inject,
  Injectable,
  Logger,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR, DiscoveryModule } from '@nestjs/core';
import {
  AccessGuard,
  AccessRulesCheck,
  CALLER_IDENTITY,
  CallerIdentity,
  COMMAND_AUDIT_SINK,
  CommandAuditInterceptor,
} from '@app/http';
import type { Kafka } from 'kafkajs';
import { DataSource } from 'typeorm';
import {
  createServiceDataSource,
  loadHttpAuthConfig,
  loadPlatformConfig,
  runServiceMigrations,
  type PlatformConfig,
} from '@app/platform';
import { PostgresCommandAudit } from './command-audit.js';
import { createKafka } from './kafka-client.js';
import { HealthController } from './health.controller.js';
import { OutboxRelay } from './outbox-relay.js';
import { KAFKA, PLATFORM_CONFIG, SERVICE_SCHEMA } from './tokens.js';

export interface ServiceRuntimeOptions {
  /** Service name, used for client ids and the Postgres application_name. */
  service: string;
  schema: string;
  migrations: (new () => object)[];
  httpPortDefault?: number;
}

/** Closes the pool last, after consumers and the relay have drained (Nest runs this hook after the others). */
@Injectable()
class DataSourceLifecycle implements OnApplicationShutdown {
  constructor(private readonly dataSource: DataSource) {}
  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

@Injectable()
export class OutboxRelayService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly relay: OutboxRelay;
  constructor(
    @Inject(KAFKA) kafka: Kafka,
    dataSource: DataSource,
    @Inject(SERVICE_SCHEMA) schema: string,
    @Inject(PLATFORM_CONFIG) config: PlatformConfig,
  ) {
    this.relay = new OutboxRelay(kafka, dataSource, {
      schema,
      topicPartitions: config.kafkaTopicPartitions,
      messageMaxBytes: config.kafkaMessageMaxBytes,
    });
  }
  async onApplicationBootstrap(): Promise<void> {
    await this.relay.start();
  }
  async beforeApplicationShutdown(): Promise<void> {
    await this.relay.stop();
  }
}

/**
 * The infrastructure every service needs, wired once: configuration, its schema-scoped DataSource
 * (migrated on boot unless disabled), a kafkajs client and its outbox relay.
 */
@Module({})
export class ServiceRuntimeModule {
  static forService(options: ServiceRuntimeOptions): DynamicModule {
    return {
      module: ServiceRuntimeModule,
      global: true,
      imports: [DiscoveryModule],
      controllers: [HealthController],
      providers: [
        {
          provide: PLATFORM_CONFIG,
          useFactory: () =>
            loadPlatformConfig(options.service, process.env, { httpPort: options.httpPortDefault }),
        },
        { provide: SERVICE_SCHEMA, useValue: options.schema },
        {
          provide: DataSource,
          inject: [PLATFORM_CONFIG],
          useFactory: async (config: PlatformConfig) => {
            const dataSource = createServiceDataSource({
              databaseUrl: config.databaseUrl,
              schema: options.schema,
              migrations: options.migrations,
              poolMax: config.dbPoolMax,
              applicationName: `cse-${options.service}`,
            });
            await dataSource.initialize();
            if (config.migrateOnBoot) {
              const applied = await runServiceMigrations(dataSource, options.schema);
              if (applied.length > 0)
                new Logger('Migrations').log(`${options.schema}: applied ${applied.join(', ')}`);
            }
            return dataSource;
          },
        },
        {
          provide: KAFKA,
          inject: [PLATFORM_CONFIG],
          useFactory: (config: PlatformConfig) =>
            createKafka({ brokers: config.kafkaBrokers, clientId: config.kafkaClientId }),
        },
        DataSourceLifecycle,
        OutboxRelayService,
        // Who may call what: one guard for every route, the audit of every command and refusal,
        // and a boot-time refusal of any route that declares no access rule (ADR 011).
        {
          provide: CALLER_IDENTITY,
          inject: [PLATFORM_CONFIG],
          useFactory: (config: PlatformConfig) =>
            CallerIdentity.fromConfig(loadHttpAuthConfig(process.env, config.httpHost), options.service),
        },
        {
          provide: COMMAND_AUDIT_SINK,
          inject: [DataSource],
          useFactory: (dataSource: DataSource) => new PostgresCommandAudit(dataSource, options.schema),
        },
        { provide: APP_GUARD, useClass: AccessGuard },
        { provide: APP_INTERCEPTOR, useClass: CommandAuditInterceptor },
        AccessRulesCheck,
      ],
      exports: [PLATFORM_CONFIG, SERVICE_SCHEMA, DataSource, KAFKA, OutboxRelayService, CALLER_IDENTITY],
    };
  }
}
