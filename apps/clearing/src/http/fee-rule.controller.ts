import {
  Access,
  bodyField,
  ApiErrors,
  assertActingAs,
  Caller,
  invalidRequestExample,
  ROLE,
  schemaValidationPipe,
  type Principal,
} from '@app/http';
import { Body, Controller, Get, Post, Query, UsePipes } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import type { FeeRuleRecord } from '../fees/fee-rule.repository.js';
import { FeeRulesService } from '../fees/fee-rules.service.js';
import {
  CreateFeeRuleRequestSchema,
  FeeRuleInForceQuerySchema,
  FeeRuleListQuerySchema,
  FeeRuleSchema,
} from './api-schemas.js';

@ApiTags('fee rules')
@Controller('fee-rules')
@UsePipes(schemaValidationPipe)
export class FeeRuleController {
  constructor(private readonly feeRules: FeeRulesService) {}

  @Post()
  @Access.command(
    ROLE.manageFeeRules,
    'FEE_RULE_ADD',
    (r) => `fee rule ${bodyField(r, 'merchantId')} ${bodyField(r, 'channel')}`,
  )
  @ApiOperation({
    summary: 'Add a version of a fee rule (手续费规则)',
    description:
      'Rules are versioned configuration: a change is a new version, never an edit. The version may not ' +
      'start in the past, so every transaction already priced keeps its rule; the scope’s open-ended ' +
      'version is closed at the new one’s start. Any other overlap with a version of the same scope ' +
      '(merchant, channel, payment method, currency) is refused.',
  })
  @ApiCreatedResponse({ description: 'The stored version', standardSchema: FeeRuleSchema })
  @ApiErrors(
    {
      status: 400,
      description: 'The body is not a rule draft',
      examples: [
        invalidRequestExample('refundPolicy', 'Invalid option: expected one of "NONE"|"FULL"|"PRO_RATA"'),
      ],
    },
    {
      status: 409,
      description: 'The version would overlap another version of its scope',
      examples: [
        {
          error: 'FEES.OVERLAP',
          message:
            'the new version [2027-02-01T00:00:00.000Z, ∞) of merchant M00042, channel WECHAT, method any, CNY overlaps v2 (rule 5) [2027-03-01T00:00:00.000Z, ∞)',
        },
      ],
    },
    {
      status: 422,
      description: 'A well-formed draft the fee rules refuse: a broken formula, or a start in the past',
      examples: [
        {
          error: 'FEES.INVALID_RULE',
          message:
            'fee rule (new) v2: formula.rate: "6" is not a rate in [0, 1) (a rate is a fraction: 0.6% is "0.006")',
        },
        {
          error: 'FEES.INVALID_RULE',
          message:
            'effectiveFrom 2026-06-01T00:00:00+08:00 is in the past (now 2026-11-25T01:00:00.000Z): a change never rewrites past clearing; start the new version now or later',
        },
      ],
    },
  )
  async create(
    @Body({ schema: CreateFeeRuleRequestSchema }) request: z.output<typeof CreateFeeRuleRequestSchema>,
    @Caller() caller: Principal,
  ): Promise<FeeRuleRecord> {
    const { actor, ...draft } = request;
    assertActingAs(caller, actor, 'actor');
    return this.feeRules.createVersion(draft, caller.id);
  }

  @Get()
  @Access.read()
  @ApiOperation({
    summary: 'List fee rule versions',
    description:
      'Every version, past and future, whose scope has exactly the given values; by scope and version.',
  })
  @ApiOkResponse({ description: 'The versions', standardSchema: FeeRuleSchema, isArray: true })
  @ApiErrors({
    status: 400,
    description: 'A parameter is invalid',
    examples: [invalidRequestExample('channel', 'must be 1 to 32 characters of A-Z, 0-9 and _')],
  })
  list(@Query({ schema: FeeRuleListQuerySchema }) query: z.output<typeof FeeRuleListQuerySchema>) {
    return this.feeRules.list(query);
  }

  @Get('in-force')
  @Access.read()
  @ApiOperation({
    summary: 'The rule that prices a transaction',
    description:
      'Of the versions in force at `at` whose scope matches (null matches anything), the most specific: ' +
      'merchant first, then channel, then payment method.',
  })
  @ApiOkResponse({ description: 'The rule', standardSchema: FeeRuleSchema })
  @ApiErrors(
    {
      status: 400,
      description: 'A parameter is missing or invalid',
      examples: [invalidRequestExample('currency', 'must be an ISO 4217 code like CNY')],
    },
    {
      status: 404,
      description: 'No rule is in force for the transaction',
      examples: [
        {
          error: 'FEES.NO_RULE',
          message:
            'no fee rule in force for merchant M00042, channel WECHAT, payment method (none), currency USD at 2026-11-22T13:49:20Z',
        },
      ],
    },
  )
  inForce(
    @Query({ schema: FeeRuleInForceQuerySchema }) query: z.output<typeof FeeRuleInForceQuerySchema>,
  ): Promise<FeeRuleRecord> {
    return this.feeRules.inForce(query);
  }
}
