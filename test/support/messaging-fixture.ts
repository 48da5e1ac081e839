/**
 * A small service of the tests' own for exercising the messaging runner on real infrastructure:
 * a schema with inbox/outbox and an `applied` table, and a handler that applies events, emits one
 * outbox event each, refuses `reject*` events and fails permanently on `poison*` ones.
 */
import {
  deadLetterReplayMigration,
  enqueueOutbox,
  messagingGuardsMigration,
  messagingTablesMigration,
  type Decoded,
  type EventBatchHandler,
} from '@app/messaging';
import { createServiceDataSource, runServiceMigrations } from '@app/platform';
import type { KafkaMessage } from 'kafkajs';
import type { DataSource, MigrationInterface, QueryRunner } from 'typeorm';

export const SCHEMA = 'msgtest';

class AppliedTable1764000000001 implements MigrationInterface {
  readonly name = 'AppliedTable1764000000001';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(
      `CREATE TABLE ${SCHEMA}.applied (event_id text PRIMARY KEY, merchant_id text NOT NULL)`,
    );
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE ${SCHEMA}.applied`);
  }
}

export interface TestEvent {
  eventId: string;
  merchantId: string;
}

export function decode(message: KafkaMessage): Decoded<TestEvent> {
  const value = JSON.parse(message.value?.toString() ?? '') as TestEvent;
  return { ok: true, eventId: value.eventId, value };
}

/** Applies events to msgtest.applied and emits one outbox event each; refuses and fails on cue. */
export class TestHandler implements EventBatchHandler<TestEvent> {
  constructor(private readonly emitTopic: string) {}
  async handle(
    events: Parameters<EventBatchHandler<TestEvent>['handle']>[0],
    tx: Parameters<EventBatchHandler<TestEvent>['handle']>[1],
  ) {
    if (events.some((e) => e.eventId.startsWith('poison'))) throw new Error('cannot apply a poison event');
    const rejected = events.filter((e) => e.eventId.startsWith('reject'));
    const accepted = events.filter((e) => !e.eventId.startsWith('reject'));
    await tx.query(
      `INSERT INTO ${SCHEMA}.applied (event_id, merchant_id) SELECT * FROM unnest($1::text[], $2::text[])`,
      [accepted.map((e) => e.eventId), accepted.map((e) => e.value.merchantId)],
    );
    await enqueueOutbox(
      tx,
      SCHEMA,
      accepted.map((e) => ({
        topic: this.emitTopic,
        key: e.value.merchantId,
        value: JSON.stringify({ appliedEventId: e.eventId }),
      })),
    );
    return { rejected: rejected.map((event) => ({ event, reason: `refused ${event.eventId} on purpose` })) };
  }
}

export async function openTestDataSource(databaseUrl: string): Promise<DataSource> {
  const ds = createServiceDataSource({
    databaseUrl,
    schema: SCHEMA,
    migrations: [
      messagingTablesMigration(SCHEMA),
      AppliedTable1764000000001,
      deadLetterReplayMigration(SCHEMA),
      messagingGuardsMigration(SCHEMA),
    ],
    applicationName: 'cse-test-messaging',
    poolMax: 4,
  });
  await ds.initialize();
  await runServiceMigrations(ds, SCHEMA);
  return ds;
}

export const appliedCount = async (ds: DataSource) =>
  (await ds.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM ${SCHEMA}.applied`))[0]!.n;

export const events = (prefix: string, n: number, merchants = 7) =>
  Array.from({ length: n }, (_, i) => {
    const merchantId = `M${String(i % merchants).padStart(5, '0')}`;
    return { key: merchantId, value: JSON.stringify({ eventId: `${prefix}-${i}`, merchantId }) };
  });
