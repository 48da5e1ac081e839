import {
  DEAD_LETTER_KINDS,
  DeadLetterReplayError,
  listDeadLetters,
  replayDeadLetter,
  type DeadLetterKind,
  type DeadLetterReplay,
  type DeadLetterView,
} from '@app/messaging';
import { emit, table, UsageError, type OutputOptions } from '../output.js';
import { withSchemaDataSource } from '../schema-data-source.js';
import { SERVICE_SCHEMAS } from './db.command.js';

const KINDS = DEAD_LETTER_KINDS;

/** The service schemas that consume topics (the ledger has no consumer, hence no dead letters). */
function serviceOf(name: string) {
  const service = SERVICE_SCHEMAS.find((s) => s.schema === name.replace(/-/g, '_') && s.schema !== 'ledger');
  if (!service)
    throw new UsageError(
      `--service must be one of ${SERVICE_SCHEMAS.filter((s) => s.schema !== 'ledger')
        .map((s) => s.schema)
        .join(', ')}, got "${name}"`,
    );
  return service;
}

/** `dlq list --service S [--topic T] [--kind K] [--all]`: the service's dead letters (死信). */
export async function dlqListCommand(
  options: OutputOptions & { service: string; topic?: string; kind?: string; all?: boolean },
): Promise<DeadLetterView[]> {
  const { schema, migrations } = serviceOf(options.service);
  if (options.kind !== undefined && !(KINDS as readonly string[]).includes(options.kind))
    throw new UsageError(`--kind must be one of ${KINDS.join(', ')}, got "${options.kind}"`);
  return withSchemaDataSource(schema, migrations, async (dataSource) => {
    const letters = await listDeadLetters(dataSource, schema, {
      ...(options.topic === undefined ? {} : { sourceTopic: options.topic }),
      ...(options.kind === undefined ? {} : { kind: options.kind as DeadLetterKind }),
      includeReplayed: options.all ?? false,
    });
    emit(options, letters, () =>
      table(
        letters.map((d) => ({
          id: d.id,
          kind: d.kind,
          source: `${d.sourceTopic}[${d.sourcePartition}]@${d.sourceOffset}`,
          key: d.key ?? '',
          failed: d.failedAt,
          replayed: d.replayed === null ? '' : `${d.replayed.at} by ${d.replayed.by}`,
          reason: d.reason.length > 120 ? `${d.reason.slice(0, 119)}…` : d.reason,
        })),
      ),
    );
    return letters;
  });
}

/**
 * `dlq replay <id> --service S --as U --reason R`: the dead letter back onto its source topic
 * through the service's outbox (the running service's relay publishes it), once, audited.
 */
export async function dlqReplayCommand(
  options: OutputOptions & { service: string; id: string; as: string; reason: string },
): Promise<DeadLetterReplay> {
  const { schema, migrations } = serviceOf(options.service);
  try {
    return await withSchemaDataSource(schema, migrations, async (dataSource) => {
      const replay = await replayDeadLetter(dataSource, schema, options.id, {
        by: options.as,
        reason: options.reason,
      });
      emit(
        options,
        replay,
        () =>
          `dead letter ${replay.id} replayed onto ${replay.sourceTopic} (key ${replay.key ?? '(none)'})` +
          `${replay.claimsReleased > 0 ? ', its inbox claim released' : ''}; the ${options.service} service's relay publishes it`,
      );
      return replay;
    });
  } catch (error) {
    if (error instanceof DeadLetterReplayError) throw new UsageError(`${error.code}: ${error.message}`);
    throw error;
  }
}
