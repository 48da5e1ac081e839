import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { Ledger } from '@app/ledger';
import {
  discrepanciesToCsv,
  DiscrepancyService,
  DiscrepancyError,
  type Discrepancy,
  type ReconReport,
  type MatchRunResult,
  MATCH_CLASSES,
  RECONCILIATION_SCHEMA,
  reconciliationMigrations,
} from '../../../reconciliation/src/index.js';
import { emit, table, UsageError, type OutputOptions } from '../output.js';
import { withSchemaDataSource } from '../schema-data-source.js';
import { ApiClient, idempotencyKeyOf, type ApiCommandOptions } from '../api-client.js';

export interface ReconRunOptions extends OutputOptions, ApiCommandOptions {
  channel: string;
  date: string;
}

/**
 * `recon run`: one match run of (channel, business date) through the reconciliation service's
 * `POST /match-runs`; prints the count per class.
 */
export async function reconRunCommand(options: ReconRunOptions, client?: ApiClient): Promise<MatchRunResult> {
  const api = client ?? (await ApiClient.for('reconciliation', options));
  const { body: result } = await api.json<MatchRunResult>(
    'POST',
    '/match-runs',
    { channel: options.channel, businessDate: options.date },
    { 'idempotency-key': idempotencyKeyOf(options, 'match-run') },
  );
  emit(options, result, () => formatRun(result));
  return result;
}

export const DISCREPANCY_ACTIONS = ['ADJUST', 'WRITE_OFF'] as const;

export interface DiscrepancyResolveOptions extends OutputOptions, ApiCommandOptions {
  id: string;
  action: string;
  note: string;
}

/**
 * `discrepancy resolve <id> --action ADJUST|WRITE_OFF --note N`: `POST /discrepancies/{id}/resolve`
 * as the token's principal, idempotent by its key (a replay answers the first result).
 */
export async function discrepancyResolveCommand(
  options: DiscrepancyResolveOptions,
  client?: ApiClient,
): Promise<Discrepancy> {
  if (!(DISCREPANCY_ACTIONS as readonly string[]).includes(options.action))
    throw new UsageError(
      `--action must be one of ${DISCREPANCY_ACTIONS.join(', ')}, got "${options.action}"`,
    );
  return discrepancyCommand(
    options,
    'resolve',
    {
      action: options.action,
      note: textOption('--note', options.note),
    },
    client,
  );
}

/**
 * `discrepancy confirm-adjustment <id> [--note N]` and `discrepancy reject-adjustment <id> --reason R`:
 * the second person's answer to another person's adjustment above the currency's threshold
 * (`POST /discrepancies/{id}/confirm-adjustment|reject-adjustment`); the proposer is refused.
 */
export async function discrepancyAdjustmentDecisionCommand(
  options: OutputOptions &
    ApiCommandOptions & { id: string; decision: 'confirm' | 'reject'; note?: string; reason?: string },
  client?: ApiClient,
): Promise<Discrepancy> {
  return options.decision === 'confirm'
    ? discrepancyCommand(
        options,
        'confirm-adjustment',
        options.note === undefined ? {} : { note: textOption('--note', options.note) },
        client,
      )
    : discrepancyCommand(
        options,
        'reject-adjustment',
        { reason: textOption('--reason', options.reason) },
        client,
      );
}

async function discrepancyCommand(
  options: OutputOptions & ApiCommandOptions & { id: string },
  route: 'resolve' | 'confirm-adjustment' | 'reject-adjustment',
  body: Record<string, string>,
  client: ApiClient | undefined,
): Promise<Discrepancy> {
  if (!/^[1-9]\d{0,18}$/.test(options.id))
    throw new UsageError(`<id> must be a discrepancy id (a positive integer), got "${options.id}"`);
  const api = client ?? (await ApiClient.for('reconciliation', options));
  const idempotencyKey = idempotencyKeyOf(options, route);
  const { body: discrepancy, headers } = await api.json<Discrepancy>(
    'POST',
    `/discrepancies/${options.id}/${route}`,
    body,
    { 'idempotency-key': idempotencyKey },
  );
  emit(options, discrepancy, () =>
    [
      `discrepancy ${discrepancy.id} (${discrepancy.class}, ${discrepancy.channel} ${discrepancy.businessDate}): ` +
        `${discrepancy.status}${discrepancy.resolution === null ? '' : ` (${discrepancy.resolution})`}` +
        (discrepancy.resolvedBy === null ? '' : ` by ${discrepancy.resolvedBy}`),
      ...(headers['confirmation-required'] === 'true'
        ? [
            'the adjustment is above the threshold: nothing is posted until another person confirms it (discrepancy confirm-adjustment)',
          ]
        : []),
      headers['idempotent-replayed'] === 'true'
        ? `already done with key ${idempotencyKey}: nothing new was done`
        : `key ${idempotencyKey}`,
      ...(headers['released-to-clearing'] === 'true' ? ['our transaction was released to clearing'] : []),
    ].join('\n'),
  );
  return discrepancy;
}

/** A note or reason of 1 to 500 characters, as the API takes it. */
function textOption(name: string, value: string | undefined): string {
  if (value === undefined || value.trim() === '' || value.length > 500)
    throw new UsageError(`${name} must say why, in 1 to 500 characters`);
  return value;
}

export function formatRun(result: MatchRunResult): string {
  const statement =
    result.statementFileId === null
      ? 'no statement imported yet'
      : `statement file #${result.statementFileId}`;
  const rows = MATCH_CLASSES.map((c) => ({ class: c, items: result.counts[c] }));
  const { opened, reclassified, resolvedByRematch } = result.discrepancies;
  return [
    `match run #${result.matchRunId}: ${result.channel} ${result.businessDate} against ${statement} — ${result.internalItems} internal items, ${result.statementLines} statement lines, ${result.elapsedMs} ms`,
    table(rows),
    `released to clearing: ${result.emitted}; discrepancies opened ${opened}, reclassified ${reclassified}, resolved by re-match ${resolvedByRematch}`,
  ].join('\n');
}

export interface ReconReportOptions extends OutputOptions {
  channel?: string;
  date: string;
  /** Writes the discrepancy detail as CSV (UTF-8 with BOM) to this path. */
  csv?: string;
}

/** `recon report`: the discrepancy report (差错报表) of a business date; optionally its CSV. */
export async function reconReportCommand(options: ReconReportOptions): Promise<ReconReport> {
  return withSchemaDataSource(RECONCILIATION_SCHEMA, reconciliationMigrations, async (dataSource) => {
    let report: ReconReport;
    try {
      report = await new DiscrepancyService(dataSource, new Ledger()).report({
        businessDate: options.date,
        ...(options.channel === undefined ? {} : { channel: options.channel }),
      });
    } catch (error) {
      if (error instanceof DiscrepancyError) throw new UsageError(`${error.code}: ${error.message}`);
      throw error;
    }
    if (options.csv !== undefined) await writeCsv(options.csv, report);
    emit(options, report, () => formatReport(report, options.csv));
    return report;
  });
}

async function writeCsv(file: string, report: ReconReport): Promise<void> {
  const out = createWriteStream(file);
  for (const line of discrepanciesToCsv(report.discrepancies, { bom: true })) {
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

export function formatReport(report: ReconReport, csvFile?: string): string {
  const scope = report.channel ?? 'all channels';
  const runs =
    report.runs.length === 0
      ? `no match run for ${scope} on ${report.businessDate}`
      : table(
          report.runs.map((r) => ({
            channel: r.channel,
            run: `#${r.matchRunId}`,
            ...Object.fromEntries(MATCH_CLASSES.map((c) => [c, r.counts[c] ?? 0])),
          })),
        );
  const summary = table(
    report.summary.map((s) => ({
      channel: s.channel,
      class: s.class,
      open: s.open,
      resolved: s.resolved,
      currency: s.currency,
      'Σ ours': s.internalAmount,
      'Σ channel': s.channelAmount,
    })),
  );
  const detail = table(
    report.discrepancies.map((d) => ({
      id: d.id,
      channel: d.channel,
      class: d.class,
      status: d.resolution === null ? d.status : `${d.status} (${d.resolution})`,
      order: d.refundNo === null ? d.orderNo : `${d.orderNo}/${d.refundNo}`,
      ours: d.internalAmount ?? '',
      'channel amount': d.channelAmount ?? '',
      reason: d.reason,
    })),
  );
  return [
    `reconciliation report ${report.businessDate} (${scope})`,
    '',
    'latest match runs',
    runs,
    '',
    'discrepancies (差错) by class',
    summary,
    '',
    `detail (${report.discrepancies.length})`,
    detail,
    ...(report.rejectedLines.length === 0
      ? []
      : [
          '',
          `statement lines set aside at import, not matched (${report.rejectedLines.length})`,
          table(
            report.rejectedLines.map((r) => ({
              channel: r.channel,
              file: `#${r.statementFileId}`,
              line: r.lineNo,
              field: r.field ?? '',
              reason: r.reason,
            })),
          ),
        ]),
    ...(csvFile === undefined ? [] : ['', `CSV written to ${csvFile}`]),
  ].join('\n');
}
