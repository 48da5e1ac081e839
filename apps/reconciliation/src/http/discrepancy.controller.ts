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
import {
  DiscrepancyError,
  type Discrepancy,
  type ResolveDiscrepancyResult,
} from '../discrepancy/discrepancy.types.js';
import {
  ConfirmAdjustmentRequestSchema,
  DiscrepancyIdSchema,
  DiscrepancyListQuerySchema,
  DiscrepancySchema,
  IDEMPOTENCY_KEY_HEADER,
  IdempotencyKeySchema,
  RejectAdjustmentRequestSchema,
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
/**
 * Set on a resolve response: true when the ADJUST was above the threshold, so nothing was posted
 * and the discrepancy waits (OPEN, pendingAdjustment) for a second person to confirm it.
 */
export const CONFIRMATION_REQUIRED_HEADER = 'Confirmation-Required';

const KEY_HEADER_DOC = {
  name: IDEMPOTENCY_KEY_HEADER,
  required: true,
  description: 'A key of the client’s choosing, 1 to 200 characters, unique per intended command',
  schema: { type: 'string', minLength: 1, maxLength: 200 },
} as const;

const NO_PENDING = {
  error: 'DISCREPANCY.NO_PENDING_ADJUSTMENT',
  message: 'discrepancy 7 has no adjustment waiting for confirmation; nothing to confirm',
};

type ResponseHeaders = { setHeader(name: string, value: string): void };

function parseKey(header: string | undefined): string {
  return parseInput(IdempotencyKeySchema, header ?? '', IDEMPOTENCY_KEY_HEADER);
}

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
      `(with ${IDEMPOTENT_REPLAYED_HEADER}: true); another key for a resolved discrepancy is refused. ` +
      'An ADJUST whose amount is above the currency’s threshold (reconciliation.adjustment_policy, CNY ' +
      `10,000.00) posts nothing: it answers ${CONFIRMATION_REQUIRED_HEADER}: true and the discrepancy, still ` +
      'OPEN, with its pendingAdjustment, which another person confirms (POST /discrepancies/{id}/confirm-adjustment) ' +
      'or rejects (POST /discrepancies/{id}/reject-adjustment).',
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
      [CONFIRMATION_REQUIRED_HEADER]: {
        description: 'true when the adjustment is above the threshold and waits for a second person',
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
            'idempotency key "k-1" was already used for WRITE_OFF of discrepancy 7; a different request needs a new key',
        },
        {
          error: 'DISCREPANCY.ADJUSTMENT_PENDING',
          message:
            'discrepancy 7 has an adjustment of 12000.00 CNY proposed by finance.li waiting for a second person: confirm or reject it first',
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
    @Res({ passthrough: true }) response: ResponseHeaders,
    @Caller() caller: Principal,
  ): Promise<Discrepancy> {
    assertActingAs(caller, request.actor, 'actor');
    const actor = caller.id;
    const idempotencyKey = parseKey(idempotencyKeyHeader);
    const result = await this.discrepancies.resolve({ discrepancyId: id, ...request, actor, idempotencyKey });
    return answer(response, result);
  }

  @Post(':id/confirm-adjustment')
  @Access.command(ROLE.resolveDiscrepancy, 'DISCREPANCY_CONFIRM_ADJUSTMENT')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Confirm another person’s pending adjustment: post it (双人复核)',
    description:
      'Posts exactly the pending adjustment (the journal entry, and the release to clearing where it applies) in ' +
      'one transaction and resolves the discrepancy as ADJUSTMENT. The person who proposed it cannot confirm it ' +
      '(403 DISCREPANCY.SELF_CONFIRMATION, recorded in the discrepancy history); concurrent confirmations end in ' +
      `one. Idempotent by the Idempotency-Key header (a replay answers ${IDEMPOTENT_REPLAYED_HEADER}: true).`,
  })
  @ApiHeader(KEY_HEADER_DOC)
  @ApiOkResponse({ description: 'The resolved discrepancy', standardSchema: DiscrepancySchema })
  @ApiErrors(
    {
      status: 400,
      description: 'The Idempotency-Key header is missing, or the body is invalid',
      examples: [invalidRequestExample(IDEMPOTENCY_KEY_HEADER, 'is required')],
    },
    {
      status: 403,
      description: 'The caller proposed this adjustment (or lacks recon.resolve)',
      examples: [
        {
          error: 'DISCREPANCY.SELF_CONFIRMATION',
          message:
            'finance.li proposed this adjustment and cannot confirm it: another person holding recon.resolve must (or reject it to withdraw)',
        },
      ],
    },
    NOT_FOUND,
    {
      status: 409,
      description:
        'Nothing pending, already resolved, changed since proposed, or the key was used for another command',
      examples: [
        NO_PENDING,
        {
          error: 'DISCREPANCY.ADJUSTMENT_STALE',
          message:
            'discrepancy 7 changed since finance.li proposed the adjustment (amount 12000.00 → 11000.00 CNY); reject it and propose again',
        },
      ],
    },
  )
  async confirmAdjustment(
    @Param('id', { schema: DiscrepancyIdSchema }) id: string,
    @Headers(IDEMPOTENCY_KEY_HEADER.toLowerCase()) idempotencyKeyHeader: string | undefined,
    @Body({ schema: ConfirmAdjustmentRequestSchema })
    request: z.output<typeof ConfirmAdjustmentRequestSchema>,
    @Res({ passthrough: true }) response: ResponseHeaders,
    @Caller() caller: Principal,
  ): Promise<Discrepancy> {
    const idempotencyKey = parseKey(idempotencyKeyHeader);
    const result = await this.discrepancies.confirmAdjustment({
      discrepancyId: id,
      actor: caller.id,
      ...(request.note === undefined ? {} : { note: request.note }),
      idempotencyKey,
    });
    return answer(response, result);
  }

  @Post(':id/reject-adjustment')
  @Access.command(ROLE.resolveDiscrepancy, 'DISCREPANCY_REJECT_ADJUSTMENT')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Reject a pending adjustment (the proposer may withdraw their own)',
    description:
      'Nothing is posted; the discrepancy is plain OPEN again and can be adjusted or written off anew. ' +
      'Idempotent by the Idempotency-Key header.',
  })
  @ApiHeader(KEY_HEADER_DOC)
  @ApiOkResponse({ description: 'The discrepancy, OPEN again', standardSchema: DiscrepancySchema })
  @ApiErrors(
    {
      status: 400,
      description: 'The Idempotency-Key header is missing, or the reason is missing or blank',
      examples: [invalidRequestExample('reason', 'must say why')],
    },
    NOT_FOUND,
    {
      status: 409,
      description: 'Nothing pending, already resolved, or the key was used for another command',
      examples: [NO_PENDING],
    },
  )
  async rejectAdjustment(
    @Param('id', { schema: DiscrepancyIdSchema }) id: string,
    @Headers(IDEMPOTENCY_KEY_HEADER.toLowerCase()) idempotencyKeyHeader: string | undefined,
    @Body({ schema: RejectAdjustmentRequestSchema }) request: z.output<typeof RejectAdjustmentRequestSchema>,
    @Res({ passthrough: true }) response: ResponseHeaders,
    @Caller() caller: Principal,
  ): Promise<Discrepancy> {
    const idempotencyKey = parseKey(idempotencyKeyHeader);
    const result = await this.discrepancies.rejectAdjustment({
      discrepancyId: id,
      actor: caller.id,
      note: request.reason,
      idempotencyKey,
    });
    return answer(response, result);
  }
}

function answer(response: ResponseHeaders, result: ResolveDiscrepancyResult): Discrepancy {
  response.setHeader(IDEMPOTENT_REPLAYED_HEADER, String(result.replayed));
  response.setHeader(RELEASED_TO_CLEARING_HEADER, String(result.releasedToClearing));
  response.setHeader(CONFIRMATION_REQUIRED_HEADER, String(result.confirmationRequired));
  return result.discrepancy;
}
