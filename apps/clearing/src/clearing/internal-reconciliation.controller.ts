import { Access, ApiErrors, invalidRequestExample, schemaValidationPipe } from '@app/http';
import { Controller, Get, Query, UsePipes } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { DateTime } from 'luxon';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { clearingSummary, type ClearingSummary } from './clearing-summary.js';
import { internalReconciliation, type InternalReconciliationReport } from './internal-reconciliation.js';

export const BusinessDateQuerySchema = z.strictObject({
  businessDate: z
    .string()
    .refine((value) => /^\d{4}-\d{2}-\d{2}$/.test(value) && DateTime.fromISO(value).isValid, {
      message: "must be a date 'YYYY-MM-DD'",
    })
    .describe("The business date (账期日), 'YYYY-MM-DD'."),
});

type BusinessDateQuery = z.output<typeof BusinessDateQuerySchema>;

const badDate = {
  status: 400,
  description: 'businessDate is missing or not a date',
  examples: [invalidRequestExample('businessDate', "must be a date 'YYYY-MM-DD'")],
};

/** Read-only views of a day's clearing: its result per merchant, and its internal reconciliation. */
@ApiTags('clearing')
@Controller()
@Access.read()
@UsePipes(schemaValidationPipe)
export class InternalReconciliationController {
  constructor(private readonly dataSource: DataSource) {}

  @Get('internal-reconciliation')
  @ApiOperation({
    summary: 'Internal reconciliation (内部对账) of a business date',
    description:
      'Cleared items against the ledger: every cleared item has exactly its journal entry (key ' +
      'clearing:<transaction>, postings equal to its split), every clearing entry of the date its cleared ' +
      'item, and per merchant Σ net = 2203, Σ fee = 6001, Σ pending = 2202; per channel Σ channel cost = ' +
      '6401 and 1122. `ok` is false and `differences` lists each one when anything disagrees.',
  })
  @ApiOkResponse({ description: 'The report, with every difference (up to 1,000 listed)' })
  @ApiErrors(badDate)
  check(
    @Query({ schema: BusinessDateQuerySchema }) query: BusinessDateQuery,
  ): Promise<InternalReconciliationReport> {
    return internalReconciliation(this.dataSource, query.businessDate);
  }

  @Get('cleared-items/summary')
  @ApiOperation({
    summary: 'The clearing result (清分结果) of a business date per merchant',
    description:
      'Items, gross, platform fee, channel cost, coupon funding and net per merchant and currency; signed ' +
      'sums, so refunds are already deducted.',
  })
  @ApiOkResponse({ description: 'Per merchant totals' })
  @ApiErrors(badDate)
  summary(@Query({ schema: BusinessDateQuerySchema }) query: BusinessDateQuery): Promise<ClearingSummary> {
    return clearingSummary(this.dataSource, query.businessDate);
  }
}
