import { Access, ApiErrors, invalidRequestExample, schemaValidationPipe } from '@app/http';
import { Controller, Get, Query, StreamableFile, UsePipes } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Readable } from 'node:stream';
import type { z } from 'zod';
import { discrepanciesToCsv } from '../discrepancy/discrepancy-csv.js';
import { DiscrepancyService } from '../discrepancy/discrepancy.service.js';
import type { ReconReport } from '../discrepancy/discrepancy.types.js';
import { ReconReportSchema, ReportQuerySchema } from './api-schemas.js';

type ReportQuery = z.output<typeof ReportQuerySchema>;

const INVALID_QUERY = {
  status: 400,
  description: 'businessDate is missing or a parameter is invalid',
  examples: [invalidRequestExample('businessDate', 'must be a real calendar date YYYY-MM-DD')],
};

@ApiTags('reports')
@Controller('reports')
@Access.read()
@UsePipes(schemaValidationPipe)
export class ReportController {
  constructor(private readonly discrepancies: DiscrepancyService) {}

  @Get('reconciliation')
  @ApiOperation({
    summary: 'The discrepancy report (差错报表) of a business date',
    description:
      'The latest match run of each channel, a summary by channel and class, and every discrepancy.',
  })
  @ApiOkResponse({ description: 'The report', standardSchema: ReconReportSchema })
  @ApiErrors(INVALID_QUERY)
  report(@Query({ schema: ReportQuerySchema }) query: ReportQuery): Promise<ReconReport> {
    return this.discrepancies.report(query);
  }

  @Get('reconciliation.csv')
  @ApiOperation({
    summary: 'The report’s discrepancies as CSV',
    description:
      'UTF-8 with a BOM (for Excel in zh-CN), CRLF line ends, one header line then one line per discrepancy; ' +
      'cells that a spreadsheet would evaluate as a formula are escaped.',
  })
  @ApiOkResponse({
    description: 'Attachment discrepancies-<channel|all>-<businessDate>.csv',
    content: { 'text/csv': { schema: { type: 'string' } } },
  })
  @ApiErrors(INVALID_QUERY)
  async csv(@Query({ schema: ReportQuerySchema }) query: ReportQuery): Promise<StreamableFile> {
    const report = await this.discrepancies.report(query);
    return new StreamableFile(Readable.from(discrepanciesToCsv(report.discrepancies, { bom: true })), {
      type: 'text/csv; charset=utf-8',
      disposition: `attachment; filename="discrepancies-${query.channel ?? 'all'}-${query.businessDate}.csv"`,
    });
  }
}
