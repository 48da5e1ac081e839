import { Ledger } from '@app/ledger';
import { loadPlatformConfig } from '@app/platform';
import {
  type ApprovalRecordView,
  SETTLEMENT_SCHEMA,
  settlementMigrations,
  PayoutService,
  payoutServiceOptionsOf,
  type PayoutQuery,
  type PayoutRequestOutcome,
} from '../../../settlement/src/index.js';
import { ApiClient, idempotencyKeyOf, type ApiCommandOptions } from '../api-client.js';
import { emit, table, type OutputOptions } from '../output.js';
import { reasonOf, recordId } from './settlement.command.js';
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
 * `settlement retry-payout <id> --reason R`: a new payout of a PAYOUT_FAILED record (its funds move
 * from settleable to in transit again) through the settlement service's
 * `POST /settlement-records/{id}/retry-payout`, as the token's principal; the service's relay sends it.
 */
export async function settlementRetryPayoutCommand(
  options: OutputOptions & ApiCommandOptions & { id: string; reason: string },
  client?: ApiClient,
): Promise<ApprovalRecordView> {
  recordId(options.id);
  reasonOf(options.reason);
  const api = client ?? (await ApiClient.for('settlement', options));
  // One key per CLI call unless given: retrying a lost answer needs the same --idempotency-key.
  const idempotencyKey = idempotencyKeyOf(options, 'retry-payout');
  const { body: record } = await api.json<ApprovalRecordView>(
    'POST',
    `/settlement-records/${options.id}/retry-payout`,
    { reason: options.reason },
    { 'idempotency-key': idempotencyKey },
  );
  emit(
    options,
    record,
    () =>
      `settlement record ${record.id} ${record.merchantId} ${record.netPayout} ${record.currency}: ${record.status} ` +
      `(payout retry requested, key ${idempotencyKey})`,
  );
  return record;
}
