import {
  Access,
  bodyField,
  ApiErrors,
  Caller,
  invalidRequestExample,
  ROLE,
  schemaValidationPipe,
  type Principal,
} from '@app/http';
import { Body, Controller, Post, UsePipes } from '@nestjs/common';
import { ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import { MatchRunService, type MatchRunResult } from '../matching/match-run.service.js';
import { MatchRunRequestSchema, MatchRunResultSchema } from './api-schemas.js';

@ApiTags('match runs')
@Controller('match-runs')
@UsePipes(schemaValidationPipe)
export class MatchRunController {
  constructor(private readonly matchRuns: MatchRunService) {}

  @Post()
  @Access.command(
    ROLE.runMatch,
    'MATCH_RUN',
    (r) => `match run ${bodyField(r, 'channel')} ${bodyField(r, 'businessDate')}`,
  )
  @ApiOperation({
    summary: 'Run the reconciliation (对账) of a channel’s business date',
    description:
      'Classifies the day’s internal transactions, the items the previous day left pending and the lines ' +
      'of the latest statement file; records every item, opens or updates discrepancies and releases ' +
      'matched items to clearing once. A re-run writes a new run with the same classification.',
  })
  @ApiCreatedResponse({
    description: 'The run and its counts per class',
    standardSchema: MatchRunResultSchema,
  })
  @ApiErrors({
    status: 400,
    description: 'channel or businessDate is missing or invalid',
    examples: [invalidRequestExample('businessDate', 'must be a real calendar date YYYY-MM-DD')],
  })
  run(
    @Body({ schema: MatchRunRequestSchema }) request: z.output<typeof MatchRunRequestSchema>,
    @Caller() caller: Principal,
  ): Promise<MatchRunResult> {
    return this.matchRuns.run(request.channel, request.businessDate, caller.id);
  }
}
