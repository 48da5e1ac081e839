import { Ledger } from '@app/ledger';
import { loadPlatformConfig } from '@app/platform';
import { randomUUID } from 'node:crypto';
import type { ApprovalRecordView } from '../../../settlement/src/approval/approval-records.js';
import { PayoutRetryError, PayoutRetryService } from '../../../settlement/src/payout/payout-retry.js';
import { SETTLEMENT_SCHEMA, settlementMigrations } from '../../../settlement/src/migrations/index.js';
import {
  PayoutService,
  payoutServiceOptionsOf,
  type PayoutQuery,
  type PayoutRequestOutcome,
} from '../../../settlement/src/payout/payout.service.js';
import { emit, table, UsageError, type OutputOptions } from '../output.js';
import { withSchemaDataSource } from '../schema-data-source.js';

export interface PayoutsRunResult {
  requested: PayoutRequestOutcome[];
  refused: PayoutRequestOutcome[];
  /** Attempt ids of the retries started. */
  retriesStarted: string[];
  /** Payouts whose answer was overdue, asked about again. */
  queried: PayoutQuery[];
}

/**
 * `settlement payouts`: one pass of the service's payout loop — approved records' payouts requested
 * through the settlement outbox (the running service's relay publishes them), due retries
 * started and overdue answers queried. Safe beside a running scheduler: rows are picked FOR UPDATE
 * SKIP LOCKED.
 */
export async function settlementPayoutsCommand(options: OutputOptions): Promise<PayoutsRunResult> {
  const config = loadPlatformConfig('cli');
  return withSchemaDataSource(SETTLEMENT_SCHEMA, settlementMigrations, async (dataSource) => {
    const payouts = new PayoutService(dataSource, new Ledger(), payoutServiceOptionsOf(config));
    const outcomes = await payouts.requestPayouts();
    const result: PayoutsRunResult = {
      requested: outcomes.filter((o) => o.outcome === 'REQUESTED'),
      refused: outcomes.filter((o) => o.outcome === 'REFUSED'),
      retriesStarted: await payouts.startDueRetries(),
      queried: await payouts.queryOverdue(),
    };
    emit(options, result, () => formatPayouts(result));
    return result;
  });
}

export function formatPayouts(result: PayoutsRunResult): string {
  const lines = [
    `payouts: ${result.requested.length} requested, ${result.refused.length} refused, ${result.retriesStarted.length} retries started, ${result.queried.length} overdue answers queried`,
  ];
  const rows = [...result.requested, ...result.refused].map((o) => ({
    record: o.recordId,
    outcome: o.outcome,
    attempt: o.attemptId ?? '',
    reason: o.code === undefined ? '' : `${o.code}: ${o.message ?? ''}`,
  }));
  if (rows.length > 0) lines.push(table(rows));
  if (result.retriesStarted.length > 0) lines.push(`retries: ${result.retriesStarted.join(', ')}`);
  for (const q of result.queried)
    lines.push(
      `queried: record ${q.recordId} attempt ${q.attemptId} (query ${q.queryNo}${q.escalated ? ', escalated: ask the bank' : ''})`,
    );
  return lines.join('\n');
}

/**
 * `settlement retry-payout <id> --as U --reason R [--key K]`: a new payout of a PAYOUT_FAILED record
 * (its funds move from settleable to in transit again); the running service's relay sends it.
 */
export async function settlementRetryPayoutCommand(
  options: OutputOptions & { id: string; as: string; reason: string; key?: string },
): Promise<ApprovalRecordView> {
  const config = loadPlatformConfig('cli');
  // One key per CLI call unless given: retrying a lost answer needs the same --key.
  const idempotencyKey = options.key ?? `cli-retry-payout-${randomUUID()}`;
  try {
    return await withSchemaDataSource(SETTLEMENT_SCHEMA, settlementMigrations, async (dataSource) => {
      const ledger = new Ledger();
      const service = new PayoutRetryService(
        dataSource,
        ledger,
        new PayoutService(dataSource, ledger, payoutServiceOptionsOf(config)),
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
