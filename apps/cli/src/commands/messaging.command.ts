import {
  outboxNotReadyReasons,
  outboxStatus,
  pruneMessaging,
  RetentionPolicyError,
  unparkOutboxRow,
  UnparkError,
  type OutboxStatus,
  type PruneResult,
  type Unparked,
} from '@app/messaging';
import { loadPlatformConfig } from '@app/platform';
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
  const services = messagingServices(options.service);
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

/** The service schemas with an inbox and outbox (the ledger has none): all, or the one named. */
function messagingServices(service: string | undefined) {
  const services = SERVICE_SCHEMAS.filter(
    (s) => s.schema !== 'ledger' && (service === undefined || s.schema === service.replace(/-/g, '_')),
  );
  if (services.length === 0)
    throw new UsageError(
      `--service must be one of ${SERVICE_SCHEMAS.filter((s) => s.schema !== 'ledger')
        .map((s) => s.schema)
        .join(', ')}, got "${service}"`,
    );
  return services;
}

export interface MessagingStatus extends OutboxStatus {
  ready: boolean;
  notReadyReasons: string[];
}

/**
 * `messaging status [--service S]`: per service, what its outbox still owes the broker — rows
 * waiting, the oldest one's age, and every parked row with the broker's reason — and whether its
 * readiness endpoint would answer 503 for it (OUTBOX_UNPUBLISHED_AGE_MAX_MS).
 */
export async function messagingStatusCommand(
  options: OutputOptions & { service?: string },
): Promise<MessagingStatus[]> {
  const services = messagingServices(options.service);
  const ageMaxMs = loadPlatformConfig('cli').outboxUnpublishedAgeMaxMs;
  const results: MessagingStatus[] = [];
  for (const { schema, migrations } of services) {
    const status = await withSchemaDataSource(schema, migrations, (dataSource) =>
      outboxStatus(dataSource, schema, { parkedLimit: 1_000 }),
    );
    const notReadyReasons = outboxNotReadyReasons(status, ageMaxMs);
    results.push({ ...status, ready: notReadyReasons.length === 0, notReadyReasons });
  }
  emit(options, results, () => {
    const summary = table(
      results.map((r) => ({
        schema: r.schema,
        ready: r.ready ? 'yes' : 'NO',
        unpublished: r.unpublished,
        'oldest unpublished':
          r.oldestUnpublishedAt === null
            ? ''
            : `${r.oldestUnpublishedAt} (${seconds(r.oldestUnpublishedAgeMs!)})`,
        parked: r.parkedCount,
      })),
    );
    const parked = results.flatMap((r) =>
      r.parked.map((p) => ({
        schema: r.schema,
        id: p.id,
        topic: p.topic,
        key: p.key ?? '',
        bytes: p.valueBytes,
        'parked at': p.parkedAt,
        reason: p.reason.length > 120 ? `${p.reason.slice(0, 119)}…` : p.reason,
      })),
    );
    return parked.length === 0
      ? summary
      : `${summary}\n\nparked (the broker refused them; not published):\n${table(parked)}`;
  });
  return results;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * `messaging unpark <id> --service S --as U --reason R`: a parked outbox row back in the relay's
 * queue once its cause is dealt with (the running service's relay sends it), audited.
 */
export async function messagingUnparkCommand(
  options: OutputOptions & { id: string; service: string; as: string; reason: string },
): Promise<Unparked> {
  const [service] = messagingServices(options.service);
  const { schema, migrations } = service!;
  try {
    return await withSchemaDataSource(schema, migrations, async (dataSource) => {
      const unparked = await unparkOutboxRow(dataSource, schema, options.id, {
        by: options.as,
        reason: options.reason,
      });
      emit(
        options,
        unparked,
        () =>
          `outbox row ${unparked.id} (${unparked.topic}, key ${unparked.key ?? '(none)'}) is back in the queue; it was parked for: ${unparked.parkReason}`,
      );
      return unparked;
    });
  } catch (error) {
    if (error instanceof UnparkError) throw new UsageError(`${error.code}: ${error.message}`);
    throw error;
  }
}
