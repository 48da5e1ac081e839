import { Logger, type INestApplication } from '@nestjs/common';
import { ModulesContainer, NestFactory } from '@nestjs/core';
import { ConfigError, loadHttpAuthConfig, loadPlatformConfig, type PlatformConfig } from '@app/platform';
import { PLATFORM_CONFIG } from './tokens.js';

/**
 * What a service adds to its HTTP surface beyond its controllers (e.g. its OpenAPI document and UI),
 * given the app before it listens. A module provides any number of them under HTTP_APP_SETUP, so
 * bootstrapService stays the same for every service.
 */
export type HttpAppSetup = (app: INestApplication) => void | Promise<void>;
export const HTTP_APP_SETUP = Symbol('HTTP_APP_SETUP');

/** Runs every HTTP_APP_SETUP the app's modules provide; for tests that create the app themselves. */
export async function applyHttpAppSetups(app: INestApplication): Promise<void> {
  // Looked up module by module: app.get() of a token no module provides would abort the process.
  const setups = [...app.get(ModulesContainer).values()].flatMap((moduleRef) => {
    const wrapper = moduleRef.providers.get(HTTP_APP_SETUP);
    return wrapper === undefined ? [] : [wrapper.instance as HttpAppSetup];
  });
  for (const setup of setups) await setup(app);
}

/** Boots a service: HTTP for health and commands, Kafka consumers and the outbox relay as providers. */
export async function bootstrapService(service: string, module: unknown): Promise<INestApplication> {
  refuseToStartWithoutIdentity(service);
  const app = await NestFactory.create(module as never);
  // SIGTERM/SIGINT: consumers finish their batch and commit, the relay drains, then the pool closes.
  app.enableShutdownHooks();
  await applyHttpAppSetups(app);
  const config = app.get<PlatformConfig>(PLATFORM_CONFIG);
  await app.listen(config.httpPort, config.httpHost);
  new Logger(service).log(`ready, HTTP on ${config.httpHost}:${config.httpPort}`);
  return app;
}

/**
 * Secure by default (ADR 011): before anything connects, a service without identity
 * configuration stops with a message naming the variables, and development mode stops unless it
 * listens on loopback. The same check runs again when the app builds its CallerIdentity.
 */
function refuseToStartWithoutIdentity(service: string): void {
  try {
    loadHttpAuthConfig(process.env, loadPlatformConfig(service).httpHost);
  } catch (error) {
    if (error instanceof ConfigError) {
      new Logger(service).error(`cannot start: ${error.message}`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}
