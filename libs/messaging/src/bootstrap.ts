import { Logger, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { PlatformConfig } from '@app/platform';
import { PLATFORM_CONFIG } from './tokens.js';

/** Boots a service: HTTP for health and commands, Kafka consumers and the outbox relay as providers. */
export async function bootstrapService(service: string, module: unknown): Promise<INestApplication> {
  const app = await NestFactory.create(module as never);
  // SIGTERM/SIGINT: consumers finish their batch and commit, the relay drains, then the pool closes.
  app.enableShutdownHooks();
  const config = app.get<PlatformConfig>(PLATFORM_CONFIG);
  await app.listen(config.httpPort, config.httpHost);
  new Logger(service).log(`ready, HTTP on ${config.httpHost}:${config.httpPort}`);
  return app;
}
