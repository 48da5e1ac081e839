import {
  Access,
  ApiErrors,
  BusinessDateSchema,
  Caller,
  invalidRequestExample,
  merchantScopeOf,
  schemaValidationPipe,
  type Principal,
} from '@app/http';
import { Controller, Get, Inject, Param, Query, StreamableFile, UsePipes } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Readable } from 'node:stream';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { SettlementApprovalError } from '../approval/approval-error.js';
import { dailySettlementSummary, type DailySettlementSummary } from '../statement/daily-summary.js';
import {
  findStatementRecord,
  merchantStatementCsv,
  statementItems,
  verifyStatementTotals,
} from '../statement/merchant-statement.js';
import { RecordIdParamsSchema } from './api-schemas.js';
import { SETTLEMENT_DB } from './tokens.js';

const SummaryQuerySchema = z.strictObject({
  date: BusinessDateSchema.meta({ description: 'The close date' }),
});

@ApiTags('statements')
@Controller()
@UsePipes(schemaValidationPipe)
export class StatementController {
  constructor(@Inject(SETTLEMENT_DB) private readonly db: DataSource) {}

  @Get('settlement-records/:id/statement.csv')
  @Access.read({ merchantScoped: true })
  @ApiOperation({
    summary: 'The merchant statement of a settlement record (商户结算对账单) as CSV',
    description:
      'UTF-8 with a BOM, CRLF; one line per cleared item by business date then transaction id, then the ' +
      'totals (ITEMS_TOTAL … PAYABLE_AMOUNT), which equal the record. Cells a spreadsheet would evaluate are escaped.',
  })
  @ApiOkResponse({
    description: 'Attachment settlement-<id>.csv',
    content: { 'text/csv': { schema: { type: 'string' } } },
  })
  @ApiErrors({
    status: 404,
    description: 'No such record',
    examples: [{ error: 'SETTLEMENT.NOT_FOUND', message: 'no settlement record 42' }],
  })
  @ApiErrors({
    status: 500,
    description:
      'The record is not the sum of its items (an integrity failure to investigate); no CSV is sent',
    examples: [
      {
        error: 'SETTLEMENT.STATEMENT_INCONSISTENT',
        message: 'settlement record 42: its 3 item(s) net 60.00, the record says 3 item(s) net 61.00',
      },
    ],
  })
  async statement(
    @Param({ schema: RecordIdParamsSchema }) params: z.output<typeof RecordIdParamsSchema>,
    @Caller() caller: Principal,
  ): Promise<StreamableFile> {
    const record = await findStatementRecord(this.db, params.id);
    const scope = merchantScopeOf(caller);
    // A merchant's statement is its own only: another merchant's answers as if it did not exist.
    if (!record || (scope !== null && record.merchantId !== scope))
      throw new SettlementApprovalError('NOT_FOUND', `no settlement record ${params.id}`);
    // Before the 200 and the first line: once streaming has begun, an error can only cut the file.
    await verifyStatementTotals(this.db, record);
    return new StreamableFile(Readable.from(merchantStatementCsv(statementItems(this.db, record), record)), {
      type: 'text/csv; charset=utf-8',
      disposition: `attachment; filename="settlement-${record.id}.csv"`,
    });
  }

  @Get('settlement-summary')
  @Access.read()
  @ApiOperation({
    summary: 'The daily settlement summary (结算日报) of a close date',
    description:
      'Records by status and currency (count, Σ amount, Σ carry-forward, Σ reserve held/released) and ' +
      'the payouts of those records by status.',
  })
  @ApiOkResponse({ description: 'The summary' })
  @ApiErrors({
    status: 400,
    description: 'No date, or not a calendar date',
    examples: [invalidRequestExample('date', 'must be a real calendar date YYYY-MM-DD')],
  })
  summary(
    @Query({ schema: SummaryQuerySchema }) query: z.output<typeof SummaryQuerySchema>,
  ): Promise<DailySettlementSummary> {
    return dailySettlementSummary(this.db, query.date);
  }
}
