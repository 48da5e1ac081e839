import { createServiceDataSource, loadPlatformConfig } from '@app/platform';
import type { DataSource } from 'typeorm';

/** Opens a short-lived connection pool on one service's schema for a CLI command, and closes it. */
export async function withSchemaDataSource<T>(
  schema: string,
  migrations: (new () => object)[],
  work: (dataSource: DataSource) => Promise<T>,
  poolMax = 2,
): Promise<T> {
  const config = loadPlatformConfig('cli');
  const dataSource = createServiceDataSource({
    databaseUrl: config.databaseUrl,
    schema,
    migrations,
    applicationName: 'cse-cli',
    poolMax,
  });
  await dataSource.initialize();
  try {
    return await work(dataSource);
  } finally {
    await dataSource.destroy();
  }
}
