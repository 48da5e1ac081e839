import { access } from 'node:fs/promises';
import {
  RECONCILIATION_SCHEMA,
  reconciliationMigrations,
} from '../../../reconciliation/src/migrations/index.js';
import {
  StatementParseError,
  type StatementFormat,
} from '../../../reconciliation/src/statement/parsers/index.js';
import {
  StatementImportError,
  StatementImportService,
  type StatementImportResult,
} from '../../../reconciliation/src/statement/statement-import.service.js';
import { emit, UsageError, type OutputOptions } from '../output.js';
import { formatRun } from './recon.command.js';
import { withSchemaDataSource } from '../schema-data-source.js';

export const STATEMENT_FORMATS: readonly StatementFormat[] = ['generic', 'wechat-all', 'alipay'];

export interface StatementImportOptions extends OutputOptions {
  channel: string;
  format: string;
  file: string;
  date?: string;
  /** Run the day's match in the same pass. */
  match?: boolean;
}

/**
 * `statement import`: one channel statement file into reconciliation, all or nothing. A bad file
 * (malformed line, control-total mismatch, encoding), a file already imported or a date problem is
 * a UsageError (exit 2) carrying the parser's message: line number and field.
 */
export async function statementImportCommand(
  options: StatementImportOptions,
): Promise<StatementImportResult> {
  if (!(STATEMENT_FORMATS as readonly string[]).includes(options.format))
    throw new UsageError(`--format must be one of ${STATEMENT_FORMATS.join(', ')}, got "${options.format}"`);
  try {
    await access(options.file);
  } catch {
    throw new UsageError(`--file ${options.file}: cannot read the file`);
  }
  return withSchemaDataSource(
    RECONCILIATION_SCHEMA,
    reconciliationMigrations,
    async (dataSource) => {
      let result: StatementImportResult;
      try {
        result = await new StatementImportService(dataSource).import({
          channel: options.channel,
          format: options.format as StatementFormat,
          filePath: options.file,
          ...(options.date === undefined ? {} : { businessDate: options.date }),
          silent: options.json === true,
          match: options.match === true,
        });
      } catch (error) {
        if (error instanceof StatementParseError || error instanceof StatementImportError)
          throw new UsageError(`${error.code}: ${error.message} (nothing imported)`);
        throw error;
      }
      emit(options, result, () => {
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
      });
      return result;
    },
    1,
  );
}
