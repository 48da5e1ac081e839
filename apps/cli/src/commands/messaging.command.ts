import { pruneMessaging, RetentionPolicyError, type PruneResult } from '@app/messaging';
import { emit, table, UsageError, type OutputOptions } from '../output.js';
import { withSchemaDataSource } from '../schema-data-source.js';
import { SERVICE_SCHEMAS } from './db.command.js';

/**
 * `messaging prune [--service S] [--outbox-days N] [--inbox-days N]`: drops published outbox rows
 * and inbox rows past their retention from one service's schema, or from every service's
 * (unpublished rows and dead letters are never touched). Meant for a daily cron.
 */
export async function messagingPruneCommand(
  options: OutputOptions & { service?: string; outboxDays?: string; inboxDays?: string },
): Promise<PruneResult[]> {
  const services = SERVICE_SCHEMAS.filter(
    (s) =>
      s.schema !== 'ledger' &&
      (options.service === undefined || s.schema === options.service.replace(/-/g, '_')),
  );
  if (services.length === 0)
    throw new UsageError(
      `--service must be one of ${SERVICE_SCHEMAS.filter((s) => s.schema !== 'ledger')
        .map((s) => s.schema)
        .join(', ')}, got "${options.service}"`,
    );
  const days = (name: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    if (!/^\d{1,5}$/.test(value))
      throw new UsageError(`--${name} must be a whole number of days, got "${value}"`);
    return Number.parseInt(value, 10);
  };
  const policy = {
    ...(options.outboxDays === undefined ? {} : { outboxDays: days('outbox-days', options.outboxDays) }),
    ...(options.inboxDays === undefined ? {} : { inboxDays: days('inbox-days', options.inboxDays) }),
  };
  const results: PruneResult[] = [];
  try {
    for (const { schema, migrations } of services)
      results.push(
        await withSchemaDataSource(schema, migrations, (dataSource) =>
          pruneMessaging(dataSource, schema, policy),
        ),
      );
  } catch (error) {
    if (error instanceof RetentionPolicyError) throw new UsageError(error.message);
    throw error;
  }
  emit(options, results, () =>
    table(
      results.map((r) => ({
        schema: r.schema,
        'outbox rows deleted': r.outboxDeleted,
        'published before': r.outboxBefore,
        'inbox rows deleted': r.inboxDeleted,
        'processed before': r.inboxBefore,
      })),
    ),
  );
  return results;
}
