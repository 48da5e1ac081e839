import { Ledger } from '@app/ledger';
import { loadPlatformConfig } from '@app/platform';
import { randomUUID } from 'node:crypto';
import type { ApprovalRecordView } from '../../../settlement/src/approval/approval-records.js';
import { PayoutRetryError, PayoutRetryService } from '../../../settlement/src/payout/payout-retry.js';
import { SETTLEMENT_SCHEMA, settlementMigrations } from '../../../settlement/src/migrations/index.js';
import { PayoutService, type PayoutRequestOutcome } from '../../../settlement/src/payout/payout.service.js';
import { emit, table, UsageError, type OutputOptions } from '../output.js';
import { withSchemaDataSource } from '../schema-data-source.js';

export interface PayoutsRunResult {
  requested: PayoutRequestOutcome[];
  refused: PayoutRequestOutcome[];
  /** Attempt ids of the retries started. */
  retriesStarted: string[];
}

/**
 * `settlement payouts`: one pass of the service's payout loop — approved records' payouts requested
 * through the settlement outbox (the running service's relay publishes them) and due retries
 * started. Safe beside a running scheduler: requests are picked FOR UPDATE SKIP LOCKED.
 */
export async function settlementPayoutsCommand(options: OutputOptions): Promise<PayoutsRunResult> {
  const { kafkaTopicPrefix } = loadPlatformConfig('cli');
  return withSchemaDataSource(SETTLEMENT_SCHEMA, settlementMigrations, async (dataSource) => {
    const payouts = new PayoutService(dataSource, new Ledger(), { topicPrefix: kafkaTopicPrefix });
    const outcomes = await payouts.requestPayouts();
    const result: PayoutsRunResult = {
      requested: outcomes.filter((o) => o.outcome === 'REQUESTED'),
      refused: outcomes.filter((o) => o.outcome === 'REFUSED'),
      retriesStarted: await payouts.startDueRetries(),
    };
    emit(options, result, () => formatPayouts(result));
    return result;
  });
}

export function formatPayouts(result: PayoutsRunResult): string {
  const lines = [
    `payouts: ${result.requested.length} requested, ${result.refused.length} refused, ${result.retriesStarted.length} retries started`,
  ];
  const rows = [...result.requested, ...result.refused].map((o) => ({
    record: o.recordId,
    outcome: o.outcome,
    attempt: o.attemptId ?? '',
    reason: o.code === undefined ? '' : `${o.code}: ${o.message ?? ''}`,
  }));
  if (rows.length > 0) lines.push(table(rows));
  if (result.retriesStarted.length > 0) lines.push(`retries: ${result.retriesStarted.join(', ')}`);
  return lines.join('\n');
}

/**
 * `settlement retry-payout <id> --as U --reason R [--key K]`: a new payout of a PAYOUT_FAILED record
 * (its funds move from settleable to in transit again); the running service's relay sends it.
 */
export async function settlementRetryPayoutCommand(
  options: OutputOptions & { id: string; as: string; reason: string; key?: string },
): Promise<ApprovalRecordView> {
  const { kafkaTopicPrefix } = loadPlatformConfig('cli');
  // One key per CLI call unless given: retrying a lost answer needs the same --key.
  const idempotencyKey = options.key ?? `cli-retry-payout-${randomUUID()}`;
  try {
    return await withSchemaDataSource(SETTLEMENT_SCHEMA, settlementMigrations, async (dataSource) => {
      const ledger = new Ledger();
      const service = new PayoutRetryService(
        dataSource,
        ledger,
        new PayoutService(dataSource, ledger, { topicPrefix: kafkaTopicPrefix }),
      );
      const record = await service.retryPayout(options.id, {
        by: options.as,
        reason: options.reason,
        idempotencyKey,
      });
      emit(
        options,
        record,
        () =>
          `settlement record ${record.id} ${record.merchantId} ${record.netPayout} ${record.currency}: ${record.status} ` +
          `(payout retry requested by ${options.as}, key ${idempotencyKey})`,
      );
      return record;
    });
  } catch (error) {
    if (error instanceof PayoutRetryError) throw new UsageError(`${error.code}: ${error.message}`);
    throw error;
  }
}
