import {
  Access,
  ApiErrors,
  assertActingAs,
  Caller,
  invalidRequestExample,
  merchantScopeOf,
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
  Inject,
  Param,
  Post,
  Query,
  UsePipes,
} from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { DataSource } from 'typeorm';
import type { z } from 'zod';
import { SettlementApprovalError } from '../approval/approval-error.js';
import {
  getApprovalRecord,
  listApprovalRecords,
  type ApprovalRecordDetail,
  type ApprovalRecordView,
} from '../approval/approval-records.js';
import { ApprovalService } from '../approval/approval.service.js';
import { PayoutRetryService } from '../payout/payout-retry.js';
import {
  ApproveRequestSchema,
  IdempotencyKeySchema,
  RecordIdParamsSchema,
  RecordListQuerySchema,
  RejectRequestSchema,
  RetryPayoutRequestSchema,
} from './api-schemas.js';
import { SETTLEMENT_DB } from './tokens.js';

const IDEMPOTENCY_HEADER = {
  name: 'Idempotency-Key',
  required: true,
  description:
    'One key per command: a replay returns the first answer; the key with another request is a 409',
};

const COMMAND_ERRORS = [
  {
    status: 403,
    description: 'Maker-checker: the caller submitted or adjusted the record, or already approved it',
    examples: [
      {
        error: 'SETTLEMENT.SELF_APPROVAL',
        message:
          'system:cycle-close submitted this settlement record and cannot approve it (maker-checker: another person must)',
      },
    ],
  },
  {
    status: 404,
    description: 'No such record',
    examples: [{ error: 'SETTLEMENT.NOT_FOUND', message: 'no settlement record 42' }],
  },
  {
    status: 409,
    description:
      'The record is no longer pending, moved on since expectedVersion, or the key was used for another request',
    examples: [
      {
        error: 'SETTLEMENT.NOT_PENDING',
        message:
          'cannot approve: the settlement record is REJECTED, a final state; only PENDING_APPROVAL can be',
      },
    ],
  },
];

@ApiTags('settlement records')
@Controller('settlement-records')
@UsePipes(schemaValidationPipe)
export class SettlementRecordsController {
  constructor(
    private readonly approvals: ApprovalService,
    private readonly payoutRetries: PayoutRetryService,
    @Inject(SETTLEMENT_DB) private readonly db: DataSource,
  ) {}

  @Get()
  @Access.read({ merchantScoped: true })
  @ApiOperation({
    summary: 'Settlement records to review (结算审核)',
    description: 'By close date, merchant and status; each with its net payout, payee account and approvals.',
  })
  @ApiOkResponse({ description: 'The records, oldest close first' })
  @ApiErrors({
    status: 400,
    description: 'A parameter is invalid',
    examples: [invalidRequestExample('date', 'must be a real calendar date YYYY-MM-DD')],
  })
  async list(
    @Query({ schema: RecordListQuerySchema }) query: z.output<typeof RecordListQuerySchema>,
    @Caller() caller: Principal,
  ): Promise<ApprovalRecordView[]> {
    const scope = merchantScopeOf(caller);
    // A merchant user lists its own merchant's records only, whatever merchantId it asks for.
    if (scope !== null && query.merchantId !== undefined && query.merchantId !== scope) return [];
    return listApprovalRecords(this.db, scope === null ? query : { ...query, merchantId: scope });
  }

  @Get(':id')
  @Access.read({ merchantScoped: true })
  @ApiOperation({ summary: 'One settlement record with its cleared items and its audit trail' })
  @ApiOkResponse({ description: 'The record' })
  @ApiErrors(COMMAND_ERRORS[1]!)
  async show(
    @Param({ schema: RecordIdParamsSchema }) params: z.output<typeof RecordIdParamsSchema>,
    @Caller() caller: Principal,
  ): Promise<ApprovalRecordDetail> {
    const record = await getApprovalRecord(this.db, params.id);
    const scope = merchantScopeOf(caller);
    // Another merchant's record answers exactly like a record that does not exist.
    if (!record || (scope !== null && record.merchantId !== scope))
      throw new SettlementApprovalError('NOT_FOUND', `no settlement record ${params.id}`);
    return record;
  }

  @Post(':id/approve')
  @Access.command(ROLE.approveSettlement, 'SETTLEMENT_APPROVE')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Approve a settlement record (maker-checker)',
    description:
      'Not by its submitter or an adjuster; above the dual-approval threshold a second approver is needed, ' +
      'and the record stays PENDING_APPROVAL after the first. Concurrent commands resolve to one outcome.',
  })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiOkResponse({ description: 'The record after the approval' })
  @ApiErrors(...COMMAND_ERRORS)
  async approve(
    @Param({ schema: RecordIdParamsSchema }) params: z.output<typeof RecordIdParamsSchema>,
    @Body({ schema: ApproveRequestSchema }) body: z.output<typeof ApproveRequestSchema>,
    @Headers('idempotency-key') key: string | undefined,
    @Caller() caller: Principal,
  ): Promise<ApprovalRecordView> {
    assertActingAs(caller, body.by, 'by');
    return this.approvals.approve(params.id, {
      by: caller.id,
      idempotencyKey: parseInput(IdempotencyKeySchema, key, 'Idempotency-Key'),
      ...(body.expectedVersion === undefined ? {} : { expectedVersion: body.expectedVersion }),
    });
  }

  @Post(':id/reject')
  @Access.command(ROLE.approveSettlement, 'SETTLEMENT_REJECT')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Reject a settlement record with a reason',
    description: 'The payable amount goes back to the merchant’s settleable balance (Dr 2204 / Cr 2203).',
  })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiOkResponse({ description: 'The record after the rejection' })
  @ApiErrors(...COMMAND_ERRORS.slice(1), {
    status: 422,
    description: 'No reason, or one longer than 500 characters',
    examples: [
      { error: 'SETTLEMENT.REASON_REQUIRED', message: 'a rejection needs a reason (1 to 500 characters)' },
    ],
  })
  async reject(
    @Param({ schema: RecordIdParamsSchema }) params: z.output<typeof RecordIdParamsSchema>,
    @Body({ schema: RejectRequestSchema }) body: z.output<typeof RejectRequestSchema>,
    @Headers('idempotency-key') key: string | undefined,
    @Caller() caller: Principal,
  ): Promise<ApprovalRecordView> {
    assertActingAs(caller, body.by, 'by');
    return this.approvals.reject(params.id, {
      by: caller.id,
      reason: body.reason,
      idempotencyKey: parseInput(IdempotencyKeySchema, key, 'Idempotency-Key'),
      ...(body.expectedVersion === undefined ? {} : { expectedVersion: body.expectedVersion }),
    });
  }

  @Post(':id/retry-payout')
  @Access.command(ROLE.retryPayout, 'PAYOUT_RETRY')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Retry the payout of a PAYOUT_FAILED record (重新发起代付)',
    description:
      'After a definite failure (e.g. the account was closed and the merchant has fixed it): the funds go from ' +
      'settleable back to in transit (Dr 2203 / Cr 2204), a new attempt is sent with the current payout account ' +
      'and the record is PAYOUT_REQUESTED again. Any finance user, audited with the reason.',
  })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiOkResponse({ description: 'The record after the retry was requested' })
  @ApiErrors(
    COMMAND_ERRORS[1]!,
    {
      status: 409,
      description:
        'Not PAYOUT_FAILED, settleable no longer covers the amount, no valid payout account, or the key was used for another request',
      examples: [
        {
          error: 'SETTLEMENT.NOT_RETRYABLE',
          message:
            'settlement record 42 is PAID; only a PAYOUT_FAILED record (its funds back in settleable) can have its payout retried',
        },
      ],
    },
    {
      status: 422,
      description: 'No reason, or one longer than 500 characters',
      examples: [
        {
          error: 'SETTLEMENT.REASON_REQUIRED',
          message: 'a payout retry needs a reason (1 to 500 characters)',
        },
      ],
    },
  )
  async retryPayout(
    @Param({ schema: RecordIdParamsSchema }) params: z.output<typeof RecordIdParamsSchema>,
    @Body({ schema: RetryPayoutRequestSchema }) body: z.output<typeof RetryPayoutRequestSchema>,
    @Headers('idempotency-key') key: string | undefined,
    @Caller() caller: Principal,
  ): Promise<ApprovalRecordView> {
    assertActingAs(caller, body.by, 'by');
    return this.payoutRetries.retryPayout(params.id, {
      by: caller.id,
      reason: body.reason,
      idempotencyKey: parseInput(IdempotencyKeySchema, key, 'Idempotency-Key'),
    });
  }
}
