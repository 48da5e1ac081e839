import {
  Access,
  ApiErrors,
  assertActingAs,
  Caller,
  invalidRequestExample,
  parseInput,
  ROLE,
  schemaValidationPipe,
  type Principal,
} from '@app/http';
import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Query,
  Res,
  UsePipes,
} from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import { DiscrepancyService } from '../discrepancy/discrepancy.service.js';
import { DiscrepancyError, type Discrepancy } from '../discrepancy/discrepancy.types.js';
import {
  DiscrepancyIdSchema,
  DiscrepancyListQuerySchema,
  DiscrepancySchema,
  IDEMPOTENCY_KEY_HEADER,
  IdempotencyKeySchema,
  ResolveDiscrepancyRequestSchema,
} from './api-schemas.js';

const NOT_FOUND = {
  status: 404,
  description: 'No discrepancy with this id',
  examples: [{ error: 'DISCREPANCY.NOT_FOUND', message: 'no discrepancy 7' }],
};

/** Set on a resolve response: true when the Idempotency-Key had already resolved it (nothing new was done). */
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';
/** Set on a resolve response: true when the resolution released our transaction to clearing. */
export const RELEASED_TO_CLEARING_HEADER = 'Released-To-Clearing';

@ApiTags('discrepancies')
@Controller('discrepancies')
@UsePipes(schemaValidationPipe)
export class DiscrepancyController {
  constructor(private readonly discrepancies: DiscrepancyService) {}

  @Get()
  @Access.read()
  @ApiOperation({
    summary: 'List discrepancies (差错)',
    description:
      'Filtered by any of the parameters, ordered by id; page with afterId = the last id of a page.',
  })
  @ApiOkResponse({ description: 'The discrepancies', standardSchema: DiscrepancySchema, isArray: true })
  @ApiErrors({
    status: 400,
    description: 'A parameter is invalid',
    examples: [invalidRequestExample('status', 'Invalid option: expected one of "OPEN"|"RESOLVED"')],
  })
  list(
    @Query({ schema: DiscrepancyListQuerySchema }) query: z.output<typeof DiscrepancyListQuerySchema>,
  ): Promise<Discrepancy[]> {
    return this.discrepancies.list(query);
  }

  @Get(':id')
  @Access.read()
  @ApiOperation({ summary: 'One discrepancy' })
  @ApiOkResponse({ description: 'The discrepancy', standardSchema: DiscrepancySchema })
  @ApiErrors(
    {
      status: 400,
      description: 'The id is not an id',
      examples: [invalidRequestExample('id', 'must be a positive integer id')],
    },
    NOT_FOUND,
  )
  async get(@Param('id', { schema: DiscrepancyIdSchema }) id: string): Promise<Discrepancy> {
    const discrepancy = await this.discrepancies.get(id);
    if (discrepancy === null) throw new DiscrepancyError('DISCREPANCY.NOT_FOUND', `no discrepancy ${id}`);
    return discrepancy;
  }

  @Post(':id/resolve')
  @Access.command(ROLE.resolveDiscrepancy, 'DISCREPANCY_RESOLVE')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Resolve an open discrepancy: ADJUST or WRITE_OFF',
    description:
      'Idempotent by the Idempotency-Key header: a replay with the same key answers the first result ' +
      `(with ${IDEMPOTENT_REPLAYED_HEADER}: true); another key for a resolved discrepancy is refused.`,
  })
  @ApiHeader({
    name: IDEMPOTENCY_KEY_HEADER,
    required: true,
    description: 'A key of the client’s choosing, 1 to 200 characters, unique per intended resolution',
    schema: { type: 'string', minLength: 1, maxLength: 200 },
  })
  @ApiOkResponse({
    description: 'The resolved discrepancy',
    standardSchema: DiscrepancySchema,
    headers: {
      [IDEMPOTENT_REPLAYED_HEADER]: {
        description: 'true when the key had already resolved it and nothing new was done',
        schema: { type: 'boolean' },
      },
      [RELEASED_TO_CLEARING_HEADER]: {
        description: 'true when the resolution released our transaction to clearing',
        schema: { type: 'boolean' },
      },
    },
  })
  @ApiErrors(
    {
      status: 400,
      description: 'The Idempotency-Key header is missing, or the body is invalid',
      examples: [invalidRequestExample(IDEMPOTENCY_KEY_HEADER, 'is required')],
    },
    NOT_FOUND,
    {
      status: 409,
      description: 'Already resolved, or the key was used for another resolution',
      examples: [
        {
          error: 'DISCREPANCY.ALREADY_RESOLVED',
          message: 'discrepancy 7 was already resolved (WRITE_OFF) by finance.li at 2026-11-23T02:00:00Z',
        },
        {
          error: 'DISCREPANCY.IDEMPOTENCY_CONFLICT',
          message:
            'idempotency key "k-1" already resolved discrepancy 7 as WRITE_OFF; a different request needs a new key',
        },
      ],
    },
    {
      status: 422,
      description: 'The action cannot apply to this discrepancy',
      examples: [
        {
          error: 'DISCREPANCY.INVALID_REQUEST',
          message: 'discrepancy 7: our transaction e-1 has no T-day journal entry (…) to reverse',
        },
      ],
    },
  )
  async resolve(
    @Param('id', { schema: DiscrepancyIdSchema }) id: string,
    @Headers(IDEMPOTENCY_KEY_HEADER.toLowerCase()) idempotencyKeyHeader: string | undefined,
    @Body({ schema: ResolveDiscrepancyRequestSchema })
    request: z.output<typeof ResolveDiscrepancyRequestSchema>,
    @Res({ passthrough: true }) response: { setHeader(name: string, value: string): void },
    @Caller() caller: Principal,
  ): Promise<Discrepancy> {
    assertActingAs(caller, request.actor, 'actor');
    const actor = caller.id;
    const idempotencyKey = parseInput(
      IdempotencyKeySchema,
      idempotencyKeyHeader ?? '',
      IDEMPOTENCY_KEY_HEADER,
    );
    const result = await this.discrepancies.resolve({ discrepancyId: id, ...request, actor, idempotencyKey });
    response.setHeader(IDEMPOTENT_REPLAYED_HEADER, String(result.replayed));
    response.setHeader(RELEASED_TO_CLEARING_HEADER, String(result.releasedToClearing));
    return result.discrepancy;
  }
}
