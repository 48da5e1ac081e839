import type { INestApplication, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { applyHttpAppSetups } from '@app/messaging';

/**
 * Boots a service's root module as its main does (shutdown hooks, OpenAPI and the other HTTP
 * setups) on a free port of 127.0.0.1; returns the app and its base URL.
 */
export async function startServiceApp(
  module: unknown,
  logger?: LogLevel[],
): Promise<{ app: INestApplication; base: string }> {
  const app = await NestFactory.create(module as never, logger === undefined ? {} : { logger });
  app.enableShutdownHooks();
  await applyHttpAppSetups(app);
  await app.listen(0, '127.0.0.1');
  return { app, base: `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}` };
}
