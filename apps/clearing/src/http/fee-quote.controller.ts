import { Access, ApiErrors, invalidRequestExample, schemaValidationPipe } from '@app/http';
import { Body, Controller, HttpCode, HttpStatus, Post, UsePipes } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import type { PaymentSplit } from '../fees/fee.types.js';
import { FeeRulesService } from '../fees/fee-rules.service.js';
import { FeeQuoteRequestSchema, PaymentSplitSchema } from './api-schemas.js';

@ApiTags('fees')
@Controller('fees')
// Finance reads: a quote shows the fee terms of any merchant.
@Access.read()
@UsePipes(schemaValidationPipe)
export class FeeQuoteController {
  constructor(private readonly feeRules: FeeRulesService) {}

  @Post('quote')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Quote the clearing split (清分试算) of a payment',
    description:
      'The split the payment would get: the fee rule in force at `at` (default now) on the order value ' +
      '(amount + coupon), the merchant’s net, and the channel’s cost at its configured rate on the amount ' +
      'paid through it. Nothing is posted or stored.',
  })
  @ApiOkResponse({ description: 'The split', standardSchema: PaymentSplitSchema })
  @ApiErrors(
    {
      status: 400,
      description: 'A field is missing or not of its form',
      examples: [invalidRequestExample('amount', 'must be a plain decimal string like "100.00"')],
    },
    {
      status: 404,
      description: 'No fee rule is in force for the payment',
      examples: [
        {
          error: 'FEES.NO_RULE',
          message:
            'no fee rule in force for merchant M00042, channel WECHAT, payment method (none), currency USD at 2026-11-22T13:49:20Z',
        },
      ],
    },
    {
      status: 422,
      description: 'The figures do not hold together (scale, coupon shares)',
      examples: [
        {
          error: 'FEES.INVALID_INPUT',
          message: 'coupon: merchantFunded 4.00 + platformFunded 5.00 ≠ amount 10.00 CNY',
        },
      ],
    },
  )
  quote(
    @Body({ schema: FeeQuoteRequestSchema }) request: z.output<typeof FeeQuoteRequestSchema>,
  ): Promise<PaymentSplit> {
    return this.feeRules.quote(request);
  }
}
