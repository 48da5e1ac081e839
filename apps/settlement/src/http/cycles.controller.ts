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
import { Body, Controller, HttpCode, Post, UsePipes } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import { CycleCloseService, type CloseResult } from '../settlement/cycle-close.service.js';
import { CloseRequestSchema } from './api-schemas.js';

@ApiTags('cycles')
@Controller('cycles')
@UsePipes(schemaValidationPipe)
export class CyclesController {
  constructor(private readonly close: CycleCloseService) {}

  @Post('close')
  @Access.command(ROLE.closeCycle, 'CYCLE_CLOSE', (r) => `close ${bodyField(r, 'date')}`)
  @HttpCode(200)
  @ApiOperation({
    summary: 'Close every cycle that closes on a date (结算日终)',
    description:
      'Creates the settlement records (PENDING_APPROVAL) with their ledger entries; closing a date again creates nothing.',
  })
  @ApiOkResponse({ description: 'What the close created, with totals per currency' })
  @ApiErrors(
    {
      status: 400,
      description: 'The body is not { date }',
      examples: [invalidRequestExample('date', 'must be a real calendar date YYYY-MM-DD')],
    },
    {
      status: 409,
      description: 'The date is being closed by another run',
      examples: [
        {
          error: 'SETTLEMENT.CLOSE_BUSY',
          message: '2026-09-28 is being closed by another run; try again when it ends',
        },
      ],
    },
  )
  async closeDate(
    @Body({ schema: CloseRequestSchema }) body: z.output<typeof CloseRequestSchema>,
    @Caller() caller: Principal,
  ): Promise<CloseResult> {
    // The closer is the maker of the records the close creates: they may not approve them.
    return this.close.close(body.date, { by: caller.id });
  }
}
