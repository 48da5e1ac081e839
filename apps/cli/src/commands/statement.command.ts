import { access } from 'node:fs/promises';
import type { StatementFormat, StatementImportResult } from '../../../reconciliation/src/index.js';
import { ApiClient, idempotencyKeyOf, uploadName, type ApiCommandOptions } from '../api-client.js';
import { emit, UsageError, type OutputOptions } from '../output.js';
import { formatRun } from './recon.command.js';

export const STATEMENT_FORMATS: readonly StatementFormat[] = ['generic', 'wechat-all', 'alipay'];

export interface StatementImportOptions extends OutputOptions, ApiCommandOptions {
  channel: string;
  format: string;
  file: string;
  date?: string;
  /** Run the day's match in the same pass. */
  match?: boolean;
}

/**
 * `statement import`: one channel statement file into reconciliation, all or nothing, through the
 * reconciliation service's `POST /statements` (the file streamed as multipart/form-data, never read
 * whole into memory). A bad file (malformed line, control-total mismatch, encoding), a file already
 * imported or a date problem is refused by the service with its code and message (exit 2).
 */
export async function statementImportCommand(
  options: StatementImportOptions,
  client?: ApiClient,
): Promise<StatementImportResult> {
  if (!(STATEMENT_FORMATS as readonly string[]).includes(options.format))
    throw new UsageError(`--format must be one of ${STATEMENT_FORMATS.join(', ')}, got "${options.format}"`);
  try {
    await access(options.file);
  } catch {
    throw new UsageError(`--file ${options.file}: cannot read the file`);
  }
  const api = client ?? (await ApiClient.for('reconciliation', options));
  const idempotencyKey = idempotencyKeyOf(options, 'statement-import');
  // The fields before the file: the service checks them, and the caller, before reading the file.
  const { body: result } = await api.multipart<StatementImportResult>(
    '/statements',
    [
      { name: 'channel', value: options.channel },
      { name: 'format', value: options.format },
      ...(options.date === undefined ? [] : [{ name: 'businessDate', value: options.date }]),
      ...(options.match === true ? [{ name: 'match', value: 'true' }] : []),
      { name: 'file', file: options.file, fileName: uploadName(options.file), contentType: 'text/csv' },
    ],
    { 'idempotency-key': idempotencyKey },
  );
  emit(options, result, () => formatImport(result));
  return result;
}

export function formatImport(result: StatementImportResult): string {
  const totals = result.totals
    .map(
      (t) =>
        `${t.currency} ${t.paymentCount} payments ${t.paymentAmount}, ${t.refundCount} refunds ${t.refundAmount}, fee ${t.fee}`,
    )
    .join('; ');
  const setAside =
    result.rejectedLines === 0
      ? ''
      : `\n${result.rejectedLines} malformed line(s) set aside (see recon report)` +
        (result.controlsUnverified === null ? '' : `; ${result.controlsUnverified}`);
  const imported = `imported statement file #${result.statementFileId}: ${result.channel} ${result.businessDate} (${result.format}), ${result.lines} lines [${totals}] in ${result.elapsedMs} ms (${result.linesPerSecond} lines/s)${setAside}`;
  return result.matchRun === null ? imported : `${imported}\n${formatRun(result.matchRun)}`;
}
